package genstore_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/pspsim/pspsim/simulator/genstore"
	"github.com/pspsim/pspsim/simulator/genstore/genstoretest"
	"github.com/pspsim/pspsim/simulator/simtest"
)

// authorized returns a manualCapture payment in 4 auth_success.
func (e *env) authorized(amount string) string {
	e.t.Helper()
	id := str(e.pay(map[string]any{"amount": amount, "manualCapture": true})["paymentId"])
	want(e.t, e.report(genstore.KindPayment, id, true, "", "ch_"+id), 200, "")
	return id
}

// paid returns a payment in 2 success.
func (e *env) paid(amount string) string {
	e.t.Helper()
	id := str(e.pay(map[string]any{"amount": amount})["paymentId"])
	want(e.t, e.report(genstore.KindPayment, id, true, "", "ch_"+id), 200, "")
	return id
}

func opIDs(v map[string]any) map[string]map[string]any {
	out := map[string]map[string]any{}
	for _, o := range v["operations"].([]any) {
		m := o.(map[string]any)
		out[str(m["id"])] = m
	}
	return out
}

// TestCallbackStateTable walks every row of CONTRACT.md §3's table, each
// with "true" and "false": the first result gets 200 {} and moves the
// payment (or operation) as the table says; an exact repeat gets 200 {} and
// changes nothing; the opposite result gets 409 and changes nothing.
func TestCallbackStateTable(t *testing.T) {
	type row struct {
		name      string
		prepare   func(e *env) (kind, id, paymentID string) // an object waiting for this callback
		result    bool
		payStatus string // after
		opStatus  string // after, for captures, voids, refunds
	}
	payment := func(manual bool) func(e *env) (string, string, string) {
		return func(e *env) (string, string, string) {
			id := str(e.pay(map[string]any{"amount": "40.00", "manualCapture": manual})["paymentId"])
			return genstore.KindPayment, id, id
		}
	}
	operation := func(what, kind string, body any) func(e *env) (string, string, string) {
		return func(e *env) (string, string, string) {
			var id string
			if kind == genstore.KindRefund {
				id = e.paid("40.00")
			} else {
				id = e.authorized("40.00")
			}
			op := e.operate(id, what, body, 201)
			return kind, str(simtest.Field(op, "operation.id")), id
		}
	}
	rows := []row{
		{"payment manualCapture:false true → 2 success", payment(false), true, "2", ""},
		{"payment manualCapture:false false → 9 failure", payment(false), false, "9", ""},
		{"pre_authorize manualCapture:true true → 4 auth_success", payment(true), true, "4", ""},
		{"pre_authorize manualCapture:true false → 9 failure", payment(true), false, "9", ""},
		{"capture true → 2 success", operation("captures", genstore.KindCapture, nil), true, "2", "succeeded"},
		{"capture false → stays 4", operation("captures", genstore.KindCapture, nil), false, "4", "failed"},
		{"void true → 3 auth_void", operation("voids", genstore.KindVoid, nil), true, "3", "succeeded"},
		{"void false → stays 4", operation("voids", genstore.KindVoid, nil), false, "4", "failed"},
		{"refund true → succeeds, payment stays 2", operation("refunds", genstore.KindRefund, map[string]any{"amount": "10.00"}), true, "2", "succeeded"},
		{"refund false → fails, payment stays 2", operation("refunds", genstore.KindRefund, map[string]any{"amount": "10.00"}), false, "2", "failed"},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			e := setup(t)
			kind, id, paymentID := r.prepare(e)
			reason := ""
			if !r.result {
				reason = "Insufficient balance of bank card"
			}
			want(t, e.report(kind, id, r.result, reason, "ch-"+id), 200, "")
			check := func(when string) {
				t.Helper()
				v := e.payment(paymentID)
				if v["status"] != r.payStatus {
					t.Fatalf("%s: payment status %v, want %s", when, v["status"], r.payStatus)
				}
				if kind != genstore.KindPayment {
					op := opIDs(v)[id]
					if op["status"] != r.opStatus || simtest.Field(op, "result.channelId") != "ch-"+id {
						t.Fatalf("%s: %s %v", when, kind, op)
					}
					if !r.result && simtest.Field(op, "result.reason") != reason {
						t.Fatalf("%s: reason %v", when, simtest.Field(op, "result.reason"))
					}
				} else if simtest.Field(v, "result.channelId") != "ch-"+id || v["channelTrxNo"] != "ch-"+id {
					t.Fatalf("%s: channel id %v", when, v["result"])
				}
			}
			check("after the first result")
			want(t, e.report(kind, id, r.result, reason, "ch-"+id), 200, "")
			want(t, e.report(kind, id, r.result, reason, ""), 200, "")
			check("after exact repeats")
			other := "changed my mind"
			want(t, e.report(kind, id, !r.result, other, "ch-"+id), 409, "pay.result")
			want(t, e.report(kind, id, r.result, reason, "ch-other"), 409, "pay.channel")
			check("after contradictions")
			if n := len(e.events("callback.refused", paymentID)); n != 2 {
				t.Fatalf("%d callback.refused events, want 2", n)
			}
		})
	}
}

