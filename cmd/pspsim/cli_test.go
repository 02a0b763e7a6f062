package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
)

// TestCLIGolden pins what a person sees: the help and the answers to
// common mistakes. Regenerate after a deliberate change with
//
//	PSPSIM_UPDATE_GOLDEN=1 go test -run TestCLIGolden ./cmd/pspsim
//
// (serve -h is left out: other changes add serve flags often; its flags are
// checked by TestServeHelpListsEveryFlag instead).
func TestCLIGolden(t *testing.T) {
	cases := []struct {
		name string
		args []string
		code int
	}{
		{"help", []string{"--help"}, 0},
		{"help-word", []string{"help"}, 0},
		{"no-command", nil, 2},
		{"unknown-command", []string{"serv"}, 2},
		{"flag-before-command", []string{"--addr", ":1"}, 2},
		{"unknown-flag", []string{"serve", "--adr", "127.0.0.1:0"}, 2},
		{"unknown-flag-far", []string{"serve", "--frobnicate"}, 2},
		{"flag-needs-value", []string{"serve", "--seed"}, 2},
		{"flag-bad-value", []string{"serve", "--retain-events", "many"}, 2},
		{"conformance-unknown-flag", []string{"conformance", "--tag", "@refund"}, 2},
		{"health-help", []string{"health", "-h"}, 2},
		{"codepay-help", []string{"codepay", "-h"}, 0},
	}
	update := os.Getenv("PSPSIM_UPDATE_GOLDEN") != ""
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := run(context.Background(), c.args, &out, &errb, nil)
			got := "$ pspsim " + strings.Join(c.args, " ") + "\n--- stdout\n" + out.String() + "--- stderr\n" + errb.String()
			file := filepath.Join("testdata", "cli", c.name+".txt")
			if update {
				if err := os.WriteFile(file, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(file)
			if err != nil {
				t.Fatalf("%v (PSPSIM_UPDATE_GOLDEN=1 writes it)", err)
			}
			if got != string(want) {
				t.Errorf("pspsim %v differs from %s (PSPSIM_UPDATE_GOLDEN=1 rewrites it):\ngot:\n%s\nwant:\n%s", c.args, file, got, want)
			}
			if code != c.code {
				t.Errorf("exit %d, want %d", code, c.code)
			}
		})
	}
}

// TestHelpListsEveryCommand: each command run dispatches is in --help, and
// each one --help names is dispatched.
func TestHelpListsEveryCommand(t *testing.T) {
	for _, c := range commands {
		if !strings.Contains(usage, "pspsim "+c) {
			t.Errorf("--help does not list %q", c)
		}
		var out, errb bytes.Buffer
		run(context.Background(), []string{c, "--no-such-flag-anywhere"}, &out, &errb, nil)
		if strings.Contains(errb.String(), "unknown command") {
			t.Errorf("%q is listed but not a command", c)
		}
	}
}

// TestServeHelpListsEveryFlag: -h prints each flag with its help, and only
// once (not the flag package's dump on an error).
func TestServeHelpListsEveryFlag(t *testing.T) {
	var out, errb bytes.Buffer
	run(context.Background(), []string{"serve", "-h"}, &out, &errb, nil)
	for _, f := range []string{"-addr", "-clock", "-seed", "-config", "-faults", "-log-json", "-retain-events", "-admin-token", "-read-timeout"} {
		if n := len(regexp.MustCompile(`(?m)^  `+f+`( |$)`).FindAllString(errb.String(), -1)); n != 1 {
			t.Errorf("serve -h lists %s %d times:\n%s", f, n, errb.String())
		}
	}
	errb.Reset()
	run(context.Background(), []string{"serve", "--nope"}, &out, &errb, nil)
	if strings.Count(errb.String(), "\n") != 1 {
		t.Errorf("a flag error is one line, got:\n%s", errb.String())
	}
}

func TestVersionNamesCommitAndGo(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"version"}, &out, &errb, nil); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	for _, want := range []string{"pspsim 0.1.0\n", "  module  github.com/pspsim/pspsim", "  commit  ", "  go      " + runtime.Version()} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("version lacks %q:\n%s", want, out.String())
		}
	}
}

func TestNearestFlag(t *testing.T) {
	for _, c := range []struct{ typed, want string }{
		{"adr", "addr"}, {"seeds", "seed"}, {"log-jsn", "log-json"}, {"retain", "retain-age"}, {"xyzzy", ""}, {"conf", "config"},
	} {
		fs := newFlags("serve", "", &bytes.Buffer{})
		for _, n := range []string{"addr", "seed", "log-json", "retain-age", "retain-events", "config", "clock"} {
			fs.String(n, "", "")
		}
		if got := nearestFlag(fs, c.typed); got != c.want {
			t.Errorf("nearest to %q: %q, want %q", c.typed, got, c.want)
		}
	}
}
