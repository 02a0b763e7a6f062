package scenario

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pspsim/pspsim/simulator/genstore"
	"github.com/pspsim/pspsim/simulator/genstore/genstoretest"
)

// The Genstore steps script a payment app that QA does not have to write:
// a scripted app (genstoretest.App) runs beside the scenario on a loopback
// port, receives what Genstore sends, verifies and records it, answers as
// the scenario says, and calls Genstore back when told. The merchant's and
// buyer's actions go through the admin API.
//
// Remembered values: {shopId}, {paymentId}, {captureId}, {voidId},
// {refundId}, {clientId}, {token}.

// genstoreWorld is a scenario's Genstore state, carried in the context.
type genstoreWorld struct {
	mu   sync.Mutex
	apps map[string]*genstoretest.App
	app  *genstoretest.App // the latest registered
	// concurrent holds the answers of the last burst of callbacks.
	concurrent []burstAnswer
}

type burstAnswer struct {
	ok     bool
	status int
}

type genstoreKey struct{}

// genstoreOf returns the scenario's Genstore state, creating it (and
// arranging for its apps to stop when the scenario ends).
func genstoreOf(ctx context.Context) (context.Context, *genstoreWorld) {
	if g, ok := ctx.Value(genstoreKey{}).(*genstoreWorld); ok {
		return ctx, g
	}
	g := &genstoreWorld{apps: map[string]*genstoretest.App{}}
	context.AfterFunc(ctx, func() {
		g.mu.Lock()
		defer g.mu.Unlock()
		for _, a := range g.apps {
			a.Close()
		}
	})
	return context.WithValue(ctx, genstoreKey{}, g), g
}

func (g *genstoreWorld) current() (*genstoretest.App, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.app == nil {
		return nil, fmt.Errorf(`no payment app yet: start with Given a payment app "my-app" is registered with Genstore`)
	}
	return g.app, nil
}

// admin sends an admin request, expects want, and decodes the answer.
func (w *World) admin(ctx context.Context, method, path string, body any, want int) (map[string]any, error) {
	var raw []byte
	if body != nil {
		raw, _ = json.Marshal(body)
	}
	r, err := w.Do(ctx, method, path, raw)
	if err != nil {
		return nil, err
	}
	if r.Status != want {
		return nil, fmt.Errorf("%s %s: %d %s (want %d)", method, path, r.Status, clip(r.Body), want)
	}
	var m map[string]any
	json.Unmarshal(r.Body, &m)
	return m, nil
}

func (w *World) shop() (string, error) {
	id, ok := w.Get("shopId")
	if !ok {
		return "", fmt.Errorf(`no shop yet: install the app first (the app "my-app" is installed on shop "1001")`)
	}
	return id, nil
}

func (w *World) paymentPath(suffix string) (string, error) {
	shop, err := w.shop()
	if err != nil {
		return "", err
	}
	id, ok := w.Get("paymentId")
	if !ok {
		return "", fmt.Errorf("no payment yet: a buyer must pay first")
	}
	return "/_sim/genstore/shops/" + shop + "/payments/" + id + suffix, nil
}

// payment reads the merchant's view of the remembered payment.
func (w *World) payment(ctx context.Context) (map[string]any, error) {
	saved := w.Last
	defer func() { w.Last = saved }()
	p, err := w.paymentPath("")
	if err != nil {
		return nil, err
	}
	return w.admin(ctx, "GET", p, nil, 200)
}

func (w *World) operationOf(ctx context.Context, kind string) (map[string]any, error) {
	v, err := w.payment(ctx)
	if err != nil {
		return nil, err
	}
	id, ok := w.Get(kind + "Id")
	if !ok {
		return nil, fmt.Errorf("no %s yet", kind)
	}
	ops, _ := v["operations"].([]any)
	for _, o := range ops {
		if m, _ := o.(map[string]any); m["id"] == id {
			return m, nil
		}
	}
	return nil, fmt.Errorf("the payment has no %s %s", kind, id)
}

func kindID(w *World, kind string) (string, error) {
	id, ok := w.Get(kind + "Id")
	if !ok {
		return "", fmt.Errorf("no %s to report on yet", kind)
	}
	return id, nil
}

