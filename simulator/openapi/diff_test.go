package openapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/pspsim/pspsim/simulator/apierr"
	"github.com/pspsim/pspsim/simulator/openapi/schema"
	"github.com/pspsim/pspsim/specs"
)

// The differential test holds the compiled validator (request.go, package
// schema) to kin-openapi's answers: for every operation of every served
// spec, every example, every seed sample and thousands of generated
// variants and mutations, both must produce the same error — kind, field,
// rule, message and every listed violation. The only differences allowed
// are the ones the compiled validator exists to make: a body that is not
// JSON says why (kin-openapi's reason was empty), and text kin-openapi would
// silently alter or ignore (invalid UTF-8, trailing data) is refused; those
// have tests of their own.

var diffMounts = map[string]string{
	"genstore.yaml": "/genstore", "codepay.yaml": "/codepay", "vmgateway.yaml": "/vm", "admin.yaml": "/_sim",
}

type diffSpec struct {
	name   string
	doc    *openapi3.T
	router routers.Router
	opts   *openapi3filter.Options
	checks map[*openapi3.Operation]*requestCheck
	seen   map[string]int // rules kin-openapi reported, to judge the test's reach
}

func loadDiffSpecs(t testing.TB) []*diffSpec {
	t.Helper()
	var out []*diffSpec
	names := make([]string, 0, len(diffMounts))
	for n := range diffMounts {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		doc, err := Load(context.Background(), specs.FS(), name, diffMounts[name], false)
		if err != nil {
			t.Fatal(err)
		}
		router, err := gorillamux.NewRouter(doc)
		if err != nil {
			t.Fatal(err)
		}
		ds := &diffSpec{name: name, doc: doc, router: router, checks: map[*openapi3.Operation]*requestCheck{},
			opts: &openapi3filter.Options{MultiError: true, SkipSettingDefaults: true,
				SchemaValidationOptions: []openapi3.SchemaValidationOption{
					openapi3.WithStringFormatValidators(Formats()), openapi3.DisableSchemaErrorDetails(),
				}}}
		compiler := schema.NewCompiler(Formats())
		for _, p := range doc.Paths.InMatchingOrder() {
			item := doc.Paths.Value(p)
			for _, op := range item.Operations() {
				rc, err := compileRequest(doc, item, op, compiler)
				if err != nil {
					t.Fatalf("%s %s: %v", name, p, err)
				}
				ds.checks[op] = rc
			}
		}
		out = append(out, ds)
	}
	return out
}

// kinAnswer is what the mount answered before the compiled validator: the
// error kin-openapi's ValidateRequest led to.
func kinAnswer(ds *diffSpec, r *http.Request, route *routers.Route, params map[string]string, auth openapi3filter.AuthenticationFunc) *apierr.Error {
	opts := *ds.opts
	opts.AuthenticationFunc = auth
	err := openapi3filter.ValidateRequest(context.Background(), &openapi3filter.RequestValidationInput{Request: r, PathParams: params, Route: route, Options: &opts})
	if err == nil {
		return nil
	}
	if a := authError(err); a != nil {
		return a
	}
	return violationsError(Violations(err))
}

type diffCase struct {
	method, path, query, contentType string
	body                             []byte
}

// compare runs one request through both validators.
func (ds *diffSpec) compare(t *testing.T, c diffCase, auth openapi3filter.AuthenticationFunc) bool {
	t.Helper()
	target := c.path
	if c.query != "" {
		target += "?" + c.query
	}
	newReq := func() *http.Request {
		r, _ := http.NewRequest(c.method, target, bytes.NewReader(c.body))
		if c.contentType != "" {
			r.Header.Set("Content-Type", c.contentType)
		}
		return r
	}
	r := newReq()
	route, params, err := ds.router.FindRoute(r)
	if err != nil {
		t.Errorf("%s: no route for %s %s: %v", ds.name, c.method, target, err)
		return false
	}
	want := kinAnswer(ds, r, route, params, auth)
	if want != nil && ds.seen != nil {
		for _, d := range want.Details {
			ds.seen[d.Rule]++
		}
	}
	r = newReq()
	doc, got := ds.checks[route.Operation].check(context.Background(), checkInput{r: r, route: route, params: params, body: c.body, auth: auth})
	ds.checks[route.Operation].docs.put(doc)
	if sameAnswer(want, got) {
		return true
	}
	t.Errorf("%s %s %s\nbody: %s\nkin-openapi: %s\ncompiled:    %s", ds.name, c.method, target, clipBody(c.body), describe(want), describe(got))
	return false
}

