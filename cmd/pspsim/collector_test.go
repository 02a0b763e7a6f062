package main

import (
	"flag"
	"io"
	"testing"
)

// TestGCTarget checks who decides serve's GOGC: the flag over the config;
// without either, serve leaves the runtime's (GOGC from the environment,
// else Go's default).
func TestGCTarget(t *testing.T) {
	for _, tc := range []struct {
		name    string
		args    []string
		config  string
		percent int
		set     bool
	}{
		{"neither: the runtime's", nil, "", 0, false},
		{"config", nil, "server:\n  gcPercent: 250\n", 250, true},
		{"flag over config", []string{"--gc-percent", "300"}, "server:\n  gcPercent: 250\n", 300, true},
		{"flag off", []string{"--gc-percent", "-5"}, "", -1, true},
		{"flag at its default value is still set (over GOGC)", []string{"--gc-percent", "100"}, "", 100, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fs := flag.NewFlagSet("serve", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			apply := serverFlags(fs)
			if err := fs.Parse(tc.args); err != nil {
				t.Fatal(err)
			}
			s, err := apply([]byte(tc.config))
			if err != nil {
				t.Fatal(err)
			}
			percent, set := s.gcTarget()
			if percent != tc.percent || set != tc.set {
				t.Fatalf("gcTarget = %d, %v; want %d, %v", percent, set, tc.percent, tc.set)
			}
		})
	}
}
