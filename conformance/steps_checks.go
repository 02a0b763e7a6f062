package conformance

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/pspsim/pspsim/scenario"
	"github.com/pspsim/pspsim/simulator/genstore"
	"github.com/pspsim/pspsim/simulator/pan"
)

// checkSteps: card data, signatures, queries.
func checkSteps() scenario.Group {
	return scenario.Group{
		Name: "Card data, signatures and queries",
		Doc:  "The ECIES vectors, canary cards, requests whose signature does not verify, and the query endpoints.",
		Steps: []scenario.Step{
			{
				Pattern: `^the app judged the vector as it expects$`,
				Doc:     "An ok vector: the payment succeeded and the PSP charged the vector's card. A fail vector: no PSP payment, and the result \"false\" with a reason (ECIES_ACCEPTED_TAMPERED, ECIES_REJECTED_VALID, ECIES_WRONG_CARD).",
				Example: `Then the app judged the vector as it expects`,
				Func: func(ctx context.Context) error {
					w := mustWorld(ctx)
					if w.vector == nil {
						return errors.New(`no vector: start with When a buyer pays "19.00" with the ECIES vector "visa-ok"`)
					}
					return w.judgeVector(ctx, *w.vector)
				},
			},
			{
				Pattern: `^no card this scenario paid with was seen where it must not be$`,
				Doc: "Once the app is quiet: none of the scenario's cards (test cards, the canary, an ECIES vector's card) was seen in what the app sent Genstore or answered, " +
					"nor in a PSP request outside the card's field (journal privacy.leak), nor in an answer the suite read from the app itself (PRIVACY_CARD_LEAKED, with where it was seen). " +
					"Every scenario ends with this check; this step makes it explicit.",
				Example: `And no card this scenario paid with was seen where it must not be`,
				Func: func(ctx context.Context) error {
					w := mustWorld(ctx)
					if err := w.settle(ctx); err != nil {
						return err
					}
					v, err := w.leaks(ctx)
					if err != nil || v == nil {
						return err
					}
					return v
				},
			},
			{
				Pattern: `^a payment request signed 10 minutes (ago|from now) is sent to the app$`,
				Doc:     "The suite sends the app a Payment Object for a payment id Genstore never issued, correctly signed but with a timestamp 600 s off the wall clock (docs/CONTRACT.md §2 allows 300 s).",
				Example: `When a payment request signed 10 minutes ago is sent to the app`,
				Func: func(ctx context.Context, when string) error {
					w := mustWorld(ctx)
					d := 10 * time.Minute
					if when == "ago" {
						d = -d
					}
					return w.directPayment(ctx, d)
				},
			},
			{
				Pattern: `^the app answers 401$`,
				Doc:     "The app answered the suite's last direct request with 401 (SIGNATURE_NOT_ENFORCED).",
				Example: `Then the app answers 401`,
				Func: func(ctx context.Context) error {
					w := mustWorld(ctx)
					if w.direct == nil {
						return errors.New("the suite sent the app nothing directly in this scenario")
					}
					if w.direct.status != http.StatusUnauthorized {
						return verdict(SignatureNotEnforced, []string{w.direct.describe()}, "%s was not refused with 401", w.direct.what)
					}
					return nil
				},
			},
			{
				Pattern: `^the app refused the (payment|capture|void|refund) request with 401$`,
				Doc:     "Genstore's request got 401 from the app (SIGNATURE_NOT_ENFORCED).",
				Example: `Then the app refused the payment request with 401`,
				Func: func(ctx context.Context, kind string) error {
					w := mustWorld(ctx)
					o, err := w.outcomeOf(ctx, kind)
					if err != nil {
						return err
					}
					if o.request.LastStatus != http.StatusUnauthorized {
						return verdict(SignatureNotEnforced, describeOutcome(o), "the app answered a %s request whose hmac does not verify with HTTP %d, not 401", kind, o.request.LastStatus)
					}
					return nil
				},
			},
			{
				Pattern: `^the app sent no callback about the payment$`,
				Doc:     "Once the app is quiet: Genstore received no callback about the payment, accepted or refused (SIGNATURE_NOT_ENFORCED).",
				Example: `And the app sent no callback about the payment`,
				Func: func(ctx context.Context) error {
					w := mustWorld(ctx)
					id := w.paymentID
					if w.directPaymentID != "" {
						id = w.directPaymentID
					}
					evs, err := w.settledEvents(ctx, "system", "genstore", "kind", "callback", "paymentId", id)
					if err != nil {
						return err
					}
					if len(evs) > 0 {
						return verdict(SignatureNotEnforced, eventRefs(evs), "the app reported a result for payment %s, whose request it should have refused", id)
					}
					return nil
				},
			},
			{
				Pattern: `^Genstore asks the app about the (payment|refund)$`,
				Doc:     "Genstore polls the app's query endpoint (as reconciliation does), and the suite asks the same, signed, to read the raw answer.",
				Example: `When Genstore asks the app about the payment`,
				Func: func(ctx context.Context, kind string) error {
					w := mustWorld(ctx)
					id := w.paymentID
					body := map[string]any{}
					if kind == genstore.KindRefund {
						id = w.ops[genstore.KindRefund]
						body["refundId"] = id
					}
					if id == "" {
						return fmt.Errorf("no %s yet in this scenario", kind)
					}
					var out struct {
						Poll gsPoll `json:"poll"`
					}
					if err := w.h.admin(ctx, "POST", w.shopPath()+"/payments/"+url.PathEscape(w.paymentID)+"/reconcile", body, http.StatusOK, &out); err != nil {
						return err
					}
					q, err := w.ask(ctx, kind, id, false)
					if err != nil {
						return err
					}
					q.poll = &out.Poll
					return nil
				},
			},
			{
				Pattern: `^Genstore asks the app about a (payment|refund) it never sent$`,
				Doc:     "The suite asks the app's query endpoint, signed, about an id Genstore never issued.",
				Example: `When Genstore asks the app about a payment it never sent`,
				Func: func(ctx context.Context, kind string) error {
					w := mustWorld(ctx)
					prefix := map[string]string{genstore.KindPayment: "PI", genstore.KindRefund: "RI"}[kind]
					_, err := w.ask(ctx, kind, fmt.Sprintf("%sNEVER%s%s", prefix, w.h.run, w.shopID), false)
					return err
				},
			},
			{
				Pattern: `^the app is asked about the payment with a forged hmac$`,
				Doc:     "The suite asks the app's paymentQueryUrl about the scenario's payment with an hmac that does not verify.",
				Example: `When the app is asked about the payment with a forged hmac`,
				Func: func(ctx context.Context) error {
					w := mustWorld(ctx)
					q, err := w.ask(ctx, genstore.KindPayment, w.paymentID, true)
					if err != nil {
						return err
					}
					w.direct = &q.ans
					return nil
				},
			},
			{
				Pattern: `^the app's answer follows genstore-app.yaml and agrees with the recorded result$`,
				Doc:     "The query's answer is 200 with the JSON of genstore-app.yaml, and says what Genstore recorded: SUCCESS, FAILURE or PROCESSING, the same channel id (QUERY_INVALID, QUERY_MISMATCH).",
				Example: `Then the app's answer follows genstore-app.yaml and agrees with the recorded result`,
				Func: func(ctx context.Context) error {
					w := mustWorld(ctx)
					return w.judgeQuery(ctx)
				},
			},
			{
				Pattern: `^the app's answer is 404 as genstore-app.yaml says$`,
				Doc:     "The query about an unknown id is answered 404 with genstore-app.yaml's error JSON (QUERY_UNKNOWN_ID, QUERY_INVALID).",
				Example: `Then the app's answer is 404 as genstore-app.yaml says`,
				Func: func(ctx context.Context) error {
					w := mustWorld(ctx)
					if w.query == nil {
						return errors.New("the app was asked nothing in this scenario")
					}
					a := w.query.ans
					if a.status != http.StatusNotFound {
						return verdict(QueryUnknownID, []string{a.describe()}, "the app answered a query about %s %s, which it never received, with HTTP %d", w.query.kind, w.query.id, a.status)
					}
					if msg := w.h.checkAnswer(ctx, w.query.path, "GET", a.status, a.body); msg != "" {
						return verdict(QueryInvalid, []string{a.describe()}, "%s", msg)
					}
					return nil
				},
			},
		},
	}
}

