package paymentapp

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// Visa test cards (TESTCARDS.md): NN 00 approved without 3-D Secure, 01 frictionless Y,
// 03 N, 04 R, 06 challenge, 13 decoupled, 20 insufficient funds, 25 processor 5xx,
// 26 accepted then never answered.
const (
	cardApproved     = "4000123456000019"
	card3DSN         = "4000123456000035"
	card3DSR         = "4000123456000043"
	cardChallenge    = "4000123456000068"
	cardDecoupled    = "4000123456000134"
	cardInsufficient = "4000123456000209"
	cardProcessorErr = "4000123456000258"
	cardTimeout      = "4000123456000266"
)

func TestInstallation(t *testing.T) {
	h := newHarness(t) // installs, and checks account_authorize ready:true
	if got := h.gw.callsOf("subscribe"); len(got) != 2 {
		t.Errorf("webhook subscriptions = %d, want one per environment", len(got))
	}

	// A replayed or forged redirect does nothing.
	before := h.gs.exchange
	q, _ := url.ParseQuery(h.signedQuery(url.Values{"code": {h.gs.newCode(testShop)}}))
	q.Set("code", "forged")
	resp, err := http.Get(h.url + "/onboarding?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 || h.gs.exchange != before {
		t.Errorf("forged onboarding: status %d, exchanges %d→%d; want 401 and no exchange", resp.StatusCode, before, h.gs.exchange)
	}
}

func TestPaymentApprovedInTestMode(t *testing.T) {
	h := newHarness(t)
	ack := h.pay(h.payment("PI001", cardApproved, true, false, "123.23"))
	if ack["channelPaymentId"] == "" || ack["error"] != "" || ack["redirectUrl"] != "" {
		t.Fatalf("ack = %v", ack)
	}
	cb := h.waitCallbacks("/api/202412/app/", 1)
	if len(cb) != 1 || cb[0].Path != "/api/202412/app/payment/PI001" {
		t.Fatalf("callbacks = %+v", cb)
	}
	pay := cb[0].Pay
	if pay["result"] != "true" || pay["paymentId"] != "PI001" || pay["channelPaymentId"] != ack["channelPaymentId"] {
		t.Errorf("callback body = %v", pay)
	}
	if _, ok := pay["reason"]; ok {
		t.Errorf("reason sent with result true: %v", pay)
	}
	creates := h.gw.callsOf("create")
	if len(creates) != 1 || creates[0].Env != Sandbox || creates[0].OrderNo != "PI001" || creates[0].Amount != "123.23" {
		t.Fatalf("gateway creates = %+v", creates)
	}
	for _, want := range []string{`"threeDsMode":"auto"`, `"captureMethod":"auto"`, `"clientIp":"203.0.113.7"`, `"language":"en-US"`, `"frontUrl":"` + h.url + `/return/`} {
		if !strings.Contains(creates[0].Body, want) {
			t.Errorf("gateway request lacks %s", want)
		}
	}
}

func TestPaymentLiveMode(t *testing.T) {
	h := newHarness(t)
	h.pay(h.payment("PI002", cardApproved, false, false, "10.00"))
	h.waitCallbacks("/api/202412/app/payment/PI002", 1)
	if c := h.gw.callsOf("create"); len(c) != 1 || c[0].Env != Live {
		t.Fatalf("test:false went to %+v, want live", c)
	}
}

func TestFlagsAsStrings(t *testing.T) {
	h := newHarness(t)
	body := h.payment("PI003", cardApproved, true, true, "10.00")
	body["test"], body["manualCapture"] = "true", "true"
	h.pay(body)
	cb := h.waitCallbacks("/api/202412/app/pre_authorize/PI003", 1)
	if cb[0].Pay["result"] != "true" {
		t.Fatalf("callback = %+v", cb)
	}
	if c := h.gw.callsOf("create"); c[0].Env != Sandbox || !strings.Contains(c[0].Body, `"captureMethod":"manual"`) {
		t.Fatalf("create = %+v", c[0])
	}
}

func TestDeclines(t *testing.T) {
	for _, tc := range []struct {
		name, pan, reason string
	}{
		{"insufficient funds", cardInsufficient, "INSUFFICIENT_FUNDS"},
		{"3-D Secure N", card3DSN, "AUTHENTICATION_FAILED"},
		{"3-D Secure R", card3DSR, "AUTHENTICATION_REJECTED"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			h.pay(h.payment("PI010", tc.pan, true, false, "10.00"))
			cb := h.waitCallbacks("/api/202412/app/payment/PI010", 1)
			if cb[0].Pay["result"] != "false" || !strings.Contains(fmt.Sprint(cb[0].Pay["reason"]), tc.reason) {
				t.Fatalf("callback = %+v", cb[0])
			}
		})
	}
}

