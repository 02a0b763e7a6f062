package conformance

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/pspsim/pspsim/scenario"
	"github.com/pspsim/pspsim/simulator/genstore"
	"github.com/pspsim/pspsim/simulator/money"
	"github.com/pspsim/pspsim/simulator/pan"
)

// pspSteps: what the PSP's own records hold.
func pspSteps() scenario.Group {
	return scenario.Group{
		Name: "The PSP's records",
		Doc: "Verdicts from the PSP's side: the own records of the app's PSP of the payments created during the scenario by the app's credentials " +
			"(the card gateway's `GET /_sim/vmgateway/payments`, CodePay's `GET /_sim/codepay/transactions/{transNo}` told in the card gateway's words; " +
			"the journal says which were created when), their environment, captures and refunds.",
		Steps: []scenario.Step{
			{
				Pattern: `^the PSP holds exactly one payment of "([^"]*)", (CAPTURED|AUTHORIZED|FAILED|CANCELLED)$`,
				Doc:     "Exactly one payment of that amount was created at the PSP during the scenario, in that status (IDEMPOTENCY_DOUBLE_CHARGE, RESULT_CONTRADICTS_PSP).",
				Example: `And the PSP holds exactly one payment of "12.30", CAPTURED`,
				Func: func(ctx context.Context, amount, status string) error {
					w := mustWorld(ctx)
					p, err := w.onePSPPayment(ctx, amount)
					if err != nil {
						return err
					}
					if p.Status != status {
						o, _ := w.outcomeOf(ctx, genstore.KindPayment)
						return verdict(ResultContradictsPSP, append([]string{p.ref()}, describeOutcome(o)...), "the PSP's payment is %s, not %s", p.Status, status)
					}
					return nil
				},
			},
			{
				Pattern: `^the PSP holds no payment$`,
				Doc:     "Once the app is quiet: no payment was created at the PSP during the scenario (RESULT_CONTRADICTS_PSP).",
				Example: `And the PSP holds no payment`,
				Func: func(ctx context.Context) error {
					w := mustWorld(ctx)
					ps, err := w.settledPSPPayments(ctx)
					if err != nil {
						return err
					}
					if len(ps) == 0 {
						return nil
					}
					return verdict(ResultContradictsPSP, pspRefs(ps), "the PSP holds a payment this scenario never allowed: nothing may be charged")
				},
			},
			{
				Pattern: `^the app made no (capture |refund |void )?call to the PSP$`,
				Doc: "Once the app is quiet: no request that creates, captures, cancels or refunds a payment (of that kind, when named) reached the PSP with the app's credentials during the scenario — accepted, refused by the gateway or answered by a fault alike. " +
					"Token requests and inquiries do not count (CAPTURE_OVER_AUTHORIZED in a capture, SIGNATURE_NOT_ENFORCED in a @signature scenario, ECIES_ACCEPTED_TAMPERED in an @ecies one).",
				Example: `And the app made no capture call to the PSP`,
				Func: func(ctx context.Context, kind string) error {
					w := mustWorld(ctx)
					return w.expectNoCall(ctx, strings.TrimSpace(kind))
				},
			},
			{
				Pattern: `^the PSP captured "([^"]*)" of the payment$`,
				Doc:     "The scenario's PSP payment has that captured amount (CAPTURE_AMOUNT_WRONG).",
				Example: `And the PSP captured "12.00" of the payment`,
				Func: func(ctx context.Context, amount string) error {
					w := mustWorld(ctx)
					return w.checkCaptured(ctx, amount)
				},
			},
			{
				Pattern: `^the PSP captured nothing of the payment$`,
				Doc:     "The scenario's PSP payment captured nothing (CAPTURE_AMOUNT_WRONG).",
				Example: `And the PSP captured nothing of the payment`,
				Func: func(ctx context.Context) error {
					w := mustWorld(ctx)
					if err := w.settle(ctx); err != nil {
						return err
					}
					return w.checkCaptured(ctx, "0")
				},
			},
			{
				Pattern: `^the PSP released the payment without capturing it$`,
				Doc:     "The scenario's PSP payment is CANCELLED with nothing captured (VOID_NOT_RELEASED).",
				Example: `And the PSP released the payment without capturing it`,
				Func: func(ctx context.Context) error {
					w := mustWorld(ctx)
					p, err := w.onePSPPayment(ctx, w.amount)
					if err != nil {
						return err
					}
					if p.Status != "CANCELLED" || !zero(p.CapturedAmount, p.Currency) {
						return verdict(VoidNotReleased, []string{p.ref(), "captured " + p.CapturedAmount}, "the void was reported, and the PSP's payment is %s", p.Status)
					}
					return nil
				},
			},
			{
				Pattern: `^the PSP refunded "([^"]*)" of the payment in (\d+) refunds?$`,
				Doc:     "The PSP's refunds of the scenario's payment: that many (not failed), settled for that total (IDEMPOTENCY_DOUBLE_CHARGE, REFUND_AMOUNT_WRONG, REFUND_OVER_CAPTURE).",
				Example: `And the PSP refunded "40.00" of the payment in 2 refunds`,
				Func: func(ctx context.Context, amount string, n int) error {
					w := mustWorld(ctx)
					return w.checkRefunds(ctx, amount, n)
				},
			},
			{
				Pattern: `^the PSP refunded nothing of the payment$`,
				Doc:     "Once the app is quiet: the scenario's PSP payment has no refund that did not fail (REFUND_OVER_CAPTURE; SIGNATURE_NOT_ENFORCED in a @signature scenario).",
				Example: `And the PSP refunded nothing of the payment`,
				Func: func(ctx context.Context) error {
					w := mustWorld(ctx)
					if err := w.settle(ctx); err != nil {
						return err
					}
					return w.checkRefunds(ctx, "0", 0)
				},
			},
			{
				Pattern: `^the PSP processed every operation of this scenario in its (sandbox|live environment)$`,
				Doc:     "Every payment and refund the PSP created during the scenario, and every call the app made about them, ran with the credentials of that environment (TESTMODE_LIVE_CREDENTIALS, TESTMODE_SANDBOX_CREDENTIALS).",
				Example: `And the PSP processed every operation of this scenario in its sandbox`,
				Func: func(ctx context.Context, env string) error {
					w := mustWorld(ctx)
					if err := w.settle(ctx); err != nil {
						return err
					}
					want := strings.Fields(env)[0]
					return w.checkEnvironment(ctx, want)
				},
			},
			{
				Pattern: `^the PSP charged the canary card$`,
				Doc:     "The PSP's one payment of the scenario is of the canary card, masked (ECIES_WRONG_CARD).",
				Example: `And the PSP charged the canary card`,
				Func: func(ctx context.Context) error {
					w := mustWorld(ctx)
					p, err := w.onePSPPayment(ctx, w.amount)
					if err != nil {
						return err
					}
					if p.MaskedCardNo != pan.Mask(w.canary) {
						return verdict(ECIESWrongCard, []string{p.ref()}, "the buyer paid with %s and the PSP charged %s", pan.Mask(w.canary), p.MaskedCardNo)
					}
					return nil
				},
			},
			{
				Pattern: `^the app refused the PSP's notification whose signature does not verify$`,
				Doc: "The attempt of the PSP's notification that a fault sent with a broken signature was not acknowledged: the card gateway's webhook got no 2xx, " +
					"CodePay's notification no `success` (NOTIFICATION_UNVERIFIED).",
				Example: `And the app refused the PSP's notification whose signature does not verify`,
				Func: func(ctx context.Context) error {
					return mustWorld(ctx).checkForgedNotificationRefused(ctx)
				},
			},
			{
				Pattern: `^the PSP's notifications have been answered$`,
				Doc:     "Every webhook the PSP sent during the scenario has been answered (or is retried on its schedule), and the app has been quiet since.",
				Example: `And the PSP's notifications have been answered`,
				Func: func(ctx context.Context) error {
					w := mustWorld(ctx)
					err := w.waitFor(ctx, w.h.Timing.ResultWait, func() (bool, error) {
						evs, err := w.myEvents(ctx, "system", w.h.psp.system(), "kind", "delivery")
						if err != nil {
							return false, err
						}
						last := map[string]string{}
						for _, e := range evs {
							if e.str("deliveryKind") == w.h.psp.notificationKind() {
								last[fmt.Sprint(e.IDs)] = e.Kind
							}
						}
						for _, k := range last {
							if k == "delivery.deferred" {
								return false, nil
							}
						}
						return true, nil
					})
					if err != nil && !errors.Is(err, errWaited) {
						return err
					}
					return w.settle(ctx)
				},
			},
		},
	}
}

