package vmgateway_test

import (
	"testing"
	"time"

	"github.com/pspsim/pspsim/simulator/simtest"
	"github.com/pspsim/pspsim/simulator/vmgateway"
)

// TestPaymentTransitionTable checks the state machine against the table of
// specs/vmgateway.yaml PaymentStatus, pair by pair.
func TestPaymentTransitionTable(t *testing.T) {
	statuses := []string{"", "PENDING", "REQUIRES_ACTION", "AUTHORIZED", "CAPTURED", "PARTIALLY_REFUNDED", "REFUNDED", "FAILED", "CANCELLED", "EXPIRED"}
	allowed := map[string][]string{
		"":                   {"PENDING", "REQUIRES_ACTION", "AUTHORIZED", "CAPTURED", "FAILED"},
		"PENDING":            {"REQUIRES_ACTION", "AUTHORIZED", "CAPTURED", "FAILED", "CANCELLED", "EXPIRED"},
		"REQUIRES_ACTION":    {"PENDING", "AUTHORIZED", "CAPTURED", "FAILED", "CANCELLED", "EXPIRED"},
		"AUTHORIZED":         {"CAPTURED", "CANCELLED", "EXPIRED"},
		"CAPTURED":           {"PARTIALLY_REFUNDED", "REFUNDED"},
		"PARTIALLY_REFUNDED": {"PARTIALLY_REFUNDED", "REFUNDED"},
	}
	for _, from := range statuses {
		ok := map[string]bool{}
		for _, to := range allowed[from] {
			ok[to] = true
		}
		for _, to := range statuses[1:] {
			if got := vmgateway.CanTransition(from, to); got != ok[to] {
				t.Errorf("%q → %s: %v, want %v", from, to, got, ok[to])
			}
		}
		if from != "" && vmgateway.Final(from) != (len(allowed[from]) == 0) {
			t.Errorf("Final(%s)", from)
		}
	}
	for _, c := range []struct {
		from, to string
		ok       bool
	}{
		{"", "PENDING", true}, {"", "SUCCEEDED", true}, {"", "FAILED", true},
		{"PENDING", "SUCCEEDED", true}, {"PENDING", "FAILED", true},
		{"SUCCEEDED", "FAILED", false}, {"FAILED", "SUCCEEDED", false}, {"SUCCEEDED", "PENDING", false}, {"PENDING", "PENDING", false},
	} {
		if vmgateway.CanRefundTransition(c.from, c.to) != c.ok {
			t.Errorf("refund %q → %s", c.from, c.to)
		}
	}
}

func manual(b map[string]any) { b["card"].(map[string]any)["captureMethod"] = "manual" }

func TestManualCaptureOnceAndPartial(t *testing.T) {
	g := newGW(t)
	orderNo := g.order()
	p := g.pay(orderNo, "4000123456000019", manual)
	if p["status"] != "AUTHORIZED" || p["capturedAmount"] != "0.00" || p["authorizedAmount"] != "19.99" || p["authorizationExpiresAt"] != "2026-11-29T10:00:00Z" {
		t.Fatalf("%v", p)
	}
	wantError(t, g.post("/payments/capture", map[string]any{"orderNo": orderNo, "captureAmount": "20.00"}), 422, "AMOUNT_EXCEEDED", "captureAmount")
	wantError(t, g.post("/payments/capture", map[string]any{"orderNo": orderNo, "captureAmount": "1.001"}), 400, "PARAMETER_INVALID", "captureAmount")
	wantError(t, g.post("/payments/capture", map[string]any{"orderNo": orderNo, "captureAmount": "0"}), 400, "PARAMETER_INVALID", "captureAmount")
	wantError(t, g.post("/payments/capture", map[string]any{"captureAmount": "1.00"}), 400, "PARAMETER_MISSING", "orderNo")
	wantError(t, g.post("/payments/capture", map[string]any{"orderNo": orderNo, "tradeNo": "202308161615130001", "captureAmount": "1.00"}), 404, "NOT_FOUND", "tradeNo")
	c := must(t, g.post("/payments/capture", map[string]any{"tradeNo": p["tradeNo"], "captureAmount": "15.00"}), 200)
	if c["status"] != "CAPTURED" || c["capturedAmount"] != "15.00" || c["authorizedAmount"] != "19.99" || c["authorizationExpiresAt"] != nil {
		t.Fatalf("%v", c)
	}
	wantError(t, g.post("/payments/capture", map[string]any{"orderNo": orderNo, "captureAmount": "4.99"}), 409, "STATUS_CONFLICT", "")
	wantError(t, g.post("/payments/cancel", map[string]any{"orderNo": orderNo, "reason": "x"}), 409, "STATUS_CONFLICT", "")
	auto := g.pay(g.order(), "4000123456000019")
	wantError(t, g.post("/payments/capture", map[string]any{"tradeNo": auto["tradeNo"], "captureAmount": "1.00"}), 409, "STATUS_CONFLICT", "")
	failed := g.pay(g.order(), "4000123456000209", manual)
	wantError(t, g.post("/payments/capture", map[string]any{"tradeNo": failed["tradeNo"], "captureAmount": "1.00"}), 409, "STATUS_CONFLICT", "")
}

