// Package bodies turns an HTTP body into what the journal may keep of it: a
// masked, bounded view that the dashboard's timeline can expand. JSON stays
// JSON (so it reads as a tree) with card numbers masked, secrets (CVV, OTP,
// keys, passwords) replaced by name, long opaque strings (ciphertexts,
// signatures) shortened and the whole bounded; anything else becomes
// scrubbed text. The journal redacts again on the way in; masking here as
// well means a body is never stored raw even for an instant, and bodies
// that are strings inside JSON (a signed envelope's biz content) are masked
// by their own keys too.
package bodies

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"
	"unsafe"

	"github.com/pspsim/pspsim/simulator/journal"
	"github.com/pspsim/pspsim/simulator/pan"
)

// Limit is the most a body view takes in the journal, in bytes of JSON: the
// journal keeps events of about 1.5 KB, a request and its answer included.
const Limit = 600

// longString is where a string value is shortened: ciphertexts, signatures
// and keys say nothing to a reader past their first characters.
const longString = 64

// JSON is a body view that is JSON: masked, shortened and bounded by Of.
// The journal appends it as it is (RedactedJSON), without decoding it into
// maps and encoding it again — most of what journaling a body cost.
type JSON []byte

// MarshalJSON implements json.Marshaler.
func (j JSON) MarshalJSON() ([]byte, error) { return j, nil }

// RedactedJSON says that j is valid JSON with card data already masked.
func (j JSON) RedactedJSON() []byte { return j }

// Of returns the view of a body: nil when empty, a masked JSON value
// (object, array) when it parses and fits in Limit once shortened, else a
// string clipped to Limit with "…" and the original size. The JSON is
// rewritten in one pass over the bytes, keys in their order.
func Of(raw []byte) any {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return nil
	}
	if !utf8.Valid(raw) {
		raw = escapeInvalid(raw)
	}
	return of(raw, (raw[0] == '{' || raw[0] == '[') && validJSON(raw))
}

// OfJSON is Of for a body its caller knows to be one JSON value (RFC 8259)
// in valid UTF-8 — one that openapi's validator parsed as it is
// (openapi.Request.BodyJSON) or that the caller wrote itself
// (Recorder.WriteJSON). It gives Of's view (TestOfJSONIsOf,
// FuzzOfJSONIsOf) without checking the body again: the UTF-8 and JSON
// checks were a third of the view of a card payment's request and answer.
func OfJSON(raw []byte) any {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return nil
	}
	return of(raw, raw[0] == '{' || raw[0] == '[')
}

// of is the view of raw, trimmed, not empty and valid UTF-8; container says
// that it is a JSON object or array.
func of(raw []byte, container bool) any {
	if container {
		// A view longer than Limit is clipped to its first Limit bytes
		// (clip names the body's own size): the rest of it is not made.
		out := view(make([]byte, 0, min(len(raw), Limit)+32), "", raw, Limit)
		if len(out) <= Limit {
			return JSON(out)
		}
		return clipOwned(out, len(raw))
	}
	return clip(pan.Scrub(string(raw)), len(raw))
}

// view appends the masked, shortened form of the valid JSON value at the
// start of s (found under key) to b. When stop > 0, it may end as soon as b
// is longer than stop: the caller keeps only its first stop bytes (and
// needs one more to know that it is longer).
func view(b []byte, key string, s []byte, stop int) []byte {
	b, _ = value(b, key, s, stop)
	return b
}

// value appends the view of the value at the start of s and returns what
// follows it (nil once b is longer than stop > 0: the view ends there). s is
// valid JSON (Of checked it), so the scan trusts it.
func value(b []byte, key string, s []byte, stop int) ([]byte, []byte) {
	s = skipSpace(s)
	switch s[0] {
	case '{', '[':
		closing := byte('}')
		if s[0] == '[' {
			closing = ']'
		}
		b = append(b, s[0])
		s = skipSpace(s[1:])
		for first := true; s[0] != closing; first = false {
			if !first {
				b = append(b, ',')
				s = skipSpace(s[1:]) // the comma
			}
			k := key // an array's items are found under the array's key
			if closing == '}' {
				var rest []byte
				if n := journal.PlainToken(s); n > 0 {
					// Written as it is read (what the other branch does
					// with it, in one pass).
					k, rest = tokenString(s, n), s[n:]
					b = append(b, s[:n]...)
				} else {
					k, rest = str(s)
					b = journal.AppendString(b, k)
				}
				b = append(b, ':')
				s = skipSpace(skipSpace(rest)[1:]) // the colon
			}
			b, s = value(b, k, s, stop)
			if stop > 0 && len(b) > stop {
				return b, nil
			}
			s = skipSpace(s)
		}
		return append(b, closing), s[1:]
	case '"':
		if n := journal.PlainToken(s); n > 0 && (n == 2 || plainString(tokenString(s, n))) && !pan.ByKey(key) {
			// What the branch below writes of it: the token as it is.
			return append(b, s[:n]...), s[n:]
		}
		v, rest := str(s)
		if plainString(v) {
			// shortenString would mask it only: masked while it is written.
			return journal.AppendValue(b, key, v), rest
		}
		return journal.AppendString(b, shortenString(key, v)), rest
	case 't', 'n':
		return append(b, s[:4]...), s[4:]
	case 'f':
		return append(b, s[:5]...), s[5:]
	}
	n := 0
	for n < len(s) && strings.IndexByte("+-.0123456789eE", s[n]) >= 0 {
		n++
	}
	num := string(s[:n])
	if masked := pan.Value(key, num); masked != num {
		return journal.AppendString(b, masked), s[n:]
	}
	return append(b, s[:n]...), s[n:]
}

