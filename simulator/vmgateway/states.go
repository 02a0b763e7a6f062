package vmgateway

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/pspsim/pspsim/simulator/apierr"
)

// The gateway's state machines, one table per object (specs/vmgateway.yaml
// PaymentStatus, RefundStatus, CheckoutSession, TrackingRecord), and the
// rules that let an operation start. A handler finds the object its request
// names, asks the operation's start rule here whether it may begin — a
// refusal is the STATUS_CONFLICT or AMOUNT_EXCEEDED error the spec documents
// — and moves the object with its table's transition, which refuses any move
// the table does not list. Final statuses have no row, so they never change.

// table is one object's state machine: from → the statuses it may become.
type table map[string][]string

func (t table) allows(from, to string) bool { return slices.Contains(t[from], to) }

func (t table) final(status string) bool { return len(t[status]) == 0 }

// move is the transition every object shares: refused unless the table
// allows it (naming the object, so that the message says which one refused),
// otherwise recorded in the object's history.
func (t table) move(object string, status *string, history *[]Transition, updated *time.Time, to, why string, now time.Time) error {
	if !t.allows(*status, to) {
		return apierr.New(apierr.Conflict, "%s is %s; it cannot become %s", object, *status, to).WithCode(CodeStatusConflict)
	}
	*history = append(*history, Transition{From: *status, To: to, At: now, Why: why})
	*status, *updated = to, now
	return nil
}

// ---------------------------------------------------------------- payments

// Payment statuses (specs/vmgateway.yaml PaymentStatus).
const (
	StatusPending           = "PENDING"
	StatusRequiresAction    = "REQUIRES_ACTION"
	StatusAuthorized        = "AUTHORIZED"
	StatusCaptured          = "CAPTURED"
	StatusPartiallyRefunded = "PARTIALLY_REFUNDED"
	StatusRefunded          = "REFUNDED"
	StatusFailed            = "FAILED"
	StatusCancelled         = "CANCELLED"
	StatusExpired           = "EXPIRED"
)

// paymentTransitions is the payment's table. "" is a payment being created.
// The final statuses (FAILED, CANCELLED, EXPIRED, REFUNDED) have no way out.
var paymentTransitions = table{
	"":                      {StatusPending, StatusRequiresAction, StatusAuthorized, StatusCaptured, StatusFailed},
	StatusPending:           {StatusRequiresAction, StatusAuthorized, StatusCaptured, StatusFailed, StatusCancelled, StatusExpired},
	StatusRequiresAction:    {StatusPending, StatusAuthorized, StatusCaptured, StatusFailed, StatusCancelled, StatusExpired},
	StatusAuthorized:        {StatusCaptured, StatusCancelled, StatusExpired},
	StatusCaptured:          {StatusPartiallyRefunded, StatusRefunded},
	StatusPartiallyRefunded: {StatusPartiallyRefunded, StatusRefunded},
}

// CanTransition reports whether a payment may move from one status to
// another.
func CanTransition(from, to string) bool { return paymentTransitions.allows(from, to) }

// Final reports whether a payment status is final.
func Final(status string) bool { return paymentTransitions.final(status) }

// waiting reports whether a payment waits for the customer (a challenge, a
// wallet, a decoupled authentication) or the processor: it has an expiresAt
// and a next action, and 3-D Secure results may still arrive for it.
func waiting(status string) bool { return status == StatusPending || status == StatusRequiresAction }

// approved reports whether the issuer approved the payment and nothing has
// happened to it since: it completes its checkout session and stores its card.
func approved(status string) bool { return status == StatusAuthorized || status == StatusCaptured }

// ended reports whether a payment ended without taking money, so that its
// checkout session may try again.
func ended(status string) bool {
	return status == StatusFailed || status == StatusCancelled || status == StatusExpired
}

// transition moves p to status `to` if the table allows it, and drops what
// only the old status had: the expiry and next action of a waiting payment,
// the authorization's expiry.
func (p *Payment) transition(to, why string, now time.Time) error {
	if err := paymentTransitions.move("payment", &p.Status, &p.History, &p.UpdatedAt, to, why, now); err != nil {
		return err
	}
	if !waiting(to) {
		p.ExpiresAt = nil
		// A next action already "none" (a payment's first move, from its
		// creation) is kept: no NextAction is ever changed in place, so the
		// same value need not be made again.
		if p.NextAction != nil && *p.NextAction != (NextAction{Type: "none"}) {
			p.NextAction = &NextAction{Type: "none"}
		}
	}
	if to != StatusAuthorized {
		p.AuthorizationExpiresAt = nil
	}
	return nil
}

