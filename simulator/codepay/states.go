package codepay

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/pspsim/pspsim/simulator/apierr"
)

// The state machines of seed 003 and the rules that let an operation start,
// in one place so that a reader goes from a `method` or operationId to its
// handler and from there here. A transaction's trans_status moves only along
// transitions; a pushed order also moves through the terminal's screens
// (stepOf), which decide what a cashier or buyer may do next (actionStep). A
// batch is open until it is closed, which is always allowed; a closed batch
// forbids voids and tip adjustments. Every operation on an existing
// transaction asks one may… rule before it changes anything. A refusal is
// 40009 (statusForbids) unless the rule says otherwise: 40011 for an amount
// the original cannot give, 40013 for the refund limit.

// Status is a transaction's trans_status.
type Status int

// The trans_status values of seed 003.
const (
	StatusProcessing Status = 0 // the buyer is paying: card read, 3-D Secure challenge, awaiting signature or the host
	StatusFailed     Status = 1 // failed, declined, or closed by expiry
	StatusSuccess    Status = 2 // paid (for a pre-authorization: authorized)
	StatusCancelled  Status = 3 // closed by the merchant before payment, or reversed in full
	StatusCreated    Status = 9 // created, awaiting payment
)

func (s Status) String() string {
	switch s {
	case StatusProcessing:
		return "processing"
	case StatusFailed:
		return "failed"
	case StatusSuccess:
		return "success"
	case StatusCancelled:
		return "cancelled"
	case StatusCreated:
		return "created"
	}
	return fmt.Sprintf("status(%d)", int(s))
}

// Final reports whether no payment can happen any more. Success is final
// for the payment's outcome; the one move out of it is a full reversal (a
// void before the batch closes, order.revoker, or the cancellation of an
// uncaptured authorization), which the table below spells out.
func (s Status) Final() bool { return s == StatusFailed || s == StatusSuccess || s == StatusCancelled }

// transitions is the one table of allowed status changes, for every
// trans_type. Anything else is refused with 40009.
var transitions = map[Status][]Status{
	StatusCreated:    {StatusProcessing, StatusFailed, StatusCancelled}, // paying; expired; closed by the merchant or the cashier
	StatusProcessing: {StatusSuccess, StatusFailed, StatusCancelled},    // approved; declined or timed out; cancelled while paying
	StatusSuccess:    {StatusCancelled},                                 // reversed in full
}

// CanMove reports whether the table allows from → to.
func CanMove(from, to Status) bool { return slices.Contains(transitions[from], to) }

// moveTo changes the status if the table allows it; a final status stamps
// the transaction's end time.
func (t *Txn) moveTo(to Status, at time.Time) error {
	if !CanMove(t.Status, to) {
		return statusForbids("trans_no %s is %s (trans_status %d); it cannot become %s (%d)", t.TransNo, t.Status, t.Status, to, to)
	}
	t.Status = to
	if to.Final() {
		end := at
		t.EndAt = &end
	}
	return nil
}

// statusForbids is the 40009 error: the transaction's state does not allow
// the operation.
func statusForbids(format string, args ...any) *apierr.Error {
	return apierr.New(apierr.Conflict, format, args...).WithCode(CodeStatusForbids)
}

// What each trans_type does decides which rules below apply to it.

// needsPayment reports whether a trans_type takes money from a card or
// wallet presented by the buyer (the others act on an original transaction).
func needsPayment(tt int) bool {
	switch tt {
	case TypeSale, TypePreAuth, TypeCashback, TypeCashWithdrawal:
		return true
	}
	return false
}

// needsOriginal reports whether a trans_type acts on an original
// transaction named by orig_merchant_order_no.
func needsOriginal(tt int) bool { return !needsPayment(tt) }

// isRefund reports whether a trans_type gives money back (it counts against
// the original's refundable amount and the 10-refund limit).
func isRefund(tt int) bool { return tt == TypeRefund || tt == TypeCompletionRefund }

// isReversal reports whether a trans_type reverses its original in full.
func isReversal(tt int) bool {
	return tt == TypeVoid || tt == TypePreAuthCancel || tt == TypeCompletionCancel
}

