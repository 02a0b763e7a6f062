package faults

import (
	"encoding/json"
	"fmt"
	"net/http"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/pspsim/pspsim/simulator/openapi"
	"github.com/pspsim/pspsim/simulator/pan"
)

// Sources of rules, in the order the engine evaluates them: rules added while
// pspsim runs (admin API, Gherkin steps) come first, then the --faults file,
// then the config file's faults section, then the magic amounts.
const (
	SourceAPI    = "api"
	SourceFile   = "file"
	SourceConfig = "config"
	SourceMagic  = "magic"
)

// Rule is one fault rule: what it matches, what it does, how often, and when
// it is active. The same shape is read from YAML (--faults, --config) and
// JSON (the admin API) and written back by the admin API.
type Rule struct {
	ID          string
	Description string
	Source      string
	Match       Match
	Action      string         // a registered action's name
	Params      map[string]any // the action's parameters, as given
	Frequency   Frequency
	// After and For bound when the rule is active, measured on the
	// simulator's clock from when it is installed: "CodePay is down for 2h,
	// starting in 10m". Zero For means for ever.
	After, For time.Duration
}

// Match says which calls a rule applies to. Zero fields match everything.
type Match struct {
	System     string            // genstore, codepay, vmgateway, ...
	Operations []string          // any of: operationIds; for CodePay methods; for deliveries their kind
	Method     string            // HTTP method
	Path       string            // the URL path, exactly or as a path.Match glob ("/vm/v1/payments/*")
	Tags       map[string]string // merchant, shop, app, store, terminal, environment
	Amount     *AmountMatch      // the body's amount
	Card       string            // the body's card number, digits
	Header     *HeaderMatch      // a request header
	Attempt    int               // deliveries: only this attempt of each message (1 = the first)
	Nth        int               // only the nth call that matches everything else

	tagList []tagPair // Tags as a list, for the hot path (ranging over a map costs)
}

type tagPair struct{ name, value string }

// compile prepares the match for the hot path; the engine calls it when it
// installs a rule, whoever built the Match.
func (m *Match) compile() {
	m.tagList = nil
	for _, k := range sortedKeys(m.Tags) {
		m.tagList = append(m.tagList, tagPair{k, m.Tags[k]})
	}
	if a := m.Amount; a != nil {
		for _, f := range []struct {
			text string
			dst  **decimal
		}{{a.Equals, &a.equals}, {a.Min, &a.min}, {a.Max, &a.max}} {
			if f.text != "" && *f.dst == nil {
				if d, ok := parseDecimal(f.text); ok {
					*f.dst = &d
				}
			}
		}
	}
}

func sortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// TagNames are the facts a rule can match on that systems record with
// openapi.Request.Tag (served APIs) or delivery.Request.Tags (messages).
var TagNames = []string{openapi.TagMerchant, openapi.TagShop, openapi.TagApp, openapi.TagStore, openapi.TagTerminal, openapi.TagEnvironment}

// AmountMatch matches the amount read from a body, as a decimal, exactly.
type AmountMatch struct {
	Equals, Min, Max string // decimals as written ("10.51")
	Cents            int    // -1: any; else the amount's hundredths (51 matches 10.51 and 0.51)

	equals, min, max *decimal
}

// HeaderMatch matches a header: present, or with a value.
type HeaderMatch struct {
	Name  string
	Value string // empty: the header only has to be present
}

// Frequency says which matching calls a rule fires on.
type Frequency struct {
	Mode string  // always, first, every, probability
	N    int     // first N calls; every Nth call
	P    float64 // probability per call, decided from the run's seed
}

// Frequency modes.
const (
	Always      = "always"
	First       = "first"
	Every       = "every"
	Probability = "probability"
)

var ruleID = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// ParseRule reads one rule from its decoded JSON/YAML form (numbers as
// json.Number, so amounts keep their exact text). where names the rule in
// errors when it has no id ("rules[2]").
func ParseRule(v any, where string) (Rule, error) {
	r, err := parseRule(v)
	if err != nil {
		if err.Rule == "" {
			err.Rule = where
		}
		return Rule{}, err
	}
	return r, nil
}

