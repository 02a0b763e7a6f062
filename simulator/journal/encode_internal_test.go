package journal

import (
	"math/rand/v2"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/pspsim/pspsim/simulator/pan"
)

// appendStringAsBefore is appendString as it was before it looked its bytes
// up in byteClass: the reference of the tests below.
func appendStringAsBefore(b []byte, s string) []byte {
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

func TestByteClass(t *testing.T) {
	for c := 0; c < 256; c++ {
		want := classPlain
		switch {
		case c >= utf8.RuneSelf:
			want = classMulti
		case c < 0x20 || strings.IndexByte(`"\<>&`, byte(c)) >= 0:
			want = classEscape
		case c >= '0' && c <= '9':
			want = classDigit
		case c == ' ' || c == '-':
			want = classSep
		}
		if int(byteClass[c]) != want {
			t.Errorf("byteClass[%#x] = %d, want %d", c, byteClass[c], want)
		}
	}
}

// valueSamples are strings of every kind: plain, escaped, multi-byte,
// invalid UTF-8, card numbers whole and grouped, long numbers that are
// none, stretches of 13 digits and more around the ones that are.
var valueSamples = []string{
	"", "x", "CAPTURED", "approved by the issuer and captured", "2d4aa6de-f700-4655-bfd5-1fe4fe647bae", "20261122100000305936",
	"086666075137001", "M086666075137", "400012******0019", "card 4000123456000019 declined", "4000 1234 5600 0019",
	"a\"b\\c\nd\re\tf\x01<g>&", "é€😀\u2028\u2029", "\xff\xfe 4000123456000019", "1234567 4000123456000019", "1-2-3-4-5-6-7-8-9-0-1-2-3",
	"0019 4000 1234 5600 0019 4000", "4000123456000019x4000123456000019", "--4000--1234--5600--0019", "ts 1709106082819 x",
	"4000123456000010 then 4000123456000019", "\x014000123456000019", "<4000123456000019>", "4222 2222 22222",
	`{"tradeNo":"20261122100000305936","orderNo":"B100000001","amount":"19.99","maskedCardNo":"400012******0019"}`,
}

// checkAppendValue holds appendString and AppendValue to the journal's
// writing before them: appendStringAsBefore of the string pan.Value masks.
func checkAppendValue(t testing.TB, s string) {
	t.Helper()
	if got, want := string(appendString([]byte("x"), s)), string(appendStringAsBefore([]byte("x"), s)); got != want {
		t.Fatalf("appendString(%q) = %s, before %s", s, got, want)
	}
	for _, key := range []string{"answer", "message", "cardNo", "cvv", "number"} {
		want := string(appendStringAsBefore([]byte("x"), pan.Value(key, s)))
		// In a buffer with little room (appended as it goes), and in ones
		// with room for s doubled (written byte by byte), just and more.
		for _, room := range []int{0, 2*len(s) + 2, 4*len(s) + 64} {
			b := append(make([]byte, 0, 1+room), 'x')
			if got := string(AppendValue(b, key, s)); got != want {
				t.Fatalf("AppendValue(%q, %q) with room %d = %s, before %s", key, s, room, got, want)
			}
		}
	}
}

// TestAppendValueIsAsBefore: the samples, then random texts of digits
// (card numbers among them), separators, letters and escaped bytes.
func TestAppendValueIsAsBefore(t *testing.T) {
	for _, s := range valueSamples {
		checkAppendValue(t, s)
	}
	rng := rand.New(rand.NewPCG(11, 12))
	const alphabet = "01234567890123456789234562345645 - - x*\"\\<\n\x01é\xff"
	pans := []string{"4000123456000019", "5100123456000015", "4222222222222", "4571736012345674", "20261122100000305936"}
	for range 100_000 {
		var b strings.Builder
		for range rng.IntN(80) {
			if rng.IntN(20) == 0 {
				b.WriteString(pans[rng.IntN(len(pans))])
				continue
			}
			b.WriteByte(alphabet[rng.IntN(len(alphabet))])
		}
		checkAppendValue(t, b.String())
	}
}

func FuzzAppendValueIsAsBefore(f *testing.F) {
	for _, s := range valueSamples {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		checkAppendValue(t, s)
	})
}