func clipBody(b []byte) string {
	if len(b) > 400 {
		return string(b[:400]) + "…"
	}
	return string(b)
}

func describe(e *apierr.Error) string {
	if e == nil {
		return "valid"
	}
	d, _ := json.Marshal(e.Details)
	return fmt.Sprintf("%s field=%q rule=%q message=%q details=%s", e.Kind, e.Field, e.Rule, e.Message, d)
}

// sameAnswer compares two answers. A body that is not JSON differs only in
// the reason, which kin-openapi left empty.
func sameAnswer(want, got *apierr.Error) bool {
	if want == nil || got == nil {
		return want == got
	}
	if want.Rule == "parse" && got.Rule == "parse" && want.Field == got.Field && want.Kind == got.Kind && len(want.Details) == len(got.Details) {
		return true
	}
	return want.Kind == got.Kind && want.Field == got.Field && want.Rule == got.Rule && want.Message == got.Message &&
		reflect.DeepEqual(want.Details, got.Details)
}

func allow(context.Context, *openapi3filter.AuthenticationInput) error { return nil }

// operationCases lists, for every operation, a request built from each of
// its examples (or from its schema when it has none).
type opCase struct {
	ds     *diffSpec
	method string
	path   string // concrete: path parameters filled in
	op     *openapi3.Operation
	bodies []any // decoded (json.Number) example bodies
}

func operationCases(t testing.TB, all []*diffSpec) []opCase {
	var out []opCase
	for _, ds := range all {
		for _, p := range ds.doc.Paths.InMatchingOrder() {
			item := ds.doc.Paths.Value(p)
			for method, op := range item.Operations() {
				oc := opCase{ds: ds, method: method, op: op, path: diffMounts[ds.name] + fillPath(p, item, op)}
				if op.RequestBody != nil {
					if mt := op.RequestBody.Value.Content.Get("application/json"); mt != nil && mt.Schema != nil {
						for _, ex := range examplesOf(mt) {
							oc.bodies = append(oc.bodies, renumber(ex))
						}
						oc.bodies = append(oc.bodies, generate(mt.Schema.Value, 0, rand.New(rand.NewPCG(1, 2))))
					}
				}
				out = append(out, oc)
			}
		}
	}
	return out
}

func examplesOf(mt *openapi3.MediaType) []any {
	var out []any
	if mt.Example != nil {
		out = append(out, mt.Example)
	}
	names := make([]string, 0, len(mt.Examples))
	for n := range mt.Examples {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if e := mt.Examples[n]; e != nil && e.Value != nil && e.Value.Value != nil {
			out = append(out, e.Value.Value)
		}
	}
	if mt.Schema != nil && mt.Schema.Value != nil && mt.Schema.Value.Example != nil {
		out = append(out, mt.Schema.Value.Example)
	}
	return out
}

// renumber round-trips an example through JSON with UseNumber, the way a
// request body is decoded.
func renumber(v any) any {
	b, _ := json.Marshal(v)
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var out any
	dec.Decode(&out)
	return out
}

// fillPath substitutes each path parameter with its example, or a value its
// schema accepts as far as a simple guess goes.
func fillPath(p string, item *openapi3.PathItem, op *openapi3.Operation) string {
	params := append(openapi3.Parameters{}, item.Parameters...)
	params = append(params, op.Parameters...)
	for _, ref := range params {
		prm := ref.Value
		if prm.In != "path" {
			continue
		}
		v := "x1"
		switch {
		case prm.Example != nil:
			v = fmt.Sprint(prm.Example)
		case prm.Schema != nil && prm.Schema.Value.Example != nil:
			v = fmt.Sprint(prm.Schema.Value.Example)
		case prm.Schema != nil && len(prm.Schema.Value.Enum) > 0:
			v = fmt.Sprint(prm.Schema.Value.Enum[0])
		}
		p = strings.ReplaceAll(p, "{"+prm.Name+"}", url.PathEscape(v))
	}
	return p
}

