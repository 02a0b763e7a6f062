package codepay

import (
	"context"
	"fmt"

	"github.com/pspsim/pspsim/simulator/store"
	"github.com/pspsim/pspsim/simulator/threeds"
)

// ServiceThreeDS adapts the shared 3-D Secure simulator (simulator/threeds,
// also used by the card gateway) to CodePay's ThreeDS view. An authenticated
// result (Y or A) is bound at once to CodePay's trans_no, the authorization
// that follows it, so its CAVV cannot back any other authorization.
type ServiceThreeDS struct{ Service *threeds.Service }

// Authenticate implements ThreeDS.
func (a ServiceThreeDS) Authenticate(ctx context.Context, in ThreeDSRequest, done func(ThreeDSResult)) (ThreeDSResult, error) {
	req := threeds.Request{
		System: in.System, MerchantID: in.MerchantID, MerchantName: in.MerchantID, Reference: in.Reference,
		CardNumber: in.PAN, Amount: in.Amount, Currency: in.Currency, ReturnURL: in.ReturnURL,
		JournalIDs: map[string]string{"trans_no": in.Reference, "merchant_no": in.MerchantID},
	}
	if done != nil {
		req.OnComplete = func(ctx context.Context, r threeds.Result) {
			out := a.result(ctx, r, in)
			done(out)
		}
		// Without this process's closure (a restart, another replica), the
		// result reaches the order through its trans_no (handleThreeDS).
		req.Notify, req.NotifyData = notifyPayment, []byte(in.Reference)
	}
	r, err := a.Service.Authenticate(ctx, req)
	if err != nil {
		return ThreeDSResult{}, fmt.Errorf("3-D Secure authentication: %w", err)
	}
	return a.result(ctx, r, in), nil
}

// result maps the simulator's result to the outcome CodePay acts on.
func (a ServiceThreeDS) result(ctx context.Context, r threeds.Result, in ThreeDSRequest) ThreeDSResult {
	out := ThreeDSResult{
		TransStatus: r.TransStatus, ReasonCode: r.TransStatusReason, ECI: r.ECI,
		CAVV: r.AuthenticationValue, DSTransID: r.DSTransID, ACSTransID: r.ACSTransID, ChallengeURL: r.ChallengeURL,
	}
	switch {
	case r.Flow == threeds.FlowDSError:
		out.Outcome, out.Retryable = ThreeDSError, true
	case r.Flow == threeds.FlowNotEnrolled:
		out.Outcome = ThreeDSNotEnrolled
	case !r.Final && r.TransStatus == "D":
		out.Outcome = ThreeDSDecoupled
	case !r.Final:
		out.Outcome = ThreeDSChallenge
	case r.TransStatus == "Y" || r.TransStatus == "A":
		out.Outcome = ThreeDSAuthenticated
		// Bound by the authentication's own id (and its dsTransID, which
		// Bind checks belongs to it), with the order's merchant, trans_no,
		// amount and currency. The card number is checked when CodePay has
		// it (in the request that authenticates, or the closure of that
		// request); a result resumed from the store has none, since CodePay
		// keeps no card number at rest (resumeAuthentication).
		if _, err := a.Service.Bind(ctx, threeds.Binding{
			ThreeDSServerTransID: r.ThreeDSServerTransID,
			DSTransID:            r.DSTransID, AuthenticationValue: r.AuthenticationValue, ECI: r.ECI,
			MerchantID: in.MerchantID, Reference: in.Reference, Amount: in.Amount, Currency: in.Currency, CardNumber: in.PAN,
		}); err != nil {
			// The result was made for exactly this payment a moment ago: a
			// refusal means the simulator is inconsistent; fail safe.
			out.Outcome, out.ReasonCode = ThreeDSFailed, "bind"
		}
	case r.TransStatus == "R":
		out.Outcome = ThreeDSRejected
	case r.TransStatus == "U":
		out.Outcome = ThreeDSUnavailable
	default:
		out.Outcome = ThreeDSFailed
	}
	return out
}

// notifyPayment names CodePay's 3-D Secure completion
// (threeds.Request.Notify); its data is the order's trans_no.
const notifyPayment = Name + ".payment"

// handleThreeDS registers CodePay's named 3-D Secure completion on the
// simulator's shared service, when there is one: the result of a challenge
// or decoupled authentication then reaches its order after a restart on a
// durable store, or when another replica ends it, where the closure
// Authenticate gave the service does not exist.
func (s *System) handleThreeDS() {
	svc := s.env.ThreeDS
	if svc == nil {
		return
	}
	svc.OnNotify(notifyPayment, func(ctx context.Context, data []byte, r threeds.Result) {
		s.resumeAuthentication(ctx, svc, string(data), r)
	})
}

// resumeAuthentication hands a final result to the order transNo that waits
// for it, as the closure of the request that authenticated would, but
// without the card number: that closure kept it in memory, and CodePay
// stores none (no card data at rest).
//
// The binding stays as strict without it. The result is bound by the
// authentication's own id, which Bind checks names the result's dsTransID;
// that authentication's Reference (checked by Bind) is this trans_no, and
// its notification, stored with it when CodePay asked for it, names this
// order; and the order itself must be waiting for this very dsTransID
// (checked here). So the authentication is the one CodePay started for this
// order, with this order's card: its card fingerprint is the order's card
// by construction, and a card number presented now could only repeat it.
// Merchant, amount and currency are the order's stored values.
func (s *System) resumeAuthentication(ctx context.Context, svc *threeds.Service, transNo string, r threeds.Result) {
	var t Txn
	err := store.Retry(ctx, func() (err error) { t, err = s.txns.Get(ctx, transNo); return err })
	if err != nil && !isNotFound(err) {
		s.unresolved(transNo, r.DSTransID, err)
		return
	}
	if err != nil || t.ThreeDS == nil || t.ThreeDS.DSTransID == "" || t.ThreeDS.DSTransID != r.DSTransID {
		s.env.Record(Name, "order.3ds_orphaned", "a 3-D Secure result arrived for no order waiting for it",
			map[string]string{"trans_no": transNo, "dsTransId": r.DSTransID}, nil)
		return
	}
	in := ThreeDSRequest{System: Name, Reference: t.TransNo, MerchantID: t.MerchantNo, Amount: t.Amount, Currency: t.Currency}
	s.completeAuthentication(transNo, ServiceThreeDS{Service: svc}.result(ctx, r, in))
}