func TestProcessorErrorIsRetriedThenFails(t *testing.T) {
	h := newHarness(t)
	ack := h.pay(h.payment("PI011", cardProcessorErr, true, false, "10.00"))
	if ack["error"] == "" {
		t.Errorf("ack = %v, want a message", ack)
	}
	cb := h.waitCallbacks("/api/202412/app/payment/PI011", 1)
	if cb[0].Pay["result"] != "false" {
		t.Fatalf("callback = %+v", cb[0])
	}
	// 5xx → inquiry (404) → one more try with the same orderNo → 5xx → inquiry (404) → false.
	if c, i := len(h.gw.callsOf("create")), len(h.gw.callsOf("inquiry")); c != 2 || i != 2 {
		t.Errorf("creates %d, inquiries %d; want 2 and 2", c, i)
	}
}

func TestTimeoutIsReconciled(t *testing.T) {
	h := newHarness(t)
	ack := h.pay(h.payment("PI012", cardTimeout, true, false, "10.00"))
	if ack["channelPaymentId"] != "" {
		t.Errorf("ack = %v", ack)
	}
	cb := h.waitCallbacks("/api/202412/app/payment/PI012", 1)
	if cb[0].Pay["result"] != "true" || cb[0].Pay["channelPaymentId"] == "" {
		t.Fatalf("callback = %+v", cb[0])
	}
	if len(h.gw.callsOf("create")) != 1 {
		t.Error("the payment was created more than once")
	}
}

func TestThreeDSChallenge(t *testing.T) {
	for _, passed := range []bool{true, false} {
		t.Run(fmt.Sprint("passed=", passed), func(t *testing.T) {
			h := newHarness(t)
			ack := h.pay(h.payment("PI020", cardChallenge, true, false, "10.00"))
			if !strings.Contains(ack["redirectUrl"], "/3ds/challenge/") || ack["channelPaymentId"] == "" {
				t.Fatalf("ack = %v, want the challenge's redirectUrl", ack)
			}
			settle()
			if n := len(h.gs.callbacks("/api/202412/app/")); n != 0 {
				t.Fatalf("%d callbacks before the buyer finished", n)
			}
			h.gw.finish(Sandbox, "PI020", passed)
			_, front := h.gw.payment(Sandbox, "PI020")
			client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
			resp, err := client.Get(front)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != testReturnURL {
				t.Fatalf("return: %d → %q, want 303 to %s", resp.StatusCode, resp.Header.Get("Location"), testReturnURL)
			}
			cb := h.waitCallbacks("/api/202412/app/payment/PI020", 1)
			if cb[0].Pay["result"] != fmt.Sprint(passed) {
				t.Fatalf("callback = %+v", cb[0])
			}
		})
	}
}

func TestDecoupledSettledByWebhook(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.ReconcileBackoff = []time.Duration{time.Hour} })
	h.pay(h.payment("PI030", cardDecoupled, true, false, "10.00"))
	settle()
	if n := len(h.gs.callbacks("/api/202412/app/")); n != 0 {
		t.Fatalf("%d callbacks while pending", n)
	}
	gp := h.gw.finish(Sandbox, "PI030", true)
	if s := h.gw.emit(Sandbox, "evt_1", "payment.status_changed", gp, time.Now()); s != 200 {
		t.Fatalf("webhook answered %d", s)
	}
	cb := h.waitCallbacks("/api/202412/app/payment/PI030", 1)
	if cb[0].Pay["result"] != "true" {
		t.Fatalf("callback = %+v", cb[0])
	}
	// The same event again, and a forged one: nothing more happens.
	if s := h.gw.emit(Sandbox, "evt_1", "payment.status_changed", gp, time.Now()); s != 200 {
		t.Errorf("duplicate webhook answered %d", s)
	}
	body := []byte(`{"eventId":"evt_2","eventType":"payment.status_changed","data":{}}`)
	if s := postWebhook(t, h.url+"/webhooks/vm/sandbox", "not-the-secret", "evt_2", body, time.Now()); s != 401 {
		t.Errorf("forged webhook answered %d, want 401", s)
	}
	h.gw.mu.Lock()
	secret := h.gw.subs[Sandbox].secret
	h.gw.mu.Unlock()
	if s := postWebhook(t, h.url+"/webhooks/vm/sandbox", secret, "evt_3", body, time.Now().Add(-10*time.Minute)); s != 401 {
		t.Errorf("stale webhook answered %d, want 401", s)
	}
	settle()
	if n := len(h.gs.callbacks("/api/202412/app/")); n != 1 {
		t.Errorf("%d callbacks, want 1", n)
	}
}

