package genstore_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/pspsim/pspsim/simulator/delivery"
	"github.com/pspsim/pspsim/simulator/ecies"
	"github.com/pspsim/pspsim/simulator/genstore"
	"github.com/pspsim/pspsim/simulator/genstore/genstoretest"
	"github.com/pspsim/pspsim/simulator/money"
	"github.com/pspsim/pspsim/simulator/openapi"
	"github.com/pspsim/pspsim/simulator/simtest"
	"github.com/pspsim/pspsim/specs"
)

// appSchema returns a schema of genstore-app.yaml, what apps validate with.
func appSchema(t *testing.T, name string) *openapi3.Schema {
	t.Helper()
	doc, err := openapi.Load(context.Background(), specs.FS(), "genstore-app.yaml", "/", false)
	if err != nil {
		t.Fatal(err)
	}
	return doc.Components.Schemas[name].Value
}

func validate(t *testing.T, schema string, body []byte) {
	t.Helper()
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatal(err)
	}
	if err := appSchema(t, schema).VisitJSON(v, openapi3.MultiErrors(), openapi3.EnableFormatValidation(), openapi3.WithStringFormatValidators(openapi.Formats())); err != nil {
		t.Fatalf("%s does not validate against genstore-app.yaml: %v\n%s", schema, openapi.Violations(err), body)
	}
}

// TestPaymentRequestIsSignedEncryptedAndComplete checks what a real app
// receives: a signed query, a body HMAC, the Idempotency-Key, seed 000's
// Payment Object (validated against genstore-app.yaml) with every field, the
// shop's test mode, and a card package that opens with the app's key.
func TestPaymentRequestIsSignedEncryptedAndComplete(t *testing.T) {
	e := setup(t)
	card := map[string]any{"number": "5100123456000015", "expiryMonth": "01", "expiryYear": "2029", "cvv": "737", "holderName": "Kenji Sato"}
	v := e.pay(map[string]any{"amount": "123.23", "card": card})
	id := str(v["paymentId"])
	if v["status"] != "1" || simtest.Field(v, "request.state") != "delivered" || simtest.Field(v, "ack.channelId") != "ch_"+id {
		t.Fatalf("payment after the first attempt: %v", v)
	}
	if simtest.Field(v, "card.masked") != "510012******0015" || simtest.Field(v, "card.testCard") != "01" {
		t.Fatalf("card summary: %v", v["card"])
	}
	reqs := e.app.Requests(genstore.KindPayment)
	if len(reqs) != 1 {
		t.Fatalf("%d payment requests", len(reqs))
	}
	r := reqs[0]
	if r.SignatureErr != "" || !r.BodyHMACOK {
		t.Fatalf("signature: %q, body hmac %t", r.SignatureErr, r.BodyHMACOK)
	}
	for _, k := range []string{"shop", "shopId", "timestamp", "hmac"} {
		if r.Query.Get(k) == "" {
			t.Fatalf("query lacks %s: %v", k, r.Query)
		}
	}
	if r.Query.Get("shop") != "test-shop" || r.Query.Get("shopId") != testShop {
		t.Fatalf("query %v", r.Query)
	}
	if ts, _ := strconv.ParseInt(r.Query.Get("timestamp"), 10, 64); ts != e.h.Clock.Now().Unix() {
		t.Fatalf("timestamp %d, clock %d", ts, e.h.Clock.Now().Unix())
	}
	if r.Header.Get("Idempotency-Key") != id || r.ID != id {
		t.Fatalf("idempotency key %q, id %q, want %s", r.Header.Get("Idempotency-Key"), r.ID, id)
	}
	validate(t, "Payment", r.Body)
	var obj map[string]any
	json.Unmarshal(r.Body, &obj)
	for _, k := range []string{"purchaseInfo", "amount", "clientDetails", "test", "manualCapture", "paymentId", "paymentMethod", "currency", "customer"} {
		if _, ok := obj[k]; !ok {
			t.Errorf("the Payment Object lacks %s", k)
		}
	}
	if obj["test"] != true || obj["manualCapture"] != false || obj["amount"] != "123.23" || obj["currency"] != "USD" {
		t.Fatalf("flags and money: %v", obj)
	}
	if bytes.Contains(r.Body, []byte("5100123456000015")) || bytes.Contains(r.Body, []byte(`"737"`)) {
		t.Fatal("the card travels in clear")
	}
	if r.CardErr != nil || r.Card == nil {
		t.Fatalf("the app cannot open the card: %v", r.CardErr)
	}
	if *r.Card != (ecies.Card{Number: "5100123456000015", ExpiryMonth: "01", ExpiryYear: "2029", CVV: "737", HolderName: "Kenji Sato"}) {
		t.Fatalf("card %v", r.Card)
	}
	// The basket adds up to the amount, and the return URL is pspsim's page.
	var items []struct{ UnitPrice, Quantity string }
	raw, _ := json.Marshal(simtest.Field(obj, "purchaseInfo.items"))
	json.Unmarshal(raw, &items)
	var total int64
	for _, it := range items {
		p, _ := money.Parse(it.UnitPrice, "USD")
		q, _ := strconv.ParseInt(it.Quantity, 10, 64)
		total += p * q
	}
	if total != 12323 || simtest.Field(obj, "purchaseInfo.itemTotal") != "123.23" {
		t.Fatalf("basket adds up to %d", total)
	}
	if ru := str(simtest.Field(obj, "paymentMethod.data.returnUrl")); !strings.HasPrefix(ru, e.h.URL+"/genstore/checkouts/"+testShop+"/"+id+"/return") {
		t.Fatalf("returnUrl %s", ru)
	}
}

