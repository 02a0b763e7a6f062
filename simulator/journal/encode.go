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
		return AppendValue(b, key, x)
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
			b = AppendValue(b, key, e)
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
		b = AppendValue(b, k, m[k])
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
// silently changes it. The bytes that need no escaping are told by one
// look-up in byteClass (TestAppendStringIsAsBefore).
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if byteClass[s[i]] < classEscape {
			i++
			continue
		}
		if c := s[i]; c == '"' || c == '\\' {
			// A JSON text written as a string is full of quotes: they are
			// escaped here, without a call.
			b = append(b, s[start:i]...)
			b = append(b, '\\', c)
			i++
			start = i
			continue
		}
		b, i, start = escapeAt(b, s, i, start)
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// AppendValue appends pan.Value(key, s) to b as a JSON string: s with card
// numbers and secrets masked, as the journal writes every string it keeps.
// Under a key that masks by name it is masked first; under any other, s is
// looked into for card numbers while it is written (appendScrubbed).
func AppendValue(b []byte, key, s string) []byte {
	if pan.ByKey(key) {
		return appendString(b, pan.Value(key, s))
	}
	return appendScrubbed(b, s)
}

// appendScrubbed appends pan.Scrub(s) as a JSON string (appendString) in
// one pass over s where the two made two (and Scrub a third over a text
// with a long number): it escapes s as appendString does while it counts,
// as pan's own pre-check does, the digits of each stretch of digits, spaces
// and dashes; the few stretches that hold as many as a card number are
// asked whether Scrub would mask in them (pan.HoldsPAN: a run of digit
// groups never crosses a stretch's end), and the first that would makes s
// written again through Scrub. Most strings hold no such stretch and are
// copied as they are (TestAppendValueIsAsBefore, FuzzAppendValueIsAsBefore).
func appendScrubbed(b []byte, s string) []byte {
	mark := len(b)
	if cap(b)-len(b) >= 2*len(s)+2 {
		return appendScrubbedRoomy(b, s)
	}
	return appendScrubbedAt(append(b, '"'), mark, s, 0)
}

// appendScrubbedAt is appendScrubbed from s[i] on, s[:i] being written
// after the opening quote at b[mark], and s[i] (if any) a byte that ends a
// stretch of digits and separators when i > 0.
func appendScrubbedAt(b []byte, mark int, s string, i int) []byte {
	start, run := i, 0
	for i < len(s) {
		k := byteClass[s[i]]
		if k < classEscape {
			// The count, without a branch: a digit adds one, a separator
			// keeps it, anything else (bit 1 clear) ends it.
			run = (run + int(k&1)) & -int(k>>1)
			i++
			if run < pan.MinDigits {
				continue
			}
			end, ok := stretchIsClean(s, i-1)
			if !ok {
				return appendString(b[:mark], pan.Scrub(s))
			}
			// The rest of the stretch needs no escaping; what follows it
			// ends the count.
			i, run = end, 0
			continue
		}
		run = 0
		if c := s[i]; c == '"' || c == '\\' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', c)
			i++
			start = i
			continue
		}
		b, i, start = escapeAt(b, s, i, start)
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// appendScrubbedRoomy is appendScrubbed where b has room for s with every
// byte doubled: the bytes are written one by one, without a call or a
// check of room for each escaped quote (a clipped view's text is JSON, a
// quote every few bytes). At a byte that escapes otherwise, or begins a
// rune of several bytes, appendScrubbedAt goes on.
func appendScrubbedRoomy(b []byte, s string) []byte {
	mark := len(b)
	b = b[:cap(b)]
	b[mark] = '"'
	n, run := mark+1, 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		k := byteClass[c]
		if k < classEscape {
			b[n] = c
			n++
			run = (run + int(k&1)) & -int(k>>1)
			if run < pan.MinDigits {
				continue
			}
			end, ok := stretchIsClean(s, i)
			if !ok {
				return appendString(b[:mark], pan.Scrub(s))
			}
			n += copy(b[n:], s[i+1:end])
			i, run = end-1, 0
			continue
		}
		if c != '"' && c != '\\' {
			return appendScrubbedAt(b[:n], mark, s, i)
		}
		b[n], b[n+1] = '\\', c
		n += 2
		run = 0
	}
	b[n] = '"'
	return b[:n+1]
}