func parseRule(v any) (Rule, *FieldError) {
	var r Rule
	m, ok := v.(map[string]any)
	if !ok {
		return r, fieldErr("", "type", "a rule must be an object with match, action and frequency")
	}
	if id, ok := m["id"]; ok && id != nil {
		s, _ := id.(string)
		if !ruleID.MatchString(s) {
			return r, fieldErr("id", "pattern", "must be 1–64 letters, digits, '.', '_' or '-', starting with a letter or digit")
		}
		r.ID = s
	}
	fail := func(e *FieldError) (Rule, *FieldError) {
		e.Rule = r.ID
		return Rule{}, e
	}
	for k := range m {
		switch k {
		case "id", "description", "match", "action", "frequency", "after", "for", "source", "hits", "matched", "active", "activeFrom", "activeUntil":
		default:
			return fail(fieldErr(k, "unknown", "a rule has no field %q (fields: id, description, match, action, frequency, after, for)", clipText(k)))
		}
	}
	if d, ok := m["description"]; ok && d != nil {
		s, isStr := d.(string)
		if !isStr || len(s) > 500 {
			return fail(fieldErr("description", "type", "must be a string of at most 500 bytes"))
		}
		r.Description = s
	}
	if mv, ok := m["match"]; ok && mv != nil {
		match, err := parseMatch(mv)
		if err != nil {
			return fail(err)
		}
		r.Match = match
	}
	av, ok := m["action"]
	if !ok || av == nil {
		return fail(fieldErr("action", "required", "is required: an object with a type (timeout, reset, status, error, ...)"))
	}
	switch a := av.(type) {
	case string:
		r.Action = a
		r.Params = map[string]any{}
	case map[string]any:
		t, _ := a["type"].(string)
		if t == "" {
			return fail(fieldErr("action.type", "required", "is required: the action's name (timeout, reset, status, error, ...)"))
		}
		r.Action = t
		r.Params = map[string]any{}
		for k, v := range a {
			if k != "type" {
				r.Params[k] = v
			}
		}
	default:
		return fail(fieldErr("action", "type", "must be an object with a type, or an action's name"))
	}
	freq, err := parseFrequency(m["frequency"])
	if err != nil {
		return fail(err)
	}
	r.Frequency = freq
	if r.Match.Nth > 0 && r.Frequency.Mode != Always {
		return fail(fieldErr("frequency", "conflict", "cannot be combined with match.nth, which already picks one call"))
	}
	for _, f := range []struct {
		name string
		dst  *time.Duration
	}{{"after", &r.After}, {"for", &r.For}} {
		if v, ok := m[f.name]; ok && v != nil {
			d, err := toDuration(v)
			if err != nil {
				return fail(fieldErr(f.name, "duration", "%v", err))
			}
			if d < 0 {
				return fail(fieldErr(f.name, "minimum", "must not be negative"))
			}
			*f.dst = d
		}
	}
	return r, nil
}

