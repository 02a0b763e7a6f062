package vmgateway_test

import (
	"testing"

	"github.com/pspsim/pspsim/simulator/simtest"
)

func token(orderNo string, mods ...func(map[string]any)) map[string]any {
	b := map[string]any{"amount": "9.99", "orderNo": orderNo, "expiryMonth": "12", "expiryYear": "2030", "customerInitiatedReason": "RECURRING"}
	for _, m := range mods {
		m(b)
	}
	return b
}

func stored(reason string) func(map[string]any) {
	return func(b map[string]any) {
		b["billing"] = map[string]any{"storedcredentials": "store", "customerInitiatedReason": reason}
	}
}

// TestMerchantInitiatedPayments: a customer-initiated payment that stores the
// card returns a transactionIdentifier; merchant-initiated payments must
// present a valid one for that card, and are never challenged.
func TestMerchantInitiatedPayments(t *testing.T) {
	g := newGW(t)
	cit := g.pay(g.order(), "4000123456000068", stored("RECURRING"))
	if cit["status"] != "REQUIRES_ACTION" || cit["transactionIdentifier"] != nil {
		t.Fatalf("no identifier before approval: %v", cit)
	}
	g.completeChallenge(simtest.FieldString(cit, "nextAction.redirectUrl"), "submit", "123456")
	cit = g.inquire(simtest.FieldString(cit, "orderNo"))
	id := simtest.FieldString(cit, "transactionIdentifier")
	if cit["status"] != "CAPTURED" || len(id) < 5 {
		t.Fatalf("%v", cit)
	}
	created := g.events("payment.status_changed", map[string]string{"orderNo": simtest.FieldString(cit, "orderNo")})
	if len(created) == 0 || created[0].Data["storedcredentials"] != "store" || created[0].Data["customerInitiatedReason"] != "RECURRING" {
		t.Fatalf("stored credentials not recorded: %+v", created)
	}
	if p := g.pay(g.order(), "4000123456000019"); p["transactionIdentifier"] != nil {
		t.Fatalf("identifier without storedcredentials: %v", p)
	}

	for _, reason := range []string{"RECURRING"} {
		mit := must(t, g.post("/payments/token", token(g.order(), simtest.SetField("transactionIdentifier", id), simtest.SetField("customerInitiatedReason", reason), simtest.SetField("threeDsMode", "standard"))), 200)
		if mit["status"] != "CAPTURED" || mit["currency"] != "USD" || mit["transactionIdentifier"] != id || simtest.FieldString(mit, "threeDs.flow") != "not_requested" ||
			mit["maskedCardNo"] != "400012******0068" || mit["paymentMethodType"] != "card" {
			t.Fatalf("MIT: %v", mit)
		}
	}
	cases := []struct {
		name   string
		body   map[string]any
		status int
		code   string
		field  string
	}{
		{"no identifier", token(g.order(), simtest.SetField("cardNo", "4000123456000068"), simtest.SetField("currency", "USD")), 400, "PARAMETER_MISSING", "transactionIdentifier"},
		{"unknown identifier", token(g.order(), simtest.SetField("transactionIdentifier", "999999999999999")), 422, "INVALID_TRANSACTION_IDENTIFIER", "transactionIdentifier"},
		{"another card", token(g.order(), simtest.SetField("transactionIdentifier", id), simtest.SetField("cardNo", "4000123456000019")), 422, "INVALID_TRANSACTION_IDENTIFIER", "transactionIdentifier"},
		{"another plan", token(g.order(), simtest.SetField("transactionIdentifier", id), simtest.SetField("customerInitiatedReason", "INSTALMENT")), 422, "INVALID_TRANSACTION_IDENTIFIER", "transactionIdentifier"},
		{"bad amount", token(g.order(), simtest.SetField("transactionIdentifier", id), simtest.SetField("amount", "1.234")), 400, "PARAMETER_INVALID", "amount"},
		{"neither", token(g.order(), simtest.SetField("customerInitiatedReason", nil)), 400, "PARAMETER_MISSING", "transactionIdentifier"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { wantError(t, g.post("/payments/token", c.body), c.status, c.code, c.field) })
	}
	// The same card and identifier work with the card number too.
	if p := must(t, g.post("/payments/token", token(g.order(), simtest.SetField("transactionIdentifier", id), simtest.SetField("cardNo", "4000123456000068"))), 200); p["status"] != "CAPTURED" {
		t.Fatalf("%v", p)
	}
	// A past expiry declines.
	if p := must(t, g.post("/payments/token", token(g.order(), simtest.SetField("transactionIdentifier", id), simtest.SetField("expiryYear", "2025"))), 200); p["status"] != "FAILED" || p["failureCode"] != "EXPIRED_CARD" {
		t.Fatalf("%v", p)
	}
	// The identifier belongs to the sandbox of this merchant only.
	live := g.VMToken("live")
	r := g.Do("POST", "/vm/v1/payments/token", token(g.order(), simtest.SetField("transactionIdentifier", id)), "Authorization", "Bearer "+live)
	wantError(t, r, 422, "INVALID_TRANSACTION_IDENTIFIER", "transactionIdentifier")
	other := g.Do("POST", "/vm/v1/auth/token", map[string]string{"appId": "086666075137002", "secret": "5A1C0E7D22B94F6B8E3D4C2A1F0B9E8D"})
	otherTok := simtest.FieldString(other.JSON(), "accessToken")
	r = g.Do("POST", "/vm/v1/payments/token", token(g.order(), simtest.SetField("transactionIdentifier", id)), "Authorization", "Bearer "+otherTok)
	wantError(t, r, 422, "INVALID_TRANSACTION_IDENTIFIER", "transactionIdentifier")
	if len(g.events("credential.stored", map[string]string{"transactionIdentifier": id})) != 1 {
		t.Fatal("credential not journaled")
	}
}