// TestPaymentObjectCarriesGivenDataAndLiveMode: the merchant's data goes as
// given (checked against the app's schemas), the live mode sends test:false,
// and JPY amounts have no decimals.
func TestPaymentObjectCarriesGivenDataAndLiveMode(t *testing.T) {
	e := setup(t)
	e.admin("PATCH", "/_sim/genstore/shops/"+testShop, map[string]any{"testMode": false}, 200)
	customer := map[string]any{"email": "ada@example.com", "billingAddress": map[string]any{"givenName": "Ada", "familyName": "Lovelace", "countryCode": "GB"}}
	e.pay(map[string]any{"amount": "15000", "currency": "JPY", "customer": customer, "card": map[string]any{"number": "4000123456000019"}})
	r := e.app.Requests(genstore.KindPayment)[0]
	var obj map[string]any
	json.Unmarshal(r.Body, &obj)
	if obj["test"] != false || obj["amount"] != "15000" || obj["currency"] != "JPY" {
		t.Fatalf("%v", obj)
	}
	if simtest.Field(obj, "customer.email") != "ada@example.com" || r.Card.HolderName != "Ada Lovelace" {
		t.Fatalf("customer %v holder %q", obj["customer"], r.Card.HolderName)
	}
	for _, c := range []struct {
		body  map[string]any
		field string
	}{
		{map[string]any{"amount": "1.001"}, "amount"},
		{map[string]any{"amount": "0"}, "amount"},
		{map[string]any{"amount": "1.00", "currency": "XXY"}, "currency"},
		{map[string]any{"amount": "1.00", "customer": map[string]any{"email": "not-an-email"}}, "customer.email"},
		{map[string]any{"amount": "1.00", "purchaseInfo": map[string]any{"items": []any{map[string]any{"quantity": "0"}}}}, "purchaseInfo.items[0].quantity"},
		{map[string]any{"amount": "1.00", "card": map[string]any{"number": "4000 1234"}}, "card.number"},
	} {
		c.body["clientId"] = e.app.ClientID
		res := e.h.Do("POST", "/_sim/genstore/shops/"+testShop+"/payments", c.body)
		var m struct {
			Error struct{ Field, Message string }
		}
		json.Unmarshal(res.Body, &m)
		if res.Status != 400 || m.Error.Field != c.field {
			t.Errorf("%v: %d %s (want 400 naming %s)", c.body, res.Status, res.Body, c.field)
		}
	}
}

