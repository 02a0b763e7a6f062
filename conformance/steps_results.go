package conformance

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/pspsim/pspsim/scenario"
	"github.com/pspsim/pspsim/simulator/genstore"
	"github.com/pspsim/pspsim/simulator/pan"
)

// resultSteps: what Genstore recorded.
func resultSteps() scenario.Group {
	return scenario.Group{
		Name: "Genstore's records",
		Doc: "Verdicts from Genstore's side: the acknowledgements, the results the app's callbacks brought and the callbacks Genstore refused. " +
			"A step that waits for the app waits at most suite.resultWait (wall time).",
		Steps: []scenario.Step{
			{
				Pattern: `^Genstore records the payment as (successful|authorized), reported by "(payment|pre_authorize)/"( after a retry)?$`,
				Doc:     "The payment's final result is \"true\", sent by the app to payment/ (a sale) or pre_authorize/ (an authorization); \"after a retry\" when the scenario failed the first callback on purpose (RESULT_MISSING, CALLBACK_WRONG_KIND, CALLBACK_NOT_RETRIED, IMMUTABLE_CONTRADICTION, RESULT_CONTRADICTS_PSP...).",
				Example: `Then Genstore records the payment as successful, reported by "payment/"`,
				Func: func(ctx context.Context, what, endpoint, retry string) error {
					w := mustWorld(ctx)
					if err := w.expectResult(ctx, genstore.KindPayment, true, endpoint, retry != ""); err != nil {
						return err
					}
					p, err := w.payment(ctx)
					if err != nil {
						return err
					}
					if want := map[string]string{"successful": "2", "authorized": "4"}[what]; p.Status != want {
						return verdict(CallbackWrongKind, []string{fmt.Sprintf("Genstore payment %s: status %s (%s)", p.PaymentID, p.Status, p.StatusName)}, "the payment should be %s (status %s)", what, want)
					}
					return nil
				},
			},
			{
				Pattern: `^Genstore records the payment as failed with a reason$`,
				Doc:     "The payment's final result is \"false\" with a reason, sent by callback (RESULT_MISSING, THREEDS_REJECTED_AUTHORIZED, RESULT_CONTRADICTS_PSP...).",
				Example: `Then Genstore records the payment as failed with a reason`,
				Func: func(ctx context.Context) error {
					w := mustWorld(ctx)
					return w.expectResult(ctx, genstore.KindPayment, false, "", false)
				},
			},
			{
				Pattern: `^Genstore records the (payment|capture) as failed, reported by the app or when Genstore's retries ran out$`,
				Doc: "The payment (or the latest capture) fails either way docs/CONTRACT.md §2.5 allows: the app acknowledges and reports \"false\" with a reason, or it answers 5xx (or nothing) " +
					"to every attempt until Genstore's retries run out. The suite moves Genstore's clock to each retry once the app has answered the attempt before " +
					"(RESULT_MISSING, ACK_MISSING, RESULT_CONTRADICTS_PSP...).",
				Example: `Then Genstore records the payment as failed, reported by the app or when Genstore's retries ran out`,
				Func: func(ctx context.Context, kind string) error {
					w := mustWorld(ctx)
					return w.expectFailure(ctx, kind)
				},
			},
			{
				Pattern: `^Genstore records the (capture|void|refund) as successful( after a retry)?$`,
				Doc:     "The latest capture, void or refund has the final result \"true\", sent by callback.",
				Example: `Then Genstore records the refund as successful`,
				Func: func(ctx context.Context, kind, retry string) error {
					w := mustWorld(ctx)
					return w.expectResult(ctx, kind, true, "", retry != "")
				},
			},
			{
				Pattern: `^Genstore records the (capture|void|refund) as failed with a reason$`,
				Doc:     "The latest capture, void or refund has the final result \"false\" with a reason (REFUND_OVER_CAPTURE, CAPTURE_AMOUNT_WRONG when it was reported successful).",
				Example: `Then Genstore records the refund as failed with a reason`,
				Func: func(ctx context.Context, kind string) error {
					w := mustWorld(ctx)
					return w.expectResult(ctx, kind, false, "", false)
				},
			},
			{
				Pattern: `^Genstore records the payment as successful, found by reconciliation$`,
				Doc:     "Genstore learnt the payment's success from the app's paymentQueryUrl (no callback got through).",
				Example: `Then Genstore records the payment as successful, found by reconciliation`,
				Func: func(ctx context.Context) error {
					w := mustWorld(ctx)
					p, err := w.payment(ctx)
					if err != nil {
						return err
					}
					ev := describeOutcome(paymentOutcome(p))
					for _, poll := range p.Reconciliation {
						ev = append(ev, fmt.Sprintf("reconciliation poll: HTTP %d, status %q, error %q, applied %t", poll.HTTP, poll.Status, pan.Scrub(poll.Error), poll.Applied))
					}
					switch {
					case p.Result != nil && p.Result.Result && p.Result.Source == genstore.SourceReconciliation:
						return nil
					case p.Result != nil && !p.Result.Result:
						return verdict(QueryMismatch, ev, "the app's query answered FAILURE for a payment the PSP approved")
					case len(p.Reconciliation) == 0:
						return verdict(ResultMissing, ev, "Genstore has no result and made no reconciliation poll")
					}
					last := p.Reconciliation[len(p.Reconciliation)-1]
					if last.HTTP != http.StatusOK || (last.Status != "SUCCESS" && last.Status != "FAILURE" && last.Status != "PROCESSING") {
						return verdict(QueryInvalid, ev, "the app's answer to Genstore's reconciliation query is not the query JSON of genstore-app.yaml")
					}
					return verdict(QueryMismatch, ev, "the app answered %s to the reconciliation query about a payment it had tried to report successful", last.Status)
				},
			},
			{
				Pattern: `^the app acknowledged the payment, and a channel payment id reached Genstore$`,
				Doc: "Genstore's first attempt got 200 with the acknowledgement JSON; once the payment succeeded, Genstore knows its channelPaymentId, " +
					"from the acknowledgement or from the callback (an app that acknowledges before it calls the PSP sends \"\" first) (ACK_MISSING, ACK_MALFORMED, RESULT_WITHOUT_CHANNEL_ID).",
				Example: `Then the app acknowledged the payment, and a channel payment id reached Genstore`,
				Func: func(ctx context.Context) error {
					w := mustWorld(ctx)
					o, err := w.outcomeOf(ctx, genstore.KindPayment)
					if err != nil {
						return err
					}
					switch {
					case o.ack == nil:
						if v := w.finalAnswer(ctx, o); v != nil {
							return v
						}
						return verdict(AckMissing, describeOutcome(o), "the app did not acknowledge payment %s with 200", o.id)
					case o.ack.Malformed != "":
						return verdict(AckMalformed, describeOutcome(o), "the acknowledgement of payment %s is not the JSON of genstore-app.yaml: %s", o.id, o.ack.Malformed)
					}
					if o, err = w.awaitResult(ctx, genstore.KindPayment); err != nil {
						return err
					}
					if o.result != nil && o.result.Result && o.ack.ChannelID == "" && o.result.ChannelID == "" {
						return verdict(ResultWithoutChannel, describeOutcome(o), "payment %s succeeded, and neither its acknowledgement nor its callback gave Genstore the PSP's channelPaymentId", o.id)
					}
					return nil
				},
			},
			{
				Pattern: `^the app acknowledged the payment with a redirect for the buyer$`,
				Doc:     "The acknowledgement of a challenged card carries redirectUrl (THREEDS_NO_REDIRECT).",
				Example: `Then the app acknowledged the payment with a redirect for the buyer`,
				Func: func(ctx context.Context) error {
					w := mustWorld(ctx)
					o, err := w.outcomeOf(ctx, genstore.KindPayment)
					if err != nil {
						return err
					}
					if o.ack == nil {
						return verdict(AckMissing, describeOutcome(o), "the app did not acknowledge payment %s with 200", o.id)
					}
					if o.ack.RedirectURL == "" {
						return verdict(ThreeDSNoRedirect, describeOutcome(o), "card %s needs a 3-D Secure challenge, and the acknowledgement of payment %s has no redirectUrl", pan.Mask(w.card), o.id)
					}
					return nil
				},
			},
			{
				Pattern: `^the buyer is back at the shop$`,
				Doc:     "Genstore's buyer reached paymentMethod.data.returnUrl (THREEDS_NO_RETURN).",
				Example: `Then the buyer is back at the shop`,
				Func: func(ctx context.Context) error {
					w := mustWorld(ctx)
					p, err := w.payment(ctx)
					if err != nil {
						return err
					}
					if p.Buyer.ReturnedAt == nil {
						evs, _ := w.myEvents(ctx, "system", "genstore", "kind", "buyer", "paymentId", p.PaymentID)
						return verdict(ThreeDSNoReturn, eventRefs(evs), "after the challenge the buyer's browser did not come back to the shop's return page")
					}
					return nil
				},
			},
			{
				Pattern: `^no callback contradicted a recorded result$`,
				Doc:     "Once the app is quiet: Genstore answered none of the shop's callbacks 409 (IMMUTABLE_CONTRADICTION).",
				Example: `And no callback contradicted a recorded result`,
				Func: func(ctx context.Context) error {
					w := mustWorld(ctx)
					evs, err := w.settledEvents(ctx, "system", "genstore", "kind", "callback.refused", "shopId", w.shopID)
					if err != nil {
						return err
					}
					var conflicts []Event
					for _, e := range evs {
						if e.num("status") == http.StatusConflict {
							conflicts = append(conflicts, e)
						}
					}
					if len(conflicts) > 0 {
						return w.withFaults(ctx, verdict(ImmutableContradiction, eventRefs(conflicts), "the app sent a callback that contradicts a final result Genstore already holds"))
					}
					return nil
				},
			},
			{
				Pattern: `^the app sent the payment's callback again after the lost answer$`,
				Doc:     "After Genstore processed a callback and the answer was lost, the app sent it again (CALLBACK_NOT_RETRIED).",
				Example: `And the app sent the payment's callback again after the lost answer`,
				Func: func(ctx context.Context) error {
					w := mustWorld(ctx)
					var fired, after []Event
					err := w.waitFor(ctx, w.h.Timing.ResultWait, func() (bool, error) {
						var err error
						if fired, err = w.faultsFired(ctx); err != nil || len(fired) == 0 {
							return false, err
						}
						cbs, err := w.callbacks(ctx, genstore.KindPayment, w.paymentID)
						if err != nil {
							return false, err
						}
						after = nil
						for _, c := range cbs {
							if c.Seq > fired[0].Seq {
								after = append(after, c)
							}
						}
						return len(after) > 0, nil
					})
					if errors.Is(err, errWaited) {
						return verdict(CallbackNotRetried, eventRefs(fired), "the app's callback reached Genstore but its answer was lost, and the app did not send it again within %s", w.h.Timing.ResultWait)
					}
					return err
				},
			},
			{
				Pattern: `^the (payment|capture|refund)'s result reached Genstore before its deadline$`,
				Doc:     "The suite waits for the result (suite.resultWait), moves Genstore's clock 31 s and reads Genstore's own deadline events (DEADLINE_MISSED).",
				Example: `Then the payment's result reached Genstore before its deadline`,
				Func: func(ctx context.Context, kind string) error {
					w := mustWorld(ctx)
					o, err := w.awaitResult(ctx, kind)
					if err != nil {
						return err
					}
					if err := w.advance(ctx, 31*time.Second); err != nil {
						return err
					}
					evs, err := w.myEvents(ctx, "system", "genstore", "kind", kind+".deadline_missed", kind+"Id", o.id)
					if err != nil {
						return err
					}
					if len(evs) > 0 {
						return verdict(DeadlineMissed, append(eventRefs(evs), describeOutcome(o)...), "no final result for %s %s within 30 s", kind, o.id)
					}
					if o.result == nil {
						if o, err = w.outcomeOf(ctx, kind); err != nil {
							return err
						}
						if o.result == nil {
							return verdict(ResultMissing, describeOutcome(o), "no final result for %s %s", kind, o.id)
						}
					}
					return nil
				},
			},
		},
	}
}