// TestCallbackAnswerCodes covers every answer of the callbacks other than
// the state table's: 401, 403, 404, 422 in their variants.
//
// It runs in --strict: an unknown field and an empty channelPaymentId are
// departures the default mode answers with a warning (the spec's
// x-pspsim-lenient); every other row is refused in both modes.
func TestCallbackAnswerCodes(t *testing.T) {
	e := setup(t, "strict: true\n")
	auto := str(e.pay(map[string]any{"amount": "10.00"})["paymentId"])
	manual := str(e.pay(map[string]any{"amount": "10.00", "manualCapture": true})["paymentId"])
	want(t, e.report(genstore.KindPayment, manual, true, "", "ch_m"), 200, "")
	capID := str(simtest.Field(e.operate(manual, "captures", nil, 201), "operation.id"))

	// An app with only the read scope, installed on the same shop.
	ro, err := genstoretest.New("read-only-app", "read-only-secret", e.h.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	reg := ro.Registration()
	reg["scopes"] = []string{genstore.ScopeReadPaymentsTransaction}
	e.admin("POST", "/_sim/genstore/apps", reg, 201)
	code := e.admin("POST", "/_sim/genstore/shops/"+testShop+"/installations", map[string]any{"clientId": ro.ClientID, "followRedirect": false}, 201)["code"]
	ro.AutoInstall = false
	if err := ro.Install(context.Background(), str(code)); err == nil || !strings.Contains(err.Error(), "403") {
		t.Fatalf("a read-only app reported account_authorize: %v", err)
	}

	body := func(kind, id string, ok bool, reason string) []byte {
		return genstoretest.CallbackBody(kind, id, genstoretest.Result{OK: ok, Reason: reason})
	}
	cases := []struct {
		name   string
		app    *genstoretest.App
		token  string // overrides the app's token when not empty ("-" for none)
		path   string
		body   []byte
		status int
		names  string
	}{
		{"no token", e.app, "-", genstoretest.CallbackPath("payment", auto, false), body("payment", auto, true, ""), 401, "X-Genstore-Access-Token"},
		{"unknown token", e.app, "gst_nobody_nobody_nobody", genstoretest.CallbackPath("payment", auto, false), body("payment", auto, true, ""), 401, "X-Genstore-Access-Token"},
		{"missing scope", ro, "", genstoretest.CallbackPath("payment", auto, false), body("payment", auto, true, ""), 403, "write_payment"},
		{"unknown payment", e.app, "", genstoretest.CallbackPath("payment", "PI0000000000000000000", false), body("payment", "PI0000000000000000000", true, ""), 404, "paymentId"},
		{"unknown capture", e.app, "", genstoretest.CallbackPath("capture", "CI000", false), body("capture", "CI000", true, ""), 404, "captureId"},
		{"another shop's payment", e.app, "", genstoretest.CallbackPath("payment", "PI00202510281513381", false), body("payment", "PI00202510281513381", true, ""), 404, "paymentId"},
		{"payment/ for a manualCapture payment", e.app, "", genstoretest.CallbackPath("payment", manual, false), body("payment", manual, true, ""), 422, "pre_authorize"},
		{"pre_authorize/ for an automatic payment", e.app, "", genstoretest.CallbackPath("payment", auto, true), body("payment", auto, true, ""), 422, "/app/payment/"},
		{"a capture id sent to refund/", e.app, "", genstoretest.CallbackPath("refund", capID, false), body("refund", capID, true, ""), 422, "is a capture id"},
		{"a payment id sent to void/", e.app, "", genstoretest.CallbackPath("void", auto, false), body("void", auto, true, ""), 422, "is a payment id"},
		{"body id differs from the path", e.app, "", genstoretest.CallbackPath("payment", auto, false), body("payment", manual, true, ""), 422, "pay.paymentId"},
		{"false without reason", e.app, "", genstoretest.CallbackPath("payment", auto, false), body("payment", auto, false, ""), 422, "pay.reason"},
		{"false with a blank reason", e.app, "", genstoretest.CallbackPath("payment", auto, false), []byte(`{"pay":{"result":"false","reason":"  ","paymentId":"` + auto + `"}}`), 422, "pay.reason"},
		{"result not a boolean", e.app, "", genstoretest.CallbackPath("payment", auto, false), []byte(`{"pay":{"result":"yes","paymentId":"` + auto + `"}}`), 422, "pay.result"},
		{"missing result", e.app, "", genstoretest.CallbackPath("payment", auto, false), []byte(`{"pay":{"paymentId":"` + auto + `"}}`), 422, "pay.result"},
		{"unknown field", e.app, "", genstoretest.CallbackPath("payment", auto, false), []byte(`{"pay":{"result":"true","paymentId":"` + auto + `","amount":"1"}}`), 422, "pay.amount"},
		{"not JSON", e.app, "", genstoretest.CallbackPath("payment", auto, false), []byte(`{"pay":`), 422, ""},
		{"empty channel id", e.app, "", genstoretest.CallbackPath("payment", auto, false), []byte(`{"pay":{"result":"true","paymentId":"` + auto + `","channelPaymentId":""}}`), 422, "pay.channelPaymentId"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			headers := []string{}
			tok := c.app.Token()
			if c.token == "-" {
				tok = ""
			} else if c.token != "" {
				tok = c.token
			}
			if tok != "" {
				headers = append(headers, "X-Genstore-Access-Token", tok)
			}
			r := e.h.Do("PUT", c.path, c.body, headers...)
			got := genstoretest.Response{Status: r.Status, Body: r.Body}
			want(t, got, c.status, c.names)
		})
	}
	// Nothing above changed anything.
	if v := e.payment(auto); v["status"] != "1" || v["result"] != nil {
		t.Fatalf("payment %s changed: %v", auto, v["status"])
	}
	// JSON booleans are accepted as well as the seed's strings.
	r, err := e.app.ReportTo(context.Background(), genstoretest.CallbackPath("payment", auto, false), []byte(`{"pay":{"result":true,"paymentId":"`+auto+`"}}`))
	if err != nil {
		t.Fatal(err)
	}
	want(t, r, 200, "")
}

