package journal

import (
	"encoding/json"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/pspsim/pspsim/simulator/pan"
)

// appendRedacted appends the JSON of v (found under key) with card data
// masked, in one pass: what pan.Redact then json.Marshal produced, without
// the redacted copy in between. Maps, slices and strings are walked
// directly; any other value is encoded by encoding/json and, when that
// gives text, objects or arrays (a struct, a []byte), decoded and walked
// too, so that no string of an event escapes masking.
func appendRedacted(b []byte, key string, v any) []byte {
	switch x := v.(type) {
	case nil:
		return append(b, "null"...)
	case string:
		return appendString(b, pan.Value(key, x))
	case bool:
		return strconv.AppendBool(b, x)
	case int:
		return strconv.AppendInt(b, int64(x), 10)
	case int64:
		return strconv.AppendInt(b, x, 10)
	case int32:
		return strconv.AppendInt(b, int64(x), 10)
	case uint64:
		return strconv.AppendUint(b, x, 10)
	case time.Time:
		if x.Year() >= 0 && x.Year() <= 9999 {
			b = append(b, '"')
			b = x.AppendFormat(b, time.RFC3339Nano)
			return append(b, '"')
		}
	case map[string]any:
		var buf [16]string
		b = append(b, '{')
		for i, k := range sortedKeys(x, buf[:0]) {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, k)
			b = append(b, ':')
			b = appendRedacted(b, k, x[k])
		}
		return append(b, '}')
	case map[string]string:
		return appendStringMap(b, x)
	case []any:
		if x == nil {
			return append(b, "null"...)
		}
		b = append(b, '[')
		for i, e := range x {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendRedacted(b, key, e)
		}
		return append(b, ']')
	case Appender:
		// Masks what it appends as this function would mask its value (a
		// body's view, written straight into the event: see Appender).
		return x.AppendRedactedJSON(b, key)
	case RedactedJSON:
		// Already masked valid JSON (a body view from package bodies, whose
		// fuzz test holds it to that): appended as it is.
		if j := x.RedactedJSON(); len(j) > 0 {
			return append(b, j...)
		}
		return append(b, "null"...)
	case []string:
		if x == nil {
			return append(b, "null"...)
		}
		b = append(b, '[')
		for i, e := range x {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, pan.Value(key, e))
		}
		return append(b, ']')
	}
	raw, err := json.Marshal(v)
	if err != nil {
		return appendString(b, "[unencodable "+err.Error()+"]")
	}
	if len(raw) > 0 && (raw[0] == '{' || raw[0] == '[' || raw[0] == '"') {
		var decoded any
		if json.Unmarshal(raw, &decoded) == nil {
			return appendRedacted(b, key, decoded)
		}
	}
	return append(b, raw...)
}

// RedactedJSON is a value that is valid JSON with card data and secrets
// already masked: the journal appends it without walking it again.
type RedactedJSON interface {
	RedactedJSON() []byte
}

// Appender is a value that appends its own JSON to the event, masked as
// appendRedacted would mask the value it stands for when found under key: a
// body's view (package bodies, whose tests hold it to that) written straight
// into the event's data, instead of being made apart, copied in and thrown
// away. It is called while the event is recorded, never kept.
type Appender interface {
	AppendRedactedJSON(b []byte, key string) []byte
}

// appendStringMap appends a map of ids, its values masked by key.
func appendStringMap(b []byte, m map[string]string) []byte {
	var buf [16]string
	b = append(b, '{')
	for i, k := range sortedKeys(m, buf[:0]) {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, k)
		b = append(b, ':')
		b = appendString(b, pan.Value(k, m[k]))
	}
	return append(b, '}')
}

// sortedKeys appends m's keys to keys (scratch space), sorted: encoding/json's
// order.
func sortedKeys[V any](m map[string]V, keys []string) []string {
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

const hex = "0123456789abcdef"

// AppendString appends s to b as a JSON string, as the journal writes every
// string it keeps (package bodies writes its views with it too).
func AppendString(b []byte, s string) []byte { return appendString(b, s) }

// appendString appends s as a JSON string as encoding/json does (HTML
// characters and U+2028/U+2029 escaped), except that a byte that is not
// UTF-8 is written as the text \xNN instead of being replaced by U+FFFD:
// the journal keeps what a refused request really held, visibly, and never
// silently changes it.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '\\', '"':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, '\\', '\\', 'x', hex[s[i]>>4], hex[s[i]&0xf])
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