func TestDecoupledSettledByInquiry(t *testing.T) {
	h := newHarness(t)
	h.pay(h.payment("PI031", cardDecoupled, true, false, "10.00"))
	h.gw.finish(Sandbox, "PI031", true) // no webhook: the app must ask
	cb := h.waitCallbacks("/api/202412/app/payment/PI031", 1)
	if cb[0].Pay["result"] != "true" {
		t.Fatalf("callback = %+v", cb[0])
	}
}

func TestCaptureVoidRefund(t *testing.T) {
	h := newHarness(t)
	h.pay(h.payment("PI040", cardApproved, true, true, "100.00"))
	if cb := h.waitCallbacks("/api/202412/app/pre_authorize/PI040", 1); cb[0].Pay["result"] != "true" {
		t.Fatalf("authorization = %+v", cb[0])
	}

	// A partial capture.
	_, ack := h.post("/capture", map[string]any{"amount": "60.00", "test": true, "paymentId": "PI040", "captureId": "CI1"})
	if ack["channelCaptureId"] == "" || ack["error"] != "" {
		t.Fatalf("capture ack = %v", ack)
	}
	if cb := h.waitCallbacks("/api/202412/app/capture/CI1", 1); cb[0].Pay["result"] != "true" || cb[0].Pay["captureId"] != "CI1" || cb[0].Pay["channelCaptureId"] == nil {
		t.Fatalf("capture callback = %+v", cb[0])
	}
	// A second capture and a void are refused without asking the gateway.
	h.post("/capture", map[string]any{"amount": "10.00", "test": true, "paymentId": "PI040", "captureId": "CI2"})
	h.post("/void", map[string]any{"test": true, "paymentId": "PI040", "voidId": "VI1"})
	if cb := h.waitCallbacks("/api/202412/app/capture/CI2", 1); cb[0].Pay["result"] != "false" || cb[0].Pay["reason"] == "" {
		t.Errorf("second capture = %+v", cb[0])
	}
	if cb := h.waitCallbacks("/api/202412/app/void/VI1", 1); cb[0].Pay["result"] != "false" {
		t.Errorf("void after capture = %+v", cb[0])
	}
	if n := len(h.gw.callsOf("capture")); n != 1 {
		t.Errorf("gateway captures = %d, want 1", n)
	}

	// Refunds: 50 of 60, then 20 (too much: 10 left), then 10.
	refund := func(id, amount string) gsCall {
		h.post("/refund", map[string]any{"amount": amount, "test": true, "paymentId": "PI040", "refundId": id})
		return h.waitCallbacks("/api/202412/app/refund/"+id, 1)[0]
	}
	if cb := refund("RI1", "50.00"); cb.Pay["result"] != "true" || cb.Pay["channelRefundId"] == nil {
		t.Errorf("refund 50 = %+v", cb)
	}
	if cb := refund("RI2", "20.00"); cb.Pay["result"] != "false" {
		t.Errorf("refund 20 over 10 left = %+v", cb)
	}
	if cb := refund("RI3", "10.00"); cb.Pay["result"] != "true" {
		t.Errorf("refund 10 = %+v", cb)
	}
	if n := len(h.gw.callsOf("refund")); n != 2 {
		t.Errorf("gateway refunds = %d, want 2 (the excess is refused by the app)", n)
	}
}

func TestVoid(t *testing.T) {
	h := newHarness(t)
	h.pay(h.payment("PI041", cardApproved, true, true, "100.00"))
	h.waitCallbacks("/api/202412/app/pre_authorize/PI041", 1)
	_, ack := h.post("/void", map[string]any{"test": "true", "paymentId": "PI041", "voidId": "VI2"})
	if ack["channelVoidId"] == "" {
		t.Fatalf("void ack = %v", ack)
	}
	if cb := h.waitCallbacks("/api/202412/app/void/VI2", 1); cb[0].Pay["result"] != "true" {
		t.Fatalf("void = %+v", cb[0])
	}
	if gp, _ := h.gw.payment(Sandbox, "PI041"); gp.Status != gwCancelled {
		t.Errorf("gateway status %s, want CANCELLED", gp.Status)
	}
	// Capturing a voided payment is refused by the app.
	h.post("/capture", map[string]any{"amount": "1.00", "test": true, "paymentId": "PI041", "captureId": "CI3"})
	if cb := h.waitCallbacks("/api/202412/app/capture/CI3", 1); cb[0].Pay["result"] != "false" {
		t.Errorf("capture after void = %+v", cb[0])
	}
}