// TestConcurrentDuplicateCallbacks sends the same callback, and its
// contradiction, many times at once: exactly one result wins; every
// callback that agrees with it gets 200, every other 409; the payment moved
// once. Run with -race.
func TestConcurrentDuplicateCallbacks(t *testing.T) {
	for _, kind := range []string{genstore.KindPayment, genstore.KindRefund} {
		t.Run(kind, func(t *testing.T) {
			e := setup(t)
			var id, paymentID string
			if kind == genstore.KindPayment {
				id = str(e.pay(map[string]any{"amount": "10.00"})["paymentId"])
				paymentID = id
			} else {
				paymentID = e.paid("10.00")
				id = str(simtest.Field(e.operate(paymentID, "refunds", nil, 201), "operation.id"))
			}
			const n = 24
			type answer struct {
				ok     bool
				status int
			}
			answers := make([]answer, n)
			var wg sync.WaitGroup
			start := make(chan struct{})
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					ok := i%2 == 0
					reason := ""
					if !ok {
						reason = "declined"
					}
					r, err := e.app.ReportTo(context.Background(), genstoretest.CallbackPath(kind, id, false), genstoretest.CallbackBody(kind, id, genstoretest.Result{OK: ok, Reason: reason, ChannelID: "ch_" + id}))
					if err != nil {
						t.Error(err)
						return
					}
					answers[i] = answer{ok, r.Status}
				}()
			}
			close(start)
			wg.Wait()
			v := e.payment(paymentID)
			var winner bool
			if kind == genstore.KindPayment {
				winner = simtest.Field(v, "result.result") == true
			} else {
				winner = simtest.Field(opIDs(v)[id], "result.result") == true
			}
			for i, a := range answers {
				wantStatus := http.StatusConflict
				if a.ok == winner {
					wantStatus = http.StatusOK
				}
				if a.status != wantStatus {
					t.Errorf("callback %d (result %t): %d, want %d (winner %t)", i, a.ok, a.status, wantStatus, winner)
				}
			}
			changes := len(e.events("refund.succeeded", paymentID)) + len(e.events("refund.failed", paymentID))
			if kind == genstore.KindPayment {
				changes = len(e.events("payment.status_changed", paymentID))
			}
			if changes != 1 {
				t.Fatalf("%d state changes, want exactly 1", changes)
			}
		})
	}
}

