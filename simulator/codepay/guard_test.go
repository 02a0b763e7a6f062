package codepay_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pspsim/pspsim/simulator/codepay"
	"github.com/pspsim/pspsim/simulator/journal"
	"github.com/pspsim/pspsim/simulator/openapi"
	"github.com/pspsim/pspsim/simulator/simtest"
	simstore "github.com/pspsim/pspsim/simulator/store"
)

// TestAnswersVerifyLikeThePHPDemo signs a request in Go and checks the
// gateway's answer the way the official PHP demo does (the string of the
// parsed top-level fields), for a success and for an error.
func TestAnswersVerifyLikeThePHPDemo(t *testing.T) {
	c := newCP(t)
	c.order("PHP-1", nil)
	ok := c.query("PHP-1") // parse() runs phpVerify and fails the test otherwise
	if ok.Code != "0" || ok.str("merchant_order_no") != "PHP-1" || ok.str("trans_status") != "9" {
		t.Fatalf("%s", ok)
	}
	bad := c.query("NOPE")
	if bad.Code != codepay.CodeOrderNotFound {
		t.Fatalf("%s", bad)
	}
	// Tampering with any answer field breaks the demo's check.
	var m map[string]any
	json.Unmarshal(ok.Raw, &m)
	m["data"] = strings.Replace(m["data"].(string), "PHP-1", "PHP-2", 1)
	tampered, _ := json.Marshal(m)
	if err := phpVerify(c.gw, tampered); err == nil {
		t.Fatal("tampered answer verified")
	}
}

// TestObjectDataIsSignedAsSent checks the option that sends data as an
// object (the seed's samples): the signature covers its compact JSON.
func TestObjectDataIsSignedAsSent(t *testing.T) {
	c := newCP(t)
	c.order("OBJ-1", nil)
	c.sys.SetDataMode(codepay.DataObject)
	r := c.h.Do("POST", "/codepay/api/entry", c.body(c.envelope("order.query"), map[string]any{"merchant_order_no": "OBJ-1"}))
	var m map[string]json.RawMessage
	json.Unmarshal(r.Body, &m)
	if len(m["data"]) == 0 || m["data"][0] != '{' {
		t.Fatalf("data is not an object: %s", r.Body)
	}
	if err := codepay.Verify(c.gw, r.Body); err != nil {
		t.Fatalf("object answer does not verify: %v", err)
	}
	if err := phpVerify(c.gw, r.Body); err == nil {
		t.Fatal("the PHP demo cannot verify object data, yet it did")
	}
}

