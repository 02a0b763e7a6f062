package scenario

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/pspsim/pspsim/internal/godog"

	"github.com/pspsim/pspsim/fixtures"
	"github.com/pspsim/pspsim/simulator/codepay"
)

// The CodePay steps sign requests exactly as CodePay's SDKs do, with the
// published demo app key (fixtures/keys/codepay-app-demo.pem, the sandbox
// credentials of the fixture apps), stamp them with the simulator's clock,
// and check that every answer is signed by the gateway key the admin API
// publishes. A feature file therefore only writes the business fields.

const (
	cpAppVar      = "codepay.app"
	cpMerchantVar = "codepay.merchant"
	cpGatewayVar  = "codepay.gatewayKey"
)

// cpCaller returns the app and merchant of the scenario's CodePay calls.
func cpCaller(w *World) (string, string) {
	app, ok := w.Get(cpAppVar)
	if !ok {
		app = "wz9f2a175d0e0ef632"
	}
	m, ok := w.Get(cpMerchantVar)
	if !ok {
		m = "302100041048"
	}
	return app, m
}

// cpNow reads the simulator's clock in milliseconds.
func cpNow(ctx context.Context, w *World) (string, error) {
	var out string
	err := quietly(w, func() error {
		r, err := w.Do(ctx, "GET", "/_sim/clock", nil)
		if err != nil {
			return err
		}
		v, _ := Field(r.Body, "now")
		t, err := time.Parse(time.RFC3339Nano, text(v))
		if err != nil {
			return fmt.Errorf("reading the simulator's clock: %s", clip(r.Body))
		}
		out = strconv.FormatInt(t.UnixMilli(), 10)
		return nil
	})
	return out, err
}

// cpVerify checks an answer's signature with the published gateway key.
func cpVerify(ctx context.Context, w *World, body []byte) error {
	pemText, ok := w.Get(cpGatewayVar)
	if !ok {
		err := quietly(w, func() error {
			r, err := w.Do(ctx, "GET", "/_sim/codepay/gateway-key", nil)
			if err != nil {
				return err
			}
			v, ok := Field(r.Body, "publicKeyPem")
			if !ok {
				return fmt.Errorf("the simulator publishes no CodePay gateway key: %s", clip(r.Body))
			}
			pemText = text(v)
			return nil
		})
		if err != nil {
			return err
		}
		w.Set(cpGatewayVar, pemText)
	}
	pub, err := codepay.ParsePublicKey([]byte(pemText))
	if err != nil {
		return fmt.Errorf("gateway key: %w", err)
	}
	if err := codepay.Verify(pub, body); err != nil {
		return fmt.Errorf("the CodePay answer is not signed by the gateway (%v): %s", err, clip(body))
	}
	return nil
}

// cpSend signs fields (over the envelope base) and posts them to path.
func cpSend(ctx context.Context, path string, base map[string]any, doc string) error {
	w := WorldFrom(ctx)
	if strings.TrimSpace(doc) != "" {
		dec := json.NewDecoder(strings.NewReader(w.Expand(doc)))
		dec.UseNumber()
		var fields map[string]any
		if err := dec.Decode(&fields); err != nil {
			return fmt.Errorf("the step's JSON: %w", err)
		}
		for k, v := range fields {
			base[k] = v
		}
	}
	now, err := cpNow(ctx, w)
	if err != nil {
		return err
	}
	if _, ok := base["timestamp"]; !ok {
		base["timestamp"] = now
	}
	delete(base, "sign")
	raw, err := json.Marshal(base)
	if err != nil {
		return err
	}
	keyPEM, err := fixtures.Read("keys/codepay-app-demo.pem")
	if err != nil {
		return err
	}
	key, err := codepay.ParsePrivateKey(keyPEM)
	if err != nil {
		return err
	}
	sign, err := codepay.Sign(key, raw)
	if err != nil {
		return err
	}
	base["sign"] = sign
	if raw, err = json.Marshal(base); err != nil {
		return err
	}
	r, err := w.Do(ctx, "POST", path, raw)
	if err != nil {
		return err
	}
	return cpVerify(ctx, w, r.Body)
}

