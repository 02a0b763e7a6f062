package conformance

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/pspsim/pspsim/simulator/canary"
	"github.com/pspsim/pspsim/simulator/clock"
	"github.com/pspsim/pspsim/simulator/pan"
)

// The rules every scenario is judged by, whatever it is about. A scenario's
// steps judge what it sets out to show; then, once they have passed and the
// app is quiet, the After hook judges what no step names but the contract
// requires everywhere:
//
//  1. no card the scenario paid with appears anywhere it must not
//     (PRIVACY_CARD_LEAKED, docs/CONTRACT.md §5.3): Genstore registers every
//     such card with the simulator's canary registry, so the raw bytes of
//     every request the app sends Genstore or the PSP (outside the card's own
//     field) and of every answer it gives are searched — declines, 3-D
//     Secure failures, refused packages, refunds and voids alike — and the
//     suite searches the answers it reads from the app itself;
//  2. every answer to every delivery is an acknowledgement (ACK_MALFORMED)
//     or a status Genstore retries (ACK_MISSING) — duplicates included
//     (docs/CONTRACT.md §2.4, §2.5);
//  3. Genstore refused none of the app's callbacks (IMMUTABLE_CONTRADICTION,
//     RESULT_WITHOUT_REASON, CALLBACK_WRONG_KIND, INSTALL_STALE_TOKEN,
//     CALLBACK_REFUSED, ...: docs/CONTRACT.md §3);
//  4. every call to the PSP used the environment the shop's mode asks for
//     (TESTMODE_*, docs/CONTRACT.md §6).
//
// When several are broken, the first in this order is the verdict, so that
// the verdict of one app behaviour is always the same.
func (w *world) finalChecks(ctx context.Context) error {
	if err := w.settle(ctx); err != nil {
		return err
	}
	for _, check := range []func(context.Context) (*Verdict, error){w.leaks, w.badAnswers, w.anyRefusal, w.environmentCheck} {
		v, err := check(ctx)
		if err != nil {
			return err
		}
		if v != nil {
			return w.withFaults(ctx, v)
		}
	}
	return nil
}

// leaks finds the scenario's cards where they must not be.
func (w *world) leaks(ctx context.Context) (*Verdict, error) {
	if len(w.cards) == 0 {
		return nil, nil
	}
	mine := map[string]bool{}
	for _, c := range w.cards {
		mine[pan.Mask(c)] = true
	}
	evs, err := w.myEvents(ctx, "kind", "privacy.leak")
	if err != nil {
		return nil, err
	}
	var ev []string
	for _, e := range evs {
		if mine[e.IDs["canary"]] {
			ev = append(ev, fmt.Sprintf("%s: %s seen in %s (%s)", e.ref(), e.str("masked"), e.str("where"), e.str("part")))
		}
	}
	// The answers the suite read from the app itself never went through the
	// simulator: search them here.
	reg := canary.New(clock.NewReal(), nil)
	if _, err := reg.Add(w.cards, ""); err == nil {
		for _, a := range w.answers {
			for _, s := range reg.Check(a.what, "body", nil, a.body) {
				ev = append(ev, fmt.Sprintf("%s seen in the app's answer to %s (%s)", s.Masked, s.Where, s.Part))
			}
		}
	}
	if len(ev) == 0 {
		return nil, nil
	}
	return verdict(PrivacyCardLeaked, ev, "a card this scenario paid with appeared %d time(s) where card data must never be", len(ev)), nil
}

