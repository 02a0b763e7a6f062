package paymentapp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// Capture, void and refund (CONTRACT.md §2). Each follows the payment's pattern: verify,
// one operation per id, check it against what the app knows of the payment, call the
// gateway with the payment's environment, acknowledge, report the final result.
//
// The rules the app checks itself, before the gateway (which checks them too):
//   - capture: an authorized, uncaptured, unvoided manualCapture:true payment, at most
//     its authorized amount, once (the gateway captures a payment once; a partial capture
//     releases the rest);
//   - void: an authorized, uncaptured payment;
//   - refund: a captured payment, never more than what was captured minus what is
//     refunded or being refunded; several partial refunds are fine.

// opRequest is the body of a capture, void or refund request.
type opRequest struct {
	Amount    string `json:"amount"`
	Test      flag   `json:"test"`
	PaymentID string `json:"paymentId"`
	CaptureID string `json:"captureId"`
	VoidID    string `json:"voidId"`
	RefundID  string `json:"refundId"`
}

func (r opRequest) id(kind OpKind) string {
	switch kind {
	case Capture:
		return r.CaptureID
	case Void:
		return r.VoidID
	}
	return r.RefundID
}

func (r opRequest) problem(kind OpKind) string {
	switch {
	case !idPattern.MatchString(r.id(kind)):
		return string(kind) + "Id: is missing or malformed"
	case !idPattern.MatchString(r.PaymentID):
		return "paymentId: is missing or malformed"
	case !r.Test.Set:
		return "test: is required"
	case kind != Void && r.Amount == "":
		return "amount: is required"
	}
	return ""
}

// opAckBody renders an acknowledgement with the kind's field name.
func opAckBody(kind OpKind, ack OpAck) map[string]string {
	return map[string]string{"channel" + title(string(kind)) + "Id": ack.ChannelID, "error": ack.Error}
}

func (a *App) handleOperation(kind OpKind) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		sp, body, ok := a.verified(w, r)
		if !ok {
			return
		}
		var req opRequest
		if err := json.Unmarshal(body, &req); err != nil {
			writeJSON(w, http.StatusBadRequest, appError{Error: "body: " + jsonProblem(err)})
			return
		}
		if msg := req.problem(kind); msg != "" {
			writeJSON(w, http.StatusBadRequest, appError{Error: msg})
			return
		}
		id, hash := req.id(kind), bodyHash(body)
		ctx, reports := withReportQueue(a.ctx)
		process := func() OpAck { return a.processOperation(ctx, kind, sp, req, hash) }
		if a.bugs.on(VariantAckFirst) {
			process = func() OpAck { return a.acceptOperation(kind, sp, req, hash) }
		}
		ack, _ := once(a, &a.operations, string(kind)+"/"+sp.ShopID+"/"+id,
			func() (OpAck, bool) { return a.operationAnswered(kind, sp.ShopID, id, hash) }, process)
		if ack.busy {
			writeJSON(w, http.StatusServiceUnavailable, appError{Error: ack.Error})
			a.release(reports)
			return
		}
		acknowledge(w, opAckBody(kind, ack))
		a.release(reports)
	}
}

func (a *App) operationAnswered(kind OpKind, shopID, id, hash string) (OpAck, bool) {
	o, err := a.store.Operation(a.ctx, kind, shopID, id)
	if err != nil || !o.Answered {
		return OpAck{}, false
	}
	if o.BodyHash != hash {
		a.log.Warn("a repeated id came with a different body; answering as the first time", "kind", kind, "id", id)
	}
	return o.Ack, true
}

// errRefused carries the reason the app refuses an operation without calling the gateway.
type errRefused struct{ reason string }

func (e errRefused) Error() string { return e.reason }

