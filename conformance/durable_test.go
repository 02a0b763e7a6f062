package conformance_test

import (
	"bytes"
	"context"
	"os"
	"testing"
	"time"

	"github.com/pspsim/pspsim/conformance"
	"github.com/pspsim/pspsim/simulator/clock"
	"github.com/pspsim/pspsim/simulator/host"
	"github.com/pspsim/pspsim/simulator/simtest"
	"github.com/pspsim/pspsim/simulator/store/sqlstore"
	"github.com/pspsim/pspsim/simulator/store/sqlstore/pgtest"
)

// TestConformanceOnDurableStores runs the @payment scenarios against a
// target whose state lives in SQLite, then in PostgreSQL (the namespace the
// run makes gets its store from the backend, as under `pspsim serve
// --store`): the verdicts must be the memory store's — every scenario
// passes with the reference app. PSPSIM_DURABLE_TAGS= (empty) runs the
// whole suite instead.
func TestConformanceOnDurableStores(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the @payment scenarios twice")
	}
	for _, tc := range pgtest.Stores() {
		t.Run(tc.Name, func(t *testing.T) {
			db, err := sqlstore.Open(context.Background(), tc.URL(t))
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			h, _ := simtest.NewHosted(t, func(o *host.Options) {
				o.Base.StampClock = clock.NewReal()
				o.Base.Backend = db
			})
			const name = "durable"
			tags := "@payment"
			if v, ok := os.LookupEnv("PSPSIM_DURABLE_TAGS"); ok {
				tags = v // "" runs the whole suite
			}
			var out bytes.Buffer
			start := time.Now()
			rep, err := conformance.Run(context.Background(), conformance.RunOptions{App: nsApp(t, h.URL, name), Target: h.URL, Namespace: name,
				Tags: tags, Seed: 1, Stdout: &out, Stderr: &out,
				Timing: conformance.Timing{ResultWait: 4 * time.Second, Quiet: 300 * time.Millisecond}})
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%s: %d scenarios (%s) in %s", tc.Name, len(rep.Scenarios), orAll(tags), time.Since(start).Round(time.Millisecond))
			if rep.Status != 0 || len(rep.Scenarios) == 0 {
				for _, s := range rep.Failed() {
					t.Errorf("%s: %s\n%s", s.Feature, s.Name, s.Err)
				}
				t.Fatalf("status %d, %d scenarios\n%s", rep.Status, len(rep.Scenarios), out.String())
			}
		})
	}
}