// generate builds a value for s: examples and enums where the spec has
// them, plausible values otherwise. It need not be valid: both validators
// judge it.
func generate(s *openapi3.Schema, depth int, rnd *rand.Rand) any {
	if s == nil || depth > 6 {
		return nil
	}
	if s.Example != nil {
		return renumber(s.Example)
	}
	if len(s.Enum) > 0 {
		return renumber(s.Enum[rnd.IntN(len(s.Enum))])
	}
	if len(s.AllOf) > 0 {
		merged := map[string]any{}
		for _, part := range s.AllOf {
			if m, ok := generate(part.Value, depth+1, rnd).(map[string]any); ok {
				for k, v := range m {
					merged[k] = v
				}
			}
		}
		return merged
	}
	if len(s.OneOf) > 0 {
		return generate(s.OneOf[rnd.IntN(len(s.OneOf))].Value, depth+1, rnd)
	}
	if len(s.AnyOf) > 0 {
		return generate(s.AnyOf[rnd.IntN(len(s.AnyOf))].Value, depth+1, rnd)
	}
	switch {
	case s.Type.Is("object") || len(s.Properties) > 0:
		out := map[string]any{}
		for name, p := range s.Properties {
			if contains(s.Required, name) || rnd.IntN(2) == 0 {
				out[name] = generate(p.Value, depth+1, rnd)
			}
		}
		return out
	case s.Type.Is("array"):
		n := 1 + rnd.IntN(2)
		out := make([]any, n)
		for i := range out {
			if s.Items != nil {
				out[i] = generate(s.Items.Value, depth+1, rnd)
			}
		}
		return out
	case s.Type.Is("integer"):
		return json.Number(fmt.Sprint(rnd.IntN(100)))
	case s.Type.Is("number"):
		return json.Number("12.34")
	case s.Type.Is("boolean"):
		return true
	case s.Type.Is("string"):
		switch s.Format {
		case "date-time":
			return "2026-11-22T10:00:00Z"
		case "date":
			return "2026-11-22"
		case "uuid":
			return "123e4567-e89b-12d3-a456-426614174000"
		case "email":
			return "ada@example.com"
		case "uri":
			return "https://example.com/x"
		}
		n := int(s.MinLength)
		if n == 0 {
			n = 3
		}
		return strings.Repeat("1", n)
	}
	return "x"
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// mutations derives invalid and odd variants of a body: each field removed,
// nulled, given another type, too long, too short, an unknown field beside
// it, and a few whole-body oddities.
func mutations(body any, rnd *rand.Rand) []any {
	var out []any
	var walk func(path []any)
	walk = func(path []any) {
		cur := getPath(body, path)
		switch x := cur.(type) {
		case map[string]any:
			keys := make([]string, 0, len(x))
			for k := range x {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			out = append(out, setPath(body, append(path, "zzUnknown"), "u"))
			for _, k := range keys {
				p := append(append([]any(nil), path...), k)
				out = append(out, deletePath(body, p))
				walk(p)
			}
		case []any:
			out = append(out, setPath(body, path, []any{}))
			out = append(out, setPath(body, path, append(append([]any(nil), x...), x...)))
			if len(x) > 0 {
				long := make([]any, 120)
				for i := range long {
					long[i] = x[0]
				}
				out = append(out, setPath(body, path, long))
			}
			for i := range x {
				walk(append(append([]any(nil), path...), i))
			}
		}
		if len(path) == 0 {
			return
		}
		for _, v := range []any{nil, true, json.Number("7"), json.Number("7.5"), json.Number("-1"), json.Number("1e3"), json.Number("99999999999"),
			"", "x", strings.Repeat("9", 300), "2026-11-22T10:00:00Z", "not-a-date", map[string]any{}, []any{}, []any{"a"}} {
			if rnd.IntN(3) == 0 {
				continue
			}
			out = append(out, setPath(body, path, v))
		}
		if s, ok := cur.(string); ok {
			out = append(out, setPath(body, path, s+s), setPath(body, path, strings.ToLower(s)), setPath(body, path, s+"é"))
			if len(s) > 1 {
				out = append(out, setPath(body, path, s[:1]))
			}
		}
	}
	walk(nil)
	out = append(out, "a string body", json.Number("1"), []any{body}, nil)
	return out
}

func clone(v any) any {
	switch x := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = clone(e)
		}
		return m
	case []any:
		s := make([]any, len(x))
		for i, e := range x {
			s[i] = clone(e)
		}
		return s
	}
	return v
}

