package openapi

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"

	"github.com/pspsim/pspsim/simulator/apierr"
	"github.com/pspsim/pspsim/simulator/openapi/schema"
)

// requestCheck validates one operation's requests the way kin-openapi's
// ValidateRequest does — security first, then path and query parameters,
// then the body — with schemas compiled once (package schema) instead of
// walking decoded maps. The body is parsed once; the parsed document stays
// with the request for the dispatch field.
type requestCheck struct {
	security [][]securityItem // alternatives (any one suffices); each needs all its items
	params   []paramCheck
	body     *bodyCheck
	// docs recycles the parsed bodies: the compiled spec's pool, which
	// every operation of the spec (and every mount sharing it) uses.
	docs *docPool
}

type securityItem struct {
	name   string
	scheme *openapi3.SecurityScheme
	scopes []string
}

type paramCheck struct {
	param  *openapi3.Parameter
	in     string
	name   string
	typ    string // "string", "integer", "number", "boolean", or "" (an untyped pattern)
	format string
	schema *schema.Schema
}

type bodyCheck struct {
	required bool
	content  openapi3.Content
	// json is the compiled schema of the application/json content, or nil
	// when the body is not described.
	json *schema.Schema
}

// compileRequest prepares the checks of op (at pathItem, in doc). It fails on
// anything it would not check exactly as kin-openapi does.
func compileRequest(doc *openapi3.T, pathItem *openapi3.PathItem, op *openapi3.Operation, sc *schema.Compiler) (*requestCheck, error) {
	rc := &requestCheck{docs: new(docPool)}
	security := op.Security
	if security == nil {
		security = &doc.Security
	}
	for _, req := range *security {
		var alt []securityItem
		names := make([]string, 0, len(req))
		for name := range req {
			names = append(names, name)
		}
		slices.Sort(names)
		for _, name := range names {
			var sch *openapi3.SecurityScheme
			if doc.Components != nil && doc.Components.SecuritySchemes[name] != nil {
				sch = doc.Components.SecuritySchemes[name].Value
			}
			if sch == nil {
				return nil, fmt.Errorf("security scheme %q is not declared", name)
			}
			alt = append(alt, securityItem{name: name, scheme: sch, scopes: req[name]})
		}
		rc.security = append(rc.security, alt)
	}
	var params []*openapi3.Parameter
	for _, ref := range pathItem.Parameters {
		p := ref.Value
		if op.Parameters.GetByInAndName(p.In, p.Name) == nil {
			params = append(params, p)
		}
	}
	for _, ref := range op.Parameters {
		params = append(params, ref.Value)
	}
	for _, p := range params {
		pc, err := compileParam(p, sc)
		if err != nil {
			return nil, fmt.Errorf("parameter %s (in %s): %w", p.Name, p.In, err)
		}
		if pc != nil {
			rc.params = append(rc.params, *pc)
		}
	}
	if op.RequestBody != nil {
		rb := op.RequestBody.Value
		bc := &bodyCheck{required: rb.Required, content: rb.Content}
		for ct, mt := range rb.Content {
			if mt.Schema == nil {
				continue
			}
			if ct != "application/json" {
				return nil, fmt.Errorf("request body content %s is not implemented (only application/json)", ct)
			}
			s, err := sc.Compile(mt.Schema.Value)
			if err != nil {
				return nil, fmt.Errorf("request body: %w", err)
			}
			bc.json = s
		}
		rc.body = bc
	}
	return rc, nil
}

