package codepay_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pspsim/pspsim/simulator"
	"github.com/pspsim/pspsim/simulator/codepay"
	"github.com/pspsim/pspsim/simulator/delivery"
	memstore "github.com/pspsim/pspsim/simulator/store"
	"github.com/pspsim/pspsim/simulator/store/storetest"
	"github.com/pspsim/pspsim/simulator/threeds"
)

// withStore runs the simulator on s.
func withStore(s memstore.Store) func(*simulator.Options) {
	return func(o *simulator.Options) { o.Store = s }
}

// TestAClosedBatchThatDoesNotAnswerIsNotOpen: a void and a tip adjustment
// are refused once the batch is closed (the batch feature). When the store
// does not answer for the batch, neither passes as if the batch were open:
// the answer is HTTP 503, code 50000, and the refusal returns once the store
// answers again.
func TestAClosedBatchThatDoesNotAnswerIsNotOpen(t *testing.T) {
	failing := storetest.NewFailing(memstore.NewMemory())
	c := newCP(t, withStore(failing))
	c.paidSale("CB1", "25.00", "4000123456000001", nil)
	if a := c.call("batch.close", map[string]any{"terminal_sn": termA}); a.Code != "0" {
		t.Fatalf("batch.close: %s", a)
	}
	void := func() answer {
		return c.call("wisehub.cloud.pay.order", map[string]any{"terminal_sn": termA, "message_receiving_application": "CodePay Register",
			"price_currency": "USD", "order_amount": 25.00, "trans_type": 2, "merchant_order_no": "CB1V", "orig_merchant_order_no": "CB1",
			"description": "void", "expires": 600, "api_version": "2.0"})
	}
	tip := func() answer {
		return c.call("tip.adjustment", map[string]any{"merchant_order_no": "CB1", "tip_adjustment_amount": 2.00})
	}
	for _, tc := range []struct {
		name string
		send func() answer
	}{{"void", void}, {"tip adjustment", tip}} {
		t.Run(tc.name, func(t *testing.T) {
			failing.Fail(storetest.OpGet)
			failing.OnlyKinds("codepay.batch")
			a := tc.send()
			hits := failing.Hits()
			failing.Heal()
			if a.Status != http.StatusServiceUnavailable || a.Code != "50000" || hits == 0 {
				t.Fatalf("with the batch unanswered: %s (%d failed lookups); want HTTP 503, code 50000", a, hits)
			}
			if a := tc.send(); a.Code != "40009" {
				t.Fatalf("with the store answering: %s; want 40009 (the batch is closed)", a)
			}
		})
	}
}

// TestAThreeDSResultWaitsForTheStore: a decoupled authentication ends while
// the store refuses a connection or two; its order is paid all the same
// (the result is told once, so CodePay asks the store again). When the
// store does not answer at all, the order keeps waiting and the journal
// says why, instead of nothing.
func TestAThreeDSResultWaitsForTheStore(t *testing.T) {
	t.Run("refused twice", func(t *testing.T) {
		failing := storetest.NewFailing(memstore.NewMemory())
		c := newCP(t, withStore(failing))
		if a := c.merchantCheckout("S3DS-1", mcDecoupled, nil); a.Code != "0" || a.str("trans_status") != "0" {
			t.Fatalf("decoupled checkout: %s", a)
		}
		failing.FailTimes(2, storetest.OpGet)
		failing.OnlyKinds("codepay.txn")
		c.advance(time.Minute)
		if failing.Hits() != 2 {
			t.Fatalf("%d failed lookups, want 2", failing.Hits())
		}
		if got := c.statusOf("S3DS-1"); got != "2" {
			t.Fatalf("the order: status %s, want 2 (paid)", got)
		}
	})
	t.Run("not answering", func(t *testing.T) {
		failing := storetest.NewFailing(memstore.NewMemory())
		c := newCP(t, withStore(failing))
		if a := c.merchantCheckout("S3DS-2", mcDecoupled, nil); a.Code != "0" {
			t.Fatalf("decoupled checkout: %s", a)
		}
		failing.Fail(storetest.OpGet)
		failing.OnlyKinds("codepay.txn")
		c.advance(time.Minute)
		failing.Heal()
		if got := c.statusOf("S3DS-2"); got != "0" {
			t.Fatalf("the order: status %s, want 0 (still waiting)", got)
		}
		if n := len(c.events("order.3ds_unresolved")); n != 1 {
			t.Fatalf("journaled %d unresolved results, want 1", n)
		}
	})
}

// TestResumedWorkWaitsForTheStore: what a process that did not start the
// work resumes — the named 3-D Secure completion, a stored notification's
// hooks — reads its order from the store. A store that does not answer is
// said (order.3ds_unresolved, not "orphaned": the order exists), and a
// notification resumed then still gets its contradiction once the store
// answers, where before it silently had none.
func TestResumedWorkWaitsForTheStore(t *testing.T) {
	ctx := context.Background()
	t.Run("3-D Secure result", func(t *testing.T) {
		failing := storetest.NewFailing(memstore.NewMemory())
		c := newCP(t, withStore(failing))
		a := c.merchantCheckout("R3DS-1", mcDecoupled, nil)
		transNo := a.str("trans_no")
		ds := c.sys.DSTransID(ctx, transNo)
		if a.Code != "0" || ds == "" {
			t.Fatalf("decoupled checkout: %s (dsTransID %q)", a, ds)
		}
		failing.Fail(storetest.OpGet)
		failing.OnlyKinds("codepay.txn")
		c.sys.ResumeAuthentication(ctx, transNo, threeds.Result{DSTransID: ds, TransStatus: "Y"})
		failing.Heal()
		if u, o := len(c.events("order.3ds_unresolved")), len(c.events("order.3ds_orphaned")); u != 1 || o != 0 {
			t.Fatalf("journaled %d unresolved and %d orphaned results; want 1 and 0", u, o)
		}
	})
	t.Run("notification", func(t *testing.T) {
		failing := storetest.NewFailing(memstore.NewMemory())
		c := newCP(t, withStore(failing))
		transNo := c.paidSale("RN-1", "8.00", visaOK, nil)
		failing.Fail(storetest.OpGet)
		failing.OnlyKinds("codepay.txn")
		full := c.sys.ResumeNotification(ctx, delivery.Request{System: "codepay", Kind: "notification", IDs: map[string]string{"trans_no": transNo}})
		failing.Heal()
		if full.Contradict == nil || full.Tamper == nil {
			t.Fatalf("resumed without its hooks: contradiction %t, tampering %t", full.Contradict != nil, full.Tamper != nil)
		}
		c2, ok := full.Contradict()
		want := fmt.Sprintf(`"trans_status":%d,`, codepay.StatusFailed)
		if !ok || !strings.Contains(string(c2.Body), want) {
			t.Fatalf("the contradiction of a paid sale: %t %s; want %s", ok, c2.Body, want)
		}
	})
}