// The rows of TESTCARDS.md whose 3-D Secure outcome must never be
// authorized: N, R, U, a failed challenge, an abandoned one.
var threeDSFailureRows = map[string]bool{"03": true, "04": true, "05": true, "07": true, "08": true}

// awaitResult waits for the final result of the scenario's payment (or its
// latest capture, void or refund). It returns early when Genstore refused one
// of the shop's callbacks and no result followed within the quiet time (the
// refusal is the verdict), and when the request failed at Genstore.
func (w *world) awaitResult(ctx context.Context, kind string) (outcome, error) {
	if err := w.playRetries(ctx, kind); err != nil {
		return outcome{}, err
	}
	var o outcome
	var firstRefusal time.Time
	err := w.waitFor(ctx, w.h.Timing.ResultWait, func() (bool, error) {
		var err error
		if o, err = w.outcomeOf(ctx, kind); err != nil {
			return false, err
		}
		if o.result != nil {
			return true, nil
		}
		refused, err := w.shopRefusals(ctx)
		if err != nil {
			return false, err
		}
		if len(refused) > 0 {
			if firstRefusal.IsZero() {
				firstRefusal = time.Now()
			}
			return time.Since(firstRefusal) >= w.h.Timing.Quiet, nil
		}
		return false, nil
	})
	if errors.Is(err, errWaited) {
		err = nil
	}
	return o, err
}

