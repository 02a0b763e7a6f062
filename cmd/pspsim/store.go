package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/pspsim/pspsim/simulator/store"
	"github.com/pspsim/pspsim/simulator/store/sqlstore"
)

// EnvStore is the environment variable that chooses the store when
// --store is not given (README, "Durable state").
const EnvStore = "PSPSIM_STORE"

// storeFlag adds --store to fs. The returned function, after parsing,
// chooses the store URL — the flag, else $PSPSIM_STORE, else the config's
// top-level `store:`, else memory — and opens it: nil for memory, else the
// database (migrated) whose rows every namespace keys with its name. The
// caller closes what it returns.
func storeFlag(fs *flag.FlagSet) func(ctx context.Context, config []byte) (*sqlstore.DB, string, error) {
	v := fs.String("store", "", "where state lives: memory (the default, fastest, lost on exit), sqlite:PATH (a durable file, one process) or postgres://user@host/db (durable, shared by replicas) (default: $"+EnvStore+", else store: in --config, else memory)")
	return func(ctx context.Context, config []byte) (*sqlstore.DB, string, error) {
		choice := *v
		if choice == "" {
			choice = os.Getenv(EnvStore)
		}
		if choice == "" {
			c, err := configStore(config)
			if err != nil {
				return nil, "", err
			}
			choice = c
		}
		choice = strings.TrimSpace(choice)
		if choice == "" || choice == "memory" {
			return nil, store.MemoryBackend{}.Name(), nil
		}
		db, err := sqlstore.Open(ctx, choice)
		if err != nil {
			return nil, "", fmt.Errorf("--store: %w", err)
		}
		return db, db.Where(), nil
	}
}

// configStore reads the top-level `store:` of a --config file (a string).
func configStore(config []byte) (string, error) {
	if len(config) == 0 {
		return "", nil
	}
	var doc map[string]yaml.Node
	if err := yaml.Unmarshal(config, &doc); err != nil {
		return "", nil // the simulator reports a malformed file
	}
	n, ok := doc["store"]
	if !ok {
		return "", nil
	}
	if n.Kind != yaml.ScalarNode {
		return "", fmt.Errorf("config: store: want memory, sqlite:PATH or postgres://… (line %d)", n.Line)
	}
	return n.Value, nil
}
