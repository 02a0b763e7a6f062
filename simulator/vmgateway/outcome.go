package vmgateway

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/pspsim/pspsim/fixtures"
	"github.com/pspsim/pspsim/simulator/apierr"
	"github.com/pspsim/pspsim/simulator/store"
	"github.com/pspsim/pspsim/simulator/threeds"
)

// The outcome decision: what a new payment leads to. The card's row of the
// test card table (TESTCARDS.md), the method, threeDsMode, fraudMode and the
// merchant's settings decide between approval (captured or authorized), a
// decline, 3-D Secure (frictionless, challenge, decoupled, failed), a wallet
// waiting for the customer, and the processor's silence. The moves
// themselves go through the payment's table (states.go).

// cardFacts is what create learned about the card before the decision: its
// row of the test card table and brand, and external 3-D Secure data that
// the shared service issued and verified as this payment's (bound: bind it
// when the payment is decided).
type cardFacts struct {
	row     fixtures.TestCard
	brand   string
	binding threeds.Binding
	bound   bool
}

// decide runs the path of the payment's method. hold means the processor
// "never answers" (TESTCARDS.md 26).
func (s *System) decide(ctx context.Context, p *Payment, np *newPayment, card cardFacts, now time.Time) (bool, error) {
	switch {
	case np.method == "card" || np.token:
		return s.decideCard(ctx, p, np, card, now)
	case np.method == "applePay" || np.method == "googlePay":
		p.CardBrand = cardBrand(np.walletBrand)
		if p.CardBrand == "OTHER" {
			p.CardBrand = ""
		}
		return false, s.screenThenAuthorize(ctx, p, np, now)
	}
	return false, s.decideWallet(ctx, p, np, now)
}

// declineCodes maps the test card table's decline reasons to failure codes.
var declineCodes = map[string]string{
	"insufficient_funds": FailInsufficientFunds,
	"do_not_honor":       FailDoNotHonor,
	"expired_card":       FailExpiredCard,
	"incorrect_cvv":      FailIncorrectCVC,
	"lost_or_stolen":     FailLostOrStolen,
}

// plan notes on a new card payment what its row of the test card table will
// make of it: the decline its authorization answers once authentication
// allows it, and how long its webhooks are held back.
func plan(p *Payment, row fixtures.TestCard) {
	p.NotificationDelay = row.NotificationDelay.Std()
	if row.Outcome == fixtures.Declined {
		p.Outcome = declineCodes[row.DeclineReason]
	}
}

// errProcessor is the processor failing before anything is kept
// (TESTCARDS.md 25): nothing is recorded, so a retry with the same orderNo is
// safe.
func errProcessor() *apierr.Error {
	return apierr.New(apierr.Internal, "processor error, retry later (inquire by orderNo first)").WithCode(CodeInternalError)
}

// fraudHit applies fraudMode Y's screening rules (fixtures fraudScreening).
func (s *System) fraudHit(np *newPayment) (string, bool) {
	if np.fraudMode != "Y" {
		return "", false
	}
	rules := s.settings().fraud
	for _, e := range np.emails {
		if _, domain, ok := strings.Cut(e, "@"); ok && slices.Contains(rules.BlockedEmailDomains, strings.ToLower(domain)) {
			return "the e-mail domain is on the block list", true
		}
	}
	if np.clientIP != "" && slices.Contains(rules.BlockedClientIPs, np.clientIP) {
		return "the client IP is on the block list", true
	}
	return "", false
}

// rowOf returns the test card row of NN (the default row for "").
func (s *System) rowOf(nn string) fixtures.TestCard {
	for _, c := range s.cards.Cards {
		if c.NN == nn && nn != "" {
			return c
		}
	}
	return s.cards.Default
}

// screenThenAuthorize runs fraud screening, then the authorization.
func (s *System) screenThenAuthorize(ctx context.Context, p *Payment, np *newPayment, now time.Time) error {
	if why, hit := s.fraudHit(np); hit {
		return p.fail(FailFraudSuspected, "fraud screening: "+why, now)
	}
	return s.authorize(ctx, p, now)
}

