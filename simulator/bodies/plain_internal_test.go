package bodies

import (
	"strings"
	"testing"

	"github.com/pspsim/pspsim/simulator/journal"
)

// plainSamples are strings of a body: short and plain, masked by shape or
// by key, escaped, multi-byte, at and past longString, JSON text (with and
// without space before it), and strings that only look like it.
var plainSamples = []string{
	"", "x", "CAPTURED", "19.99", "4000123456000019", "4000 1234 5600 0019", "card 4000123456000019 declined", "123",
	"a\"b\\c\nd<e>&", "é€😀\u2028", "\u00a0{\"a\":1}", "\u0085[1]", "{", "[", "{}", `{"cardNo":"4000123456000019"}`, ` {"a":"b"}`,
	"\t[1,2]", "\v{}", "\f[]", "\r{}", "\n{}", "x{}", strings.Repeat("a", longString), strings.Repeat("a", longString+1),
	strings.Repeat("4000123456000019 ", 4), strings.Repeat("4000 1234 5600 0019 ", 3) + "1234", strings.Repeat("é", longString/2),
	"12345678901234567890123456789012345678901234567890123456789012", "[redacted]", "***",
}

// TestPlainStringIsShortenString: where plainString says so, the view of
// a string (shortenString's, escaped) is AppendValue's, under every key.
func TestPlainStringIsShortenString(t *testing.T) {
	plain := 0
	for _, v := range plainSamples {
		if checkPlainString(t, v) {
			plain++
		}
	}
	if plain < 10 || plain == len(plainSamples) {
		t.Errorf("%d of %d samples are plain: the test tests little", plain, len(plainSamples))
	}
}

func checkPlainString(t testing.TB, v string) bool {
	t.Helper()
	if !plainString(v) {
		return false
	}
	for _, key := range append(viewKeys, "cardNo", "cvc", "otp", "card_number", "") {
		if got, want := string(journal.AppendValue(nil, key, v)), string(journal.AppendString(nil, shortenString(key, v))); got != want {
			t.Fatalf("under %q, %q is written %s, shortenString gives %s", key, v, got, want)
		}
	}
	return true
}

func FuzzPlainStringIsShortenString(f *testing.F) {
	for _, v := range plainSamples {
		f.Add(v)
	}
	f.Fuzz(func(t *testing.T, v string) {
		checkPlainString(t, v)
	})
}
