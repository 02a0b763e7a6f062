package scenario

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/pspsim/pspsim/simulator/simtest"
)

// The card gateway's fixture app (fixtures/vmgateway.yaml).
const (
	vmAppID         = "086666075137001"
	vmSandboxSecret = "184E52CF5365D2D7EE8EDA************"
	vmLiveSecret    = "184E52CF5365D2D7EE8EDA0000000002"
)

// vmDevice is the deviceInfo every scripted payment sends (a browser, so
// 3-D Secure can run).
var vmDevice = map[string]any{
	"browser":  map[string]any{"acceptHeader": "text/html", "userAgent": "Mozilla/5.0 (pspsim scenario)", "javascriptEnable": true, "timeZone": "0"},
	"clientIp": "10.1.1.1", "language": "en-US",
}

// vmOption paths: short names of the payment options a step may set.
var vmOption = map[string]string{
	"captureMethod":           "card.captureMethod",
	"storedcredentials":       "billing.storedcredentials",
	"customerInitiatedReason": "billing.customerInitiatedReason",
}

func setPath(m map[string]any, path string, v any) {
	parts := strings.Split(path, ".")
	cur := m
	for _, p := range parts[:len(parts)-1] {
		next, ok := cur[p].(map[string]any)
		if !ok {
			next = map[string]any{}
			cur[p] = next
		}
		cur = next
	}
	cur[parts[len(parts)-1]] = v
}

// vmPost sends an authenticated gateway request (the scenario's
// Authorization header) and fails on a transport error.
func (w *World) vmPost(ctx context.Context, path string, body any) (*Response, error) {
	b, err := json.Marshal(body)
	if err != nil {
		return nil, err
	}
	return w.Do(ctx, "POST", "/vm/v1"+path, b)
}

// vmOperation sends a gateway operation. A request that gets no answer (a
// fault: a timeout, a reset, a lost answer) does not fail the step that sent
// it: the failure stays the last response for the next step to judge ("the
// request times out"); answered says whether an answer came.
func (w *World) vmOperation(ctx context.Context, path string, body any) (r *Response, answered bool, err error) {
	r, err = w.vmPost(ctx, path, body)
	if err != nil && w.Last != nil && w.Last.Err != nil && w.Last.Status == 0 {
		return w.Last, false, nil
	}
	return r, err == nil, err
}

func want(r *Response, status int, what string) error {
	if r.Status != status {
		return fmt.Errorf("%s: status %d, not %d; body: %s", what, r.Status, status, clip(r.Body))
	}
	return nil
}

// vmInquire answers the payment of an order (and leaves it as Last).
func (w *World) vmInquire(ctx context.Context, orderNo string) (*Response, error) {
	r, err := w.vmPost(ctx, "/payments/inquiry", map[string]any{"orderNo": w.Expand(orderNo)})
	if err != nil {
		return nil, err
	}
	return r, want(r, 200, "inquiring order "+orderNo)
}

// sinkDelivery is one request a webhook sink received.
type sinkDelivery struct {
	EventID, Timestamp, Signature, Body string
	Answered                            int
}

func (w *World) sink(ctx context.Context) ([]sinkDelivery, error) {
	id, ok := w.Get("sinkId")
	if !ok {
		return nil, fmt.Errorf("no webhook sink yet: use the step that subscribes one")
	}
	r, err := w.peek(ctx, "GET", "/_sim/vmgateway/webhook-sinks/"+id, nil)
	if err != nil {
		return nil, err
	}
	if err := want(r, 200, "reading the webhook sink"); err != nil {
		return nil, err
	}
	var out struct{ Received []sinkDelivery }
	if err := json.Unmarshal(r.Body, &out); err != nil {
		return nil, fmt.Errorf("reading the webhook sink: %w", err)
	}
	return out.Received, nil
}

// webhookAttemptsJudged counts webhook attempts the sender has judged
// (delivered, failed, or scheduled for a retry): once a sink's delivery is
// judged, its retry is on the clock and the clock may move.
func (w *World) webhookAttemptsJudged(ctx context.Context) (int, error) {
	events, err := w.Events(ctx, "system=vmgateway&kind=delivery")
	if err != nil {
		return 0, err
	}
	n := 0
	for _, e := range events {
		if e.Data["deliveryKind"] == "webhook" && (e.Kind == "delivery.scheduled" || e.Kind == "delivery.delivered" || e.Kind == "delivery.failed") {
			n++
		}
	}
	copies, err := w.duplicateCopies(ctx, "subscriptionId")
	return n + copies, err
}