func cpEntry(ctx context.Context, method, doc string) error {
	app, merchant := cpCaller(WorldFrom(ctx))
	base := map[string]any{"app_id": app, "format": "JSON", "charset": "UTF-8", "sign_type": "RSA2", "version": "1.0", "method": method, "merchant_no": merchant}
	return cpSend(ctx, "/codepay/api/entry", base, doc)
}

func cpCode(r *Response) string {
	v, _ := Field(r.Body, "code")
	return text(v)
}

// cpPush pushes an order to a terminal and checks it was accepted.
func cpPush(ctx context.Context, orderNo, amount, currency, sn, extra string) error {
	base := fmt.Sprintf(`{"terminal_sn":%q,"message_receiving_application":"CodePay Register","price_currency":%q,"order_amount":%s,`+
		`"trans_type":1,"merchant_order_no":%q,"description":"scenario order","expires":600,"api_version":"2.0","on_screen_signature":false}`,
		sn, currency, amount, orderNo)
	doc := base
	if strings.TrimSpace(extra) != "" {
		var a, b map[string]json.RawMessage
		json.Unmarshal([]byte(base), &a)
		if err := json.Unmarshal([]byte(WorldFrom(ctx).Expand(extra)), &b); err != nil {
			return fmt.Errorf("the step's JSON: %w", err)
		}
		for k, v := range b {
			a[k] = v
		}
		raw, _ := json.Marshal(a)
		doc = string(raw)
	}
	if err := cpEntry(ctx, "wisehub.cloud.pay.order", doc); err != nil {
		return err
	}
	w := WorldFrom(ctx)
	if code := cpCode(w.Last); code != "0" {
		return fmt.Errorf("pushing %s to %s: %s", orderNo, sn, clip(w.Last.Body))
	}
	if v, ok := Field(w.Last.Body, "data.trans_no"); ok {
		w.Set(orderNo+".trans_no", text(v))
	}
	return nil
}

// cpAct performs a terminal action through the admin API.
func cpAct(ctx context.Context, sn, action string, body map[string]any) error {
	w := WorldFrom(ctx)
	raw, _ := json.Marshal(body)
	if body == nil {
		raw = nil
	}
	r, err := w.Do(ctx, "POST", "/_sim/codepay/terminals/"+w.Expand(sn)+"/actions/"+action, raw)
	if err != nil {
		return err
	}
	if r.Status != 200 {
		return fmt.Errorf("terminal %s refused %s: %d %s", sn, action, r.Status, clip(r.Body))
	}
	return nil
}

// cpTerminal reads a terminal's view without touching the last answer.
func cpTerminal(ctx context.Context, sn string) ([]byte, error) {
	w := WorldFrom(ctx)
	var body []byte
	err := quietly(w, func() error {
		r, err := w.Do(ctx, "GET", "/_sim/codepay/terminals/"+w.Expand(sn), nil)
		if err != nil {
			return err
		}
		if r.Status != 200 {
			return fmt.Errorf("terminal %s: %d %s", sn, r.Status, clip(r.Body))
		}
		body = r.Body
		return nil
	})
	return body, err
}

// cpOrderField queries an order and returns a field of its data.
func cpOrderField(ctx context.Context, orderNo, field string) (string, error) {
	w := WorldFrom(ctx)
	var out string
	err := quietly(w, func() error {
		if err := cpEntry(ctx, "order.query", fmt.Sprintf(`{"merchant_order_no":%q}`, w.Expand(orderNo))); err != nil {
			return err
		}
		if code := cpCode(w.Last); code != "0" {
			return fmt.Errorf("order.query %s: %s", orderNo, clip(w.Last.Body))
		}
		v, ok := Field(w.Last.Body, "data."+field)
		if !ok {
			return fmt.Errorf("order %s has no %s: %s", orderNo, field, clip(w.Last.Body))
		}
		out = text(v)
		return nil
	})
	return out, err
}

