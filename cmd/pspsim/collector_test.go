package main

import (
	"flag"
	"io"
	"testing"
)

// TestGCTarget checks who decides serve's GOGC: the flag over the config,
// either over the environment, the environment over pspsim's default.
func TestGCTarget(t *testing.T) {
	env := func(gogc string) func(string) string {
		return func(k string) string {
			if k == "GOGC" {
				return gogc
			}
			return ""
		}
	}
	for _, tc := range []struct {
		name    string
		args    []string
		config  string
		gogc    string
		percent int
		set     bool
	}{
		{"default", nil, "", "", defaultGCPercent, true},
		{"environment", nil, "", "150", 0, false},
		{"environment off", nil, "", "off", 0, false},
		{"config", nil, "server:\n  gcPercent: 250\n", "150", 250, true},
		{"flag over config", []string{"--gc-percent", "300"}, "server:\n  gcPercent: 250\n", "150", 300, true},
		{"flag off", []string{"--gc-percent", "-5"}, "", "", -1, true},
		{"flag at the default value still beats the environment", []string{"--gc-percent", "400"}, "", "100", 400, true},
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
			percent, set := s.gcTarget(env(tc.gogc))
			if percent != tc.percent || set != tc.set {
				t.Fatalf("gcTarget = %d, %v; want %d, %v", percent, set, tc.percent, tc.set)
			}
		})
	}
}