// settledPSPPayments waits until the app is quiet, then returns the PSP's
// payments of the scenario: a step that judges that the app never charged
// must first give it every chance to.
func (w *world) settledPSPPayments(ctx context.Context) ([]PSPPayment, error) {
	if err := w.settle(ctx); err != nil {
		return nil, err
	}
	return w.h.pspPayments(ctx, w.start)
}

// onePSPPayment returns the one payment the PSP created during the scenario,
// of the amount (and currency) Genstore asked for. It waits until the PSP
// holds a payment of the scenario (an app may charge after it acknowledged),
// then until the app is quiet, so that a second charge racing the first is
// counted too. More than one is a double charge; one of another amount is
// the amount rule broken, naming both amounts; none at all, a contradiction.
func (w *world) onePSPPayment(ctx context.Context, amount string) (PSPPayment, error) {
	if err := w.playRetries(ctx, genstore.KindPayment); err != nil {
		return PSPPayment{}, err
	}
	var ps []PSPPayment
	err := w.waitFor(ctx, w.h.Timing.ResultWait, func() (bool, error) {
		var err error
		ps, err = w.h.pspPayments(ctx, w.start)
		return len(ps) > 0, err
	})
	if err != nil && !errors.Is(err, errWaited) {
		return PSPPayment{}, err
	}
	if ps, err = w.settledPSPPayments(ctx); err != nil {
		return PSPPayment{}, err
	}
	o, _ := w.outcomeOf(ctx, genstore.KindPayment)
	ev := append(pspRefs(ps), describeOutcome(o)...)
	switch {
	case len(ps) > 1:
		return PSPPayment{}, verdict(IdempotencyDoubleCharge, ev, "Genstore payment %s was charged %d times at the PSP", w.paymentID, len(ps))
	case len(ps) == 0 && w.tags["ecies"] && w.vector != nil:
		return PSPPayment{}, verdict(ECIESRejectedValid, ev, "the app never charged the card of vector %s", w.vector.Name)
	case len(ps) == 0:
		if wrong, code, err := w.wrongEnvironment(ctx); err == nil && len(wrong) > 0 {
			return PSPPayment{}, verdict(code, append(wrong, ev...), "the app called the PSP's %s environment for a %s payment", otherEnv(w.live), modeText(w.live))
		}
		return PSPPayment{}, verdict(ResultContradictsPSP, ev, "the PSP holds no payment of %s from this scenario", amount)
	}
	p := ps[0]
	currency := w.currency
	if currency == "" {
		currency = p.Currency
	}
	if p.Currency != currency || !sameAmount(p.Amount, amount, currency) {
		return PSPPayment{}, verdict(PaymentAmountWrong, ev, "Genstore asked for %s %s, and the PSP charged %s %s", amount, currency, p.Amount, p.Currency)
	}
	return p, nil
}

