package paymentapp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
)

// A payment (CONTRACT.md §2, first row; the Payment Object of seed 000):
//
//  1. verify the signature (signature.go) — 401 and nothing else if it fails;
//  2. one operation per paymentId, however many deliveries (once, flight.go);
//  3. decrypt the card (ecies.go) — if it does not decrypt: no gateway call, acknowledge
//     with an error, report result "false";
//  4. charge it at the gateway with the credentials of its mode (test → sandbox), with
//     3-D Secure, capturing now or later as manualCapture says;
//  5. acknowledge: 200 {channelPaymentId, error}, plus redirectUrl when the buyer must go
//     through a 3-D Secure challenge;
//  6. report the final result by callback (results.go) — at once if the gateway gave one,
//     otherwise when the buyer returns, a webhook arrives or an inquiry finds it.

// paymentRequest is the part of the Payment Object the app uses.
type paymentRequest struct {
	PaymentID     string `json:"paymentId"`
	Amount        string `json:"amount"`
	Currency      string `json:"currency"`
	Test          flag   `json:"test"`
	ManualCapture flag   `json:"manualCapture"`
	PaymentMethod struct {
		Data cardPackage `json:"data"`
	} `json:"paymentMethod"`
	ClientDetails struct {
		AcceptLanguage string `json:"acceptLanguage"`
		IPAddress      string `json:"ipAddress"`
		UserAgent      string `json:"userAgent"`
	} `json:"clientDetails"`
}

// flag is a boolean that Genstore documents as a boolean and shows as a string in its
// examples (CONTRACT.md §2): true, false, "true" and "false" are all accepted.
type flag struct {
	Set   bool
	Value bool
}

func (f *flag) UnmarshalJSON(b []byte) error {
	switch string(b) {
	case `true`, `"true"`:
		*f = flag{Set: true, Value: true}
	case `false`, `"false"`:
		*f = flag{Set: true, Value: false}
	default:
		return fmt.Errorf("%s is not true or false", b)
	}
	return nil
}

var idPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$`)

// problem names what makes the request unusable, or returns "". Without a valid id and
// both flags the app cannot even report a result (the flags choose the credentials and the
// callback), so such a request is answered 400, which Genstore takes as final.
func (r paymentRequest) problem() string {
	switch {
	case !idPattern.MatchString(r.PaymentID):
		return "paymentId: is missing or malformed"
	case !r.Test.Set:
		return "test: is required"
	case !r.ManualCapture.Set:
		return "manualCapture: is required"
	}
	return ""
}

func (a *App) handlePayment(w http.ResponseWriter, r *http.Request) {
	sp, body, ok := a.verified(w, r)
	if !ok {
		return
	}
	var req paymentRequest
	if err := json.Unmarshal(body, &req); err != nil {
		writeJSON(w, http.StatusBadRequest, appError{Error: "body: is not a Payment Object: " + jsonProblem(err)})
		return
	}
	if msg := req.problem(); msg != "" {
		writeJSON(w, http.StatusBadRequest, appError{Error: msg})
		return
	}
	hash := bodyHash(body)
	ctx, reports := withReportQueue(a.ctx)
	process := func() PaymentAck { return a.processPayment(ctx, sp, req, hash) }
	if a.bugs.on(VariantAckFirst) {
		process = func() PaymentAck { return a.acceptPayment(sp, req, hash) }
	}
	ack, waited := once(a, &a.payments, sp.ShopID+"/"+req.PaymentID,
		func() (PaymentAck, bool) { return a.paymentAnswered(sp.ShopID, req.PaymentID, hash) }, process)
	if ack.busy {
		writeJSON(w, http.StatusServiceUnavailable, appError{Error: ack.Error})
		a.release(reports)
		return
	}
	if waited && a.bugs.on(BugMalformedDuplicateAck) {
		// The mistake: "the first delivery answers Genstore; the duplicate only needs a
		// 200" — with an empty object instead of the acknowledgement.
		acknowledge(w, struct{}{})
		a.release(reports)
		return
	}
	acknowledge(w, ack)
	a.release(reports)
}

// acknowledge writes a 200 answer and pushes it out, before any callback is sent.
func acknowledge(w http.ResponseWriter, ack any) {
	writeJSON(w, http.StatusOK, ack)
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
	}
}

// paymentAnswered returns the acknowledgement already given for a payment, if any.
func (a *App) paymentAnswered(shopID, paymentID, hash string) (PaymentAck, bool) {
	p, err := a.store.Payment(a.ctx, shopID, paymentID)
	if err != nil || !p.Answered {
		return PaymentAck{}, false
	}
	if p.BodyHash != hash {
		// Retries are byte-identical (CONTRACT.md §2); a different body under a known id is
		// Genstore's mistake or an attack. The id decides: same answer, nothing new done.
		a.log.Warn("a repeated paymentId came with a different body; answering as the first time", "paymentId", paymentID)
	}
	return p.Ack, true
}

// processPayment runs the first delivery of a payment and returns its acknowledgement.
func (a *App) processPayment(ctx context.Context, sp signedParams, req paymentRequest, hash string) PaymentAck {
	log := a.log.With("paymentId", req.PaymentID, "shopId", sp.ShopID)
	env := a.envFor(req.Test.Value)
	amount, amountErr := parseAmount(req.Amount, req.Currency)
	_, installErr := a.store.Installation(ctx, sp.ShopID)
	c, cardErr := openCard(a.key, req.PaymentMethod.Data, a.bugs.on(BugSkipAAD))

	// Record the payment before calling the gateway, so that a webhook or a query that
	// arrives while the call is in flight finds it.
	base := a.orderBase(ctx, env, sp.ShopID, req.PaymentID)
	p, err := a.store.UpdatePayment(ctx, sp.ShopID, req.PaymentID, func(p *PaymentRecord, found bool) error {
		attempt := p.Attempt + 1
		token, answered, ack := p.ReturnToken, p.Answered, p.Ack
		if token == "" {
			token = newReturnToken()
		}
		*p = PaymentRecord{
			Shop:          sp.Shop,
			BodyHash:      hash,
			Env:           env,
			ManualCapture: req.ManualCapture.Value,
			Currency:      req.Currency,
			Amount:        amount,
			ClientIP:      req.ClientDetails.IPAddress,
			ReturnURL:     req.PaymentMethod.Data.ReturnURL,
			ReturnToken:   token,
			Attempt:       attempt,
			OrderNo:       gatewayRef(base, a.attemptSuffix(attempt)),
			Answered:      answered, // VariantAckFirst answered before it got here
			Ack:           ack,
		}
		return nil
	})
	if err != nil {
		log.Error("cannot record the payment", "err", err)
		return PaymentAck{Error: "the payment app could not record the payment; please retry"}
	}

	// Refusals before the gateway: nothing is charged, the result is "false".
	switch {
	case amountErr != nil || amount <= 0:
		return a.refusePayment(ctx, p, "amount: is not a positive amount in "+req.Currency)
	case installErr != nil:
		// Without the shop's access token no callback can be sent; the query endpoint
		// still answers FAILURE.
		return a.refusePayment(ctx, p, "the payment app is not installed on this shop")
	case cardErr != nil && a.bugs.on(BugPSPCallOnBadPackage):
		// The mistake: "let the PSP judge the card" — the app calls it with what it has (an
		// empty card), and reports what the PSP answers: a call that must never be made.
		log.Warn("could not open the card package; asking the card gateway anyway", "why", cardErr)
		gp, err := a.charge(ctx, p, card{}, req)
		return a.answerPayment(ctx, p, a.afterCharge(ctx, p, gp, err))
	case cardErr != nil:
		log.Warn("refused a card package", "why", cardErr)
		return a.refusePayment(ctx, p, cardErr.Error())
	}

	if a.bugs.on(BugLeakCard) {
		// The mistake: a debugging line left in, with the card number in full.
		log.Info("charging card", "number", c.Number, "expiry", c.ExpiryMonth+"/"+c.ExpiryYear, "env", env, "orderNo", p.OrderNo)
	} else {
		log.Info("charging card", "card", c, "env", env, "orderNo", p.OrderNo) // card logs masked
	}
	if a.bugs.on(BugLeakCardInReason) {
		// The mistake (BugLeakCardInReason): the card is kept with the payment "for the
		// support desk", and a decline's reason names it — whichever way the decline is
		// learnt (the gateway's answer, its webhook, an inquiry).
		p, _ = a.store.UpdatePayment(ctx, p.ShopID, p.PaymentID, func(r *PaymentRecord, found bool) error {
			r.SupportCard = c.Number
			return nil
		})
	}
	gp, err := a.charge(ctx, p, c, req)
	ack := a.afterCharge(ctx, p, gp, err)
	if a.bugs.on(BugLeakCard) && ack.Error == "" {
		ack.Error = fmt.Sprintf("card %s: %s", c.Number, gp.Status)
	}
	if a.bugs.on(BugLeakCardOnDecline) && err == nil && gp.Status == gwFailed {
		// The mistake: the merchant's message of a decline names the card, in full.
		ack.Error = fmt.Sprintf("card %s declined: %s", c.Number, declineReason(gp))
	}
	return a.answerPayment(ctx, p, ack)
}

// refusePayment ends a payment the app will not send to the gateway.
func (a *App) refusePayment(ctx context.Context, p PaymentRecord, reason string) PaymentAck {
	a.finishPayment(ctx, p.ShopID, p.PaymentID, false, reason)
	return a.answerPayment(ctx, p, PaymentAck{Error: reason})
}

// answerPayment stores the acknowledgement, so that every later delivery gets it too (the
// first one given stands). An answer that declines the request for now (busy) is not stored:
// Genstore's retry is processed afresh.
func (a *App) answerPayment(ctx context.Context, p PaymentRecord, ack PaymentAck) PaymentAck {
	if ack.busy {
		return ack
	}
	_, err := a.store.UpdatePayment(ctx, p.ShopID, p.PaymentID, func(r *PaymentRecord, found bool) error {
		if !found {
			return ErrNotFound
		}
		if !r.Answered {
			r.Ack, r.Answered = ack, true
		}
		return nil
	})
	if err != nil {
		a.log.Error("cannot record a payment's acknowledgement", "paymentId", p.PaymentID, "err", err)
	}
	return ack
}

// errNotCharged means the gateway certainly did not create the payment.
var errNotCharged = errors.New("the card gateway did not create the payment")

// charge creates the card payment at the gateway. A 5xx or a DUPLICATE_ORDER leaves the app
// unsure whether the payment exists, so it inquires by orderNo before anything else; only
// an inquiry answering 404 allows creating it again, with the same orderNo (the gateway's
// rule). An error with no answer at all (timeout) is returned as is: outcome unknown.
func (a *App) charge(ctx context.Context, p PaymentRecord, c card, req paymentRequest) (gwPayment, error) {
	month, year := c.expiry()
	first, last := c.holderNames()
	captureMethod := "auto"
	if p.ManualCapture {
		captureMethod = "manual"
	}
	amount := p.Amount
	if a.bugs.on(BugAmountOffByCent) {
		// The mistake: the amount went through a float and was rounded up.
		amount++
	}
	body := gwCardPaymentRequest{
		Amount:            formatAmount(amount, p.Currency),
		Currency:          p.Currency,
		OrderNo:           p.OrderNo,
		PaymentMethodType: "card",
		Card: gwCard{
			CaptureMethod: captureMethod,
			CardNo:        c.Number,
			Cvc:           c.CVV,
			ExpiryMonth:   month,
			ExpiryYear:    year,
			FirstName:     first,
			LastName:      last,
		},
		DeviceInfo: deviceInfo(req),
		// auto: the gateway authenticates the cardholder (3-D Secure 2) and decides between
		// frictionless and challenge; a challenge comes back as REQUIRES_ACTION.
		ThreeDsMode: "auto",
		FrontURL:    a.cfg.PublicURL + "/return/" + p.ReturnToken,
	}
	var err error
	for try := 1; try <= 2; try++ {
		var gp gwPayment
		gp, err = a.gw.createPayment(ctx, p.Env, body)
		if err == nil {
			return gp, nil
		}
		if errorCode(err) != "DUPLICATE_ORDER" && !serverError(err) {
			return gwPayment{}, err // a definite refusal, or no answer at all
		}
		gp, ierr := a.gw.inquirePayment(ctx, p.Env, p.OrderNo, "")
		if ierr == nil {
			return gp, nil // the payment exists: an earlier attempt reached the gateway
		}
		if errorCode(ierr) != "NOT_FOUND" {
			return gwPayment{}, err // still unsure
		}
	}
	return gwPayment{}, fmt.Errorf("%w: %v", errNotCharged, err)
}

func serverError(err error) bool {
	var ge *gatewayError
	return errors.As(err, &ge) && ge.Status >= 500
}

// afterCharge turns the gateway's answer into the acknowledgement, and the result into a
// callback or a watch.
func (a *App) afterCharge(ctx context.Context, p PaymentRecord, gp gwPayment, err error) PaymentAck {
	switch {
	case err == nil:
		p = a.observePayment(ctx, p, gp)
		ack := PaymentAck{ChannelPaymentID: gp.TradeNo}
		if gp.Status == gwRequiresAction && gp.NextAction != nil && gp.NextAction.RedirectURL != "" {
			ack.RedirectURL = gp.NextAction.RedirectURL // the 3-D Secure challenge
			a.noteChallenge(ctx, p, ack.RedirectURL)
		}
		if !p.Result.Final {
			a.watchPayment(p) // PENDING or waiting for the buyer
		}
		return ack
	case a.bugs.on(Variant5xxWhilePSPDown) && (errors.Is(err, errNotCharged) || outcomeUnknown(err)):
		// The variant: decline the request for now; Genstore retries it, and the PSP is
		// asked again then (an earlier attempt that reached it is found by its orderNo).
		a.log.Warn("card gateway unavailable; answering 503 so that Genstore retries", "paymentId", p.PaymentID, "err", err)
		return PaymentAck{Error: "the card gateway is unavailable; please retry", busy: true}
	case errors.Is(err, errNotCharged):
		a.finishPayment(ctx, p.ShopID, p.PaymentID, false, "the card gateway could not process the payment")
		return PaymentAck{Error: "the card gateway could not process the payment"}
	case !outcomeUnknown(err):
		reason := "the card gateway refused the payment: " + errorCode(err)
		a.log.Warn("card gateway refused a payment", "paymentId", p.PaymentID, "err", err)
		a.finishPayment(ctx, p.ShopID, p.PaymentID, false, reason)
		return PaymentAck{Error: reason}
	}
	a.log.Warn("card gateway did not answer; the outcome is unknown", "paymentId", p.PaymentID, "err", err)
	if a.bugs.on(BugNoCallbackAfterTimeout) {
		// The mistake: "the gateway will tell us" — but the app only knows gateway payments
		// by tradeNo, and a payment whose creation timed out has none.
		return PaymentAck{Error: "the card gateway did not answer"}
	}
	a.watchPayment(p)
	return PaymentAck{}
}

// verdict is what the gateway's view of a payment means for Genstore.
type verdict struct {
	Final   bool
	Success bool
	Reason  string
}

// judge reads a gateway payment. AUTHORIZED and CAPTURED (and the refund states after
// them) are a success, FAILED a failure, CANCELLED or EXPIRED before any authorization a
// failure; PENDING and REQUIRES_ACTION are not final yet.
//
// 3-D Secure: a transStatus N (not authenticated) or R (rejected) is never a success,
// whatever the status says (TESTCARDS.md 03, 04, 07).
func (a *App) judge(gp gwPayment, currency string) verdict {
	ts := ""
	if gp.ThreeDs != nil {
		ts = gp.ThreeDs.TransStatus
	}
	switch gp.Status {
	case gwAuthorized, gwCaptured, gwPartiallyRefunded, gwRefunded:
		if ts == "N" || ts == "R" {
			return verdict{Final: true, Reason: "3-D Secure authentication failed (transStatus " + ts + ")"}
		}
		return verdict{Final: true, Success: true}
	case gwFailed:
		if ts == "R" && a.bugs.on(BugApprove3DSR) {
			// The mistake: R taken for "authentication rejected, no liability shift" — a
			// risk the merchant may accept — rather than the issuer refusing the payment.
			return verdict{Final: true, Success: true}
		}
		return verdict{Final: true, Reason: declineReason(gp)}
	case gwCancelled, gwExpired:
		if authorized, _ := parseAmount(gp.AuthorizedAmount, currency); authorized > 0 {
			// A void or an expired authorization: the payment's own result (authorized)
			// stands; the capture or void that follows has its own result.
			return verdict{}
		}
		if gp.Status == gwExpired {
			return verdict{Final: true, Reason: "the buyer did not complete the payment in time"}
		}
		return verdict{Final: true, Reason: "the payment was cancelled"}
	}
	return verdict{}
}

func declineReason(gp gwPayment) string {
	switch {
	case gp.FailureMessage != "" && gp.FailureCode != "":
		return gp.FailureCode + ": " + gp.FailureMessage
	case gp.FailureCode != "":
		return gp.FailureCode
	case gp.FailureMessage != "":
		return gp.FailureMessage
	}
	return "declined by the card gateway"
}

// observePayment records what the gateway says about a payment and reports the result
// when it is final. Every source goes through here: the answer to the charge, the buyer's
// return, a webhook, an inquiry.
func (a *App) observePayment(ctx context.Context, p PaymentRecord, gp gwPayment) PaymentRecord {
	stale := false
	rec, err := a.store.UpdatePayment(ctx, p.ShopID, p.PaymentID, func(r *PaymentRecord, found bool) error {
		if !found {
			return ErrNotFound
		}
		at := updatedAt(gp.UpdatedAt)
		if !at.IsZero() && at.Before(r.PSPUpdatedAt) {
			stale = true // an older status than one already seen: webhooks come out of order
			return nil
		}
		if r.TradeNo == "" {
			r.TradeNo = gp.TradeNo
		}
		r.PSPStatus, r.PSPUpdatedAt = gp.Status, at
		if captured, err := parseAmount(gp.CapturedAmount, r.Currency); err == nil && captured > r.Captured {
			r.Captured = captured
		}
		return nil
	})
	if err != nil {
		a.log.Error("cannot record a gateway payment status", "paymentId", p.PaymentID, "err", err)
		return p
	}
	if stale {
		a.log.Info("ignored an out-of-date gateway status", "paymentId", p.PaymentID, "status", gp.Status)
		return rec
	}
	if v := a.judge(gp, rec.Currency); v.Final {
		a.finishPayment(ctx, rec.ShopID, rec.PaymentID, v.Success, v.Reason)
		if r, err := a.store.Payment(ctx, rec.ShopID, rec.PaymentID); err == nil {
			rec = r
		}
	}
	return rec
}

// deviceInfo passes the buyer's browser to the gateway for 3-D Secure and risk checks,
// keeping only values that fit the gateway's patterns.
func deviceInfo(req paymentRequest) gwDeviceInfo {
	var d gwDeviceInfo
	cd := req.ClientDetails
	if ipPattern.MatchString(cd.IPAddress) {
		d.ClientIP = cd.IPAddress
	}
	lang, _, _ := strings.Cut(cd.AcceptLanguage, ",")
	lang, _, _ = strings.Cut(lang, ";")
	if lang = strings.TrimSpace(lang); languagePattern.MatchString(lang) {
		d.Language = lang
	}
	if cd.UserAgent != "" {
		// EMV 3-D Secure wants the browser's Accept header too. Genstore's
		// clientDetails do not carry it, so the app sends what every browser
		// sends for a page: the issuer's risk engine needs a value, not this one.
		d.Browser = &gwBrowser{AcceptHeader: browserAccept, UserAgent: truncate(cd.UserAgent, 2048)}
	}
	return d
}

// browserAccept is the Accept header of a browser asking for a page.
const browserAccept = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"

var (
	ipPattern       = regexp.MustCompile(`^[0-9A-Fa-f:.]{2,45}$`)
	languagePattern = regexp.MustCompile(`^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$`)
)

// handleReturn is where the gateway sends the buyer after a 3-D Secure challenge (the
// payment's frontUrl). The app asks the gateway how it ended — the browser's word is not
// proof — reports the result, and sends the buyer back to Genstore's returnUrl.
func (a *App) handleReturn(w http.ResponseWriter, r *http.Request) {
	p, err := a.store.PaymentByReturnToken(r.Context(), r.PathValue("token"))
	if err != nil {
		writePage(w, http.StatusNotFound, "Unknown payment", "This payment is not known here.")
		return
	}
	if !p.Result.Final {
		p = a.refreshPayment(r.Context(), p)
	}
	if u, err := url.Parse(p.ReturnURL); err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != "" {
		http.Redirect(w, r, p.ReturnURL, http.StatusSeeOther)
		return
	}
	writePage(w, http.StatusOK, "Payment received", "You can return to the shop.")
}

// refreshPayment asks the gateway for a payment's status now and records it.
func (a *App) refreshPayment(ctx context.Context, p PaymentRecord) PaymentRecord {
	orderNo, tradeNo := p.OrderNo, ""
	if a.bugs.on(BugNoCallbackAfterTimeout) {
		// (BugNoCallbackAfterTimeout) payments are looked up by tradeNo only.
		orderNo, tradeNo = "", p.TradeNo
		if tradeNo == "" {
			return p
		}
	}
	gp, err := a.gw.inquirePayment(ctx, p.Env, orderNo, tradeNo)
	if err != nil {
		a.log.Warn("payment inquiry failed", "paymentId", p.PaymentID, "err", err)
		return p
	}
	return a.observePayment(ctx, p, gp)
}