func getPath(v any, path []any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			v = v.(map[string]any)[k]
		case int:
			v = v.([]any)[k]
		}
	}
	return v
}

func setPath(root any, path []any, val any) any {
	root = clone(root)
	if len(path) == 0 {
		return val
	}
	parent := getPath(root, path[:len(path)-1])
	switch k := path[len(path)-1].(type) {
	case string:
		if m, ok := parent.(map[string]any); ok {
			m[k] = val
		}
	case int:
		parent.([]any)[k] = val
	}
	return root
}

func deletePath(root any, path []any) any {
	root = clone(root)
	parent := getPath(root, path[:len(path)-1])
	if m, ok := parent.(map[string]any); ok {
		delete(m, path[len(path)-1].(string))
	}
	return root
}

func TestCompiledValidatorMatchesKinOpenAPI(t *testing.T) {
	all := loadDiffSpecs(t)
	seen := map[string]int{}
	for _, ds := range all {
		ds.seen = seen
	}
	rnd := rand.New(rand.NewPCG(7, 11))
	n, failed := 0, 0
	for _, oc := range operationCases(t, all) {
		check := func(c diffCase) {
			n++
			if !oc.ds.compare(t, c, allow) {
				failed++
			}
			if failed > 20 {
				t.FailNow()
			}
		}
		base := diffCase{method: oc.method, path: oc.path}
		if len(oc.bodies) == 0 {
			check(base)
			continue
		}
		for _, body := range oc.bodies {
			variants := []any{body}
			if !testing.Short() || rnd.IntN(4) == 0 {
				variants = append(variants, mutations(body, rnd)...)
			}
			for _, v := range variants {
				b, _ := json.Marshal(v)
				c := base
				c.body, c.contentType = b, "application/json"
				check(c)
			}
			// Transport-level variants of the example itself.
			b, _ := json.Marshal(body)
			for _, c := range []diffCase{
				{contentType: "application/json; charset=utf-8", body: b},
				{contentType: "text/plain", body: b},
				{contentType: "", body: b},
				{contentType: "application/json"},
				{contentType: "application/json", body: []byte("   ")},
				{contentType: "application/json", body: b[:len(b)/2]},
				{contentType: "application/json", body: duplicateFirstKey(b)},
			} {
				c.method, c.path = oc.method, oc.path
				check(c)
			}
		}
	}
	t.Logf("%d requests compared; rules met: %v", n, seen)
	// The variants must reach every rule the specs use, or the comparison
	// proves less than it claims.
	for _, rule := range []string{"required", "type", "maxLength", "minLength", "pattern", "enum", "format", "additionalProperties",
		"oneOf", "discriminator", "minimum", "maximum", "maxItems", "minItems", "maxProperties", "nullable", "uniqueItems", "exclusiveMinimum", "parse", "content-type", "invalid"} {
		if seen[rule] == 0 {
			t.Errorf("no variant broke rule %s", rule)
		}
	}
}

// duplicateFirstKey repeats the first member of an object body with a
// different value: the last one counts, for both validators.
func duplicateFirstKey(b []byte) []byte {
	if len(b) < 2 || b[0] != '{' || b[1] != '"' {
		return b
	}
	key, _, _ := strings.Cut(string(b[2:]), `"`)
	return append([]byte(`{"`+key+`":12345,`), b[1:]...)
}