// TestPaymentRetriesComeOnScheduleWithIdenticalBodies: 503, 503, 503 then
// 200: attempts at 0, 1 s, 4 s and 14 s on the clock, each freshly signed,
// the same body bytes and Idempotency-Key every time.
func TestPaymentRetriesComeOnScheduleWithIdenticalBodies(t *testing.T) {
	e := setup(t)
	e.app.Queue(genstore.KindPayment, genstoretest.Reply{Status: 503}, genstoretest.Reply{Status: 503}, genstoretest.Reply{Status: 503})
	start := e.h.Clock.Now()
	v := e.pay(map[string]any{"amount": "10.00"})
	id := str(v["paymentId"])
	if simtest.Field(v, "request.state") != "pending" || simtest.Field(v, "request.attempts") != float64(1) {
		t.Fatalf("after attempt 1: %v", v["request"])
	}
	for _, step := range []time.Duration{999 * time.Millisecond, time.Millisecond, 3 * time.Second, 10 * time.Second} {
		e.advance(step)
	}
	reqs := e.app.Requests(genstore.KindPayment)
	if len(reqs) != 4 {
		t.Fatalf("%d attempts, want 4", len(reqs))
	}
	wantAt := []time.Duration{0, time.Second, 4 * time.Second, 14 * time.Second}
	for i, r := range reqs {
		ts, _ := strconv.ParseInt(r.Query.Get("timestamp"), 10, 64)
		if got := time.Unix(ts, 0).Sub(start); got != wantAt[i] {
			t.Errorf("attempt %d signed at +%s, want +%s", i+1, got, wantAt[i])
		}
		if r.SignatureErr != "" || !r.BodyHMACOK {
			t.Errorf("attempt %d: signature %q", i+1, r.SignatureErr)
		}
		if !bytes.Equal(r.Body, reqs[0].Body) || r.Header.Get("Idempotency-Key") != id {
			t.Errorf("attempt %d differs: key %q", i+1, r.Header.Get("Idempotency-Key"))
		}
	}
	v = e.payment(id)
	if simtest.Field(v, "request.state") != "delivered" || simtest.Field(v, "request.attempts") != float64(4) || v["ack"] == nil {
		t.Fatalf("after attempt 4: %v", v)
	}
	if got := len(e.events("delivery.attempt", id)); got != 4 {
		t.Fatalf("%d delivery.attempt events", got)
	}
}

// TestPaymentDeliveryOutcomes: which answers are retried (5xx, 408, 429, a
// timeout, a dropped connection) and which are final (other 4xx, 401 for a
// bad signature), and what the payment becomes.
func TestPaymentDeliveryOutcomes(t *testing.T) {
	cases := []struct {
		name     string
		reply    genstoretest.Reply
		attempts int    // after the whole schedule
		status   string // the payment's
		reason   string
	}{
		{"500 retried then fails", genstoretest.Reply{Status: 500}, 4, "9", "no acknowledgement from the app after 4 attempts (last: HTTP 500)"},
		{"408 retried", genstoretest.Reply{Status: 408}, 4, "9", "HTTP 408"},
		{"429 retried", genstoretest.Reply{Status: 429}, 4, "9", "HTTP 429"},
		{"timeout retried", genstoretest.Reply{Delay: 5 * time.Second}, 4, "9", "no answer within 1s"},
		{"dropped connection retried", genstoretest.Reply{Drop: true}, 4, "9", "transport"},
		{"400 is final", genstoretest.Reply{Status: 400, Body: map[string]string{"error": "amount: unsupported"}}, 1, "9", "the app refused the payment request with HTTP 400: amount: unsupported"},
		{"404 is final", genstoretest.Reply{Status: 404}, 1, "9", "HTTP 404"},
		{"409 is final", genstoretest.Reply{Status: 409}, 1, "9", "HTTP 409"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// A short timeout only where the timeout is the point: elsewhere a
			// busy machine must not turn a quick answer into a timeout. Even
			// there, 1 s: under load a request can take hundreds of
			// milliseconds to reach the app at all, and the app must see
			// each attempt.
			cfg := "genstore:\n  settings:\n    requestTimeout: 10s\n"
			if c.reply.Delay > 0 {
				cfg = "genstore:\n  settings:\n    requestTimeout: 1s\n"
			}
			e := setup(t, cfg)
			e.app.Default(genstore.KindPayment, c.reply)
			id := str(e.pay(map[string]any{"amount": "10.00"})["paymentId"])
			e.advance(time.Minute)
			v := e.payment(id)
			if got := int(simtest.Field(v, "request.attempts").(float64)); got != c.attempts || v["status"] != c.status {
				t.Fatalf("attempts %d status %v, want %d and %s: %v", got, v["status"], c.attempts, c.status, v["request"])
			}
			if reason := str(simtest.Field(v, "result.reason")); !strings.Contains(reason, c.reason) || simtest.Field(v, "result.source") != "delivery" {
				t.Fatalf("reason %q, want %q", reason, c.reason)
			}
			if simtest.Field(v, "request.state") != "failed" {
				t.Fatalf("delivery state %v", simtest.Field(v, "request.state"))
			}
			// Nothing more is sent, and a late callback cannot change the result.
			// (Go's transport replays a request carrying Idempotency-Key once
			// on a reused connection that broke: the app may see one more
			// request than Genstore made attempts.)
			before := len(e.app.Requests(genstore.KindPayment))
			e.advance(48 * time.Hour)
			if n := len(e.app.Requests(genstore.KindPayment)); n != before || n < c.attempts || (n != c.attempts && !c.reply.Drop) {
				t.Fatalf("%d requests after the schedule, %d attempts", n, c.attempts)
			}
			want(t, e.report(genstore.KindPayment, id, true, "", "ch_late"), 409, "pay.result")
		})
	}
}