func BenchmarkAppendValue(b *testing.B) {
	answer := `{"tradeNo":"20261122100000305936","orderNo":"B100000001","status":"CAPTURED","paymentMethodType":"card","amount":"19.99","currency":"USD","authorizedAmount":"19.99","capturedAmount":"19.99","refundedAmount":"0.00","captureMethod":"auto","environment":"sandbox","description":"test order","threeDs":{"mode":"auto","flow":"frictionless","version":"2.2.0","transStatus":"Y","eci":"05","dsTransId":"2d4aa6de-f700-4655-bfd5-1fe4fe647bae","acsTransId":"a9b923c4-4378-4f40-a54c-61e777837df3","threeDsServerTransId":"e0d866ae-779a-4149-8074-961f8e4de246","liabilityShift":true},"nextAction":{"type":"none"},"… (722 bytes)`
	buf := make([]byte, 0, 4096)
	for _, c := range []struct{ name, s string }{{"short", "approved by the issuer and captured"}, {"answer", answer}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				buf = AppendValue(buf[:0], "answer", c.s)
			}
		})
		b.Run(c.name+"/before", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				buf = appendStringAsBefore(buf[:0], pan.Value("answer", c.s))
			}
		})
	}
}

// checkPlainToken holds PlainToken to its word on the token of s: a token
// it accepts (its whole length, the quote that ends it included) is what
// AppendString and AppendValue, under a key that does not mask by name,
// write of s. A quote ends the token: s is cut there.
func checkPlainToken(t testing.TB, s string) bool {
	t.Helper()
	if i := strings.IndexByte(s, '"'); i >= 0 {
		s = s[:i]
	}
	token := `"` + s + `"`
	n := PlainToken([]byte(token + `,"x"`))
	if n == 0 {
		return false
	}
	if n != len(token) {
		t.Fatalf("PlainToken(%q) = %d", token, n)
	}
	if got := string(AppendString(nil, s)); got != token {
		t.Fatalf("PlainToken accepts %q, AppendString writes %s", token, got)
	}
	for _, key := range []string{"", "answer", "orderNo", "x"} {
		if got := string(AppendValue(nil, key, s)); got != token {
			t.Fatalf("PlainToken accepts %q, AppendValue under %q writes %s", token, key, got)
		}
	}
	return true
}

// TestPlainTokenIsAsWritten: the samples, random texts (as
// TestAppendValueIsAsBefore's), and tokens it must refuse: unclosed.
func TestPlainTokenIsAsWritten(t *testing.T) {
	accepted := 0
	for _, s := range valueSamples {
		if checkPlainToken(t, s) {
			accepted++
		}
	}
	if accepted < 5 || accepted == len(valueSamples) {
		t.Errorf("%d of %d samples accepted: the test tests little", accepted, len(valueSamples))
	}
	rng := rand.New(rand.NewPCG(15, 16))
	const alphabet = "01234567890123456789234562345645 - - x*\"\\<\n\x01é\xff"
	for range 100_000 {
		var b strings.Builder
		for range rng.IntN(40) {
			b.WriteByte(alphabet[rng.IntN(len(alphabet))])
		}
		checkPlainToken(t, b.String())
	}
	for _, s := range []string{`"`, `"abc`, `"abc\"`, "\"\xff\"", `"4000123456000019"`, `"1 2 3 4 5 6 7 8 9 0 1 2 3"`} {
		if n := PlainToken([]byte(s)); n != 0 {
			t.Errorf("PlainToken(%q) = %d, want 0", s, n)
		}
	}
}

func FuzzPlainTokenIsAsWritten(f *testing.F) {
	for _, s := range valueSamples {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		checkPlainToken(t, s)
	})
}

// TestLessIsCompare holds less to the comparison of strings.
func TestLessIsCompare(t *testing.T) {
	words := []string{"", "a", "b", "ab", "ba", "aa", "abc", "\xff", "\x00", "A", "amountMinor", "amount", "tradeNo", "threeDsServerTransId"}
	for _, a := range words {
		for _, b := range words {
			if got := less(a, b); got != (a < b) {
				t.Errorf("less(%q, %q) = %v", a, b, got)
			}
		}
	}
}