// needsManager: "when refund or void a transaction" (seed 003).
func needsManager(tt int) bool {
	switch tt {
	case TypeVoid, TypeRefund, TypePreAuthCancel, TypeCompletionCancel, TypeCompletionRefund:
		return true
	}
	return false
}

// tipOnScreen: on_screen_tip "can be set when trans_type=1, 3, 4".
func tipOnScreen(tt int) bool { return tt == TypeSale || tt == TypeRefund || tt == TypePreAuth }

// Reference transactions: voids, refunds, pre-auth cancels, completions
// (captures), completion cancels and completion refunds act on an original,
// by whichever way they arrive (pushed to a terminal, order.refund.submit,
// order.revoker, the card operations).

// mayReference says whether a reference transaction of type tt moving amt
// may act on the original o now. A pushed one is asked when pushed and again
// when the terminal performs it: the batch may have closed meanwhile.
func (s *System) mayReference(ctx context.Context, tt int, amt int64, o *Txn) *apierr.Error {
	name := typeNames[tt]
	if o.Status != StatusSuccess {
		return statusForbids("a %s needs a successful original; %s (%s) is %s (trans_status %d)", name, o.MerchantOrderNo, o.TransNo, o.Status, o.Status)
	}
	wrongType := func(what string) *apierr.Error {
		return statusForbids("a %s applies to %s; %s is a %s", name, what, o.MerchantOrderNo, typeNames[o.TransType])
	}
	switch tt {
	case TypeVoid:
		if !slices.Contains([]int{TypeSale, TypeCashback, TypeCashWithdrawal}, o.TransType) {
			return wrongType("a sale, a sale with cashback or a cash withdrawal")
		}
	case TypeRefund:
		if !slices.Contains([]int{TypeSale, TypeCashback, TypePreAuthCompletion}, o.TransType) {
			return wrongType("a sale or a completion (a cash withdrawal is not refundable)")
		}
	case TypePreAuthCancel, TypePreAuthCompletion:
		if o.TransType != TypePreAuth {
			return wrongType("a pre-authorization")
		}
		if o.CaptureTransNo != "" {
			return statusForbids("pre-authorization %s was already completed by %s", o.MerchantOrderNo, o.CaptureTransNo)
		}
	case TypeCompletionCancel, TypeCompletionRefund:
		if o.TransType != TypePreAuthCompletion {
			return wrongType("a pre-authorization completion")
		}
	}
	switch {
	case isReversal(tt) && tt != TypePreAuthCancel:
		if o.Refunded > 0 {
			return statusForbids("%s was partly refunded (%s): refund the rest instead of voiding it", o.MerchantOrderNo, fmtAmount(o.Refunded, o.Currency))
		}
		if closed, err := s.batchClosed(ctx, o); err != nil {
			return apierr.Wrap(err)
		} else if closed {
			return statusForbids("the batch %s of %s is closed: it can no longer be voided, only refunded", o.BatchNo, o.MerchantOrderNo)
		}
		if o.Instrument == InstrumentCardOnline {
			return statusForbids("%s is an online card payment: cancel it with order.revoker or refund it", o.MerchantOrderNo)
		}
	case isRefund(tt):
		if o.RefundCount >= MaxRefunds {
			return apierr.New(apierr.Conflict, "%s already has %d refunds, the most one transaction may have", o.MerchantOrderNo, MaxRefunds).WithCode(CodeRefundLimit)
		}
		if amt > o.Refundable() {
			return apierr.Field(apierr.Unprocessable, "order_amount", "maximum", "%s %s exceeds the %s %s still refundable on %s (paid %s, refunded %s)",
				fmtAmount(amt, o.Currency), o.Currency, fmtAmount(o.Refundable(), o.Currency), o.Currency, o.MerchantOrderNo,
				fmtAmount(o.Paid(), o.Currency), fmtAmount(o.Refunded, o.Currency)).WithCode(CodeAmountExceeds)
		}
	case tt == TypePreAuthCompletion:
		if amt > o.Authorized {
			return apierr.Field(apierr.Unprocessable, "trans_amount", "maximum", "%s %s exceeds the %s %s authorized on %s",
				fmtAmount(amt, o.Currency), o.Currency, fmtAmount(o.Authorized, o.Currency), o.Currency, o.MerchantOrderNo).WithCode(CodeAmountExceeds)
		}
	}
	return nil
}

