package bodies

import (
	"strconv"
	"strings"
	"unicode/utf8"
	"unsafe"

	"github.com/pspsim/pspsim/simulator/journal"
	"github.com/pspsim/pspsim/simulator/pan"
)

// A view longer than Limit is journaled as text: clipped, then written as
// a JSON string by journal.AppendValue, which reads the whole text again to
// escape its quotes and to count the digits of every stretch of digits,
// spaces and dashes (a card payment's answer is clipped on every request:
// that second pass was a quarter of the journal's view of its bodies).
// textView makes the view as that string in the same pass: a key or string
// that journal.PlainToken accepted (nearly all of an answer) is known to
// need no escape but its quotes and to hold no stretch long enough to be
// looked into, and is copied as it is; any other piece of the view (a
// string written by journal.AppendString or AppendValue, a number) is
// looked at, as AppendValue would look at it, right after it is written. A
// stretch never crosses from one piece into another (a quote, a comma, a
// colon or a bracket lies between), so looking at each piece alone looks at
// every stretch. Where AppendValue would mask or escape more than the
// quotes and backslashes (a stretch holding a card number once the view is
// text, a byte that is not the view's), textView gives up and the caller
// makes the view as before (TestTextViewIsAsBefore, FuzzTextViewIsAsBefore,
// FuzzViewIsOfInTheJournal).

// textView is the state of a view made as the text of a JSON string.
type textView struct {
	b []byte
	// start is where the text begins in b, after its opening quote; extra
	// counts the backslashes written before its quotes and backslashes: the
	// text itself is len(b)-start-extra bytes long.
	start, extra int
	// syncAt is a place in b where a piece of the view begins, and syncLen
	// the text's length there: the place where the text is Limit long is
	// looked for from there.
	syncAt, syncLen int
	// bad says that AppendValue would write the text otherwise than with
	// its quotes and backslashes escaped: the view is to be made as before.
	bad bool
}

// textLen is the length of the text made so far.
func (t *textView) textLen() int { return len(t.b) - t.start - t.extra }

// appendTextView appends, when it can, what AppendRedactedJSON appends of
// the view of raw (a JSON object or array in valid UTF-8) found under key,
// made as text, and reports whether it did: not when key masks by name or
// the text would be masked or escaped otherwise than by its quotes and
// backslashes. A view that fits in Limit after all (long strings
// shortened, space dropped) is JSON: its backslashes are taken out again.
// Either way what b held is kept.
func appendTextView(b []byte, key string, raw []byte) ([]byte, bool) {
	if pan.ByKey(key) {
		return b, false
	}
	mark := len(b)
	t := textView{b: append(b, '"')}
	t.start = len(t.b)
	t.syncAt = t.start
	t.value("", raw)
	if t.bad {
		return t.b[:mark], false
	}
	if t.textLen() <= Limit {
		// The whole view, not clipped: as JSON, it is the text read back.
		w := mark
		for r := t.start; r < len(t.b); r++ {
			c := t.b[r]
			if c == '\\' {
				r++
				c = t.b[r]
			}
			t.b[w] = c
			w++
		}
		return t.b[:w], true
	}
	// The place of the text's byte at Limit, then clipAt's cut before the
	// rune that straddles it (a rune's bytes are never escaped). In the
	// text as written, a backslash begins a pair that stands for one byte.
	at, n := t.syncAt, t.syncLen
	for ; n < Limit; n++ {
		if t.b[at] == '\\' {
			at++
		}
		at++
	}
	for at > t.start && !isRuneStart(t.b[at]) {
		at--
	}
	// clipOwned's ending: the last stretch, cut, masked as scrubCut masks
	// it (its digits, spaces and dashes are never escaped, so it reads the
	// same here), and the size; then both are looked at as a piece, from
	// where that stretch began.
	last := t.start + pan.LastStretch(unsafe.String(&t.b[t.start], at-t.start))
	t.b = scrubCut(t.b[:at], t.start)
	t.b = append(t.b, "… ("...)
	t.b = strconv.AppendInt(t.b, int64(len(raw)), 10)
	t.b = append(t.b, " bytes)"...)
	t.piece(last)
	if t.bad {
		return t.b[:mark], false
	}
	return append(t.b, '"'), true
}

