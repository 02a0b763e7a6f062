package codepay

import (
	"context"
	"fmt"

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
		if _, err := a.Service.Bind(ctx, threeds.Binding{
			DSTransID: r.DSTransID, AuthenticationValue: r.AuthenticationValue, ECI: r.ECI,
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
