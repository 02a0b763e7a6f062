package bodies

import (
	"encoding/json"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
	"unsafe"

	"github.com/pspsim/pspsim/internal/threadcpu"
	"github.com/pspsim/pspsim/simulator/journal"
)

// appendViewAsBefore is AppendRedactedJSON's view of a JSON object or
// array as it was made before appendTextView: the view made whole (up to
// Limit), clipped in place, then written as a string by AppendValue. It is
// the oracle of TestTextViewIsAsBefore.
func appendViewAsBefore(b []byte, key string, raw []byte) []byte {
	start := len(b)
	b = view(b, "", raw, start+Limit)
	if len(b)-start <= Limit {
		return b
	}
	b = scrubCut(b[:start+clipAt(b[start:])], start)
	b = append(b, "… ("...)
	b = strconv.AppendInt(b, int64(len(raw)), 10)
	b = append(b, " bytes)"...)
	end := len(b)
	text := unsafe.String(&b[start], end-start)
	b = journal.AppendValue(b, key, text)
	return append(b[:start], b[end:]...)
}

// textCases are views that appendTextView makes and those it leaves to the
// view as before: clipped within a token, a key, an escaped string, a
// number, a rune; quotes and backslashes at the cut; a stretch the cut or
// the text makes into a card number; fitting in Limit once shortened.
func textCases() []string {
	// pad is an array of about n bytes of strings short enough not to be
	// shortened.
	pad := func(n int) string {
		b := strings.Builder{}
		b.WriteString(`["`)
		for ; n > 40; n -= 43 {
			b.WriteString(strings.Repeat("p", 40) + `","`)
		}
		return b.String() + strings.Repeat("p", max(n, 0)) + `"]`
	}
	cases := []string{
		`{"a":` + pad(700) + `}`,
		`{"tradeNo":"20261122100000305936","s":` + pad(580) + `,"t":"0123456789012345678"}`,
		`{"k\"ey":"a\\b\"c","s":` + pad(560) + `,"q":"` + strings.Repeat(`\"`, 20) + `"}`,
		`{"s":` + pad(590) + `,"n":12345678901234567890,"m":-4000123456000019}`,
		`{"s":` + pad(592) + `,"n":4000123456000019}`,
		`{"s":` + pad(585) + `,"t":"é€😀é€😀é€😀é€😀"}`,
		`{"s":"x\u00014000123456000","t":` + pad(600) + `}`,
		`{"a":"` + strings.Repeat("w", 560) + `","b":"4000 1234 5600 0019 4000"}`,
		// Keys are not masked in the view, but are in its text.
		`{"4000123456000019":"k","s":` + pad(600) + `}`,
		`{"s":` + pad(500) + `,"4000 1234-5600 0019":1,"t":` + pad(100) + `}`,
		`{"s":` + pad(570) + `,"4000 1234-5600 0019 4000 1234":1}`,
		`{"sig":"` + strings.Repeat("Q", 700) + `"}`,
		`{"sig":"` + strings.Repeat("Q", 700) + `","x":"<&>\u2028"}`,
		`{"s":` + pad(580) + `,"cardNo":"4000123456000019","cvc":"123"}`,
		`[` + strings.Repeat(`"a\\b",`, 200) + `1]`,
		`[` + strings.Repeat(`1234567890,`, 100) + `1]`,
		`[` + strings.Repeat(`"1234567890-",`, 100) + `1]`,
		"{\n  \"a\": [\n    1,\n    2\n  ],\n  \"b\": " + pad(560) + "\n}",
	}
	for i := 0; i < 48; i++ {
		// Cuts in and around a key that holds a card number, and quotes.
		cases = append(cases, `{"s":`+pad(540+i)+`,"4000 1234 5600 0019":"a\"b","\\":[-4000123456000019]}`)
	}
	for i := 0; i < 24; i++ {
		cases = append(cases, `{"pad":`+pad(i)+`,"items":[`+strings.Repeat(`{"k":"v\"q","n":-12.5e3,"t":true,"cvc":"123","id":"0000 1111 2222 3"},`, 12)+`1]}`)
	}
	return append(cases, viewCases()...)
}

