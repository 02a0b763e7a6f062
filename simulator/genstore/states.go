package genstore

import (
	"fmt"
	"strconv"
	"time"

	"github.com/pspsim/pspsim/simulator/apierr"
	"github.com/pspsim/pspsim/simulator/money"
)

// states.go holds Genstore's state machines (CONTRACT.md §3) and every rule
// that decides whether something may start or move, so that an operationId
// leads to its handler and the handler to one function here:
//
//   - the tables, one per object: paymentTransitions (a payment) and
//     operationTransitions (a capture, void or refund). A move that is not in
//     its table is refused; final states have no row, so a final status can
//     never change;
//   - the start rules: startPayment and paymentInstallation (may a payment be
//     sent, and to which app), operationURL and startOperation (may the
//     merchant capture, void or refund now, and for how much);
//   - the result rules: callbackFits (the right callback for the payment),
//     settlePayment and settleOperation (what a final result does, with
//     the limits a capture or refund must keep), repeat (a final result
//     never changes).
//
// Every refusal is the *apierr.Error the spec documents (409 for a state,
// 422 for a limit, 404 for an unknown object). Nothing here reads the store,
// the clock or the journal: handlers load the object, call the rule under
// the object's lock (store.Table.Update) and answer.

// ---------------------------------------------------------------- tables

// payEvent is what happens to a payment.
type payEvent string

const (
	evPaid       payEvent = "paid"       // payment/ "true" (manualCapture:false)
	evAuthorized payEvent = "authorized" // pre_authorize/ "true" (manualCapture:true)
	evFailed     payEvent = "failed"     // payment/ or pre_authorize/ "false", a final 4xx, no acknowledgement, expiry
	evCaptured   payEvent = "captured"   // capture/ "true"
	evVoided     payEvent = "voided"     // void/ "true"
)

// paymentTransitions is the payment's table. A capture or void that fails
// leaves the payment in 4 auth_success (no row needed: nothing changes).
var paymentTransitions = map[Status]map[payEvent]Status{
	StatusProcessing: {
		evPaid:       StatusSuccess,
		evAuthorized: StatusAuthSuccess,
		evFailed:     StatusFailure,
	},
	StatusAuthSuccess: {
		evCaptured: StatusSuccess,
		evVoided:   StatusAuthVoid,
	},
}

// transitionPayment returns the status after ev, or an error naming both.
func transitionPayment(from Status, ev payEvent) (Status, error) {
	if to, ok := paymentTransitions[from][ev]; ok {
		return to, nil
	}
	return from, fmt.Errorf("a payment in status %s (%s) cannot be %s", from.Code(), from, ev)
}

// operationTransitions is the table of captures, voids and refunds: a
// processing operation gets one final result; succeeded and failed are final.
var operationTransitions = map[OpStatus]map[bool]OpStatus{
	OpProcessing: {true: OpSucceeded, false: OpFailed},
}

// transitionOperation returns the status after a final result, or an error
// saying that the operation's result is final already.
func transitionOperation(from OpStatus, result bool) (OpStatus, error) {
	if to, ok := operationTransitions[from][result]; ok {
		return to, nil
	}
	return from, fmt.Errorf("an operation that %s cannot change", from)
}

// ---------------------------------------------------------------- start rules

// startPayment checks that a payment may be sent to app: the app registered
// a paymentUrl and, unless the payment method is given verbatim, the ECIES
// public key the card is sealed to (CONTRACT.md §2, §5).
func startPayment(app App, verbatim bool) *apierr.Error {
	switch {
	case app.Endpoints.PaymentURL == "":
		return apierr.Field(apierr.Conflict, "clientId", "paymentUrl", "app %s registered no paymentUrl", app.ClientID)
	case app.PublicKey == "" && !verbatim:
		return apierr.Field(apierr.Conflict, "clientId", "publicKey", "app %s registered no ECIES public key to encrypt the card to", app.ClientID)
	}
	return nil
}