// authorize asks the (simulated) issuer: approved unless the card's row
// declines. An approved payment is captured at once (captureMethod auto) or
// held (manual), and a card to store gets its transactionIdentifier.
func (s *System) authorize(ctx context.Context, p *Payment, now time.Time) error {
	if p.Outcome != "" {
		return p.fail(p.Outcome, "declined by the issuer", now)
	}
	p.Authorized = p.Amount
	if p.StoreCard && p.TransactionIdentifier == "" {
		// The credential is stored under this id once the payment is
		// approved; the id is claimed now, at the payment's order claim, so
		// that no other payment's card can be stored under it meanwhile.
		id, err := s.orders.ClaimNew(ctx, orderKey(p.MerchantID, p.Environment, p.OrderNo),
			func(int) string { return s.env.IDs.Digits(15) }, func(id string) string { return refKey("credential", id) })
		if err != nil {
			return fmt.Errorf("claim a transactionIdentifier: %w", err)
		}
		p.TransactionIdentifier = id
	}
	if p.CaptureMethod == "manual" {
		if err := p.transition(StatusAuthorized, "approved by the issuer; captureMethod manual", now); err != nil {
			return err
		}
		exp := now.Add(s.settings().authorizationLifetime)
		p.AuthorizationExpiresAt = &exp
		return nil
	}
	if err := p.transition(StatusCaptured, "approved by the issuer and captured", now); err != nil {
		return err
	}
	p.Captured = p.Amount
	return nil
}

// decideCard runs the card path: expiry, fraud screening, the processor's
// silence (26), 3-D Secure per threeDsMode or external data, authorization.
func (s *System) decideCard(ctx context.Context, p *Payment, np *newPayment, card cardFacts, now time.Time) (bool, error) {
	mode := np.threeDSMode
	if np.mit {
		mode = "no"
	}
	setThreeDS(p, ThreeDSInfo{Mode: mode, Flow: "not_requested", ECI: threeds.ECI(card.brand, "")})
	if np.expiryMonth != "" && expired(np.expiryMonth, np.expiryYear, now) {
		return false, p.fail(FailExpiredCard, "the card's expiry date has passed", now)
	}
	if why, hit := s.fraudHit(np); hit {
		return false, p.fail(FailFraudSuspected, "fraud screening: "+why, now)
	}
	if card.row.Outcome == fixtures.PSPTimeout {
		// TESTCARDS.md 26: accepted, then silence. The payment waits, PENDING,
		// until it expires.
		return true, p.transition(StatusPending, "the processor accepted the payment and never answered", now)
	}
	if d := np.external; d != nil {
		setThreeDS(p, ThreeDSInfo{Mode: np.threeDSMode, Flow: "external", Version: d.DsVersion, TransStatus: d.AuthenticationResultCode,
			ECI: d.Eci, DSTransID: d.DsTransID, LiabilityShift: threeds.LiabilityShift(d.AuthenticationResultCode)})
		if card.bound {
			if _, err := s.tds.Bind(ctx, card.binding); err != nil {
				return false, p.fail(FailAuthenticationFailed, "the 3-D Secure result was used by another authorization meanwhile", now)
			}
		}
		switch d.AuthenticationResultCode {
		case "N":
			return false, p.fail(FailAuthenticationFailed, "external 3-D Secure result N", now)
		case "R":
			return false, p.fail(FailAuthenticationRejected, "external 3-D Secure result R", now)
		case "U":
			if np.merchant.ThreeDSUnavailable != "proceed" {
				return false, p.fail(FailAuthenticationUnavailable, "external 3-D Secure result U; the merchant setting fails it", now)
			}
		}
		return false, s.authorize(ctx, p, now)
	}
	asks := card.row.ThreeDS.Flow != "not_requested" && card.row.ThreeDS.Flow != "none"
	if mode == "no" || (mode == "auto" && !asks) {
		return false, s.authorize(ctx, p, now)
	}
	tradeNo := p.TradeNo
	res, err := s.tds.Authenticate(ctx, threeds.Request{
		System: Name, MerchantID: p.MerchantID, MerchantName: np.merchant.Name, Reference: tradeNo, CardNumber: np.card.Number, MaskedPAN: p.MaskedCardNo,
		Amount: p.Amount, Currency: p.Currency, ReturnURL: s.env.BaseURL() + Prefix + "/return/" + tradeNo,
		IDs: threeds.IDs{{Name: "orderNo", Value: p.OrderNo}, {Name: "tradeNo", Value: tradeNo}},
		// The end of a challenge or a decoupled authentication reaches the
		// payment through the named completion (handleThreeDS), in this
		// process as in any other: an OnComplete closure would do the same
		// for this process only, at the cost of a closure per payment and
		// of its place in the service's table until the end.
		Notify: notifyPayment, NotifyData: []byte(tradeNo),
		// A frictionless Y or A comes back bound to this payment already:
		// apply3DS need not bind it in a second store write.
		BindFinal: true,
	})
	// What the directory server refuses in the request's own values is the
	// request's fault, named as the gateway names its fields (checkCard and
	// parseAmount let no such value through today: this keeps a future
	// mismatch a 400, never a 500).
	if err != nil {
		var invalid *threeds.InvalidError
		if errors.As(err, &invalid) && threeDSField(invalid.Field) != "" {
			return false, apierr.Field(apierr.Invalid, threeDSField(invalid.Field), "threeDs", "3-D Secure refused it: %s", invalid.Reason)
		}
		return false, fmt.Errorf("3-D Secure: %w", err)
	}
	return false, s.apply3DS(ctx, p, res, np.merchant.ThreeDSUnavailable, now)
}