// judgeQuery compares the app's query answer with the spec and with what
// Genstore recorded.
func (w *world) judgeQuery(ctx context.Context) error {
	q := w.query
	if q == nil {
		return errors.New("the app was asked nothing in this scenario")
	}
	ev := []string{q.ans.describe()}
	if q.poll != nil {
		ev = append(ev, fmt.Sprintf("Genstore's poll: HTTP %d, status %q, channel id %q, error %q", q.poll.HTTP, q.poll.Status, q.poll.ChannelID, pan.Scrub(q.poll.Error)))
	}
	if q.ans.status != http.StatusOK {
		return verdict(QueryInvalid, ev, "the app answered the query about %s %s with HTTP %d", q.kind, q.id, q.ans.status)
	}
	if msg := w.h.checkAnswer(ctx, q.path, "GET", q.ans.status, q.ans.body); msg != "" {
		return verdict(QueryInvalid, ev, "%s", msg)
	}
	var got struct {
		Status           string `json:"status"`
		ChannelPaymentID string `json:"channelPaymentId"`
		ChannelRefundID  string `json:"channelRefundId"`
	}
	json.Unmarshal(q.ans.body, &got)
	channel := got.ChannelPaymentID
	if q.kind == genstore.KindRefund {
		channel = got.ChannelRefundID
	}
	o, err := w.outcomeOf(ctx, q.kind)
	if err != nil {
		return err
	}
	ev = append(ev, describeOutcome(o)...)
	want := "PROCESSING"
	if o.result != nil {
		want = map[bool]string{true: "SUCCESS", false: "FAILURE"}[o.result.Result]
	}
	if got.Status != want {
		return verdict(QueryMismatch, ev, "the app's query answers %s for %s %s, whose recorded result means %s", got.Status, q.kind, q.id, want)
	}
	if o.result != nil && o.result.ChannelID != "" && channel != o.result.ChannelID {
		return verdict(QueryMismatch, ev, "the app's query answers channel id %q, the callback reported %q", channel, o.result.ChannelID)
	}
	if q.poll != nil && q.poll.Status != "" && q.poll.Status != want {
		return verdict(QueryMismatch, ev, "the app answered Genstore's poll %s, the recorded result means %s", q.poll.Status, want)
	}
	return nil
}

