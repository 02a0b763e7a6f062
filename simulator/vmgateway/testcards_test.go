package vmgateway_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pspsim/pspsim/fixtures"
	"github.com/pspsim/pspsim/simulator/simtest"
)

// outcome is what a full payment with a test card ends with.
type outcome struct {
	status, failure string
	flow, trans     string
	eciVisa, eciMC  string
	shift           bool
	// act finishes the payment when it waits: "otp:123456", "otp:000000",
	// "cancel", "wait:30s"; "" when the answer is final.
	act string
	// first is the status createPayment answers, when it differs from status.
	first string
}

// expected is TESTCARDS.md, row by row, as the gateway answers it with
// threeDsMode auto and captureMethod auto (rows 25 and 26 are tested apart).
var expected = map[string]outcome{
	"00": {status: "CAPTURED", flow: "not_requested", eciVisa: "07", eciMC: "00"},
	"01": {status: "CAPTURED", flow: "frictionless", trans: "Y", eciVisa: "05", eciMC: "02", shift: true},
	"02": {status: "CAPTURED", flow: "frictionless", trans: "A", eciVisa: "06", eciMC: "01", shift: true},
	"03": {status: "FAILED", failure: "AUTHENTICATION_FAILED", flow: "frictionless", trans: "N", eciVisa: "07", eciMC: "00"},
	"04": {status: "FAILED", failure: "AUTHENTICATION_REJECTED", flow: "frictionless", trans: "R", eciVisa: "07", eciMC: "00"},
	"05": {status: "FAILED", failure: "AUTHENTICATION_UNAVAILABLE", flow: "frictionless", trans: "U", eciVisa: "07", eciMC: "00"},
	"06": {status: "CAPTURED", flow: "challenge", trans: "Y", eciVisa: "05", eciMC: "02", shift: true, act: "otp:123456", first: "REQUIRES_ACTION"},
	"07": {status: "FAILED", failure: "AUTHENTICATION_FAILED", flow: "challenge", trans: "N", eciVisa: "07", eciMC: "00", act: "otp:000000", first: "REQUIRES_ACTION"},
	"08": {status: "FAILED", failure: "AUTHENTICATION_ABANDONED", flow: "challenge", trans: "U", eciVisa: "07", eciMC: "00", act: "cancel", first: "REQUIRES_ACTION"},
	"09": {status: "CAPTURED", flow: "not_enrolled", eciVisa: "07", eciMC: "00"},
	"10": {status: "FAILED", failure: "THREEDS_SERVER_ERROR", flow: "error"},
	"11": {status: "FAILED", failure: "INSUFFICIENT_FUNDS", flow: "frictionless", trans: "Y", eciVisa: "05", eciMC: "02", shift: true},
	"12": {status: "CAPTURED", flow: "frictionless", trans: "Y", eciVisa: "05", eciMC: "02", shift: true},
	"13": {status: "CAPTURED", flow: "decoupled", trans: "Y", eciVisa: "05", eciMC: "02", shift: true, act: "wait:30s", first: "PENDING"},
	"20": {status: "FAILED", failure: "INSUFFICIENT_FUNDS", flow: "not_requested", eciVisa: "07", eciMC: "00"},
	"21": {status: "FAILED", failure: "DO_NOT_HONOR", flow: "not_requested", eciVisa: "07", eciMC: "00"},
	"22": {status: "FAILED", failure: "EXPIRED_CARD", flow: "not_requested", eciVisa: "07", eciMC: "00"},
	"23": {status: "FAILED", failure: "INCORRECT_CVC", flow: "not_requested", eciVisa: "07", eciMC: "00"},
	"24": {status: "FAILED", failure: "LOST_OR_STOLEN", flow: "not_requested", eciVisa: "07", eciMC: "00"},
}