// setThreeDS makes info p's 3-D Secure part: in place when p has one (a
// payment being made has its own, allocated with it by create), else new.
func setThreeDS(p *Payment, info ThreeDSInfo) {
	if p.ThreeDS == nil {
		p.ThreeDS = new(ThreeDSInfo)
	}
	*p.ThreeDS = info
}

// threeDSField names a field of a 3-D Secure request as the gateway's
// request names it; "" for what the gateway fills in itself.
func threeDSField(f string) string {
	switch f {
	case "cardNumber":
		return "card.cardNo"
	case "amount", "currency":
		return f
	}
	return ""
}

// apply3DS moves a payment on with an authentication result, at creation or
// when a challenge or decoupled authentication ends.
func (s *System) apply3DS(ctx context.Context, p *Payment, res threeds.Result, unavailable string, now time.Time) error {
	mode := "auto"
	if p.ThreeDS != nil {
		mode = p.ThreeDS.Mode
	}
	info := ThreeDSInfo{Mode: mode, Flow: res.Flow, Version: res.Version, TransStatus: res.TransStatus, TransStatusReason: res.TransStatusReason,
		ECI: res.ECI, DSTransID: res.DSTransID, ACSTransID: res.ACSTransID, ThreeDSServerTransID: res.ThreeDSServerTransID, LiabilityShift: res.LiabilityShift}
	// p is the caller's own (a payment being made, or the copy an update
	// gives): its 3-D Secure part is overwritten rather than made again.
	setThreeDS(p, info)
	switch {
	case res.Flow == threeds.FlowDSError:
		p.ThreeDS.Flow = "error"
		p.ThreeDS.Version = ""
		return p.fail(FailThreeDSServerError, "3-D Secure directory server error", now)
	case res.Flow == threeds.FlowNotEnrolled:
		p.ThreeDS.Version = ""
		return s.authorize(ctx, p, now)
	}
	switch res.TransStatus {
	case threeds.StatusC:
		if err := p.transition(StatusRequiresAction, "3-D Secure challenge", now); err != nil {
			return err
		}
		p.NextAction = &NextAction{Type: "redirect", RedirectURL: res.ChallengeURL, ExpiresAt: res.ExpiresAt}
		return nil
	case threeds.StatusD:
		return p.transition(StatusPending, "decoupled 3-D Secure authentication", now)
	case threeds.StatusY, threeds.StatusA:
		if res.BoundTo == p.TradeNo {
			// Bound when it was stored (threeds.Request.BindFinal).
			return s.authorize(ctx, p, now)
		}
		if _, err := s.tds.Bind(ctx, threeds.Binding{ThreeDSServerTransID: res.ThreeDSServerTransID, DSTransID: res.DSTransID,
			AuthenticationValue: res.AuthenticationValue, MerchantID: p.MerchantID, Reference: p.TradeNo, Amount: p.Amount, Currency: p.Currency}); err != nil {
			return p.fail(FailAuthenticationFailed, "the 3-D Secure result could not be bound: "+err.Error(), now)
		}
		return s.authorize(ctx, p, now)
	case threeds.StatusN:
		return p.fail(FailAuthenticationFailed, "3-D Secure result N", now)
	case threeds.StatusR:
		return p.fail(FailAuthenticationRejected, "3-D Secure result R", now)
	case threeds.StatusU:
		if res.TransStatusReason == threeds.ReasonTimedOut {
			return p.fail(FailAuthenticationAbandoned, "3-D Secure "+res.Flow+" abandoned or timed out", now)
		}
		if mode == "standard" || unavailable != "proceed" {
			return p.fail(FailAuthenticationUnavailable, "3-D Secure result U", now)
		}
		return s.authorize(ctx, p, now)
	}
	return p.fail(FailAuthenticationFailed, "unexpected 3-D Secure result "+res.TransStatus, now)
}

