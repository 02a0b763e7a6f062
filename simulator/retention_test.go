package simulator_test

import (
	"context"
	"strings"
	"testing"

	"github.com/pspsim/pspsim/simulator"
	"github.com/pspsim/pspsim/simulator/clock"
	"github.com/pspsim/pspsim/simulator/journal"
	"github.com/pspsim/pspsim/simulator/simtest"
)

func TestRetentionComesFromOptionsThenConfigThenDefaults(t *testing.T) {
	events := func(opts simulator.Options) int {
		t.Helper()
		opts.Clock = clock.NewSim(simtest.Start)
		sim, err := simulator.New(context.Background(), opts)
		if err != nil {
			t.Fatal(err)
		}
		defer sim.Close()
		for range 3000 {
			sim.Journal().Record(journal.Event{System: "sim", Kind: "tick"})
		}
		return sim.Journal().Len()
	}
	if n := events(simulator.Options{Config: []byte("retention:\n  events: 1000\n")}); n > 1000 {
		t.Errorf("config events: 1000 kept %d", n)
	}
	if n := events(simulator.Options{Config: []byte("retention:\n  events: 1000\n"), Retention: simulator.Retention{Events: 2000}}); n <= 1000 || n > 2000 {
		t.Errorf("the option (2000) does not override the config (1000): %d kept", n)
	}
	if n := events(simulator.Options{}); n != 3000+1 {
		t.Errorf("the default keeps %d of 3001 events", n)
	}
	for _, c := range []struct{ config, want string }{
		{"retention:\n  events: -1\n", "events must be positive"},
		{"retention:\n  age: soon\n", "retention"},
		{"retention:\n  kinds: {vm.payment: 0}\n", "kinds.vm.payment must be positive"},
		{"retention:\n  objets: 5\n", "objets"},
	} {
		_, err := simulator.New(context.Background(), simulator.Options{Clock: clock.NewSim(simtest.Start), Config: []byte(c.config)})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: %v; want an error naming %q", c.config, err, c.want)
		}
	}
}