// paymentInstallation picks, among the installations of a shop, the one a
// payment goes to: the named app's, or the only ready one. Genstore sends a
// payment only to an installation that reported account_authorize
// ready=true (CONTRACT.md §1).
func paymentInstallation(shopID, clientID string, installed []Installation) (Installation, *apierr.Error) {
	if clientID != "" {
		for _, in := range installed {
			if in.ClientID != clientID {
				continue
			}
			if !in.Ready {
				return in, apierr.Field(apierr.Conflict, "clientId", "ready", "app %s on shop %s is not ready: it has not reported account_authorize ready=true, and Genstore sends no payment to it", clientID, shopID)
			}
			return in, nil
		}
		return Installation{}, apierr.Field(apierr.NotFound, "clientId", "installed", "app %s is not installed on shop %s", clientID, shopID)
	}
	var ready []Installation
	for _, i := range installed {
		if i.Ready {
			ready = append(ready, i)
		}
	}
	switch {
	case len(ready) == 1:
		return ready[0], nil
	case len(ready) > 1:
		return Installation{}, apierr.Field(apierr.Missing, "clientId", "required", "is required: %d ready apps are installed on shop %s", len(ready), shopID)
	case len(installed) > 0:
		return Installation{}, apierr.Field(apierr.Conflict, "clientId", "ready", "no app installed on shop %s is ready (account_authorize ready=true): Genstore sends no payment", shopID)
	}
	return Installation{}, apierr.Field(apierr.Conflict, "clientId", "installed", "no payment app is installed on shop %s", shopID)
}

// operationURL is where a capture, void or refund is sent: Genstore starts
// no operation whose URL the app did not register.
func operationURL(app App, kind string) (string, *apierr.Error) {
	target := map[string]string{KindCapture: app.Endpoints.CaptureURL, KindVoid: app.Endpoints.VoidURL, KindRefund: app.Endpoints.RefundURL}[kind]
	if target == "" {
		return "", apierr.Field(apierr.Conflict, "paymentId", kind+"Url", "app %s registered no %sUrl", app.ClientID, kind)
	}
	return target, nil
}

// startOperation checks that the merchant may start an operation now and
// builds it (CONTRACT.md §3: a capture or void of a payment in 4
// auth_success, one at a time; refunds of a payment in 2 success, several,
// never more in total than was captured). A payment of the fixtures was never
// sent to an app, so it takes no operation. amount 0 means all there is.
// unchecked skips the amount limits (not the states), so that a test can see
// whether the app enforces them too.
func startOperation(p *Payment, kind, id string, amount int64, now time.Time, unchecked bool) (Operation, *apierr.Error) {
	op := Operation{Kind: kind, ID: id, Status: OpProcessing, CreatedAt: now}
	if p.Fixture && p.Request.URL == "" {
		return op, apierr.Field(apierr.Conflict, "paymentId", "fixture", "paymentId: %s is sample data of the fixtures, never sent to an app; create a payment to capture, void or refund", p.PaymentID)
	}
	state := func(want Status) *apierr.Error {
		return apierr.Field(apierr.Conflict, "paymentId", "state", "payment %s is in status %s (%s); a %s needs status %s (%s)", p.PaymentID, p.Status.Code(), p.Status, kind, want.Code(), want)
	}
	switch kind {
	case KindCapture, KindVoid:
		if !p.ManualCapture {
			return op, apierr.Field(apierr.Conflict, "paymentId", "manualCapture", "payment %s was captured with its authorization (manualCapture:false); there is nothing to %s", p.PaymentID, kind)
		}
		if p.Status != StatusAuthSuccess {
			return op, state(StatusAuthSuccess)
		}
		for _, k := range []string{KindCapture, KindVoid} {
			if o := p.pending(k); o != nil {
				return op, apierr.Field(apierr.Conflict, "paymentId", "pending", "%s %s of payment %s is still processing; wait for its result", k, o.ID, p.PaymentID)
			}
		}
		if kind == KindCapture {
			if amount == 0 {
				amount = p.Amount
			}
			if amount > p.Amount && !unchecked {
				return op, apierr.Field(apierr.Unprocessable, "amount", "maximum", "%s is more than the authorized %s", money.Format(amount, p.Currency), money.Format(p.Amount, p.Currency))
			}
			op.Amount = amount
		}
	case KindRefund:
		if p.Status != StatusSuccess {
			return op, state(StatusSuccess)
		}
		left := p.refundable()
		if amount == 0 {
			amount = left
		}
		refundedInFull := func() *apierr.Error {
			return apierr.Field(apierr.Unprocessable, "amount", "maximum", "payment %s is refunded in full (or the rest is being refunded)", p.PaymentID)
		}
		if amount <= 0 {
			return op, refundedInFull()
		}
		if left <= 0 && !unchecked {
			return op, refundedInFull()
		}
		if amount > left && !unchecked {
			return op, apierr.Field(apierr.Unprocessable, "amount", "maximum", "%s is more than can still be refunded (%s of the captured %s)", money.Format(amount, p.Currency), money.Format(left, p.Currency), money.Format(p.CapturedMinor, p.Currency))
		}
		op.Amount = amount
	}
	return op, nil
}

// ---------------------------------------------------------------- result rules