// TestEveryErrorPathAnswersSigned breaks one rule at a time and checks the
// stable code, the HTTP status, the field named and the gateway's signature.
func TestEveryErrorPathAnswersSigned(t *testing.T) {
	c := newCP(t)
	c.paidSale("PAID-1", "20.00", visaOK, nil)
	now := c.h.Clock.Now()
	ms := func(d time.Duration) string { return strconv.FormatInt(now.Add(d).UnixMilli(), 10) }
	order := func(f map[string]any) map[string]any {
		base := map[string]any{"terminal_sn": termA, "message_receiving_application": "CodePay Register", "price_currency": "USD",
			"order_amount": json.Number("1.00"), "trans_type": 1, "merchant_order_no": "ERR-1", "description": "x", "expires": 60, "api_version": "2.0"}
		for k, v := range f {
			if v == nil {
				delete(base, k)
			} else {
				base[k] = v
			}
		}
		return base
	}
	signedWith := func(fields map[string]any, mutate func(map[string]any)) []byte {
		b := c.body(c.envelope("wisehub.cloud.pay.order"), order(fields))
		var m map[string]any
		json.Unmarshal(b, &m)
		mutate(m)
		out, _ := json.Marshal(m)
		return out
	}
	cases := []struct {
		name   string
		path   string
		body   []byte
		hdr    []string
		status int
		code   string
		field  string
	}{
		{"missing field", "/codepay/api/entry", c.body(c.envelope("wisehub.cloud.pay.order"), order(map[string]any{"description": nil})), nil, 200, "40001", "description"},
		{"missing method", "/codepay/api/entry", c.body(c.envelope("x"), map[string]any{"method": nil}), nil, 200, "40001", "method"},
		{"bad enum", "/codepay/api/entry", c.body(c.envelope("wisehub.cloud.pay.order"), order(map[string]any{"trans_type": 99})), nil, 200, "40002", "trans_type"},
		{"too many decimals", "/codepay/api/entry", c.body(c.envelope("wisehub.cloud.pay.order"), order(map[string]any{"order_amount": json.Number("1.005")})), nil, 200, "40002", "order_amount"},
		{"exponent amount", "/codepay/api/entry", c.body(c.envelope("wisehub.cloud.pay.order"), order(map[string]any{"order_amount": json.Number("1e2")})), nil, 200, "40002", "order_amount"},
		{"unknown currency", "/codepay/api/entry", c.body(c.envelope("wisehub.cloud.pay.order"), order(map[string]any{"price_currency": "XXZ"})), nil, 200, "40002", "price_currency"},
		{"cashback on a sale", "/codepay/api/entry", c.body(c.envelope("wisehub.cloud.pay.order"), order(map[string]any{"cashback_amount": json.Number("5")})), nil, 200, "40002", "cashback_amount"},
		{"void without original", "/codepay/api/entry", c.body(c.envelope("wisehub.cloud.pay.order"), order(map[string]any{"trans_type": 2})), nil, 200, "40001", "orig_merchant_order_no"},
		{"bad signature", "/codepay/api/entry", signedWith(nil, func(m map[string]any) { m["description"] = "changed" }), nil, 200, "40003", "sign"},
		{"signature of another key", "/codepay/api/entry", signedWith(nil, func(m map[string]any) {
			sig, _ := base64.StdEncoding.DecodeString(m["sign"].(string))
			sig[3] ^= 1
			m["sign"] = base64.StdEncoding.EncodeToString(sig)
		}), nil, 200, "40003", "sign"},
		{"no sign with RSA2", "/codepay/api/entry", signedWith(nil, func(m map[string]any) { delete(m, "sign") }), nil, 200, "40001", "sign"},
		{"timestamp 16 min old", "/codepay/api/entry", c.body(c.envelope("wisehub.cloud.pay.order"), order(map[string]any{"timestamp": ms(-16 * time.Minute)})), nil, 200, "40004", "timestamp"},
		{"timestamp 16 min ahead", "/codepay/api/entry", c.body(c.envelope("wisehub.cloud.pay.order"), order(map[string]any{"timestamp": json.Number(ms(16 * time.Minute))})), nil, 200, "40004", "timestamp"},
		{"timestamp not 13 digits", "/codepay/api/entry", c.body(c.envelope("wisehub.cloud.pay.order"), order(map[string]any{"timestamp": "170910608281"})), nil, 200, "40002", "timestamp"},
		{"unknown app", "/codepay/api/entry", c.body(c.envelope("wisehub.cloud.pay.order"), order(map[string]any{"app_id": "wz_nobody"})), nil, 200, "40005", "app_id"},
		{"NONE without Basic", "/codepay/api/entry", c.body(c.envelope("wisehub.cloud.pay.order"), order(map[string]any{"sign_type": "NONE"})), nil, 200, "40005", "Authorization"},
		{"NONE wrong password", "/codepay/api/entry", c.body(c.envelope("wisehub.cloud.pay.order"), order(map[string]any{"sign_type": "NONE"})),
			[]string{"Authorization", "Basic " + base64.StdEncoding.EncodeToString([]byte(appID+":wrong-password"))}, 200, "40005", "Authorization"},
		{"unknown merchant", "/codepay/api/entry", c.body(c.envelope("wisehub.cloud.pay.order"), order(map[string]any{"merchant_no": "999"})), nil, 200, "40006", "merchant_no"},
		{"merchant of another app", "/codepay/api/entry", c.body(c.envelope("wisehub.cloud.pay.order"), order(map[string]any{"merchant_no": "302300000926"})), nil, 200, "40006", "merchant_no"},
		{"terminal of another merchant", "/codepay/api/entry", c.body(c.envelope("wisehub.cloud.pay.order"), order(map[string]any{"terminal_sn": "WPYB002248000865"})), nil, 200, "40006", "terminal_sn"},
		{"unknown store", "/codepay/api/entry", c.body(c.envelope("wisehub.cloud.pay.order"), order(map[string]any{"store_no": "1"})), nil, 200, "40006", "store_no"},
		{"duplicate order", "/codepay/api/entry", c.body(c.envelope("wisehub.cloud.pay.order"), order(map[string]any{"merchant_order_no": "PAID-1"})), nil, 200, "40007", "merchant_order_no"},
		{"order not found", "/codepay/api/entry", c.body(c.envelope("order.query"), map[string]any{"merchant_order_no": "NONE-1"}), nil, 200, "40008", "merchant_order_no"},
		{"query without either number", "/codepay/api/entry", c.body(c.envelope("order.query"), nil), nil, 200, "40001", "trans_no"},
		{"close a paid order", "/codepay/api/entry", c.body(c.envelope("wisehub.cloud.pay.close"), map[string]any{"terminal_sn": termA, "merchant_order_no": "PAID-1",
			"message_receiving_application": "CodePay Register"}), nil, 200, "40009", ""},
		{"refund above paid", "/codepay/api/entry", c.body(c.envelope("order.refund.submit"), map[string]any{"orig_merchant_order_no": "PAID-1", "merchant_order_no": "R-1",
			"price_currency": "USD", "order_amount": json.Number("20.01"), "description": "too much"}), nil, 200, "40011", "order_amount"},
		{"unknown method", "/codepay/api/entry", c.body(c.envelope("pay.nothing"), nil), nil, 200, "40012", "method"},
		{"unknown card path", "/codepay/api/card/nothing", []byte(`{}`), nil, 404, "40012", ""},
		{"not JSON", "/codepay/api/entry", []byte(`{"app_id":`), nil, 200, "40002", ""},
		{"body too large", "/codepay/api/entry", []byte(`{"x":"` + strings.Repeat("a", 2<<20) + `"}`), nil, 413, "40002", ""},
		{"card op for another app's transaction", "/codepay/api/card/recall", c.body(map[string]any{"app_id": "wz6012822ca2f1as78", "timestamp": c.now()},
			map[string]any{"merchant_order_no": "PAID-1"}), nil, 200, "40008", "merchant_order_no"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := c.h.Do("POST", tc.path, tc.body, tc.hdr...)
			a := c.parse(r.Status, r.Body)
			if r.Status != tc.status || a.Code != tc.code || !strings.Contains(a.Msg, tc.field) || a.Data != nil {
				t.Fatalf("want HTTP %d code %s naming %q, got %s", tc.status, tc.code, tc.field, a)
			}
			for _, secret := range []string{visaOK, "demo-basic-password", "wrong-password"} {
				if strings.Contains(a.Msg, secret) {
					t.Fatalf("message leaks %q: %s", secret, a.Msg)
				}
			}
		})
	}
	// The wrong HTTP method is refused, signed, too.
	r := c.h.Do("GET", "/codepay/api/entry", nil)
	if a := c.parse(r.Status, r.Body); r.Status != http.StatusMethodNotAllowed || a.Code != "40012" {
		t.Fatalf("GET: %s", a)
	}
	// Refusals are journaled with their code.
	if len(c.h.Sim.Journal().Query(journal.Filter{System: "codepay", Kind: "request.refused"})) < len(cases) {
		t.Fatal("refusals are not all journaled")
	}
}