// TestOperationRetrySchedule: a capture is retried after 30 s, 2 min, 10 min,
// 30 min, 1 h, 2 h, 4 h, 8 h, then every 8 h up to 48 h — 13 attempts — and
// then fails; the payment stays authorized.
func TestOperationRetrySchedule(t *testing.T) {
	e := setup(t)
	e.app.Default(genstore.KindCapture, genstoretest.Reply{Status: 503})
	id := str(e.pay(map[string]any{"amount": "20.00", "manualCapture": true})["paymentId"])
	want(t, e.report(genstore.KindPayment, id, true, "", "ch_1"), 200, "")
	start := e.h.Clock.Now()
	op := e.operate(id, "captures", map[string]any{"amount": "15.00"}, 201)
	capID := str(simtest.Field(op, "operation.id"))
	waits := []time.Duration{30 * time.Second, 2 * time.Minute, 10 * time.Minute, 30 * time.Minute, time.Hour, 2 * time.Hour, 4 * time.Hour, 8 * time.Hour, 8 * time.Hour, 8 * time.Hour, 8 * time.Hour, 8 * time.Hour}
	var at []time.Duration
	var sum time.Duration
	at = append(at, 0)
	for _, w := range waits {
		sum += w
		at = append(at, sum)
	}
	for i := 1; i < len(at); i++ {
		e.advance(at[i] - at[i-1] - time.Second)
		if n := len(e.app.Requests(genstore.KindCapture)); n != i {
			t.Fatalf("before +%s: %d attempts, want %d", at[i], n, i)
		}
		e.advance(time.Second)
		if n := len(e.app.Requests(genstore.KindCapture)); n != i+1 {
			t.Fatalf("at +%s: %d attempts, want %d", at[i], n, i+1)
		}
	}
	if at[len(at)-1] > 48*time.Hour {
		t.Fatalf("last attempt at +%s, after 48h", at[len(at)-1])
	}
	e.advance(24 * time.Hour)
	reqs := e.app.Requests(genstore.KindCapture)
	if len(reqs) != 13 {
		t.Fatalf("%d capture attempts, want 13", len(reqs))
	}
	for i, r := range reqs {
		ts, _ := strconv.ParseInt(r.Query.Get("timestamp"), 10, 64)
		if time.Unix(ts, 0).Sub(start) != at[i] || !bytes.Equal(r.Body, reqs[0].Body) || r.Header.Get("Idempotency-Key") != capID || r.SignatureErr != "" {
			t.Fatalf("attempt %d: signed at %d, key %q, sig %q", i+1, ts, r.Header.Get("Idempotency-Key"), r.SignatureErr)
		}
	}
	validate(t, "CaptureRequest", reqs[0].Body)
	if string(reqs[0].Body) != fmt.Sprintf(`{"amount":"15.00","test":true,"paymentId":"%s","captureId":"%s"}`, id, capID) {
		t.Fatalf("capture body %s", reqs[0].Body)
	}
	v := e.payment(id)
	ops := v["operations"].([]any)
	capture := ops[0].(map[string]any)
	if v["status"] != "4" || capture["status"] != "failed" || !strings.Contains(str(simtest.Field(capture, "result.reason")), "after 13 attempts") {
		t.Fatalf("after 48h: payment %v, capture %v", v["status"], capture)
	}
}