// shortenString masks a string found under key and shortens a long one. A
// string holding JSON (a CodePay biz_content, a data field sent as text) is
// masked as JSON.
func shortenString(key, v string) string {
	if t := strings.TrimSpace(v); len(t) > 1 && (t[0] == '{' || t[0] == '[') && validJSON([]byte(t)) {
		return string(view(nil, key, []byte(t), 0))
	}
	s := pan.Value(key, v)
	if len(s) > longString {
		cut := longString / 2
		for cut > 0 && !isRuneStart(s[cut]) {
			cut--
		}
		// The cut may leave the first digits of a longer run, not a card
		// number itself, looking like one: masked as one.
		return fmt.Sprintf("%s… (%d chars)", pan.Scrub(s[:cut]), len(s))
	}
	return s
}

// plainString reports whether shortenString(key, v) is pan.Value(key, v)
// whatever the key: v is not shortened (masking never makes a string longer
// than it was or than a secret's replacement, both within longString) and
// cannot be JSON text, its first byte being none that strings.TrimSpace
// removes nor '{' or '[' (TestPlainStringIsShortenString). Nearly every
// string of a body is such.
func plainString(v string) bool {
	if len(v) > longString {
		return false
	}
	if len(v) == 0 {
		return true
	}
	switch c := v[0]; c {
	case '{', '[', ' ', '\t', '\n', '\v', '\f', '\r':
		return false
	default:
		return c < utf8.RuneSelf
	}
}

// str reads the JSON string at the start of s: its value and what follows.
// An unescaped string (nearly all keys and values) is returned as a view of
// s, not a copy: a body has dozens of them, and copying each was the most
// frequent allocation of a journaled request. The view is sound because
// nothing in this package keeps a string it read past Of's return — values
// are copied into the output by appendQuoted, and pan returns either its
// input or a new string — and Of's input is not changed while it runs.
func str(s []byte) (string, []byte) {
	escaped := false
	for i := 1; i < len(s); i++ {
		switch s[i] {
		case '\\':
			escaped = true
			i++
		case '"':
			if !escaped {
				if i == 1 {
					return "", s[2:]
				}
				return unsafe.String(&s[1], i-1), s[i+1:]
			}
			var v string
			json.Unmarshal(s[:i+1], &v) // valid: Of checked the whole body
			return v, s[i+1:]
		}
	}
	return "", nil
}

// tokenString is the string a token of n bytes that journal.PlainToken
// accepted holds (str's value of it, without a copy, for the same reasons).
func tokenString(s []byte, n int) string {
	if n == 2 {
		return ""
	}
	return unsafe.String(&s[1], n-2)
}

func skipSpace(s []byte) []byte {
	for len(s) > 0 && (s[0] == ' ' || s[0] == '\t' || s[0] == '\n' || s[0] == '\r') {
		s = s[1:]
	}
	return s
}

func clip(s string, size int) string {
	if len(s) <= Limit {
		return s
	}
	cut := clipAt(s)
	return clipOwned(append(make([]byte, 0, cut+32), s[:cut]...), size)
}

// clipAt is where a text longer than Limit is cut: at Limit, or before the
// rune that straddles it.
func clipAt[S string | []byte](s S) int {
	cut := Limit
	for cut > 0 && !isRuneStart(s[cut]) {
		cut--
	}
	return cut
}

