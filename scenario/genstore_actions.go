package scenario

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"

	"github.com/pspsim/pspsim/simulator/genstore"
	"github.com/pspsim/pspsim/simulator/genstore/genstoretest"
)

// genstoreActionSteps are what the buyer, the merchant and the app do: a
// payment, its captures, voids and refunds, and the app's result callbacks.
func genstoreActionSteps() []Step {
	return []Step{
		{
			Pattern: `^a buyer (pays|tries to pay) "([^"]*)"(?: ([A-Z]{3}))? with card "(\d+)"(?: to be captured (later|at once))?$`,
			Doc:     "A buyer pays at the shop's checkout: Genstore sends the Payment Object (card encrypted to the app) to the app; \"to be captured later\" makes it manualCapture:true. Remembers {paymentId}. \"pays\" expects 201; \"tries to pay\" keeps whatever Genstore's admin answers as the last response.",
			Example: `When a buyer pays "12.34" with card "4000123456000019" to be captured later`,
			Func: func(ctx context.Context, verb, amount, currency, card, later string) (context.Context, error) {
				ctx, app, err := currentApp(ctx)
				if err != nil {
					return ctx, err
				}
				w := WorldFrom(ctx)
				shop, err := w.shop()
				if err != nil {
					return ctx, err
				}
				body := map[string]any{"clientId": app.ClientID, "amount": amount, "manualCapture": later == "later", "card": map[string]any{"number": card}}
				if currency != "" {
					body["currency"] = currency
				}
				raw, _ := json.Marshal(body)
				r, err := w.Do(ctx, "POST", "/_sim/genstore/shops/"+shop+"/payments", raw)
				if err != nil {
					return ctx, err
				}
				if r.Status == 201 {
					var v struct{ PaymentID string }
					json.Unmarshal(r.Body, &v)
					w.Set("paymentId", v.PaymentID)
				} else if verb == "pays" {
					return ctx, fmt.Errorf("the payment was not created: %d %s", r.Status, clip(r.Body))
				}
				return ctx, nil
			},
		},
		{
			Pattern: `^the merchant (captures|refunds) "([^"]*)"$`,
			Doc:     "The merchant captures or refunds part of the remembered payment. Remembers {captureId} or {refundId}; the answer is the last response (201, or the refusal).",
			Example: `When the merchant refunds "5.00"`,
			Func: func(ctx context.Context, verb, amount string) (context.Context, error) {
				return merchantAction(ctx, verb, map[string]any{"amount": amount})
			},
		},
		{
			Pattern: `^the merchant (captures|voids|refunds) the payment$`,
			Doc:     "The merchant captures in full, voids, or refunds what is left of the remembered payment. Remembers {captureId}, {voidId} or {refundId}.",
			Example: `When the merchant voids the payment`,
			Func: func(ctx context.Context, verb string) (context.Context, error) {
				return merchantAction(ctx, verb, nil)
			},
		},
		{
			Pattern: `^the app reports the (payment|capture|void|refund) as (succeeded|failed)$`,
			Doc:     "The app sends the result callback for the remembered operation (a payment uses payment/ or pre_authorize/ as its manualCapture says), with channel id ch_<id> and, on failure, a reason. Genstore's answer is the last response.",
			Example: `When the app reports the payment as succeeded`,
			Func: func(ctx context.Context, kind, outcome string) (context.Context, error) {
				return report(ctx, kind, outcome, "")
			},
		},
		{
			Pattern: `^the app reports the (payment|capture|void|refund) as (succeeded|failed) with channel id "([^"]*)"$`,
			Doc:     "As above, with a chosen channel id (a channel id that differs from the recorded one is refused with 409).",
			Example: `When the app reports the payment as succeeded with channel id "psp-2"`,
			Func: func(ctx context.Context, kind, outcome, channel string) (context.Context, error) {
				return report(ctx, kind, outcome, channel)
			},
		},
		{
			Pattern: `^the app reports the (payment|capture|void|refund) as succeeded and as failed at the same time, (\d+) times each$`,
			Doc:     "Sends 2n callbacks for the remembered operation at once, half succeeded and half failed, as an app that delivers twice in parallel would.",
			Example: `When the app reports the payment as succeeded and as failed at the same time, 10 times each`,
			Func: func(ctx context.Context, kind string, n int) (context.Context, error) {
				ctx, g := genstoreOf(ctx)
				w := WorldFrom(ctx)
				app, err := g.current()
				if err != nil {
					return ctx, err
				}
				id, err := kindID(w, kind)
				if err != nil {
					return ctx, err
				}
				path := w.callbackPath(ctx, kind, id)
				answers := make([]burstAnswer, 2*n)
				var wg sync.WaitGroup
				start := make(chan struct{})
				for i := range answers {
					wg.Add(1)
					go func() {
						defer wg.Done()
						<-start
						res := scriptedResult(i%2 == 0, "ch_"+id)
						r, err := app.ReportTo(ctx, path, genstoretest.CallbackBody(kind, id, res))
						if err == nil {
							answers[i] = burstAnswer{res.OK, r.Status}
						}
					}()
				}
				close(start)
				wg.Wait()
				g.mu.Lock()
				g.concurrent = answers
				g.mu.Unlock()
				return ctx, nil
			},
		},
	}
}

