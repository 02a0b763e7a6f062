package vmgateway_test

import (
	"net/http"
	"testing"

	"github.com/pspsim/pspsim/simulator/simtest"
	"github.com/pspsim/pspsim/simulator/threeds"
)

// TestUnionPayCardsOutsideLuhn: the gateway takes UnionPay numbers that fail
// the Luhn check (seed 004's own sample card is one), so 3-D Secure must
// authenticate them too, in every threeDsMode, and answer in the gateway's
// dialect whatever happens: the card authenticates like any card outside the
// test table (frictionless Y, approved). Another brand's non-Luhn number is
// refused before anything runs, naming card.cardNo.
func TestUnionPayCardsOutsideLuhn(t *testing.T) {
	g := newGW(t)
	const unionPay = "6212454545454690" // seed 004's sample: fails Luhn
	if threeds.CardNumberValid("4000123456000002") || !threeds.CardNumberValid(unionPay) || threeds.CardNumberValid("62124545") {
		t.Fatal("the card-number rule: Luhn for every brand but UnionPay, 12 to 19 digits")
	}
	for _, c := range []struct {
		card, mode string
		status     int
		payment    string // the payment's status, or the error's field
		flow       string
	}{
		{unionPay, "auto", http.StatusOK, "CAPTURED", "frictionless"},
		{unionPay, "standard", http.StatusOK, "CAPTURED", "frictionless"},
		{unionPay, "no", http.StatusOK, "CAPTURED", "not_requested"},
		{"6250941006528599", "standard", http.StatusOK, "CAPTURED", "frictionless"}, // a UnionPay number that passes Luhn
		{"4000123456000002", "standard", http.StatusBadRequest, "card.cardNo", ""},
	} {
		r := g.post("/payments", cardPayment(g.order(), c.card, func(b map[string]any) { b["threeDsMode"] = c.mode }))
		m := r.JSON()
		if r.Status != c.status {
			t.Errorf("%s with threeDsMode %s: %d %s", c.card, c.mode, r.Status, r.Body)
			continue
		}
		if c.status != http.StatusOK {
			if m["code"] != "PARAMETER_INVALID" || m["field"] != c.payment {
				t.Errorf("%s: %s", c.card, r.Body)
			}
			continue
		}
		if m["status"] != c.payment || simtest.FieldString(m, "threeDs.flow") != c.flow || m["cardBrand"] != "UNIONPAY" {
			t.Errorf("%s with threeDsMode %s: %s", c.card, c.mode, r.Body)
		}
		if c.flow == "frictionless" && (simtest.FieldString(m, "threeDs.transStatus") != "Y" || simtest.FieldString(m, "threeDs.eci") != "05") {
			t.Errorf("%s with threeDsMode %s: not authenticated: %s", c.card, c.mode, r.Body)
		}
	}
}