// TestUnscheduledAndInstalmentSeries: the plan of the customer-initiated
// payment is the plan of its series; a CIT without a plan allows any.
func TestUnscheduledAndInstalmentSeries(t *testing.T) {
	g := newGW(t)
	inst := simtest.FieldString(g.pay(g.order(), "5100123456000015", stored("INSTALMENT")), "transactionIdentifier")
	any := simtest.FieldString(g.pay(g.order(), "5100123456000015", func(b map[string]any) { b["billing"] = map[string]any{"storedcredentials": "store"} }), "transactionIdentifier")
	for _, c := range []struct {
		id, reason string
		ok         bool
	}{
		{inst, "INSTALMENT", true}, {inst, "UNSCHEDULED", false}, {any, "UNSCHEDULED", true}, {any, "RECURRING", true}, {any, "INSTALMENT", true},
	} {
		r := g.post("/payments/token", token(g.order(), simtest.SetField("transactionIdentifier", c.id), simtest.SetField("customerInitiatedReason", c.reason)))
		if (r.Status == 200) != c.ok {
			t.Errorf("%s on %s: %d %s", c.reason, c.id, r.Status, r.Body)
		}
	}
}

// TestCustomerInitiatedTokenPayment: without a plan, a token payment is the
// customer paying with a card on file; it may be authenticated and stores
// the card.
func TestCustomerInitiatedTokenPayment(t *testing.T) {
	g := newGW(t)
	p := must(t, g.post("/payments/token", token(g.order(), simtest.SetField("customerInitiatedReason", nil), simtest.SetField("cardNo", "4000123456000019"), simtest.SetField("currency", "EUR"), simtest.SetField("threeDsMode", "standard"))), 200)
	if p["status"] != "CAPTURED" || simtest.FieldString(p, "threeDs.flow") != "frictionless" || p["transactionIdentifier"] == nil || p["currency"] != "EUR" {
		t.Fatalf("%v", p)
	}
	wantError(t, g.post("/payments/token", token(g.order(), simtest.SetField("customerInitiatedReason", nil), simtest.SetField("cardNo", "4000123456000019"))), 400, "PARAMETER_MISSING", "currency")
	wantError(t, g.post("/payments/token", token(g.order(), simtest.SetField("customerInitiatedReason", nil), simtest.SetField("transactionIdentifier", simtest.FieldString(p, "transactionIdentifier")), simtest.SetField("threeDsMode", "auto"))), 400, "PARAMETER_MISSING", "cardNo")
	// A declining card declines in a series too.
	d := must(t, g.post("/payments/token", token(g.order(), simtest.SetField("customerInitiatedReason", nil), simtest.SetField("cardNo", "4000123456000217"), simtest.SetField("currency", "USD"))), 200)
	if d["status"] != "FAILED" || d["failureCode"] != "DO_NOT_HONOR" || d["transactionIdentifier"] != nil {
		t.Fatalf("%v", d)
	}
}