// fail moves p to FAILED with a failure code.
func (p *Payment) fail(code, why string, now time.Time) error {
	if err := p.transition(StatusFailed, why, now); err != nil {
		return err
	}
	p.FailureCode, p.FailureMessage = code, failureMessages[code]
	if p.FailureMessage == "" {
		p.FailureMessage = why
	}
	return nil
}

// canCapture lets capturePayment start: an AUTHORIZED payment is captured
// once, for at most what was authorized.
func canCapture(p *Payment, amount int64) *apierr.Error {
	if p.Status != StatusAuthorized {
		return apierr.New(apierr.Conflict, "payment is %s; only an AUTHORIZED payment can be captured (once)", p.Status).WithCode(CodeStatusConflict)
	}
	if amount > p.Authorized {
		return apierr.Field(apierr.Unprocessable, "captureAmount", "maximum", "exceeds the authorized amount %s", describeAmount(p.Authorized, p.Currency)).WithCode(CodeAmountExceeded)
	}
	return nil
}

// canCancel lets cancelPayment start: whatever the table lets become
// CANCELLED; a captured payment is refunded instead.
func canCancel(p *Payment) *apierr.Error {
	if CanTransition(p.Status, StatusCancelled) {
		return nil
	}
	hint := ""
	if p.Status == StatusCaptured || p.Status == StatusPartiallyRefunded {
		hint = "; refund it instead"
	}
	return apierr.New(apierr.Conflict, "payment is %s; it cannot be cancelled%s", p.Status, hint).WithCode(CodeStatusConflict)
}

// canRefund lets createRefund start: a captured payment, for at most what
// was captured less the refunds that succeeded or are pending.
func canRefund(p *Payment, amount int64) *apierr.Error {
	if p.Status != StatusCaptured && p.Status != StatusPartiallyRefunded {
		hint := ""
		if p.Status == StatusAuthorized {
			hint = "; cancel an uncaptured payment instead"
		}
		return apierr.New(apierr.Conflict, "payment is %s; only a captured payment can be refunded%s", p.Status, hint).WithCode(CodeStatusConflict)
	}
	if left := p.Captured - p.Refunded - p.RefundPending; amount > left {
		return apierr.Field(apierr.Unprocessable, "amount", "maximum", "exceeds the refundable amount %s (captured, less refunds succeeded or pending)",
			describeAmount(left, p.Currency)).WithCode(CodeAmountExceeded)
	}
	return nil
}

// canBuyerAct lets the buyer approve or decline (actAsVMBuyer, the wallet
// page): only a wallet or QR payment waiting for them. A card payment's
// buyer acts on the 3-D Secure challenge instead.
func canBuyerAct(p *Payment) *apierr.Error {
	if p.Method == "card" {
		return apierr.New(apierr.Conflict, "payment %s is a card payment; the buyer acts on the 3-D Secure challenge", p.TradeNo).WithCode(CodeStatusConflict)
	}
	if p.Status != StatusRequiresAction {
		return apierr.New(apierr.Conflict, "payment is %s; the buyer can only act on a payment waiting for them", p.Status).WithCode(CodeStatusConflict)
	}
	return nil
}

// dueToExpire reports whether a waiting payment's expiresAt has passed (the
// expiry timer checks it when it fires: a payment that moved on stays).
func dueToExpire(p *Payment, now time.Time) bool {
	return waiting(p.Status) && p.ExpiresAt != nil && !now.Before(*p.ExpiresAt)
}

// dueForRelease reports whether an uncaptured authorization has reached its
// authorizationExpiresAt.
func dueForRelease(p *Payment, now time.Time) bool {
	return p.Status == StatusAuthorized && p.AuthorizationExpiresAt != nil && !now.Before(*p.AuthorizationExpiresAt)
}

// ---------------------------------------------------------------- token payments

// needsCredential lets createTokenPayment start without a stored card only
// when the customer is present with a card: a merchant-initiated payment
// (customerInitiatedReason), or one without cardNo, names the card stored by
// an earlier customer-initiated payment by its transactionIdentifier.
func needsCredential(transactionIdentifier string, mit, hasCard bool) *apierr.Error {
	if transactionIdentifier == "" && (mit || !hasCard) {
		return apierr.Field(apierr.Missing, "transactionIdentifier", "required",
			"is required for a merchant-initiated payment (customerInitiatedReason) or without cardNo")
	}
	return nil
}