// TestTimestampWindowEdges: ±15 minutes is in, one second more is out;
// a number and a string both work.
func TestTimestampWindowEdges(t *testing.T) {
	c := newCP(t)
	now := c.h.Clock.Now()
	for _, tc := range []struct {
		ts   any
		code string
	}{
		{strconv.FormatInt(now.Add(-15*time.Minute).UnixMilli(), 10), "40008"},
		{json.Number(strconv.FormatInt(now.Add(15*time.Minute).UnixMilli(), 10)), "40008"},
		{strconv.FormatInt(now.Add(-15*time.Minute-time.Second).UnixMilli(), 10), "40004"},
		{json.Number(strconv.FormatInt(now.Add(15*time.Minute+time.Second).UnixMilli(), 10)), "40004"},
	} {
		a := c.call("order.query", map[string]any{"merchant_order_no": "X", "timestamp": tc.ts})
		if a.Code != tc.code {
			t.Errorf("timestamp %v: %s", tc.ts, a)
		}
	}
}

// TestSandboxAndLiveCredentials: the key (or Basic password) that verifies
// decides the environment; orders of one environment are invisible to the
// other; every request records the environment it used.
func TestSandboxAndLiveCredentials(t *testing.T) {
	c := newCP(t)
	c.order("ENV-1", nil)
	live := *c
	live.key = liveKey(t)
	if a := live.query("ENV-1"); a.Code != codepay.CodeOrderNotFound {
		t.Fatalf("a sandbox order is visible with live credentials: %s", a)
	}
	live.order("ENV-1", map[string]any{"terminal_sn": termB}) // the same number is free in live
	if a := live.query("ENV-1"); a.Code != "0" {
		t.Fatalf("live order: %s", a)
	}
	basic := *c
	basic.basic = "demo-live-basic-password"
	if a := basic.query("ENV-1"); a.Code != "0" || a.str("terminal_sn") != termB {
		t.Fatalf("live Basic sees the live order: %s", a)
	}
	basic.basic = "demo-basic-password"
	if a := basic.query("ENV-1"); a.Code != "0" || a.str("terminal_sn") != termA {
		t.Fatalf("sandbox Basic sees the sandbox order: %s", a)
	}
	if a := basic.card("recall", map[string]any{"merchant_order_no": "ENV-1"}); a.Code != "0" || a.str("trans_status") != "9" {
		t.Fatalf("a card operation with sign_type NONE: %s", a)
	}
	liveRecall := live.card("recall", map[string]any{"merchant_order_no": "ENV-1"})
	if liveRecall.Code != "0" || liveRecall.str("trans_no") == basic.card("recall", map[string]any{"merchant_order_no": "ENV-1"}).str("trans_no") {
		t.Fatalf("live recall must find the live order: %s", liveRecall)
	}
	envs := map[string]int{}
	for _, e := range c.events("request.answered") {
		envs[e.Data["environment"].(string)]++
	}
	if envs["sandbox"] == 0 || envs["live"] == 0 {
		t.Fatalf("environments journaled: %v", envs)
	}
}