// callbackFits checks that a payment's result comes through the callback
// its capture mode calls for: payment/ for manualCapture:false,
// pre_authorize/ for manualCapture:true (CONTRACT.md §3). endpoint is the
// callback used; id is the payment id of its path.
func callbackFits(p *Payment, preAuth bool, endpoint, id string) *apierr.Error {
	if p.ManualCapture == preAuth {
		return nil
	}
	right, what := "pre_authorize", "manualCapture:true"
	if !p.ManualCapture {
		right, what = "payment", "manualCapture:false"
	}
	// The prefix stays: the message starts with the payment id, which could
	// start with "paymentId".
	return apierr.Field(apierr.Unprocessable, "paymentId", "callbackKind",
		"paymentId: %s is a %s payment: report its result with PUT /api/202412/app/%s/%s, not %s/", id, what, right, id, endpoint)
}

// settlePayment applies the first final result of a payment: paid (or
// authorized, for manualCapture) or failed. A payment that succeeds has
// captured its whole amount.
func settlePayment(p *Payment, res Result, st *settlement) error {
	if p.Result != nil {
		return repeat(p.Result, res, KindPayment, st)
	}
	ev := evFailed
	if res.Result {
		ev = evPaid
		if p.ManualCapture {
			ev = evAuthorized
		}
	}
	to, err := transitionPayment(p.Status, ev)
	if err != nil {
		return apierr.Field(apierr.Conflict, "pay.result", "state", "%v", err)
	}
	p.Status = to
	r := res
	p.Result = &r
	if to == StatusSuccess {
		p.CapturedMinor = p.Amount
		at := res.At
		p.SuccessAt = &at
	}
	return nil
}

// settleOperation applies the first final result of a capture, void or
// refund. A success moves the payment too: a capture (never above the
// authorized amount) to 2 success, a void to 3 auth_void; a refund of a
// successful payment adds to what is refunded, never above what was
// captured.
func settleOperation(p *Payment, op *Operation, res Result, st *settlement) error {
	st.OpFrom, st.OpTo = op.Status, op.Status
	if op.Result != nil {
		return repeat(op.Result, res, op.Kind, st)
	}
	to, err := transitionOperation(op.Status, res.Result)
	if err != nil {
		return apierr.Field(apierr.Conflict, "pay.result", "state", "%v", err)
	}
	if res.Result {
		switch op.Kind {
		case KindCapture, KindVoid:
			ev := evCaptured
			if op.Kind == KindVoid {
				ev = evVoided
			}
			pto, err := transitionPayment(p.Status, ev)
			if err != nil {
				return apierr.Field(apierr.Conflict, "pay.result", "state", "the %s cannot succeed: %v", op.Kind, err)
			}
			if op.Kind == KindCapture && op.Amount > p.Amount {
				return apierr.Field(apierr.Unprocessable, "pay.result", "captureLimit",
					"the capture of %s is more than the authorized %s", money.Format(op.Amount, p.Currency), money.Format(p.Amount, p.Currency))
			}
			p.Status = pto
			if op.Kind == KindCapture {
				p.CapturedMinor = op.Amount
				at := res.At
				p.SuccessAt = &at
			}
		case KindRefund:
			if p.Status != StatusSuccess {
				return apierr.Field(apierr.Conflict, "pay.result", "state", "the payment is in status %s (%s); only a successful payment is refunded", p.Status.Code(), p.Status)
			}
			if p.RefundedMinor+op.Amount > p.CapturedMinor {
				return apierr.Field(apierr.Unprocessable, "pay.result", "refundLimit",
					"the refund of %s would bring refunds to %s, more than the captured %s",
					money.Format(op.Amount, p.Currency), money.Format(p.RefundedMinor+op.Amount, p.Currency), money.Format(p.CapturedMinor, p.Currency))
			}
			p.RefundedMinor += op.Amount
		}
	}
	op.Status = to
	r := res
	op.Result = &r
	st.OpTo = to
	return nil
}

// repeat compares a result with the recorded one: a final result never
// changes, so the same result is a repeat (200) and a different result or
// channel id is refused (409). A channel id not reported before is filled in.
func repeat(rec *Result, res Result, kind string, st *settlement) error {
	name := channelIDName(kind)
	if rec.Result != res.Result {
		return apierr.Field(apierr.Conflict, "pay.result", "immutable",
			"the %s already has the final result %q (%s); a final result never changes", kind, strconv.FormatBool(rec.Result), rec.Source)
	}
	if res.ChannelID != "" && rec.ChannelID != "" && res.ChannelID != rec.ChannelID {
		return apierr.Field(apierr.Conflict, "pay."+name, "immutable",
			"differs from the %s already recorded for this %s; it never changes", name, kind)
	}
	st.Repeat = true
	if res.ChannelID != "" && rec.ChannelID == "" {
		rec.ChannelID = res.ChannelID
		st.Filled = true
		return nil
	}
	return errUnchanged
}