// mayPushReference: a reference transaction pushed to a terminal acts only
// on an original paid on a terminal (checked before mayReference).
func mayPushReference(o *Txn) *apierr.Error {
	if o.TerminalSN == "" {
		return statusForbids("%s was not paid on a terminal: use order.refund.submit or order.revoker", o.MerchantOrderNo)
	}
	return nil
}

// mayCapture: Capture Payment completes a pre-authorization (checked before
// mayReference, which then holds it to its authorized amount).
func mayCapture(o *Txn) *apierr.Error {
	if o.TransType != TypePreAuth {
		return statusForbids("a capture completes a pre-authorization; %s is a %s", o.MerchantOrderNo, typeNames[o.TransType])
	}
	return nil
}

// mayCancelPayment: Cancel Payment voids an uncaptured pre-authorization
// (checked before mayReference); a sale is voided on the terminal instead.
func mayCancelPayment(o *Txn) *apierr.Error {
	if o.TransType != TypePreAuth {
		return statusForbids("Cancel Payment voids an uncaptured pre-authorization; %s is a %s (void it on the terminal or refund it)", o.MerchantOrderNo, typeNames[o.TransType])
	}
	return nil
}

// mayIncrement: an incremental authorization raises a successful
// pre-authorization that no completion has captured yet.
func mayIncrement(o *Txn) *apierr.Error {
	switch {
	case o.TransType != TypePreAuth:
		return statusForbids("an incremental authorization raises a pre-authorization; %s is a %s", o.MerchantOrderNo, typeNames[o.TransType])
	case o.Status != StatusSuccess:
		return statusForbids("pre-authorization %s is %s (trans_status %d): it cannot be raised", o.MerchantOrderNo, o.Status, o.Status)
	case o.CaptureTransNo != "":
		return statusForbids("pre-authorization %s was already completed by %s", o.MerchantOrderNo, o.CaptureTransNo)
	}
	return nil
}

// mayAdjustTip: a new tip goes on a successful card-present sale or
// completion whose batch is still open, and cannot leave less than what was
// already refunded. field names the amount in the error.
func (s *System) mayAdjustTip(ctx context.Context, t *Txn, field string, tip int64) *apierr.Error {
	switch {
	case !slices.Contains([]int{TypeSale, TypePreAuthCompletion, TypeCashback}, t.TransType):
		return statusForbids("a tip adjusts a sale or a completion; %s is a %s", t.MerchantOrderNo, typeNames[t.TransType])
	case !t.Offline():
		return statusForbids("%s was not paid by card on a terminal: only offline card transactions take tip adjustments", t.MerchantOrderNo)
	case t.Status != StatusSuccess:
		return statusForbids("%s is %s (trans_status %d): only a successful transaction takes a tip adjustment", t.MerchantOrderNo, t.Status, t.Status)
	}
	if closed, err := s.batchClosed(ctx, t); err != nil {
		return apierr.Wrap(err)
	} else if closed {
		return statusForbids("the batch %s of %s is closed: its tip can no longer be adjusted", t.BatchNo, t.MerchantOrderNo)
	}
	if t.Amount+tip < t.Refunded {
		return apierr.Field(apierr.Unprocessable, field, "minimum", "%s would leave less than the %s already refunded",
			fmtAmount(tip, t.Currency), fmtAmount(t.Refunded, t.Currency)).WithCode(CodeAmountExceeds)
	}
	return nil
}

// mayClose: wisehub.cloud.pay.close closes only an order awaiting payment.
func mayClose(t *Txn) *apierr.Error {
	if t.Status != StatusCreated {
		return statusForbids("order %s is %s (trans_status %d): only an order awaiting payment (9) can be closed; void a paid one with trans_type 2",
			t.MerchantOrderNo, t.Status, t.Status)
	}
	return nil
}

// revocation is what order.revoker does to an order.
type revocation int

