package faults_test

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/pspsim/pspsim/simulator/clock"
	"github.com/pspsim/pspsim/simulator/faults"
	"github.com/pspsim/pspsim/simulator/ids"
	"github.com/pspsim/pspsim/simulator/journal"
	"github.com/pspsim/pspsim/simulator/openapi"
)

// TestMalformedRulesNameTheRuleAndTheField: every way a rule can be wrong
// gives an error naming the rule, the field and the broken constraint — and
// never echoes a card number.
func TestMalformedRulesNameTheRuleAndTheField(t *testing.T) {
	cases := []struct {
		name, rule, field, check string
	}{
		{"no action", `{id: r1, match: {system: shop}}`, "action", "required"},
		{"action without type", `{id: r1, action: {hold: 1s}}`, "action.type", "required"},
		{"unknown action", `{id: r1, action: {type: explode}}`, "action.type", "enum"},
		{"unknown rule field", `{id: r1, action: reset, when: now}`, "when", "unknown"},
		{"unknown match field", `{id: r1, match: {merchnat: M1}, action: reset}`, "match.merchnat", "unknown"},
		{"bad id", `{id: "r 1", action: reset}`, "id", "pattern"},
		{"unknown parameter", `{id: r1, action: {type: timeout, hld: 1s}}`, "action.hld", "unknown"},
		{"bad duration", `{id: r1, action: {type: timeout, hold: soon}}`, "action.hold", "duration"},
		{"hold too long", `{id: r1, action: {type: timeout, hold: 2h}}`, "action.hold", "range"},
		{"status out of range", `{id: r1, action: {type: status, status: 700}}`, "action.status", "range"},
		{"status missing", `{id: r1, action: {type: status}}`, "action.status", "required"},
		{"error kind", `{id: r1, action: {type: error, kind: sad}}`, "action.kind", "enum"},
		{"latency needs a delay", `{id: r1, action: latency}`, "action.delay", "required"},
		{"latency range upside down", `{id: r1, action: {type: latency, min: 2s, max: 1s}}`, "action.max", "minimum"},
		{"lost status without error", `{id: r1, action: {type: lost, status: 503}}`, "action.status", "dependency"},
		{"bad amount", `{id: r1, match: {amount: ten}, action: reset}`, "match.amount", "pattern"},
		{"amount range upside down", `{id: r1, match: {amount: {min: "10", max: "1"}}, action: reset}`, "match.amount.min", "range"},
		{"cents", `{id: r1, match: {amount: {cents: 151}}, action: reset}`, "match.amount.cents", "range"},
		{"bad card", `{id: r1, match: {card: "4000-1234-oops"}, action: reset}`, "match.card", "pattern"},
		{"bad path", `{id: r1, match: {path: "/shop/["}, action: reset}`, "match.path", "pattern"},
		{"relative path", `{id: r1, match: {path: "shop"}, action: reset}`, "match.path", "pattern"},
		{"header without name", `{id: r1, match: {header: {value: x}}, action: reset}`, "match.header.name", "required"},
		{"two frequencies", `{id: r1, action: reset, frequency: {first: 1, every: 2}}`, "frequency", "oneOf"},
		{"probability above 1", `{id: r1, action: reset, frequency: {probability: 1.5}}`, "frequency.probability", "range"},
		{"probability zero", `{id: r1, action: reset, frequency: {probability: 0}}`, "frequency.probability", "range"},
		{"every zero", `{id: r1, action: reset, frequency: {every: 0}}`, "frequency.every", "minimum"},
		{"nth with a frequency", `{id: r1, match: {nth: 2}, action: reset, frequency: {first: 1}}`, "frequency", "conflict"},
		{"attempt on a served API", `{id: r1, match: {attempt: 1}, action: reset}`, "match.attempt", "target"},
		{"unknown system", `{id: r1, match: {system: paypal}, action: reset}`, "match.system", "enum"},
		{"unknown operation", `{id: r1, match: {system: shop, operation: createOrdr}, action: reset}`, "match.operation", "exists"},
		{"unknown operation in a list", `{id: r1, match: {operation: [createOrder, nope]}, action: reset}`, "match.operation[1]", "exists"},
		{"duplicate id", `{id: taken, action: reset}`, "id", "unique"},
		{"negative window", `{id: r1, action: reset, for: -1h}`, "for", "minimum"},
	}
	c := clock.NewSim(t0)
	eng := faults.New(faults.Options{Clock: c})
	eng.SetCatalog([]string{"shop"}, func(system, op string) bool { return op == "createOrder" || op == "getOrder" })
	if _, err := eng.Add(faults.Rule{ID: "taken", Action: "reset"}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f, err := faults.ParseFile([]byte(tc.rule), faults.SourceAPI)
			if err == nil {
				_, err = eng.Add(f.Rules[0])
			}
			var fe *faults.FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("want a FieldError, got %v", err)
			}
			if fe.Field != tc.field || fe.Check != tc.check {
				t.Fatalf("field %q check %q, want %q %q (%v)", fe.Field, fe.Check, tc.field, tc.check, err)
			}
			wantRule := "r1"
			if tc.name == "duplicate id" {
				wantRule = "taken"
			}
			if tc.name == "bad id" {
				wantRule = ""
			}
			if fe.Rule != wantRule || !strings.Contains(err.Error(), strings.TrimSpace("fault rule "+wantRule)) || !strings.Contains(err.Error(), tc.field) {
				t.Fatalf("the error does not name rule %q and field %s: %v", wantRule, tc.field, err)
			}
			if strings.Contains(err.Error(), "4000") {
				t.Fatalf("the error echoes card digits: %v", err)
			}
			api := fe.APIError()
			if api.Field != tc.field || api.Rule != tc.check {
				t.Fatalf("API error %+v", api)
			}
		})
	}
	if got := strings.Join(eng.Rules(), ","); got != "taken" {
		t.Fatalf("a malformed rule was installed: %s", got)
	}
}

