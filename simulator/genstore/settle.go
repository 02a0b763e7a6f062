package genstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/pspsim/pspsim/simulator/apierr"
)

// errUnchanged aborts a store update that would write the same document (an
// exact repeat of a recorded result).
var errUnchanged = errors.New("genstore: unchanged")

// settlement is what applying a final result did.
type settlement struct {
	Payment Payment // as stored afterwards
	From    Status  // payment status before
	To      Status  // payment status after
	OpFrom  OpStatus
	OpTo    OpStatus
	// Repeat: the result equals the recorded one; nothing changed, except
	// possibly a channel id that had not been reported before (Filled).
	Repeat bool
	Filled bool
}

// settle applies a final result — from a callback, a reconciliation query or
// Genstore itself — to a payment (kind "payment") or one of its operations,
// under the payment's lock, following the rules of states.go (settlePayment,
// settleOperation, repeat):
//
//   - no result yet: the transition is taken and the result recorded;
//   - the same result again (and no other channel id): a repeat, nothing
//     changes (a channel id not reported before is filled in, since it was
//     never set);
//   - a different result, or another channel id: 409, the first stands.
//
// guard runs first, inside the lock (e.g. "this callback is for the wrong
// kind of payment"). Errors are *apierr.Error for the caller to answer.
func (s *System) settle(ctx context.Context, shopID, paymentID, kind, id string, res Result, guard func(*Payment) *apierr.Error) (settlement, error) {
	var st settlement
	p, err := s.payments.Update(ctx, paymentKey(shopID, paymentID), func(p *Payment) error {
		st = settlement{From: p.Status}
		if guard != nil {
			if e := guard(p); e != nil {
				return e
			}
		}
		if kind == KindPayment {
			return settlePayment(p, res, &st)
		}
		op := p.op(kind, id)
		if op == nil {
			return apierr.Field(apierr.NotFound, idName(kind), "exists", "no such %s", kind)
		}
		return settleOperation(p, op, res, &st)
	})
	st.Payment, st.To = p, p.Status
	if errors.Is(err, errUnchanged) {
		return st, nil
	}
	return st, err
}

// afterSettle journals what a settlement changed and stops what no longer
// needs to run: the operation's retries, polls, deadline and expiry.
func (s *System) afterSettle(kind, id string, st settlement, res Result) {
	p := st.Payment
	ids := p.ids(kind, id)
	if st.Repeat {
		msg := fmt.Sprintf("%s %s: the same final result again (%t), nothing changes", kind, id, res.Result)
		if st.Filled {
			msg = fmt.Sprintf("%s %s: the same final result again; %s %s recorded (none was before)", kind, id, channelIDName(kind), res.ChannelID)
		}
		s.record(kind+".result_repeated", msg, ids, map[string]any{"result": res.Result, "source": res.Source})
		return
	}
	data := map[string]any{"result": res.Result, "reason": res.Reason, "source": res.Source, channelIDName(kind): res.ChannelID}
	if kind != KindPayment {
		s.record(kind+"."+string(st.OpTo), fmt.Sprintf("%s %s of payment %s %s (%s)%s", kind, id, p.PaymentID, st.OpTo, res.Source, because(res)), ids, data)
	}
	if st.From != st.To {
		d := map[string]any{"from": st.From.Code(), "to": st.To.Code(), "fromName": st.From.String(), "toName": st.To.String(), "source": res.Source, "reason": res.Reason}
		s.record("payment.status_changed", fmt.Sprintf("payment %s: %s (%s) → %s (%s) by %s %s%s", p.PaymentID, st.From.Code(), st.From, st.To.Code(), st.To, kind, res.Source, because(res)), p.ids(kind, id), d)
	}
	s.stopOperation(context.Background(), kind, p.ShopID, id)
}

func because(r Result) string {
	if r.Result || r.Reason == "" {
		return ""
	}
	return ": " + r.Reason
}

// ids are the journal ids of an event about a payment or one of its operations.
func (p Payment) ids(kind, id string) map[string]string {
	m := map[string]string{"shopId": p.ShopID, "paymentId": p.PaymentID, "clientId": p.ClientID}
	if kind != KindPayment && kind != "" {
		m[idName(kind)] = id
	}
	return m
}

// record journals a Genstore event.
func (s *System) record(kind, message string, ids map[string]string, data map[string]any) {
	s.env.Record(Name, kind, message, ids, data)
}
