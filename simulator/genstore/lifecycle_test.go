package genstore_test

import (
	"context"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/pspsim/pspsim/simulator"
	"github.com/pspsim/pspsim/simulator/genstore"
	"github.com/pspsim/pspsim/simulator/genstore/genstoretest"
	"github.com/pspsim/pspsim/simulator/journal"
	"github.com/pspsim/pspsim/simulator/simtest"
)

// TestReconciliationPollsTheQueryEndpoint: with no callback, Genstore asks
// the app's paymentQueryUrl 5 min after the acknowledgement, then at 30 min,
// and applies the first final answer; nothing is asked afterwards.
func TestReconciliationPollsTheQueryEndpoint(t *testing.T) {
	e := setup(t)
	id := str(e.pay(map[string]any{"amount": "10.00"})["paymentId"])
	e.app.Answer(id, genstoretest.QueryAnswer{Status: genstore.QueryProcessing, ChannelID: "psp_1"})
	e.advance(5*time.Minute - time.Second)
	if n := len(e.app.Requests("payment_query")); n != 0 {
		t.Fatalf("%d queries before 5 min", n)
	}
	e.advance(time.Second)
	q := e.app.Requests("payment_query")
	if len(q) != 1 || q[0].ID != id || q[0].SignatureErr != "" || q[0].Method != "GET" {
		t.Fatalf("query at 5 min: %+v", q)
	}
	if v := e.payment(id); v["status"] != "1" || len(v["reconciliation"].([]any)) != 1 {
		t.Fatalf("after PROCESSING: %v %v", v["status"], v["reconciliation"])
	}
	e.app.Answer(id, genstoretest.QueryAnswer{Status: genstore.QuerySuccess, ChannelID: "psp_1"})
	e.advance(25 * time.Minute)
	v := e.payment(id)
	if v["status"] != "2" || simtest.Field(v, "result.source") != "reconciliation" || v["channelTrxNo"] != "psp_1" {
		t.Fatalf("after SUCCESS at 30 min: %v %v", v["status"], v["result"])
	}
	e.advance(48 * time.Hour)
	if n := len(e.app.Requests("payment_query")); n != 2 {
		t.Fatalf("%d queries in all, want 2", n)
	}
	// A later callback that agrees is a repeat; one that disagrees is 409.
	want(t, e.report(genstore.KindPayment, id, true, "", "psp_1"), 200, "")
	want(t, e.report(genstore.KindPayment, id, false, "declined", ""), 409, "")
}

// TestReconciliationOfPaymentsAndRefunds: a payment whose callback came is
// not polled; a failure the query reports is applied with the app's message;
// a refund is polled at its own query endpoint; a query on demand that
// contradicts the recorded result changes nothing.
func TestReconciliationOfPaymentsAndRefunds(t *testing.T) {
	e := setup(t)
	called := str(e.pay(map[string]any{"amount": "10.00"})["paymentId"])
	want(t, e.report(genstore.KindPayment, called, true, "", "ch"), 200, "")
	failing := str(e.pay(map[string]any{"amount": "10.00"})["paymentId"])
	e.app.Answer(failing, genstoretest.QueryAnswer{Status: genstore.QueryFailure, Error: "Do not honor"})
	refund := str(simtest.Field(e.operate(called, "refunds", map[string]any{"amount": "4.00"}, 201), "operation.id"))
	e.app.Answer(refund, genstoretest.QueryAnswer{Status: genstore.QuerySuccess, ChannelID: "rf_9"})
	e.advance(5 * time.Minute)
	for _, r := range e.app.Requests("payment_query") {
		if r.ID == called {
			t.Fatal("a payment with its result was polled")
		}
	}
	v := e.payment(failing)
	if v["status"] != "9" || simtest.Field(v, "result.reason") != "Do not honor" {
		t.Fatalf("failing: %v %v", v["status"], v["result"])
	}
	rq := e.app.Requests("refund_query")
	if len(rq) != 1 || rq[0].ID != refund || rq[0].Query.Get("refundId") != refund || rq[0].SignatureErr != "" {
		t.Fatalf("refund query: %+v", rq)
	}
	if op := opIDs(e.payment(called))[refund]; op["status"] != "succeeded" || simtest.Field(op, "result.channelId") != "rf_9" {
		t.Fatalf("refund after reconciliation: %v", op)
	}
	// On demand, a query that contradicts the recorded result changes nothing.
	e.app.Answer(failing, genstoretest.QueryAnswer{Status: genstore.QuerySuccess})
	out := e.admin("POST", "/_sim/genstore/shops/"+testShop+"/payments/"+failing+"/reconcile", map[string]any{}, 200)
	if simtest.Field(out, "poll.applied") != false || !strings.Contains(str(simtest.Field(out, "poll.error")), "contradicts") || simtest.Field(out, "payment.status") != "9" {
		t.Fatalf("contradicting query: %v", out["poll"])
	}
	if len(e.events("payment.reconciliation_mismatch", failing)) != 1 {
		t.Fatal("the contradiction is not journaled")
	}
}