// TestConfigAddsAppsAndMerchants: the codepay section of --config adds an
// app with inline keys and a merchant with a terminal.
func TestConfigAddsAppsAndMerchants(t *testing.T) {
	pub, _ := readFixture(t, "keys/codepay-app-demo.pub.pem")
	cfg := "codepay:\n  merchants:\n    - merchantNo: \"900000000001\"\n      stores: [{storeNo: \"S1\", terminals: [CFGTERM1]}]\n" +
		"  apps:\n    - appId: wzconfigapp\n      merchants: [\"900000000001\"]\n      sandbox:\n        basicPassword: cfg-password\n        publicKey: |\n" +
		indent(string(pub), "          ")
	c := newCP(t, simtest.WithConfig(cfg))
	c.app = "wzconfigapp"
	a := c.call("order.query", map[string]any{"merchant_no": "900000000001", "merchant_order_no": "X"})
	if a.Code != codepay.CodeOrderNotFound {
		t.Fatalf("config app refused: %s", a)
	}
	if v := c.terminal("CFGTERM1"); v["online"] != true {
		t.Fatalf("config terminal: %v", v)
	}
}

func indent(s, pre string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i := range lines {
		lines[i] = pre + lines[i]
	}
	return strings.Join(lines, "\n") + "\n"
}

