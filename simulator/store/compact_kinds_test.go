package store_test

import (
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"

	"github.com/pspsim/pspsim/simulator"
	"github.com/pspsim/pspsim/simulator/clock"
	"github.com/pspsim/pspsim/simulator/simtest"
	"github.com/pspsim/pspsim/simulator/store"
)

// TestEveryTableOfTheSimulatorIsCompact makes a simulator on a memory
// store and checks each kind its tables configured (every store.NewTable of
// every system, whatever its type): the store keeps it compactly — a new
// table type that falls back to Go values fails here — and random values of
// its type come back from the codec exactly as the cloner copies them.
func TestEveryTableOfTheSimulatorIsCompact(t *testing.T) {
	m := store.NewMemory()
	sim, err := simulator.New(ctx, simulator.Options{Clock: clock.NewSim(simtest.Start), Seed: 1, Store: m})
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	types, compact := store.KindTypes(m)
	kinds := make([]string, 0, len(types))
	for kind := range types {
		kinds = append(kinds, kind)
	}
	slices.Sort(kinds)
	if len(kinds) < 20 {
		t.Fatalf("only %d kinds configured: %v", len(kinds), kinds)
	}
	r := rand.New(rand.NewPCG(11, 12))
	for _, kind := range kinds {
		if !compact[kind] {
			t.Errorf("%s (%v) is kept as Go values, not compactly", kind, types[kind])
			continue
		}
		for range 500 {
			v := store.Random(types[kind], r)
			got, want, ok, err := store.RoundTrip(v)
			if !ok || err != nil {
				t.Fatalf("%s (%v): codec %v, %v", kind, types[kind], ok, err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("%s (%v): round trip differs from the clone:\n got %#v\nwant %#v", kind, types[kind], got, want)
			}
		}
	}
	t.Logf("%d kinds: %v", len(kinds), kinds)
}