// TestRefundsAreLimitedToTheCapturedAmount: several partial refunds, the
// limit counting refunds still processing, a failed refund freeing its
// amount, and a partial capture limiting refunds to what was captured.
func TestRefundsAreLimitedToTheCapturedAmount(t *testing.T) {
	e := setup(t)
	id := e.authorized("100.00")
	capID := str(simtest.Field(e.operate(id, "captures", map[string]any{"amount": "60.00"}, 201), "operation.id"))
	want(t, e.report(genstore.KindCapture, capID, true, "", "cap_1"), 200, "")
	v := e.payment(id)
	if v["status"] != "2" || v["captured"] != "60.00" || v["refundable"] != "60.00" {
		t.Fatalf("after a partial capture: %v captured %v refundable %v", v["status"], v["captured"], v["refundable"])
	}
	r1 := str(simtest.Field(e.operate(id, "refunds", map[string]any{"amount": "25.00"}, 201), "operation.id"))
	r2 := str(simtest.Field(e.operate(id, "refunds", map[string]any{"amount": "30.00"}, 201), "operation.id"))
	// 55.00 is refunded or being refunded: 5.01 is too much.
	res := e.h.Do("POST", "/_sim/genstore/shops/"+testShop+"/payments/"+id+"/refunds", map[string]any{"amount": "5.01"})
	if res.Status != 422 || !strings.Contains(string(res.Body), "5.00") {
		t.Fatalf("over the limit: %d %s", res.Status, res.Body)
	}
	want(t, e.report(genstore.KindRefund, r1, true, "", "rf_1"), 200, "")
	want(t, e.report(genstore.KindRefund, r2, false, "card closed", "rf_2"), 200, "")
	v = e.payment(id)
	if v["refunded"] != "25.00" || v["refundable"] != "35.00" {
		t.Fatalf("after one refund and a failed one: refunded %v refundable %v", v["refunded"], v["refundable"])
	}
	// Without an amount, a refund takes what is left; then nothing is left.
	r3 := str(simtest.Field(e.operate(id, "refunds", nil, 201), "operation.id"))
	if got := simtest.Field(opIDs(e.payment(id))[r3], "amount"); got != "35.00" {
		t.Fatalf("full refund of the rest: %v", got)
	}
	want(t, e.report(genstore.KindRefund, r3, true, "", "rf_3"), 200, "")
	if res := e.h.Do("POST", "/_sim/genstore/shops/"+testShop+"/payments/"+id+"/refunds", map[string]any{}); res.Status != 422 {
		t.Fatalf("refund of a fully refunded payment: %d %s", res.Status, res.Body)
	}
	if v = e.payment(id); v["refunded"] != "60.00" || v["status"] != "2" {
		t.Fatalf("refunded %v status %v", v["refunded"], v["status"])
	}
}

// TestMerchantActionsFollowTheStateMachine: what the merchant may start in
// each state.
func TestMerchantActionsFollowTheStateMachine(t *testing.T) {
	e := setup(t)
	auto := e.paid("10.00")
	pending := str(e.pay(map[string]any{"amount": "10.00", "manualCapture": true})["paymentId"])
	manual := e.authorized("10.00")
	for _, c := range []struct {
		name, id, what string
		body           any
		status         int
	}{
		{"capture an automatic payment", auto, "captures", nil, 409},
		{"void an automatic payment", auto, "voids", nil, 409},
		{"capture before the authorization", pending, "captures", nil, 409},
		{"refund an authorization", manual, "refunds", nil, 409},
		{"capture more than authorized", manual, "captures", map[string]any{"amount": "10.01"}, 422},
		{"void with an amount", manual, "voids", map[string]any{"amount": "1.00"}, 400},
		{"capture with too many decimals", manual, "captures", map[string]any{"amount": "1.001"}, 400},
		{"unknown payment", "PI404", "captures", nil, 404},
	} {
		t.Run(c.name, func(t *testing.T) {
			res := e.h.Do("POST", "/_sim/genstore/shops/"+testShop+"/payments/"+c.id+"/"+c.what, c.body)
			if res.Status != c.status {
				t.Fatalf("%d %s, want %d", res.Status, res.Body, c.status)
			}
		})
	}
	// One capture or void at a time.
	e.operate(manual, "captures", nil, 201)
	if res := e.h.Do("POST", "/_sim/genstore/shops/"+testShop+"/payments/"+manual+"/voids", nil); res.Status != 409 || !strings.Contains(string(res.Body), "still processing") {
		t.Fatalf("void during a capture: %d %s", res.Status, res.Body)
	}
}

