package vmgateway

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/pspsim/pspsim/simulator/apierr"
	"github.com/pspsim/pspsim/simulator/store"
	"github.com/pspsim/pspsim/simulator/threeds"
)

// updatePayment changes one payment under its lock and, when its status
// changed, journals the change, sends the webhook event and schedules what
// the new status needs (expiry, authorization release).
func (s *System) updatePayment(ctx context.Context, tradeNo string, fn func(p *Payment, now time.Time) error) (Payment, error) {
	before := ""
	p, err := s.payments.Update(ctx, tradeNo, func(p *Payment) error {
		before = p.Status
		return fn(p, s.now())
	})
	if err != nil {
		return p, err
	}
	s.afterChange(ctx, before, p)
	return p, nil
}

// afterChange does what follows a payment's status change.
func (s *System) afterChange(ctx context.Context, before string, p Payment) {
	if before == p.Status {
		return
	}
	last := Transition{To: p.Status}
	if n := len(p.History); n > 0 {
		last = p.History[n-1]
	}
	data := map[string]any{"from": before, "to": p.Status, "why": last.Why, "environment": p.Environment}
	if before == "" {
		// The payment's first status is its creation: say what was created.
		data["method"], data["amount"], data["currency"] = p.Method, formatAmount(p.Amount, p.Currency), p.Currency
		if p.MaskedCardNo != "" {
			data["maskedCardNo"] = p.MaskedCardNo
		}
		if p.StoreCard {
			data["storedcredentials"] = "store"
		}
		if p.CustomerInitiatedReason != "" {
			data["customerInitiatedReason"] = p.CustomerInitiatedReason
		}
		if p.MerchantInitiated {
			data["initiator"] = "merchant"
		}
		if p.ThreeDS != nil {
			data["threeDsMode"] = p.ThreeDS.Mode
		}
		if p.FraudMode != "" {
			data["fraudMode"] = p.FraudMode
		}
	}
	if p.FailureCode != "" {
		data["failureCode"] = p.FailureCode
	}
	if p.ThreeDS != nil && p.ThreeDS.DSTransID != "" {
		data["dsTransId"] = p.ThreeDS.DSTransID
	}
	ids := s.paymentIDs(p)
	if p.ThreeDS != nil && p.ThreeDS.DSTransID != "" {
		ids["dsTransId"] = p.ThreeDS.DSTransID
	}
	s.env.Record(Name, "payment.status_changed", fmt.Sprintf("payment %s: %s → %s (%s)", p.TradeNo, orString(before, "new"), p.Status, last.Why), ids, data)
	if p.StoreCard && p.TransactionIdentifier != "" && (p.Status == StatusAuthorized || p.Status == StatusCaptured) {
		s.storeCredential(ctx, p)
	}
	if p.SessionID != "" {
		s.sessionFollows(ctx, p)
	}
	s.schedule(p)
	s.publishPayment(ctx, p)
}

// storeCredential keeps the card of an approved payment for later token
// payments, under the payment's transactionIdentifier.
func (s *System) storeCredential(ctx context.Context, p Payment) {
	c := Credential{
		TransactionIdentifier: p.TransactionIdentifier, MerchantID: p.MerchantID, Environment: p.Environment,
		CardFingerprint: p.CardFingerprint, CardBrand: p.CardBrand, MaskedCardNo: p.MaskedCardNo, CardNN: p.CardNN,
		Currency: p.Currency, CustomerInitiatedReason: p.CustomerInitiatedReason, TradeNo: p.TradeNo, CreatedAt: s.now(),
	}
	if err := s.creds.Create(ctx, c.TransactionIdentifier, c); err != nil && !errors.Is(err, store.ErrExists) {
		s.env.Log.Error("vmgateway: store credential", "err", err)
		return
	}
	s.env.Record(Name, "credential.stored", "card "+p.MaskedCardNo+" stored for merchant-initiated payments",
		map[string]string{"tradeNo": p.TradeNo, "orderNo": p.OrderNo, "transactionIdentifier": c.TransactionIdentifier}, map[string]any{"customerInitiatedReason": c.CustomerInitiatedReason})
}

