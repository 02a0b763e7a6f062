package schema

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// LenientExtension is the annotation that says, in the spec, which
// departures from a documented table pspsim tolerates and why. A request
// that breaks a rule still produces its Violation — exactly as kin-openapi
// would report it — but marked with the class that tolerates it, so that the
// caller decides: answer normally with a warning (pspsim's default, faithful
// mode) or refuse (--strict).
//
// At the document's top level it holds classes that apply to every schema of
// the document:
//
//	x-pspsim-lenient:
//	  unknown-field: "the gateway ignores fields it does not know"
//
// On a schema it holds that schema's own classes, which add to the
// document's:
//
//	tip_adjustment_amount:
//	  type: number
//	  x-pspsim-lenient:
//	    number-as-string: "the seed's own sample sends \"30.05\""
//
// and on an object, the fields whose absence is tolerated and the names a
// field is also sent under:
//
//	x-pspsim-lenient:
//	  optional:
//	    timestamp: "pspsim's own rule; the seed's table lists no timestamp"
//	  alias:
//	    trans_amount: {field: order_amount, why: "the seed's sample sends trans_amount"}
//
// An unknown class, or a value of the wrong shape, fails Compile: a spec
// cannot believe it tolerates something the validator does not.
const LenientExtension = "x-pspsim-lenient"

// Leniency classes (the keys of LenientExtension).
const (
	// UnknownField: a member a closed object does not list is dropped.
	UnknownField = "unknown-field"
	// EmptyAsAbsent: "" for an optional member that breaks the member's
	// rules is treated as if the member were absent (dropped), as the
	// signature's string to sign treats it.
	EmptyAsAbsent = "empty-as-absent"
	// EnumCase: an enumerated string in another letter case is replaced by
	// the enumerated spelling.
	EnumCase = "enum-case"
	// NumberAsString: a number sent as a JSON string holding a JSON number
	// ("30.05") becomes that number.
	NumberAsString = "number-as-string"
	// ObjectAsString: an object sent as a string becomes the object when the
	// string is a JSON object's text, and is dropped otherwise (a
	// placeholder such as "K-V").
	ObjectAsString = "object-as-string"
	// Pattern: a string that does not match the schema's pattern is kept.
	Pattern = "pattern"
	// Format: a string that does not match the schema's format is kept.
	Format = "format"
	// Optional (objects): a required member listed here may be absent.
	Optional = "optional"
	// Alias (objects): a member sent under another name is renamed.
	Alias = "alias"
)

// valueClasses are the classes a document or a schema states with a reason.
var valueClasses = map[string]bool{UnknownField: true, EmptyAsAbsent: true, EnumCase: true,
	NumberAsString: true, ObjectAsString: true, Pattern: true, Format: true}

// lenience is one schema's (or one document's) tolerated departures.
type lenience struct {
	why      map[string]string // class → reason
	optional map[string]string // required member → reason its absence is tolerated
	alias    map[string]alias  // name sent → the documented member
}

type alias struct{ field, why string }

// ParseLenience reads a LenientExtension value (as kin-openapi decodes it:
// maps, strings); nil when v is nil.
func parseLenience(v any) (*lenience, error) {
	if v == nil {
		return nil, nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%s must be a map of class to reason", LenientExtension)
	}
	l := &lenience{why: map[string]string{}}
	for class, val := range m {
		switch {
		case valueClasses[class]:
			why, ok := val.(string)
			if !ok || strings.TrimSpace(why) == "" {
				return nil, fmt.Errorf("%s: %s needs the reason pspsim tolerates it (a string)", LenientExtension, class)
			}
			l.why[class] = why
		case class == Optional:
			fields, ok := val.(map[string]any)
			if !ok {
				return nil, fmt.Errorf("%s: optional must map each tolerated missing field to a reason", LenientExtension)
			}
			l.optional = map[string]string{}
			for f, w := range fields {
				why, ok := w.(string)
				if !ok || why == "" {
					return nil, fmt.Errorf("%s: optional.%s needs a reason", LenientExtension, f)
				}
				l.optional[f] = why
			}
		case class == Alias:
			names, ok := val.(map[string]any)
			if !ok {
				return nil, fmt.Errorf("%s: alias must map each name sent to {field, why}", LenientExtension)
			}
			l.alias = map[string]alias{}
			for name, a := range names {
				am, ok := a.(map[string]any)
				field, _ := am["field"].(string)
				why, _ := am["why"].(string)
				if !ok || field == "" || why == "" || len(am) != 2 {
					return nil, fmt.Errorf("%s: alias.%s must be {field, why}", LenientExtension, name)
				}
				l.alias[name] = alias{field: field, why: why}
			}
		default:
			return nil, fmt.Errorf("%s: unknown class %q (known: %s)", LenientExtension, class, knownClasses())
		}
	}
	return l, nil
}