func TestPendingRefundSettledByWebhook(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.ReconcileBackoff = []time.Duration{time.Hour} })
	h.gw.refundPending = true
	h.pay(h.payment("PI042", cardApproved, true, false, "30.00"))
	h.waitCallbacks("/api/202412/app/payment/PI042", 1)
	_, ack := h.post("/refund", map[string]any{"amount": "30.00", "test": true, "paymentId": "PI042", "refundId": "RI0004"})
	if ack["channelRefundId"] == "" {
		t.Fatalf("refund ack = %v", ack)
	}
	if _, q := h.query("/refund_query", url.Values{"refundId": {"RI0004"}}); q["status"] != "PROCESSING" {
		t.Errorf("refund query while pending = %v", q)
	}
	rf := h.gw.settleRefund(Sandbox, "RI0004", true)
	h.gw.emit(Sandbox, "evt_r1", "refund.status_changed", rf, time.Now())
	if cb := h.waitCallbacks("/api/202412/app/refund/RI0004", 1); cb[0].Pay["result"] != "true" {
		t.Fatalf("refund = %+v", cb[0])
	}
	if _, q := h.query("/refund_query", url.Values{"refundId": {"RI0004"}}); q["status"] != "SUCCESS" || q["channelRefundId"] != ack["channelRefundId"] {
		t.Errorf("refund query = %v", q)
	}
}

func TestQueries(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.ReconcileBackoff = []time.Duration{time.Hour} })
	ack := h.pay(h.payment("PI050", cardApproved, true, false, "10.00"))
	h.waitCallbacks("/api/202412/app/payment/PI050", 1)
	if s, q := h.query("/payment_query", url.Values{"paymentId": {"PI050"}}); s != 200 || q["status"] != "SUCCESS" || q["channelPaymentId"] != ack["channelPaymentId"] {
		t.Errorf("query = %d %v", s, q)
	}
	if s, q := h.query("/payment_query", url.Values{"paymentId": {"PI999"}}); s != 404 || q["error"] == "" {
		t.Errorf("unknown payment query = %d %v", s, q)
	}
	if s, _ := h.query("/refund_query", url.Values{"refundId": {"RI999"}}); s != 404 {
		t.Errorf("unknown refund query = %d", s)
	}

	// A pending payment whose webhook is lost: the query asks the gateway, and reports.
	h.pay(h.payment("PI051", cardDecoupled, true, false, "10.00"))
	if _, q := h.query("/payment_query", url.Values{"paymentId": {"PI051"}}); q["status"] != "PROCESSING" {
		t.Errorf("pending query = %v", q)
	}
	h.gw.finish(Sandbox, "PI051", false)
	if _, q := h.query("/payment_query", url.Values{"paymentId": {"PI051"}}); q["status"] != "FAILURE" || q["error"] == "" {
		t.Errorf("query after the gateway failed it = %v", q)
	}
	if cb := h.waitCallbacks("/api/202412/app/payment/PI051", 1); cb[0].Pay["result"] != "false" {
		t.Errorf("callback = %+v", cb[0])
	}
}

func TestIdempotencySequential(t *testing.T) {
	h := newHarness(t)
	body := h.payment("PI060", cardApproved, true, false, "10.00")
	first := h.pay(body)
	h.waitCallbacks("/api/202412/app/payment/PI060", 1)
	for i := 0; i < 3; i++ {
		if again := h.pay(body); fmt.Sprint(again) != fmt.Sprint(first) {
			t.Errorf("repeat %d answered %v, first %v", i, again, first)
		}
	}
	settle()
	if n := len(h.gw.callsOf("create")); n != 1 {
		t.Errorf("gateway creates = %d, want 1", n)
	}
	if n := len(h.gs.callbacks("/api/202412/app/")); n != 1 {
		t.Errorf("callbacks = %d, want 1", n)
	}
}

