package simulator_test

import (
	"context"
	"testing"
	"time"

	"github.com/pspsim/pspsim/simulator/simtest"
	"github.com/pspsim/pspsim/simulator/store/sqlstore/pgtest"
	"github.com/pspsim/pspsim/simulator/threeds"
)

// TestThreeDSTimersSurviveARestart: a challenge nobody finishes and a
// decoupled authentication are pending when the simulator closes; the next
// process on the same database ends them when its clock reaches their time
// (the decoupled one as its card's row says after 30 s, the challenge U 14
// after 10 minutes).
func TestThreeDSTimersSurviveARestart(t *testing.T) {
	for _, tc := range pgtest.Stores() {
		t.Run(tc.Name, func(t *testing.T) {
			url := tc.URL(t)
			db := openDB(t, url)
			first := simtest.New(t, onBackend(db))
			ctx := context.Background()
			auth := func(card string) threeds.Result {
				r, err := first.Sim.Env().ThreeDS.Authenticate(ctx, threeds.Request{System: "test", MerchantID: "M1", MerchantName: "Shop", Reference: "R-" + card,
					CardNumber: card, Amount: 1000, Currency: "USD", ReturnURL: "https://merchant.example/return"})
				if err != nil {
					t.Fatal(err)
				}
				return r
			}
			ch, dc := auth("4000123456000068"), auth("5100123456000130")
			first.Sim.Close()
			db.Close()

			second := simtest.New(t, onBackend(openDB(t, url)))
			status := func(id string) string {
				r, err := second.Sim.Env().ThreeDS.Get(ctx, id)
				if err != nil {
					t.Fatal(err)
				}
				return r.TransStatus + r.TransStatusReason
			}
			second.Advance(30 * time.Second)
			if c, d := status(ch.ThreeDSServerTransID), status(dc.ThreeDSServerTransID); c != "C" || d != "Y" {
				t.Fatalf("after 30 s: challenge %s, decoupled %s; want C, Y", c, d)
			}
			second.Advance(threeds.DefaultChallengeTimeout)
			if c := status(ch.ThreeDSServerTransID); c != "U14" {
				t.Fatalf("the challenge after its timeout: %s, want U14", c)
			}
		})
	}
}