// expectResult waits for the operation's final result and judges it: it
// came by callback (endpoint, when given, is the one it came to: payment or
// pre_authorize), says success or failure as expected, with a reason when it
// is a failure; after a retry, when the callback's first attempt was failed
// on purpose.
//
// A result that is missing or not the expected one is judged only once the
// app is quiet, and the verdict names the most specific rule broken, in this
// order: a callback Genstore refused (its own precedence: refusalVerdict), a
// PSP call in the wrong environment, a request the app answered with a final
// status, then the result itself. So one app behaviour always gets one
// verdict, whatever order its messages raced in.
func (w *world) expectResult(ctx context.Context, kind string, success bool, endpoint string, retried bool) error {
	o, err := w.awaitResult(ctx, kind)
	if err != nil {
		return err
	}
	refused, err := w.shopRefusals(ctx)
	if err != nil {
		return err
	}
	if o.result == nil || o.result.Result != success || o.result.Source != genstore.SourceCallback || len(refused) > 0 {
		if err := w.settle(ctx); err != nil {
			return err
		}
		if o, err = w.outcomeOf(ctx, kind); err != nil {
			return err
		}
		if refused, err = w.shopRefusals(ctx); err != nil {
			return err
		}
	}
	if len(refused) > 0 {
		return w.withFaults(ctx, w.refusalVerdict(refused, &o))
	}
	if o.result == nil || o.result.Result != success || o.result.Source != genstore.SourceCallback {
		wrong, code, err := w.wrongEnvironment(ctx)
		if err != nil {
			return err
		}
		if len(wrong) > 0 {
			return verdict(code, append(wrong, describeOutcome(o)...), "a %s payment's %s went to the PSP's %s environment, not its %s",
				modeText(w.live), o.kind, otherEnv(w.live), envText(w.live))
		}
	}
	if v := w.notAcknowledged(ctx, o); v != nil {
		return v
	}
	if o.result == nil {
		ev := describeOutcome(o)
		if retried {
			fired, _ := w.faultsFired(ctx)
			if len(fired) > 0 {
				return verdict(CallbackNotRetried, append(eventRefs(fired), ev...), "Genstore failed the app's callback for %s %s once on purpose, and no later callback came within %s", kind, o.id, w.h.Timing.ResultWait)
			}
		}
		return verdict(ResultMissing, ev, "no final result for %s %s came within %s", kind, o.id, w.h.Timing.ResultWait)
	}
	if o.result.Source != genstore.SourceCallback {
		return verdict(ResultMissing, describeOutcome(o), "the result of %s %s was not reported by callback: Genstore recorded it from %s", kind, o.id, o.result.Source)
	}
	if o.result.Result != success {
		return w.wrongResult(ctx, o, success)
	}
	if !success && strings.TrimSpace(o.result.Reason) == "" {
		return verdict(ResultWithoutReason, describeOutcome(o), "the failure of %s %s has no reason", kind, o.id)
	}
	cbs, err := w.callbacks(ctx, kind, o.id)
	if err != nil {
		return err
	}
	if endpoint != "" {
		for _, c := range cbs {
			if got := c.str("endpoint"); got != endpoint {
				return verdict(CallbackWrongKind, eventRefs([]Event{c}), "the result of %s %s came to %s/, not %s/", kind, o.id, got, endpoint)
			}
		}
	}
	if retried {
		fired, err := w.faultsFired(ctx)
		if err != nil {
			return err
		}
		if len(fired) == 0 {
			return fmt.Errorf("the fault this scenario set up never fired: the app sent no callback it could fail")
		}
	}
	return nil
}

