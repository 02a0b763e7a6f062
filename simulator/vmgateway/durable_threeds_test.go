package vmgateway_test

import (
	"net/url"
	"testing"
	"time"

	"github.com/pspsim/pspsim/simulator/simtest"
	"github.com/pspsim/pspsim/simulator/store/sqlstore/pgtest"
)

// TestThreeDSResultReachesItsPaymentAfterARestart: a card payment waiting
// for a challenge (TESTCARDS 06) and one waiting for a decoupled
// authentication survive closing the simulator; in the next process on the
// same database the buyer passes the challenge page and the clock resolves
// the decoupled one, and both payments are captured — told through the
// gateway's named completion (vmgateway.payment), not the first process's
// closure.
func TestThreeDSResultReachesItsPaymentAfterARestart(t *testing.T) {
	for _, tc := range pgtest.Stores() {
		t.Run(tc.Name, func(t *testing.T) {
			dbURL := tc.URL(t)
			db := simtest.OpenDB(t, dbURL)
			first := newGW(t, simtest.OnBackend(db))
			ch := first.pay("D3DS-C", "4000123456000068")
			challenge := simtest.FieldString(ch, "nextAction.redirectUrl")
			if ch["status"] != "REQUIRES_ACTION" || challenge == "" {
				t.Fatalf("challenge payment: %v", ch)
			}
			if dc := first.pay("D3DS-D", "5100123456000130"); dc["status"] != "PENDING" {
				t.Fatalf("decoupled payment: %v", dc)
			}
			first.Sim.Close()
			db.Close()

			db2 := simtest.OpenDB(t, dbURL)
			second := newGW(t, simtest.OnBackend(db2))
			u, err := url.Parse(challenge)
			if err != nil {
				t.Fatal(err)
			}
			second.completeChallenge(second.URL+u.Path, "submit", "123456")
			if p := second.inquire("D3DS-C"); p["status"] != "CAPTURED" || simtest.FieldString(p, "threeDs.transStatus") != "Y" {
				t.Fatalf("the challenged payment after the restart: %s / %s, want CAPTURED / Y", p["status"], simtest.FieldString(p, "threeDs.transStatus"))
			}
			if p := second.inquire("D3DS-D"); p["status"] != "PENDING" {
				t.Fatalf("the decoupled payment before its time: %s, want PENDING", p["status"])
			}
			second.Advance(time.Minute)
			if p := second.inquire("D3DS-D"); p["status"] != "CAPTURED" || simtest.FieldString(p, "threeDs.transStatus") != "Y" {
				t.Fatalf("the decoupled payment after the restart: %s / %s, want CAPTURED / Y", p["status"], simtest.FieldString(p, "threeDs.transStatus"))
			}
		})
	}
}