// processOperation runs the first delivery of a capture, void or refund.
func (a *App) processOperation(ctx context.Context, kind OpKind, sp signedParams, req opRequest, hash string) OpAck {
	id := req.id(kind)
	env := a.envFor(req.Test.Value)
	p, payErr := a.store.Payment(ctx, sp.ShopID, req.PaymentID)
	var amount int64
	var amountErr error
	if kind != Void {
		amount, amountErr = parseAmount(req.Amount, p.Currency)
	}
	var base string
	if kind == Refund {
		base = a.refundBase(ctx, env, sp.ShopID, id)
	}
	o, err := a.store.UpdateOperation(ctx, kind, sp.ShopID, id, func(o *OperationRecord, found bool) error {
		attempt := o.Attempt + 1
		answered, ack := o.Answered, o.Ack
		*o = OperationRecord{
			Shop:      sp.Shop,
			PaymentID: req.PaymentID,
			BodyHash:  hash,
			Env:       env,
			Currency:  p.Currency,
			Amount:    amount,
			Attempt:   attempt,
			Answered:  answered, // VariantAckFirst answered before it got here
			Ack:       ack,
		}
		if kind == Refund {
			o.RefundNumber = gatewayRef(base, a.attemptSuffix(attempt))
		}
		return nil
	})
	if err != nil {
		a.log.Error("cannot record an operation", "kind", kind, "id", id, "err", err)
		return OpAck{Error: "the payment app could not record the request; please retry"}
	}

	switch {
	case payErr != nil:
		return a.refuseOperation(ctx, o, "paymentId: unknown payment")
	case amountErr != nil || (kind != Void && amount <= 0):
		return a.refuseOperation(ctx, o, "amount: is not a positive amount in "+p.Currency)
	case env != p.Env:
		return a.refuseOperation(ctx, o, "test: does not match the payment's mode")
	}
	if err := a.reserve(ctx, o); err != nil {
		var refused errRefused
		if errors.As(err, &refused) {
			return a.refuseOperation(ctx, o, refused.reason)
		}
		a.log.Error("cannot reserve an operation on its payment", "kind", kind, "id", id, "err", err)
		return a.refuseOperation(ctx, o, "the payment app could not process the request")
	}
	if kind == Refund {
		o, _ = a.store.Operation(ctx, kind, o.ShopID, o.ID) // now with Reserved
	}

	var ack OpAck
	switch kind {
	case Capture:
		gp, err := a.gw.capturePayment(ctx, env, p.OrderNo, p.TradeNo, formatAmount(amount, p.Currency))
		ack = a.afterCapture(ctx, o, p, gp, err)
	case Void:
		gp, err := a.gw.cancelPayment(ctx, env, p.OrderNo, p.TradeNo, "voided by the merchant in Genstore")
		ack = a.afterVoid(ctx, o, p, gp, err)
	case Refund:
		ack = a.refund(ctx, o, p)
	}
	return a.answerOperation(ctx, o, ack)
}

// reserve checks an operation against its payment and, if it is allowed, marks it on the
// payment in the same atomic step, so that two operations cannot both pass the check.
func (a *App) reserve(ctx context.Context, o OperationRecord) error {
	var reserved int64
	_, err := a.store.UpdatePayment(ctx, o.ShopID, o.PaymentID, func(p *PaymentRecord, found bool) error {
		if !found {
			return errRefused{"paymentId: unknown payment"}
		}
		authorized := p.Result.Final && p.Result.Success
		switch o.Kind {
		case Capture:
			switch {
			case !authorized:
				return errRefused{"the payment is not authorized"}
			case !p.ManualCapture:
				return errRefused{"the payment was captured when it was made (manualCapture:false)"}
			case p.Voided:
				return errRefused{"the payment is voided"}
			case p.Captured > 0:
				return errRefused{"the payment is already captured (a payment is captured once)"}
			case p.Busy != "":
				return errRefused{"another capture or void of this payment is in progress"}
			case o.Amount > p.Amount && !a.bugs.on(BugCaptureUnchecked):
				return errRefused{"amount: exceeds the authorized amount"}
				// (BugCaptureUnchecked: the comparison is skipped: "the PSP checks that".)
			}
			p.Busy = string(o.Kind) + ":" + o.ID
		case Void:
			switch {
			case !authorized:
				return errRefused{"the payment is not authorized"}
			case !p.ManualCapture || p.Captured > 0:
				return errRefused{"the payment is captured: refund it instead"}
			case p.Voided:
				return errRefused{"the payment is already voided"}
			case p.Busy != "":
				return errRefused{"another capture or void of this payment is in progress"}
			}
			p.Busy = string(o.Kind) + ":" + o.ID
		case Refund:
			refundable := p.Captured - p.Refunded - p.RefundsPending
			switch {
			case !authorized || p.Captured == 0:
				return errRefused{"the payment is not captured"}
			case o.Amount > refundable && !a.bugs.on(BugRefundOverCapture):
				return errRefused{fmt.Sprintf("amount: exceeds what is captured and not yet refunded (%s)", formatAmount(max(refundable, 0), p.Currency))}
			}
			// (BugRefundOverCapture: the comparison above is skipped.)
			p.RefundsPending += o.Amount
			reserved = o.Amount
		}
		return nil
	})
	if err != nil || reserved == 0 {
		return err
	}
	_, err = a.store.UpdateOperation(ctx, o.Kind, o.ShopID, o.ID, func(r *OperationRecord, found bool) error {
		r.Reserved = reserved
		return nil
	})
	return err
}