func compileParam(p *openapi3.Parameter, sc *schema.Compiler) (*paramCheck, error) {
	if p.Content != nil {
		return nil, fmt.Errorf("content parameters are not implemented")
	}
	if p.Schema == nil {
		return nil, nil // kin-openapi checks nothing either
	}
	if p.In != openapi3.ParameterInPath && p.In != openapi3.ParameterInQuery {
		return nil, fmt.Errorf("parameters in %s are not implemented", p.In)
	}
	if p.AllowEmptyValue {
		return nil, fmt.Errorf("allowEmptyValue is not implemented")
	}
	sm, err := p.SerializationMethod()
	if err != nil {
		return nil, err
	}
	if (p.In == openapi3.ParameterInPath && sm.Style != "simple") || (p.In == openapi3.ParameterInQuery && sm.Style != "form") {
		return nil, fmt.Errorf("style %s is not implemented", sm.Style)
	}
	s := p.Schema.Value
	if len(s.AllOf)+len(s.AnyOf)+len(s.OneOf) > 0 {
		return nil, fmt.Errorf("composed parameter schemas are not implemented")
	}
	pc := &paramCheck{param: p, in: p.In, name: p.Name, format: s.Format}
	switch types := s.Type.Slice(); {
	case len(types) == 1 && slices.Contains([]string{"string", "integer", "number", "boolean"}, types[0]):
		pc.typ = types[0]
	case len(types) == 0 && s.Pattern != "":
	default:
		return nil, fmt.Errorf("parameter type %v is not implemented", types)
	}
	if pc.schema, err = sc.Compile(s); err != nil {
		return nil, err
	}
	return pc, nil
}

// docPool recycles parsed bodies (schema.Doc keeps its node and scratch
// slices): a body parse is two allocations fewer per request.
type docPool struct{ p sync.Pool }

func (dp *docPool) get() *schema.Doc {
	if d, ok := dp.p.Get().(*schema.Doc); ok {
		return d
	}
	return new(schema.Doc)
}

// put recycles d, which its user no longer reads; nil is ignored.
func (dp *docPool) put(d *schema.Doc) {
	if d != nil {
		dp.p.Put(d)
	}
}

// checkInput is what a check needs of a request.
type checkInput struct {
	r      *http.Request
	route  *routers.Route
	params map[string]string
	body   []byte
	auth   openapi3filter.AuthenticationFunc
	// scratch holds the inputs authenticate hands auth (in the Request, which
	// is allocated anyway), or nil: they are then allocated.
	scratch *authInputs
}

// authInputs are the kin-openapi inputs of one request's authentication.
type authInputs struct {
	validation     openapi3filter.RequestValidationInput
	authentication openapi3filter.AuthenticationInput
}

// check validates a request exactly as kin-openapi would (every departure
// refused, in kin-openapi's words). It returns the parsed body (nil when the
// operation has none or the body is empty; the caller releases it with
// rc.docs.put) and the error to answer, if any: an authentication failure wins
// over every other violation, as with kin-openapi.
func (rc *requestCheck) check(ctx context.Context, in checkInput) (*schema.Doc, *apierr.Error) {
	o := rc.run(ctx, in, modeExact)
	return o.doc, o.err
}

// mode is how a check treats the departures the spec tolerates
// (x-pspsim-lenient).
type mode uint8

const (
	modeExact   mode = iota // refused, worded as kin-openapi words them (the differential tests)
	modeStrict              // refused, saying that the default mode would tolerate them (--strict)
	modeLenient             // answered normally, with a warning each (the default)
)

// outcome is what a check decided.
type outcome struct {
	doc *schema.Doc   // the parsed body as sent (release with the check's docs.put)
	err *apierr.Error // the refusal, or nil
	// warnings are the tolerated departures (modeLenient), also on a
	// refusal for other reasons.
	warnings []Warning
	// body is the normalised body the handler sees, or nil when the body
	// as sent is it.
	body []byte
}

// run validates a request in mode m.
func (rc *requestCheck) run(ctx context.Context, in checkInput, m mode) outcome {
	if err := rc.authenticate(ctx, in); err != nil {
		return outcome{err: err}
	}
	var vs []Violation
	var query url.Values
	for i := range rc.params {
		p := &rc.params[i]
		if p.in == openapi3.ParameterInQuery && query == nil {
			query = in.r.URL.Query()
		}
		vs = p.check(in.params, query, vs)
	}
	var doc *schema.Doc
	var bodyVs []schema.Violation
	if rc.body != nil {
		doc, bodyVs, vs = rc.body.check(in.r, in.body, vs, m != modeExact, rc.docs)
	}
	if len(vs) == 0 {
		return outcome{doc: doc}
	}
	var o outcome
	switch m {
	case modeLenient:
		o = rc.tolerate(doc, bodyVs, vs)
	case modeStrict:
		for i := range vs {
			if vs[i].Lenient != "" {
				vs[i].Note = " (pspsim's default mode tolerates this: " + vs[i].Lenient + "; --strict refuses it)"
			}
		}
		o.err = violationsError(sortViolations(vs))
	default:
		o.err = violationsError(sortViolations(vs))
	}
	if o.err != nil {
		rc.docs.put(doc)
		return outcome{err: o.err, warnings: o.warnings}
	}
	o.doc = doc
	return o
}

