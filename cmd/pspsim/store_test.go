package main

import (
	"context"
	"flag"
	"io"
	"path/filepath"
	"strings"
	"testing"
)

// TestStoreChoice: --store wins over $PSPSIM_STORE, which wins over the
// config's store:, and memory is the default; what cannot be served is
// refused with the choices named.
func TestStoreChoice(t *testing.T) {
	dir := t.TempDir()
	flagDB, envDB, cfgDB := filepath.Join(dir, "flag.db"), filepath.Join(dir, "env.db"), filepath.Join(dir, "cfg.db")
	config := []byte("store: sqlite:" + cfgDB + "\n")
	for _, c := range []struct {
		name   string
		args   []string
		env    string
		config []byte
		want   string
	}{
		{"default", nil, "", nil, "memory"},
		{"memory by name", []string{"--store", "memory"}, "", config, "memory"},
		{"config", nil, "", config, "sqlite:" + cfgDB},
		{"env over config", nil, "sqlite:" + envDB, config, "sqlite:" + envDB},
		{"flag over env", []string{"--store", "sqlite:" + flagDB}, "sqlite:" + envDB, config, "sqlite:" + flagDB},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Setenv(EnvStore, c.env)
			fs := flag.NewFlagSet("serve", flag.ContinueOnError)
			open := storeFlag(fs)
			if err := fs.Parse(c.args); err != nil {
				t.Fatal(err)
			}
			db, name, err := open(context.Background(), c.config)
			if err != nil {
				t.Fatal(err)
			}
			if db != nil {
				defer db.Close()
			}
			if name != c.want {
				t.Fatalf("store %q, want %q", name, c.want)
			}
		})
	}
	t.Run("refused", func(t *testing.T) {
		t.Setenv(EnvStore, "")
		code := run(context.Background(), []string{"serve", "--addr", "127.0.0.1:0", "--store", "mysql://db/x"}, io.Discard, &strings.Builder{}, nil)
		if code != 1 {
			t.Fatalf("serve --store mysql:// exited %d", code)
		}
		fs := flag.NewFlagSet("serve", flag.ContinueOnError)
		open := storeFlag(fs)
		_ = fs.Parse(nil)
		if _, _, err := open(context.Background(), []byte("store: {url: x}\n")); err == nil || !strings.Contains(err.Error(), "config: store") {
			t.Fatalf("a store: that is not a string: %v", err)
		}
		_, _, err := open(context.Background(), []byte("store: mysql://db/x\n"))
		if err == nil || !strings.Contains(err.Error(), "sqlite:PATH or postgres://") {
			t.Fatalf("mysql:// in the config: %v", err)
		}
	})
}