// TestRequestBodiesOfOperations checks void and refund bodies against the
// app spec and the contract's field order.
func TestRequestBodiesOfOperations(t *testing.T) {
	e := setup(t)
	a := str(e.pay(map[string]any{"amount": "30.00", "manualCapture": true})["paymentId"])
	e.report(genstore.KindPayment, a, true, "", "ch_a")
	voidID := str(simtest.Field(e.operate(a, "voids", nil, 201), "operation.id"))
	b := str(e.pay(map[string]any{"amount": "30.00"})["paymentId"])
	e.report(genstore.KindPayment, b, true, "", "ch_b")
	refundID := str(simtest.Field(e.operate(b, "refunds", map[string]any{"amount": "12.50"}, 201), "operation.id"))
	v := e.app.Requests(genstore.KindVoid)[0]
	r := e.app.Requests(genstore.KindRefund)[0]
	validate(t, "VoidRequest", v.Body)
	validate(t, "RefundRequest", r.Body)
	if string(v.Body) != fmt.Sprintf(`{"test":true,"voidId":"%s","paymentId":"%s"}`, voidID, a) {
		t.Fatalf("void body %s", v.Body)
	}
	if string(r.Body) != fmt.Sprintf(`{"amount":"12.50","test":true,"paymentId":"%s","refundId":"%s"}`, b, refundID) {
		t.Fatalf("refund body %s", r.Body)
	}
	for _, req := range []genstoretest.Request{v, r} {
		if req.SignatureErr != "" || !req.BodyHMACOK || req.Header.Get("Idempotency-Key") != req.ID {
			t.Fatalf("%s: signature %q", req.Kind, req.SignatureErr)
		}
	}
}

// TestTamperedSignatureIsRefusedByTheApp: the fault engine's "tamper" uses
// Request.Tamper; the app sees an hmac that does not verify and answers 401,
// which Genstore takes as final. Tags name shop, app and environment.
func TestTamperedSignatureIsRefusedByTheApp(t *testing.T) {
	e := setup(t)
	var tags map[string]string
	e.h.Sim.Env().Sender.SetHook(func(ctx context.Context, req *delivery.Request, attempt int, send delivery.SendFunc) (*delivery.Response, error) {
		tags = req.Tags
		if req.Tamper != nil {
			*req = req.Tamper(*req)
		}
		return send(ctx, req, attempt)
	})
	id := str(e.pay(map[string]any{"amount": "10.00"})["paymentId"])
	r := e.app.Requests(genstore.KindPayment)[0]
	if !strings.Contains(r.SignatureErr, "hmac") || r.Answered != 401 {
		t.Fatalf("tampered request: %q answered %d", r.SignatureErr, r.Answered)
	}
	if tags["shop"] != testShop || tags["app"] != e.app.ClientID || tags["environment"] != "sandbox" {
		t.Fatalf("tags %v", tags)
	}
	if v := e.payment(id); v["status"] != "9" || !strings.Contains(str(simtest.Field(v, "result.reason")), "HTTP 401") {
		t.Fatalf("payment %v %v", v["status"], v["result"])
	}
}

// TestSigningHelpers pins the signed string of CONTRACT.md §2 and the
// timestamp window.
func TestSigningHelpers(t *testing.T) {
	q := url.Values{"timestamp": {"1728544675"}, "shopId": {"1001"}, "shop": {"demo-shop"}, "paymentId": {"PI0020241010151755224"}, "hmac": {"x"}}
	if s := genstore.SignedString(q); s != "paymentId=PI0020241010151755224&shop=demo-shop&shopId=1001&timestamp=1728544675" {
		t.Fatalf("signed string %s", s)
	}
	q.Set("hmac", genstore.QueryHMAC("secret", q))
	at := time.Unix(1728544675, 0)
	for _, c := range []struct {
		now  time.Time
		edit func(url.Values)
		ok   bool
	}{
		{at, nil, true},
		{at.Add(300 * time.Second), nil, true},
		{at.Add(301 * time.Second), nil, false},
		{at.Add(-301 * time.Second), nil, false},
		{at, func(q url.Values) { q.Set("shop", "other-shop") }, false},
		{at, func(q url.Values) { q.Del("hmac") }, false},
		{at, func(q url.Values) { q.Set("hmac", strings.ToUpper(q.Get("hmac"))) }, true},
	} {
		qq := url.Values{}
		for k, v := range q {
			qq[k] = append([]string(nil), v...)
		}
		if c.edit != nil {
			c.edit(qq)
		}
		if err := genstore.VerifyQuery("secret", qq, c.now, 300*time.Second); (err == nil) != c.ok {
			t.Errorf("%v at %s: %v", qq, c.now.Sub(at), err)
		}
	}
	body := []byte(`{"a":1}`)
	if !genstore.VerifyBody("secret", body, genstore.BodyHMAC("secret", body)) || genstore.VerifyBody("secret", []byte(`{"a":2}`), genstore.BodyHMAC("secret", body)) {
		t.Fatal("body hmac")
	}
}