func TestRulesFileNamesTheRuleByPosition(t *testing.T) {
	_, err := faults.ParseFile([]byte("rules:\n  - action: reset\n  - action: {type: status, status: 42}\n"), faults.SourceFile)
	if err != nil {
		t.Fatal(err) // parsing passes; building catches the status
	}
	f, _ := faults.ParseFile([]byte("rules:\n  - action: reset\n  - match: {amount: x}\n    action: reset\n"), faults.SourceFile)
	if f.Rules != nil {
		t.Fatal("a malformed file parsed")
	}
	_, err = faults.ParseFile([]byte("rules:\n  - action: reset\n  - match: {amount: x}\n    action: reset\n"), faults.SourceFile)
	if err == nil || !strings.Contains(err.Error(), "fault rule rules[1]: match.amount") {
		t.Fatalf("%v", err)
	}
	eng := faults.New(faults.Options{})
	f, _ = faults.ParseFile([]byte("- action: reset\n- action: {type: status, status: 42}\n"), faults.SourceFile)
	if err := eng.SetBase(f.Rules); err == nil || !strings.Contains(err.Error(), "action.status") {
		t.Fatalf("%v", err)
	}
}

// call runs one request through an engine's middleware in process and says
// whether a rule fired (the next handler answers 201, every test rule 599).
func call(eng *faults.Engine, system string, req *openapi.Request, method, path, body string, header http.Header) bool {
	r := httptest.NewRequest(method, path, strings.NewReader(body))
	for k, v := range header {
		r.Header[k] = v
	}
	if req != nil {
		req.Body = []byte(body)
		r = r.WithContext(openapi.WithRequest(r.Context(), req))
	}
	w := httptest.NewRecorder()
	eng.Wrap(system)(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(201) })).ServeHTTP(w, r)
	return w.Code == 599
}