func codepaySteps() Group {
	act := func(action string) func(ctx context.Context, sn string) error {
		return func(ctx context.Context, sn string) error { return cpAct(ctx, sn, action, nil) }
	}
	return Group{
		Name: "CodePay",
		Doc: "Call the CodePay gateway as a merchant's backend (requests signed with the demo app key, answers checked against the gateway key), " +
			"and act on its virtual POS terminals as a cashier, a buyer or a store manager would. Amounts are written as in CodePay requests (`12.50`).",
		Steps: []Step{
			{
				Pattern: `^CodePay calls come from app "([^"]*)" for merchant "([^"]*)"$`,
				Doc:     "Chooses the app and merchant of later CodePay calls (default: the fixture app wz9f2a175d0e0ef632 for merchant 302100041048).",
				Example: `Given CodePay calls come from app "wz6012822ca2f1as78" for merchant "302300000926"`,
				Func: func(ctx context.Context, app, merchant string) error {
					w := WorldFrom(ctx)
					w.Set(cpAppVar, app)
					w.Set(cpMerchantVar, merchant)
					return nil
				},
			},
			{
				Pattern: `^I call CodePay "([^"]*)" with:$`,
				Doc:     "Sends an entry method with the doc string's fields; app_id, merchant_no, format, charset, sign_type, version, timestamp and sign are filled in. The answer must be signed by the gateway.",
				Example: "When I call CodePay \"order.query\" with:\n  \"\"\"\n  {\"merchant_order_no\": \"A1\"}\n  \"\"\"",
				Func: func(ctx context.Context, method string, doc *godog.DocString) error {
					return cpEntry(ctx, method, doc.Content)
				},
			},
			{
				Pattern: `^I call the CodePay card API "([^"]*)" with:$`,
				Doc:     "Sends a card operation (`capture`, `incremental-authorization`, `cancel`, `refund`, `tip-adjustment`, `recall`, `batch/close`, `batch/open`) signed by the scenario's app. `{A1.trans_no}` inserts the trans_no of pushed order A1.",
				Example: "When I call the CodePay card API \"refund\" with:\n  \"\"\"\n  {\"trans_no\": \"{A1.trans_no}\", \"merchant_order_no\": \"A1-R\", \"order_amount\": 5}\n  \"\"\"",
				Func: func(ctx context.Context, path string, doc *godog.DocString) error {
					app, _ := cpCaller(WorldFrom(ctx))
					return cpSend(ctx, "/codepay/api/card/"+path, map[string]any{"app_id": app}, doc.Content)
				},
			},
			{
				Pattern: `^the CodePay answer code is "([^"]*)"$`,
				Doc:     "Checks the code of the last CodePay answer (`0` success; the others are listed in specs/codepay.yaml).",
				Example: `Then the CodePay answer code is "40009"`,
				Func: func(ctx context.Context, want string) error {
					_, r, err := last(ctx)
					if err != nil {
						return err
					}
					if got := cpCode(r); got != want {
						return fmt.Errorf("CodePay code %s, not %s: %s", got, want, clip(r.Body))
					}
					return nil
				},
			},
			{
				Pattern: `^order "([^"]*)" for ([0-9.]+) ([A-Z]{3}) is pushed to terminal "([^"]*)"$`,
				Doc:     "Pushes a sale to a terminal with wisehub.cloud.pay.order (FIFO, no signature screen, expires in 600 s); remembers its trans_no as {<order>.trans_no}.",
				Example: `Given order "A1" for 20.00 USD is pushed to terminal "WPYB001234567890"`,
				Func: func(ctx context.Context, orderNo, amount, currency, sn string) error {
					return cpPush(ctx, orderNo, amount, currency, sn, "")
				},
			},
			{
				Pattern: `^order "([^"]*)" for ([0-9.]+) ([A-Z]{3}) is pushed to terminal "([^"]*)" with:$`,
				Doc:     "Pushes an order like the step above, the doc string's fields replacing the defaults (trans_type, on_screen_tip, on_screen_signature, confirm_on_terminal, orig_merchant_order_no...).",
				Example: "Given order \"A1\" for 20.00 USD is pushed to terminal \"WPYB001234567890\" with:\n  \"\"\"\n  {\"on_screen_tip\": true, \"on_screen_signature\": true}\n  \"\"\"",
				Func: func(ctx context.Context, orderNo, amount, currency, sn string, doc *godog.DocString) error {
					return cpPush(ctx, orderNo, amount, currency, sn, doc.Content)
				},
			},
			{
				Pattern: `^terminal "([^"]*)" goes (online|offline)$`,
				Doc:     "Connects or disconnects a terminal; orders pushed while it is offline wait in its queue.",
				Example: `When terminal "WPYB001234567890" goes offline`,
				Func:    func(ctx context.Context, sn, state string) error { return cpAct(ctx, sn, state, nil) },
			},
			{
				Pattern: `^terminal "([^"]*)" shows order "([^"]*)" on the "([^"]*)" screen$`,
				Doc:     "Checks the order at the head of the terminal's queue and its screen: confirm, approval, tip, payment, signature or host.",
				Example: `Then terminal "WPYB001234567890" shows order "A1" on the "tip" screen`,
				Func: func(ctx context.Context, sn, orderNo, step string) error {
					body, err := cpTerminal(ctx, sn)
					if err != nil {
						return err
					}
					no, _ := Field(body, "screen.merchant_order_no")
					st, _ := Field(body, "screen.step")
					if text(no) != orderNo || text(st) != step {
						return fmt.Errorf("terminal %s shows %s on %s, not %s on %s: %s", sn, text(no), text(st), orderNo, step, clip(body))
					}
					return nil
				},
			},
			{
				Pattern: `^terminal "([^"]*)" shows no order$`,
				Doc:     "Checks that the terminal's screen is idle (or that it is offline).",
				Example: `Then terminal "WPYB001234567890" shows no order`,
				Func: func(ctx context.Context, sn string) error {
					body, err := cpTerminal(ctx, sn)
					if err != nil {
						return err
					}
					if v, ok := Field(body, "screen"); ok && v != nil {
						return fmt.Errorf("terminal %s shows %s", sn, text(v))
					}
					return nil
				},
			},
			{
				Pattern: `^terminal "([^"]*)" queues "([^"]*)"$`,
				Doc:     "Checks the terminal's queue, head first, as comma-separated merchant order numbers (empty for none).",
				Example: `Then terminal "WPYB001234567890" queues "A2, A1"`,
				Func: func(ctx context.Context, sn, want string) error {
					body, err := cpTerminal(ctx, sn)
					if err != nil {
						return err
					}
					var v struct {
						Queue []struct {
							No string `json:"merchant_order_no"`
						} `json:"queue"`
					}
					json.Unmarshal(body, &v)
					var got []string
					for _, q := range v.Queue {
						got = append(got, q.No)
					}
					var exp []string
					for _, s := range strings.Split(want, ",") {
						if s = strings.TrimSpace(s); s != "" {
							exp = append(exp, s)
						}
					}
					if strings.Join(got, ",") != strings.Join(exp, ",") {
						return fmt.Errorf("terminal %s queues %v, not %v", sn, got, exp)
					}
					return nil
				},
			},
			{
				Pattern: `^the cashier confirms on terminal "([^"]*)"$`,
				Doc:     "Confirms the order on screen (confirm_on_terminal).",
				Example: `When the cashier confirms on terminal "WPYB001234567890"`,
				Func:    act("confirm"),
			},
			{
				Pattern: `^the store manager (approves|refuses) on terminal "([^"]*)"$`,
				Doc:     "Authorizes or refuses a void or refund on screen (required_terminal_authentication).",
				Example: `When the store manager approves on terminal "WPYB001234567890"`,
				Func: func(ctx context.Context, verdict, sn string) error {
					if verdict == "approves" {
						return cpAct(ctx, sn, "approve", nil)
					}
					return cpAct(ctx, sn, "decline", nil)
				},
			},
			{
				Pattern: `^the buyer enters a tip of "([^"]*)" on terminal "([^"]*)"$`,
				Doc:     "Enters a tip on screen (on_screen_tip), in the order's currency.",
				Example: `When the buyer enters a tip of "3.00" on terminal "WPYB001234567890"`,
				Func: func(ctx context.Context, tip, sn string) error {
					return cpAct(ctx, sn, "tip", map[string]any{"tip_amount": tip})
				},
			},
			{
				Pattern: `^the buyer presents card "([^"]*)" on terminal "([^"]*)"$`,
				Doc:     "Presents a card for the order on screen; TESTCARDS.md decides the issuer's answer.",
				Example: `When the buyer presents card "4000123456000001" on terminal "WPYB001234567890"`,
				Func: func(ctx context.Context, card, sn string) error {
					return cpAct(ctx, sn, "card", map[string]any{"card": card})
				},
			},
			{
				Pattern: `^the buyer pays with wallet "([^"]*)" on terminal "([^"]*)"$`,
				Doc:     "Pays the order on screen with a QR wallet (not an offline card transaction: never batched).",
				Example: `When the buyer pays with wallet "Alipay+" on terminal "WPYB001234567890"`,
				Func: func(ctx context.Context, wallet, sn string) error {
					return cpAct(ctx, sn, "wallet", map[string]any{"wallet": wallet})
				},
			},
			{
				Pattern: `^the buyer signs on terminal "([^"]*)"$`,
				Doc:     "Signs an approved card payment on screen (on_screen_signature); the order succeeds.",
				Example: `When the buyer signs on terminal "WPYB001234567890"`,
				Func:    act("sign"),
			},
			{
				Pattern: `^the cashier cancels on terminal "([^"]*)"$`,
				Doc:     "Cancels the order on screen (at the signature screen, the approved authorization is reversed).",
				Example: `When the cashier cancels on terminal "WPYB001234567890"`,
				Func:    act("cancel"),
			},
			{
				Pattern: `^terminal "([^"]*)" pays every order with card "([^"]*)" after "([^"]*)"$`,
				Doc:     "Turns on the terminal's autopilot: each order it shows is confirmed, approved, paid with the card and signed, the delay later on the clock.",
				Example: `Given terminal "WPYB001234567890" pays every order with card "4000123456000001" after "5s"`,
				Func: func(ctx context.Context, sn, card, delay string) error {
					w := WorldFrom(ctx)
					raw, _ := json.Marshal(map[string]any{"card": card, "delay": delay})
					r, err := w.Do(ctx, "PUT", "/_sim/codepay/terminals/"+w.Expand(sn)+"/autopilot", raw)
					if err != nil {
						return err
					}
					if r.Status != 200 {
						return fmt.Errorf("autopilot of %s: %d %s", sn, r.Status, clip(r.Body))
					}
					return nil
				},
			},
			{
				Pattern: `^CodePay order "([^"]*)" has ([a-z_]+) "([^"]*)"$`,
				Doc:     "Queries an order with order.query (signed) and checks one field of its data: trans_status, trans_amount, tip_amount, refunded_amount...",
				Example: `Then CodePay order "A1" has trans_status "2"`,
				Func: func(ctx context.Context, orderNo, field, want string) error {
					got, err := cpOrderField(ctx, orderNo, field)
					if err != nil {
						return err
					}
					if got != want {
						return fmt.Errorf("order %s has %s %q, not %q", orderNo, field, got, want)
					}
					return nil
				},
			},
			{
				Pattern: `^the open batch of terminal "([^"]*)" holds (\d+) transactions? totalling "([^"]*)"$`,
				Doc:     "Checks Get Open Batch for one terminal: how many transactions and their net total (sales minus refunds).",
				Example: `Then the open batch of terminal "WPYB001234567890" holds 2 transactions totalling "43.00"`,
				Func: func(ctx context.Context, sn string, count int, total string) error {
					w := WorldFrom(ctx)
					_, merchant := cpCaller(w)
					return quietly(w, func() error {
						app, _ := cpCaller(w)
						err := cpSend(ctx, "/codepay/api/card/batch/open", map[string]any{"app_id": app},
							fmt.Sprintf(`{"merchant_no":%q,"terminal_sn_list":[%q]}`, merchant, w.Expand(sn)))
						if err != nil {
							return err
						}
						c, _ := Field(w.Last.Body, "data.count")
						t, _ := Field(w.Last.Body, "data.total_amount")
						if text(c) != strconv.Itoa(count) || text(t) != total {
							return fmt.Errorf("open batch of %s: %s transactions totalling %s, not %d totalling %s", sn, text(c), text(t), count, total)
						}
						return nil
					})
				},
			},
		},
	}
}