// value is view's value (without a stop: the text ends once longer than
// Limit), writing the view as text; it returns nil once the text is longer
// than Limit or bad is set.
func (t *textView) value(key string, s []byte) []byte {
	s = skipSpace(s)
	switch s[0] {
	case '{', '[':
		closing := byte('}')
		if s[0] == '[' {
			closing = ']'
		}
		t.b = append(t.b, s[0])
		s = skipSpace(s[1:])
		for first := true; s[0] != closing; first = false {
			if !first {
				t.b = append(t.b, ',')
				s = skipSpace(s[1:])
			}
			k := key
			if closing == '}' {
				var rest []byte
				if n := journal.PlainToken(s); n > 0 {
					k, rest = tokenString(s, n), s[n:]
					t.token(s[:n])
				} else {
					k, rest = str(s)
					at := len(t.b)
					t.b = journal.AppendString(t.b, k)
					t.piece(at)
				}
				t.b = append(t.b, ':')
				s = skipSpace(skipSpace(rest)[1:])
			}
			s = t.value(k, s)
			if t.bad || t.textLen() > Limit {
				return nil
			}
			t.syncAt, t.syncLen = len(t.b), t.textLen()
			s = skipSpace(s)
		}
		t.b = append(t.b, closing)
		return s[1:]
	case '"':
		if n := journal.PlainToken(s); n > 0 && (n == 2 || plainString(tokenString(s, n))) && !pan.ByKey(key) {
			t.token(s[:n])
			return s[n:]
		}
		v, rest := str(s)
		at := len(t.b)
		if plainString(v) {
			t.b = journal.AppendValue(t.b, key, v)
			if w := t.b[at:]; len(w) == len(v)+2 && string(w[1:len(w)-1]) == v && !pan.ByKey(key) {
				// Written as it is by appendScrubbed: nothing in v is
				// escaped, and no stretch in it holds a card number (a
				// stretch that did would have been masked), as piece
				// would find again (a trade number: HoldsPAN twice). Only
				// its quotes are escaped.
				n := len(t.b)
				t.b = append(t.b, 0, 0)
				copy(t.b[at+2:], t.b[at+1:n-1])
				t.b[at], t.b[at+1], t.b[n], t.b[n+1] = '\\', '"', '\\', '"'
				t.extra += 2
				return rest
			}
		} else {
			t.b = journal.AppendString(t.b, shortenString(key, v))
		}
		t.piece(at)
		return rest
	case 't', 'n':
		t.b = append(t.b, s[:4]...)
		return s[4:]
	case 'f':
		t.b = append(t.b, s[:5]...)
		return s[5:]
	}
	n := 0
	for n < len(s) && strings.IndexByte("+-.0123456789eE", s[n]) >= 0 {
		n++
	}
	num := string(s[:n])
	at := len(t.b)
	if masked := pan.Value(key, num); masked != num {
		t.b = journal.AppendString(t.b, masked)
	} else {
		t.b = append(t.b, s[:n]...)
	}
	t.piece(at)
	return s[n:]
}

// token writes a token that journal.PlainToken accepted: as it is, its two
// quotes escaped. Nothing else in it is escaped and no stretch in it holds
// MinDigits digits (PlainToken's contract): AppendValue would copy it.
func (t *textView) token(tok []byte) {
	t.b = append(t.b, '\\', '"')
	t.b = append(t.b, tok[1:len(tok)-1]...)
	t.b = append(t.b, '\\', '"')
	t.extra += 2
}

// piece looks at the text b[at:], just written and not escaped, preceded by
// a byte that is no digit, space or dash: it sets bad where AppendValue
// would escape more than its quotes and backslashes (a control or HTML
// character, a byte that is not UTF-8, U+2028 or U+2029) or mask a stretch
// in it (pan.HoldsPAN on a stretch with MinDigits digits or more, as
// AppendValue asks), and escapes its quotes and backslashes otherwise.
func (t *textView) piece(at int) {
	p := t.b[at:]
	quotes, run := 0, 0
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch {
		case '0' <= c && c <= '9':
			run++
			if run < pan.MinDigits {
				continue
			}
			from, end := i, i+1
			for from > 0 && isStretch(p[from-1]) {
				from--
			}
			for end < len(p) && isStretch(p[end]) {
				end++
			}
			if pan.HoldsPAN(unsafe.String(&p[from], end-from)) {
				t.bad = true
				return
			}
			i, run = end-1, 0
			continue
		case c == ' ' || c == '-':
			continue
		case c == '"' || c == '\\':
			quotes++
		case c < ' ' || c == '<' || c == '>' || c == '&':
			t.bad = true
			return
		case c >= utf8.RuneSelf:
			r, size := utf8.DecodeRune(p[i:])
			if r == utf8.RuneError && size == 1 || r == '\u2028' || r == '\u2029' {
				t.bad = true
				return
			}
			i += size - 1
		}
		run = 0
	}
	if quotes == 0 {
		return
	}
	// Escaped in place, from the end.
	n := len(t.b)
	t.b = append(t.b, make([]byte, quotes)...)
	w := len(t.b)
	for r := n - 1; r >= at && w > r+1; r-- {
		c := t.b[r]
		w--
		t.b[w] = c
		if c == '"' || c == '\\' {
			w--
			t.b[w] = '\\'
		}
	}
	t.extra += quotes
}

// isStretch says that c belongs to a stretch of digits, spaces and dashes.
func isStretch(c byte) bool { return '0' <= c && c <= '9' || c == ' ' || c == '-' }
