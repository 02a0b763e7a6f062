// Package pan recognises and masks primary account numbers, so that no card
// number reaches a log line, a journal event, an error or a page. Masking keeps
// the first six and last four digits: 4000123456000019 → 400012******0019.
package pan

import "strings"

// Luhn reports whether s (digits only) passes the Luhn check.
func Luhn(s string) bool { return luhn(s) }

func luhn[T string | []byte](s T) bool {
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
//
// The masked number is written into one allocation (strings.Repeat and a
// concatenation made two): every card payment masks its number three times.
func Mask(pan string) string {
	n := len(pan)
	keep, tail := 0, 0 // digits kept in front, and at the end
	switch {
	case n >= 13:
		keep, tail = 6, 4
	case n > 4:
		tail = 4
	}
	var b strings.Builder
	b.Grow(n)
	b.WriteString(pan[:keep])
	for range n - keep - tail {
		b.WriteByte('*')
	}
	b.WriteString(pan[n-tail:])
	return b.String()
}

// LooksLikePAN reports whether a run of digits is plausibly a card number: 13
// to 19 digits, Luhn-valid, starting in a card network's range (2221–2720,
// 3, 4, 5, 6). The range check keeps millisecond timestamps and most order
// numbers, which start with 1 or 20, from being masked by accident.
func LooksLikePAN(d string) bool { return looksLikePAN(d) }

func looksLikePAN[T string | []byte](d T) bool {
	if len(d) < 13 || len(d) > 19 {
		return false
	}
	// The range before the Luhn sum: most long runs that are no card
	// (timestamps, app ids, trade numbers) fail it at the first digit.
	switch d[0] {
	case '3', '4', '5', '6':
	case '2':
		p := (int(d[1]-'0')*10+int(d[2]-'0'))*10 + int(d[3]-'0')
		if p < 221 || p > 720 {
			return false
		}
	default:
		return false
	}
	return luhn(d)
}

// canStartPAN reports whether a card number may begin with the digit c
// (looksLikePAN's first condition on its first digit).
func canStartPAN(c byte) bool { return c >= '2' && c <= '6' }

// Scrub masks every card number inside free text. Digits may be grouped by
// single spaces or dashes ("4000 1234 5600 0019"); the masked form drops the
// grouping. A grouped run may hold more than a card number — an expiry and a
// CVV after it ("4571736012345674 1230 7319"), a reference before it — so
// within a run every span of whole groups is tried, longest first from the
// left, and each span that looks like a card number is masked on its own.
func Scrub(s string) string {
	if !holdsPAN(s) {
		return s // most text holds long numbers (ids, timestamps), no card
	}
	var out strings.Builder
	out.Grow(len(s))
	eachRun(s, &out)
	return out.String()
}

// hasPAN reports whether Scrub would mask anything in s: whether a run of
// digit groups (joined by single spaces or dashes, as eachRun reads them)
// holds a span that looks like a card number. A run of fewer than 13 digits
// holds none and is not looked into: a payment's ids and times are runs of
// a few digits, a trade number one run without a card (FuzzScrubIsItsSlowPath
// holds Scrub to writing every text through eachRun).
func hasPAN(s string) bool {
	var gbuf [16][2]int
	var dbuf [19]byte
	for i := 0; i < len(s); {
		if !isDigit(s[i]) {
			i++
			continue
		}
		groups, digits := digitRun(s, i, gbuf[:0])
		if digits >= minPANDigits && scrubRun(nil, s, groups, dbuf[:0]) {
			return true
		}
		i = groups[len(groups)-1][1]
	}
	return false
}

// eachRun writes s to out with every card number masked: each run of digit
// groups (joined by single spaces or dashes) through scrubRun.
func eachRun(s string, out *strings.Builder) {
	var gbuf [16][2]int
	var dbuf [19]byte
	i := 0
	for i < len(s) {
		if !isDigit(s[i]) {
			out.WriteByte(s[i])
			i++
			continue
		}
		groups, _ := digitRun(s, i, gbuf[:0])
		scrubRun(out, s, groups, dbuf[:0])
		i = groups[len(groups)-1][1]
	}
}

// digitRun appends to groups the run of digit groups joined by single
// spaces or dashes that starts at s[i] (a digit), as [start, end) pairs,
// and returns them with how many digits they hold. hasPAN and eachRun read
// runs alike through it.
func digitRun(s string, i int, groups [][2]int) ([][2]int, int) {
	digits := 0
	j := i
	for {
		start := j
		for j < len(s) && isDigit(s[j]) {
			j++
		}
		groups = append(groups, [2]int{start, j})
		digits += j - start
		if j+1 < len(s) && (s[j] == ' ' || s[j] == '-') && isDigit(s[j+1]) {
			j++
			continue
		}
		return groups, digits
	}
}

// scrubRun writes one run of digit groups to out (when not nil), masking
// every span of whole groups that looks like a card number, and reports
// whether it masked one. digits is scratch space.
func scrubRun(out *strings.Builder, s string, groups [][2]int, digits []byte) bool {
	found := false
	for g := 0; g < len(groups); {
		end := -1
		if canStartPAN(s[groups[g][0]]) {
			// (Every span from g begins with this digit: when no card number
			// can, none is, and its digits need not be gathered.)
			end, digits = panSpan(s, groups, g, digits)
		}
		if end >= 0 {
			if out == nil {
				return true
			}
			out.WriteString(Mask(string(digits)))
			g = end + 1
			found = true
		} else {
			if out != nil {
				out.WriteString(s[groups[g][0]:groups[g][1]])
			}
			g++
		}
		if g < len(groups) && out != nil {
			// The separator between this span and the next group.
			out.WriteString(s[groups[g-1][1]:groups[g][0]])
		}
	}
	return found
}

// panSpan finds the longest span of groups starting at g whose digits
// (at most 19) look like a card number, shrinking from the longest: it
// returns the span's last group and its digits (in digits, scratch space),
// or -1.
func panSpan(s string, groups [][2]int, g int, digits []byte) (int, []byte) {
	last := g
	n := 0
	for last < len(groups) && n+groups[last][1]-groups[last][0] <= 19 {
		n += groups[last][1] - groups[last][0]
		last++
	}
	for end := last - 1; end >= g; end-- {
		digits = digits[:0]
		for k := g; k <= end; k++ {
			digits = append(digits, s[groups[k][0]:groups[k][1]]...)
		}
		if looksLikePAN(digits) {
			return end, digits
		}
	}
	return -1, digits
}

// longDigitRun returns where the first stretch of s that holds enough
// digits, counted across spaces and dashes, to make a card number (13)
// begins, or -1. The runs eachRun reads are digit groups joined by single
// separators, so a text without such a count holds no card, and most texts
// (ids, timestamps, amounts) stop here; no run of digit groups begins in a
// stretch before the one returned and ends after its start, so hasPAN may
// read s from there.
//
// The count is kept without a branch per byte (runClass): ids, UUIDs and
// amounts mix digits and letters at random, and a branch on each
// mispredicted often.
func longDigitRun(s string) int {
	// The count is the digits read (n) less those read when the stretch
	// began (at): chains of one operation per byte, where the count kept
	// itself (an add, then a mask).
	n, at := 0, 0
	for i := 0; i < len(s); i++ {
		k := runClass[s[i]]
		n += int(k & 1)
		if k == 0 {
			at = n
		}
		if n-at >= minPANDigits {
			from := i
			for from > 0 && runClass[s[from-1]] != 0 {
				from--
			}
			return from
		}
	}
	return -1
}

// runClass is, for each byte, 3 for a digit (bit 0: counted; bit 1: the
// stretch goes on), 2 for a space or dash, 0 for any other (TestRunClass).
const runClass = "" +
	"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00" +
	"\x02\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x00\x03\x03\x03\x03\x03\x03\x03\x03\x03\x03\x00\x00\x00\x00\x00\x00" +
	"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00" +
	"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00" +
	"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00" +
	"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00" +
	"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00" +
	"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"

// minPANDigits is the fewest digits looksLikePAN accepts.
const minPANDigits = 13

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// The field names whose values are secrets whatever they look like (with
// their replacement), and those that hold card numbers, are the cases of
// keyClass's switch: compared in lower case with '_' and '-' removed. A switch
// on the name costs a few comparisons where two map lookups hashed it twice,
// on every journaled value and log attribute.

// keyClass says what a field name is, compared in lower case without '_'
// and '-': a secret (its replacement), a card number field, or neither.
// It runs on every journaled value and log attribute, so it normalises the
// name on the stack and allocates nothing.
func keyClass(k string) (secret string, isPAN bool) {
	if len(k) > 32 {
		return "", false // longer than any name of either list
	}
	// Every name of the lists begins with one of six letters, and ends with
	// one of a few after each: most names (ids, a body's fields) are told
	// apart by their first and last letters, without being normalised and
	// compared (TestKeyClassIsAsBefore).
	i, last := 0, len(k)-1
	for i < len(k) && (k[i] == '_' || k[i] == '-') {
		i++
	}
	if i == len(k) {
		return "", false
	}
	for k[last] == '_' || k[last] == '-' {
		last--
	}
	// In lower case: 'A'–'Z' become 'a'–'z'; a byte that becomes one of
	// the letters or '2' compared with otherwise is one already (or, for
	// '2', a control byte, which is only looked into further).
	if !endsOfName(k[i]|0x20, k[last]|0x20) {
		return "", false
	}
	var buf [32]byte
	n := 0
	for i := 0; i < len(k); i++ {
		c := k[i]
		switch {
		case c == '_' || c == '-':
			continue
		case c >= 'A' && c <= 'Z':
			c += 'a' - 'A'
		}
		buf[n] = c
		n++
	}
	switch string(buf[:n]) { // no allocation: the compiler compares in place
	case "cvv", "cvc", "cvv2", "cvc2", "securitycode", "otp":
		return "***", false
	case "secret", "clientsecret", "privatekey", "password", "accesstoken", "authorization", "plaintext":
		return "[redacted]", false
	case "pan", "cardno", "cardnumber", "number", "accountnumber":
		return "", true
	}
	return "", false
}

// endsOfName reports whether a name of keyClass's lists begins with first
// and ends with last (in lower case).
func endsOfName(first, last byte) bool {
	switch first {
	case 'c': // cvv, cvc, cvv2, cvc2, clientsecret, cardno, cardnumber
		return last == 'v' || last == 'c' || last == '2' || last == 't' || last == 'o' || last == 'r'
	case 's': // securitycode, secret
		return last == 'e' || last == 't'
	case 'o': // otp
		return last == 'p'
	case 'p': // privatekey, password, plaintext, pan
		return last == 'y' || last == 'd' || last == 't' || last == 'n'
	case 'a': // accesstoken, authorization, accountnumber
		return last == 'n' || last == 'r'
	case 'n': // number
		return last == 'r'
	}
	return false
}

// Value masks a value found under key: secrets by name, card numbers by name
// or by shape.
func Value(key string, v string) string {
	secret, isPAN := keyClass(key)
	if secret != "" {
		return secret
	}
	if isPAN {
		if d := onlyDigits(v); len(d) >= 12 {
			return Mask(d)
		}
	}
	return Scrub(v)
}

// ByKey reports whether Value judges the values found under key by the
// key's name — a secret's, a card number field's — and not by their shape
// alone: under any other key, Value(key, v) is Scrub(v), and a writer may
// look for card numbers in v with HoldsPAN while it copies v (the journal
// writes its strings so, in one pass).
func ByKey(key string) bool {
	secret, isPAN := keyClass(key)
	return secret != "" || isPAN
}

// HoldsPAN reports whether Scrub masks anything in s (Scrub(s) != s).
func HoldsPAN(s string) bool { return holdsPAN(s) }

// holdsPAN is hasPAN(s) looked into only in the stretches of digits, spaces
// and dashes that hold as many digits as a card number (longDigitRun): a
// run of digit groups lies in one stretch, and one of fewer digits holds
// no card. A text with a long number (a trade number in a payment's
// answer) was read from there to its end, each short run of digits after
// it (amounts, dates, ids) gathered into groups and counted, where the
// count without a branch of longDigitRun finds the next long stretch
// (TestHoldsPANIsScrub).
func holdsPAN(s string) bool {
	for {
		i := longDigitRun(s)
		if i < 0 {
			return false
		}
		end := i + 1
		for end < len(s) && runClass[s[end]] != 0 {
			end++
		}
		if hasPAN(s[i:end]) {
			return true
		}
		s = s[end:]
	}
}

// LastStretch returns where the stretch of digits, spaces and dashes that
// ends s begins (len(s) when s ends with another byte). A card number lies
// within one such stretch, so a text cut short can hold a card number its
// cut made only there: a writer that masked the whole text before cutting
// it looks at that stretch alone (bodies' clip).
func LastStretch(s string) int {
	i := len(s)
	for i > 0 && runClass[s[i-1]] != 0 {
		i--
	}
	return i
}

// MinDigits is the fewest digits a card number has: a text in which no
// stretch of digits, spaces and dashes holds as many holds none
// (HoldsPAN is false).
const MinDigits = minPANDigits

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

// onlyDigits returns the digits of s when s holds nothing else than digits,
// spaces and dashes, else "". A card number field holds digits only, most
// of the time: s itself is returned then, without a copy.
func onlyDigits(s string) string {
	i := 0
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	if i == len(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	b.WriteString(s[:i])
	for ; i < len(s); i++ {
		if isDigit(s[i]) {
			b.WriteByte(s[i])
		} else if s[i] != ' ' && s[i] != '-' {
			return ""
		}
	}
	return b.String()
}