// canCharge lets a token payment charge the stored card c (nil: no card is
// stored under the identifier): the card must be the merchant's, in the
// token's environment; the same card when cardNo is sent (fingerprint, ""
// when not); and a merchant-initiated payment must claim the reason the card
// was stored for.
func canCharge(c *Credential, tok Token, fingerprint string, mit bool, reason string) *apierr.Error {
	invalid := func(format string, args ...any) *apierr.Error {
		return apierr.Field(apierr.Unprocessable, "transactionIdentifier", "credential", format, args...).WithCode(CodeInvalidTransactionIdentifier)
	}
	switch {
	case c == nil || c.MerchantID != tok.MerchantID || c.Environment != tok.Environment:
		return invalid("does not belong to a stored card of this merchant")
	case fingerprint != "" && fingerprint != c.CardFingerprint:
		return invalid("was issued for another card")
	case mit && c.CustomerInitiatedReason != "" && c.CustomerInitiatedReason != reason:
		return invalid("the card was stored for %s payments, not %s", c.CustomerInitiatedReason, reason)
	}
	return nil
}

// ---------------------------------------------------------------- refunds

// Refund statuses (RefundStatus).
const (
	RefundPending   = "PENDING"
	RefundSucceeded = "SUCCEEDED"
	RefundFailed    = "FAILED"
)

// refundTransitions is the refund's table: accepted PENDING, settled by the
// processor (or the admin API) once.
var refundTransitions = table{
	"":            {RefundPending, RefundSucceeded, RefundFailed},
	RefundPending: {RefundSucceeded, RefundFailed},
}

// CanRefundTransition reports whether a refund may move from one status to
// another.
func CanRefundTransition(from, to string) bool { return refundTransitions.allows(from, to) }

func (r *Refund) transition(to, why string, now time.Time) error {
	return refundTransitions.move("refund", &r.Status, &r.History, &r.UpdatedAt, to, why, now)
}

// ---------------------------------------------------------------- checkout sessions

// Checkout session statuses.
const (
	SessionOpen      = "OPEN"
	SessionCompleted = "COMPLETED"
	SessionExpired   = "EXPIRED"
)

// sessionTransitions is the checkout session's table: OPEN until a payment
// of it is approved or expiresAt passes.
var sessionTransitions = table{
	SessionOpen: {SessionCompleted, SessionExpired},
}

func (s *Session) transition(to, why string, now time.Time) error {
	return sessionTransitions.move("session", &s.Status, &s.History, &s.UpdatedAt, to, why, now)
}

// open reports whether the cashier still takes payments: the session is OPEN
// and its expiresAt has not passed (the expiry timer may not have fired yet).
func (s *Session) open(now time.Time) bool { return s.Status == SessionOpen && now.Before(s.ExpiresAt) }

// errAttemptRunning refuses a second cashier payment while one is running.
var errAttemptRunning = errors.New("a payment of this session is already in progress")

// canAttempt lets the cashier start a payment of the session: it is open,
// and its previous attempt (prev, nil when there is none or it is gone)
// ended without taking money.
func canAttempt(ss *Session, prev *Payment, now time.Time) error {
	if !ss.open(now) {
		return fmt.Errorf("the session is %s", ss.Status)
	}
	if prev != nil && !ended(prev.Status) {
		return errAttemptRunning
	}
	return nil
}

// ---------------------------------------------------------------- shipment tracking

// shippingTransitions is the tracking record's table of shippingStatus
// (TrackingRecord); DELIVERED and CANCELLED are final.
var shippingTransitions = table{
	"SHIPPED":      {"ON_HOLD", "DELIVERED", "CANCELLED"},
	"ON_HOLD":      {"SHIPPED", "DELIVERED", "CANCELLED"},
	"LOCAL_PICKUP": {"DELIVERED", "CANCELLED"},
}

// canShip lets addTracking (and each item of batchAddTracking) start: only
// an authorized or captured order ships.
func canShip(p *Payment) *apierr.Error {
	switch p.Status {
	case StatusAuthorized, StatusCaptured, StatusPartiallyRefunded:
		return nil
	}
	return apierr.Field(apierr.Conflict, "orderNo", "status", "the payment is %s; only an authorized or captured order ships", p.Status).WithCode(CodeStatusConflict)
}

// canUpdateTracking lets updateTracking start: a record whose shippingStatus
// is final no longer changes.
func canUpdateTracking(t *Tracking) *apierr.Error {
	if shippingTransitions.final(t.ShippingStatus) {
		return apierr.Field(apierr.Conflict, "iterms[0].path", "status", "shippingStatus %s is final: the record no longer changes", t.ShippingStatus).WithCode(CodeStatusConflict)
	}
	return nil
}

// moveShipping applies item i's new shippingStatus if the table allows it.
func moveShipping(t *Tracking, i int, to string) *apierr.Error {
	if to == t.ShippingStatus {
		return nil
	}
	if !shippingTransitions.allows(t.ShippingStatus, to) {
		return apierr.Field(apierr.Conflict, fmt.Sprintf("iterms[%d].value", i), "transition", "shippingStatus cannot change from %s to %s", t.ShippingStatus, to).WithCode(CodeStatusConflict)
	}
	t.ShippingStatus = to
	return nil
}
