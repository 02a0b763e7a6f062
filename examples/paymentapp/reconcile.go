package paymentapp

import (
	"context"
	"time"
)

// Reconciliation. Some outcomes do not come back in the gateway's answer: a payment that
// waits for the buyer (3-D Secure challenge) or for the issuer (decoupled authentication),
// a refund that is PENDING, a call that timed out. Webhooks normally bring them, but
// webhooks can be late or lost, so the app also asks the gateway itself, on a backoff
// schedule (Config.ReconcileBackoff), until the operation is final.

// notFoundLimit is how many inquiries in a row must answer 404 before the app concludes
// that a call which timed out never reached the gateway.
const notFoundLimit = 3

// watch runs step on the reconcile schedule until it reports done, the attempts run out or
// the app closes. One watch per key at a time.
func (a *App) watch(key string, step func(ctx context.Context) (done bool)) {
	a.mu.Lock()
	if a.watching[key] {
		a.mu.Unlock()
		return
	}
	a.watching[key] = true
	a.mu.Unlock()

	a.goAsync(func(ctx context.Context) {
		defer func() {
			a.mu.Lock()
			delete(a.watching, key)
			a.mu.Unlock()
		}()
		for i := 0; i < a.cfg.ReconcileAttempts; i++ {
			select {
			case <-ctx.Done():
				return
			case <-time.After(backoff(a.cfg.ReconcileBackoff, i)):
			}
			if step(ctx) {
				return
			}
		}
		a.log.Error("gave up asking the card gateway; the operation stays unresolved", "watch", key)
	})
}

// watchPayment asks the gateway about a payment until it is final.
func (a *App) watchPayment(p PaymentRecord) {
	notFound := 0
	a.watch("payment/"+p.ShopID+"/"+p.PaymentID, func(ctx context.Context) bool {
		cur, err := a.store.Payment(ctx, p.ShopID, p.PaymentID)
		if err != nil || cur.Result.Final {
			return true
		}
		gp, err := a.gw.inquirePayment(ctx, cur.Env, cur.OrderNo, "")
		if errorCode(err) == "NOT_FOUND" {
			if notFound++; notFound >= notFoundLimit {
				a.finishPayment(ctx, cur.ShopID, cur.PaymentID, false, "the card gateway has no record of the payment")
				return true
			}
			return false
		}
		if err != nil {
			a.log.Warn("payment inquiry failed; will ask again", "paymentId", cur.PaymentID, "err", err)
			return false
		}
		notFound = 0
		return a.observePayment(ctx, cur, gp).Result.Final
	})
}
