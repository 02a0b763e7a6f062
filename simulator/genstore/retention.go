package genstore

import (
	"github.com/pspsim/pspsim/simulator/clock"
	"github.com/pspsim/pspsim/simulator/store"
)

// What the store may forget under its retention limits (`pspsim serve
// --retain-*`), oldest first: payments whose story has ended (a final
// status, no capture, void or refund in progress, no request on its way and
// no reconciliation or deadline timer left), spent or expired installation
// codes and revoked tokens. Apps, shops and installations are never dropped.

func paymentDone(live *liveOps) store.Option[Payment] {
	return store.Evictable(func(p *Payment, _ store.Peek) bool {
		switch p.Status {
		case StatusSuccess, StatusAuthVoid, StatusFailure:
		default:
			return false
		}
		keys := []string{opKey(KindPayment, p.ShopID, p.PaymentID)}
		for _, o := range p.Operations {
			if o.Status == OpProcessing {
				return false
			}
			keys = append(keys, opKey(o.Kind, p.ShopID, o.ID))
		}
		return !live.busy(keys...)
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