// TestGetPaymentReportsFeesNetAndTimes: seed 001's sample reproduced by the
// fixtures, and a new payment's fee (2.90 % + 0.30, half up) before and
// after success, with the shop's time-zone offset.
func TestGetPaymentReportsFeesNetAndTimes(t *testing.T) {
	h := simtest.New(t)
	r := h.Do("GET", "/genstore/api/202412/payment/PI0020241010151755224", nil, "X-Genstore-Access-Token", simtest.GenstoreToken)
	var got struct{ Payment genstore.PayTransaction }
	json.Unmarshal(r.Body, &got)
	wantPT := genstore.PayTransaction{SuccessPaymentTime: "2019-06-28T18:03:50+01:00", Amount: "123.23", ChannelTrxNo: "0SX593062F1597043",
		PaymentID: "PI0020241010151755224", Fee: "5.01", Currency: "USD", Net: "118.22", OutOrderNo: "101010101000000000136", Status: "2"}
	if r.Status != 200 || got.Payment != wantPT {
		t.Fatalf("seed 001 sample: %d %s", r.Status, r.Body)
	}

	e := setup(t)
	e.admin("PATCH", "/_sim/genstore/shops/"+testShop, map[string]any{"timezone": "America/New_York"}, 200)
	id := str(e.pay(map[string]any{"amount": "19.99"})["paymentId"])
	get := func() genstore.PayTransaction {
		res, err := e.app.Call(context.Background(), "GET", "/genstore/api/202412/payment/"+id, nil)
		if err != nil || res.Status != 200 {
			t.Fatalf("getPayment: %v %v", err, res)
		}
		var out struct{ Payment genstore.PayTransaction }
		json.Unmarshal(res.Body, &out)
		return out.Payment
	}
	// 19.99 × 2.90 % = 0.57971 → 0.58, + 0.30 = 0.88.
	if pt := get(); pt.Status != "1" || pt.Fee != "0.88" || pt.Net != "19.11" || pt.SuccessPaymentTime != "" || pt.ChannelTrxNo != "ch_"+id {
		t.Fatalf("processing: %+v", pt)
	}
	e.report(genstore.KindPayment, id, true, "", "psp_777")
	// The simulated clock stands at 2026-11-22T10:00:00Z: 05:00 in New York.
	if pt := get(); pt.Status != "2" || pt.ChannelTrxNo != "psp_777" || pt.SuccessPaymentTime != "2026-11-22T05:00:00-05:00" {
		t.Fatalf("succeeded: %+v", pt)
	}
	failed := str(e.pay(map[string]any{"amount": "5.00"})["paymentId"])
	e.report(genstore.KindPayment, failed, false, "declined", "")
	res, _ := e.app.Call(context.Background(), "GET", "/genstore/api/202412/payment/"+failed, nil)
	if !strings.Contains(string(res.Body), `"fee":"0.00"`) || !strings.Contains(string(res.Body), `"net":"0.00"`) || !strings.Contains(string(res.Body), `"status":"9"`) {
		t.Fatalf("failed payment: %s", res.Body)
	}
	// Another app's payment is not found; an unknown one neither.
	for _, path := range []string{"/genstore/api/202412/payment/PI0020241010151755224", "/genstore/api/202412/payment/PI404"} {
		if res, _ := e.app.Call(context.Background(), "GET", path, nil); res.Status != 404 {
			t.Fatalf("%s: %v", path, res)
		}
	}
}