// TestObjectModeAnswersMatchTheSpec runs operations of every kind with data
// sent as an object: simtest validates each answer against its closed
// <Operation>Data schema, and each answer verifies with the gateway key.
func TestObjectModeAnswersMatchTheSpec(t *testing.T) {
	c := newCP(t)
	c.sys.SetThreeDS(newFake3DS(t, c.h.Clock))
	c.sys.SetDataMode(codepay.DataObject)
	send := func(path string, body []byte) map[string]any {
		t.Helper()
		r := c.h.Do("POST", path, body)
		if err := codepay.Verify(c.gw, r.Body); err != nil {
			t.Fatalf("%s: %v", r.Body, err)
		}
		var m map[string]any
		json.Unmarshal(r.Body, &m)
		if m["code"] != "0" {
			t.Fatalf("%s: %s", path, r.Body)
		}
		d, _ := m["data"].(map[string]any)
		return d
	}
	entry := func(method string, f map[string]any) map[string]any {
		return send("/codepay/api/entry", c.body(c.envelope(method), f))
	}
	card := func(path string, f map[string]any) map[string]any {
		return send("/codepay/api/card/"+path, c.body(map[string]any{"app_id": c.app, "timestamp": c.now()}, f))
	}
	push := func(no string, f map[string]any) string {
		base := map[string]any{"terminal_sn": termA, "message_receiving_application": "CodePay Register", "price_currency": "USD",
			"order_amount": json.Number("20.00"), "trans_type": 1, "merchant_order_no": no, "description": "x", "expires": 300,
			"api_version": "2.0", "on_screen_signature": false}
		for k, v := range f {
			base[k] = v
		}
		return entry("wisehub.cloud.pay.order", base)["trans_no"].(string)
	}
	sale := push("O1", nil)
	c.act(termA, "card", map[string]any{"card": visaOK})
	auth := push("O2", map[string]any{"trans_type": 4})
	c.act(termA, "card", map[string]any{"card": visaOK})
	push("O3", nil)
	entry("wisehub.cloud.pay.close", map[string]any{"terminal_sn": termA, "merchant_order_no": "O3", "message_receiving_application": "CodePay Register"})
	entry("order.query", map[string]any{"trans_no": sale})
	entry("tip.adjustment", map[string]any{"merchant_order_no": "O1", "tip_adjustment_amount": json.Number("1")})
	card("tip-adjustment", map[string]any{"trans_no": sale, "tip_amount": json.Number("2")})
	card("incremental-authorization", map[string]any{"trans_no": auth, "trans_amount": json.Number("5")})
	card("capture", map[string]any{"trans_no": auth, "merchant_order_no": "O2-C", "trans_amount": json.Number("25")})
	card("refund", map[string]any{"trans_no": auth, "merchant_order_no": "O2-R", "order_amount": json.Number("5")})
	card("recall", map[string]any{"merchant_order_no": "O1"})
	r := entry("order.refund.submit", refundOf("O1", "O1-R", "1.00"))
	entry("order.refund.query", map[string]any{"trans_no": r["trans_no"]})
	card("batch/open", map[string]any{"merchant_no": merchant})
	entry("batch.close", map[string]any{"terminal_sn": termA})
	card("batch/close", map[string]any{"merchant_no": merchant, "store_no": store})
	auth2 := push("O4", map[string]any{"trans_type": 4})
	c.act(termA, "card", map[string]any{"card": visaOK})
	card("cancel", map[string]any{"trans_no": auth2, "merchant_order_no": "O4-X"})
	entry("pay.checkout", map[string]any{"merchant_order_no": "O5", "price_currency": "USD", "order_amount": json.Number("3"), "expires": 60, "description": "x"})
	mc := entry("pay.merchant.checkout", map[string]any{"card": encryptCard(t, c.gw, map[string]string{"pan": visaChallenge, "expiry": "1230"}),
		"billing_address": map[string]any{}, "merchant_order_no": "O6", "price_currency": "USD", "order_amount": json.Number("3"), "expires": 60, "description": "x"})
	if mc["redirect_url_3dsecure"] == nil {
		t.Fatalf("no challenge redirect: %v", mc)
	}
	entry("order.revoker", map[string]any{"merchant_order_no": "O6"})
}

