// Package jsonw writes JSON by hand where encoding/json's reflection is a
// measurable part of a hot request (a gateway payment's answer, Genstore's
// pay-transaction answer), byte for byte as encoding/json would write it.
package jsonw

import "encoding/json"

// AppendString appends s as encoding/json writes a string. Text of printable
// ASCII without a quote, a backslash or an HTML character (every id, amount
// and time the systems write) is written as it is; anything else is left to
// encoding/json, which alone decides its escapes (U+FFFD for invalid UTF-8,
// \u2028, \b...).
func AppendString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s)
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}