func otherEnv(live bool) string { return envText(!live) }

// notAcknowledged says why Genstore holds no callback result because of how
// the app answered its request: a final status (another 4xx, a 3xx) that
// failed the operation at Genstore, or no 200 before Genstore's retries ran
// out (docs/CONTRACT.md §2.5). nil when the app acknowledged it.
func (w *world) notAcknowledged(ctx context.Context, o outcome) *Verdict {
	if o.ack != nil || o.result == nil || o.result.Source != genstore.SourceDelivery {
		return nil
	}
	if v := w.finalAnswer(ctx, o); v != nil {
		return v
	}
	return verdict(AckMissing, describeOutcome(o), "the app never acknowledged Genstore's %s request with 200, and Genstore failed it when its retries ran out", o.kind)
}

// finalAnswer is the verdict on an operation whose request the app answered
// with a status Genstore takes as final (answer.final), or nil.
func (w *world) finalAnswer(ctx context.Context, o outcome) *Verdict {
	finals, _ := w.myEvents(ctx, "system", "genstore", "kind", "answer.final", o.kind+"Id", o.id)
	if len(finals) == 0 {
		return nil
	}
	return verdict(AckMissing, append(eventRefs(finals), describeOutcome(o)...), "the app answered Genstore's %s request with HTTP %d, which is final: Genstore failed the %s without a result from the app", o.kind, finals[0].num("status"), o.kind)
}