// refuseOperation ends an operation the app will not send to the gateway.
func (a *App) refuseOperation(ctx context.Context, o OperationRecord, reason string) OpAck {
	a.finishOperation(ctx, o.Kind, o.ShopID, o.ID, false, reason)
	return a.answerOperation(ctx, o, OpAck{Error: reason})
}

func (a *App) answerOperation(ctx context.Context, o OperationRecord, ack OpAck) OpAck {
	if ack.busy {
		a.unreserve(ctx, o) // Genstore's retry reserves afresh
		return ack
	}
	_, err := a.store.UpdateOperation(ctx, o.Kind, o.ShopID, o.ID, func(r *OperationRecord, found bool) error {
		if !found {
			return ErrNotFound
		}
		if !r.Answered {
			r.Ack, r.Answered = ack, true
		}
		return nil
	})
	if err != nil {
		a.log.Error("cannot record an acknowledgement", "kind", o.Kind, "id", o.ID, "err", err)
	}
	return ack
}

// setChannelID records the gateway's id of an operation (once set, it never changes).
func (a *App) setChannelID(ctx context.Context, o OperationRecord, channelID, status string) {
	_, _ = a.store.UpdateOperation(ctx, o.Kind, o.ShopID, o.ID, func(r *OperationRecord, found bool) error {
		if !found {
			return ErrNotFound
		}
		if r.ChannelID == "" {
			r.ChannelID = channelID
		}
		if status != "" {
			r.PSPStatus = status
		}
		return nil
	})
}

// ---- capture ----------------------------------------------------------------------

func (a *App) afterCapture(ctx context.Context, o OperationRecord, p PaymentRecord, gp gwPayment, err error) OpAck {
	if err == nil || errorCode(err) == "STATUS_CONFLICT" {
		if errorCode(err) == "STATUS_CONFLICT" {
			// Already captured — by an earlier attempt of ours whose answer was lost, or
			// not by us at all. The payment's state decides.
			gp, err = a.gw.inquirePayment(ctx, o.Env, p.OrderNo, p.TradeNo)
		}
		if err == nil {
			done, ok, reason := a.judgeCapture(o, gp)
			if done {
				a.setChannelID(ctx, o, gp.TradeNo, gp.Status)
				a.observePayment(ctx, p, gp)
				a.finishOperation(ctx, o.Kind, o.ShopID, o.ID, ok, reason)
				return OpAck{ChannelID: gp.TradeNo}
			}
		}
	}
	if err != nil && !outcomeUnknown(err) {
		reason := "the card gateway refused the capture: " + errorCode(err)
		a.finishOperation(ctx, o.Kind, o.ShopID, o.ID, false, reason)
		return OpAck{Error: reason}
	}
	if err != nil && a.bugs.on(Variant5xxWhilePSPDown) {
		return OpAck{Error: "the card gateway is unavailable; please retry", busy: true}
	}
	a.watchOperation(o, p)
	return OpAck{}
}

// judgeCapture reads the payment after a capture: done says whether the capture's outcome
// is known.
func (a *App) judgeCapture(o OperationRecord, gp gwPayment) (done, ok bool, reason string) {
	captured, _ := parseAmount(gp.CapturedAmount, o.Currency)
	switch gp.Status {
	case gwCaptured, gwPartiallyRefunded, gwRefunded:
		if captured == o.Amount {
			return true, true, ""
		}
		return true, false, "the payment is already captured with another amount"
	case gwAuthorized:
		return false, false, "" // not captured yet: ask (or capture) again
	}
	return true, false, "the payment cannot be captured (gateway status " + gp.Status + ")"
}

// ---- void -------------------------------------------------------------------------

