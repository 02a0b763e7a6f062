package codepay

import "context"

// ThreeDS is the narrow view CodePay's online card payments (merchant-hosted
// and hosted checkout) have of 3-D Secure. The directory server / ACS
// simulator lives in simulator/threeds, shared with the card gateway; an
// adapter to it is wired in by the simulator (Options.ThreeDS or
// SetThreeDS). CodePay holds no 3-D Secure logic of its own: it asks, and
// acts on every outcome.
type ThreeDS interface {
	// Authenticate starts the authentication of a card for an amount.
	//
	// The immediate result is final for every outcome except Challenge and
	// Decoupled: then done is called exactly once later (from any goroutine,
	// possibly inside a clock advance) with the final result of the
	// challenge (Y, N, or U when abandoned or timed out) or of the decoupled
	// authentication. For every other outcome done is never called.
	//
	// An error means 3-D Secure could not be reached at all; CodePay answers
	// it as a retryable system error (50000) and creates no order.
	Authenticate(ctx context.Context, in ThreeDSRequest, done func(ThreeDSResult)) (ThreeDSResult, error)
}

// ThreeDSRequest is what CodePay knows about the payment to authenticate.
type ThreeDSRequest struct {
	System     string // "codepay"
	Reference  string // CodePay's trans_no for the payment
	MerchantID string // merchant_no
	PAN        string // full card number: never log or store it
	Expiry     string // MMYY
	Holder     string
	Amount     int64  // minor units
	Currency   string // ISO-4217
	// ReturnURL is where the challenge page sends the buyer's browser when
	// the challenge ends (pspsim's /codepay/3ds/{trans_no}/return, which
	// then redirects to the merchant's return_url).
	ReturnURL string
}

// ThreeDSOutcome classifies an authentication result.
type ThreeDSOutcome string

// The outcomes CodePay acts on.
const (
	// ThreeDSAuthenticated: transStatus Y (or A, attempted), with ECI and
	// CAVV: authorize, liability shifted.
	ThreeDSAuthenticated ThreeDSOutcome = "authenticated"
	// ThreeDSNotEnrolled: the card is not enrolled: authorize without
	// liability shift.
	ThreeDSNotEnrolled ThreeDSOutcome = "not_enrolled"
	// ThreeDSFailed: transStatus N: not authenticated, do not authorize.
	ThreeDSFailed ThreeDSOutcome = "failed"
	// ThreeDSRejected: transStatus R: the issuer rejects; never authorize.
	ThreeDSRejected ThreeDSOutcome = "rejected"
	// ThreeDSUnavailable: transStatus U: authentication could not be
	// performed; the merchant's setting decides (default: fail).
	ThreeDSUnavailable ThreeDSOutcome = "unavailable"
	// ThreeDSChallenge: transStatus C: send the buyer to ChallengeURL; the
	// final result comes through done.
	ThreeDSChallenge ThreeDSOutcome = "challenge"
	// ThreeDSDecoupled: transStatus D: the issuer authenticates out of band;
	// the final result comes through done.
	ThreeDSDecoupled ThreeDSOutcome = "decoupled"
	// ThreeDSError: the directory server failed (TESTCARDS row 10): the
	// payment fails (resp_code 96) and may be retried with a new
	// merchant_order_no, as on the card gateway.
	ThreeDSError ThreeDSOutcome = "error"
)

// ThreeDSResult is an authentication result.
type ThreeDSResult struct {
	Outcome      ThreeDSOutcome
	TransStatus  string // Y, A, N, R, U, C, D; "" when not enrolled or on error
	ReasonCode   string // transStatusReason, e.g. "01", "11", "14"
	ECI          string
	CAVV         string // base64, 20 bytes; never logged
	DSTransID    string
	ACSTransID   string // the issuer's id of a challenge or decoupled authentication
	ChallengeURL string // with ThreeDSChallenge
	Retryable    bool   // with ThreeDSError
}
