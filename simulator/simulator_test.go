package simulator_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gavv/httpexpect/v2"

	"github.com/pspsim/pspsim/fixtures"
	"github.com/pspsim/pspsim/simulator/codepay"
	"github.com/pspsim/pspsim/simulator/openapi"
	"github.com/pspsim/pspsim/simulator/simtest"
)

func TestHealthListsEverySystem(t *testing.T) {
	h := simtest.New(t)
	e := httpexpect.Default(t, h.URL)
	health := e.GET("/_sim/health").Expect().Status(http.StatusOK).JSON().Object()
	health.HasValue("status", "ok").HasValue("seed", 1)
	health.Value("clock").Object().HasValue("mode", "sim").HasValue("now", "2026-11-22T10:00:00Z")
	systems := health.Value("systems").Array()
	systems.Length().IsEqual(3)
	// Operations per spec: CodePay counts each method of /api/entry.
	want := map[string]int{"codepay": 18, "genstore": 9, "vmgateway": 14}
	for i, name := range []string{"codepay", "genstore", "vmgateway"} {
		sys := systems.Value(i).Object()
		sys.HasValue("name", name).HasValue("operations", want[name])
		sys.Value("handled").Number().Le(float64(want[name]))
	}
}

func TestClockAdvanceThroughTheAdminAPI(t *testing.T) {
	h := simtest.New(t)
	fired := 0
	h.Clock.AfterFunc(90*time.Minute, func() { fired++ })
	r := h.Do("POST", "/_sim/clock/advance", map[string]string{"by": "2h"})
	out := r.JSON()
	if r.Status != 200 || out["now"] != "2026-11-22T12:00:00Z" || fmt.Sprint(out["fired"]) != "1" || fired != 1 {
		t.Fatalf("%d %s fired=%d", r.Status, r.Body, fired)
	}
	for _, c := range []struct {
		body   string
		status int
		field  string
	}{
		{`{"by":"soon"}`, 400, "by"},
		{`{"by":"-1h"}`, 400, "by"},
		{`{}`, 400, "by"},
	} {
		r := h.Do("POST", "/_sim/clock/advance", c.body)
		e, _ := r.JSON()["error"].(map[string]any)
		if r.Status != c.status || e["field"] != c.field {
			t.Errorf("%s: %d %s", c.body, r.Status, r.Body)
		}
	}
	r = h.Do("POST", "/_sim/clock/set", map[string]string{"to": "2026-11-22T11:00:00Z"})
	if r.Status != 409 {
		t.Fatalf("moving back: %d %s", r.Status, r.Body)
	}
	r = h.Do("POST", "/_sim/clock/set", map[string]string{"to": "2026-12-01T00:00:00Z"})
	if r.Status != 200 || r.JSON()["now"] != "2026-12-01T00:00:00Z" {
		t.Fatalf("set: %d %s", r.Status, r.Body)
	}
	ev := h.Sim.Journal().Query(journalKind("clock.moved"))
	if len(ev) != 2 {
		t.Fatalf("clock moves journaled: %d", len(ev))
	}
}

func TestUnknownPathsAnswerInTheDialectOfTheirMount(t *testing.T) {
	h := simtest.New(t)
	cases := []struct {
		method, path string
		status       int
		check        func(map[string]any) bool
	}{
		{"GET", "/genstore/api/202412/nothing", 404, func(m map[string]any) bool { _, ok := m["errors"].(string); return ok }},
		{"POST", "/codepay/api/nothing", 404, func(m map[string]any) bool { return m["code"] == "40012" && m["sign"] != nil && m["psn"] != nil }},
		{"GET", "/codepay/api/entry", 405, func(m map[string]any) bool { return m["code"] == "40012" }},
		{"GET", "/vm/v1/nothing", 404, func(m map[string]any) bool { return m["code"] == "NOT_FOUND" && m["traceId"] != nil }},
		{"GET", "/_sim/nothing", 404, func(m map[string]any) bool {
			e, ok := m["error"].(map[string]any)
			return ok && e["code"] == "not_found"
		}},
		{"GET", "/elsewhere", 404, func(m map[string]any) bool { _, ok := m["error"].(map[string]any); return ok }},
	}
	for _, c := range cases {
		r := h.Do(c.method, c.path, nil)
		if r.Status != c.status || !c.check(r.JSON()) {
			t.Errorf("%s %s: %d %s", c.method, c.path, r.Status, r.Body)
		}
	}
	if r := h.Do("GET", "/", nil); r.Status != 200 || r.JSON()["name"] != "pspsim" {
		t.Errorf("index: %d %s", r.Status, r.Body)
	}
}