// badAnswers judges every answer the app gave to every delivery of the
// scenario's requests: Genstore journals the ones that are neither an
// acknowledgement nor a status it retries (answer.malformed, answer.final).
func (w *world) badAnswers(ctx context.Context) (*Verdict, error) {
	evs, err := w.myEvents(ctx, "system", "genstore", "kind", "answer", "shopId", w.shopID)
	if err != nil {
		return nil, err
	}
	var malformed, final []Event
	for _, e := range evs {
		switch e.Kind {
		case "answer.malformed":
			malformed = append(malformed, e)
		case "answer.final":
			final = append(final, e)
		}
	}
	switch {
	case len(malformed) > 0:
		return verdict(AckMalformed, eventRefs(malformed), "the app answered %d delivery(ies) with a 200 that is not the acknowledgement JSON of genstore-app.yaml", len(malformed)), nil
	case len(final) > 0:
		return verdict(AckMissing, eventRefs(final), "the app answered %d delivery(ies) of a signed, valid request with a status Genstore takes as final (HTTP %d): every delivery is acknowledged 200, or answered 5xx to be retried", len(final), final[0].num("status")), nil
	}
	return nil, nil
}

// anyRefusal judges every callback Genstore refused for the shop.
func (w *world) anyRefusal(ctx context.Context) (*Verdict, error) {
	refused, err := w.shopRefusals(ctx)
	if err != nil || len(refused) == 0 {
		return nil, err
	}
	return w.refusalVerdict(refused, nil), nil
}

// environmentCheck judges the environment of the scenario's PSP calls.
func (w *world) environmentCheck(ctx context.Context) (*Verdict, error) {
	wrong, code, err := w.wrongEnvironment(ctx)
	if err != nil || len(wrong) == 0 {
		return nil, err
	}
	return verdict(code, wrong, "a %s payment's operations ran outside the PSP's %s environment", modeText(w.live), envText(w.live)), nil
}

func modeText(live bool) string {
	if live {
		return "test:false"
	}
	return "test:true"
}

func envText(live bool) string {
	if live {
		return "live"
	}
	return "sandbox"
}

// shopRefusals returns the callbacks Genstore refused for the scenario's
// shop with a status that is the app's fault (not a 5xx, which is Genstore
// failing — the suite's own faults do that), oldest first. A refusal of a
// revoked token names its shop too (tokenRevoked).
func (w *world) shopRefusals(ctx context.Context) ([]Event, error) {
	evs, err := w.myEvents(ctx, "system", "genstore", "kind", "callback.refused", "shopId", w.shopID)
	if err != nil {
		return nil, err
	}
	var out []Event
	for _, e := range evs {
		if e.num("status") < http.StatusInternalServerError {
			out = append(out, e)
		}
	}
	return out, nil
}

// refusalVerdict names what Genstore's refusals of the app's callbacks mean,
// the most specific rule first. o, when given, is the operation a step was
// judging (its evidence is added).
func (w *world) refusalVerdict(refused []Event, o *outcome) *Verdict {
	ev := eventRefs(refused)
	what := "a callback"
	if o != nil {
		ev = append(ev, describeOutcome(*o)...)
		what = fmt.Sprintf("its callback for %s %s", o.kind, o.id)
	}
	for _, e := range refused {
		if e.num("status") == http.StatusConflict {
			return verdict(ImmutableContradiction, ev, "the app sent a callback that contradicts the final result Genstore already holds")
		}
	}
	for _, e := range refused {
		switch {
		case e.str("rule") == "callbackKind":
			return verdict(CallbackWrongKind, ev, "the app reported a payment with the callback of another kind of payment")
		case e.str("field") == "pay.reason" && e.str("rule") == "required":
			return verdict(ResultWithoutReason, ev, "the app reported a failure without a reason, and Genstore refused it")
		case e.str("rule") == "refundLimit":
			return verdict(RefundOverCapture, ev, "the app reported a refund successful although it goes beyond what was captured")
		case e.str("rule") == "captureLimit":
			return verdict(CaptureOverAuthorized, ev, "the app reported a capture successful for more than the authorized amount")
		case e.num("status") == http.StatusUnauthorized && (e.Data["tokenRevoked"] == true || w.reinstalled):
			return verdict(InstallStaleToken, ev, "after the reinstallation the app called Genstore with the access token of the earlier installation, which Genstore revoked")
		}
	}
	first := refused[0]
	return verdict(CallbackRefused, ev, "Genstore refused %s with HTTP %d: %s", what, first.num("status"), strings.TrimSpace(first.str("field")+" "+first.str("rule")))
}
