package vmgateway_test

import (
	"testing"
	"time"

	"github.com/pspsim/pspsim/simulator"
	"github.com/pspsim/pspsim/simulator/simtest"
	"github.com/pspsim/pspsim/simulator/store"
	"github.com/pspsim/pspsim/simulator/store/storetest"
)

func onFailing(f *storetest.Failing) simtest.Option {
	return func(o *simulator.Options) { o.Store = f }
}

// TestAWebhookWaitsForTheStore: a payment's webhook goes to the merchant's
// subscriptions, looked up when its status changes. A store that refuses
// that lookup once does not make the event go unsent (before, the refusal
// read as "no subscriptions"); one that never answers it leaves a
// webhook.unsent event in the journal, not silence.
func TestAWebhookWaitsForTheStore(t *testing.T) {
	t.Run("refused once", func(t *testing.T) {
		failing := storetest.NewFailing(store.NewMemory())
		g := newGW(t, onFailing(failing))
		rc := newReceiver(t, 200, g.Clock.Now)
		g.subscribe(rc.srv.URL)
		failing.FailTimes(1)
		failing.OnlyKinds("vm.subscription")
		p := g.pay(g.order(), "4000123456000019")
		if p["status"] != "CAPTURED" || failing.Hits() != 1 {
			t.Fatalf("payment %v with %d failed lookups; want CAPTURED after 1", p["status"], failing.Hits())
		}
		simtest.Eventually(t, "the webhook", func() bool { return len(rc.list()) == 1 })
	})
	t.Run("not answering", func(t *testing.T) {
		failing := storetest.NewFailing(store.NewMemory())
		g := newGW(t, onFailing(failing))
		rc := newReceiver(t, 200, g.Clock.Now)
		g.subscribe(rc.srv.URL)
		failing.Fail()
		failing.OnlyKinds("vm.subscription")
		orderNo := g.order()
		g.pay(orderNo, "4000123456000019")
		failing.Heal()
		if got := g.events("webhook.unsent", map[string]string{"orderNo": orderNo}); len(got) != 1 {
			t.Fatalf("journaled %d unsent webhooks, want 1", len(got))
		}
		if n := len(rc.list()); n != 0 {
			t.Fatalf("%d webhooks received", n)
		}
	})
}

// TestAThreeDSResultWaitsForTheStore: a decoupled authentication ends while
// the store refuses to read its payment twice; the payment is captured all
// the same (the result is told once: the gateway asks again). When the store
// does not answer at all, the payment keeps waiting and the journal says why
// (payment.authentication_unresolved), instead of calling the result
// orphaned.
func TestAThreeDSResultWaitsForTheStore(t *testing.T) {
	t.Run("refused twice", func(t *testing.T) {
		failing := storetest.NewFailing(store.NewMemory())
		g := newGW(t, onFailing(failing))
		orderNo := g.order()
		if p := g.pay(orderNo, "5100123456000130"); p["status"] != "PENDING" {
			t.Fatalf("decoupled payment: %v", p["status"])
		}
		failing.FailTimes(2, storetest.OpGet)
		failing.OnlyKinds("vm.payment")
		g.Advance(time.Minute)
		if failing.Hits() != 2 {
			t.Fatalf("%d failed lookups, want 2", failing.Hits())
		}
		if p := g.inquire(orderNo); p["status"] != "CAPTURED" {
			t.Fatalf("the payment: %v, want CAPTURED", p["status"])
		}
	})
	t.Run("not answering", func(t *testing.T) {
		failing := storetest.NewFailing(store.NewMemory())
		g := newGW(t, onFailing(failing))
		orderNo := g.order()
		g.pay(orderNo, "5100123456000130")
		failing.Fail(storetest.OpGet)
		failing.OnlyKinds("vm.payment")
		g.Advance(time.Minute)
		failing.Heal()
		if p := g.inquire(orderNo); p["status"] != "PENDING" {
			t.Fatalf("the payment: %v, want PENDING (still waiting)", p["status"])
		}
		if n := len(g.events("payment.authentication_unresolved", nil)); n != 1 {
			t.Fatalf("journaled %d unresolved results, want 1", n)
		}
		if n := len(g.events("payment.authentication_orphaned", nil)); n != 0 {
			t.Fatalf("journaled %d orphaned results: the payment exists", n)
		}
	})
}