// TestPaymentExpiresAfter24Hours: an acknowledged payment with no final
// result fails 24 h after the acknowledgement, right after the last poll.
func TestPaymentExpiresAfter24Hours(t *testing.T) {
	e := setup(t)
	id := str(e.pay(map[string]any{"amount": "10.00"})["paymentId"])
	e.advance(24*time.Hour - time.Second)
	if v := e.payment(id); v["status"] != "1" {
		t.Fatalf("before 24 h: %v", v["status"])
	}
	e.advance(time.Second)
	v := e.payment(id)
	if v["status"] != "9" || v["expired"] != true || simtest.Field(v, "result.source") != "expiry" {
		t.Fatalf("at 24 h: %v %v", v["status"], v["result"])
	}
	if n := len(e.app.Requests("payment_query")); n != 4 {
		t.Fatalf("%d polls (5m, 30m, 2h, 24h), want 4", n)
	}
	if len(e.events("payment.expired", id)) != 1 {
		t.Fatal("expiry not journaled")
	}
	want(t, e.report(genstore.KindPayment, id, true, "", "late"), 409, "expiry")
	want(t, e.report(genstore.KindPayment, id, false, "too late anyway", ""), 200, "")
}

// TestDeadlinesAreJournaled: a result later than 30 s after the first
// attempt is journaled (payment.deadline_missed); a payment that sent the
// buyer away is due 30 s after the buyer's return instead.
func TestDeadlinesAreJournaled(t *testing.T) {
	e := setup(t)
	slow := str(e.pay(map[string]any{"amount": "10.00"})["paymentId"])
	quick := str(e.pay(map[string]any{"amount": "10.00"})["paymentId"])
	e.app.Queue(genstore.KindPayment, genstoretest.Reply{Redirect: e.h.URL + "/_sim/health"})
	redirected := str(e.pay(map[string]any{"amount": "10.00"})["paymentId"])
	e.advance(29 * time.Second)
	want(t, e.report(genstore.KindPayment, quick, true, "", "q"), 200, "")
	e.advance(time.Second)
	if len(e.events("payment.deadline_missed", slow)) != 1 || e.payment(slow)["deadlineMissed"] != true {
		t.Fatal("slow payment: no deadline_missed")
	}
	for _, id := range []string{quick, redirected} {
		if len(e.events("payment.deadline_missed", id)) != 0 {
			t.Fatalf("payment %s: deadline_missed", id)
		}
	}
	// The buyer returns at +40 s; the result is due at +70 s.
	e.advance(10 * time.Second)
	if r := e.h.Do("GET", "/genstore/checkouts/"+testShop+"/"+redirected+"/return", nil); r.Status != 200 || !strings.Contains(string(r.Body), "Payment processing") {
		t.Fatalf("return page: %d %s", r.Status, r.Body)
	}
	e.advance(29 * time.Second)
	if len(e.events("payment.deadline_missed", redirected)) != 0 {
		t.Fatal("deadline missed before 30 s after the return")
	}
	e.advance(time.Second)
	if ev := e.events("payment.deadline_missed", redirected); len(ev) != 1 || !strings.Contains(ev[0].Message, "buyer's return") {
		t.Fatalf("after the return: %v", ev)
	}
	// Captures too.
	auth := e.authorized("10.00")
	e.operate(auth, "captures", nil, 201)
	e.advance(31 * time.Second)
	if len(e.events("capture.deadline_missed", auth)) != 1 {
		t.Fatal("capture: no deadline_missed")
	}
}