func (a *App) afterVoid(ctx context.Context, o OperationRecord, p PaymentRecord, gp gwPayment, err error) OpAck {
	if errorCode(err) == "STATUS_CONFLICT" {
		gp, err = a.gw.inquirePayment(ctx, o.Env, p.OrderNo, p.TradeNo)
	}
	if err == nil {
		if done, ok, reason := judgeVoid(gp); done {
			a.setChannelID(ctx, o, gp.TradeNo, gp.Status)
			a.finishOperation(ctx, o.Kind, o.ShopID, o.ID, ok, reason)
			return OpAck{ChannelID: gp.TradeNo}
		}
	}
	if err != nil && !outcomeUnknown(err) {
		reason := "the card gateway refused the void: " + errorCode(err)
		a.finishOperation(ctx, o.Kind, o.ShopID, o.ID, false, reason)
		return OpAck{Error: reason}
	}
	if err != nil && a.bugs.on(Variant5xxWhilePSPDown) {
		return OpAck{Error: "the card gateway is unavailable; please retry", busy: true}
	}
	a.watchOperation(o, p)
	return OpAck{}
}

func judgeVoid(gp gwPayment) (done, ok bool, reason string) {
	switch gp.Status {
	case gwCancelled:
		return true, true, ""
	case gwAuthorized:
		return false, false, ""
	}
	return true, false, "the payment cannot be voided (gateway status " + gp.Status + ")"
}

// ---- refund -----------------------------------------------------------------------

func (a *App) refund(ctx context.Context, o OperationRecord, p PaymentRecord) OpAck {
	if a.bugs.on(BugRefundLiveCredentials) {
		// The mistake: the refund path was written against production and uses the live
		// merchant account whatever the payment's mode.
		o.Env = Live
	}
	rf, err := a.gw.createRefund(ctx, o.Env, a.refundRequest(o, p, o.Amount))
	switch {
	case errorCode(err) == "REFUND_NUMBER_CONFLICT":
		// The refundNumber is ours: an earlier attempt reached the gateway. Adopt that
		// refund if it is this one; otherwise the conflict stands.
		if found, ierr := a.gw.inquireRefund(ctx, o.Env, o.RefundNumber); ierr == nil && found.Amount == formatAmount(o.Amount, o.Currency) {
			rf, err = found, nil
		}
	case errorCode(err) == "AMOUNT_EXCEEDED" && a.bugs.on(BugRefundOverCapture):
		// The mistake, second half: "refund what is left, so the customer gets
		// something" — and report the refund as done.
		if left, lerr := a.refundable(ctx, o.Env, p); lerr == nil && left > 0 {
			rf, err = a.gw.createRefund(ctx, o.Env, a.refundRequest(o, p, left))
		}
	}
	if err == nil {
		a.setChannelID(ctx, o, rf.RefundID, rf.Status)
		if a.observeRefund(ctx, o, rf) {
			return OpAck{ChannelID: rf.RefundID}
		}
		a.watchOperation(o, p)
		return OpAck{ChannelID: rf.RefundID}
	}
	if !outcomeUnknown(err) {
		reason := "the card gateway refused the refund"
		if code := errorCode(err); code != "" {
			reason += ": " + code
		}
		a.log.Warn("card gateway refused a refund", "refundId", o.ID, "err", err)
		a.finishOperation(ctx, o.Kind, o.ShopID, o.ID, false, reason)
		return OpAck{Error: reason}
	}
	if a.bugs.on(Variant5xxWhilePSPDown) {
		return OpAck{Error: "the card gateway is unavailable; please retry", busy: true}
	}
	a.watchOperation(o, p)
	return OpAck{}
}

func (a *App) refundRequest(o OperationRecord, p PaymentRecord, amount int64) gwRefundRequest {
	clientIP := p.ClientIP
	if !ipPattern.MatchString(clientIP) {
		clientIP = "127.0.0.1"
	}
	return gwRefundRequest{
		Amount:       formatAmount(amount, o.Currency),
		ClientIP:     clientIP,
		OrderNo:      p.OrderNo,
		TradeNo:      p.TradeNo,
		Reason:       "refund requested by the merchant in Genstore",
		RefundNumber: o.RefundNumber,
	}
}

// refundable asks the gateway what is left to refund of a payment.
func (a *App) refundable(ctx context.Context, env Env, p PaymentRecord) (int64, error) {
	inq, err := a.gw.inquireRefunds(ctx, env, p.OrderNo)
	if err != nil {
		return 0, err
	}
	captured, err := parseAmount(inq.CapturedAmount, p.Currency)
	if err != nil {
		return 0, err
	}
	left := captured
	for _, r := range inq.Refunds {
		if r.Status == "FAILED" {
			continue
		}
		amount, err := parseAmount(r.Amount, p.Currency)
		if err != nil {
			return 0, err
		}
		left -= amount
	}
	return left, nil
}