// schedule sets the clock timers a payment's status needs. The timers check
// the stored deadline when they fire, so a stale timer (a reset, a payment
// that moved on) does nothing.
func (s *System) schedule(p Payment) {
	now := s.now()
	switch {
	case (p.Status == StatusPending || p.Status == StatusRequiresAction) && p.ExpiresAt != nil:
		tradeNo := p.TradeNo
		s.env.Clock.AfterFunc(p.ExpiresAt.Sub(now), func() { s.expirePayment(tradeNo) })
	case p.Status == StatusAuthorized && p.AuthorizationExpiresAt != nil:
		tradeNo := p.TradeNo
		s.env.Clock.AfterFunc(p.AuthorizationExpiresAt.Sub(now), func() { s.releaseAuthorization(tradeNo) })
	}
}

// timerCtx marks work done by a clock timer: its deliveries make their first
// attempt synchronously, so retries are scheduled before the clock moves on.
type timerKey struct{}

func timerCtx() context.Context { return context.WithValue(context.Background(), timerKey{}, true) }

func inTimer(ctx context.Context) bool {
	v, _ := ctx.Value(timerKey{}).(bool)
	return v || threeds.InTimer(ctx)
}

func (s *System) expirePayment(tradeNo string) {
	s.updatePayment(timerCtx(), tradeNo, func(p *Payment, now time.Time) error {
		if (p.Status != StatusPending && p.Status != StatusRequiresAction) || p.ExpiresAt == nil || now.Before(*p.ExpiresAt) {
			return errLate
		}
		return p.transition(StatusExpired, "the customer did not finish before expiresAt", now)
	})
}

func (s *System) releaseAuthorization(tradeNo string) {
	s.updatePayment(timerCtx(), tradeNo, func(p *Payment, now time.Time) error {
		if p.Status != StatusAuthorized || p.AuthorizationExpiresAt == nil || now.Before(*p.AuthorizationExpiresAt) {
			return errLate
		}
		return p.transition(StatusExpired, "the uncaptured authorization was released", now)
	})
}

// --------------------------------------------------------------- finding payments

// findPayment resolves orderNo and/or tradeNo to a payment of the caller's
// merchant and environment.
func (s *System) findPayment(ctx context.Context, tok Token, orderNo, tradeNo string) (Payment, *apierr.Error) {
	if orderNo == "" && tradeNo == "" {
		return Payment{}, apierr.Field(apierr.Missing, "orderNo", "required", "orderNo: orderNo or tradeNo is required")
	}
	var p Payment
	if tradeNo != "" {
		var err error
		p, err = s.payments.Get(ctx, tradeNo)
		if err != nil || p.MerchantID != tok.MerchantID || p.Environment != tok.Environment {
			return Payment{}, apierr.Field(apierr.NotFound, "tradeNo", "exists", "tradeNo: no payment of this merchant has this tradeNo")
		}
		if orderNo != "" && p.OrderNo != orderNo {
			return Payment{}, apierr.Field(apierr.NotFound, "tradeNo", "match", "tradeNo: orderNo and tradeNo name different payments")
		}
		return p, nil
	}
	claim, err := s.orders.Get(ctx, orderKey(tok.MerchantID, tok.Environment, orderNo))
	if err != nil {
		return Payment{}, apierr.Field(apierr.NotFound, "orderNo", "exists", "orderNo: no payment of this merchant has this orderNo")
	}
	ref := claim.Ref
	if claim.Kind == "session" {
		ss, err := s.sessions.Get(ctx, claim.Ref)
		if err != nil || ss.TradeNo == "" {
			return Payment{}, apierr.Field(apierr.NotFound, "orderNo", "exists", "orderNo: the checkout session of this orderNo has no payment yet")
		}
		ref = ss.TradeNo
	}
	if p, err = s.payments.Get(ctx, ref); err != nil {
		return Payment{}, apierr.Field(apierr.NotFound, "orderNo", "exists", "orderNo: no payment of this merchant has this orderNo")
	}
	return p, nil
}

// --------------------------------------------------------------- inquiry, capture, cancel

// paymentRef is how an operation names a payment: by the merchant's orderNo,
// the gateway's tradeNo, or both. Operation inputs embed it.
type paymentRef struct {
	OrderNo string `json:"orderNo"`
	TradeNo string `json:"tradeNo"`
}