// tolerate answers a request whose violations the spec may tolerate: each
// tolerated one becomes a warning, the body is normalised (and the
// normalised body validated again, so that a value made a number still
// meets its minimum), and whatever is left is refused.
func (rc *requestCheck) tolerate(doc *schema.Doc, bodyVs []schema.Violation, vs []Violation) outcome {
	var o outcome
	var refused []Violation
	for _, v := range vs {
		if v.Lenient == "" {
			refused = append(refused, v)
			continue
		}
		o.warnings = append(o.warnings, warningOf(v))
	}
	if len(refused) == 0 && doc != nil {
		if norm := doc.Normalize(bodyVs); norm != nil {
			o.body = norm
			again := rc.docs.get()
			if err := again.Parse(norm); err != nil {
				refused = append(refused, Violation{In: "body", Rule: "parse", Reason: "malformed body after normalisation: " + err.Error()})
			} else {
				for _, v := range rc.body.json.ValidateLenient(again, nil) {
					if v.Lenient == "" {
						refused = append(refused, Violation{In: "body", Field: v.Field, Rule: v.Rule, Reason: v.Reason})
					}
				}
			}
			rc.docs.put(again)
		}
	}
	if len(refused) > 0 {
		o.err = violationsError(sortViolations(refused))
		o.body = nil
	}
	sortWarnings(o.warnings)
	return o
}

// authenticate runs the operation's security requirements: the first
// alternative whose schemes all pass admits the request.
func (rc *requestCheck) authenticate(ctx context.Context, in checkInput) *apierr.Error {
	if len(rc.security) == 0 {
		return nil
	}
	var errs []error
	sc := in.scratch
	if sc == nil {
		sc = new(authInputs)
	}
	input := &sc.validation
	*input = openapi3filter.RequestValidationInput{Request: in.r, PathParams: in.params, Route: in.route}
	for _, alt := range rc.security {
		var failed error
		for _, item := range alt {
			// One input per scheme, as before; auth does not keep it past its return.
			ai := &sc.authentication
			*ai = openapi3filter.AuthenticationInput{RequestValidationInput: input,
				SecuritySchemeName: item.name, SecurityScheme: item.scheme, Scopes: item.scopes}
			if err := in.auth(ctx, ai); err != nil {
				failed = err
				break
			}
		}
		if failed == nil {
			return nil
		}
		errs = append(errs, failed)
	}
	return authError(&openapi3filter.SecurityRequirementsError{Errors: errs})
}