// merchantAction has the merchant capture, void or refund the remembered
// payment through the admin API, and remembers the operation's id.
func merchantAction(ctx context.Context, verb string, body map[string]any) (context.Context, error) {
	ctx, _ = genstoreOf(ctx)
	w := WorldFrom(ctx)
	what := map[string]string{"captures": "captures", "voids": "voids", "refunds": "refunds"}[verb]
	kind := map[string]string{"captures": genstore.KindCapture, "voids": genstore.KindVoid, "refunds": genstore.KindRefund}[verb]
	path, err := w.paymentPath("/" + what)
	if err != nil {
		return ctx, err
	}
	var raw []byte
	if body != nil {
		raw, _ = json.Marshal(body)
	}
	r, err := w.Do(ctx, "POST", path, raw)
	if err != nil {
		return ctx, err
	}
	if r.Status == 201 {
		if id, ok := Field(r.Body, "operation.id"); ok {
			w.Set(kind+"Id", text(id))
		}
	}
	return ctx, nil
}

// report has the app send the result callback of the remembered operation;
// Genstore's answer is the last response.
func report(ctx context.Context, kind, outcome, channel string) (context.Context, error) {
	ctx, app, err := currentApp(ctx)
	if err != nil {
		return ctx, err
	}
	w := WorldFrom(ctx)
	id, err := kindID(w, kind)
	if err != nil {
		return ctx, err
	}
	if channel == "" {
		channel = "ch_" + id
	}
	res := scriptedResult(outcome == "succeeded", channel)
	r, err := app.ReportTo(ctx, w.callbackPath(ctx, kind, id), genstoretest.CallbackBody(kind, id, res))
	if err != nil {
		return ctx, err
	}
	w.Last = &Response{Status: r.Status, Header: http.Header{}, Body: r.Body}
	return ctx, nil
}

// callbackPath is where the app reports an operation: a payment to be
// captured later reports to pre_authorize/, any other to payment/.
func (w *World) callbackPath(ctx context.Context, kind, id string) string {
	if kind == genstore.KindPayment {
		if v, err := w.payment(ctx); err == nil && v["manualCapture"] == true {
			return genstoretest.CallbackPath(kind, id, true)
		}
	}
	return genstoretest.CallbackPath(kind, id, false)
}

// scriptedResult is the result a scripted app reports: a failure carries a
// reason, as the contract requires.
func scriptedResult(ok bool, channel string) genstoretest.Result {
	res := genstoretest.Result{OK: ok, ChannelID: channel}
	if !ok {
		res.Reason = "declined by the issuer"
	}
	return res
}
