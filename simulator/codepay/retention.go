package codepay

import (
	"github.com/pspsim/pspsim/simulator/env"
	"github.com/pspsim/pspsim/simulator/store"
)

// What the store may forget under its retention limits (`pspsim serve
// --retain-*`), oldest first: transactions whose story has ended — failed,
// cancelled, or paid and not a pre-authorization still waiting for its
// completion; no notification on its way or held back; not in a settlement
// batch the store still holds — and closed batches. Apps, merchants and
// terminals are never dropped.

func txnDone(e *env.Env) store.Option[Txn] {
	return store.Evictable(func(t *Txn, peek store.Peek) bool {
		switch t.Status {
		case StatusFailed, StatusCancelled:
		case StatusSuccess:
			if t.TransType == TypePreAuth && t.CaptureTransNo == "" {
				return false // authorized: the merchant may still complete it
			}
		default:
			return false // created or processing: timers and the terminal hold it
		}
		if t.BatchNo != "" && peek.Exists("codepay.batch", t.BatchNo) {
			return false // its batch still counts it
		}
		return !e.Sender.Busy(Name, t.TransNo)
	})
}

func batchDone() store.Option[Batch] {
	return store.Evictable(func(b *Batch, _ store.Peek) bool { return b.ClosedAt != nil })
}