// observeRefund records a gateway refund and reports it when final; it returns whether it
// is final.
func (a *App) observeRefund(ctx context.Context, o OperationRecord, rf gwRefund) bool {
	a.setChannelID(ctx, o, rf.RefundID, rf.Status)
	switch strings.ToUpper(rf.Status) {
	case "PENDING":
		if a.bugs.on(BugRefundBeforeSettled) {
			// The mistake: "the PSP took the refund, so it is done".
			a.finishOperation(ctx, o.Kind, o.ShopID, o.ID, true, "")
			return true
		}
	case "SUCCEEDED":
		a.finishOperation(ctx, o.Kind, o.ShopID, o.ID, true, "")
		return true
	case "FAILED":
		reason := rf.FailureMessage
		if reason == "" {
			reason = rf.FailureCode
		}
		a.finishOperation(ctx, o.Kind, o.ShopID, o.ID, false, "the refund failed: "+reason)
		return true
	}
	return false
}

// ---- reconciliation of operations --------------------------------------------------

// watchOperation asks the gateway about a capture, void or refund until it is final. A
// capture or void that timed out is sent again while the payment is still AUTHORIZED (the
// gateway refuses a second capture, so that is safe); a refund whose inquiry answers 404
// is sent again with the same refundNumber (the gateway's refundNumber is idempotent).
func (a *App) watchOperation(o OperationRecord, p PaymentRecord) {
	a.watch(string(o.Kind)+"/"+o.ShopID+"/"+o.ID, func(ctx context.Context) bool {
		cur, err := a.store.Operation(ctx, o.Kind, o.ShopID, o.ID)
		if err != nil || cur.Result.Final {
			return true
		}
		switch o.Kind {
		case Refund:
			rf, err := a.gw.inquireRefund(ctx, o.Env, o.RefundNumber)
			if errorCode(err) == "NOT_FOUND" {
				rf, err = a.gw.createRefund(ctx, o.Env, a.refundRequest(cur, p, cur.Amount))
			}
			if err != nil {
				if !outcomeUnknown(err) {
					a.finishOperation(ctx, o.Kind, o.ShopID, o.ID, false, "the card gateway refused the refund: "+errorCode(err))
					return true
				}
				return false
			}
			return a.observeRefund(ctx, cur, rf)
		default:
			gp, err := a.gw.inquirePayment(ctx, o.Env, p.OrderNo, p.TradeNo)
			if err != nil {
				return false
			}
			done, ok, reason := a.judgeCapture(cur, gp)
			if o.Kind == Void {
				done, ok, reason = judgeVoid(gp)
			}
			if !done {
				// Still AUTHORIZED: the earlier call never took effect; make it again.
				if o.Kind == Capture {
					_, err = a.gw.capturePayment(ctx, o.Env, p.OrderNo, p.TradeNo, formatAmount(cur.Amount, cur.Currency))
				} else {
					_, err = a.gw.cancelPayment(ctx, o.Env, p.OrderNo, p.TradeNo, "voided by the merchant in Genstore")
				}
				if err != nil && !outcomeUnknown(err) && errorCode(err) != "STATUS_CONFLICT" {
					a.finishOperation(ctx, o.Kind, o.ShopID, o.ID, false, "the card gateway refused the "+string(o.Kind)+": "+errorCode(err))
					return true
				}
				return false // the next inquiry tells how it ended
			}
			a.setChannelID(ctx, cur, gp.TradeNo, gp.Status)
			if o.Kind == Capture {
				a.observePayment(ctx, p, gp)
			}
			a.finishOperation(ctx, o.Kind, o.ShopID, o.ID, ok, reason)
			return true
		}
	})
}

// jsonProblem describes a JSON decoding error without quoting the input (which may hold
// card data).
func jsonProblem(err error) string {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax):
		return fmt.Sprintf("invalid JSON at byte %d", syntax.Offset)
	case errors.As(err, &typ):
		return fmt.Sprintf("%s: must be a %s", typ.Field, typ.Type)
	}
	return "invalid JSON"
}
