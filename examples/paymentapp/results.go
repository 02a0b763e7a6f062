package paymentapp

import (
	"context"
	"errors"
	"net/url"
	"sync"
)

// Final results (CONTRACT.md §3). Every operation ends in exactly one result, "true" or
// "false", reported by one callback. The result is recorded before it is sent, under the
// store's lock, so two goroutines that learn it at once (the gateway's answer and its
// webhook, say) cannot both report it. Once recorded it never changes: if the gateway later
// says otherwise — a late, duplicated or contradicting webhook — the app logs it and keeps
// the first result, as Genstore does.

var (
	errAlreadyFinal  = errors.New("already final with the same result")
	errContradiction = errors.New("contradicts the final result")
)

// finishPayment records the final result of a payment and reports it, once.
func (a *App) finishPayment(ctx context.Context, shopID, paymentID string, success bool, reason string) {
	if !success && reason == "" {
		reason = "declined"
	}
	var previous Result
	p, err := a.store.UpdatePayment(ctx, shopID, paymentID, func(p *PaymentRecord, found bool) error {
		if !found {
			return ErrNotFound
		}
		previous = p.Result
		if p.Result.Final {
			if p.Result.Success == success {
				return errAlreadyFinal
			}
			if !a.bugs.on(BugFlipFinal) {
				return errContradiction
			}
			// The mistake (BugFlipFinal): "the gateway knows best" — the newer word
			// replaces the result already reported, and is reported again.
		}
		if p.SupportCard != "" && !success {
			reason = "card " + p.SupportCard + ": " + reason // BugLeakCardInReason
		}
		p.Result = Result{Final: true, Success: success, Reason: truncate(reason, 512), At: a.now()}
		return nil
	})
	switch {
	case errors.Is(err, errAlreadyFinal):
		return
	case errors.Is(err, errContradiction):
		a.log.Warn("the card gateway contradicts a final result; the first result stands",
			"paymentId", paymentID, "reported", resultWord(previous.Success), "gatewaySays", resultWord(success), "gatewayReason", reason)
		return
	case err != nil:
		a.log.Error("cannot record a payment result", "paymentId", paymentID, "err", err)
		return
	}
	a.log.Info("payment final", "paymentId", paymentID, "result", resultWord(success), "reason", p.Result.Reason)
	a.report(ctx, a.paymentCallback(p))
}

// paymentCallback builds the callback of a payment's final result: pre_authorize/ for an
// authorization (manualCapture:true), payment/ for a sale.
func (a *App) paymentCallback(p PaymentRecord) callback {
	kind := "payment"
	if p.ManualCapture && !a.bugs.on(BugWrongCallbackKind) {
		kind = "pre_authorize"
	}
	// BugWrongCallbackKind: the app was written for sales first, and the authorization
	// path reuses the sale's callback.
	return callback{
		ShopID: p.ShopID,
		Shop:   p.Shop,
		Path:   "/api/202412/app/" + kind + "/" + url.PathEscape(p.PaymentID),
		Body:   resultBody(p.Result, "paymentId", p.PaymentID, "channelPaymentId", p.TradeNo, a.bugs.on(BugReasonMissing)),
	}
}

// finishOperation records the final result of a capture, void or refund and reports it,
// once; the first time, it also settles the operation's effect on the payment.
func (a *App) finishOperation(ctx context.Context, kind OpKind, shopID, id string, success bool, reason string) {
	if !success && reason == "" {
		reason = "declined"
	}
	var previous Result
	first := false
	o, err := a.store.UpdateOperation(ctx, kind, shopID, id, func(o *OperationRecord, found bool) error {
		if !found {
			return ErrNotFound
		}
		previous = o.Result
		if o.Result.Final {
			if o.Result.Success == success {
				return errAlreadyFinal
			}
			if !a.bugs.on(BugFlipFinal) {
				return errContradiction
			}
		} else {
			first = true
		}
		o.Result = Result{Final: true, Success: success, Reason: truncate(reason, 512), At: a.now()}
		return nil
	})
	switch {
	case errors.Is(err, errAlreadyFinal):
		return
	case errors.Is(err, errContradiction):
		a.log.Warn("the card gateway contradicts a final result; the first result stands",
			string(kind)+"Id", id, "reported", resultWord(previous.Success), "gatewaySays", resultWord(success), "gatewayReason", reason)
		return
	case err != nil:
		a.log.Error("cannot record an operation result", "kind", kind, "id", id, "err", err)
		return
	}
	if first {
		a.settlePayment(ctx, o)
	}
	a.log.Info(string(kind)+" final", string(kind)+"Id", id, "paymentId", o.PaymentID, "result", resultWord(success), "reason", o.Result.Reason)
	a.report(ctx, a.operationCallback(o))
}

