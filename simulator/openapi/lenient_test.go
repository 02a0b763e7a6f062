package openapi_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/pspsim/pspsim/simulator/openapi"
)

// lenientMount serves testdata/lenient.yaml; the handler echoes the body it
// sees, and ws collects what OnWarnings heard.
func lenientMount(t testing.TB, strict bool, ws *[]openapi.Warning) *openapi.Mount {
	t.Helper()
	doc, err := openapi.Load(context.Background(), os.DirFS("testdata"), "lenient.yaml", "/l", false)
	if err != nil {
		t.Fatal(err)
	}
	m, err := openapi.New(openapi.Config{System: "shop", Prefix: "/l", Doc: doc, Dialect: testDialect, Strict: strict,
		OnWarnings: func(_ *http.Request, _ *openapi.Request, got []openapi.Warning) { *ws = append(*ws, got...) }})
	if err != nil {
		t.Fatal(err)
	}
	m.HandleFunc("pay", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if string(b) != string(openapi.FromContext(r.Context()).Body) {
			t.Errorf("r.Body and Request.Body differ: %s / %s", b, openapi.FromContext(r.Context()).Body)
		}
		w.Write(b)
	})
	return m
}

func post(m http.Handler, body string) *httptest.ResponseRecorder {
	req := httptest.NewRequest("POST", "/l/pay", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	m.ServeHTTP(rec, req)
	return rec
}

// TestEachLeniencyClassIsWarnedNormalisedOrRefused sends one departure of
// each class the spec tolerates: by default it is answered with one
// X-Pspsim-Warning per departure and the handler sees the normalised body;
// in strict mode it is refused naming the field; what the spec does not
// tolerate is refused in both.
func TestEachLeniencyClassIsWarnedNormalisedOrRefused(t *testing.T) {
	cases := []struct {
		name, body string
		warnings   []string // field/class
		handler    string   // the body the handler sees
		refused    string   // the field refused in the default mode too
	}{
		{"valid", `{"orderNo":"A0001","amount":12.5,"currency":"USD"}`, nil, `{"orderNo":"A0001","amount":12.5,"currency":"USD"}`, ""},
		{"unknown field", `{"orderNo":"A0001","amount":2,"currency":"USD","extra":{"x":1}}`, []string{"extra/unknown-field"}, `{"orderNo":"A0001","amount":2,"currency":"USD"}`, ""},
		{"empty optional", `{"orderNo":"A0001","amount":2,"currency":"USD","ref":""}`, []string{"ref/empty-as-absent"}, `{"orderNo":"A0001","amount":2,"currency":"USD"}`, ""},
		{"enum case", `{"orderNo":"A0001","amount":2,"currency":"USD","mode":"MANUAL"}`, []string{"mode/enum-case"}, `{"orderNo":"A0001","amount":2,"currency":"USD","mode":"manual"}`, ""},
		{"enum case inside oneOf", `{"orderNo":"A0001","amount":2,"currency":"USD","flag":"True"}`, []string{"flag/enum-case"}, `{"orderNo":"A0001","amount":2,"currency":"USD","flag":"true"}`, ""},
		{"number as text", `{"orderNo":"A0001","amount":"12.50","currency":"USD"}`, []string{"amount/number-as-string"}, `{"orderNo":"A0001","amount":12.50,"currency":"USD"}`, ""},
		{"object as text", `{"orderNo":"A0001","amount":2,"currency":"USD","meta":"{\"k\":\"v\"}"}`, []string{"meta/object-as-string"}, `{"orderNo":"A0001","amount":2,"currency":"USD","meta":{"k":"v"}}`, ""},
		{"placeholder object", `{"orderNo":"A0001","amount":2,"currency":"USD","meta":"K-V"}`, []string{"meta/object-as-string"}, `{"orderNo":"A0001","amount":2,"currency":"USD"}`, ""},
		{"pspsim's pattern", `{"orderNo":"A0001","amount":2,"currency":"USD","url":"string"}`, []string{"url/pattern"}, `{"orderNo":"A0001","amount":2,"currency":"USD","url":"string"}`, ""},
		{"optional required", `{"orderNo":"A0001","amount":2}`, []string{"currency/optional"}, `{"orderNo":"A0001","amount":2}`, ""},
		{"alias", `{"orderNo":"A0001","total":3,"currency":"USD"}`, []string{"amount/alias", "total/alias"}, `{"orderNo":"A0001","amount":3,"currency":"USD"}`, ""},
		{"number as text below the minimum", `{"orderNo":"A0001","amount":"0.50","currency":"USD"}`, []string{"amount/number-as-string"}, "", "amount"},
		{"text that is no number", `{"orderNo":"A0001","amount":"ten","currency":"USD"}`, nil, "", "amount"},
		{"enum that is no case of one", `{"orderNo":"A0001","amount":2,"currency":"USD","mode":"sometimes"}`, nil, "", "mode"},
		{"empty required", `{"orderNo":"","amount":2,"currency":"USD"}`, nil, "", "orderNo"},
		{"tolerated and refused together", `{"orderNo":"A1","amount":2,"currency":"USD","extra":1}`, []string{"extra/unknown-field"}, "", "orderNo"},
	}
	for _, c := range cases {
		t.Run("default/"+c.name, func(t *testing.T) {
			var heard []openapi.Warning
			rec := post(lenientMount(t, false, &heard), c.body)
			var got, journaled []string
			for _, v := range rec.Header().Values(openapi.WarningHeader) {
				field, rest, _ := strings.Cut(v, ": ")
				_, class, _ := strings.Cut(rest, "(")
				class, _, _ = strings.Cut(class, ")")
				got = append(got, field+"/"+class)
			}
			for _, w := range heard {
				journaled = append(journaled, w.Field+"/"+w.Class)
			}
			if !slices.Equal(got, c.warnings) || !slices.Equal(journaled, c.warnings) {
				t.Errorf("warnings %q, heard %q, want %q", got, journaled, c.warnings)
			}
			if c.refused != "" {
				if rec.Code != 400 || !strings.Contains(rec.Body.String(), `"field":"`+c.refused+`"`) {
					t.Fatalf("want a refusal naming %s: %d %s", c.refused, rec.Code, rec.Body)
				}
				return
			}
			if rec.Code != 200 || rec.Body.String() != c.handler {
				t.Fatalf("the handler saw %s (%d), want %s", rec.Body, rec.Code, c.handler)
			}
		})
		t.Run("strict/"+c.name, func(t *testing.T) {
			var heard []openapi.Warning
			rec := post(lenientMount(t, true, &heard), c.body)
			if len(heard) > 0 || len(rec.Header().Values(openapi.WarningHeader)) > 0 {
				t.Fatalf("strict mode warned: %q", rec.Header().Values(openapi.WarningHeader))
			}
			if c.warnings == nil && c.refused == "" {
				if rec.Code != 200 || rec.Body.String() != c.body {
					t.Fatalf("a valid request: %d %s", rec.Code, rec.Body)
				}
				return
			}
			if rec.Code != 400 {
				t.Fatalf("strict mode accepted a departure: %d %s", rec.Code, rec.Body)
			}
			if c.refused == "" && !strings.Contains(rec.Body.String(), "--strict refuses it") {
				t.Errorf("the refusal does not say the default mode would tolerate it: %s", rec.Body)
			}
		})
	}
}

// TestLenienceTheValidatorCannotHonourFailsTheLoad: a spec cannot believe
// it tolerates something the validator does not do.
func TestLenienceTheValidatorCannotHonourFailsTheLoad(t *testing.T) {
	base, err := os.ReadFile("testdata/lenient.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]struct{ from, to, want string }{
		"unknown class":       {"empty-as-absent: an", "be-kind: an", `unknown class "be-kind"`},
		"class without why":   {"enum-case: codes in another case name the documented one", "enum-case: ''", "enum-case needs the reason"},
		"optional not needed": {"currency: the sample omits it", "mode: not required anyway", `optional "mode" is not a required member`},
		"alias to nothing":    {"total: {field: amount,", "total: {field: price,", `alias "total" must name`},
		"alias on the doc":    {"  unknown-field: the shop", "  alias: {}\n  unknown-field: the shop", "optional and alias belong on an object schema"},
	} {
		t.Run(name, func(t *testing.T) {
			src := strings.Replace(string(base), c.from, c.to, 1)
			if src == string(base) {
				t.Fatalf("the test's edit %q does not apply", c.from)
			}
			doc, err := openapi3.NewLoader().LoadFromData([]byte(src))
			if err != nil {
				t.Fatal(err)
			}
			_, err = openapi.New(openapi.Config{System: "shop", Prefix: "/l", Doc: doc, Dialect: testDialect})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("want a load error with %q, got %v", c.want, err)
			}
		})
	}
}