// TestCompiledValidatorMatchesOnSeedSamples replays every vendor sample of
// specs/testdata/seeds through both validators.
func TestCompiledValidatorMatchesOnSeedSamples(t *testing.T) {
	all := loadDiffSpecs(t)
	bySystem := map[string]*diffSpec{}
	for _, ds := range all {
		bySystem[strings.TrimSuffix(ds.name, ".yaml")] = ds
	}
	files, _ := filepath.Glob("../../specs/testdata/seeds/*.json")
	if len(files) == 0 {
		t.Fatal("no seed samples found")
	}
	n := 0
	for _, file := range files {
		ds := bySystem[strings.TrimSuffix(filepath.Base(file), ".json")]
		raw, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		var samples []struct {
			Method string          `json:"method"`
			Path   string          `json:"path"`
			Query  string          `json:"query"`
			Body   json.RawMessage `json:"body"`
		}
		if err := json.Unmarshal(raw, &samples); err != nil {
			t.Fatal(err)
		}
		for _, s := range samples {
			c := diffCase{method: s.Method, path: s.Path, query: s.Query, body: s.Body}
			if len(s.Body) > 0 {
				c.contentType = "application/json"
			}
			ds.compare(t, c, allow)
			n++
		}
	}
	t.Logf("%d seed samples compared", n)
}

// TestCompiledValidatorMatchesOnParameters tries odd query and path values
// on every operation that has parameters.
func TestCompiledValidatorMatchesOnParameters(t *testing.T) {
	all := loadDiffSpecs(t)
	values := []string{"", "0", "1", "-1", "abc", "10001", "2026-11-22T10:00:00Z", "yes", "true", "1.5", strings.Repeat("a", 200), "genstore", "a b", "9223372036854775808"}
	for _, oc := range operationCases(t, all) {
		params := append(openapi3.Parameters{}, oc.op.Parameters...)
		for _, ref := range params {
			p := ref.Value
			for _, v := range values {
				c := diffCase{method: oc.method, path: oc.path}
				switch p.In {
				case "query":
					c.query = url.Values{p.Name: {v}}.Encode()
					if v == "" {
						c.query = p.Name + "="
					}
				case "path":
					if v == "" || strings.Contains(v, " ") {
						continue
					}
					c.path = strings.Replace(oc.path, "/"+url.PathEscape(fmt.Sprint(exampleOf(p))), "/"+url.PathEscape(v), 1)
				default:
					continue
				}
				if len(oc.bodies) > 0 {
					c.body, _ = json.Marshal(oc.bodies[0])
					c.contentType = "application/json"
				}
				oc.ds.compare(t, c, allow)
			}
		}
	}
}

func exampleOf(p *openapi3.Parameter) any {
	switch {
	case p.Example != nil:
		return p.Example
	case p.Schema != nil && p.Schema.Value.Example != nil:
		return p.Schema.Value.Example
	case p.Schema != nil && len(p.Schema.Value.Enum) > 0:
		return p.Schema.Value.Enum[0]
	}
	return "x1"
}

// TestCompiledValidatorMatchesOnSecurity checks the security requirements:
// who is refused, with which error, whatever else the request breaks.
func TestCompiledValidatorMatchesOnSecurity(t *testing.T) {
	all := loadDiffSpecs(t)
	auths := map[string]openapi3filter.AuthenticationFunc{
		"unknown": func(context.Context, *openapi3filter.AuthenticationInput) error {
			return apierr.New(apierr.Unauthorized, "unknown token")
		},
		"scoped": func(_ context.Context, in *openapi3filter.AuthenticationInput) error {
			for _, s := range in.Scopes {
				if s != "read_payments_transaction" {
					return apierr.New(apierr.Forbidden, "lacks %s", s)
				}
			}
			return nil
		},
		"plain error": func(context.Context, *openapi3filter.AuthenticationInput) error {
			return fmt.Errorf("not an apierr")
		},
	}
	names := []string{"unknown", "scoped", "plain error"}
	for _, oc := range operationCases(t, all) {
		for _, name := range names {
			c := diffCase{method: oc.method, path: oc.path}
			if len(oc.bodies) > 0 {
				c.body, c.contentType = []byte(`{"broken":`), "application/json"
			}
			oc.ds.compare(t, c, auths[name])
		}
	}
}