func knownClasses() string {
	var names []string
	for c := range valueClasses {
		names = append(names, c)
	}
	sort.Strings(names)
	return strings.Join(append(names, Optional, Alias), ", ")
}

// tolerates returns the reason s tolerates class, or "".
func (s *Schema) tolerates(class string) string {
	if s.lenient != nil {
		if why := s.lenient.why[class]; why != "" {
			return why
		}
	}
	if s.docLenient != nil {
		return s.docLenient.why[class]
	}
	return ""
}

// fixOp is how a tolerated violation's value is normalised before the
// handler sees the body.
type fixOp uint8

const (
	fixNone    fixOp = iota
	fixDrop          // remove the member
	fixReplace       // replace the value's JSON text
	fixRename        // rename the member
)

type fix struct {
	op   fixOp
	node int32
	text string
}

// Tolerated reports whether a leniency class of the spec covers v.
func (v Violation) Tolerated() bool { return v.Lenient != "" }

// jsonNumber is JSON's number grammar (RFC 8259 §6).
var jsonNumber = regexp.MustCompile(`^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$`)

// numberText returns the JSON number a string holds (surrounding spaces
// trimmed), or false.
func numberText(s string, integer bool) (string, bool) {
	s = strings.TrimSpace(s)
	if !jsonNumber.MatchString(s) {
		return "", false
	}
	if integer && strings.ContainsAny(s, ".eE") {
		return "", false
	}
	return s, true
}

// Normalize returns the body the handler sees: doc's source with the fixes
// of every tolerated violation in vs applied (members dropped or renamed,
// values replaced), or nil when no violation needs a change.
func (d *Doc) Normalize(vs []Violation) []byte {
	var fixes map[int32]fix
	for _, v := range vs {
		if v.Lenient == "" || v.fix.op == fixNone {
			continue
		}
		if fixes == nil {
			fixes = map[int32]fix{}
		}
		if prev, ok := fixes[v.fix.node]; ok && prev.op == fixDrop {
			continue // a dropped member stays dropped
		}
		fixes[v.fix.node] = v.fix
	}
	if fixes == nil {
		return nil
	}
	return d.write(make([]byte, 0, len(d.src)), d.Root(), fixes)
}

func (d *Doc) write(b []byte, i int32, fixes map[int32]fix) []byte {
	n := &d.nodes[i]
	if f, ok := fixes[i]; ok && f.op == fixReplace {
		return append(b, f.text...)
	}
	switch n.Kind {
	case Object:
		b = append(b, '{')
		first := true
		for c := n.First; c >= 0; c = d.nodes[c].Next {
			f, ok := fixes[c]
			if ok && f.op == fixDrop {
				continue
			}
			if !first {
				b = append(b, ',')
			}
			first = false
			cn := &d.nodes[c]
			if ok && f.op == fixRename {
				b = strconv.AppendQuote(b, f.text)
			} else {
				b = append(b, d.src[cn.KeyStart:cn.KeyEnd]...)
			}
			b = append(b, ':')
			b = d.write(b, c, fixes)
		}
		return append(b, '}')
	case Array:
		b = append(b, '[')
		first := true
		for c := n.First; c >= 0; c = d.nodes[c].Next {
			if f, ok := fixes[c]; ok && f.op == fixDrop {
				continue
			}
			if !first {
				b = append(b, ',')
			}
			first = false
			b = d.write(b, c, fixes)
		}
		return append(b, ']')
	}
	return append(b, d.src[n.Start:n.End]...)
}
