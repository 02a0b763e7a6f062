package main

import (
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/pspsim/pspsim/internal/textdist"
	"github.com/pspsim/pspsim/simulator/control"
)

// formatHelp is the --format flag's help: `pspsim scenario` and `pspsim
// conformance` hand the flag to godog as it is.
const formatHelp = "godog formatters, comma-separated: progress, pretty, junit:FILE, cucumber:FILE"

// newFlags is a subcommand's flag set: a parse error returns (each command
// exits 2) rather than exiting the process, which tests call. usage, when not
// empty, is printed above the flags for -h. A usage error is one line that
// names the flag, suggests the nearest one and points to -h — never the
// whole flag list, which buries the mistake (see flagError).
func newFlags(name, usage string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	// The flag package prints its error, then calls Usage: the error is
	// caught here and said our way by Usage.
	var caught strings.Builder
	fs.SetOutput(&caught)
	fs.Usage = func() {
		msg := strings.TrimSpace(caught.String())
		caught.Reset()
		if msg != "" {
			fmt.Fprintln(stderr, flagError(fs, msg))
			return
		}
		// -h: the command's usage and every flag.
		fmt.Fprint(stderr, usage)
		if usage == "" {
			fmt.Fprintf(stderr, "Usage: pspsim %s [flags]\n\nFlags:\n", name)
		}
		fs.SetOutput(stderr)
		fs.PrintDefaults()
		fs.SetOutput(&caught)
	}
	return fs
}

// flagError turns the flag package's message about fs into pspsim's: the
// command, the flag at fault, the nearest defined flag when one is close,
// and where the list is.
func flagError(fs *flag.FlagSet, msg string) string {
	cmd := "pspsim " + fs.Name()
	help := fmt.Sprintf("(%s -h lists the flags)", cmd)
	if bad, ok := strings.CutPrefix(msg, "flag provided but not defined: "); ok {
		name := strings.TrimLeft(bad, "-")
		out := fmt.Sprintf("%s: unknown flag --%s", cmd, name)
		if near := nearestFlag(fs, name); near != "" {
			out += fmt.Sprintf("; did you mean --%s?", near)
		}
		return out + " " + help
	}
	if name, ok := strings.CutPrefix(msg, "flag needs an argument: "); ok {
		return fmt.Sprintf("%s: flag --%s needs a value %s", cmd, strings.TrimLeft(name, "-"), help)
	}
	// "invalid value "x" for flag -n: parse error" and the like.
	msg = strings.Replace(msg, "for flag -", "for flag --", 1)
	return fmt.Sprintf("%s: %s %s", cmd, msg, help)
}

// nearestFlag returns the defined flag closest to name by edit distance, if
// it is close enough to be what was meant (at most a third of the name's
// length, at least 2), or one that starts with name.
func nearestFlag(fs *flag.FlagSet, name string) string {
	best, bestD := "", 0
	fs.VisitAll(func(f *flag.Flag) {
		d := textdist.Levenshtein(name, f.Name)
		if strings.HasPrefix(f.Name, name) && len(name) >= 3 {
			d = min(d, 1)
		}
		if best == "" || d < bestD || (d == bestD && f.Name < best) {
			best, bestD = f.Name, d
		}
	})
	if best == "" || bestD > max(2, len(name)/3) {
		return ""
	}
	return best
}

// nearestWord is nearestFlag for a list of words (the commands).
func nearestWord(words []string, w string) string {
	best, bestD := "", 0
	for _, c := range words {
		d := textdist.Levenshtein(w, c)
		if best == "" || d < bestD {
			best, bestD = c, d
		}
	}
	if best == "" || bestD > max(2, len(w)/3) {
		return ""
	}
	return best
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