// TestJournalTellsTheWholeStoryWithoutCardData: every step of a payment is
// an event filterable by shop and payment, and no card number or CVV
// appears anywhere in the journal.
func TestJournalTellsTheWholeStoryWithoutCardData(t *testing.T) {
	e := setup(t)
	e.app.Queue(genstore.KindPayment, genstoretest.Reply{Status: 502})
	id := str(e.pay(map[string]any{"amount": "10.00", "card": map[string]any{"number": "4000123456000019", "cvv": "987"}})["paymentId"])
	e.advance(time.Second)
	e.report(genstore.KindPayment, id, true, "", "psp_5")
	e.report(genstore.KindPayment, id, false, "nope", "")
	e.app.Call(context.Background(), "GET", "/genstore/api/202412/payment/"+id, nil)
	var kinds []string
	for _, ev := range e.h.Sim.Journal().Query(journal.Filter{IDs: map[string]string{"shopId": testShop, "paymentId": id}}) {
		kinds = append(kinds, ev.Kind)
	}
	got := strings.Join(kinds, " ")
	for _, k := range []string{"payment.created", "payment.request", "delivery.attempt", "delivery.scheduled", "payment.acknowledged",
		"callback.received", "payment.status_changed", "callback.refused", "payment.queried"} {
		if !strings.Contains(got, k) {
			t.Errorf("no %s event for the payment: %s", k, got)
		}
	}
	r := e.h.Do("GET", "/_sim/events", nil)
	if strings.Contains(string(r.Body), "4000123456000019") || strings.Contains(string(r.Body), "987") {
		t.Fatal("card data in the journal")
	}
	if !strings.Contains(string(r.Body), "400012******0019") {
		t.Fatal("the masked card is not in the journal")
	}
	if r := e.h.Do("GET", "/_sim/events?shopId="+testShop+"&paymentId="+id+"&kind=payment.status_changed", nil); !strings.Contains(string(r.Body), `"to":"2"`) {
		t.Fatalf("filter by shop and payment: %s", r.Body)
	}
}

// TestResetStopsEverythingAndReloads: after a reset, no retry, poll or
// expiry of the old state happens, and the fixtures are back.
func TestResetStopsEverythingAndReloads(t *testing.T) {
	e := setup(t)
	e.app.Default(genstore.KindPayment, genstoretest.Reply{Status: 503})
	e.pay(map[string]any{"amount": "10.00"})
	e.app.Default(genstore.KindPayment, genstoretest.Reply{})
	e.pay(map[string]any{"amount": "10.00"})
	before := len(e.app.Requests(""))
	e.admin("POST", "/_sim/reset", nil, 200)
	e.advance(72 * time.Hour)
	if after := len(e.app.Requests("")); after != before {
		t.Fatalf("%d requests after the reset", after-before)
	}
	if r := e.h.Do("GET", "/_sim/genstore/shops/"+testShop, nil); r.Status != 404 {
		t.Fatalf("shop survived the reset: %d", r.Status)
	}
	if r := e.h.Do("GET", "/genstore/api/202412/payment/PI0020241010151755224", nil, "X-Genstore-Access-Token", "gst_demo_0000000000000000000000000001"); r.Status != 200 {
		t.Fatalf("fixtures after reset: %d %s", r.Status, r.Body)
	}
}