func (w *world) checkCaptured(ctx context.Context, amount string) error {
	p, err := w.onePSPPayment(ctx, w.amount)
	if err != nil {
		return err
	}
	if !sameAmount(p.CapturedAmount, amount, p.Currency) {
		o, _ := w.outcomeOf(ctx, genstore.KindCapture)
		return verdict(CaptureAmountWrong, append([]string{p.ref(), "captured " + p.CapturedAmount}, describeOutcome(o)...), "the merchant's capture asked for %s and the PSP captured %s", amount, p.CapturedAmount)
	}
	return nil
}

func (w *world) checkRefunds(ctx context.Context, amount string, n int) error {
	p, err := w.onePSPPayment(ctx, w.amount)
	if err != nil {
		return err
	}
	var live []PSPRefund
	var total int64
	ev := []string{p.ref()}
	for _, r := range p.Refunds {
		ev = append(ev, fmt.Sprintf("PSP refund %s refundNumber %s: %s %s (%s)", r.RefundID, r.RefundNumber, r.Status, r.Amount, r.Environment))
		if r.Status == "FAILED" {
			continue
		}
		live = append(live, r)
		if r.Status == "SUCCEEDED" {
			v, _ := money.Parse(r.Amount, p.Currency)
			total += v
		}
	}
	want, err := money.Parse(amount, p.Currency)
	if err != nil {
		return fmt.Errorf("amount %q: %w", amount, err)
	}
	switch {
	case n == 0 && len(live) > 0 && w.tags["signature"]:
		return verdict(SignatureNotEnforced, ev, "the app refunded at the PSP for a request whose signature does not verify")
	case n == 0 && len(live) > 0:
		return verdict(RefundOverCapture, ev, "the app refunded at the PSP although the refund asked for more than could be refunded")
	case len(live) > n:
		return verdict(IdempotencyDoubleCharge, ev, "the PSP holds %d refunds of the payment, %d expected", len(live), n)
	case total != want:
		return verdict(RefundAmountWrong, ev, "the PSP refunded %s, the merchant's refunds add up to %s", money.Format(total, p.Currency), amount)
	case len(live) != n:
		return verdict(RefundAmountWrong, ev, "the PSP holds %d refunds of the payment, %d expected", len(live), n)
	}
	return nil
}

// checkEnvironment judges the environment of the scenario's PSP payments and
// of every call about them (docs/CONTRACT.md §6).
func (w *world) checkEnvironment(ctx context.Context, want string) error {
	ps, err := w.h.pspPayments(ctx, w.start)
	if err != nil {
		return err
	}
	if len(ps) == 0 {
		return verdict(ResultContradictsPSP, nil, "the PSP holds no payment from this scenario to judge its environment by")
	}
	if (want == "live") != w.live {
		return fmt.Errorf("the scenario's shop is in %s mode: it cannot expect the PSP's %s environment", modeText(w.live), want)
	}
	wrong, code, err := w.wrongEnvironment(ctx)
	if err != nil {
		return err
	}
	if len(wrong) > 0 {
		return verdict(code, wrong, "a %s payment's operations ran outside the PSP's %s environment", modeText(w.live), want)
	}
	return nil
}

