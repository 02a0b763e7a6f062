package vmgateway_test

import (
	"sync"
	"testing"
	"time"

	"github.com/pspsim/pspsim/simulator/simtest"
)

func refund(orderNo, number, amount string) map[string]any {
	return map[string]any{"orderNo": orderNo, "amount": amount, "clientIp": "10.1.1.1", "reason": "customer request", "refundNumber": number}
}

func TestRefundsPartialFullAndLimits(t *testing.T) {
	g := newGW(t)
	orderNo := g.order()
	g.pay(orderNo, "4000123456000019") // 19.99 captured
	r1 := must(t, g.post("/refunds", refund(orderNo, "RF000001", "5.00")), 200)
	if r1["status"] != "PENDING" || r1["amount"] != "5.00" || r1["refundId"] == nil {
		t.Fatalf("%v", r1)
	}
	// Pending refunds count against the limit.
	wantError(t, g.post("/refunds", refund(orderNo, "RF000002", "15.00")), 422, "AMOUNT_EXCEEDED", "amount")
	r2 := must(t, g.post("/refunds", refund(orderNo, "RF000002", "14.99")), 200)
	if p := g.inquire(orderNo); p["status"] != "CAPTURED" || p["refundedAmount"] != "0.00" {
		t.Fatalf("before settlement: %v", p)
	}
	g.Advance(5 * time.Second)
	p := g.inquire(orderNo)
	if p["status"] != "REFUNDED" || p["refundedAmount"] != "19.99" {
		t.Fatalf("%v", p)
	}
	wantError(t, g.post("/refunds", refund(orderNo, "RF000003", "0.01")), 409, "STATUS_CONFLICT", "")
	list := must(t, g.post("/refunds/inquiry", map[string]any{"orderNo": orderNo}), 200)
	refunds := list["refunds"].([]any)
	if len(refunds) != 2 || list["refundedAmount"] != "19.99" || list["capturedAmount"] != "19.99" {
		t.Fatalf("%v", list)
	}
	for i, want := range []map[string]any{r1, r2} {
		got := refunds[i].(map[string]any)
		if got["refundId"] != want["refundId"] || got["status"] != "SUCCEEDED" {
			t.Fatalf("%v", got)
		}
	}
	one := must(t, g.post("/refunds/inquiry", map[string]any{"refundNumber": "RF000002"}), 200)
	if len(one["refunds"].([]any)) != 1 || simtest.FieldString(one["refunds"].([]any)[0].(map[string]any), "refundNumber") != "RF000002" {
		t.Fatalf("%v", one)
	}
	wantError(t, g.post("/refunds/inquiry", map[string]any{"refundNumber": "RF999999"}), 404, "NOT_FOUND", "refundNumber")
	wantError(t, g.post("/refunds/inquiry", map[string]any{}), 400, "PARAMETER_MISSING", "refundNumber")
	other := g.order()
	g.pay(other, "4000123456000019")
	wantError(t, g.post("/refunds/inquiry", map[string]any{"refundNumber": "RF000002", "orderNo": other}), 404, "NOT_FOUND", "refundNumber")
}

func TestPartialRefundLeavesPartiallyRefunded(t *testing.T) {
	g := newGW(t)
	orderNo := g.order()
	g.pay(orderNo, "4000123456000019", manual)
	wantError(t, g.post("/refunds", refund(orderNo, "RF000010", "1.00")), 409, "STATUS_CONFLICT", "")
	must(t, g.post("/payments/capture", map[string]any{"orderNo": orderNo, "captureAmount": "10.00"}), 200)
	wantError(t, g.post("/refunds", refund(orderNo, "RF000010", "10.01")), 422, "AMOUNT_EXCEEDED", "amount")
	must(t, g.post("/refunds", refund(orderNo, "RF000010", "4.00")), 200)
	g.Advance(5 * time.Second)
	if p := g.inquire(orderNo); p["status"] != "PARTIALLY_REFUNDED" || p["refundedAmount"] != "4.00" || p["capturedAmount"] != "10.00" {
		t.Fatalf("%v", p)
	}
	must(t, g.post("/refunds", refund(orderNo, "RF000011", "6.00")), 200)
	g.Advance(5 * time.Second)
	if p := g.inquire(orderNo); p["status"] != "REFUNDED" {
		t.Fatalf("%v", p)
	}
}