// judgeVector checks what the app did with an ECIES vector.
func (w *world) judgeVector(ctx context.Context, v vector) error {
	if v.Expect == "ok" {
		if err := w.expectResult(ctx, genstore.KindPayment, true, "payment", false); err != nil {
			var vd *Verdict
			if errors.As(err, &vd) && vd.Code == ResultContradictsPSP {
				vd.Code = ECIESRejectedValid
				vd.Detail = fmt.Sprintf("vector %s decrypts to card %s, and the app refused it: %s", v.Name, v.masked(), vd.Detail)
			}
			return err
		}
		p, err := w.onePSPPayment(ctx, w.amount)
		if err != nil {
			return err
		}
		if p.MaskedCardNo != v.masked() {
			return verdict(ECIESWrongCard, []string{p.ref()}, "vector %s holds card %s and the PSP charged %s", v.Name, v.masked(), p.MaskedCardNo)
		}
		return nil
	}
	o, err := w.awaitResult(ctx, genstore.KindPayment)
	if err != nil {
		return err
	}
	// No call to the PSP means none: one the PSP refused (an empty or made-up
	// card) counts as much as a charge (docs/CONTRACT.md §5.2).
	if err := w.settle(ctx); err != nil {
		return err
	}
	calls, err := w.pspCalls(ctx)
	if err != nil {
		return err
	}
	if mine := moneyCalls(calls, "", w.start); len(mine) > 0 {
		ps, _ := w.h.pspPayments(ctx, w.start)
		ev := append([]string{fmt.Sprintf("vector %s: %s", v.Name, v.Why)}, callRefs(mine)...)
		ev = append(append(ev, pspRefs(ps)...), describeOutcome(o)...)
		return verdict(ECIESAcceptedTampered, ev, "the app called the PSP %d time(s) for a card package that must be refused without any call", len(mine))
	}
	if o.result != nil && o.result.Result {
		return verdict(ECIESAcceptedTampered, append([]string{fmt.Sprintf("vector %s: %s", v.Name, v.Why)}, describeOutcome(o)...), "the app reported a payment whose card package must be refused successful")
	}
	return w.expectResult(ctx, genstore.KindPayment, false, "", false)
}