const (
	revokeAgain  revocation = iota // already failed or cancelled: success again, nothing changes (the seed says to call again when unsure)
	revokeClose                    // unpaid or still processing: cancelled before payment
	revokeRefund                   // paid: refunded in full and cancelled
)

// mayRevoke says what order.revoker may do to an order: QR and online
// payment orders only (an offline card transaction is voided on the
// terminal), and never a pre-authorization a completion has captured.
func mayRevoke(t *Txn) (revocation, *apierr.Error) {
	if t.Offline() {
		return 0, statusForbids("%s is an offline bank card transaction: order.revoker cancels QR and online transactions only; void it on the terminal (trans_type 2) or refund it", t.MerchantOrderNo)
	}
	if !needsPayment(t.TransType) {
		return 0, statusForbids("%s is a %s, not a payment order", t.MerchantOrderNo, typeNames[t.TransType])
	}
	switch t.Status {
	case StatusFailed, StatusCancelled:
		return revokeAgain, nil
	case StatusCreated, StatusProcessing:
		return revokeClose, nil
	}
	if t.TransType == TypePreAuth && t.CaptureTransNo != "" {
		return 0, statusForbids("pre-authorization %s was captured by %s: refund the completion instead", t.MerchantOrderNo, t.CaptureTransNo)
	}
	return revokeRefund, nil
}

// mayPay: a hosted checkout is paid (by card or wallet), or left with
// Cancel, only while it awaits payment.
func mayPay(t *Txn) *apierr.Error {
	if t.Status != StatusCreated {
		return statusForbids("checkout %s is %s: it cannot be paid", t.MerchantOrderNo, t.Status)
	}
	return nil
}

// Screens (steps) a pushed order goes through on the terminal, in order.
// Each appears only when the order asks for it.
const (
	StepConfirm   = "confirm"   // confirm_on_terminal: the cashier confirms the order
	StepApproval  = "approval"  // required_terminal_authentication: a store manager authorizes a void or refund
	StepTip       = "tip"       // on_screen_tip: the buyer enters a tip
	StepPayment   = "payment"   // the buyer presents a card or a wallet QR code
	StepSignature = "signature" // on_screen_signature: the buyer signs an approved card payment
	StepHost      = "host"      // waiting for the host, which may never answer
	stepExecute   = "execute"   // a void/refund/capture with nothing left to ask: the terminal performs it
)

// stepOf returns the screen an order is on, or "" once it is final.
func stepOf(t *Txn) string {
	switch {
	case t.Status.Final():
		return ""
	case t.Status == StatusProcessing && t.HostTimeout:
		return StepHost
	case t.Status == StatusProcessing:
		return StepSignature
	}
	o := t.Options
	switch {
	case o.ConfirmOnTerminal && !t.Progress.Confirmed:
		return StepConfirm
	case o.RequiredAuthorization && needsManager(t.TransType) && !t.Progress.Approved:
		return StepApproval
	case o.OnScreenTip && tipOnScreen(t.TransType) && !t.Progress.TipDone:
		return StepTip
	case needsPayment(t.TransType):
		return StepPayment
	}
	return stepExecute
}

// actionStep is the screen each terminal action needs. cancel is not in it:
// it is allowed on every screen but the host's.
var actionStep = map[string]string{
	"confirm": StepConfirm,
	"approve": StepApproval, "decline": StepApproval,
	"tip":  StepTip,
	"card": StepPayment, "wallet": StepPayment,
	"sign": StepSignature,
}

// mayAct says whether an action may start on the screen terminal sn shows
// for t. An action it does not know is left to the caller to refuse.
func mayAct(sn string, t *Txn, step, kind string) *apierr.Error {
	if want, ok := actionStep[kind]; ok && step != want {
		return terminalError(apierr.Conflict, "action", "terminal %s is on the %s screen of %s, not %s", sn, step, t.MerchantOrderNo, want)
	}
	if kind == "cancel" && step == StepHost {
		return terminalError(apierr.Conflict, "action", "terminal %s waits for the host on %s: it cannot be cancelled now", sn, t.MerchantOrderNo)
	}
	return nil
}