func TestFeePlanArithmetic(t *testing.T) {
	for _, c := range []struct {
		bps, fixed, amount, want int64
	}{
		{290, 30, 1999, 88},                    // 57.971 → 58
		{100, 0, 50, 1},                        // 0.5 rounds half up
		{100, 0, 49, 0},                        // 0.49 rounds down
		{350, 70, 12323, 501},                  // seed 001
		{0, 30, 10, 10},                        // never more than the amount
		{10000, 0, 777, 777},                   // 100 %
		{0, 0, 1 << 62, 0},                     // nothing
		{290, 30, 1 << 62, 133738894534394279}, // no overflow: exact half-up of 2^62 × 2.9 %, + 30
		{290, 30, 0, 0},
	} {
		if got := (genstore.FeePlan{PercentBasisPoints: c.bps, FixedMinor: c.fixed}).Fee(c.amount); got != c.want {
			t.Errorf("%d bp + %d on %d: %d, want %d", c.bps, c.fixed, c.amount, got, c.want)
		}
	}
}

// TestAccountAuthorizeGatesPayments: ready false takes the installation out
// of service (no payment is sent), ready true puts it back.
func TestAccountAuthorizeGatesPayments(t *testing.T) {
	e := setup(t)
	if r, _ := e.app.Ready(context.Background(), false); r.Status != 200 {
		t.Fatalf("ready false: %v", r)
	}
	before := len(e.app.Requests(genstore.KindPayment))
	res := e.h.Do("POST", "/_sim/genstore/shops/"+testShop+"/payments", map[string]any{"amount": "1.00", "clientId": e.app.ClientID})
	if res.Status != 409 || !strings.Contains(string(res.Body), "not ready") {
		t.Fatalf("payment to an installation not ready: %d %s", res.Status, res.Body)
	}
	if len(e.app.Requests(genstore.KindPayment)) != before {
		t.Fatal("a payment was sent to an installation that is not ready")
	}
	inst := e.admin("GET", "/_sim/genstore/shops/"+testShop+"/installations", nil, 200)["installations"].([]any)[0].(map[string]any)
	if inst["ready"] != false {
		t.Fatalf("installation %v", inst)
	}
	for _, body := range []string{`{"pay":{"ready":true}}`, `{"pay":{"ready":"true"}}`} {
		if r := e.h.Do("PUT", "/genstore/api/202412/app/account_authorize", body, "X-Genstore-Access-Token", e.app.Token()); r.Status != 200 || string(r.Body) != "{}" {
			t.Fatalf("%s: %d %s", body, r.Status, r.Body)
		}
	}
	e.pay(map[string]any{"amount": "1.00"})
	if r := e.h.Do("PUT", "/genstore/api/202412/app/account_authorize", `{"pay":{"ready":"maybe"}}`, "X-Genstore-Access-Token", e.app.Token()); r.Status != 422 {
		t.Fatalf("ready maybe: %d %s", r.Status, r.Body)
	}
	if n := len(e.h.Sim.Journal().Query(journalFilter("installation.not_ready"))); n != 1 {
		t.Fatalf("%d installation.not_ready events", n)
	}
	// Without clientId the shop's only ready app is chosen.
	if v := e.admin("POST", "/_sim/genstore/shops/"+testShop+"/payments", map[string]any{"amount": "1.00"}, 201); v["clientId"] != e.app.ClientID {
		t.Fatalf("chosen app %v", v["clientId"])
	}
}

// TestConcurrentRefundsNeverExceedTheCapture: twenty refunds of 1.00 of a
// 10.00 payment started at once, in the same second: ten are created with
// distinct ids, ten refused.
func TestConcurrentRefundsNeverExceedTheCapture(t *testing.T) {
	e := setup(t)
	id := e.paid("10.00")
	var wg sync.WaitGroup
	var mu sync.Mutex
	statuses := map[int]int{}
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := e.h.Do("POST", "/_sim/genstore/shops/"+testShop+"/payments/"+id+"/refunds", map[string]any{"amount": "1.00"})
			mu.Lock()
			statuses[r.Status]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	if statuses[201] != 10 || statuses[422] != 10 {
		t.Fatalf("answers %v, want 10 × 201 and 10 × 422", statuses)
	}
	v := e.payment(id)
	if len(opIDs(v)) != 10 || v["refundable"] != "0.00" {
		t.Fatalf("%d refunds, refundable %v", len(opIDs(v)), v["refundable"])
	}
	if n := len(e.app.Requests(genstore.KindRefund)); n != 10 {
		t.Fatalf("the app received %d refunds", n)
	}
}