// TestEveryTestCardThroughAFullPayment pays with both numbers of every row
// of TESTCARDS.md, finishes what waits (challenge page, decoupled clock),
// and checks the final payment, its 3-D Secure result and the inquiry.
func TestEveryTestCardThroughAFullPayment(t *testing.T) {
	cards, _ := fixtures.TestCards()
	g := newGW(t)
	seen := 0
	for _, row := range cards.Cards {
		want, ok := expected[row.NN]
		if !ok {
			continue
		}
		seen++
		for brand, number := range map[string]string{"visa": row.Visa, "mastercard": row.Mastercard} {
			t.Run(row.NN+"/"+brand, func(t *testing.T) {
				orderNo := g.order()
				p := g.pay(orderNo, number)
				first := want.first
				if first == "" {
					first = want.status
				}
				if p["status"] != first {
					t.Fatalf("createPayment: status %v, want %s: %v", p["status"], first, p)
				}
				switch {
				case strings.HasPrefix(want.act, "otp:"), want.act == "cancel":
					na := p["nextAction"].(map[string]any)
					if na["type"] != "redirect" || !strings.Contains(simtest.FieldString(p, "nextAction.redirectUrl"), "/3ds/challenge/") || simtest.FieldString(p, "threeDs.transStatus") != "C" {
						t.Fatalf("no challenge: %v", p)
					}
					action, otp := "submit", strings.TrimPrefix(want.act, "otp:")
					if want.act == "cancel" {
						action, otp = "cancel", ""
					}
					loc := g.completeChallenge(simtest.FieldString(p, "nextAction.redirectUrl"), action, otp)
					if loc != g.URL+"/vm/return/"+simtest.FieldString(p, "tradeNo") {
						t.Fatalf("challenge returned to %s", loc)
					}
				case want.act == "wait:30s":
					if simtest.FieldString(p, "threeDs.transStatus") != "D" {
						t.Fatalf("not decoupled: %v", p)
					}
					g.Advance(30 * time.Second)
				}
				p = g.inquire(orderNo)
				eci := want.eciVisa
				if brand == "mastercard" {
					eci = want.eciMC
				}
				got := outcome{status: simtest.FieldString(p, "status"), failure: simtest.FieldString(p, "failureCode"), flow: simtest.FieldString(p, "threeDs.flow"),
					trans: simtest.FieldString(p, "threeDs.transStatus"), eciVisa: simtest.FieldString(p, "threeDs.eci"), shift: simtest.FieldString(p, "threeDs.liabilityShift") == "true"}
				if got.status != want.status || got.failure != want.failure || got.flow != want.flow || got.trans != want.trans || got.eciVisa != eci || got.shift != want.shift {
					t.Fatalf("got %+v\nwant %+v (eci %s)\n%v", got, want, eci, p)
				}
				if simtest.FieldString(p, "maskedCardNo") != number[:6]+"******"+number[12:] || simtest.FieldString(p, "cardBrand") != strings.ToUpper(brand) {
					t.Fatalf("card: %v", p)
				}
				if want.status == "CAPTURED" && (simtest.FieldString(p, "capturedAmount") != "19.99" || simtest.FieldString(p, "authorizedAmount") != "19.99") {
					t.Fatalf("amounts: %v", p)
				}
				if want.trans == "Y" || want.trans == "A" {
					// The authentication was bound to this payment.
					ev := g.events("threeds.bound", map[string]string{"dsTransId": simtest.FieldString(p, "threeDs.dsTransId")})
					if len(ev) != 1 || ev[0].Data["reference"] != simtest.FieldString(p, "tradeNo") {
						t.Fatalf("binding: %+v", ev)
					}
				}
			})
		}
	}
	if seen != len(expected) {
		t.Fatalf("rows seen %d, expected %d", seen, len(expected))
	}
	raw := string(g.Do("GET", "/_sim/events", nil).Body)
	for _, row := range cards.Cards {
		if strings.Contains(raw, row.Visa) || strings.Contains(raw, row.Mastercard) {
			t.Fatalf("the journal holds card number of row %s", row.NN)
		}
	}
}

// TestUnavailableFollowsTheMerchantSetting: row 05 fails by default,
// proceeds (no liability shift) when the merchant says so, and always fails
// with threeDsMode standard.
func TestUnavailableFollowsTheMerchantSetting(t *testing.T) {
	g := newGW(t)
	if p := g.pay(g.order(), "4000123456000050"); p["status"] != "FAILED" {
		t.Fatalf("default: %v", p)
	}
	must(t, g.Do("PATCH", "/_sim/vmgateway/merchants/M086666075137", map[string]any{"threeDsUnavailable": "proceed"}), 200)
	p := g.pay(g.order(), "4000123456000050")
	if p["status"] != "CAPTURED" || simtest.FieldString(p, "threeDs.liabilityShift") != "false" || simtest.FieldString(p, "threeDs.transStatus") != "U" {
		t.Fatalf("proceed: %v", p)
	}
	p = g.pay(g.order(), "4000123456000050", simtest.SetField("threeDsMode", "standard"))
	if p["status"] != "FAILED" || p["failureCode"] != "AUTHENTICATION_UNAVAILABLE" {
		t.Fatalf("standard: %v", p)
	}
}