// notifyPayment names the gateway's 3-D Secure completion
// (threeds.Request.Notify), whose data is the payment's tradeNo: the
// authentication's result reaches its payment after a restart or on
// another replica, where the request's OnComplete closure does not exist.
const notifyPayment = Name + ".payment"

// handleThreeDS registers the gateway's named 3-D Secure completion.
func (s *System) handleThreeDS() {
	s.tds.OnNotify(notifyPayment, func(ctx context.Context, data []byte, r threeds.Result) {
		s.onAuthenticated(ctx, string(data), r)
	})
}

// onAuthenticated continues a payment whose challenge or decoupled
// authentication ended. The result is told once (threeds), so a store that
// does not answer is asked again (store.Retry); if it still does not, the
// payment keeps waiting until its expiry, and the journal says why.
func (s *System) onAuthenticated(ctx context.Context, tradeNo string, res threeds.Result) {
	var p Payment
	err := store.Retry(ctx, func() (err error) { p, err = s.payments.Get(ctx, tradeNo); return err })
	if errors.Is(err, store.ErrNotFound) {
		s.env.Record(Name, "payment.authentication_orphaned", "a 3-D Secure result arrived for an unknown payment", map[string]string{"tradeNo": tradeNo, "dsTransId": res.DSTransID}, nil)
		return
	}
	var m Merchant
	if err == nil {
		err = store.Retry(ctx, func() (err error) { m, err = s.merchants.Get(ctx, p.MerchantID); return err })
		if errors.Is(err, store.ErrNotFound) {
			err = nil // a merchant gone: no "3-D Secure unavailable" setting
		}
	}
	if err == nil {
		err = store.Retry(ctx, func() error {
			_, err := s.updatePayment(ctx, tradeNo, func(p *Payment, now time.Time) error {
				if !waiting(p.Status) {
					return errLate
				}
				return s.apply3DS(ctx, p, res, m.ThreeDSUnavailable, now)
			})
			return err
		})
	}
	switch {
	case err == nil:
	case errors.Is(err, errLate):
		s.env.Record(Name, "payment.authentication_late", "a 3-D Secure result arrived after the payment became "+p.Status+"; ignored",
			s.paymentIDs(p), map[string]any{"transStatus": res.TransStatus})
	default:
		s.env.Log.Error("vmgateway: a 3-D Secure result did not reach its payment", "tradeNo", tradeNo, "err", err)
		s.env.Record(Name, "payment.authentication_unresolved", "a 3-D Secure result could not be handed to its payment ("+apierr.Wrap(err).Message+"); the payment waits until it expires",
			map[string]string{"tradeNo": tradeNo, "dsTransId": res.DSTransID}, map[string]any{"transStatus": res.TransStatus})
	}
}

var errLate = errors.New("the payment no longer waits for this")

// decideWallet starts a wallet or QR payment: the customer approves on the
// wallet page (or the admin action does), except productType pay, where the
// merchant scanned the customer's code and the answer comes at once.
func (s *System) decideWallet(ctx context.Context, p *Payment, np *newPayment, now time.Time) error {
	p.CaptureMethod = "auto"
	if why, hit := s.fraudHit(np); hit {
		return p.fail(FailFraudSuspected, "fraud screening: "+why, now)
	}
	if np.productType == "pay" {
		return s.authorize(ctx, p, now)
	}
	if err := p.transition(StatusRequiresAction, "waiting for the customer in the wallet", now); err != nil {
		return err
	}
	link := s.env.BaseURL() + Prefix + "/wallet/" + p.TradeNo
	if np.productType == "qr-code" {
		p.NextAction = &NextAction{Type: "qr_code", QRCode: link, ExpiresAt: p.ExpiresAt}
	} else {
		p.NextAction = &NextAction{Type: "redirect", RedirectURL: link, ExpiresAt: p.ExpiresAt}
	}
	return nil
}

// walletDecision applies the buyer's answer on the wallet page (or the admin
// action): approve captures, decline fails with WALLET_DECLINED.
func (s *System) walletDecision(ctx context.Context, tradeNo string, approve bool) (Payment, error) {
	return s.updatePayment(ctx, tradeNo, func(p *Payment, now time.Time) error {
		if aerr := canBuyerAct(p); aerr != nil {
			return aerr
		}
		if !approve {
			return p.fail(FailWalletDeclined, "the customer declined in the wallet", now)
		}
		return s.authorize(ctx, p, now)
	})
}