func TestIdempotencyConcurrent(t *testing.T) {
	h := newHarness(t)
	h.gw.createDelay = 100 * time.Millisecond
	body := h.payment("PI061", cardApproved, true, false, "10.00")
	acks := deliverConcurrently(h, "/payment", body, 8)
	for _, ack := range acks[1:] {
		if fmt.Sprint(ack) != fmt.Sprint(acks[0]) {
			t.Errorf("acks differ: %v vs %v", ack, acks[0])
		}
	}
	h.waitCallbacks("/api/202412/app/payment/PI061", 1)
	settle()
	if n := len(h.gw.callsOf("create")); n != 1 {
		t.Errorf("gateway creates = %d, want 1", n)
	}
	if n := len(h.gs.callbacks("/api/202412/app/")); n != 1 {
		t.Errorf("callbacks = %d, want 1", n)
	}
}

func TestIdempotentRefundConcurrent(t *testing.T) {
	h := newHarness(t)
	h.pay(h.payment("PI062", cardApproved, true, false, "10.00"))
	h.waitCallbacks("/api/202412/app/payment/PI062", 1)
	deliverConcurrently(h, "/refund", map[string]any{"amount": "4.00", "test": true, "paymentId": "PI062", "refundId": "RI6"}, 8)
	h.waitCallbacks("/api/202412/app/refund/RI6", 1)
	settle()
	if n := len(h.gw.callsOf("refund")); n != 1 {
		t.Errorf("gateway refunds = %d, want 1", n)
	}
}

// deliverConcurrently sends n identical deliveries at once and returns their answers.
func deliverConcurrently(h *harness, path string, body any, n int) []map[string]string {
	h.t.Helper()
	acks := make([]map[string]string, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range acks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			_, acks[i] = h.post(path, body)
		}()
	}
	close(start)
	wg.Wait()
	return acks
}

func TestFinalResultIsImmutable(t *testing.T) {
	h := newHarness(t)
	h.pay(h.payment("PI070", cardApproved, true, false, "10.00"))
	h.waitCallbacks("/api/202412/app/payment/PI070", 1)
	gp, _ := h.gw.payment(Sandbox, "PI070")
	contra := gp
	contra.Status, contra.FailureCode, contra.UpdatedAt = gwFailed, "DO_NOT_HONOR", "2030-01-01T00:00:00Z"
	h.gw.emit(Sandbox, "evt_c1", "payment.status_changed", contra, time.Now())
	h.gw.emit(Sandbox, "evt_c2", "payment.status_changed", gp, time.Now()) // a late duplicate of the truth
	settle()
	if n := len(h.gs.callbacks("/api/202412/app/")); n != 1 {
		t.Fatalf("callbacks = %d, want 1: %+v", n, h.gs.callbacks(""))
	}
	if !strings.Contains(h.logs.String(), "contradicts a final result") {
		t.Error("the contradiction was not logged")
	}
	if _, q := h.query("/payment_query", url.Values{"paymentId": {"PI070"}}); q["status"] != "SUCCESS" {
		t.Errorf("query = %v", q)
	}
}

func TestCallbackRetries(t *testing.T) {
	for _, tc := range []struct {
		name     string
		script   []int
		attempts int
	}{
		{"5xx then success", []int{503, 500}, 3},
		{"408 and 429 are retried", []int{408, 429}, 3},
		{"422 is final", []int{422}, 1},
		{"409 is final", []int{409}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			h.gs.answerNext("/api/202412/app/payment/PI080", tc.script...)
			h.pay(h.payment("PI080", cardApproved, true, false, "10.00"))
			h.waitCallbacks("/api/202412/app/payment/PI080", tc.attempts)
			settle()
			cb := h.gs.callbacks("/api/202412/app/payment/PI080")
			if len(cb) != tc.attempts {
				t.Fatalf("attempts = %d, want %d", len(cb), tc.attempts)
			}
			for _, c := range cb[1:] {
				if fmt.Sprint(c.Pay) != fmt.Sprint(cb[0].Pay) {
					t.Errorf("retry body differs: %v vs %v", c.Pay, cb[0].Pay)
				}
			}
		})
	}
}

