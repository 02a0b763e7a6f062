package openapi

import (
	"errors"
	"sort"
	"strconv"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"

	"github.com/pspsim/pspsim/simulator/openapi/schema"
)

// A Violation is one broken rule of a request (or response), named the way every
// dialect reports it: the field as a dotted path with array indexes
// ("card.cardNo", "iterms[0].op"), the schema keyword that failed ("required",
// "maxLength", ...) and a human sentence that never echoes the offending value
// (values may be card numbers).
type Violation struct {
	In     string // "body", "query", "header", "path", "security"
	Field  string // dotted path; "" for the body as a whole
	Rule   string // the schema keyword or check that failed
	Reason string // what is wrong, for humans
	// Lenient is the spec's leniency class that tolerates the violation
	// (x-pspsim-lenient, see package schema), "" when none does; Why is the
	// spec's reason.
	Lenient string
	Why     string
	// Note is said after the reason (--strict's word on a departure the
	// default mode tolerates).
	Note string
}

// Message renders the violation as one sentence naming the field and rule.
func (v Violation) Message() string {
	switch {
	case v.Field == "":
		return v.Reason + v.Note
	case v.Rule == "required":
		return v.Field + ": is required" + v.Note
	default:
		return v.Field + ": " + v.Reason + v.Note
	}
}

// Violations flattens a kin-openapi validation error into violations, in a
// stable order (by field, then rule) so error messages do not flicker between runs.
func Violations(err error) []Violation {
	var out []Violation
	collect(err, "", &out)
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Field != out[j].Field {
			return out[i].Field < out[j].Field
		}
		return out[i].Rule < out[j].Rule
	})
	return out
}

func collect(err error, in string, out *[]Violation) {
	if err == nil {
		return
	}
	// Switch on concrete types first: kin-openapi's MultiError answers
	// errors.As for any of its elements, and RequestError unwraps to its
	// inner error, so errors.As alone would skip the layer that names a
	// parameter.
	switch e := err.(type) {
	case openapi3.MultiError:
		for _, inner := range e {
			collect(inner, in, out)
		}
		return
	case *openapi3filter.RequestError:
		collectRequestError(e, in, out)
		return
	case *openapi3filter.SecurityRequirementsError:
		*out = append(*out, Violation{In: "security", Rule: "security", Reason: "authentication failed"})
		return
	case *openapi3.SchemaError:
		collectSchemaError(e, in, out)
		return
	case *openapi3filter.ParseError:
		*out = append(*out, Violation{In: in, Rule: "parse", Reason: "malformed " + in + ": " + e.Reason})
		return
	}
	if inner := errors.Unwrap(err); inner != nil {
		collect(inner, in, out)
		return
	}
	*out = append(*out, Violation{In: in, Rule: "invalid", Reason: err.Error()})
}

func collectRequestError(reqErr *openapi3filter.RequestError, in string, out *[]Violation) {
	where := in
	field := ""
	if reqErr.Parameter != nil {
		where = reqErr.Parameter.In
		field = reqErr.Parameter.Name
	} else if reqErr.RequestBody != nil {
		where = "body"
	}
	if reqErr.Err == nil {
		*out = append(*out, Violation{In: where, Field: field, Rule: ruleOf(reqErr.Reason), Reason: reqErr.Reason})
		return
	}
	before := len(*out)
	collect(reqErr.Err, where, out)
	if field != "" {
		for i := before; i < len(*out); i++ {
			if (*out)[i].Field == "" {
				(*out)[i].Field = field
			} else {
				(*out)[i].Field = field + "." + (*out)[i].Field
			}
		}
	}
}

func collectSchemaError(schemaErr *openapi3.SchemaError, in string, out *[]Violation) {
	if (schemaErr.SchemaField == "oneOf" || schemaErr.SchemaField == "anyOf") && schemaErr.Origin != nil {
		alternatives := alternativesOf(schemaErr.Origin)
		if len(alternatives) == 1 {
			// A discriminator picked one alternative: its own errors are the answer.
			collect(alternatives[0], in, out)
			return
		}
		// Several forms are allowed (a string or a boolean, an integer or a
		// 13-digit string): name the field and say what each form wanted.
		var reasons []string
		for _, alt := range alternatives {
			var sub []Violation
			collect(alt, in, &sub)
			for _, v := range sub {
				reasons = append(reasons, v.Reason)
			}
		}
		reason := "does not match any allowed form"
		if len(reasons) > 0 {
			reason = strings.Join(reasons, ", or ")
		}
		*out = append(*out, Violation{In: in, Field: FieldPath(schemaErr.JSONPointer()), Rule: schemaErr.SchemaField, Reason: reason})
		return
	}
	if schemaErr.SchemaField == "allOf" && schemaErr.Origin != nil {
		// Every part must hold: report what each failing part wanted.
		for _, part := range alternativesOf(schemaErr.Origin) {
			collect(part, in, out)
		}
		return
	}
	if schemaErr.Origin != nil {
		switch schemaErr.Origin.(type) {
		case *openapi3.SchemaError, openapi3.MultiError:
			collect(schemaErr.Origin, in, out)
			return
		}
	}
	ptr := schemaErr.JSONPointer()
	rule := schemaErr.SchemaField
	switch {
	case rule == "discriminator" && schemaErr.Schema != nil && schemaErr.Schema.Discriminator != nil:
		// kin-openapi points at the object; the culprit is its discriminator property.
		ptr = append(append([]string(nil), ptr...), schemaErr.Schema.Discriminator.PropertyName)
	case rule == "properties" && strings.HasSuffix(schemaErr.Reason, " is unsupported"):
		// An unknown property of a closed object: kin-openapi names it only in the reason.
		if name, ok := quoted(schemaErr.Reason); ok {
			ptr = append(append([]string(nil), ptr...), name)
			rule = "additionalProperties"
		}
	}
	*out = append(*out, Violation{In: in, Field: FieldPath(ptr), Rule: rule, Reason: schemaErr.Reason})
}

// alternativesOf digs the per-alternative errors out of a oneOf/anyOf
// failure (kin-openapi wraps them in fmt.Errorf around a MultiError).
func alternativesOf(origin error) []error {
	for err := origin; err != nil; err = errors.Unwrap(err) {
		if multi, ok := err.(openapi3.MultiError); ok {
			return multi
		}
	}
	return []error{origin}
}

// quoted returns the first Go-quoted string in s.
func quoted(s string) (string, bool) {
	i := strings.IndexByte(s, '"')
	if i < 0 {
		return "", false
	}
	v, err := strconv.QuotedPrefix(s[i:])
	if err != nil {
		return "", false
	}
	u, err := strconv.Unquote(v)
	return u, err == nil
}

// FieldPath turns a JSON pointer (as kin-openapi reports it) into a dotted path
// with array indexes: ["iterms","0","op"] → "iterms[0].op"; an index at the
// root of an array body stays bracketed: ["0","carrier"] → "[0].carrier".
func FieldPath(ptr []string) string { return schema.FieldPath(ptr) }

func ruleOf(reason string) string {
	switch {
	case strings.Contains(reason, "must have a value"), strings.Contains(reason, "required"):
		return "required"
	case strings.Contains(reason, "header Content-Type"):
		return "content-type"
	default:
		return "invalid"
	}
}