// PlainToken returns the length of the JSON string token at the start of s
// (s[0] is its opening quote) when the journal writes the string it holds
// as the token itself: no byte in it is escaped, by the token (a
// backslash) or by appendString (a control, HTML or multi-byte one), and no
// stretch of digits, spaces and dashes in it holds as many digits as a card
// number. It returns 0 otherwise, and for a token without its closing
// quote. A string so told is written by AppendString, and by AppendValue
// under a key that does not mask by name (pan.ByKey), as the token: a
// body's view copies it whole, where reading it (to its quote) and writing
// it (escaping it, counting its digits) were two passes over each of a
// body's keys and values (TestPlainTokenIsAsWritten).
func PlainToken(s []byte) int {
	run := 0
	for i := 1; i < len(s); i++ {
		k := byteClass[s[i]]
		if k >= classEscape {
			if s[i] == '"' {
				return i + 1
			}
			return 0
		}
		// The count of appendScrubbed, which looks into a stretch once it
		// holds MinDigits digits: such a token is left to it.
		run = (run + int(k&1)) & -int(k>>1)
		if run >= pan.MinDigits {
			return 0
		}
	}
	return 0
}

// stretchIsClean reports whether Scrub masks nothing in the stretch of
// digits, spaces and dashes around the digit s[i], and returns its end.
func stretchIsClean(s string, i int) (int, bool) {
	from, end := i, i+1
	for from > 0 && byteClass[s[from-1]]&2 != 0 && byteClass[s[from-1]] < classEscape {
		from--
	}
	for end < len(s) && byteClass[s[end]]&2 != 0 && byteClass[s[end]] < classEscape {
		end++
	}
	return end, !pan.HoldsPAN(s[from:end])
}

// escapeAt writes what appendString writes of the byte at s[i] that may need
// escaping (byteClass from classEscape on) — after s[start:i], not written yet —
// and returns b, the index after it, and where the text still to copy starts.
// A rune of several bytes that needs no escape is only stepped over.
func escapeAt(b []byte, s string, i, start int) ([]byte, int, int) {
	c := s[i]
	if c < utf8.RuneSelf {
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
		return b, i + 1, i + 1
	}
	r, size := utf8.DecodeRuneInString(s[i:])
	if r == utf8.RuneError && size == 1 {
		b = append(b, s[start:i]...)
		b = append(b, '\\', '\\', 'x', hex[c>>4], hex[c&0xf])
		return b, i + 1, i + 1
	}
	if r == '\u2028' || r == '\u2029' {
		b = append(b, s[start:i]...)
		b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xf])
		return b, i + size, i + size
	}
	return b, i + size, start
}

// The classes of bytes in a string the journal writes: written as they are
// (plain, and the digits and the spaces and dashes that join digit groups,
// told apart for appendScrubbed), or escaped (ASCII control and HTML
// characters, quote, backslash) or looked at as part of a multi-byte rune.
// Below classEscape, bit 1 says that a byte belongs to a stretch of digits
// and separators and bit 0 that it is a digit.
const (
	classPlain  = 0
	classSep    = 2
	classDigit  = 3
	classEscape = 4
	classMulti  = 5
)

// byteClass is the class of each byte, a constant (TestByteClass holds it
// to its definition).
const byteClass = "" +
	"\x04\x04\x04\x04\x04\x04\x04\x04\x04\x04\x04\x04\x04\x04\x04\x04\x04\x04\x04\x04\x04\x04\x04\x04\x04\x04\x04\x04\x04\x04\x04\x04" +
	"\x02\x00\x04\x00\x00\x00\x04\x00\x00\x00\x00\x00\x00\x02\x00\x00\x03\x03\x03\x03\x03\x03\x03\x03\x03\x03\x00\x00\x04\x00\x04\x00" +
	"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x04\x00\x00\x00" +
	"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00" +
	"\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05" +
	"\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05" +
	"\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05" +
	"\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05"
