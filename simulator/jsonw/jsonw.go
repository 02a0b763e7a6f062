// Package jsonw writes JSON by hand where encoding/json's reflection is a
// measurable part of a hot request (a gateway payment's answer, Genstore's
// pay-transaction answer), byte for byte as encoding/json would write it.
package jsonw

import (
	"encoding/json"
	"net/http"
)

// AppendString appends s as encoding/json writes a string. Text of printable
// ASCII without a quote, a backslash or an HTML character (every id, amount
// and time the systems write) is written as it is; anything else is left to
// encoding/json, which alone decides its escapes (U+FFFD for invalid UTF-8,
// \u2028, \b...).
func AppendString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if plainBytes[s[i]] == 0 {
			q, _ := json.Marshal(s)
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// plainBytes marks with 1 the bytes AppendString writes as they are:
// printable ASCII but a quote, a backslash and the HTML characters. One
// look-up a byte where there were seven comparisons (every string of a
// payment's answer is read so; TestPlainBytes holds the table to its
// definition).
const plainBytes = "" +
	"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00" +
	"\x01\x01\x00\x01\x01\x01\x00\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x00\x01\x00\x01" +
	"\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x00\x01\x01\x01" +
	"\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x00" +
	"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00" +
	"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00" +
	"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00" +
	"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"

// jsonContentType is the value SetContentType gives the header: one slice
// shared by every answer, never written to (see SetContentType).
var jsonContentType = []string{"application/json"}

// SetContentType sets h's Content-Type to application/json, as
// h.Set("Content-Type", "application/json") does, without allocating the
// one-element slice Set makes on every answer: h holds a slice shared by
// every answer. Nothing writes into a header's value slices in place
// (net/http and httptest read or copy them; Header.Add appends, which
// copies a full slice first: its capacity is its length), so sharing it
// is safe.
func SetContentType(h http.Header) {
	h["Content-Type"] = jsonContentType[:1:1]
}
