package main

import (
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"

	"github.com/pspsim/pspsim/simulator/control"
)

// formatHelp is the --format flag's help: `pspsim scenario` and `pspsim
// conformance` hand the flag to godog as it is.
const formatHelp = "godog formatters, comma-separated: progress, pretty, junit:FILE, cucumber:FILE"

// newFlags is a subcommand's flag set: a parse error returns (each command
// exits 2) rather than exiting the process, which tests call, and what the
// flag package prints goes to stderr. usage, when not empty, is printed above
// the flags for -h and after a usage error.
func newFlags(name, usage string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	if usage != "" {
		fs.Usage = func() { fmt.Fprint(stderr, usage); fs.PrintDefaults() }
	}
	return fs
}

// flagFile is a file a flag names (--config, --faults), read whole into dst
// when the flag is given.
type flagFile struct {
	flag, path string
	dst        *[]byte
}

// readFlagFiles reads the files of the flags that were given; on failure it
// returns the flag whose file could not be read, for the command's message.
func readFlagFiles(files ...flagFile) (string, error) {
	for _, f := range files {
		if f.path == "" {
			continue
		}
		b, err := os.ReadFile(f.path)
		if err != nil {
			return f.flag, err
		}
		*f.dst = b
	}
	return "", nil
}

// adminTokenFlag adds --admin-token to fs: the token of the control API of
// the pspsim a command talks to (or serves). The returned function gives the
// flag's value, else PSPSIM_ADMIN_TOKEN's (the environment is not the flag's
// default, so that -h never prints the token).
func adminTokenFlag(fs *flag.FlagSet, usage string) func() string {
	v := fs.String("admin-token", "", usage+" (default: $"+control.EnvToken+")")
	return func() string {
		if *v != "" {
			return *v
		}
		return control.TokenFromEnv()
	}
}

// adminClient is an HTTP client for a running pspsim: its control-API
// requests carry token (package control).
func adminClient(token string, timeout time.Duration) *http.Client {
	return &http.Client{Transport: control.Transport(nil, token), Timeout: timeout}
}