// TestCompiledSchemasMatchOnComponents compiles every component schema of
// every spec — responses and genstore-app.yaml included, so that keywords
// only they use (anyOf) are held to kin-openapi too — and compares the
// violations of generated values and their mutations.
func TestCompiledSchemasMatchOnComponents(t *testing.T) {
	rnd := rand.New(rand.NewPCG(3, 5))
	seen := map[string]int{}
	n := 0
	for _, name := range []string{"admin.yaml", "codepay.yaml", "genstore.yaml", "genstore-app.yaml", "vmgateway.yaml"} {
		doc, err := Load(context.Background(), specs.FS(), name, "/", false)
		if err != nil {
			t.Fatal(err)
		}
		names := make([]string, 0, len(doc.Components.Schemas))
		for k := range doc.Components.Schemas {
			names = append(names, k)
		}
		sort.Strings(names)
		for _, sn := range names {
			ref := doc.Components.Schemas[sn]
			compiled, err := schema.Compile(ref.Value, Formats())
			if err != nil {
				t.Fatalf("%s %s: %v", name, sn, err)
			}
			base := generate(ref.Value, 0, rnd)
			values := append([]any{base}, mutations(base, rnd)...)
			if ref.Value.Example != nil {
				values = append(values, renumber(ref.Value.Example))
			}
			for _, v := range values {
				n++
				raw, _ := json.Marshal(v)
				want := Violations(ref.Value.VisitJSON(v, openapi3.MultiErrors(), openapi3.WithStringFormatValidators(Formats()), openapi3.DisableSchemaErrorDetails()))
				for _, w := range want {
					seen[w.Rule]++
				}
				var doc schema.Doc
				if err := doc.Parse(raw); err != nil {
					t.Fatalf("%s: %v", raw, err)
				}
				var got []Violation
				for _, g := range compiled.Validate(&doc, nil) {
					got = append(got, Violation{Field: g.Field, Rule: g.Rule, Reason: g.Reason})
				}
				got = sortViolations(got)
				if !sameViolations(want, got) {
					t.Errorf("%s %s: %s\nkin-openapi: %+v\ncompiled:    %+v", name, sn, clipBody(raw), want, got)
				}
			}
		}
	}
	t.Logf("%d values compared; rules met: %v", n, seen)
	if seen["anyOf"] == 0 {
		t.Error("no value broke an anyOf")
	}
}

func sameViolations(a, b []Violation) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Field != b[i].Field || a[i].Rule != b[i].Rule || a[i].Reason != b[i].Reason {
			return false
		}
	}
	return true
}

// cardPaymentExample returns the card gateway's spec and the spec's own
// example of a createPayment body (a card payment: 30 fields, nested
// objects), the body the validation benchmarks and pool tests check.
func cardPaymentExample(tb testing.TB) (*diffSpec, []byte) {
	tb.Helper()
	var ds *diffSpec
	for _, d := range loadDiffSpecs(tb) {
		if d.name == "vmgateway.yaml" {
			ds = d
		}
	}
	var body []byte
	for _, oc := range operationCases(tb, []*diffSpec{ds}) {
		if oc.op.OperationID == "createPayment" && len(oc.bodies) > 0 {
			body, _ = json.Marshal(oc.bodies[0])
		}
	}
	if ds == nil || body == nil {
		tb.Fatal("no createPayment example in vmgateway.yaml")
	}
	return ds, body
}

// BenchmarkRequestValidation compares, in one run, kin-openapi's
// ValidateRequest with the compiled check on the card gateway's
// createPayment body (30 fields, nested objects).
func BenchmarkRequestValidation(b *testing.B) {
	ds, body := cardPaymentExample(b)
	req := func() *http.Request {
		r, _ := http.NewRequest("POST", "/vm/v1/payments", bytes.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		return r
	}
	r := req()
	route, params, err := ds.router.FindRoute(r)
	if err != nil {
		b.Fatal(err)
	}
	if e := kinAnswer(ds, r, route, params, allow); e != nil {
		b.Fatalf("the benchmark body is invalid: %s", describe(e))
	}
	b.Run("kin-openapi", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if kinAnswer(ds, req(), route, params, allow) != nil {
				b.Fatal("invalid")
			}
		}
	})
	var compact bytes.Buffer
	if err := json.Compact(&compact, body); err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name string
		body []byte
	}{{"compiled", body}, {"compiled-compact", compact.Bytes()}} { // compact: as clients send it
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			rc := ds.checks[route.Operation]
			for b.Loop() {
				doc, e := rc.check(context.Background(), checkInput{r: req(), route: route, params: params, body: c.body, auth: allow})
				if e != nil {
					b.Fatal(describe(e))
				}
				rc.docs.put(doc)
			}
		})
	}
}