// TestGuardRecordsTagsForFaults: before faults and the handler run, the
// request carries the app, merchant, store, terminal and environment tags
// fault rules match on.
func TestGuardRecordsTagsForFaults(t *testing.T) {
	c := newCP(t) // for its client; the system under test is built alone below
	var mu sync.Mutex
	var got []map[string]string
	e := *c.h.Sim.Env()
	e.Store = simstore.NewMemory()
	e.Wrap = func(system string) func(http.Handler) http.Handler {
		return func(h http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				got = append(got, openapi.FromContext(r.Context()).Tags())
				mu.Unlock()
				h.ServeHTTP(w, r)
			})
		}
	}
	sys, err := codepay.New(context.Background(), &e, codepay.Options{})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sys.Mount())
	defer srv.Close()
	post := func(body []byte) {
		res, err := http.Post(srv.URL+"/codepay/api/entry", "application/json", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
	}
	post(c.body(c.envelope("pay.checkout"), map[string]any{"merchant_order_no": "X", "store_no": store, "price_currency": "USD",
		"order_amount": json.Number("1"), "expires": 60, "description": "x"}))
	post(c.body(c.envelope("batch.close"), map[string]any{"terminal_sn": termB}))
	live := *c
	live.key = liveKey(t)
	post(live.body(live.envelope("order.query"), map[string]any{"merchant_order_no": "X"}))
	bad := c.body(c.envelope("order.query"), map[string]any{"merchant_order_no": "X"})
	post(bytes.Replace(bad, []byte(`"merchant_order_no":"X"`), []byte(`"merchant_order_no":"Y"`), 1)) // refused: never reaches faults
	mu.Lock()
	defer mu.Unlock()
	want := []map[string]string{
		{"app": appID, "merchant": merchant, "store": store, "environment": "sandbox"},
		{"app": appID, "merchant": merchant, "store": store, "terminal": termB, "environment": "sandbox"},
		{"app": appID, "merchant": merchant, "environment": "live"},
	}
	if len(got) != len(want) {
		t.Fatalf("tags seen %d times: %v", len(got), got)
	}
	for i := range want {
		if !reflect.DeepEqual(got[i], want[i]) {
			t.Errorf("request %d tags %v, want %v", i, got[i], want[i])
		}
	}
}

