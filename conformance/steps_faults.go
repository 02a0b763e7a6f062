package conformance

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"time"

	"github.com/pspsim/pspsim/scenario"
)

// faultSteps: the fault rules of a scenario, in the contract's words. Every
// rule is removed when the scenario ends.
func faultSteps() scenario.Group {
	rule := func(pattern, doc, example string, build func(w *world, args []string) map[string]any) scenario.Step {
		do := func(ctx context.Context, args ...string) error {
			w := mustWorld(ctx)
			return w.addRule(ctx, build(w, args))
		}
		// godog matches a step function's parameters to the pattern's groups.
		var f any
		switch regexp.MustCompile(pattern).NumSubexp() {
		case 0:
			f = func(ctx context.Context) error { return do(ctx) }
		case 1:
			f = func(ctx context.Context, a string) error { return do(ctx, a) }
		default:
			f = func(ctx context.Context, a, b string) error { return do(ctx, a, b) }
		}
		return scenario.Step{Pattern: pattern, Doc: doc, Example: example, Func: f}
	}
	callbacks := []string{"updatePaymentResult", "updatePreAuthorizationResult", "updateCaptureResult", "updateVoidResult", "updateRefundResult"}
	once := map[string]any{"first": 1}
	return scenario.Group{
		Name: "Failures",
		Doc: "Failures the suite provokes with the simulator's fault engine (`POST /_sim/faults`), scoped to the scenario's shop where the " +
			"message names one. \"next\" means the first matching call or message only.",
		Steps: []scenario.Step{
			rule(`^Genstore delivers the next "(payment|capture|void|refund)" request twice in a row$`,
				"Genstore sends its next request of that kind to the app twice, byte-identical, one after the other.",
				`Given Genstore delivers the next "payment" request twice in a row`,
				func(w *world, a []string) map[string]any {
					return map[string]any{"match": map[string]any{"system": "genstore", "operation": a[0], "shop": w.shopID}, "action": map[string]any{"type": "duplicate", "copies": 1}, "frequency": once}
				}),
			rule(`^Genstore delivers the next "(payment|capture|void|refund)" request (\d+) times at the same moment$`,
				"Genstore sends its next request of that kind n times at once (2 to 11).",
				`Given Genstore delivers the next "payment" request 3 times at the same moment`,
				func(w *world, a []string) map[string]any {
					n := atoi(a[1])
					return map[string]any{"match": map[string]any{"system": "genstore", "operation": a[0], "shop": w.shopID}, "action": map[string]any{"type": "duplicate", "copies": max(n-1, 1), "concurrent": true}, "frequency": once}
				}),
			rule(`^Genstore sends the next "(payment|capture|void|refund)" request with a forged hmac$`,
				"Genstore's next request of that kind carries an hmac that does not verify.",
				`Given Genstore sends the next "payment" request with a forged hmac`,
				func(w *world, a []string) map[string]any {
					return map[string]any{"match": map[string]any{"system": "genstore", "operation": a[0], "shop": w.shopID}, "action": map[string]any{"type": "tamper"}, "frequency": once}
				}),
			rule(`^the PSP is slow to answer the next payment by "([^"]*)"$`,
				"The PSP answers the app's next payment request late (wall time): the card gateway's createPayment, CodePay's pay.merchant.checkout.",
				`Given the PSP is slow to answer the next payment by "300ms"`,
				func(w *world, a []string) map[string]any {
					return map[string]any{"match": w.pspMatch("createPayment"), "action": map[string]any{"type": "latency", "delay": a[0]}, "frequency": once}
				}),
			rule(`^the PSP is slow to answer the next payment, past Genstore's request timeout$`,
				"The PSP answers the app's next payment request 500 ms after Genstore stops waiting for the app's acknowledgement (suite.requestTimeout).",
				`Given the PSP is slow to answer the next payment, past Genstore's request timeout`,
				func(w *world, a []string) map[string]any {
					d := w.h.Timing.RequestTimeout + 500*time.Millisecond
					return map[string]any{"match": w.pspMatch("createPayment"), "action": map[string]any{"type": "latency", "delay": d.String()}, "frequency": once}
				}),
			rule(`^the PSP answers the next payment with HTTP 503 without processing it$`,
				"The PSP refuses the app's next payment request with 503 in its own error dialect (CodePay: 50000); nothing is created.",
				`Given the PSP answers the next payment with HTTP 503 without processing it`,
				func(w *world, a []string) map[string]any {
					return map[string]any{"match": w.pspMatch("createPayment"), "action": w.h.psp.unavailable(), "frequency": once}
				}),
			rule(`^the PSP answers every capture with HTTP 503 without processing it$`,
				"The PSP refuses every capture (the card gateway's capturePayment, CodePay's Capture Payment) with 503 in its own error dialect until the scenario ends; nothing is captured (an outage).",
				`Given the PSP answers every capture with HTTP 503 without processing it`,
				func(w *world, a []string) map[string]any {
					return map[string]any{"match": w.pspMatch("capturePayment"), "action": w.h.psp.unavailable()}
				}),
			rule(`^the PSP processes the next payment but its answer is lost$`,
				"The PSP creates the next payment, then resets the connection: processed, answer lost.",
				`Given the PSP processes the next payment but its answer is lost`,
				func(w *world, a []string) map[string]any {
					return map[string]any{"match": w.pspMatch("createPayment"), "action": map[string]any{"type": "lost", "then": "reset"}, "frequency": once}
				}),
			rule(`^the PSP processes the next payment but answers HTTP (5\d\d)$`,
				"The PSP creates the next payment, then answers a 5xx in its dialect instead of the payment.",
				`Given the PSP processes the next payment but answers HTTP 502`,
				func(w *world, a []string) map[string]any {
					return map[string]any{"match": w.pspMatch("createPayment"), "action": map[string]any{"type": "lost", "then": "error", "status": atoi(a[0])}, "frequency": once}
				}),
			rule(`^the PSP takes the next payment but its answer never comes$`,
				"The PSP creates the next payment and holds the connection without an answer (1 s of wall time, then it closes it).",
				`Given the PSP takes the next payment but its answer never comes`,
				func(w *world, a []string) map[string]any {
					return map[string]any{"match": w.pspMatch("createPayment"), "action": map[string]any{"type": "lost", "then": "hang", "hold": "1s"}, "frequency": once}
				}),
			rule(`^the PSP follows its next payment notification with a contradicting one$`,
				"The PSP's next notification (the card gateway's webhook, CodePay's notification) is followed by the opposite result for the same payment, signed like a genuine one.",
				`Given the PSP follows its next payment notification with a contradicting one`,
				func(w *world, a []string) map[string]any {
					return map[string]any{"match": w.pspMatch("webhook"), "action": map[string]any{"type": "contradict"}, "frequency": once}
				}),
			rule(`^the PSP sends its next payment notification twice$`,
				"The PSP's next notification arrives twice, byte-identical.",
				`Given the PSP sends its next payment notification twice`,
				func(w *world, a []string) map[string]any {
					return map[string]any{"match": w.pspMatch("webhook"), "action": map[string]any{"type": "duplicate", "copies": 1}, "frequency": once}
				}),
			rule(`^the PSP holds back its next payment notification until the one after it has gone$`,
				"The PSP's next notification is delivered after the following one: out of order.",
				`Given the PSP holds back its next payment notification until the one after it has gone`,
				func(w *world, a []string) map[string]any {
					return map[string]any{"match": w.pspMatch("webhook"), "action": map[string]any{"type": "reorder"}, "frequency": once}
				}),
			rule(`^the PSP sends its next payment notification with a signature that does not verify$`,
				"The PSP's next notification (the card gateway's webhook, CodePay's notification) is sent with its signature broken; the PSP sends it again, genuine, on its schedule once refused.",
				`Given the PSP sends its next payment notification with a signature that does not verify`,
				func(w *world, a []string) map[string]any {
					return map[string]any{"match": w.pspMatch("webhook"), "action": map[string]any{"type": "tamper"}, "frequency": once}
				}),
			rule(`^Genstore answers the app's next callback with HTTP (5\d\d)$`,
				"Genstore answers the app's next result callback for the shop with a 5xx, without recording it.",
				`Given Genstore answers the app's next callback with HTTP 503`,
				func(w *world, a []string) map[string]any {
					return map[string]any{"match": map[string]any{"system": "genstore", "operation": callbacks, "shop": w.shopID}, "action": map[string]any{"type": "error", "kind": "unavailable", "status": atoi(a[0])}, "frequency": once}
				}),
			rule(`^Genstore answers every callback of the shop with HTTP (5\d\d)$`,
				"Genstore answers every result callback for the shop with a 5xx until the scenario ends.",
				`Given Genstore answers every callback of the shop with HTTP 503`,
				func(w *world, a []string) map[string]any {
					return map[string]any{"match": map[string]any{"system": "genstore", "operation": callbacks, "shop": w.shopID}, "action": map[string]any{"type": "error", "kind": "unavailable", "status": atoi(a[0])}}
				}),
			rule(`^Genstore processes the app's next callback but its answer is lost$`,
				"Genstore records the app's next callback, then resets the connection.",
				`Given Genstore processes the app's next callback but its answer is lost`,
				func(w *world, a []string) map[string]any {
					return map[string]any{"match": map[string]any{"system": "genstore", "operation": callbacks, "shop": w.shopID}, "action": map[string]any{"type": "lost", "then": "reset"}, "frequency": once}
				}),
			rule(`^Genstore does not answer the app's next callback$`,
				"Genstore holds the app's next callback without answering or recording it, then closes the connection (1 s of wall time).",
				`Given Genstore does not answer the app's next callback`,
				func(w *world, a []string) map[string]any {
					return map[string]any{"match": map[string]any{"system": "genstore", "operation": callbacks, "shop": w.shopID}, "action": map[string]any{"type": "timeout", "hold": "1s"}, "frequency": once}
				}),
		},
	}
}

// addRule installs a fault rule and remembers its id.
func (w *world) addRule(ctx context.Context, rule map[string]any) error {
	var out struct {
		ID string `json:"id"`
	}
	if err := w.h.admin(ctx, "POST", "/_sim/faults", rule, http.StatusCreated, &out); err != nil {
		return fmt.Errorf("installing the fault: %w", err)
	}
	w.rules = append(w.rules, out.ID)
	return nil
}

func atoi(s string) int {
	n := 0
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0
		}
		n = n*10 + int(c-'0')
	}
	return n
}