// TestTextViewIsAsBefore holds appendTextView, where it makes the view, to
// the view as before, under keys that mask by name and those that do not;
// and checks that it makes most of the views it is given.
func TestTextViewIsAsBefore(t *testing.T) {
	cases := textCases()
	rng := rand.New(rand.NewPCG(21, 22))
	leaves := append(randomLeaves(), "4000123456000019", "0019 4000 1234 5600 0019", "a\"b\\c", "é€", "12345678901")
	for range 3000 {
		b, _ := json.Marshal(randomDocument(rng, leaves, 8, 10))
		cases = append(cases, string(b))
	}
	made, tried := 0, 0
	for _, c := range cases {
		if ok, valid := checkTextViewIsAsBefore(t, []byte(c)); valid {
			tried++
			if ok {
				made++
			}
		}
	}
	if made < tried/2 {
		t.Errorf("appendTextView made %d of %d views: the test tests little", made, tried)
	}
}

// checkTextViewIsAsBefore checks appendTextView on raw when raw is a JSON
// object or array in valid UTF-8 (valid), and reports whether it made the
// view under the answer's key.
func checkTextViewIsAsBefore(t testing.TB, raw []byte) (made, valid bool) {
	t.Helper()
	raw = []byte(strings.TrimSpace(string(raw)))
	if len(raw) == 0 || (raw[0] != '{' && raw[0] != '[') || !utf8.Valid(raw) || !json.Valid(raw) {
		return false, false
	}
	for _, key := range viewKeys {
		prefix := []byte(`{"x":1,"` + key + `":`)
		got, ok := appendTextView(append([]byte(nil), prefix...), key, raw)
		if !ok {
			if string(got) != string(prefix) {
				t.Fatalf("appendTextView(%.80q) under %s gave up with %q", raw, key, got)
			}
			continue
		}
		if want := appendViewAsBefore(append([]byte(nil), prefix...), key, raw); string(got) != string(want) {
			t.Fatalf("appendTextView(%.80q) under %s =\n%s\nbefore\n%s", raw, key, got, want)
		}
		if key == "answer" {
			made = true
		}
	}
	return made, true
}

func FuzzTextViewIsAsBefore(f *testing.F) {
	for _, c := range textCases() {
		f.Add([]byte(c))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		checkTextViewIsAsBefore(t, raw)
	})
}

// BenchmarkAnswerText journals the view of a card payment's answer (longer
// than Limit: clipped into text), as before and as text in one pass.
func BenchmarkAnswerText(b *testing.B) {
	answer := []byte(`{"tradeNo":"20261122100000305936","orderNo":"B100000001","status":"CAPTURED","paymentMethodType":"card","amount":"19.99","currency":"USD",` +
		`"authorizedAmount":"19.99","capturedAmount":"19.99","refundedAmount":"0.00","captureMethod":"auto","environment":"sandbox","description":"test order",` +
		`"threeDs":{"mode":"auto","flow":"frictionless","version":"2.2.0","transStatus":"Y","eci":"05","dsTransId":"2d4aa6de-f700-4655-bfd5-1fe4fe647bae",` +
		`"acsTransId":"a9b923c4-4378-4f40-a54c-61e777837df3","threeDsServerTransId":"e0d866ae-779a-4149-8074-961f8e4de246","liabilityShift":true},` +
		`"nextAction":{"type":"none"},"cardBrand":"VISA","maskedCardNo":"400012******0019","createdAt":"2026-11-22T10:00:00Z","updatedAt":"2026-11-22T10:00:00Z"}`)
	buf := make([]byte, 0, 2048)
	b.Run("before", func(b *testing.B) {
		threadcpu.Loop(b, func() { buf = appendViewAsBefore(buf[:0], "answer", answer) })
	})
	b.Run("text", func(b *testing.B) {
		threadcpu.Loop(b, func() { buf, _ = appendTextView(buf[:0], "answer", answer) })
	})
}