// settlePayment applies a final capture, void or refund to its payment's amounts.
func (a *App) settlePayment(ctx context.Context, o OperationRecord) {
	_, err := a.store.UpdatePayment(ctx, o.ShopID, o.PaymentID, func(p *PaymentRecord, found bool) error {
		if !found {
			return ErrNotFound
		}
		switch o.Kind {
		case Capture:
			if o.Result.Success {
				p.Captured = o.Amount
			}
		case Void:
			if o.Result.Success {
				p.Voided = true
			}
		case Refund:
			p.RefundsPending -= o.Reserved
			if o.Result.Success {
				p.Refunded += o.Amount
			}
		}
		if p.Busy == string(o.Kind)+":"+o.ID {
			p.Busy = ""
		}
		return nil
	})
	if err != nil && !errors.Is(err, ErrNotFound) {
		a.log.Error("cannot settle the payment of an operation", "paymentId", o.PaymentID, "err", err)
	}
}

// operationCallback builds the callback of a capture, void or refund.
func (a *App) operationCallback(o OperationRecord) callback {
	idField, channelField := string(o.Kind)+"Id", "channel"+title(string(o.Kind))+"Id"
	return callback{
		ShopID: o.ShopID,
		Shop:   o.Shop,
		Path:   "/api/202412/app/" + string(o.Kind) + "/" + url.PathEscape(o.ID),
		Body:   resultBody(o.Result, idField, o.ID, channelField, o.ChannelID, a.bugs.on(BugReasonMissing)),
	}
}

// resultBody is {"pay":{"result","reason","<id>","channel<X>Id"}} (seed 000). result is the
// string "true" or "false" as in the seed's samples; reason only with "false"; the channel
// id only once the PSP gave one. omitReason is BugReasonMissing: the mistake of thinking
// the reason optional.
func resultBody(r Result, idField, id, channelField, channelID string, omitReason bool) map[string]map[string]string {
	pay := map[string]string{"result": resultWord(r.Success), idField: id}
	if !r.Success && !omitReason {
		pay["reason"] = r.Reason
	}
	if channelID != "" {
		pay[channelField] = channelID
	}
	return map[string]map[string]string{"pay": pay}
}

// report sends a callback in the background. When the result was reached while Genstore's
// request is still being answered, the callback waits until the acknowledgement is out:
// "200, received" first, then the result, never the other way round.
func (a *App) report(ctx context.Context, cb callback) {
	if q, ok := ctx.Value(reportQueueKey{}).(*reportQueue); ok && q.hold(cb) {
		return
	}
	a.goAsync(func(ctx context.Context) {
		_ = a.deliver(ctx, cb, a.cfg.CallbackAttempts) // deliver logs its own outcome
	})
}

// reportQueue holds the callbacks of a request until its acknowledgement is written.
type reportQueue struct {
	mu       sync.Mutex
	held     []callback
	released bool
}

type reportQueueKey struct{}

// withReportQueue returns a context whose callbacks wait for release.
func withReportQueue(ctx context.Context) (context.Context, *reportQueue) {
	q := &reportQueue{}
	return context.WithValue(ctx, reportQueueKey{}, q), q
}

func (q *reportQueue) hold(cb callback) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.released {
		return false
	}
	q.held = append(q.held, cb)
	return true
}

// release sends the held callbacks; later ones go at once.
func (a *App) release(q *reportQueue) {
	q.mu.Lock()
	held := q.held
	q.held, q.released = nil, true
	q.mu.Unlock()
	for _, cb := range held {
		a.report(context.Background(), cb)
	}
}

func resultWord(success bool) string {
	if success {
		return "true"
	}
	return "false"
}

func title(s string) string {
	if s == "" {
		return s
	}
	return string(s[0]-'a'+'A') + s[1:]
}