func (p *paramCheck) check(pathParams map[string]string, query url.Values, vs []Violation) []Violation {
	var raw string
	var found bool
	switch p.in {
	case openapi3.ParameterInPath:
		raw, found = pathParams[p.name]
		if raw == "" {
			found = false
		}
	case openapi3.ParameterInQuery:
		values, ok := query[p.name]
		found = ok
		if len(values) > 0 {
			raw = values[0]
			if raw == "" && len(values) > 1 {
				for _, v := range values[1:] {
					if v != "" {
						raw = v
						break
					}
				}
			}
		}
	}
	where := p.in
	bad := func(rule, reason string) []Violation {
		return append(vs, Violation{In: where, Field: p.name, Rule: rule, Reason: reason})
	}
	if !found {
		if p.param.Required {
			return bad("invalid", "value is required but missing")
		}
		return vs
	}
	kind, text := schema.String, raw
	switch p.typ {
	case "integer", "number", "boolean":
		if raw == "" {
			return bad("invalid", "empty value is not allowed")
		}
		var err error
		switch p.typ {
		case "integer":
			bits := 64
			if p.format == "int32" {
				bits = 32
			}
			var n int64
			n, err = strconv.ParseInt(raw, 10, bits)
			kind, text = schema.Number, strconv.FormatInt(n, 10)
		case "number":
			var f float64
			f, err = strconv.ParseFloat(raw, 64)
			kind, text = schema.Number, strconv.FormatFloat(f, 'g', -1, 64)
		case "boolean":
			var b bool
			b, err = strconv.ParseBool(raw)
			kind, text = schema.Bool, strconv.FormatBool(b)
		}
		if err != nil {
			return bad("parse", "malformed "+where+": an invalid "+p.typ)
		}
	}
	for _, v := range p.schema.ValidateScalar(kind, text, nil) {
		field := p.name
		if v.Field != "" {
			field += "." + v.Field
		}
		vs = append(vs, Violation{In: where, Field: field, Rule: v.Rule, Reason: v.Reason})
	}
	return vs
}

// check validates the body, returning its parsed document when it is JSON
// that was checked, and the schema's own violations (which carry the fixes
// of tolerated departures) besides the request's.
func (b *bodyCheck) check(r *http.Request, body []byte, vs []Violation, lenient bool, docs *docPool) (*schema.Doc, []schema.Violation, []Violation) {
	if len(body) == 0 {
		if b.required {
			vs = append(vs, Violation{In: "body", Rule: "invalid", Reason: "value is required but missing"})
		}
		return nil, nil, vs
	}
	if len(b.content) == 0 {
		return nil, nil, vs
	}
	ct := r.Header.Get("Content-Type")
	mt := b.contentType(ct)
	if mt == nil {
		reason := fmt.Sprintf("%s %q", "header Content-Type has unexpected value", ct)
		return nil, nil, append(vs, Violation{In: "body", Rule: "content-type", Reason: reason})
	}
	if b.json == nil || mt.Schema == nil {
		return nil, nil, vs
	}
	doc := docs.get()
	if err := doc.Parse(body); err != nil {
		docs.put(doc)
		se := err.(*schema.SyntaxError)
		if se.Rule == "encoding" {
			// A string that is not UTF-8 is a problem of one field.
			return nil, nil, append(vs, Violation{In: "body", Field: se.Field, Rule: se.Rule, Reason: se.Reason})
		}
		return nil, nil, append(vs, Violation{In: "body", Rule: se.Rule, Reason: syntaxReason(se)})
	}
	var svs []schema.Violation
	if lenient {
		svs = b.json.ValidateLenient(doc, svs)
	} else {
		svs = b.json.Validate(doc, svs)
	}
	for _, v := range svs {
		vs = append(vs, Violation{In: "body", Field: v.Field, Rule: v.Rule, Reason: v.Reason, Lenient: v.Lenient, Why: v.Why})
	}
	return doc, svs, vs
}

// contentType finds the media type a Content-Type header selects: the exact
// application/json most of the time, kin-openapi's matching otherwise.
func (b *bodyCheck) contentType(ct string) *openapi3.MediaType {
	if ct == "application/json" {
		if mt := b.content["application/json"]; mt != nil {
			return mt
		}
	}
	return b.content.Get(ct)
}

// syntaxReason words a body that is not JSON the way kin-openapi worded it
// ("malformed body: …"), but says what is wrong and where — kin-openapi's
// reason was empty.
func syntaxReason(e *schema.SyntaxError) string {
	if e.Field != "" && len(e.Field) <= 200 {
		return "malformed body: " + e.Reason + " (in " + e.Field + ")"
	}
	return "malformed body: " + e.Reason
}

func sortViolations(vs []Violation) []Violation {
	slices.SortStableFunc(vs, func(a, b Violation) int {
		if c := strings.Compare(a.Field, b.Field); c != 0 {
			return c
		}
		return strings.Compare(a.Rule, b.Rule)
	})
	return vs
}
