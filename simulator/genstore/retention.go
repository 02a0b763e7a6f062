package genstore

import (
	"github.com/pspsim/pspsim/simulator/clock"
	"github.com/pspsim/pspsim/simulator/delivery"
	"github.com/pspsim/pspsim/simulator/store"
)

// What the store may forget under its retention limits (`pspsim serve
// --retain-*`), oldest first: payments whose story has ended (a final
// status, no capture, void or refund in progress, no request on its way and
// no reconciliation, deadline or expiry job pending), spent or expired installation
// codes and revoked tokens. Apps, shops and installations are never dropped.

func paymentDone(live *liveOps, sender *delivery.Sender) store.Option[Payment] {
	return store.Evictable(func(p *Payment, _ store.Peek) bool {
		switch p.Status {
		case StatusSuccess, StatusAuthVoid, StatusFailure:
		default:
			return false
		}
		for _, o := range p.Operations {
			if o.Status == OpProcessing {
				return false
			}
		}
		// A delivery the sender resumed (a durable one, after a restart)
		// has no handle in live; the sender counts it busy by its ids.
		if sender != nil && sender.Busy(Name, p.PaymentID) || live.busy(KindPayment, p.ShopID, p.PaymentID) {
			return false
		}
		for _, o := range p.Operations {
			if live.busy(o.Kind, p.ShopID, o.ID) {
				return false
			}
		}
		return true
	})
}

func codeDone(c clock.Clock) store.Option[InstallCode] {
	return store.Evictable(func(code *InstallCode, _ store.Peek) bool {
		return code.UsedAt != nil || !c.Now().Before(code.ExpiresAt)
	})
}

func tokenDone() store.Option[Token] {
	return store.Evictable(func(t *Token, _ store.Peek) bool { return t.Revoked })
}
