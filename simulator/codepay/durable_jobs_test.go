package codepay_test

import (
	"testing"
	"time"

	"github.com/pspsim/pspsim/simulator/simtest"
	"github.com/pspsim/pspsim/simulator/store/sqlstore/pgtest"
)

// TestOrderJobsSurviveARestart: an order waiting for a terminal's autopilot
// (5 s) and another waiting to expire (300 s) when the simulator closes: the
// next process on the same database runs both jobs when its clock reaches
// them — the autopilot pays the first order, the second expires.
func TestOrderJobsSurviveARestart(t *testing.T) {
	for _, tc := range pgtest.Stores() {
		t.Run(tc.Name, func(t *testing.T) {
			url := tc.URL(t)
			db := simtest.OpenDB(t, url)
			first := newCP(t, simtest.OnBackend(db))
			if st, v := first.admin("PUT", "/codepay/terminals/"+termA+"/autopilot", map[string]any{"card": visaOK, "delay": "5s"}); st != 200 {
				t.Fatalf("autopilot: %d %v", st, v)
			}
			first.order("DJ-1", nil)
			first.order("DJ-2", map[string]any{"terminal_sn": termB})
			first.h.Sim.Close()
			db.Close()

			second := newCP(t, simtest.OnBackend(simtest.OpenDB(t, url)))
			if a, b := second.statusOf("DJ-1"), second.statusOf("DJ-2"); a != "9" || b != "9" {
				t.Fatalf("after the restart: DJ-1 %s, DJ-2 %s; want both unpaid (9)", a, b)
			}
			second.advance(5 * time.Second)
			if st := second.statusOf("DJ-1"); st != "2" {
				t.Fatalf("DJ-1 after its autopilot's delay: %s, want paid (2)", st)
			}
			if st := second.statusOf("DJ-2"); st != "9" {
				t.Fatalf("DJ-2 expired early: %s", st)
			}
			second.advance(295 * time.Second)
			if st := second.statusOf("DJ-2"); st != "1" {
				t.Fatalf("DJ-2 after its expiry: %s, want failed (1)", st)
			}
		})
	}
}