// TestQueryRefund reads refunds with Query Refund (GET
// /api/202412/refund/{refundId}): the fixture's sample refund, then a refund
// through its life — processing, then succeeded with the app's channel id
// and its success time in the shop's zone — and the refusals: an unknown id,
// a payment id, another app's refund.
func TestQueryRefund(t *testing.T) {
	h := simtest.New(t)
	r := h.Do("GET", "/genstore/api/202412/refund/RI00202510281513381", nil, "X-Genstore-Access-Token", simtest.GenstoreToken)
	var sample struct{ Refund genstore.RefundTransaction }
	json.Unmarshal(r.Body, &sample)
	want := genstore.RefundTransaction{RefundID: "RI00202510281513381", PaymentID: "PI0020241010151755224", OutOrderNo: "101010101000000000136",
		Status: "1", Currency: "USD", Amount: "23.23"}
	if r.Status != 200 || sample.Refund != want {
		t.Fatalf("the fixture's refund: %d %s", r.Status, r.Body)
	}

	e := setup(t)
	e.admin("PATCH", "/_sim/genstore/shops/"+testShop, map[string]any{"timezone": "America/New_York"}, 200)
	id := str(e.pay(map[string]any{"amount": "40.00"})["paymentId"])
	e.report(genstore.KindPayment, id, true, "", "psp_1")
	refundID := str(simtest.Field(e.operate(id, "refunds", map[string]any{"amount": "15.50"}, 201), "operation.id"))
	get := func(refundID string) (int, genstore.RefundTransaction, string) {
		res, err := e.app.Call(context.Background(), "GET", "/genstore/api/202412/refund/"+refundID, nil)
		if err != nil {
			t.Fatal(err)
		}
		var out struct{ Refund genstore.RefundTransaction }
		json.Unmarshal(res.Body, &out)
		return res.Status, out.Refund, string(res.Body)
	}
	if status, rt, body := get(refundID); status != 200 || rt.Status != "1" || rt.Amount != "15.50" || rt.PaymentID != id || rt.SuccessRefundTime != "" {
		t.Fatalf("processing: %d %s", status, body)
	}
	e.report(genstore.KindRefund, refundID, true, "", "rf_777")
	// The simulated clock stands at 2026-11-22T10:00:00Z: 05:00 in New York.
	if status, rt, body := get(refundID); status != 200 || rt.Status != "2" || rt.ChannelTrxNo != "rf_777" || rt.SuccessRefundTime != "2026-11-22T05:00:00-05:00" {
		t.Fatalf("succeeded: %d %s", status, body)
	}
	failed := str(simtest.Field(e.operate(id, "refunds", map[string]any{"amount": "1.00"}, 201), "operation.id"))
	e.report(genstore.KindRefund, failed, false, "card closed", "")
	if _, rt, body := get(failed); rt.Status != "9" || rt.SuccessRefundTime != "" {
		t.Fatalf("failed: %s", body)
	}
	for _, other := range []string{"RI0000000000000", id, "RI00202510281513381"} {
		if status, _, body := get(other); status != 404 || !strings.Contains(body, "refundId") {
			t.Errorf("refund %s of nobody, a payment id or another app's: %d %s", other, status, body)
		}
	}
}

// TestGetPaymentAnswersFromARecycledBuffer: queries answered one after the
// other from the system's recycled answer buffer, long and short answers
// alternately, each answer the same as the first time it was given.
func TestGetPaymentAnswersFromARecycledBuffer(t *testing.T) {
	e := setup(t)
	short := str(e.pay(map[string]any{"amount": "5.00"})["paymentId"])
	long := str(e.pay(map[string]any{"amount": "19.99"})["paymentId"])
	e.report(genstore.KindPayment, long, true, "", "psp_777777777777")
	first := map[string]string{}
	for i := range 12 {
		id := short
		if i%3 == 0 {
			id = long
		}
		res, err := e.app.Call(context.Background(), "GET", "/genstore/api/202412/payment/"+id, nil)
		if err != nil || res.Status != 200 || !json.Valid(res.Body) {
			t.Fatalf("getPayment %s: %v %v", id, err, res)
		}
		if prev, ok := first[id]; !ok {
			first[id] = string(res.Body)
		} else if prev != string(res.Body) {
			t.Fatalf("getPayment %s answered\n%s\nthen\n%s", id, prev, res.Body)
		}
	}
	if len(first[long]) <= len(first[short]) {
		t.Fatalf("the answers do not differ in length: %s %s", first[long], first[short])
	}
}