func (p paymentRef) ref() paymentRef { return p }

// paymentRequest is the common start of the operations on one payment:
// authenticate the caller, decode the body into in, find the payment it names
// and note its ids for the journal. When it returns false it has answered.
func (s *System) paymentRequest(w http.ResponseWriter, r *http.Request, in interface{ ref() paymentRef }) (Token, Payment, bool) {
	tok, _, ok := s.caller(w, r)
	if !ok || !s.decode(w, r, in) {
		return Token{}, Payment{}, false
	}
	ref := in.ref()
	note(r.Context(), "orderNo", ref.OrderNo, "tradeNo", ref.TradeNo)
	p, aerr := s.findPayment(r.Context(), tok, ref.OrderNo, ref.TradeNo)
	if aerr != nil {
		s.fail(w, r, aerr)
		return Token{}, Payment{}, false
	}
	note(r.Context(), "tradeNo", p.TradeNo, "orderNo", p.OrderNo)
	return tok, p, true
}

func (s *System) inquirePayment(w http.ResponseWriter, r *http.Request) {
	var in struct {
		paymentRef
		PaymentMethodType string `json:"paymentMethodType"`
	}
	_, p, ok := s.paymentRequest(w, r, &in)
	if !ok {
		return
	}
	if in.PaymentMethodType != "" && in.PaymentMethodType != p.Method {
		s.fail(w, r, apierr.Field(apierr.NotFound, "paymentMethodType", "match", "paymentMethodType: the payment was made with another method"))
		return
	}
	WriteJSON(w, http.StatusOK, viewPayment(p))
}

// capturePayment captures an AUTHORIZED payment once, fully or partly; the
// rest of the authorization is released.
func (s *System) capturePayment(w http.ResponseWriter, r *http.Request) {
	var in struct {
		paymentRef
		CaptureAmount string `json:"captureAmount"`
	}
	_, p, ok := s.paymentRequest(w, r, &in)
	if !ok {
		return
	}
	amount, aerr := parseAmount(in.CaptureAmount, p.Currency, "captureAmount", true)
	if aerr != nil {
		s.fail(w, r, aerr)
		return
	}
	p, err := s.updatePayment(r.Context(), p.TradeNo, func(p *Payment, now time.Time) error {
		if p.Status != StatusAuthorized {
			return apierr.New(apierr.Conflict, "payment is %s; only an AUTHORIZED payment can be captured (once)", p.Status).WithCode(CodeStatusConflict)
		}
		if amount > p.Authorized {
			return apierr.Field(apierr.Unprocessable, "captureAmount", "maximum", "captureAmount: exceeds the authorized amount %s", describeAmount(p.Authorized, p.Currency)).WithCode(CodeAmountExceeded)
		}
		why := "captured in full"
		if amount < p.Authorized {
			why = "captured in part; the rest of the authorization is released"
		}
		if err := p.transition(StatusCaptured, why, now); err != nil {
			return err
		}
		p.Captured = amount
		return nil
	})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	WriteJSON(w, http.StatusOK, viewPayment(p))
}

// cancelPayment voids a payment that is not captured (beyond the seed).
func (s *System) cancelPayment(w http.ResponseWriter, r *http.Request) {
	var in struct {
		paymentRef
		Reason string `json:"reason"`
	}
	_, p, ok := s.paymentRequest(w, r, &in)
	if !ok {
		return
	}
	p, err := s.updatePayment(r.Context(), p.TradeNo, func(p *Payment, now time.Time) error {
		if !CanTransition(p.Status, StatusCancelled) {
			hint := ""
			if p.Status == StatusCaptured || p.Status == StatusPartiallyRefunded {
				hint = "; refund it instead"
			}
			return apierr.New(apierr.Conflict, "payment is %s; it cannot be cancelled%s", p.Status, hint).WithCode(CodeStatusConflict)
		}
		p.CancelReason = in.Reason
		return p.transition(StatusCancelled, "cancelled by the merchant", now)
	})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	WriteJSON(w, http.StatusOK, viewPayment(p))
}