// sameAmount compares two decimal amounts of a currency as minor units.
func sameAmount(a, b, currency string) bool {
	x, err1 := money.Parse(a, currency)
	y, err2 := money.Parse(b, currency)
	return err1 == nil && err2 == nil && x == y
}

func zero(a, currency string) bool { return sameAmount(a, "0", currency) }

// lessThan compares two decimal amounts of a currency as minor units.
func lessThan(a, b, currency string) bool {
	x, err1 := money.Parse(a, currency)
	y, err2 := money.Parse(b, currency)
	return err1 == nil && err2 == nil && x < y
}

// expectNoCall judges that the app made no call that moves money of a kind
// ("" for any) to the PSP during the scenario.
func (w *world) expectNoCall(ctx context.Context, kind string) error {
	if err := w.settle(ctx); err != nil {
		return err
	}
	calls, err := w.pspCalls(ctx)
	if err != nil {
		return err
	}
	mine := moneyCalls(calls, kind, w.start)
	if len(mine) == 0 {
		return nil
	}
	ev := callRefs(mine)
	if o, err := w.outcomeOf(ctx, orDefault(kind, genstore.KindPayment)); err == nil {
		ev = append(ev, describeOutcome(o)...)
	}
	switch {
	case w.tags["signature"]:
		return verdict(SignatureNotEnforced, ev, "the app called the PSP for a request whose signature does not verify")
	case w.tags["ecies"]:
		return verdict(ECIESAcceptedTampered, ev, "the app called the PSP for a card package that must be refused without any call")
	case kind == genstore.KindCapture:
		return verdict(CaptureOverAuthorized, ev, "the app sent the PSP a capture above the authorized amount instead of refusing it itself")
	case kind == genstore.KindRefund:
		return verdict(RefundOverCapture, ev, "the app sent the PSP a refund above what is left instead of refusing it itself")
	}
	return verdict(ResultContradictsPSP, ev, "the app called the PSP %d time(s) where the scenario allows no call", len(mine))
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// checkForgedNotificationRefused finds the notification attempts the
// scenario's tamper faults broke and judges the app's answer to each: the
// PSP's delivery attempt right after the firing, of the same message, must
// not be delivered (acknowledged).
func (w *world) checkForgedNotificationRefused(ctx context.Context) error {
	v := w.h.psp
	if err := w.settle(ctx); err != nil {
		return err
	}
	fired, err := w.faultsFired(ctx)
	if err != nil {
		return err
	}
	var forged []Event
	for _, f := range fired {
		if f.Kind == "fault.fired.tamper" && f.str("system") == v.system() {
			forged = append(forged, f)
		}
	}
	if len(forged) == 0 {
		// An app that takes no notifications (it subscribed to none, or gives
		// its PSP no notify URL) learns by inquiring: nothing was forged.
		evs, err := w.myEvents(ctx, "system", v.system(), "kind", "delivery.attempt")
		if err != nil {
			return err
		}
		for _, e := range evs {
			if e.str("deliveryKind") == v.notificationKind() {
				return fmt.Errorf("%s: the PSP notified the app, and no notification was sent with a broken signature: nothing to judge", e.ref())
			}
		}
		return nil
	}
	for _, f := range forged {
		want := map[string]string{}
		for k, id := range f.IDs {
			if k != "rule" {
				want[k] = id
			}
		}
		var attempt *Event
		err := w.waitFor(ctx, w.h.Timing.ResultWait, func() (bool, error) {
			evs, err := w.myEvents(ctx, "system", v.system(), "kind", "delivery.attempt")
			if err != nil {
				return false, err
			}
			for i, e := range evs {
				if e.Seq > f.Seq && e.str("deliveryKind") == v.notificationKind() && fmt.Sprint(e.IDs) == fmt.Sprint(want) {
					attempt = &evs[i]
					return true, nil
				}
			}
			return false, nil
		})
		if err != nil && !errors.Is(err, errWaited) {
			return err
		}
		if attempt == nil {
			return fmt.Errorf("%s: no attempt of the notification followed the fault", f.ref())
		}
		if attempt.str("outcome") == "delivered" {
			return verdict(NotificationUnverified, []string{f.ref(), attempt.ref() + ": " + attempt.Message},
				"the app acknowledged a %s notification whose signature does not verify", v.system())
		}
	}
	return nil
}
