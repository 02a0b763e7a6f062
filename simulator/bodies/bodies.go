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
	"strings"
	"unicode/utf8"

	"github.com/pspsim/pspsim/simulator/pan"
)

// Limit is the most a body view takes in the journal, in bytes of JSON: the
// journal keeps events of about 1.5 KB, a request and its answer included.
const Limit = 600

// longString is where a string value is shortened: ciphertexts, signatures
// and keys say nothing to a reader past their first characters.
const longString = 64

// Of returns the view of a body: nil when empty, a masked JSON value
// (object, array) when it parses and fits in Limit once shortened, else a
// string clipped to Limit with "…" and the original size.
func Of(raw []byte) any {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return nil
	}
	if !utf8.Valid(raw) {
		// Decoding would turn the bad bytes into U+FFFD, which hides what
		// was sent: show them as \xNN.
		return clip(pan.Scrub(escapeInvalid(raw)), len(raw))
	}
	if raw[0] == '{' || raw[0] == '[' {
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		var v any
		if dec.Decode(&v) == nil {
			v = shorten("", v)
			if b, err := json.Marshal(v); err == nil {
				if len(b) <= Limit {
					return v
				}
				return clip(string(b), len(raw))
			}
		}
	}
	return clip(pan.Scrub(string(raw)), len(raw))
}

// escapeInvalid writes raw with each byte that is not part of valid UTF-8
// as \xNN.
func escapeInvalid(raw []byte) string {
	var b strings.Builder
	for len(raw) > 0 {
		r, n := utf8.DecodeRune(raw)
		if r == utf8.RuneError && n == 1 {
			fmt.Fprintf(&b, `\x%02x`, raw[0])
		} else {
			b.Write(raw[:n])
		}
		raw = raw[n:]
	}
	return b.String()
}

func clip(s string, size int) string {
	if len(s) <= Limit {
		return s
	}
	cut := Limit
	for cut > 0 && !isRuneStart(s[cut]) {
		cut--
	}
	return fmt.Sprintf("%s… (%d bytes)", s[:cut], size)
}

func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }

// shorten masks and shortens a decoded JSON value. A string holding JSON
// (a CodePay biz_content, a data field sent as text) is masked as JSON.
func shorten(key string, v any) any {
	switch x := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = shorten(k, e)
		}
		return m
	case []any:
		s := make([]any, len(x))
		for i, e := range x {
			s[i] = shorten(key, e)
		}
		return s
	case json.Number:
		if masked := pan.Value(key, x.String()); masked != x.String() {
			return masked
		}
		return x
	case string:
		if t := strings.TrimSpace(x); len(t) > 1 && (t[0] == '{' || t[0] == '[') {
			var inner any
			dec := json.NewDecoder(strings.NewReader(t))
			dec.UseNumber()
			if dec.Decode(&inner) == nil {
				if b, err := json.Marshal(shorten(key, inner)); err == nil {
					return string(b)
				}
			}
		}
		s := pan.Value(key, x)
		if len(s) > longString {
			cut := longString / 2
			for cut > 0 && !isRuneStart(s[cut]) {
				cut--
			}
			return fmt.Sprintf("%s… (%d chars)", s[:cut], len(s))
		}
		return s
	default:
		return v
	}
}

// Recorder is a ResponseWriter that keeps the status and the first bytes of
// the body written through it, for the journal.
type Recorder struct {
	http.ResponseWriter
	Status int
	buf    []byte
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
	return r.ResponseWriter.Write(p)
}

// Unwrap lets http.ResponseController reach the connection.
func (r *Recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// Body returns the view of what was written.
func (r *Recorder) Body() any { return Of(r.buf) }