// TestSignedCardRequestsCannotBeReplayed: a card operation carries a
// timestamp within ±15 minutes, as the entry point does. The replay:
// one signed incremental authorization sent four times, the last 72 hours
// later, raised an authorization of 50.00 to 90.00. Without a timestamp it
// is refused every time; with one, it counts once and is refused once the
// window has passed.
//
// The seed's card tables list no timestamp: by default a card request
// without one is answered with a warning (the seed's own samples have none),
// so the replay protection holds in --strict, which this test runs.
func TestSignedCardRequestsCannotBeReplayed(t *testing.T) {
	c := newCP(t, simtest.Strict())
	auth := c.paidSale("RP1", "50.00", visaOK, map[string]any{"trans_type": 4})
	// Captures above the authorized amount are refused: how the test reads it.
	authorized := func(want string) {
		t.Helper()
		over, _ := strconv.ParseFloat(want, 64)
		a := c.card("capture", map[string]any{"trans_no": auth, "merchant_order_no": "RP1-C", "trans_amount": json.Number(strconv.FormatFloat(over+0.01, 'f', 2, 64))})
		if a.Code != codepay.CodeAmountExceeds {
			t.Fatalf("the authorization is not %s: a capture above it answered %s", want, a)
		}
	}
	unstamped := c.body(map[string]any{"app_id": c.app}, map[string]any{"trans_no": auth, "trans_amount": json.Number("10.00")})
	for i := range 4 {
		if a := c.send("/codepay/api/card/incremental-authorization", unstamped); a.Code != codepay.CodeMissingParameter || !strings.Contains(a.Msg, "timestamp") {
			t.Fatalf("replay %d without a timestamp: %s", i+1, a)
		}
	}
	authorized("50.00")
	stamped := c.body(map[string]any{"app_id": c.app, "timestamp": c.now()}, map[string]any{"trans_no": auth, "trans_amount": json.Number("10.00")})
	if a := c.send("/codepay/api/card/incremental-authorization", stamped); a.Code != "0" {
		t.Fatalf("the signed request: %s", a)
	}
	authorized("60.00")
	c.h.Advance(72 * time.Hour)
	if a := c.send("/codepay/api/card/incremental-authorization", stamped); a.Code != codepay.CodeTimestamp || !strings.Contains(a.Msg, "timestamp") {
		t.Fatalf("the replay 72 h later: %s", a)
	}
	authorized("60.00")
}

// TestEveryCanonicalFormVerifies signs one order.query — with an empty
// attach-like field and a boolean, where the forms differ — in each
// canonical form: by default every form verifies (a form other than the
// SDK's with a warning, and the journal names the form); --strict accepts
// the SDK's only.
func TestEveryCanonicalFormVerifies(t *testing.T) {
	for _, strict := range []bool{false, true} {
		var opts []simtest.Option
		if strict {
			opts = append(opts, simtest.Strict())
		}
		c := newCP(t, opts...)
		for _, form := range codepay.Forms {
			t.Run(fmt.Sprintf("strict=%v/%s", strict, form), func(t *testing.T) {
				m := c.envelope("wisehub.cloud.pay.order")
				for k, v := range map[string]any{"terminal_sn": termA, "message_receiving_application": "CodePay Register",
					"price_currency": "USD", "order_amount": json.Number("1.00"), "trans_type": 1, "description": "form " + string(form),
					"merchant_order_no": "F" + strings.ReplaceAll(string(form), "-", "") + fmt.Sprint(strict), "expires": 300,
					"attach": "", "confirm_on_terminal": true, "on_screen_tip": false, "api_version": "2.0"} {
					m[k] = v
				}
				raw, _ := json.Marshal(m)
				sign, err := codepay.SignForm(c.key, raw, form)
				if err != nil {
					t.Fatal(err)
				}
				m["sign"] = sign
				raw, _ = json.Marshal(m)
				r := c.h.Do("POST", "/codepay/api/entry", raw)
				a := c.parse(r.Status, r.Body)
				warned := len(r.Header.Values(openapi.WarningHeader)) > 0
				switch {
				case strict && form != codepay.FormSDK:
					if a.Code != codepay.CodeBadSignature || !strings.Contains(a.Msg, "--strict") {
						t.Fatalf("--strict accepted the %s form: %s", form, a)
					}
				case a.Code != "0":
					t.Fatalf("the %s form was refused: %s", form, a)
				case warned != (form != codepay.FormSDK):
					t.Fatalf("%s form: warning %q", form, r.Header.Values(openapi.WarningHeader))
				default:
					ev := c.h.Do("GET", "/_sim/events?kind=request.answered&system=codepay", nil)
					if !strings.Contains(string(ev.Body), `"signForm":"`+string(form)+`"`) {
						t.Fatalf("the journal does not name the %s form: %s", form, ev.Body)
					}
				}
			})
		}
	}
}
