package bodies

import (
	"encoding/json"
	"math/rand/v2"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/pspsim/pspsim/simulator/journal"
	"github.com/pspsim/pspsim/simulator/pan"
)

// valueAsBefore is value as it was before keys and strings that
// journal.PlainToken accepts were copied as they are: every key read (str)
// and written (AppendString), every string read and written through
// AppendValue or shortenString. It is the oracle of TestViewIsAsBefore.
func valueAsBefore(b []byte, key string, s []byte, stop int) ([]byte, []byte) {
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
				s = skipSpace(s[1:])
			}
			k := key
			if closing == '}' {
				var rest []byte
				k, rest = str(s)
				b = journal.AppendString(b, k)
				b = append(b, ':')
				s = skipSpace(skipSpace(rest)[1:])
			}
			b, s = valueAsBefore(b, k, s, stop)
			if stop > 0 && len(b) > stop {
				return b, nil
			}
			s = skipSpace(s)
		}
		return append(b, closing), s[1:]
	case '"':
		v, rest := str(s)
		if plainString(v) {
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

// tokenCases are bodies whose keys and strings PlainToken accepts and
// refuses: digits up to a card number's count and past it (grouped, under
// a card number's key, a secret's), escapes, multi-byte runes, space and
// JSON text first, at and past longString, empty, unclosed.
var tokenCases = []string{
	`{"a":"b","":"","cardNo":"4000123456000019","cvc":"1","number":"12","x":"4000123456000019","y":"400012345600"}`,
	`{"4000123456000019":"k","400012345600":"k","4000 1234 5600 0019":1,"a b-c":"1 2-3 4 5 6 7 8 9 0 1 2","z":"1 2-3 4 5 6 7 8 9 0 1 2 3"}`,
	`{"e\"s":"a\\b","<":">","&":"x","t":"é","u":"\u2028","w":" {\"cardNo\":\"4000123456000019\"}","v":"{\"a\":1}","l":"[1]"}`,
	`{"s":"` + strings.Repeat("a", longString) + `","t":"` + strings.Repeat("a", longString+1) + `","p":" x","q":"-"}`,
	`[["a","4000123456000019",{"otp":"123456","password":"p","list":["1","2",{"secret":"s"}]}]]`,
	`{"n":4000123456000019,"m":-4000123456000019,"f":1.5e3,"b":true,"c":false,"d":null}`,
}

// TestViewIsAsBefore holds the view to valueAsBefore's, whole and stopped
// at the limit, under keys that mask by name and that do not: the cases,
// Of's and OfJSON's, then random documents.
func TestViewIsAsBefore(t *testing.T) {
	cases := append(append(append([]string(nil), tokenCases...), ofJSONCases...), viewCases()...)
	rng := rand.New(rand.NewPCG(13, 14))
	leaves := append(randomLeaves(), "4000123456000019", "40001234560000", "400012345600", "1 2 3 4 5 6 7 8 9 0 1 2 3", " x", "é", "a\"b", "<>")
	for range 5000 {
		b, _ := json.Marshal(randomDocument(rng, leaves, 6, 8))
		cases = append(cases, string(b))
	}
	checked := 0
	for _, c := range cases {
		if checkViewIsAsBefore(t, []byte(c)) {
			checked++
		}
	}
	if checked < len(cases)/2 {
		t.Errorf("only %d of %d cases are JSON: the test tests little", checked, len(cases))
	}
}

// checkViewIsAsBefore checks the view of raw, when it is one JSON value in
// valid UTF-8, and reports whether it was.
func checkViewIsAsBefore(t testing.TB, raw []byte) bool {
	t.Helper()
	raw = []byte(strings.TrimSpace(string(raw)))
	if len(raw) == 0 || !utf8.Valid(raw) || !json.Valid(raw) {
		return false
	}
	for _, key := range append(viewKeys, "", "cardNo", "cvc", "x") {
		for _, stop := range []int{0, Limit, 40} {
			got := view([]byte("x"), key, raw, stop)
			want, _ := valueAsBefore([]byte("x"), key, raw, stop)
			if string(got) != string(want) {
				t.Fatalf("view(%.80q) under %q, stop %d =\n%s\nbefore\n%s", raw, key, stop, got, want)
			}
		}
	}
	return true
}

func FuzzViewIsAsBefore(f *testing.F) {
	for _, c := range append(append([]string(nil), tokenCases...), ofJSONCases...) {
		f.Add([]byte(c))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		checkViewIsAsBefore(t, raw)
	})
}