func TestMalformedRequests(t *testing.T) {
	h := newHarness(t)
	for name, body := range map[string]any{
		"no paymentId":     map[string]any{"amount": "1.00", "currency": "USD", "test": true, "manualCapture": false},
		"test not boolean": map[string]any{"paymentId": "PI090", "amount": "1.00", "currency": "USD", "test": "yes", "manualCapture": false},
		"no manualCapture": map[string]any{"paymentId": "PI091", "amount": "1.00", "currency": "USD", "test": true},
	} {
		if s, ack := h.post("/payment", body); s != 400 || ack["error"] == "" {
			t.Errorf("%s: %d %v, want 400 with an error", name, s, ack)
		}
	}
	// An amount the currency cannot have: acknowledged, refused by callback, no gateway call.
	ack := h.pay(h.payment("PI092", cardApproved, true, false, "1.001"))
	if ack["error"] == "" {
		t.Errorf("ack = %v", ack)
	}
	if cb := h.waitCallbacks("/api/202412/app/payment/PI092", 1); cb[0].Pay["result"] != "false" {
		t.Errorf("callback = %+v", cb[0])
	}
	if n := len(h.gw.callsOf("create")); n != 0 {
		t.Errorf("gateway creates = %d, want 0", n)
	}
}

func TestPrivacy(t *testing.T) {
	h := newHarness(t)
	pans := []string{cardApproved, cardInsufficient, cardChallenge, card3DSR}
	var answers []string
	for i, pan := range pans {
		ack := h.pay(h.payment(fmt.Sprintf("PI10%d", i), pan, true, false, "10.00"))
		answers = append(answers, fmt.Sprint(ack))
	}
	h.waitCallbacks("/api/202412/app/payment/", 3)
	_, q := h.query("/payment_query", url.Values{"paymentId": {"PI100"}})
	answers = append(answers, fmt.Sprint(q), fmt.Sprint(h.gs.callbacks("")))
	all := strings.Join(answers, "\n") + h.logs.String()
	for _, pan := range pans {
		if strings.Contains(all, pan) {
			t.Errorf("card number %s appears in answers, callbacks or logs", maskPAN(pan))
		}
	}
	if strings.Contains(all, "737") && strings.Contains(h.logs.String(), `cvv`) {
		t.Error("the CVV appears in the log")
	}
	if !strings.Contains(h.logs.String(), maskPAN(cardApproved)) {
		t.Error("the log does not show the masked card number")
	}
}

// Genstore's ids are unique within a shop only: a second shop's payment or refund with an id
// another shop's already holds gets its own PSP key, the same for every delivery; the first
// keeps the bare id.
func TestPSPKeysOfOneIDInTwoShops(t *testing.T) {
	ctx := context.Background()
	a := &App{store: NewMemoryStore()}
	if got := a.orderBase(ctx, Sandbox, "1001", "PI001"); got != "PI001" {
		t.Fatalf("the first shop's orderNo = %q", got)
	}
	a.store.UpdatePayment(ctx, "1001", "PI001", func(p *PaymentRecord, _ bool) error { p.Env, p.OrderNo = Sandbox, "PI001"; return nil })
	if got := a.orderBase(ctx, Sandbox, "1001", "PI001"); got != "PI001" {
		t.Errorf("a repeat in the first shop: orderNo %q", got)
	}
	second := a.orderBase(ctx, Sandbox, "1002", "PI001")
	if !strings.HasPrefix(second, "PI001-") || len(second) != len("PI001-")+6 {
		t.Fatalf("the second shop's orderNo = %q", second)
	}
	a.store.UpdatePayment(ctx, "1002", "PI001", func(p *PaymentRecord, _ bool) error { p.Env, p.OrderNo = Sandbox, second; return nil })
	if again := a.orderBase(ctx, Sandbox, "1002", "PI001"); again != second {
		t.Errorf("a repeat in the second shop: orderNo %q, first %q", again, second)
	}
	if other := a.orderBase(ctx, Live, "1002", "PI001"); other != "PI001" {
		t.Errorf("the other environment has its own orderNos: %q", other)
	}
	if got := a.orderBase(ctx, Sandbox, "1003", "PI001"); got == second || !strings.HasPrefix(got, "PI001-") {
		t.Errorf("a third shop's orderNo %q (second %q)", got, second)
	}
	a.store.UpdateOperation(ctx, Refund, "1001", "RI001", func(o *OperationRecord, _ bool) error {
		o.Env, o.RefundNumber = Sandbox, "RI001"
		return nil
	})
	if got := a.refundBase(ctx, Sandbox, "1002", "RI001"); !strings.HasPrefix(got, "RI001-") {
		t.Errorf("the second shop's refundNumber = %q", got)
	}
}
