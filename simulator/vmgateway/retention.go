package vmgateway

import (
	"github.com/pspsim/pspsim/simulator/env"
	"github.com/pspsim/pspsim/simulator/store"
)

// What the store may forget under its retention limits (`pspsim serve
// --retain-*`), oldest first: objects whose story has ended — a final
// status, no webhook on its way or held back, no timer that will change it —
// and, of what refers to another object, what refers to one already gone.
// Apps, merchants, subscriptions and sinks are configuration: never dropped.

// paymentDone: a final status (a captured payment may still be refunded
// later, but nothing will happen to it on its own), no refund settling, no
// webhook pending.
func paymentDone(e *env.Env) store.Option[Payment] {
	return store.EvictableReading(paymentReads, func(p *Payment, _ store.Peek) bool { return paymentEnded(p, e.Sender.Busy) })
}

// paymentReads are the fields paymentEnded reads: the store decodes only
// them to ask it (TestPaymentEndedReadsOnlyItsFields).
var paymentReads = []string{"Status", "RefundPending", "TradeNo"}

// paymentEnded is paymentDone's question; busy is the sender's.
func paymentEnded(p *Payment, busy func(system, id string) bool) bool {
	switch p.Status {
	case StatusCaptured, StatusPartiallyRefunded, StatusRefunded, StatusFailed, StatusCancelled, StatusExpired:
	default:
		return false // waiting (expiry timer) or authorized (release timer)
	}
	return p.RefundPending == 0 && !busy(Name, p.TradeNo)
}

func refundDone(e *env.Env) store.Option[Refund] {
	return store.Evictable(func(rf *Refund, _ store.Peek) bool {
		return rf.Status != RefundPending && !e.Sender.Busy(Name, rf.RefundNumber) && !e.Sender.Busy(Name, rf.TradeNo)
	})
}

func sessionDone() store.Option[Session] {
	return store.Evictable(func(ss *Session, _ store.Peek) bool { return ss.Status != SessionOpen })
}

// claimDone: an order number's claim goes once what claimed it is gone.
func claimDone() store.Option[orderClaim] {
	return store.Evictable(func(c *orderClaim, peek store.Peek) bool {
		kind := "vm.payment"
		if c.Kind == "session" {
			kind = "vm.session"
		}
		return !peek.Exists(kind, c.Ref)
	})
}

func tokenDone(e *env.Env) store.Option[Token] {
	return store.Evictable(func(t *Token, _ store.Peek) bool { return t.Revoked || !e.Clock.Now().Before(t.ExpiresAt) })
}

// anyTime: stored cards and tracking records have no story of their own.
func anyTime[T any]() store.Option[T] {
	return store.Evictable(func(*T, store.Peek) bool { return true })
}