func TestCancel(t *testing.T) {
	g := newGW(t)
	// An uncaptured authorization.
	orderNo := g.order()
	g.pay(orderNo, "5100123456000007", manual)
	c := must(t, g.post("/payments/cancel", map[string]any{"orderNo": orderNo, "reason": "customer changed their mind"}), 200)
	if c["status"] != "CANCELLED" {
		t.Fatalf("%v", c)
	}
	wantError(t, g.post("/payments/cancel", map[string]any{"orderNo": orderNo, "reason": "again"}), 409, "STATUS_CONFLICT", "")
	wantError(t, g.post("/payments/capture", map[string]any{"orderNo": orderNo, "captureAmount": "1.00"}), 409, "STATUS_CONFLICT", "")
	// A payment waiting for its challenge: the late challenge result is ignored.
	orderNo = g.order()
	p := g.pay(orderNo, "4000123456000068")
	must(t, g.post("/payments/cancel", map[string]any{"tradeNo": p["tradeNo"], "reason": "abandoned cart"}), 200)
	g.completeChallenge(simtest.FieldString(p, "nextAction.redirectUrl"), "submit", "123456")
	if q := g.inquire(orderNo); q["status"] != "CANCELLED" || simtest.FieldString(q, "nextAction.type") != "none" {
		t.Fatalf("%v", q)
	}
	if len(g.events("payment.authentication_late", nil)) != 1 {
		t.Fatal("late result not journaled")
	}
	// Captured and failed payments cannot be cancelled.
	for _, card := range []string{"4000123456000019", "4000123456000209"} {
		p := g.pay(g.order(), card)
		wantError(t, g.post("/payments/cancel", map[string]any{"tradeNo": p["tradeNo"], "reason": "x"}), 409, "STATUS_CONFLICT", "")
	}
	wantError(t, g.post("/payments/cancel", map[string]any{"orderNo": "NOSUCHORDER", "reason": "x"}), 404, "NOT_FOUND", "orderNo")
}

func TestAuthorizationReleasesItselfAfterSevenDays(t *testing.T) {
	g := newGW(t)
	orderNo := g.order()
	g.pay(orderNo, "4000123456000019", manual)
	g.Advance(7*24*time.Hour - time.Second)
	g.tok = g.VMToken("sandbox") // the first token expired long ago
	if p := g.inquire(orderNo); p["status"] != "AUTHORIZED" {
		t.Fatalf("%v", p)
	}
	g.Advance(time.Second)
	p := g.inquire(orderNo)
	if p["status"] != "EXPIRED" || p["authorizationExpiresAt"] != nil {
		t.Fatalf("%v", p)
	}
	wantError(t, g.post("/payments/capture", map[string]any{"orderNo": orderNo, "captureAmount": "1.00"}), 409, "STATUS_CONFLICT", "")
	// The seed's demo authorization is released too.
	if p := g.inquire("202308161615130001"); p["status"] != "EXPIRED" {
		t.Fatalf("fixture: %v", p)
	}
}

func TestWaitingPaymentsExpire(t *testing.T) {
	g := newGW(t)
	challenge := g.order()
	g.pay(challenge, "4000123456000068", simtest.SetField("expiryTime", "45"))
	qr := g.order()
	must(t, g.post("/payments", wallet(qr, "wechat", "qr-code")), 200)
	// The challenge times out after 10 minutes: the payment fails as abandoned.
	g.Advance(10 * time.Minute)
	if p := g.inquire(challenge); p["status"] != "FAILED" || p["failureCode"] != "AUTHENTICATION_ABANDONED" {
		t.Fatalf("%v", p)
	}
	g.Advance(20*time.Minute - time.Second)
	if p := g.inquire(qr); p["status"] != "REQUIRES_ACTION" {
		t.Fatalf("%v", p)
	}
	g.Advance(time.Second)
	if p := g.inquire(qr); p["status"] != "EXPIRED" || simtest.FieldString(p, "nextAction.type") != "none" {
		t.Fatalf("%v", p)
	}
	adminError(t, g.Do("POST", "/_sim/vmgateway/payments/"+simtest.FieldString(g.inquire(qr), "tradeNo")+"/buyer-action", map[string]any{"action": "approve"}), 409, "conflict")
}
