package faults

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/pspsim/pspsim/simulator/apierr"
	"github.com/pspsim/pspsim/simulator/pan"
)

// FieldError says why a rule cannot be used: which rule, which field, which
// constraint. The admin API answers it as a 400 naming the field; a rules
// file that holds one stops `pspsim serve` with the same words.
type FieldError struct {
	Rule    string // the rule's id, or where it stands ("rules[2]") when it has none
	Field   string // dotted path inside the rule: "action.status", "match.amount.min"
	Check   string // the broken constraint: required, enum, minimum, duration, unknown...
	Message string // what is wrong, without echoing card data
}

func (e *FieldError) Error() string {
	where := "fault rule"
	if e.Rule != "" {
		where += " " + e.Rule
	}
	if e.Field == "" {
		return where + ": " + e.Message
	}
	return where + ": " + e.Field + ": " + e.Message
}

// APIError renders the error for the admin API.
func (e *FieldError) APIError() *apierr.Error {
	kind := apierr.Invalid
	if e.Check == "required" {
		kind = apierr.Missing
	}
	return &apierr.Error{Kind: kind, Field: e.Field, Rule: e.Check, Message: e.Error(),
		Details: []apierr.Detail{{Field: e.Field, Rule: e.Check, Message: e.Error()}}}
}

func fieldErr(field, check, format string, args ...any) *FieldError {
	return &FieldError{Field: field, Check: check, Message: fmt.Sprintf(format, args...)}
}

// Params gives an action's Build its parameters, typed, and remembers the
// first problem so that Build can read everything and check Err once. A
// parameter the action never reads is reported as unknown, so a misspelt one
// is an error rather than silently ignored.
type Params struct {
	action string
	m      map[string]any
	used   map[string]bool
	err    *FieldError
}

func newParams(action string, m map[string]any) *Params {
	return &Params{action: action, m: m, used: map[string]bool{}}
}

func (p *Params) field(name string) string { return "action." + name }

// Fail records a problem with a parameter (the first one wins).
func (p *Params) Fail(name, check, format string, args ...any) {
	if p.err == nil {
		p.err = fieldErr(p.field(name), check, format, args...)
	}
}

// Has reports whether the rule sets the parameter.
func (p *Params) Has(name string) bool {
	_, ok := p.m[name]
	return ok
}

func (p *Params) get(name string) (any, bool) {
	p.used[name] = true
	v, ok := p.m[name]
	if ok && v == nil {
		return nil, false
	}
	return v, ok
}

// Duration reads a Go duration ("1.5s", "2m") within [min, max].
func (p *Params) Duration(name string, def, min, max time.Duration) time.Duration {
	v, ok := p.get(name)
	if !ok {
		return def
	}
	d, err := toDuration(v)
	if err != nil {
		p.Fail(name, "duration", "%v", err)
		return def
	}
	if d < min || d > max {
		p.Fail(name, "range", "must be between %s and %s, not %s", min, max, d)
		return def
	}
	return d
}

// Int reads an integer within [min, max].
func (p *Params) Int(name string, def, min, max int) int {
	v, ok := p.get(name)
	if !ok {
		return def
	}
	n, err := toInt(v)
	if err != nil {
		p.Fail(name, "type", "must be an integer")
		return def
	}
	if n < min || n > max {
		p.Fail(name, "range", "must be between %d and %d, not %d", min, max, n)
		return def
	}
	return n
}

// String reads a string of at most maxLen bytes.
func (p *Params) String(name, def string, maxLen int) string {
	v, ok := p.get(name)
	if !ok {
		return def
	}
	s, isStr := v.(string)
	if !isStr {
		p.Fail(name, "type", "must be a string")
		return def
	}
	if len(s) > maxLen {
		p.Fail(name, "maxLength", "must be at most %d bytes long", maxLen)
		return def
	}
	return s
}

// Text reads a string, or any JSON value which it encodes as text — so a
// rule can give a body as a YAML/JSON object as well as a string.
func (p *Params) Text(name, def string, maxLen int) string {
	v, ok := p.get(name)
	if !ok {
		return def
	}
	if _, isStr := v.(string); isStr {
		return p.String(name, def, maxLen)
	}
	b, err := json.Marshal(v)
	if err != nil || len(b) > maxLen {
		p.Fail(name, "type", "must be a string or a JSON value of at most %d bytes", maxLen)
		return def
	}
	return string(b)
}

// Bool reads a boolean.
func (p *Params) Bool(name string, def bool) bool {
	v, ok := p.get(name)
	if !ok {
		return def
	}
	switch x := v.(type) {
	case bool:
		return x
	case string:
		if b, err := strconv.ParseBool(x); err == nil {
			return b
		}
	}
	p.Fail(name, "type", "must be true or false")
	return def
}

// Enum reads one of the allowed strings.
func (p *Params) Enum(name, def string, allowed ...string) string {
	s := p.String(name, def, 64)
	for _, a := range allowed {
		if s == a {
			return s
		}
	}
	p.Fail(name, "enum", "must be one of %s, not %q", strings.Join(allowed, ", "), s)
	return def
}

// StringMap reads an object of string values (headers).
func (p *Params) StringMap(name string) map[string]string {
	v, ok := p.get(name)
	if !ok {
		return nil
	}
	m, isMap := v.(map[string]any)
	if !isMap {
		p.Fail(name, "type", "must be an object of strings")
		return nil
	}
	out := map[string]string{}
	for k, x := range m {
		s, isStr := x.(string)
		if !isStr {
			p.Fail(name+"."+k, "type", "must be a string")
			return nil
		}
		out[k] = s
	}
	return out
}

// Err returns the first problem, or an unknown parameter. Build calls it
// after reading every parameter.
func (p *Params) Err() error {
	if p.err != nil {
		return p.err
	}
	var unknown []string
	for k := range p.m {
		if !p.used[k] {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return fieldErr(p.field(unknown[0]), "unknown", "the %s action has no parameter %q", p.action, unknown[0])
	}
	return nil
}

func toDuration(v any) (time.Duration, error) {
	s, ok := v.(string)
	if !ok {
		return 0, fmt.Errorf("must be a Go duration string like \"1.5s\" or \"2m\"")
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("must be a Go duration like \"1.5s\" or \"2m\", not %q", clipText(s))
	}
	return d, nil
}

func toInt(v any) (int, error) {
	switch x := v.(type) {
	case json.Number:
		n, err := strconv.Atoi(string(x))
		return n, err
	case int:
		return x, nil
	case string:
		return strconv.Atoi(x)
	}
	return 0, fmt.Errorf("not an integer")
}

// clipText shortens user text quoted back in an error and masks any card
// number in it.
func clipText(s string) string {
	if len(s) > 40 {
		s = s[:40] + "…"
	}
	return pan.Scrub(s)
}