// duplicateCopies counts the extra copies the duplicate fault sent of the
// messages whose ids hold key (webhooks: subscriptionId): each copy the
// receiver got is a delivery to count, though the sender judged one attempt.
func (w *World) duplicateCopies(ctx context.Context, key string) (int, error) {
	r, err := w.peek(ctx, "GET", "/_sim/events?system=faults&kind=fault.effect.duplicate&limit=10000", nil)
	if err != nil {
		return 0, err
	}
	var out struct {
		Events []struct {
			IDs  map[string]string `json:"ids"`
			Data struct {
				Answers []any `json:"answers"`
			} `json:"data"`
		}
	}
	if err := json.Unmarshal(r.Body, &out); err != nil {
		return 0, err
	}
	n := 0
	for _, e := range out.Events {
		if e.IDs[key] != "" && len(e.Data.Answers) > 1 {
			n += len(e.Data.Answers) - 1
		}
	}
	return n, nil
}

func vmSteps() Group {
	return Group{
		Name: "Card gateway",
		Doc: "Script the Visa/Mastercard gateway (`/vm/v1/…`, seed 004) as a merchant and its buyers: tokens, card payments " +
			"with the magic cards of TESTCARDS.md, capture, cancel, refunds, token (MIT) payments, wallets and webhooks. Orders are " +
			"named by `orderNo`; `{name}` inserts a remembered value.",
		Steps: []Step{
			{
				Pattern: `^I have a card gateway access token for "(sandbox|live)"$`,
				Doc:     "Gets an access token of the fixture merchant in an environment and sends it as `Authorization: Bearer` from now on (remembered as `token`).",
				Example: `Given I have a card gateway access token for "sandbox"`,
				Func: func(ctx context.Context, env string) error {
					w := WorldFrom(ctx)
					secret := vmSandboxSecret
					if env == "live" {
						secret = vmLiveSecret
					}
					r, err := w.vmPost(ctx, "/auth/token", map[string]string{"appId": vmAppID, "secret": secret})
					if err != nil {
						return err
					}
					if err := want(r, 200, "access token"); err != nil {
						return err
					}
					v, _ := Field(r.Body, "accessToken")
					w.Set("token", text(v))
					w.Headers.Set("Authorization", "Bearer "+text(v))
					return nil
				},
			},
			{
				Pattern: `^I pay "([^"]*)" ([A-Z]{3}) with the card "(\d{13,19})" as order "([^"]*)"(?: with "([^"]*)")?$`,
				Doc: "Creates a card payment (`createPayment`, threeDsMode auto, a browser's deviceInfo). Options are `key=value` pairs " +
					"separated by commas: any field path (`threeDsMode=standard`, `notificationUrl=…`) or `captureMethod`, `storedcredentials`, " +
					"`customerInitiatedReason`. The answer is the last response; its tradeNo is remembered as `tradeNo`. A payment that gets no answer (a fault) " +
					"does not fail this step: the next one judges it (`the request times out`).",
				Example: `When I pay "25.00" USD with the card "4000123456000068" as order "A1000001" with "captureMethod=manual, threeDsMode=standard"`,
				Func: func(ctx context.Context, amount, currency, card, orderNo, options string) error {
					w := WorldFrom(ctx)
					body := map[string]any{
						"amount": amount, "currency": currency, "orderNo": w.Expand(orderNo), "paymentMethodType": "card", "threeDsMode": "auto",
						"deviceInfo": vmDevice, "card": map[string]any{"cardNo": card, "expiryMonth": "12", "expiryYear": "2030", "cvc": "123"},
					}
					for _, opt := range strings.Split(options, ",") {
						k, v, ok := strings.Cut(strings.TrimSpace(opt), "=")
						if !ok {
							if strings.TrimSpace(opt) != "" {
								return fmt.Errorf("option %q is not key=value", opt)
							}
							continue
						}
						if alias, ok := vmOption[k]; ok {
							k = alias
						}
						setPath(body, k, w.Expand(v))
					}
					r, answered, err := w.vmOperation(ctx, "/payments", body)
					if err != nil || !answered {
						return err
					}
					if err := want(r, 200, "paying order "+orderNo); err != nil {
						return err
					}
					v, _ := Field(r.Body, "tradeNo")
					w.Set("tradeNo", text(v))
					return nil
				},
			},
			{
				Pattern: `^I pay "([^"]*)" ([A-Z]{3}) with (alipay|alipayPlus|wechat|upay|payNow|grabPay|shopeePay|paypal) "(qr-code|h5|in-app|mini-program|pay)" as order "([^"]*)"$`,
				Doc:     "Creates a wallet payment with a product type; `pay` sends a customer's payment code.",
				Example: `When I pay "88.00" SGD with wechat "qr-code" as order "W1000001"`,
				Func: func(ctx context.Context, amount, currency, method, product, orderNo string) error {
					w := WorldFrom(ctx)
					obj := map[string]any{"productType": product}
					if product == "pay" {
						obj["authCode"] = "120061098828009406"
					}
					r, err := w.vmPost(ctx, "/payments", map[string]any{"amount": amount, "currency": currency, "orderNo": w.Expand(orderNo),
						"paymentMethodType": method, "deviceInfo": vmDevice, method: obj})
					if err != nil {
						return err
					}
					return want(r, 200, "paying order "+orderNo)
				},
			},
			{
				Pattern: `^the buyer (approves|declines) the wallet payment of order "([^"]*)"$`,
				Doc:     "The buyer answers in the wallet, through the admin API (`actAsVMBuyer`).",
				Example: `When the buyer approves the wallet payment of order "W1000001"`,
				Func: func(ctx context.Context, action, orderNo string) error {
					w := WorldFrom(ctx)
					r, err := w.vmInquire(ctx, orderNo)
					if err != nil {
						return err
					}
					trade, _ := Field(r.Body, "tradeNo")
					act := map[string]string{"approves": "approve", "declines": "decline"}[action]
					r, err = w.Do(ctx, "POST", "/_sim/vmgateway/payments/"+text(trade)+"/buyer-action", []byte(`{"action":"`+act+`"}`))
					if err != nil {
						return err
					}
					return want(r, 200, "the buyer's answer")
				},
			},
			{
				Pattern: `^I make a "(RECURRING|INSTALMENT|UNSCHEDULED)" token payment of "([^"]*)" as order "([^"]*)" with the transaction identifier "([^"]*)"$`,
				Doc:     "Creates a merchant-initiated token payment (`createTokenPayment`) with a stored card's transactionIdentifier. The answer is the last response, whatever its status.",
				Example: `When I make a "RECURRING" token payment of "9.99" as order "R1000002" with the transaction identifier "{identifier}"`,
				Func: func(ctx context.Context, reason, amount, orderNo, id string) error {
					w := WorldFrom(ctx)
					_, _, err := w.vmOperation(ctx, "/payments/token", map[string]any{"amount": amount, "orderNo": w.Expand(orderNo), "customerInitiatedReason": reason,
						"transactionIdentifier": w.Expand(id), "expiryMonth": "12", "expiryYear": "2030"})
					return err
				},
			},
			{
				Pattern: `^I inquire the payment of order "([^"]*)"$`,
				Doc:     "Inquires a payment by orderNo; the answer is the last response.",
				Example: `When I inquire the payment of order "A1000001"`,
				Func: func(ctx context.Context, orderNo string) error {
					_, err := WorldFrom(ctx).vmInquire(ctx, orderNo)
					return err
				},
			},
			{
				Pattern: `^the payment of order "([^"]*)" is "([A-Z_]+)"$`,
				Doc:     "Inquires the payment and checks its status.",
				Example: `Then the payment of order "A1000001" is "CAPTURED"`,
				Func: func(ctx context.Context, orderNo, status string) error {
					r, err := WorldFrom(ctx).vmInquire(ctx, orderNo)
					if err != nil {
						return err
					}
					if v, _ := Field(r.Body, "status"); text(v) != status {
						return fmt.Errorf("the payment of order %s is %s, not %s: %s", orderNo, text(v), status, clip(r.Body))
					}
					return nil
				},
			},
			{
				Pattern: `^I capture "([^"]*)" of order "([^"]*)"$`,
				Doc:     "Captures an authorized payment, fully or in part. The answer is the last response.",
				Example: `When I capture "15.00" of order "A1000001"`,
				Func: func(ctx context.Context, amount, orderNo string) error {
					w := WorldFrom(ctx)
					_, _, err := w.vmOperation(ctx, "/payments/capture", map[string]any{"orderNo": w.Expand(orderNo), "captureAmount": amount})
					return err
				},
			},
			{
				Pattern: `^I cancel the payment of order "([^"]*)"$`,
				Doc:     "Cancels (voids) a payment that is not captured. The answer is the last response.",
				Example: `When I cancel the payment of order "A1000001"`,
				Func: func(ctx context.Context, orderNo string) error {
					w := WorldFrom(ctx)
					_, _, err := w.vmOperation(ctx, "/payments/cancel", map[string]any{"orderNo": w.Expand(orderNo), "reason": "cancelled by a scenario"})
					return err
				},
			},
			{
				Pattern: `^I refund "([^"]*)" of order "([^"]*)" as refund "([^"]*)"$`,
				Doc:     "Refunds part or all of a captured payment with a refundNumber (the idempotency key). The answer is the last response; its refundId is remembered as `refundId`.",
				Example: `When I refund "5.00" of order "A1000001" as refund "RF1000001"`,
				Func: func(ctx context.Context, amount, orderNo, number string) error {
					w := WorldFrom(ctx)
					r, answered, err := w.vmOperation(ctx, "/refunds", map[string]any{"orderNo": w.Expand(orderNo), "amount": amount, "clientIp": "10.1.1.1",
						"reason": "refund by a scenario", "refundNumber": w.Expand(number)})
					if err != nil || !answered {
						return err
					}
					if v, ok := Field(r.Body, "refundId"); ok {
						w.Set("refundId", text(v))
					}
					return nil
				},
			},
			{
				Pattern: `^a webhook sink answering (\d{3}) is subscribed$`,
				Doc: "Creates a webhook sink inside pspsim (admin API) that answers this status, and subscribes it to the merchant's events. " +
					"Remembers `sinkId`, `sinkUrl` and the subscription's `webhookSecret`.",
				Example: `Given a webhook sink answering 500 is subscribed`,
				Func: func(ctx context.Context, status int) error {
					w := WorldFrom(ctx)
					r, err := w.Do(ctx, "POST", "/_sim/vmgateway/webhook-sinks", []byte(fmt.Sprintf(`{"status":%d}`, status)))
					if err != nil {
						return err
					}
					if err := want(r, 200, "creating a webhook sink"); err != nil {
						return err
					}
					id, _ := Field(r.Body, "sinkId")
					u, _ := Field(r.Body, "url")
					w.Set("sinkId", text(id))
					w.Set("sinkUrl", text(u))
					r, err = w.vmPost(ctx, "/webhooks/subscriptions", map[string]any{"apiVersion": "20250703", "signMethod": "sha256", "subscribeUrl": text(u)})
					if err != nil {
						return err
					}
					if err := want(r, 200, "subscribing the sink"); err != nil {
						return err
					}
					secret, _ := Field(r.Body, "secret")
					w.Set("webhookSecret", text(secret))
					return nil
				},
			},
			{
				Pattern: `^the webhook sink answers (\d{3}) from now on$`,
				Doc:     "Changes what the sink answers (e.g. 200 after a run of 500s).",
				Example: `When the webhook sink answers 200 from now on`,
				Func: func(ctx context.Context, status int) error {
					w := WorldFrom(ctx)
					id, _ := w.Get("sinkId")
					r, err := w.peek(ctx, "PATCH", "/_sim/vmgateway/webhook-sinks/"+id, []byte(fmt.Sprintf(`{"status":%d}`, status)))
					if err != nil {
						return err
					}
					return want(r, 200, "changing the sink")
				},
			},
			{
				Pattern: `^the webhook sink has received (\d+) deliver(?:y|ies)$`,
				Doc: "Waits (up to 20 s of wall time: the deliveries run on their own goroutines, slow on a busy machine) until the sink has received exactly this many requests and the gateway has judged " +
					"each attempt, so that a later clock move finds every retry scheduled.",
				Example: `Then the webhook sink has received 2 deliveries`,
				Func: func(ctx context.Context, n int) error {
					w := WorldFrom(ctx)
					deadline := time.Now().Add(simtest.Patience)
					for {
						got, err := w.sink(ctx)
						if err != nil {
							return err
						}
						judged, err := w.webhookAttemptsJudged(ctx)
						if err != nil {
							return err
						}
						if len(got) == n && judged >= n {
							return nil
						}
						if len(got) > n || time.Now().After(deadline) {
							return fmt.Errorf("the webhook sink has received %d deliveries (%d judged), not %d", len(got), judged, n)
						}
						time.Sleep(10 * time.Millisecond)
					}
				},
			},
			{
				Pattern: `^every delivery to the webhook sink is the same event, signed with the subscription's secret$`,
				Doc:     "Checks that all deliveries carry one X-VM-Event-Id and one body, and that each X-VM-Signature is the HMAC-SHA256 of timestamp.body with the subscription's secret.",
				Example: `Then every delivery to the webhook sink is the same event, signed with the subscription's secret`,
				Func: func(ctx context.Context) error {
					w := WorldFrom(ctx)
					got, err := w.sink(ctx)
					if err != nil {
						return err
					}
					secret, _ := w.Get("webhookSecret")
					if len(got) == 0 {
						return fmt.Errorf("the webhook sink received nothing")
					}
					for i, d := range got {
						m := hmac.New(sha256.New, []byte(secret))
						m.Write([]byte(d.Timestamp + "." + d.Body))
						if !hmac.Equal([]byte(hex.EncodeToString(m.Sum(nil))), []byte(d.Signature)) {
							return fmt.Errorf("delivery %d: the signature does not verify with the subscription's secret", i+1)
						}
						if d.EventID != got[0].EventID || d.Body != got[0].Body {
							return fmt.Errorf("delivery %d is another event (%s, not %s)", i+1, d.EventID, got[0].EventID)
						}
						var ev struct{ EventID string }
						if json.Unmarshal([]byte(d.Body), &ev) != nil || ev.EventID != d.EventID {
							return fmt.Errorf("delivery %d: X-VM-Event-Id does not match the body's eventId", i+1)
						}
					}
					return nil
				},
			},
			{
				Pattern: `^the last delivery to the webhook sink says "([^"]*)" is "([^"]*)"$`,
				Doc:     "Checks a field of the last event the sink received (dotted path in the event: `data.status`, `eventType`).",
				Example: `Then the last delivery to the webhook sink says "data.status" is "CAPTURED"`,
				Func: func(ctx context.Context, path, value string) error {
					w := WorldFrom(ctx)
					got, err := w.sink(ctx)
					if err != nil {
						return err
					}
					if len(got) == 0 {
						return fmt.Errorf("the webhook sink received nothing")
					}
					v, ok := Field([]byte(got[len(got)-1].Body), path)
					if !ok || text(v) != w.Expand(value) {
						return fmt.Errorf("the last event's %s is %q, not %q", path, text(v), value)
					}
					return nil
				},
			},
			{
				Pattern: `^the buyer is sent to the gateway's return page of the payment$`,
				Doc:     "Checks that the last page answer (a challenge page post) sent the buyer (303) to `/vm/return/{tradeNo}`.",
				Example: `Then the buyer is sent to the gateway's return page of the payment`,
				Func: func(ctx context.Context) error {
					w := WorldFrom(ctx)
					loc, _ := w.Get("location")
					trade, _ := w.Get("tradeNo")
					u, err := url.Parse(loc)
					// Under the target's own path: /ns/{name}/vm/return/… in a namespace.
					if err != nil || u.Path != w.targetPath()+"/vm/return/"+trade {
						return fmt.Errorf("the buyer was sent to %q, not the return page of %s", loc, trade)
					}
					return nil
				},
			},
		},
	}
}