func parseMatch(v any) (Match, *FieldError) {
	var m Match
	in, ok := v.(map[string]any)
	if !ok {
		return m, fieldErr("match", "type", "must be an object")
	}
	str := func(k string, max int) (string, *FieldError) {
		x, ok := in[k]
		if !ok || x == nil {
			return "", nil
		}
		s, isStr := x.(string)
		if !isStr {
			if n, isNum := x.(json.Number); isNum {
				s = string(n) // a merchant number written without quotes
			} else {
				return "", fieldErr("match."+k, "type", "must be a string")
			}
		}
		if s == "" || len(s) > max {
			return "", fieldErr("match."+k, "length", "must be 1 to %d characters", max)
		}
		return s, nil
	}
	for k := range in {
		switch k {
		case "system", "operation", "method", "path", "amount", "card", "header", "attempt", "nth":
		default:
			known := false
			for _, t := range TagNames {
				known = known || t == k
			}
			if !known {
				return m, fieldErr("match."+clipText(k), "unknown", "a match has no field %q (fields: system, operation, method, path, %s, amount, card, header, attempt, nth)", clipText(k), strings.Join(TagNames, ", "))
			}
		}
	}
	var err *FieldError
	if m.System, err = str("system", 32); err != nil {
		return m, err
	}
	if x, ok := in["operation"]; ok && x != nil {
		switch ops := x.(type) {
		case string:
			if ops == "" || len(ops) > 128 {
				return m, fieldErr("match.operation", "length", "must be 1 to 128 characters")
			}
			m.Operations = []string{ops}
		case []any:
			if len(ops) == 0 || len(ops) > 50 {
				return m, fieldErr("match.operation", "length", "must list 1 to 50 operations")
			}
			for i, o := range ops {
				s, isStr := o.(string)
				if !isStr || s == "" || len(s) > 128 {
					return m, fieldErr(fmt.Sprintf("match.operation[%d]", i), "type", "must be an operation's name")
				}
				m.Operations = append(m.Operations, s)
			}
		default:
			return m, fieldErr("match.operation", "type", "must be an operation's name, or a list of them")
		}
	}
	if m.Method, err = str("method", 16); err != nil {
		return m, err
	}
	m.Method = strings.ToUpper(m.Method)
	if m.Path, err = str("path", 512); err != nil {
		return m, err
	}
	if m.Path != "" {
		if !strings.HasPrefix(m.Path, "/") {
			return m, fieldErr("match.path", "pattern", "must start with / (the path on pspsim, mount included: /vm/v1/payments)")
		}
		if _, perr := path.Match(m.Path, "/"); perr != nil {
			return m, fieldErr("match.path", "pattern", "is not a valid glob: %v", perr)
		}
	}
	for _, t := range TagNames {
		s, err := str(t, 128)
		if err != nil {
			return m, err
		}
		if s != "" {
			if m.Tags == nil {
				m.Tags = map[string]string{}
			}
			m.Tags[t] = s
		}
	}
	if x, ok := in["amount"]; ok && x != nil {
		a, err := parseAmountMatch(x)
		if err != nil {
			return m, err
		}
		m.Amount = a
	}
	if x, ok := in["card"]; ok && x != nil {
		var s string
		switch c := x.(type) {
		case string:
			s = c
		case json.Number:
			s = string(c)
		default:
			return m, fieldErr("match.card", "type", "must be a card number (a string of digits)")
		}
		digits := strings.NewReplacer(" ", "", "-", "").Replace(s)
		if len(digits) < 12 || len(digits) > 19 || strings.Trim(digits, "0123456789") != "" {
			return m, fieldErr("match.card", "pattern", "must be a card number of 12 to 19 digits")
		}
		m.Card = digits
	}
	if x, ok := in["header"]; ok && x != nil {
		h, isMap := x.(map[string]any)
		if !isMap {
			return m, fieldErr("match.header", "type", "must be an object {name, value}")
		}
		name, _ := h["name"].(string)
		if name == "" || strings.ContainsAny(name, " :\r\n") {
			return m, fieldErr("match.header.name", "required", "is required: a header name")
		}
		value := ""
		if v, ok := h["value"]; ok && v != nil {
			if value, ok = v.(string); !ok {
				return m, fieldErr("match.header.value", "type", "must be a string")
			}
		}
		for k := range h {
			if k != "name" && k != "value" {
				return m, fieldErr("match.header."+clipText(k), "unknown", "a header match has only name and value")
			}
		}
		m.Header = &HeaderMatch{Name: http.CanonicalHeaderKey(name), Value: value}
	}
	for _, f := range []struct {
		name string
		dst  *int
	}{{"attempt", &m.Attempt}, {"nth", &m.Nth}} {
		if x, ok := in[f.name]; ok && x != nil {
			n, err := toInt(x)
			if err != nil || n < 1 {
				return m, fieldErr("match."+f.name, "minimum", "must be a whole number from 1")
			}
			*f.dst = n
		}
	}
	return m, nil
}

func parseAmountMatch(v any) (*AmountMatch, *FieldError) {
	a := &AmountMatch{Cents: -1}
	dec := func(field string, x any) (string, *decimal, *FieldError) {
		var s string
		switch t := x.(type) {
		case string:
			s = t
		case json.Number:
			s = string(t)
		default:
			return "", nil, fieldErr(field, "type", "must be a decimal amount like \"10.51\"")
		}
		d, ok := parseDecimal(s)
		if !ok {
			return "", nil, fieldErr(field, "pattern", "must be a decimal amount like \"10.51\", not %q", clipText(s))
		}
		return s, &d, nil
	}
	var err *FieldError
	switch x := v.(type) {
	case string, json.Number:
		a.Equals, a.equals, err = dec("match.amount", x)
		if err != nil {
			return nil, err
		}
		return a, nil
	case map[string]any:
		for k, y := range x {
			switch k {
			case "equals":
				a.Equals, a.equals, err = dec("match.amount.equals", y)
			case "min":
				a.Min, a.min, err = dec("match.amount.min", y)
			case "max":
				a.Max, a.max, err = dec("match.amount.max", y)
			case "cents":
				n, e := toInt(y)
				if e != nil || n < 0 || n > 99 {
					err = fieldErr("match.amount.cents", "range", "must be a whole number from 0 to 99 (the amount's hundredths)")
				}
				a.Cents = n
			default:
				err = fieldErr("match.amount."+clipText(k), "unknown", "an amount match has equals, min, max and cents")
			}
			if err != nil {
				return nil, err
			}
		}
		if a.equals == nil && a.min == nil && a.max == nil && a.Cents < 0 {
			return nil, fieldErr("match.amount", "required", "needs equals, min, max or cents")
		}
		if a.min != nil && a.max != nil && a.min.cmp(*a.max) > 0 {
			return nil, fieldErr("match.amount.min", "range", "is above match.amount.max")
		}
		return a, nil
	}
	return nil, fieldErr("match.amount", "type", "must be a decimal amount or an object {equals, min, max, cents}")
}

