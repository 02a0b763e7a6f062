package vmgateway_test

import (
	"testing"
)

// The admin API shows the gateway's own records: which environment each
// payment ran in, its amounts and history, its refunds — never a card number.
func TestPaymentRecordsForTests(t *testing.T) {
	g := newGW(t)
	manual := func(m map[string]any) { m["card"].(map[string]any)["captureMethod"] = "manual" }
	order := g.order()
	g.pay(order, "4000123456000001", manual)
	must(t, g.post("/payments/capture", map[string]any{"orderNo": order, "captureAmount": "6.00"}), 200)
	other := g.order()
	g.pay(other, "4000123456000001")
	must(t, g.post("/refunds", map[string]any{"orderNo": other, "amount": "3.00", "refundNumber": "R" + other, "clientIp": "10.1.1.1", "reason": "test"}), 200)

	r := must(t, g.Do("GET", "/_sim/vmgateway/payments?orderNo="+order, nil), 200)
	list := r["payments"].([]any)
	if len(list) != 1 {
		t.Fatalf("%d records for orderNo %s", len(list), order)
	}
	p := list[0].(map[string]any)
	if p["environment"] != "sandbox" || p["capturedAmount"] != "6.00" || p["status"] != "CAPTURED" || p["cardNN"] != "00" || p["maskedCardNo"] != "400012******0001" {
		t.Errorf("record: %v", p)
	}
	if h := p["history"].([]any); len(h) != 2 {
		t.Errorf("history: %v", h)
	}
	rec := must(t, g.Do("GET", "/_sim/vmgateway/payments?orderNo="+other, nil), 200)["payments"].([]any)[0].(map[string]any)
	refunds := rec["refunds"].([]any)
	if len(refunds) != 1 || refunds[0].(map[string]any)["amount"] != "3.00" || refunds[0].(map[string]any)["environment"] != "sandbox" {
		t.Errorf("refunds: %v", refunds)
	}
	if all := must(t, g.Do("GET", "/_sim/vmgateway/payments?environment=live", nil), 200)["payments"].([]any); len(all) != 0 {
		t.Errorf("live records: %v", all)
	}
	if all := must(t, g.Do("GET", "/_sim/vmgateway/payments?environment=sandbox", nil), 200)["payments"].([]any); len(all) < 2 {
		t.Errorf("sandbox records: %d", len(all))
	}
	merchant, _ := p["merchantId"].(string)
	mine := must(t, g.Do("GET", "/_sim/vmgateway/payments?merchantId="+merchant, nil), 200)["payments"].([]any)
	if len(mine) < 2 || merchant == "" {
		t.Errorf("merchant %q records: %d", merchant, len(mine))
	}
	for _, rec := range mine {
		if rec.(map[string]any)["merchantId"] != merchant {
			t.Errorf("another merchant's record: %v", rec)
		}
	}
	if none := must(t, g.Do("GET", "/_sim/vmgateway/payments?merchantId=nobody&environment=sandbox", nil), 200)["payments"].([]any); len(none) != 0 {
		t.Errorf("records of no merchant: %v", none)
	}
}