func TestMatchCriteria(t *testing.T) {
	cases := []struct {
		name   string
		match  string
		system string
		op     string
		method string
		path   string
		tags   map[string]string
		header http.Header
		body   string
		want   bool
	}{
		{"everything", `{}`, "vmgateway", "createPayment", "POST", "/vm/v1/payments", nil, nil, `{}`, true},
		{"system", `{system: codepay}`, "vmgateway", "createPayment", "POST", "/vm/v1/payments", nil, nil, `{}`, false},
		{"operation", `{operation: createPayment}`, "vmgateway", "createPayment", "POST", "/vm/v1/payments", nil, nil, `{}`, true},
		{"operation list", `{operation: [pay.checkout, wisehub.cloud.pay.order]}`, "codepay", "wisehub.cloud.pay.order", "POST", "/codepay/api/entry", nil, nil, `{}`, true},
		{"other operation", `{operation: capturePayment}`, "vmgateway", "createPayment", "POST", "/vm/v1/payments", nil, nil, `{}`, false},
		{"method", `{method: get}`, "vmgateway", "createPayment", "POST", "/vm/v1/payments", nil, nil, `{}`, false},
		{"path glob", `{path: "/vm/v1/payments/*"}`, "vmgateway", "capturePayment", "POST", "/vm/v1/payments/capture", nil, nil, `{}`, true},
		{"path exact", `{path: "/vm/v1/payments"}`, "vmgateway", "capturePayment", "POST", "/vm/v1/payments/capture", nil, nil, `{}`, false},
		{"merchant", `{merchant: M1}`, "codepay", "order.query", "POST", "/codepay/api/entry", map[string]string{"merchant": "M1"}, nil, `{}`, true},
		{"other merchant", `{merchant: M2}`, "codepay", "order.query", "POST", "/codepay/api/entry", map[string]string{"merchant": "M1"}, nil, `{}`, false},
		{"terminal and environment", `{terminal: T1, environment: live}`, "codepay", "x", "POST", "/", map[string]string{"terminal": "T1", "environment": "live"}, nil, `{}`, true},
		{"environment differs", `{environment: live}`, "vmgateway", "x", "POST", "/", map[string]string{"environment": "sandbox"}, nil, `{}`, false},
		{"amount equals string", `{amount: "10.51"}`, "vmgateway", "x", "POST", "/", nil, nil, `{"amount":"10.510"}`, true},
		{"amount equals number", `{amount: 10.51}`, "codepay", "x", "POST", "/", nil, nil, `{"order_amount":10.51}`, true},
		{"amount min max", `{amount: {min: "100", max: "200"}}`, "vmgateway", "x", "POST", "/", nil, nil, `{"amount":"199.68"}`, true},
		{"amount below min", `{amount: {min: "100"}}`, "vmgateway", "x", "POST", "/", nil, nil, `{"amount":"99.99"}`, false},
		{"cents", `{amount: {cents: 51}}`, "codepay", "x", "POST", "/", nil, nil, `{"trans_amount":3.51}`, true},
		{"cents differ", `{amount: {cents: 51}}`, "codepay", "x", "POST", "/", nil, nil, `{"trans_amount":3.5}`, false},
		{"no amount in body", `{amount: {cents: 0}}`, "codepay", "x", "POST", "/", nil, nil, `{"x":1}`, false},
		{"card", `{card: "4000 1234 5600 0019"}`, "vmgateway", "x", "POST", "/", nil, nil, `{"card":{"cardNo":"4000123456000019"}}`, true},
		{"other card", `{card: "4000123456000019"}`, "vmgateway", "x", "POST", "/", nil, nil, `{"card":{"cardNo":"4000123456000027"}}`, false},
		{"header present", `{header: {name: x-test}}`, "vmgateway", "x", "POST", "/", nil, http.Header{"X-Test": {"1"}}, `{}`, true},
		{"header value", `{header: {name: X-Test, value: "2"}}`, "vmgateway", "x", "POST", "/", nil, http.Header{"X-Test": {"1"}}, `{}`, false},
		{"header absent", `{header: {name: X-Test}}`, "vmgateway", "x", "POST", "/", nil, nil, `{}`, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			eng := faults.New(faults.Options{})
			f, err := faults.ParseFile([]byte(`{match: `+c.match+`, action: {type: status, status: 599}}`), faults.SourceAPI)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := eng.Add(f.Rules[0]); err != nil {
				t.Fatal(err)
			}
			req := &openapi.Request{System: c.system, OperationID: c.op, Key: c.op}
			for k, v := range c.tags {
				req.Tag(k, v)
			}
			if got := call(eng, c.system, req, c.method, c.path, c.body, c.header); got != c.want {
				t.Fatalf("fired = %v, want %v", got, c.want)
			}
		})
	}
}

// pattern runs n calls and writes F for a firing, . otherwise.
func pattern(eng *faults.Engine, n int) string {
	var b strings.Builder
	for i := 0; i < n; i++ {
		if call(eng, "shop", &openapi.Request{Key: "createOrder"}, "POST", "/shop/orders", `{}`, nil) {
			b.WriteByte('F')
		} else {
			b.WriteByte('.')
		}
	}
	return b.String()
}