// wrongResult explains a result that is the opposite of the expected one,
// from the PSP's side.
func (w *world) wrongResult(ctx context.Context, o outcome, success bool) error {
	ps, err := w.h.pspPayments(ctx, w.start)
	if err != nil {
		return err
	}
	ev := append(describeOutcome(o), pspRefs(ps)...)
	if !success && o.kind == genstore.KindPayment && threeDSFailureRows[w.cardRow] {
		return verdict(ThreeDSRejectedAuthorized, ev, "card row %s fails 3-D Secure (TESTCARDS.md), and the app reported payment %s successful", w.cardRow, o.id)
	}
	if !success && o.kind == genstore.KindRefund {
		if refundFailedAtPSP(ps) {
			return verdict(ResultContradictsPSP, ev, "the PSP failed to settle refund %s, and the app reported it successful: a refund is reported once the PSP has settled it", o.id)
		}
		return verdict(RefundOverCapture, ev, "the app reported refund %s successful although it goes beyond what was captured", o.id)
	}
	if !success && o.kind == genstore.KindCapture {
		if op := o.payment.op(o.kind, o.id); op != nil && !sameAmount(op.Amount, o.payment.Amount, o.payment.Currency) && !lessThan(op.Amount, o.payment.Amount, o.payment.Currency) {
			return verdict(CaptureOverAuthorized, ev, "the app reported capture %s of %s successful although only %s is authorized", o.id, op.Amount, o.payment.Amount)
		}
		return verdict(ResultContradictsPSP, ev, "the PSP never captured capture %s, and the app reported it successful", o.id)
	}
	if success {
		return verdict(ResultContradictsPSP, ev, "the PSP approves this %s, and the app reported %s %s failed", o.kind, o.kind, o.id)
	}
	return verdict(ResultContradictsPSP, ev, "the PSP refuses this %s, and the app reported %s %s successful", o.kind, o.kind, o.id)
}

