// Package pan recognises and masks primary account numbers, so that no card
// number reaches a log line, a journal event, an error or a page. Masking keeps
// the first six and last four digits: 4000123456000019 → 400012******0019.
package pan

import "strings"

// Luhn reports whether s (digits only) passes the Luhn check.
func Luhn(s string) bool {
	if len(s) < 2 {
		return false
	}
	sum := 0
	double := false
	for i := len(s) - 1; i >= 0; i-- {
		c := s[i]
		if c < '0' || c > '9' {
			return false
		}
		d := int(c - '0')
		if double {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
		double = !double
	}
	return sum%10 == 0
}

// Mask keeps the first six and last four digits of a card number and replaces
// the rest by '*'. Shorter inputs keep only their last four characters.
func Mask(pan string) string {
	n := len(pan)
	switch {
	case n >= 13:
		return pan[:6] + strings.Repeat("*", n-10) + pan[n-4:]
	case n > 4:
		return strings.Repeat("*", n-4) + pan[n-4:]
	default:
		return strings.Repeat("*", n)
	}
}

// LooksLikePAN reports whether a run of digits is plausibly a card number: 13
// to 19 digits, Luhn-valid, starting in a card network's range (2221–2720,
// 3, 4, 5, 6). The range check keeps millisecond timestamps and most order
// numbers, which start with 1 or 20, from being masked by accident.
func LooksLikePAN(d string) bool {
	if len(d) < 13 || len(d) > 19 || !Luhn(d) {
		return false
	}
	switch d[0] {
	case '3', '4', '5', '6':
		return true
	case '2':
		p := (int(d[1]-'0')*10+int(d[2]-'0'))*10 + int(d[3]-'0')
		return p >= 221 && p <= 720
	}
	return false
}

// Scrub masks every card number inside free text. Digits may be grouped by
// single spaces or dashes ("4000 1234 5600 0019"); the masked form drops the
// grouping.
func Scrub(s string) string {
	if !hasLongDigitRun(s) {
		return s
	}
	var out strings.Builder
	i := 0
	for i < len(s) {
		if !isDigit(s[i]) || (i > 0 && isDigit(s[i-1])) {
			out.WriteByte(s[i])
			i++
			continue
		}
		// Collect a run of digits with single-character separators.
		j := i
		var digits []byte
		end := i
		for j < len(s) {
			if isDigit(s[j]) {
				digits = append(digits, s[j])
				j++
				end = j
				continue
			}
			if (s[j] == ' ' || s[j] == '-') && j+1 < len(s) && isDigit(s[j+1]) && len(digits) > 0 {
				j++
				continue
			}
			break
		}
		if LooksLikePAN(string(digits)) {
			out.WriteString(Mask(string(digits)))
		} else {
			out.WriteString(s[i:end])
		}
		i = end
	}
	return out.String()
}

func hasLongDigitRun(s string) bool {
	run := 0
	for i := 0; i < len(s); i++ {
		switch {
		case isDigit(s[i]):
			run++
			if run >= 4 {
				return true
			}
		case s[i] == ' ' || s[i] == '-':
		default:
			run = 0
		}
	}
	return false
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// sensitiveKeys are field names whose values are secrets whatever they look
// like. Keys are compared in lower case with '_' and '-' removed.
var sensitiveKeys = map[string]string{
	"cvv": "***", "cvc": "***", "cvv2": "***", "cvc2": "***", "securitycode": "***",
	"secret": "[redacted]", "clientsecret": "[redacted]", "privatekey": "[redacted]",
	"password": "[redacted]", "accesstoken": "[redacted]", "authorization": "[redacted]",
	"otp": "***", "plaintext": "[redacted]",
}

var panKeys = map[string]bool{"pan": true, "cardno": true, "cardnumber": true, "number": true, "accountnumber": true}

// keyNormalizer drops the separators of field names; built once because
// masking runs on every journaled value (it was a quarter of a payment's cost).
var keyNormalizer = strings.NewReplacer("_", "", "-", "")

func normKey(k string) string {
	return keyNormalizer.Replace(strings.ToLower(k))
}

// Value masks a value found under key: secrets by name, card numbers by name
// or by shape.
func Value(key string, v string) string {
	nk := normKey(key)
	if r, ok := sensitiveKeys[nk]; ok {
		return r
	}
	if panKeys[nk] {
		if d := onlyDigits(v); len(d) >= 12 {
			return Mask(d)
		}
	}
	return Scrub(v)
}

// Redact walks decoded JSON-like data (maps, slices, strings) and returns a
// copy in which secrets and card numbers are masked. Use it on anything that
// goes into the journal.
func Redact(v any) any {
	return redact("", v)
}

func redact(key string, v any) any {
	switch x := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = redact(k, e)
		}
		return m
	case map[string]string:
		m := make(map[string]string, len(x))
		for k, e := range x {
			m[k] = Value(k, e)
		}
		return m
	case []any:
		s := make([]any, len(x))
		for i, e := range x {
			s[i] = redact(key, e)
		}
		return s
	case string:
		return Value(key, x)
	default:
		return v
	}
}

func onlyDigits(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if isDigit(s[i]) {
			b.WriteByte(s[i])
		} else if s[i] != ' ' && s[i] != '-' {
			return ""
		}
	}
	return b.String()
}