func engineWith(t *testing.T, seed uint64, rules ...string) *faults.Engine {
	t.Helper()
	eng := faults.New(faults.Options{Clock: clock.NewSim(t0), IDs: ids.New(seed)})
	for _, r := range rules {
		f, err := faults.ParseFile([]byte(r), faults.SourceAPI)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := eng.Add(f.Rules[0]); err != nil {
			t.Fatal(err)
		}
	}
	return eng
}

func TestFrequencies(t *testing.T) {
	cases := []struct{ rule, want string }{
		{`{action: {type: status, status: 599}}`, "FFFFFFFFFF"},
		{`{action: {type: status, status: 599}, frequency: {always: true}}`, "FFFFFFFFFF"},
		{`{action: {type: status, status: 599}, frequency: {first: 3}}`, "FFF......."},
		{`{action: {type: status, status: 599}, frequency: {every: 3}}`, "..F..F..F."},
		{`{match: {nth: 4}, action: {type: status, status: 599}}`, "...F......"},
	}
	for _, c := range cases {
		if got := pattern(engineWith(t, 1, c.rule), 10); got != c.want {
			t.Errorf("%s: %s, want %s", c.rule, got, c.want)
		}
	}
}

// TestProbabilityRepeatsWithTheSeed: the same seed gives the same sequence of
// decisions, a different seed a different one, and the rate is about p.
func TestProbabilityRepeatsWithTheSeed(t *testing.T) {
	rule := `{id: flaky, action: {type: status, status: 599}, frequency: {probability: 0.3}}`
	a := pattern(engineWith(t, 7, rule), 400)
	b := pattern(engineWith(t, 7, rule), 400)
	c := pattern(engineWith(t, 8, rule), 400)
	if a != b {
		t.Fatalf("seed 7 gave two sequences:\n%s\n%s", a, b)
	}
	if a == c {
		t.Fatal("seeds 7 and 8 gave the same sequence")
	}
	for _, s := range []string{a, c} {
		if n := strings.Count(s, "F"); n < 80 || n > 160 {
			t.Fatalf("%d of 400 fired at p=0.3", n)
		}
	}
	// A reset replays the same decisions.
	eng := engineWith(t, 7)
	f, _ := faults.ParseFile([]byte(rule), faults.SourceFile)
	eng.SetBase(f.Rules)
	first := pattern(eng, 400)
	eng.Reset()
	if again := pattern(eng, 400); first != again || first != a {
		t.Fatal("a reset does not replay the seeded decisions")
	}
}

func TestFirstMatchWinsAndDeclinedRulesLetOthersFire(t *testing.T) {
	eng := engineWith(t, 1,
		`{id: a, action: {type: status, status: 599}, frequency: {every: 2}}`,
		`{id: b, action: {type: status, status: 599}}`)
	pattern(eng, 4)
	st := map[string]faults.Status{}
	for _, s := range eng.List() {
		st[s.ID] = s
	}
	if st["a"].Hits != 2 || st["a"].Matched != 4 || st["b"].Hits != 2 || st["b"].Matched != 2 {
		t.Fatalf("a %+v b %+v", st["a"], st["b"])
	}
}

func TestRunTimeRulesComeBeforeFileRulesAndResetRestoresFiles(t *testing.T) {
	eng := engineWith(t, 1)
	f, _ := faults.ParseFile([]byte("- {id: from-file, action: reset}\n- {action: reset}\n"), faults.SourceFile)
	if err := eng.SetBase(f.Rules); err != nil {
		t.Fatal(err)
	}
	if _, err := eng.Add(faults.Rule{Action: "reset"}); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(eng.Rules(), ","); got != "rule-2,from-file,file-1" {
		t.Fatalf("order %s", got)
	}
	eng.Delete("from-file")
	if n := eng.Clear(false); n != 1 {
		t.Fatalf("cleared %d", n)
	}
	if got := strings.Join(eng.Rules(), ","); got != "file-1" {
		t.Fatalf("after clear: %s", got)
	}
	eng.Reset()
	if got := strings.Join(eng.Rules(), ","); got != "from-file,file-1" {
		t.Fatalf("after reset: %s", got)
	}
	if eng.Clear(true) != 2 || len(eng.Rules()) != 0 {
		t.Fatal("clear all")
	}
}

