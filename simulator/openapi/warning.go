package openapi

import (
	"slices"
	"strings"

	"github.com/pspsim/pspsim/simulator/openapi/schema"
)

// WarningHeader carries, on an answer, one departure from the documented
// table that pspsim tolerated (one header line per departure).
const WarningHeader = "X-Pspsim-Warning"

// A Warning is a departure from the documented table that the spec
// tolerates (x-pspsim-lenient): the request was answered normally, with the
// value normalised as Did says, and the developer is told.
type Warning struct {
	Field string `json:"field"` // dotted path, as in errors
	Rule  string `json:"rule"`  // the documented rule the request departs from
	Class string `json:"class"` // the leniency class (schema.UnknownField, ...)
	Did   string `json:"did"`   // what pspsim did with the value
	Why   string `json:"why"`   // the spec's reason for tolerating it
}

// Header renders w as one X-Pspsim-Warning value: field, rule, what pspsim
// did, why. Plain ASCII on one line (the reason is the spec's, which may
// hold other characters).
func (w Warning) Header() string {
	field := w.Field
	if field == "" {
		field = "(body)"
	}
	return headerSafe(field + ": " + w.Rule + " (" + w.Class + "): " + w.Did + " — " + w.Why)
}

// headerSafe keeps a header value on one line of printable ASCII.
func headerSafe(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '—':
			b.WriteString("--")
		case r == '\n' || r == '\r' || r == '\t':
			b.WriteByte(' ')
		case r < 0x20 || r == 0x7f:
		case r > 0x7e:
			b.WriteByte('?')
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// did says what the validator did with a value of a tolerated class.
var did = map[string]string{
	schema.UnknownField:   "not in the documented table; ignored",
	schema.EmptyAsAbsent:  "empty value treated as absent",
	schema.EnumCase:       "read as the documented spelling",
	schema.NumberAsString: "read as the number it holds",
	schema.ObjectAsString: "read as the object it holds, or ignored when it holds none",
	schema.Pattern:        "accepted as sent",
	schema.Format:         "accepted as sent",
	schema.Optional:       "absent; accepted",
	schema.Alias:          "read under its documented name",
}

func warningOf(v Violation) Warning {
	return Warning{Field: v.Field, Rule: v.Rule, Class: v.Lenient, Did: did[v.Lenient], Why: v.Why}
}

func sortWarnings(ws []Warning) {
	slices.SortStableFunc(ws, func(a, b Warning) int {
		if c := strings.Compare(a.Field, b.Field); c != 0 {
			return c
		}
		return strings.Compare(a.Rule, b.Rule)
	})
}