func parseFrequency(v any) (Frequency, *FieldError) {
	f := Frequency{Mode: Always}
	if v == nil {
		return f, nil
	}
	if s, ok := v.(string); ok && s == Always {
		return f, nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		return f, fieldErr("frequency", "type", "must be an object: {always: true}, {first: N}, {every: N} or {probability: P}")
	}
	if len(m) != 1 {
		return f, fieldErr("frequency", "oneOf", "must have exactly one of always, first, every, probability")
	}
	for k, x := range m {
		switch k {
		case Always:
			if b, ok := x.(bool); !ok || !b {
				return f, fieldErr("frequency.always", "enum", "must be true")
			}
		case First, Every:
			n, err := toInt(x)
			if err != nil || n < 1 {
				return f, fieldErr("frequency."+k, "minimum", "must be a whole number from 1")
			}
			f.Mode, f.N = k, n
		case Probability:
			var p float64
			var err error
			switch y := x.(type) {
			case json.Number:
				p, err = strconv.ParseFloat(string(y), 64)
			case string:
				p, err = strconv.ParseFloat(y, 64)
			default:
				err = fmt.Errorf("not a number")
			}
			if err != nil || !(p > 0 && p <= 1) {
				return f, fieldErr("frequency.probability", "range", "must be a number above 0 and at most 1")
			}
			f.Mode, f.P = Probability, p
		default:
			return f, fieldErr("frequency."+clipText(k), "unknown", "must be one of always, first, every, probability")
		}
	}
	return f, nil
}

// MarshalJSON writes the rule in the shape it is read in. A card number is
// written masked: the listing is shown in UIs and pasted in tickets.
func (r Rule) MarshalJSON() ([]byte, error) {
	return json.Marshal(r.view())
}

func (r Rule) view() map[string]any {
	out := map[string]any{"id": r.ID, "source": r.Source, "match": r.Match.view(), "frequency": r.Frequency.view()}
	if r.Description != "" {
		out["description"] = r.Description
	}
	action := map[string]any{"type": r.Action}
	for k, v := range r.Params {
		action[k] = v
	}
	out["action"] = pan.Redact(action)
	if r.After > 0 {
		out["after"] = r.After.String()
	}
	if r.For > 0 {
		out["for"] = r.For.String()
	}
	return out
}

func (m Match) view() map[string]any {
	out := map[string]any{}
	put := func(k, v string) {
		if v != "" {
			out[k] = v
		}
	}
	put("system", m.System)
	switch len(m.Operations) {
	case 0:
	case 1:
		out["operation"] = m.Operations[0]
	default:
		out["operation"] = m.Operations
	}
	put("method", m.Method)
	put("path", m.Path)
	for _, k := range sortedKeys(m.Tags) {
		put(k, m.Tags[k])
	}
	if a := m.Amount; a != nil {
		am := map[string]any{}
		if a.Equals != "" {
			am["equals"] = a.Equals
		}
		if a.Min != "" {
			am["min"] = a.Min
		}
		if a.Max != "" {
			am["max"] = a.Max
		}
		if a.Cents >= 0 {
			am["cents"] = a.Cents
		}
		out["amount"] = am
	}
	if m.Card != "" {
		out["card"] = pan.Mask(m.Card)
	}
	if m.Header != nil {
		h := map[string]any{"name": m.Header.Name}
		if m.Header.Value != "" {
			h["value"] = m.Header.Value
		}
		out["header"] = h
	}
	if m.Attempt > 0 {
		out["attempt"] = m.Attempt
	}
	if m.Nth > 0 {
		out["nth"] = m.Nth
	}
	return out
}

func (f Frequency) view() map[string]any {
	switch f.Mode {
	case First, Every:
		return map[string]any{f.Mode: f.N}
	case Probability:
		return map[string]any{Probability: f.P}
	}
	return map[string]any{Always: true}
}

// String says the frequency in words.
func (f Frequency) String() string {
	switch f.Mode {
	case First:
		return fmt.Sprintf("the first %d matching calls", f.N)
	case Every:
		return fmt.Sprintf("every %d. matching call", f.N)
	case Probability:
		return fmt.Sprintf("with probability %g", f.P)
	}
	return "always"
}