func TestRefundNumberIsIdempotent(t *testing.T) {
	g := newGW(t)
	a, b := g.order(), g.order()
	g.pay(a, "4000123456000019")
	g.pay(b, "4000123456000019")
	first := must(t, g.post("/refunds", refund(a, "RF000020", "3.00")), 200)
	again := must(t, g.post("/refunds", refund(a, "RF000020", "3.00")), 200)
	if again["refundId"] != first["refundId"] {
		t.Fatalf("%v vs %v", first, again)
	}
	wantError(t, g.post("/refunds", refund(a, "RF000020", "4.00")), 409, "REFUND_NUMBER_CONFLICT", "refundNumber")
	wantError(t, g.post("/refunds", refund(b, "RF000020", "3.00")), 409, "REFUND_NUMBER_CONFLICT", "refundNumber")
	// After settlement the same request still answers the same refund.
	g.Advance(5 * time.Second)
	settled := must(t, g.post("/refunds", refund(a, "RF000020", "3.00")), 200)
	if settled["refundId"] != first["refundId"] || settled["status"] != "SUCCEEDED" {
		t.Fatalf("%v", settled)
	}
	if p := g.inquire(a); p["refundedAmount"] != "3.00" {
		t.Fatalf("refunded twice: %v", p)
	}
	// Concurrent duplicates make one refund.
	c := g.order()
	g.pay(c, "4000123456000019")
	var wg sync.WaitGroup
	ids := make([]string, 16)
	for i := range ids {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			r := g.post("/refunds", refund(c, "RF000021", "19.99"))
			ids[i] = simtest.FieldString(r.JSON(), "refundId")
		}(i)
	}
	wg.Wait()
	for _, id := range ids {
		if id == "" || id != ids[0] {
			t.Fatalf("concurrent refunds: %v", ids)
		}
	}
	g.Advance(5 * time.Second)
	if p := g.inquire(c); p["refundedAmount"] != "19.99" || p["status"] != "REFUNDED" {
		t.Fatalf("%v", p)
	}
}

func TestRefundFailureReleasesTheAmount(t *testing.T) {
	g := newGW(t)
	orderNo := g.order()
	g.pay(orderNo, "4000123456000019")
	r := must(t, g.post("/refunds", refund(orderNo, "RF000030", "19.99")), 200)
	id := simtest.FieldString(r, "refundId")
	s := must(t, g.Do("POST", "/_sim/vmgateway/refunds/"+id+"/settle", map[string]any{"result": "failed"}), 200)
	if s["status"] != "FAILED" {
		t.Fatalf("%v", s)
	}
	adminError(t, g.Do("POST", "/_sim/vmgateway/refunds/"+id+"/settle", map[string]any{"result": "succeeded"}), 409, "conflict")
	// The timer that would settle it finds it final.
	g.Advance(5 * time.Second)
	one := must(t, g.post("/refunds/inquiry", map[string]any{"refundNumber": "RF000030"}), 200)
	got := one["refunds"].([]any)[0].(map[string]any)
	if got["status"] != "FAILED" || got["failureCode"] != "REFUND_DECLINED" {
		t.Fatalf("%v", got)
	}
	if p := g.inquire(orderNo); p["status"] != "CAPTURED" || p["refundedAmount"] != "0.00" {
		t.Fatalf("%v", p)
	}
	must(t, g.post("/refunds", refund(orderNo, "RF000031", "19.99")), 200)
	adminError(t, g.Do("POST", "/_sim/vmgateway/refunds/rf_nope/settle", map[string]any{"result": "failed"}), 404, "not_found")
}
