package queueapp

import (
	"strings"
	"testing"
)

// Genstore's ids are unique within a shop only: the second shop whose payment
// or refund has an id the gateway already knows from another shop gets a
// digest of its shop, the same on every delivery; the first keeps the bare id.
func TestPSPRefTellsShopsApart(t *testing.T) {
	a := &App{pays: map[string]*payment{}, ops: map[string]*operation{}}
	byOrderNo := func(id string) func(*payment, *operation) bool {
		return func(p *payment, _ *operation) bool { return p != nil && p.orderNo == id }
	}
	if got := a.pspRef("1001", "PI1", byOrderNo("PI1")); got != "PI1" {
		t.Fatalf("the first shop's payment: %q, want the bare id", got)
	}
	a.pays[payKey("1001", "PI1")] = &payment{shopID: "1001", id: "PI1", orderNo: "PI1"}
	if got := a.pspRef("1001", "PI1", byOrderNo("PI1")); got != "PI1" {
		t.Fatalf("the same shop again: %q, want the bare id", got)
	}
	second := a.pspRef("1002", "PI1", byOrderNo("PI1"))
	if second == "PI1" || !strings.HasPrefix(second, "PI1-") || second != a.pspRef("1002", "PI1", byOrderNo("PI1")) {
		t.Fatalf("the second shop's payment: %q, want PI1 and a stable digest of the shop", second)
	}
	if third := a.pspRef("1003", "PI1", byOrderNo("PI1")); third == second {
		t.Fatalf("two other shops got the same key %q", third)
	}
	a.ops[opKey("refund", "1001", "RF1")] = &operation{kind: "refund", shopID: "1001", id: "RF1", ref: "RF1"}
	byRef := func(p *payment, op *operation) bool { return op != nil && op.kind == "refund" && op.ref == "RF1" }
	if got := a.pspRef("1002", "RF1", byRef); got == "RF1" {
		t.Fatalf("the second shop's refund kept the bare refundNumber")
	}
}