// TestThreeDSModes: "no" never authenticates, "auto" skips cards that do not
// ask (00, 20–26), "standard" authenticates every card.
func TestThreeDSModes(t *testing.T) {
	g := newGW(t)
	for _, c := range []struct {
		mode, card, flow, status string
	}{
		{"no", "4000123456000068", "not_requested", "CAPTURED"},
		{"no", "4000123456000035", "not_requested", "CAPTURED"},
		{"no", "4000123456000209", "not_requested", "FAILED"},
		{"auto", "4000123456000001", "not_requested", "CAPTURED"},
		{"auto", "4111111111111111", "frictionless", "CAPTURED"},
		{"standard", "4000123456000001", "frictionless", "CAPTURED"},
		{"standard", "4000123456000209", "frictionless", "FAILED"},
	} {
		p := g.pay(g.order(), c.card, simtest.SetField("threeDsMode", c.mode))
		if simtest.FieldString(p, "threeDs.flow") != c.flow || p["status"] != c.status || simtest.FieldString(p, "threeDs.mode") != c.mode {
			t.Errorf("%s %s: %v", c.mode, c.card, p)
		}
	}
}

// TestProcessorErrorIsRetryable: row 25 answers 500 and keeps nothing, so
// the inquiry says 404 and the same orderNo can be used again.
func TestProcessorErrorIsRetryable(t *testing.T) {
	g := newGW(t)
	orderNo := g.order()
	for _, card := range []string{"4000123456000258", "5100123456000254"} {
		wantError(t, g.post("/payments", cardPayment(orderNo, card)), 500, "INTERNAL_ERROR", "")
		wantError(t, g.post("/payments/inquiry", map[string]any{"orderNo": orderNo}), 404, "NOT_FOUND", "orderNo")
	}
	if p := g.pay(orderNo, "4000123456000019"); p["status"] != "CAPTURED" {
		t.Fatalf("retry: %v", p)
	}
}

// TestProcessorSilenceHoldsTheRequest: row 26 accepts the payment and never
// answers; the client gives up; the payment is PENDING and expires.
func TestProcessorSilenceHoldsTheRequest(t *testing.T) {
	g := newGW(t)
	orderNo := g.order()
	body := cardPayment(orderNo, "4000123456000266")
	client := &http.Client{Timeout: 300 * time.Millisecond}
	req, _ := http.NewRequestWithContext(context.Background(), "POST", g.URL+"/vm/v1/payments", strings.NewReader(string(mustJSON(body))))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+g.tok)
	start := time.Now()
	if resp, err := client.Do(req); err == nil {
		resp.Body.Close()
		t.Fatalf("the gateway answered: %d", resp.StatusCode)
	}
	if time.Since(start) < 250*time.Millisecond {
		t.Fatal("the client did not wait")
	}
	p := g.inquire(orderNo)
	if p["status"] != "PENDING" {
		t.Fatalf("%v", p)
	}
	wantError(t, g.post("/payments", cardPayment(orderNo, "4000123456000019")), 409, "DUPLICATE_ORDER", "orderNo")
	g.Advance(30 * time.Minute)
	if p := g.inquire(orderNo); p["status"] != "EXPIRED" {
		t.Fatalf("%v", p)
	}
	simtest.Eventually(t, "the withheld answer to be journaled", func() bool { return len(g.events("payment.answer_withheld", nil)) == 1 })
}

// TestPaymentsSeeEveryMerchantChange: the merchant a request reads is
// shared between requests until it changes (store.Table.GetShared); each
// change through the admin API is seen by the next payment, and a change
// back too.
func TestPaymentsSeeEveryMerchantChange(t *testing.T) {
	g := newGW(t)
	for i, c := range []struct {
		methods []string
		status  int
	}{{nil, 200}, {[]string{"googlePay"}, 403}, {[]string{"card"}, 200}, {[]string{"applePay", "googlePay"}, 403}, {[]string{"applePay", "card"}, 200}} {
		if c.methods != nil {
			must(t, g.Do("PATCH", "/_sim/vmgateway/merchants/M086666075137", map[string]any{"methods": c.methods}), 200)
		}
		for range 2 {
			if r := g.post("/payments", cardPayment(g.order(), "4000123456000019")); r.Status != c.status {
				t.Fatalf("step %d, methods %q: a card payment answered %d %s, want %d", i, c.methods, r.Status, r.Body, c.status)
			}
		}
	}
}
