package vmgateway

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/pspsim/pspsim/simulator/jobs"
	"github.com/pspsim/pspsim/simulator/journal"

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
	s.afterChange(ctx, before, &p)
	return p, nil
}

// afterChange does what follows a payment's status change. It reads p (a
// payment of some 600 bytes, which it and what it calls took by value: a
// copy each) and changes nothing in it.
func (s *System) afterChange(ctx context.Context, before string, p *Payment) {
	if before == p.Status {
		return
	}
	last := Transition{To: p.Status}
	if n := len(p.History); n > 0 {
		last = p.History[n-1]
	}
	// The data and ids go to the journal as lists, kept as the maps of the
	// same entries would be (journal.Field): a payment's creation records
	// this event, and the maps cost a dozen allocations.
	var fields [16]journal.Field
	data := append(fields[:0], journal.String("from", before), journal.String("to", p.Status), journal.String("why", last.Why),
		journal.String("environment", p.Environment))
	if before == "" {
		// The payment's first status is its creation: say what was created.
		data = append(data, journal.String("method", p.Method), journal.String("amount", formatAmount(p.Amount, p.Currency)),
			journal.String("currency", p.Currency))
		if p.MaskedCardNo != "" {
			data = append(data, journal.String("maskedCardNo", p.MaskedCardNo))
		}
		if p.StoreCard {
			data = append(data, journal.String("storedcredentials", "store"))
		}
		if p.CustomerInitiatedReason != "" {
			data = append(data, journal.String("customerInitiatedReason", p.CustomerInitiatedReason))
		}
		if p.MerchantInitiated {
			data = append(data, journal.String("initiator", "merchant"))
		}
		if p.ThreeDS != nil {
			data = append(data, journal.String("threeDsMode", p.ThreeDS.Mode))
		}
		if p.FraudMode != "" {
			data = append(data, journal.String("fraudMode", p.FraudMode))
		}
	}
	if p.FailureCode != "" {
		data = append(data, journal.String("failureCode", p.FailureCode))
	}
	var idList [5]journal.ID
	ids := append(idList[:0], journal.ID{Name: "orderNo", Value: p.OrderNo}, journal.ID{Name: "tradeNo", Value: p.TradeNo},
		journal.ID{Name: "merchant", Value: p.MerchantID}, journal.ID{Name: "appId", Value: p.AppID})
	if p.ThreeDS != nil && p.ThreeDS.DSTransID != "" {
		data = append(data, journal.String("dsTransId", p.ThreeDS.DSTransID))
		ids = append(ids, journal.ID{Name: "dsTransId", Value: p.ThreeDS.DSTransID})
	}
	s.env.Journal.RecordFields(journal.Event{System: Name, Kind: "payment.status_changed",
		Message: "payment " + p.TradeNo + ": " + orString(before, "new") + " → " + p.Status + " (" + last.Why + ")"}, ids, data)
	if p.StoreCard && p.TransactionIdentifier != "" && approved(p.Status) {
		s.storeCredential(ctx, *p)
	}
	if p.SessionID != "" {
		s.sessionFollows(ctx, *p)
	}
	s.schedule(ctx, p)
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

// The gateway's jobs (env.Jobs): each handler re-reads its object under
// its lock and does nothing when the object has moved on, so a stale job
// (a payment captured before its authorization's release, a replica's
// repeat after a crash) is harmless.
const (
	jobExpirePayment = "vmgateway.payment.expire"
	jobRelease       = "vmgateway.payment.release"
	jobSettleRefund  = "vmgateway.refund.settle"
	jobExpireSession = "vmgateway.session.expire"
)

// handleJobs registers the gateway's job handlers (before anything is
// scheduled: the fixtures schedule too).
func (s *System) handleJobs() {
	s.env.Jobs.Handle(jobExpirePayment, func(_ context.Context, j jobs.Job) { s.expirePayment(j.Key) })
	s.env.Jobs.Handle(jobRelease, func(_ context.Context, j jobs.Job) { s.releaseAuthorization(j.Key) })
	s.env.Jobs.Handle(jobSettleRefund, func(_ context.Context, j jobs.Job) {
		s.settleRefund(timerCtx(), j.Key, RefundSucceeded, "", "settled by the processor")
	})
	s.env.Jobs.Handle(jobExpireSession, func(_ context.Context, j jobs.Job) { s.expireSession(j.Key) })
	s.env.Sender.OnResume(resumeWebhook, s.resume)
}

// later schedules one of the gateway's jobs; a job that cannot be stored
// is logged (the object then waits for an inquiry or a reset).
func (s *System) later(ctx context.Context, kind, key string, due time.Time) {
	if err := s.env.Jobs.Schedule(context.WithoutCancel(ctx), jobs.Job{Kind: kind, Key: key, Due: due}); err != nil {
		s.env.Log.Error("vmgateway: job not scheduled", "kind", kind, "key", key, "err", err)
	}
}

// schedule sets the jobs a payment's status needs. The handlers check the
// stored deadline when they run, so a stale job (a reset, a payment that
// moved on) does nothing.
func (s *System) schedule(ctx context.Context, p *Payment) {
	switch {
	case waiting(p.Status) && p.ExpiresAt != nil:
		s.later(ctx, jobExpirePayment, p.TradeNo, *p.ExpiresAt)
	case p.Status == StatusAuthorized && p.AuthorizationExpiresAt != nil:
		s.later(ctx, jobRelease, p.TradeNo, *p.AuthorizationExpiresAt)
	}
}

// timerKey marks work done by a clock timer (timerCtx): its deliveries make
// their first attempt synchronously, so retries are scheduled before the
// clock moves on.
type timerKey struct{}

func timerCtx() context.Context { return context.WithValue(context.Background(), timerKey{}, true) }

func inTimer(ctx context.Context) bool {
	v, _ := ctx.Value(timerKey{}).(bool)
	return v || threeds.InTimer(ctx)
}

// expirePayment ends a payment the customer did not finish in time.
func (s *System) expirePayment(tradeNo string) {
	s.updatePayment(timerCtx(), tradeNo, func(p *Payment, now time.Time) error {
		if !dueToExpire(p, now) {
			return errLate
		}
		return p.transition(StatusExpired, "the customer did not finish before expiresAt", now)
	})
}

// releaseAuthorization expires an authorization nobody captured in time.
func (s *System) releaseAuthorization(tradeNo string) {
	s.updatePayment(timerCtx(), tradeNo, func(p *Payment, now time.Time) error {
		if !dueForRelease(p, now) {
			return errLate
		}
		return p.transition(StatusExpired, "the uncaptured authorization was released", now)
	})
}

// --------------------------------------------------------------- finding payments

// findPayment resolves orderNo and/or tradeNo to a payment of the caller's
// merchant and environment.
//
// Only the store's ErrNotFound is "no payment": a lookup the store did not
// answer is 503 (unanswered), which the merchant may retry.
func (s *System) findPayment(ctx context.Context, tok Token, orderNo, tradeNo string) (Payment, *apierr.Error) {
	if orderNo == "" && tradeNo == "" {
		return Payment{}, apierr.Field(apierr.Missing, "orderNo", "required", "orderNo: orderNo or tradeNo is required")
	}
	var p Payment
	if tradeNo != "" {
		var err error
		p, err = s.payments.Get(ctx, tradeNo)
		if e := unanswered(err); e != nil {
			return Payment{}, e
		}
		if err != nil || p.MerchantID != tok.MerchantID || p.Environment != tok.Environment {
			return Payment{}, apierr.Field(apierr.NotFound, "tradeNo", "exists", "no payment of this merchant has this tradeNo")
		}
		if orderNo != "" && p.OrderNo != orderNo {
			return Payment{}, apierr.Field(apierr.NotFound, "tradeNo", "match", "orderNo and tradeNo name different payments")
		}
		return p, nil
	}
	claim, err := s.orders.Get(ctx, orderKey(tok.MerchantID, tok.Environment, orderNo))
	if e := unanswered(err); e != nil {
		return Payment{}, e
	}
	if err != nil {
		return Payment{}, apierr.Field(apierr.NotFound, "orderNo", "exists", "no payment of this merchant has this orderNo")
	}
	ref := claim.Ref
	if claim.Kind == "session" {
		ss, err := s.sessions.Get(ctx, claim.Ref)
		if e := unanswered(err); e != nil {
			return Payment{}, e
		}
		if err != nil || ss.TradeNo == "" {
			return Payment{}, apierr.Field(apierr.NotFound, "orderNo", "exists", "the checkout session of this orderNo has no payment yet")
		}
		ref = ss.TradeNo
	}
	if p, err = s.payments.Get(ctx, ref); err != nil {
		if e := unanswered(err); e != nil {
			return Payment{}, e
		}
		return Payment{}, apierr.Field(apierr.NotFound, "orderNo", "exists", "no payment of this merchant has this orderNo")
	}
	return p, nil
}

// unanswered is the answer to a lookup the store did not answer: the error
// as the envelope renders it (Unavailable, 503). nil when err is nil or the
// store's ErrNotFound, which each caller answers as it always did.
func unanswered(err error) *apierr.Error {
	if err == nil || errors.Is(err, store.ErrNotFound) {
		return nil
	}
	return apierr.Wrap(err)
}

// --------------------------------------------------------------- inquiry, capture, cancel

// paymentRef is how an operation names a payment: by the merchant's orderNo,
// the gateway's tradeNo, or both. Operation inputs embed it.
type paymentRef struct {
	OrderNo string `json:"orderNo"`
	TradeNo string `json:"tradeNo"`
}

func (p paymentRef) ref() paymentRef { return p }

// The bodies of the operations on one payment name it by its fields of
// their own, not by embedding paymentRef: the decoder that reads a body from
// the validator's parse (openapi.Request.Decode) does not promote embedded
// fields, and a body it declines is parsed a second time by json.Unmarshal
// (TestRequestBodiesDecodeFromTheParse).

type inquiryIn struct {
	OrderNo           string `json:"orderNo"`
	TradeNo           string `json:"tradeNo"`
	PaymentMethodType string `json:"paymentMethodType"`
}

func (in *inquiryIn) ref() paymentRef { return paymentRef{OrderNo: in.OrderNo, TradeNo: in.TradeNo} }

type captureIn struct {
	OrderNo       string `json:"orderNo"`
	TradeNo       string `json:"tradeNo"`
	CaptureAmount string `json:"captureAmount"`
}

func (in *captureIn) ref() paymentRef { return paymentRef{OrderNo: in.OrderNo, TradeNo: in.TradeNo} }

type cancelIn struct {
	OrderNo string `json:"orderNo"`
	TradeNo string `json:"tradeNo"`
	Reason  string `json:"reason"`
}

func (in *cancelIn) ref() paymentRef { return paymentRef{OrderNo: in.OrderNo, TradeNo: in.TradeNo} }

type refundIn struct {
	OrderNo         string `json:"orderNo"`
	TradeNo         string `json:"tradeNo"`
	Amount          string `json:"amount"`
	ClientIP        string `json:"clientIp"`
	NotificationURL string `json:"notificationUrl"`
	Reason          string `json:"reason"`
	RefundNumber    string `json:"refundNumber"`
}

func (in *refundIn) ref() paymentRef { return paymentRef{OrderNo: in.OrderNo, TradeNo: in.TradeNo} }

// paymentRequest is the common start of the operations on one payment:
// authenticate the caller, decode the body into in, find the payment it names
// and note its ids for the journal.
func (s *System) paymentRequest(r *http.Request, in interface{ ref() paymentRef }) (Token, Payment, error) {
	tok, _, err := s.request(r, in)
	if err != nil {
		return Token{}, Payment{}, err
	}
	ref := in.ref()
	note(r.Context(), "orderNo", ref.OrderNo, "tradeNo", ref.TradeNo)
	p, aerr := s.findPayment(r.Context(), tok, ref.OrderNo, ref.TradeNo)
	if aerr != nil {
		return Token{}, Payment{}, aerr
	}
	note(r.Context(), "tradeNo", p.TradeNo, "orderNo", p.OrderNo)
	return tok, p, nil
}

// inquirePayment answers a payment of the caller, found by orderNo and/or
// tradeNo.
func (s *System) inquirePayment(w http.ResponseWriter, r *http.Request) error {
	var in inquiryIn
	_, p, err := s.paymentRequest(r, &in)
	if err != nil {
		return err
	}
	if aerr := sameMethod(in.PaymentMethodType, p); aerr != nil {
		return aerr
	}
	s.writePayment(w, http.StatusOK, &p)
	return nil
}

// sameMethod refuses an inquiry that names another paymentMethodType than
// the payment's (an empty one names any).
func sameMethod(method string, p Payment) *apierr.Error {
	if method != "" && method != p.Method {
		return apierr.Field(apierr.NotFound, "paymentMethodType", "match", "the payment was made with another method")
	}
	return nil
}

// changePayment is the shape of the operations that move one payment
// (capturePayment, cancelPayment): find the payment the body names, apply
// change under the payment's lock, answer the payment.
func (s *System) changePayment(w http.ResponseWriter, r *http.Request, in interface{ ref() paymentRef }, change func(p *Payment, now time.Time) error) error {
	_, p, err := s.paymentRequest(r, in)
	if err != nil {
		return err
	}
	if p, err = s.updatePayment(r.Context(), p.TradeNo, change); err != nil {
		return err
	}
	s.writePayment(w, http.StatusOK, &p)
	return nil
}

// capturePayment captures an AUTHORIZED payment once, fully or partly; the
// rest of the authorization is released.
func (s *System) capturePayment(w http.ResponseWriter, r *http.Request) error {
	var in captureIn
	return s.changePayment(w, r, &in, func(p *Payment, now time.Time) error {
		amount, aerr := parseAmount(in.CaptureAmount, p.Currency, "captureAmount", true)
		if aerr != nil {
			return aerr
		}
		if aerr := canCapture(p, amount); aerr != nil {
			return aerr
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
}

// cancelPayment voids a payment that is not captured (beyond the seed).
func (s *System) cancelPayment(w http.ResponseWriter, r *http.Request) error {
	var in cancelIn
	return s.changePayment(w, r, &in, func(p *Payment, now time.Time) error {
		if aerr := canCancel(p); aerr != nil {
			return aerr
		}
		p.CancelReason = in.Reason
		return p.transition(StatusCancelled, "cancelled by the merchant", now)
	})
}