func genstoreSteps() Group {
	return Group{
		Name: "Genstore",
		Doc: "Drive Genstore against a scripted payment app that runs beside the scenario: register and install it, let a buyer pay, " +
			"let the merchant capture, void and refund, script the app's answers and callbacks, and check what the app received and what Genstore recorded. " +
			"Remembered: `{shopId}`, `{paymentId}`, `{captureId}`, `{voidId}`, `{refundId}`, `{clientId}`, `{token}`.",
		Steps: []Step{
			{
				Pattern: `^a Genstore shop "([^"]*)" in (test|live) mode with a fee of (\d+) basis points plus (\d+)$`,
				Doc:     "Creates a shop (its name is `shop-<id>`, currency USD, UTC) and remembers it as {shopId}.",
				Example: `Given a Genstore shop "7001" in test mode with a fee of 290 basis points plus 30`,
				Func: func(ctx context.Context, id, mode string, bps, fixed int) (context.Context, error) {
					w := WorldFrom(ctx)
					_, err := w.admin(ctx, "POST", "/_sim/genstore/shops", map[string]any{"shopId": id, "shop": "shop-" + strings.ToLower(id),
						"testMode": mode == "test", "feePlan": map[string]any{"percentBasisPoints": bps, "fixedMinor": fixed}}, 201)
					w.Set("shopId", id)
					return ctx, err
				},
			},
			{
				Pattern: `^a payment app "([^"]*)" is registered with Genstore$`,
				Doc:     "Starts a scripted payment app (its own P-256 key, every endpoint) and registers it through the admin API. It acknowledges every request with 200 until told otherwise.",
				Example: `Given a payment app "my-app" is registered with Genstore`,
				Func: func(ctx context.Context, name string) (context.Context, error) {
					ctx, g := genstoreOf(ctx)
					w := WorldFrom(ctx)
					app, err := genstoretest.New(name, name+"-secret-0001", w.Target)
					if err != nil {
						return ctx, err
					}
					if w.Sim != nil {
						app.Now = w.Sim.Clock().Now
					}
					g.mu.Lock()
					g.apps[name], g.app = app, app
					g.mu.Unlock()
					w.Set("clientId", name)
					_, err = w.admin(ctx, "POST", "/_sim/genstore/apps", app.Registration(), 201)
					return ctx, err
				},
			},
			{
				Pattern: `^the app "([^"]*)" is installed on shop "([^"]*)"$`,
				Doc:     "The merchant installs the app: Genstore sends the browser to the app's onboarding URL with a code; the app exchanges it for the shop's token ({token}) and reports account_authorize ready. Remembers the shop as {shopId}.",
				Example: `And the app "my-app" is installed on shop "1001"`,
				Func: func(ctx context.Context, name, shop string) (context.Context, error) {
					ctx, g := genstoreOf(ctx)
					w := WorldFrom(ctx)
					g.mu.Lock()
					app := g.apps[name]
					g.mu.Unlock()
					if app == nil {
						return ctx, fmt.Errorf("no app %q is registered in this scenario", name)
					}
					if _, err := w.admin(ctx, "POST", "/_sim/genstore/shops/"+shop+"/installations", map[string]any{"clientId": name}, 201); err != nil {
						return ctx, err
					}
					if errs := app.Errors(); len(errs) > 0 || app.Token() == "" {
						return ctx, fmt.Errorf("the installation did not complete: %v", errs)
					}
					w.Set("shopId", shop)
					w.Set("token", app.Token())
					return ctx, nil
				},
			},
			{
				Pattern: `^the app reports its account (ready|not ready)$`,
				Doc:     "The app calls PUT /api/202412/app/account_authorize with ready true or false; the answer becomes the last response.",
				Example: `When the app reports its account not ready`,
				Func: func(ctx context.Context, state string) (context.Context, error) {
					ctx, g := genstoreOf(ctx)
					app, err := g.current()
					if err != nil {
						return ctx, err
					}
					r, err := app.Ready(ctx, state == "ready")
					WorldFrom(ctx).Last = &Response{Status: r.Status, Body: r.Body}
					return ctx, err
				},
			},
			{
				Pattern: `^the app answers (payment|capture|void|refund) requests with HTTP (\d{3})(?: the first (\d+) times?)?$`,
				Doc:     "Scripts the app's HTTP status for requests of a kind: always, or only the first n times (then 200 again). A non-200 answer carries {\"error\": \"scripted\"}.",
				Example: `Given the app answers payment requests with HTTP 503 the first 3 times`,
				Func: func(ctx context.Context, kind string, status int, times string) (context.Context, error) {
					ctx, g := genstoreOf(ctx)
					app, err := g.current()
					if err != nil {
						return ctx, err
					}
					rep := genstoretest.Reply{Status: status}
					if status != 200 {
						rep.Body = map[string]string{"error": "scripted"}
					}
					if times == "" {
						app.Default(kind, rep)
						return ctx, nil
					}
					n, _ := strconv.Atoi(times)
					for range n {
						app.Queue(kind, rep)
					}
					return ctx, nil
				},
			},
			{
				Pattern: `^the app asks the buyer for a one-time password$`,
				Doc:     "The app acknowledges the next payment with a redirectUrl to its own challenge page (the pspsim challenge contract), which sends the buyer back to the shop.",
				Example: `Given the app asks the buyer for a one-time password`,
				Func: func(ctx context.Context) (context.Context, error) {
					ctx, g := genstoreOf(ctx)
					app, err := g.current()
					if err != nil {
						return ctx, err
					}
					app.Queue(genstore.KindPayment, genstoretest.Reply{Challenge: true})
					return ctx, nil
				},
			},
			{
				Pattern: `^the app answers queries about the (payment|refund) with "(PROCESSING|SUCCESS|FAILURE)"$`,
				Doc:     "Scripts what the app's paymentQueryUrl (or refundQueryUrl) says about the remembered payment (or refund).",
				Example: `Given the app answers queries about the payment with "SUCCESS"`,
				Func: func(ctx context.Context, kind, status string) (context.Context, error) {
					ctx, g := genstoreOf(ctx)
					app, err := g.current()
					if err != nil {
						return ctx, err
					}
					id, err := kindID(WorldFrom(ctx), kind)
					if err != nil {
						return ctx, err
					}
					q := genstoretest.QueryAnswer{Status: status, ChannelID: "ch_" + id}
					if status == "FAILURE" {
						q.Error = "declined by the issuer"
					}
					app.Answer(id, q)
					return ctx, nil
				},
			},
			{
				Pattern: `^a buyer (pays|tries to pay) "([^"]*)"(?: ([A-Z]{3}))? with card "(\d+)"(?: to be captured (later|at once))?$`,
				Doc:     "A buyer pays at the shop's checkout: Genstore sends the Payment Object (card encrypted to the app) to the app; \"to be captured later\" makes it manualCapture:true. Remembers {paymentId}. \"pays\" expects 201; \"tries to pay\" keeps whatever Genstore's admin answers as the last response.",
				Example: `When a buyer pays "12.34" with card "4000123456000019" to be captured later`,
				Func: func(ctx context.Context, verb, amount, currency, card, later string) (context.Context, error) {
					ctx, g := genstoreOf(ctx)
					w := WorldFrom(ctx)
					app, err := g.current()
					if err != nil {
						return ctx, err
					}
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
					path := genstoretest.CallbackPath(kind, id, false)
					if kind == genstore.KindPayment {
						if v, err := w.payment(ctx); err == nil && v["manualCapture"] == true {
							path = genstoretest.CallbackPath(kind, id, true)
						}
					}
					answers := make([]burstAnswer, 2*n)
					var wg sync.WaitGroup
					start := make(chan struct{})
					for i := range answers {
						wg.Add(1)
						go func() {
							defer wg.Done()
							<-start
							res := genstoretest.Result{OK: i%2 == 0, ChannelID: "ch_" + id}
							if !res.OK {
								res.Reason = "declined by the issuer"
							}
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
			{
				Pattern: `^every report that agrees with the recorded result got 200 and every other 409$`,
				Doc:     "Checks the last burst of callbacks against the result Genstore kept: exactly one result won.",
				Example: `Then every report that agrees with the recorded result got 200 and every other 409`,
				Func: func(ctx context.Context) (context.Context, error) {
					ctx, g := genstoreOf(ctx)
					v, err := WorldFrom(ctx).payment(ctx)
					if err != nil {
						return ctx, err
					}
					won, _ := Field(mustJSON(v), "result.result")
					g.mu.Lock()
					defer g.mu.Unlock()
					if len(g.concurrent) == 0 {
						return ctx, fmt.Errorf("no burst of callbacks was sent")
					}
					for i, a := range g.concurrent {
						want := 409
						if a.ok == (won == true) {
							want = 200
						}
						if a.status != want {
							return ctx, fmt.Errorf("callback %d (result %t) got %d, want %d (recorded result %v)", i, a.ok, a.status, want, won)
						}
					}
					return ctx, nil
				},
			},
			{
				Pattern: `^the payment has status "(\d)"$`,
				Doc:     "Checks the remembered payment's status as seed 001 numbers it: 1 process, 2 success, 3 auth_void, 4 auth_success, 9 failure.",
				Example: `Then the payment has status "2"`,
				Func: func(ctx context.Context, status string) (context.Context, error) {
					v, err := WorldFrom(ctx).payment(ctx)
					if err != nil {
						return ctx, err
					}
					if v["status"] != status {
						res, _ := json.Marshal(v["result"])
						return ctx, fmt.Errorf("the payment has status %v (%v), not %s; result %s", v["status"], v["statusName"], status, res)
					}
					return ctx, nil
				},
			},
			{
				Pattern: `^the (capture|void|refund) is (processing|succeeded|failed)$`,
				Doc:     "Checks the status of the remembered capture, void or refund.",
				Example: `Then the refund is succeeded`,
				Func: func(ctx context.Context, kind, status string) (context.Context, error) {
					op, err := WorldFrom(ctx).operationOf(ctx, kind)
					if err != nil {
						return ctx, err
					}
					if op["status"] != status {
						return ctx, fmt.Errorf("the %s is %v, not %s", kind, op["status"], status)
					}
					return ctx, nil
				},
			},
			{
				Pattern: `^the merchant sees "([^"]*)" as the payment's (captured|refunded|refundable|fee|net|amount|statusName|channelTrxNo) amount$`,
				Doc:     "Checks a field of the merchant's view of the remembered payment.",
				Example: `Then the merchant sees "7.34" as the payment's refundable amount`,
				Func: func(ctx context.Context, want, name string) (context.Context, error) {
					v, err := WorldFrom(ctx).payment(ctx)
					if err != nil {
						return ctx, err
					}
					if str := fmt.Sprint(v[name]); str != want {
						return ctx, fmt.Errorf("%s is %s, not %s", name, str, want)
					}
					return ctx, nil
				},
			},
			{
				Pattern: `^the pay transaction shows amount "([^"]*)", fee "([^"]*)" and net "([^"]*)"$`,
				Doc:     "The app asks GET /api/202412/payment/{paymentId} (seed 001) with its token and checks amount, fee and net.",
				Example: `Then the pay transaction shows amount "100.00", fee "3.20" and net "96.80"`,
				Func: func(ctx context.Context, amount, fee, net string) (context.Context, error) {
					ctx, g := genstoreOf(ctx)
					w := WorldFrom(ctx)
					app, err := g.current()
					if err != nil {
						return ctx, err
					}
					id, _ := w.Get("paymentId")
					r, err := app.Call(ctx, "GET", "/genstore/api/202412/payment/"+id, nil)
					if err != nil {
						return ctx, err
					}
					w.Last = &Response{Status: r.Status, Body: r.Body}
					var pt struct{ Payment genstore.PayTransaction }
					json.Unmarshal(r.Body, &pt)
					if r.Status != 200 || pt.Payment.Amount != amount || pt.Payment.Fee != fee || pt.Payment.Net != net {
						return ctx, fmt.Errorf("pay transaction: %d %s", r.Status, clip(r.Body))
					}
					return ctx, nil
				},
			},
			{
				Pattern: `^the app received (\d+) (payment|capture|void|refund|payment_query|refund_query) requests?$`,
				Doc:     "Counts what the app received of a kind (every attempt counts).",
				Example: `Then the app received 4 payment requests`,
				Func: func(ctx context.Context, n int, kind string) (context.Context, error) {
					ctx, g := genstoreOf(ctx)
					app, err := g.current()
					if err != nil {
						return ctx, err
					}
					if got := len(app.Requests(kind)); got != n {
						return ctx, fmt.Errorf("the app received %d %s requests, not %d", got, kind, n)
					}
					return ctx, nil
				},
			},
			{
				Pattern: `^every request the app received was correctly signed$`,
				Doc:     "Each request's hmac (and timestamp, in-process) verified with the app's secret, and each body's X-Genstore-Hmac-Sha256 too.",
				Example: `Then every request the app received was correctly signed`,
				Func: func(ctx context.Context) (context.Context, error) {
					ctx, g := genstoreOf(ctx)
					app, err := g.current()
					if err != nil {
						return ctx, err
					}
					for _, r := range app.Requests("") {
						if r.SignatureErr != "" || (len(r.Body) > 0 && !r.BodyHMACOK) {
							return ctx, fmt.Errorf("%s request %s: signature %q, body hmac ok %t", r.Kind, r.ID, r.SignatureErr, r.BodyHMACOK)
						}
					}
					return ctx, nil
				},
			},
			{
				Pattern: `^every (payment|capture|void|refund) request carried the same body and Idempotency-Key$`,
				Doc:     "Retries resend byte-identical JSON and the operation's id as Idempotency-Key.",
				Example: `Then every payment request carried the same body and Idempotency-Key`,
				Func: func(ctx context.Context, kind string) (context.Context, error) {
					ctx, g := genstoreOf(ctx)
					app, err := g.current()
					if err != nil {
						return ctx, err
					}
					reqs := app.Requests(kind)
					if len(reqs) == 0 {
						return ctx, fmt.Errorf("the app received no %s request", kind)
					}
					for i, r := range reqs {
						if !bytes.Equal(r.Body, reqs[0].Body) || r.Header.Get("Idempotency-Key") != reqs[0].ID {
							return ctx, fmt.Errorf("%s request %d differs from the first (Idempotency-Key %q)", kind, i+1, r.Header.Get("Idempotency-Key"))
						}
					}
					return ctx, nil
				},
			},
			{
				Pattern: `^the (payment|capture|void|refund) requests came at "([^"]*)"$`,
				Doc:     "The attempts' signed timestamps, as offsets from the first one (comma-separated Go durations, 0 first).",
				Example: `Then the payment requests came at "0s, 1s, 4s, 14s"`,
				Func: func(ctx context.Context, kind, offsets string) (context.Context, error) {
					ctx, g := genstoreOf(ctx)
					app, err := g.current()
					if err != nil {
						return ctx, err
					}
					var got []string
					var first int64
					for i, r := range app.Requests(kind) {
						ts, _ := strconv.ParseInt(r.Query.Get("timestamp"), 10, 64)
						if i == 0 {
							first = ts
						}
						got = append(got, (time.Duration(ts-first) * time.Second).String())
					}
					var want []string
					for _, o := range strings.Split(offsets, ",") {
						d, err := time.ParseDuration(strings.TrimSpace(o))
						if err != nil {
							return ctx, fmt.Errorf("offset %q: %w", o, err)
						}
						want = append(want, d.String())
					}
					if strings.Join(got, ", ") != strings.Join(want, ", ") {
						return ctx, fmt.Errorf("%s requests came at %s, not %s", kind, strings.Join(got, ", "), strings.Join(want, ", "))
					}
					return ctx, nil
				},
			},
			{
				Pattern: `^the app decrypted the card "(\d+)" with its key$`,
				Doc:     "The card package of the last payment request opened with the app's private key to this number.",
				Example: `Then the app decrypted the card "4000123456000019" with its key`,
				Func: func(ctx context.Context, number string) (context.Context, error) {
					ctx, g := genstoreOf(ctx)
					app, err := g.current()
					if err != nil {
						return ctx, err
					}
					reqs := app.Requests(genstore.KindPayment)
					if len(reqs) == 0 {
						return ctx, fmt.Errorf("the app received no payment request")
					}
					r := reqs[len(reqs)-1]
					if r.CardErr != nil || r.Card == nil || r.Card.Number != number {
						return ctx, fmt.Errorf("card package: %v (card %v)", r.CardErr, r.Card)
					}
					if bytes.Contains(r.Body, []byte(number)) {
						return ctx, fmt.Errorf("the card number travels in clear")
					}
					return ctx, nil
				},
			},
			{
				Pattern: `^the buyer opens the redirect$`,
				Doc:     "The buyer's browser opens the redirectUrl the app acknowledged the payment with; the description of the page is the last response.",
				Example: `When the buyer opens the redirect`,
				Func: func(ctx context.Context) (context.Context, error) {
					return buyer(ctx, "redirect", nil)
				},
			},
			{
				Pattern: `^the buyer (enters the one-time password "([^"]*)"|cancels the challenge) on the redirect page$`,
				Doc:     "The buyer completes (or abandons) the challenge page the app's redirectUrl led to, and the browser follows the 303 back to the shop; the outcome is the last response. (For a card gateway challenge reached without Genstore, see the 3-D Secure steps.)",
				Example: `When the buyer enters the one-time password "123456" on the redirect page`,
				Func: func(ctx context.Context, what, otp string) (context.Context, error) {
					body := map[string]any{"otp": otp, "action": "submit"}
					if strings.HasPrefix(what, "cancels") {
						body = map[string]any{"action": "cancel"}
					}
					return buyer(ctx, "challenge", body)
				},
			},
			{
				Pattern: `^the app saw the buyer (submit the one-time password "([^"]*)"|cancel)$`,
				Doc:     "What the buyer did on the app's challenge page.",
				Example: `Then the app saw the buyer submit the one-time password "123456"`,
				Func: func(ctx context.Context, what, otp string) (context.Context, error) {
					ctx, g := genstoreOf(ctx)
					app, err := g.current()
					if err != nil {
						return ctx, err
					}
					ch := app.Challenges()
					if len(ch) == 0 {
						return ctx, fmt.Errorf("the buyer did nothing on the app's challenge page")
					}
					last := ch[len(ch)-1]
					want := genstoretest.Challenge{PaymentID: last.PaymentID, OTP: otp, Action: "submit"}
					if what == "cancel" {
						want.Action = "cancel"
					}
					if last != want {
						return ctx, fmt.Errorf("the buyer did %+v, not %+v", last, want)
					}
					return ctx, nil
				},
			},
			{
				Pattern: `^the buyer is back at the shop$`,
				Doc:     "The buyer reached the payment's returnUrl (Genstore's return page), which starts the 30-second deadline for the result.",
				Example: `Then the buyer is back at the shop`,
				Func: func(ctx context.Context) (context.Context, error) {
					v, err := WorldFrom(ctx).payment(ctx)
					if err != nil {
						return ctx, err
					}
					if b, _ := v["buyer"].(map[string]any); b["returnedAt"] == nil {
						return ctx, fmt.Errorf("the buyer has not come back: %v", v["buyer"])
					}
					return ctx, nil
				},
			},
		},
	}
}

func mustJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}

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

func report(ctx context.Context, kind, outcome, channel string) (context.Context, error) {
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
	if channel == "" {
		channel = "ch_" + id
	}
	res := genstoretest.Result{OK: outcome == "succeeded", ChannelID: channel}
	if !res.OK {
		res.Reason = "declined by the issuer"
	}
	path := genstoretest.CallbackPath(kind, id, false)
	if kind == genstore.KindPayment {
		if v, err := w.payment(ctx); err == nil && v["manualCapture"] == true {
			path = genstoretest.CallbackPath(kind, id, true)
		}
	}
	r, err := app.ReportTo(ctx, path, genstoretest.CallbackBody(kind, id, res))
	if err != nil {
		return ctx, err
	}
	w.Last = &Response{Status: r.Status, Header: http.Header{}, Body: r.Body}
	return ctx, nil
}

func buyer(ctx context.Context, action string, body map[string]any) (context.Context, error) {
	ctx, _ = genstoreOf(ctx)
	w := WorldFrom(ctx)
	path, err := w.paymentPath("/buyer/" + action)
	if err != nil {
		return ctx, err
	}
	var raw []byte
	if body != nil {
		raw, _ = json.Marshal(body)
	}
	_, err = w.Do(ctx, "POST", path, raw)
	return ctx, err
}
