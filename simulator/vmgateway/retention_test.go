package vmgateway_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/pspsim/pspsim/simulator"
)

// TestRetentionDropsEndedPaymentsAndKeepsPendingOnes fills the gateway past
// a small retention limit and checks what it kept: every authorized payment
// (a release timer waits), every payment whose webhook is still being
// retried, and the newest captured ones; the oldest captured payments with
// nothing pending went, their order numbers free and unknown to inquiries.
func TestRetentionDropsEndedPaymentsAndKeepsPendingOnes(t *testing.T) {
	g := newGW(t, func(o *simulator.Options) { o.Retention = simulator.Retention{Objects: 40} })
	rc := newReceiver(t, http.StatusInternalServerError, g.Clock.Now)
	var authorized, webhooked, captured []string
	for i := range 150 {
		orderNo := g.order()
		switch {
		case i < 10:
			must(t, g.post("/payments", cardPayment(orderNo, "4000123456000019", manual)), 200)
			authorized = append(authorized, orderNo)
		case i < 15:
			if i == 10 {
				g.subscribe(rc.srv.URL)
			}
			must(t, g.post("/payments", cardPayment(orderNo, "4000123456000019")), 200)
			webhooked = append(webhooked, orderNo)
			g.settled(len(webhooked)) // its first attempt failed: a retry is on the clock
			if i == 14 {
				rc.set(http.StatusOK) // the later ones are delivered at once
			}
		default:
			must(t, g.post("/payments", cardPayment(orderNo, "4000123456000019")), 200)
			captured = append(captured, orderNo)
		}
	}
	found := func(orderNo string) bool {
		r := g.post("/payments/inquiry", map[string]any{"orderNo": orderNo})
		if r.Status != http.StatusOK && r.Status != http.StatusNotFound {
			t.Fatalf("inquiry %s: %d %s", orderNo, r.Status, r.Body)
		}
		return r.Status == http.StatusOK
	}
	for _, o := range authorized {
		if !found(o) {
			t.Errorf("authorized payment %s (release timer pending) was dropped", o)
		}
	}
	for _, o := range webhooked {
		if !found(o) {
			t.Errorf("payment %s with a webhook still retried was dropped", o)
		}
	}
	if found(captured[0]) {
		t.Errorf("the oldest captured payment %s is still kept past the limit", captured[0])
	}
	if !found(captured[len(captured)-1]) {
		t.Errorf("the newest payment %s was dropped", captured[len(captured)-1])
	}
	// The records list what is kept, from the index.
	kept, _ := g.Do("GET", "/_sim/vmgateway/payments?environment=sandbox", nil).JSON()["payments"].([]any)
	if n := len(kept); n < 40 || n > 40+10+len(authorized)+len(webhooked) {
		t.Errorf("%d payments kept; want about the limit (40) plus the pending ones", n)
	}
	// A dropped order number is free again.
	must(t, g.post("/payments", cardPayment(captured[0], "4000123456000019")), 200)
	// Moving the clock past the retries and the authorizations' expiry lets
	// them go too.
	g.Advance(8 * 24 * time.Hour)
	g.tok = g.VMToken("sandbox")
	for i := range 60 {
		must(t, g.post("/payments", cardPayment(fmt.Sprintf("L%08d", i), "4000123456000019")), 200)
	}
	if found(authorized[0]) || found(webhooked[0]) {
		t.Error("payments whose timers and retries are over are still kept past the limit")
	}
}