// refundFailedAtPSP reports whether a refund of the scenario failed at the PSP.
func refundFailedAtPSP(ps []PSPPayment) bool {
	for _, p := range ps {
		for _, r := range p.Refunds {
			if r.Status == "FAILED" {
				return true
			}
		}
	}
	return false
}

// withFaults adds the scenario's fault firings to a verdict's evidence: what
// the PSP or Genstore did on purpose, beside what the app did about it.
func (w *world) withFaults(ctx context.Context, v *Verdict) *Verdict {
	if fired, err := w.faultsFired(ctx); err == nil {
		v.Evidence = append(v.Evidence, eventRefs(fired)...)
	}
	return v
}

// faultsFired returns the firings of the scenario's fault rules.
func (w *world) faultsFired(ctx context.Context) ([]Event, error) {
	var out []Event
	for _, id := range w.rules {
		evs, err := w.myEvents(ctx, "system", "faults", "kind", "fault.fired", "rule", id)
		if err != nil {
			return nil, err
		}
		out = append(out, evs...)
	}
	return out, nil
}

// expectFailure judges an operation that must fail, by the app's report or
// by Genstore giving up when the app declined every attempt (5xx, no answer:
// docs/CONTRACT.md §2.5). Either way is right; a final 4xx is not.
func (w *world) expectFailure(ctx context.Context, kind string) error {
	if err := w.playRetries(ctx, kind); err != nil {
		return err
	}
	o, err := w.outcomeOf(ctx, kind)
	if err != nil {
		return err
	}
	if o.ack == nil && o.result != nil && !o.result.Result && o.result.Source == genstore.SourceDelivery {
		if v := w.finalAnswer(ctx, o); v != nil {
			return v // a final 4xx is not "retries ran out"
		}
		return nil // Genstore's retries ran out: the operation failed, as the contract allows
	}
	return w.expectResult(ctx, kind, false, "", false)
}

// playRetries plays Genstore's retry schedule of an operation whose request
// the app declined for now — a 5xx, 408, 429, or no answer (docs/CONTRACT.md
// §2.5 allows it: Genstore retries on its schedule). Each retry comes once
// the app has done what it owes for the attempt before, until the app
// acknowledges, a result comes, or Genstore's retries run out. The clock is
// Genstore's: an app that asks for a retry gets it, whenever a step waits for
// what the operation leads to.
func (w *world) playRetries(ctx context.Context, kind string) error {
	for {
		o, err := w.outcomeOf(ctx, kind)
		if err != nil {
			return nil // no such operation yet: nothing to retry
		}
		if o.result != nil || o.ack != nil || o.request.State != genstore.DeliveryPending || o.request.Attempts == 0 {
			return nil
		}
		next, err := w.nextRetry(ctx, kind, o.id, o.request.Attempts)
		if err != nil || next <= 0 {
			return err
		}
		if err := w.advance(ctx, next); err != nil {
			return err
		}
	}
}

// nextRetry returns how long after attempt n Genstore makes its next attempt
// of an operation (its delivery.scheduled event), or 0 when none is scheduled.
func (w *world) nextRetry(ctx context.Context, kind, id string, n int) (time.Duration, error) {
	evs, err := w.myEvents(ctx, "system", "genstore", "kind", "delivery.scheduled", kind+"Id", id)
	if err != nil {
		return 0, err
	}
	for i := len(evs) - 1; i >= 0; i-- {
		if e := evs[i]; e.str("deliveryKind") == kind && e.num("attempt") == n+1 {
			d, err := time.ParseDuration(e.str("in"))
			if err != nil {
				return 0, fmt.Errorf("%s: %w", e.ref(), err)
			}
			return d, nil
		}
	}
	return 0, nil
}
