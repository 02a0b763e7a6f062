package codepay_test

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/pspsim/pspsim/simulator/simtest"
	"github.com/pspsim/pspsim/simulator/store/sqlstore/pgtest"
)

const mcDecoupled = "5100123456000130" // decoupled, resolves Y after 30 s

// TestThreeDSResultReachesItsOrderAfterARestart: a merchant-hosted checkout
// waiting for a challenge, and one waiting for a decoupled authentication,
// survive closing the simulator; in the next process on the same database
// the buyer posts the challenge page, and the clock resolves the decoupled
// one, and both orders are paid — told through CodePay's named completion,
// with no card number kept anywhere.
func TestThreeDSResultReachesItsOrderAfterARestart(t *testing.T) {
	for _, tc := range pgtest.Stores() {
		t.Run(tc.Name, func(t *testing.T) {
			dbURL := tc.URL(t)
			db := simtest.OpenDB(t, dbURL)
			first := newCP(t, simtest.OnBackend(db))
			ch := first.merchantCheckout("D3DS-C", visaChallenge, nil)
			redirect, _ := ch.Data["redirect_url_3dsecure"].(string)
			if ch.Code != "0" || ch.str("trans_status") != "0" || redirect == "" {
				t.Fatalf("challenge checkout: %s", ch)
			}
			if dc := first.merchantCheckout("D3DS-D", mcDecoupled, nil); dc.Code != "0" || dc.str("trans_status") != "0" {
				t.Fatalf("decoupled checkout: %s", dc)
			}
			first.h.Sim.Close()
			db.Close()

			db2 := simtest.OpenDB(t, dbURL)
			second := newCP(t, simtest.OnBackend(db2))
			// The buyer's browser, on the new process: CodePay's 3-D Secure
			// link leads to the challenge, which the buyer passes.
			u, err := url.Parse(redirect)
			if err != nil {
				t.Fatal(err)
			}
			acs := noRedirect(t, second.h.URL+u.Path)
			challenge, err := url.Parse(acs.Header.Get("Location"))
			if acs.StatusCode != http.StatusSeeOther || err != nil {
				t.Fatalf("CodePay's 3-D Secure link: %d %q", acs.StatusCode, acs.Header.Get("Location"))
			}
			res := postForm(t, second.h.URL+challenge.Path, map[string][]string{"otp": {"123456"}, "action": {"submit"}})
			res.Body.Close()
			if res.StatusCode != http.StatusSeeOther {
				t.Fatalf("challenge answer: %d", res.StatusCode)
			}
			if got := second.statusOf("D3DS-C"); got != "2" {
				t.Fatalf("the challenged order after the restart: status %s, want 2 (paid)", got)
			}
			if got := second.statusOf("D3DS-D"); got != "0" {
				t.Fatalf("the decoupled order before its time: status %s, want 0", got)
			}
			second.advance(time.Minute)
			if got := second.statusOf("D3DS-D"); got != "2" {
				t.Fatalf("the decoupled order after the restart: status %s, want 2 (paid)", got)
			}
			if n := len(second.events("order.3ds_completed")); n != 2 {
				t.Fatalf("journaled %d completed authentications, want 2", n)
			}
		})
	}
}