// TestConfigSection: the `genstore:` section of --config adds apps, shops
// and installations (replacing fixtures by id) and overrides settings; a bad
// one stops the simulator from starting, naming the problem.
func TestConfigSection(t *testing.T) {
	cfg := `genstore:
  settings:
    paymentRetries: [2s]
    reconciliation: [1m]
  apps:
    - clientId: cfg-app
      clientSecret: cfg-app-secret
      scopes: [write_payment]
  shops:
    - {shopId: "1001", shop: demo-shop, name: Renamed, currency: EUR, testMode: false, feePlan: {percentBasisPoints: 100, fixedMinor: 0}}
  installations:
    - {shopId: "1001", clientId: cfg-app, accessToken: cfg_token_0000000000000001, scopes: [write_payment], ready: true}
`
	e := setup(t, cfg)
	if sh := e.admin("GET", "/_sim/genstore/shops/1001", nil, 200); sh["name"] != "Renamed" || sh["currency"] != "EUR" {
		t.Fatalf("shop 1001 from config: %v", sh)
	}
	if r := e.h.Do("PUT", "/genstore/api/202412/app/account_authorize", `{"pay":{"ready":"true"}}`, "X-Genstore-Access-Token", "cfg_token_0000000000000001"); r.Status != 200 {
		t.Fatalf("config installation: %d %s", r.Status, r.Body)
	}
	e.app.Queue(genstore.KindPayment, genstoretest.Reply{Status: 503})
	id := str(e.pay(map[string]any{"amount": "1.00"})["paymentId"])
	e.advance(2 * time.Second)
	if n := len(e.app.Requests(genstore.KindPayment)); n != 2 {
		t.Fatalf("retry after 2 s: %d attempts", n)
	}
	e.advance(time.Minute)
	if n := len(e.app.Requests("payment_query")); n != 1 || e.payment(id)["status"] != "1" {
		t.Fatalf("poll after 1 min: %d", n)
	}
	for _, bad := range []struct{ cfg, says string }{
		{"genstore:\n  shops:\n    - {shopId: '9', shop: x, currency: ZZZ}\n", "currency"},
		{"genstore:\n  installations:\n    - {shopId: '404', clientId: demo-payment-app, accessToken: abcdefghijklmnopqrstu}\n", "shopId"},
		{"genstore:\n  apps:\n    - {clientId: a, clientSecret: long-enough, publicKey: AAAA}\n", "publicKey"},
		{"genstore:\n  settings:\n    ecies: {aad: sideways}\n", "aad"},
		{"genstore:\n  settings:\n    paymentRetries: [soon]\n", "soon"},
		{"genstore:\n  payments:\n    - {shopId: '1001', clientId: demo-payment-app, paymentId: P1, amount: '1.001', currency: USD}\n", "decimal"},
	} {
		_, err := simulator.New(context.Background(), simulator.Options{Config: []byte(bad.cfg)})
		if err == nil || !strings.Contains(err.Error(), bad.says) {
			t.Errorf("config %q: %v (want an error about %s)", bad.cfg, err, bad.says)
		}
	}
}

// TestReadmeSettingsLoad keeps the README's `genstore:` settings example
// honest: it must load, and it must be the defaults.
func TestReadmeSettingsLoad(t *testing.T) {
	raw, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Skip("README.md not found")
	}
	text := string(raw)
	start := strings.Index(text, "```yaml\ngenstore:\n")
	if start < 0 {
		t.Fatal("README.md has no genstore config example")
	}
	block := text[start+len("```yaml\n"):]
	block = block[:strings.Index(block, "```")]
	var kept []string
	for _, line := range strings.Split(block, "\n") {
		if !strings.Contains(line, "[...]") {
			kept = append(kept, line)
		}
	}
	sim, err := simulator.New(context.Background(), simulator.Options{Config: []byte(strings.Join(kept, "\n"))})
	if err != nil {
		t.Fatalf("the README's config does not load: %v", err)
	}
	defer sim.Close()
	got := sim.System(genstore.Name).(*genstore.System).Settings()
	if !reflect.DeepEqual(got, genstore.DefaultSettings()) {
		t.Fatalf("the README's settings are not the defaults:\n%+v\n%+v", got, genstore.DefaultSettings())
	}
}