func BenchmarkMountToleratedRequest(b *testing.B) {
	var heard []openapi.Warning
	m := lenientMount(b, false, &heard)
	body := `{"orderNo":"A0001","amount":"12.50","currency":"USD","mode":"MANUAL","extra":1}`
	for b.Loop() {
		heard = heard[:0]
		if rec := post(m, body); rec.Code != 200 {
			b.Fatal(rec.Code, rec.Body.String())
		}
	}
}

// TestBodyJSONSaysTheBodyParsedAsSent: a body the validator parsed as it is
// is said to be JSON (the journal then takes its view without checking it
// again); a normalised one is not, though it is JSON too: the parse was of
// the body as sent.
func TestBodyJSONSaysTheBodyParsedAsSent(t *testing.T) {
	for _, c := range []struct {
		body string
		want bool
	}{
		{`{"orderNo":"A0001","amount":12.5,"currency":"USD"}`, true},
		{` {"orderNo":"A0001","amount":12.5,"currency":"USD"}` + "\n", true},
		{`{"orderNo":"A0001","amount":2,"currency":"USD","extra":{"x":1}}`, false},
		{`{"orderNo":"A0001","amount":"12.50","currency":"USD"}`, false},
	} {
		var ws []openapi.Warning
		m := lenientMount(t, false, &ws)
		var got, seen bool
		var body []byte
		m.HandleFunc("pay", func(w http.ResponseWriter, r *http.Request) {
			req := openapi.FromContext(r.Context())
			got, seen, body = req.BodyJSON(), true, req.Body
		})
		post(m, c.body)
		if !seen || got != c.want {
			t.Errorf("%s: BodyJSON %v (handler ran: %v), want %v", c.body, got, seen, c.want)
		}
		if got && !json.Valid(body) {
			t.Errorf("%s: BodyJSON for a body that is not JSON: %s", c.body, body)
		}
	}
}