// TestRuleWindowOnTheClock: a rule active for 24 h stops at exactly 24 h of
// simulated time, in milliseconds of wall time, with its expiry in the
// journal at the right moment; a rule starting after 1 h starts then.
func TestRuleWindowOnTheClock(t *testing.T) {
	c := clock.NewSim(t0)
	j := journal.New(c, 0)
	eng := faults.New(faults.Options{Clock: c, Journal: j})
	for _, r := range []faults.Rule{
		{ID: "outage", Action: "status", Params: map[string]any{"status": "599"}, For: 24 * time.Hour},
		{ID: "later", Action: "status", Params: map[string]any{"status": "598"}, After: time.Hour},
	} {
		if _, err := eng.Add(r); err != nil {
			t.Fatal(err)
		}
	}
	fires := func() int {
		r := httptest.NewRequest("GET", "/", nil)
		w := httptest.NewRecorder()
		eng.Wrap("shop")(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(201) })).ServeHTTP(w, r)
		return w.Code
	}
	start := time.Now()
	steps := []struct {
		by   time.Duration
		want int
	}{{0, 599}, {time.Hour, 599}, {23*time.Hour - time.Second, 599}, {time.Second, 598}, {48 * time.Hour, 598}}
	for i, s := range steps {
		c.Advance(s.by)
		if got := fires(); got != s.want {
			t.Fatalf("step %d (+%s): %d, want %d", i, c.Now().Sub(t0), got, s.want)
		}
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Fatalf("72 simulated hours took %s", took)
	}
	ev := j.Query(journal.Filter{System: faults.System, Kind: "fault.rule"})
	var kinds []string
	for _, e := range ev {
		kinds = append(kinds, fmt.Sprintf("%s %s@%s", e.Kind, e.IDs["rule"], e.Time.Sub(t0)))
	}
	want := "fault.rule.added outage@0s,fault.rule.added later@0s,fault.rule.activated later@1h0m0s,fault.rule.expired outage@24h0m0s"
	if strings.Join(kinds, ",") != want {
		t.Fatalf("journal:\n%s\nwant\n%s", strings.Join(kinds, ","), want)
	}
	st, _ := eng.Get("outage")
	if st.Active || st.Hits != 3 || !st.ActiveUntil.Equal(t0.Add(24*time.Hour)) {
		t.Fatalf("%+v", st)
	}
}

func TestCustomActionsRegisterOnTheEngineOnly(t *testing.T) {
	reg := faults.NewRegistry()
	err := reg.Register(faults.Kind{Name: "teapot", Target: faults.API, Doc: "418",
		Build: func(p *faults.Params) (faults.Action, error) { return teapot{}, p.Err() }})
	if err != nil {
		t.Fatal(err)
	}
	if reg.Register(faults.Kind{Name: "teapot", Target: faults.API, Build: func(p *faults.Params) (faults.Action, error) { return teapot{}, nil }}) == nil {
		t.Fatal("a name was registered twice")
	}
	eng := faults.New(faults.Options{Registry: reg})
	if _, err := eng.Add(faults.Rule{Action: "teapot"}); err != nil {
		t.Fatal(err)
	}
	if call(eng, "shop", nil, "GET", "/", "", nil) {
		t.Fatal("?")
	}
	if _, err := faults.New(faults.Options{}).Add(faults.Rule{Action: "teapot"}); err == nil {
		t.Fatal("another engine knows the custom action")
	}
}

type teapot struct{}

func (teapot) Describe() string { return "teapot" }
func (teapot) Serve(f *faults.Fire, w http.ResponseWriter, r *http.Request, next http.Handler) {
	w.WriteHeader(http.StatusTeapot)
}

func TestEveryBuiltInActionIsDocumented(t *testing.T) {
	want := map[string]faults.Target{"latency": faults.API, "status": faults.API, "error": faults.API, "timeout": faults.API,
		"reset": faults.API, "truncate": faults.API, "malformed": faults.API, "lost": faults.API,
		"drop": faults.Delivery, "delay": faults.Delivery, "duplicate": faults.Delivery, "reorder": faults.Delivery,
		"contradict": faults.Delivery, "tamper": faults.Delivery}
	kinds := faults.NewRegistry().Kinds()
	if len(kinds) != len(want) {
		t.Fatalf("%d actions, want %d", len(kinds), len(want))
	}
	for _, k := range kinds {
		if want[k.Name] != k.Target || len(k.Doc) < 40 {
			t.Errorf("%s: target %s, doc %q", k.Name, k.Target, k.Doc)
		}
	}
}