// clipOwned is clip of the text b, which the caller hands over: it is cut
// and ended in place and read as the string returned, without copying it
// into a string first and formatting a second copy (a payment's answer is
// longer than Limit: this ran on every one).
func clipOwned(b []byte, size int) string {
	if len(b) > Limit {
		b = b[:clipAt(b)]
	}
	b = scrubCut(b, 0) // b was cut: here, or by clip
	b = append(b, "… ("...)
	b = strconv.AppendInt(b, int64(size), 10)
	b = append(b, " bytes)"...)
	return unsafe.String(&b[0], len(b)) // b is ours and never written again
}

// scrubCut masks, in the text b[from:] that a clip has just cut, a card
// number that the cut made: the first digits of a run too long to be a
// card (an order number, a digit string) can pass for one once the rest is
// cut off (FuzzOfNeverLeaksAPAN found it). Every clip of a view or a text
// goes through it, so that Of and View clip alike.
//
// The text was masked before it was cut (view masks every value; a text
// is scrubbed whole), and a card number lies within one stretch of digits,
// spaces and dashes: the cut changed only the last stretch, and only that
// one is looked at — scanning the whole clip again was 4 % of a card
// payment, whose answer is clipped on every request.
func scrubCut(b []byte, from int) []byte {
	if from >= len(b) {
		return b
	}
	text := unsafe.String(&b[from], len(b)-from) // read before b is written
	last := pan.LastStretch(text)
	if len(text)-last < pan.MinDigits || !pan.HoldsPAN(text[last:]) {
		return b
	}
	return append(b[:from+last], pan.Scrub(text[last:])...) // a new string: not b's bytes
}

func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }

// Recorder is a ResponseWriter that keeps the status and the first bytes of
// the body written through it, for the journal.
type Recorder struct {
	http.ResponseWriter
	Status int
	buf    []byte
	// wrote is set by every Write; json says that buf is exactly the one
	// JSON value given to WriteJSON (see there).
	wrote, json bool
}

// WriteHeader implements http.ResponseWriter.
func (r *Recorder) WriteHeader(code int) {
	if r.Status == 0 {
		r.Status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

// Write implements http.ResponseWriter.
func (r *Recorder) Write(p []byte) (int, error) {
	if r.Status == 0 {
		r.Status = http.StatusOK
	}
	if room := 8*Limit - len(r.buf); room > 0 {
		r.buf = append(r.buf, p[:min(room, len(p))]...)
	}
	r.wrote, r.json = true, false
	return r.ResponseWriter.Write(p)
}

// Unwrap lets http.ResponseController reach the connection.
func (r *Recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// WriteJSON is Write of b, a whole answer that the caller made as one JSON
// value in valid UTF-8 (the card gateway's payment, written by its own
// encoder): Body then takes its view with OfJSON instead of checking it
// again. Any other write, before or after, makes Body check what it holds,
// as does an answer too long to be kept whole.
func (r *Recorder) WriteJSON(b []byte) (int, error) {
	first := len(r.buf) == 0 && !r.wrote
	n, err := r.Write(b)
	r.json = first && len(r.buf) == len(b)
	return n, err
}

// Body returns the view of what was written.
func (r *Recorder) Body() any {
	if r.json {
		return OfJSON(r.buf)
	}
	return Of(r.buf)
}

// KeepIn gives the recorder buf's memory to keep the answer in, before
// anything is written: a caller that journals many answers recycles it
// (Release) instead of allocating it on each.
func (r *Recorder) KeepIn(buf []byte) {
	if len(r.buf) == 0 && !r.wrote {
		r.buf = buf[:0]
	}
}

// Release returns the memory the answer was kept in, for KeepIn, once the
// answer is journaled: the recorder keeps nothing from now on (a later
// Write keeps its bytes in new memory).
func (r *Recorder) Release() []byte {
	b := r.buf
	r.buf, r.json = nil, false
	return b
}

// View is Body's view as a View: made as the journal records it.
func (r *Recorder) View() View { return ViewOf(r.buf, r.json) }

// escapeInvalid writes each byte of raw that is not UTF-8 as the text
// \\xNN (a JSON-escaped backslash, so that a JSON body still parses and is
// masked by its keys): decoding would replace it by U+FFFD, silently, and
// the journal keeps what a refused request really held.
func escapeInvalid(raw []byte) []byte {
	out := make([]byte, 0, len(raw)+16)
	for len(raw) > 0 {
		r, size := utf8.DecodeRune(raw)
		if r == utf8.RuneError && size == 1 {
			out = append(out, '\\', '\\', 'x', hexDigits[raw[0]>>4], hexDigits[raw[0]&0xf])
		} else {
			out = append(out, raw[:size]...)
		}
		raw = raw[size:]
	}
	return out
}

const hexDigits = "0123456789abcdef"