func TestResetForgetsStateAndReloadsFixtures(t *testing.T) {
	h := simtest.New(t)
	tok := h.VMToken("sandbox")
	auth := []string{"Authorization", "Bearer " + tok}
	if r := h.Do("POST", "/vm/v1/payments/inquiry", map[string]string{"orderNo": "20220828000002"}, auth...); r.Status == 401 {
		t.Fatalf("fresh token refused: %s", r.Body)
	}
	if len(h.Sim.Journal().Query(journalKind("auth.token_issued"))) != 1 {
		t.Fatal("token issue not journaled")
	}
	if r := h.Do("POST", "/_sim/reset", nil); r.Status != 200 {
		t.Fatalf("reset: %d %s", r.Status, r.Body)
	}
	if r := h.Do("POST", "/vm/v1/payments/inquiry", map[string]string{"orderNo": "20220828000002"}, auth...); r.Status != 401 {
		t.Fatalf("token survived reset: %d %s", r.Status, r.Body)
	}
	if len(h.Sim.Journal().Query(journalKind("auth.token_issued"))) != 0 {
		t.Fatal("journal survived reset")
	}
	// Fixtures are back: the fixture app gets a token again.
	h.VMToken("sandbox")
}

func TestEventsAreFilterable(t *testing.T) {
	h := simtest.New(t)
	h.VMToken("sandbox")
	h.VMToken("live")
	h.Do("POST", "/vm/v1/auth/token", map[string]string{"appId": "nobody", "secret": "x"})
	r := h.Do("GET", "/_sim/events?system=vmgateway&kind=auth", nil)
	var out struct {
		Events []struct {
			Kind string
			IDs  map[string]string
			Data map[string]any
		}
		LastSeq int64
	}
	json.Unmarshal(r.Body, &out)
	if r.Status != 200 || len(out.Events) != 3 || out.LastSeq < 3 {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
	r = h.Do("GET", "/_sim/events?appId=nobody", nil)
	json.Unmarshal(r.Body, &out)
	if len(out.Events) != 1 || out.Events[0].Kind != "auth.refused" {
		t.Fatalf("by id: %s", r.Body)
	}
	r = h.Do("GET", "/_sim/events?after=abc", nil)
	if r.Status != 400 {
		t.Fatalf("bad after: %d", r.Status)
	}
}

func TestConfigRefusesUnknownSections(t *testing.T) {
	for _, cfg := range []string{"genstroe: {}\n", ": : :"} {
		if _, err := newSim(cfg); err == nil {
			t.Errorf("config %q accepted", cfg)
		}
	}
}

// seedSample is one vendor sample of specs/testdata/seeds.
type seedSample struct {
	Name    string            `json:"name"`
	Method  string            `json:"method"`
	Path    string            `json:"path"`
	Query   string            `json:"query"`
	Headers map[string]string `json:"headers"`
	Body    json.RawMessage   `json:"body"`
	// Expect is the answer of the documented tables, enforced exactly
	// (--strict, and the spec alone).
	Expect seedExpect `json:"expect"`
	// Default is the answer of the default (faithful) mode; absent for a
	// sample the tables accept (the same answer, no warnings).
	Default *seedExpect `json:"default"`
}

type seedExpect struct {
	OK    bool   `json:"ok"`
	Field string `json:"field"`
	Rule  string `json:"rule"`
	Why   string `json:"why"`
	// Warnings are the tolerated departures, "field/rule" each, in order.
	Warnings []string `json:"warnings"`
}

// TestSeedSamplesReplayAgainstTheServer sends every request sample of the
// vendor seeds to a running simulator, in both modes, authenticated as the
// sandbox fixtures allow. In the default mode each sample is answered as its
// "default" expectation says — accepted (or refused only on business
// grounds, such as an order that does not exist here) with exactly the
// warnings listed, one X-Pspsim-Warning header per departure — or refused
// naming the field a real gateway must refuse. In --strict each departure
// from the tables is refused with the field named, and nothing is warned.
func TestSeedSamplesReplayAgainstTheServer(t *testing.T) {
	files, _ := filepath.Glob("../specs/testdata/seeds/*.json")
	if len(files) < 3 {
		t.Fatalf("seed samples: %v", files)
	}
	for _, mode := range []string{"default", "strict"} {
		for _, file := range files {
			system := strings.TrimSuffix(filepath.Base(file), ".json")
			t.Run(mode+"/"+system, func(t *testing.T) {
				var opts []simtest.Option
				if mode == "strict" {
					opts = append(opts, simtest.Strict())
				}
				replaySeeds(t, simtest.New(t, opts...), system, file, mode)
			})
		}
	}
}

func replaySeeds(t *testing.T, h *simtest.Harness, system, file, mode string) {
	var headers []string
	// CodePay verifies signatures and timestamps: each sample is
	// re-signed with the demo app key, its timestamp taken from the
	// clock, and sign_type NONE samples carry the demo Basic
	// credentials. A sample "ok" for its spec then passes every
	// envelope check; the gateway may still refuse it on business
	// grounds (its order does not exist here), with a signed answer.
	var resign func(body []byte) ([]byte, []string)
	switch system {
	case "genstore":
		headers = []string{"X-Genstore-Access-Token", simtest.GenstoreToken}
	case "vmgateway":
		headers = []string{"Authorization", "Bearer " + h.VMToken("sandbox")}
	case "codepay":
		keyPEM, _ := fixtures.Read("keys/codepay-app-demo.pem")
		key, err := codepay.ParsePrivateKey(keyPEM)
		if err != nil {
			t.Fatal(err)
		}
		resign = func(body []byte) ([]byte, []string) {
			var f map[string]json.RawMessage
			if json.Unmarshal(body, &f) != nil {
				return body, nil
			}
			now := strconv.FormatInt(h.Clock.Now().UnixMilli(), 10)
			if ts, ok := f["timestamp"]; ok {
				if strings.HasPrefix(string(ts), `"`) {
					now = strconv.Quote(now)
				}
				f["timestamp"] = json.RawMessage(now)
			}
			var signType, appID string
			json.Unmarshal(f["sign_type"], &signType)
			json.Unmarshal(f["app_id"], &appID)
			if signType == "NONE" {
				b, _ := json.Marshal(f)
				return b, []string{"Authorization", "Basic " + base64.StdEncoding.EncodeToString([]byte(appID+":demo-basic-password"))}
			}
			delete(f, "sign")
			b, _ := json.Marshal(f)
			sign, err := codepay.Sign(key, b)
			if err != nil {
				t.Fatal(err)
			}
			f["sign"], _ = json.Marshal(sign)
			b, _ = json.Marshal(f)
			return b, nil
		}
	}
	gatewayPEM, _ := fixtures.Read("keys/codepay-gateway.pub.pem")
	gatewayPub, _ := codepay.ParsePublicKey(gatewayPEM)
	raw, _ := os.ReadFile(file)
	var samples []seedSample
	if err := json.Unmarshal(raw, &samples); err != nil {
		t.Fatal(err)
	}
	for _, s := range samples {
		t.Run(s.Name, func(t *testing.T) {
			want := s.Expect
			if mode == "default" {
				switch {
				case s.Default != nil:
					want = *s.Default
				case !s.Expect.OK:
					t.Fatalf("a sample the tables refuse must say what the default mode answers (\"default\")")
				}
			}
			path := s.Path
			if s.Query != "" {
				path += "?" + s.Query
			}
			var body any
			// A sample's own headers (its {access_token}) win over the system's.
			hdrs := append([]string(nil), headers...)
			for k, v := range s.Headers {
				hdrs = append(hdrs, k, v)
			}
			if len(s.Body) > 0 {
				body = []byte(s.Body)
				if resign != nil {
					b, extra := resign(s.Body)
					body, hdrs = b, append(hdrs, extra...)
				}
			}
			r := h.Do(s.Method, path, body, hdrs...)
			if system == "codepay" {
				if err := codepay.Verify(gatewayPub, r.Body); err != nil {
					t.Fatalf("answer not signed by the gateway: %v: %s", err, r.Body)
				}
			}
			var got []string
			for _, v := range r.Header.Values(openapi.WarningHeader) {
				field, rest, _ := strings.Cut(v, ": ")
				rule, _, _ := strings.Cut(rest, " ")
				got = append(got, field+"/"+rule)
			}
			if fmt.Sprint(got) != fmt.Sprint(want.Warnings) && !(len(got) == 0 && len(want.Warnings) == 0) {
				t.Errorf("warnings %q, want %q (%s)", got, want.Warnings, r.Header.Values(openapi.WarningHeader))
			}
			if want.OK {
				code, _ := r.JSON()["code"].(string)
				business := map[string]bool{codepay.CodeDuplicateOrder: true, codepay.CodeOrderNotFound: true, codepay.CodeStatusForbids: true,
					codepay.CodeTerminalOffline: true, codepay.CodeAmountExceeds: true, codepay.CodeRefundLimit: true}
				// The card gateway answers a business refusal (no such
				// payment here, a state that forbids it, a stored credential
				// of another merchant) with 404, 409 or 422.
				gatewayBusiness := system == "vmgateway" && (r.Status == http.StatusNotFound || r.Status == http.StatusConflict ||
					r.Status == http.StatusUnprocessableEntity)
				if (r.Status/100 != 2 && !gatewayBusiness) || (dialectError(system, r) != "" && !(system == "codepay" && business[code]) && !gatewayBusiness) {
					t.Fatalf("sample refused: %d %s", r.Status, r.Body)
				}
				return
			}
			msg := dialectError(system, r)
			if msg == "" || !strings.Contains(msg, want.Field) {
				t.Fatalf("want an error naming %s (%s), got %d %s", want.Field, want.Rule, r.Status, r.Body)
			}
		})
	}
}

// dialectError returns the error message of an answer in the system's
// dialect, or "" when the answer is a success.
func dialectError(system string, r simtest.Response) string {
	m := r.JSON()
	switch system {
	case "genstore":
		if s, ok := m["errors"].(string); ok {
			return s
		}
	case "codepay":
		if m["code"] != "0" {
			return fmt.Sprint(m["code"], " ", m["msg"])
		}
	case "vmgateway":
		if r.Status >= 400 {
			return fmt.Sprint(m["code"], " ", m["field"], " ", m["message"])
		}
	}
	return ""
}

// requestExample returns a request example of an operation from the spec the
// simulator serves (the named one, or the only one).
func requestExample(t *testing.T, h *simtest.Harness, system, path, method, name string) map[string]any {
	t.Helper()
	doc := h.Sim.Mount(system).Doc()
	op := doc.Paths.Value(path).GetOperation(strings.ToUpper(method))
	mt := op.RequestBody.Value.Content.Get("application/json")
	var v any
	switch {
	case name != "" && mt.Examples[name] != nil:
		v = mt.Examples[name].Value.Value
	case mt.Example != nil:
		v = mt.Example
	default:
		for _, e := range mt.Examples {
			v = e.Value.Value
			break
		}
	}
	b, _ := json.Marshal(v)
	var m map[string]any
	json.Unmarshal(b, &m)
	if m == nil {
		t.Fatalf("%s %s %s: no request example %q", system, method, path, name)
	}
	return m
}

func set(m map[string]any, path string, v any) map[string]any {
	parts := strings.Split(path, ".")
	cur := m
	for _, p := range parts[:len(parts)-1] {
		cur = cur[p].(map[string]any)
	}
	if v == nil {
		delete(cur, parts[len(parts)-1])
	} else {
		cur[parts[len(parts)-1]] = v
	}
	return m
}

func clone(m map[string]any) map[string]any {
	b, _ := json.Marshal(m)
	var out map[string]any
	json.Unmarshal(b, &out)
	return out
}

type fieldCase struct {
	name  string
	field string // dotted; the value at it is replaced
	value any    // nil removes the field
	code  string // the dialect's code (or HTTP status for Genstore)
}

// TestFieldErrorsInEachDialect breaks one rule of a valid request at a time —
// a missing required field, a wrong type, an over-long string, a bad enum, a
// bad amount — and checks each system's own error names the field.
func TestFieldErrorsInEachDialect(t *testing.T) {
	h := simtest.New(t)
	long := strings.Repeat("x", 300)

	t.Run("genstore", func(t *testing.T) {
		// Genstore's callbacks carry no amount (amounts travel from Genstore to the
		// app, see genstore-app.yaml), so there is no bad-amount row here.
		base := map[string]any{"pay": map[string]any{"result": "true", "paymentId": "PI00202510281513381", "channelPaymentId": "2025102815"}}
		for _, c := range []fieldCase{
			{"missing required", "pay.result", nil, "422"},
			{"wrong type", "pay.paymentId", 12, "422"},
			{"over-long", "pay.channelPaymentId", long, "422"},
			{"bad enum", "pay.result", "maybe", "422"},
		} {
			t.Run(c.name, func(t *testing.T) {
				r := h.Do("PUT", "/genstore/api/202412/app/payment/PI00202510281513381", set(clone(base), c.field, c.value), "X-Genstore-Access-Token", simtest.GenstoreToken)
				msg, _ := r.JSON()["errors"].(string)
				if fmt.Sprint(r.Status) != c.code || !strings.Contains(msg, c.field) {
					t.Fatalf("%d %s", r.Status, r.Body)
				}
			})
		}
	})

	t.Run("codepay", func(t *testing.T) {
		// Each request is signed like a real client's (demo app key, the
		// clock's timestamp), so the rules checked after the signature —
		// the currency's decimals — are reached too.
		base := requestExample(t, h, "codepay", "/api/entry", "post", "wisehub.cloud.pay.order")
		base["merchant_no"], base["app_id"], base["terminal_sn"] = "302100041048", "wz9f2a175d0e0ef632", "WPYB001234567890"
		keyPEM, _ := fixtures.Read("keys/codepay-app-demo.pem")
		key, _ := codepay.ParsePrivateKey(keyPEM)
		sign := func(m map[string]any) []byte {
			m["timestamp"] = strconv.FormatInt(h.Clock.Now().UnixMilli(), 10)
			delete(m, "sign")
			b, _ := json.Marshal(m)
			m["sign"], _ = codepay.Sign(key, b)
			b, _ = json.Marshal(m)
			return b
		}
		for _, c := range []fieldCase{
			{"missing required", "merchant_no", nil, "40001"},
			{"wrong type", "trans_type", "sale", "40002"},
			{"over-long", "description", long, "40002"},
			{"bad enum", "trans_type", 99, "40002"},
			{"bad amount", "order_amount", -5, "40002"},
			// "10.00" as text is tolerated by default (number-as-string,
			// TestDeparturesAreWarnedByDefaultAndRefusedWhenStrict); words are not.
			{"amount as words", "order_amount", "ten", "40002"},
			{"more decimals than the currency", "order_amount", json.Number("10.001"), "40002"},
			{"exponent amount", "tip_amount", json.Number("1e1"), "40002"},
		} {
			t.Run(c.name, func(t *testing.T) {
				r := h.Do("POST", "/codepay/api/entry", sign(set(clone(base), c.field, c.value)))
				m := r.JSON()
				msg, _ := m["msg"].(string)
				if r.Status != 200 || m["code"] != c.code || !strings.Contains(msg, c.field) || m["sign"] == nil {
					t.Fatalf("%d %s", r.Status, r.Body)
				}
			})
		}
	})

	t.Run("vmgateway", func(t *testing.T) {
		tok := h.VMToken("sandbox")
		base := requestExample(t, h, "vmgateway", "/v1/payments", "post", "")
		for _, c := range []fieldCase{
			{"missing required", "orderNo", nil, "PARAMETER_MISSING"},
			{"wrong type", "amount", 12.5, "PARAMETER_INVALID"},
			{"over-long", "description", long, "PARAMETER_INVALID"},
			{"bad enum", "paymentMethodType", "cheque", "PARAMETER_INVALID"},
			{"bad amount", "amount", "1e3", "PARAMETER_INVALID"},
			{"negative amount", "amount", "-1.00", "PARAMETER_INVALID"},
		} {
			t.Run(c.name, func(t *testing.T) {
				r := h.Do("POST", "/vm/v1/payments", set(clone(base), c.field, c.value), "Authorization", "Bearer "+tok)
				m := r.JSON()
				if r.Status != 400 || m["code"] != c.code || m["field"] != c.field {
					t.Fatalf("%d %s", r.Status, r.Body)
				}
			})
		}
	})

	t.Run("admin", func(t *testing.T) {
		r := h.Do("POST", "/_sim/clock/advance", map[string]any{"by": 5})
		e, _ := r.JSON()["error"].(map[string]any)
		if r.Status != 400 || e["field"] != "by" || e["code"] != "invalid" {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
	})
}

func TestAuthenticationIsReal(t *testing.T) {
	h := simtest.New(t)
	cb := map[string]any{"pay": map[string]any{"result": "true", "paymentId": "PI1"}}
	for _, c := range []struct {
		name   string
		token  string
		status int
	}{
		{"no token", "", 401},
		{"unknown token", "gst_nobody", 401},
	} {
		r := h.Do("PUT", "/genstore/api/202412/app/payment/PI1", cb, "X-Genstore-Access-Token", c.token)
		if r.Status != c.status {
			t.Errorf("genstore %s: %d %s", c.name, r.Status, r.Body)
		}
	}
	// The card gateway: bad secret, expired token.
	if r := h.Do("POST", "/vm/v1/auth/token", map[string]string{"appId": "086666075137001", "secret": "wrong"}); r.Status != 401 || r.JSON()["code"] != "UNAUTHORIZED" {
		t.Errorf("bad secret: %d %s", r.Status, r.Body)
	}
	tok := h.VMToken("live")
	body := map[string]string{"orderNo": "20220828000002"}
	if r := h.Do("POST", "/vm/v1/payments/inquiry", body, "Authorization", "Bearer "+tok); r.Status == 401 {
		t.Fatalf("fresh token refused: %s", r.Body)
	}
	h.Advance(2*time.Hour + time.Second)
	if r := h.Do("POST", "/vm/v1/payments/inquiry", body, "Authorization", "Bearer "+tok); r.Status != 401 || !strings.Contains(string(r.Body), "expired") {
		t.Fatalf("expired token: %d %s", r.Status, r.Body)
	}
}

func TestNoCardNumberReachesTheJournal(t *testing.T) {
	h := simtest.New(t)
	// A card number where an app id belongs is journaled (auth.refused), masked.
	h.Do("POST", "/vm/v1/auth/token", map[string]string{"appId": "4000123456000019", "secret": "x"})
	r := h.Do("GET", "/_sim/events", nil)
	if strings.Contains(string(r.Body), "4000123456000019") || !strings.Contains(string(r.Body), "400012******0019") {
		t.Fatalf("journal: %s", r.Body)
	}
}
