package bodies

import (
	"encoding/json"
	"math/rand/v2"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

// ofJSONCases are bodies OfJSON may be given (valid UTF-8 and JSON):
// objects, arrays, scalars, cards, secrets, long strings, JSON in strings,
// views over the limit, surrounding space.
var ofJSONCases = []string{
	`{}`, `[]`, ` {"a":1} `, "\t[1 ,\r\n2]\n", `"s"`, `0`, `-12.0E-3`, `true`, `null`, `"card 4000123456000019"`,
	`{"orderNo":"A1","card":{"cardNo":"4000123456000019","cvc":"123","expiryMonth":"12"},"amount":"19.99"}`,
	`{"biz_content":"{\"cardNo\":\"4000123456000019\"}","sign":"` + strings.Repeat("Q", 300) + `"}`,
	`{"items":[` + strings.Repeat(`{"sku":"abcdefghij","n":7,"card":"4000123456000019"},`, 60) + `1]}`,
	`{"k\u0065y":"a\"b\\c\/d\n\u00e9\ud83d\ude00","<&>":"\u2028"}`,
	`[` + strings.Repeat(`"é€😀",`, 200) + `""]`,
}

// TestOfJSONIsOf holds OfJSON to Of on valid bodies: the fixed cases, then
// random documents.
func TestOfJSONIsOf(t *testing.T) {
	check := func(s string) {
		t.Helper()
		if !json.Valid([]byte(s)) || !utf8.ValidString(s) {
			t.Fatalf("test input %q is not valid JSON", s)
		}
		if got, want := OfJSON([]byte(s)), Of([]byte(s)); !reflect.DeepEqual(got, want) {
			t.Fatalf("OfJSON(%.80q) = %v\nOf gives %v", s, got, want)
		}
	}
	for _, c := range ofJSONCases {
		check(c)
	}
	rng := rand.New(rand.NewPCG(5, 6))
	for range 5000 {
		b, _ := json.Marshal(randomDocument(rng, randomLeaves(), 6, 8))
		check(string(b))
	}
}

func FuzzOfJSONIsOf(f *testing.F) {
	for _, c := range ofJSONCases {
		f.Add([]byte(c))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		if !utf8.Valid(body) || !json.Valid(body) {
			return // not what OfJSON is given
		}
		if got, want := OfJSON(body), Of(body); !reflect.DeepEqual(got, want) {
			t.Fatalf("OfJSON(%q) = %v, Of gives %v", body, got, want)
		}
	})
}

// TestRecorderWriteJSON: an answer given whole to WriteJSON has Of's view;
// one that is not the only write, or too long to be kept whole, is checked
// by Of as any other.
func TestRecorderWriteJSON(t *testing.T) {
	long := `{"items":[` + strings.Repeat(`{"sku":"abcdefghij","n":7},`, 400) + `1]}` // over 8×Limit
	for _, c := range []struct {
		name   string
		writes func(r *Recorder)
		json   bool
	}{
		{"whole", func(r *Recorder) { r.WriteJSON([]byte(ofJSONCases[10])) }, true},
		{"too long to keep", func(r *Recorder) { r.WriteJSON([]byte(long)) }, false},
		{"after a write", func(r *Recorder) { r.Write([]byte(`{"a":`)); r.WriteJSON([]byte(`1}`)) }, false},
		{"after an empty write", func(r *Recorder) { r.Write(nil); r.WriteJSON([]byte(`{"a":1}`)) }, false},
		{"before a write", func(r *Recorder) { r.WriteJSON([]byte(`{"a":1}`)); r.Write([]byte(` x`)) }, false},
		{"twice", func(r *Recorder) { r.WriteJSON([]byte(`{"a":1}`)); r.WriteJSON([]byte(`{"b":2}`)) }, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			r := &Recorder{ResponseWriter: w}
			c.writes(r)
			if r.json != c.json {
				t.Fatalf("json = %v, want %v", r.json, c.json)
			}
			if got, want := r.Body(), Of(w.Body.Bytes()[:len(r.buf)]); !reflect.DeepEqual(got, want) {
				t.Fatalf("Body() = %v\nOf gives %v", got, want)
			}
			if r.Status != 200 {
				t.Fatalf("status %d", r.Status)
			}
		})
	}
}

// BenchmarkOfJSON is a card payment's request body: Of checks it, OfJSON
// trusts the caller that it is JSON in UTF-8.
func BenchmarkOfJSON(b *testing.B) {
	body := []byte(`{"orderNo":"B100000001","amount":"19.99","currency":"USD","paymentMethodType":"card","description":"test order","threeDsMode":"auto",` +
		`"card":{"cardNo":"4000123456000019","expiryMonth":"12","expiryYear":"2030","cvc":"123","captureMethod":"auto"},` +
		`"deviceInfo":{"clientIp":"10.1.1.1","language":"en-US","browser":{"acceptHeader":"text/html","userAgent":"Mozilla/5.0 (test)","javascriptEnable":true,` +
		`"colorDepth":"24","screenHeight":"800","screenWidth":"1200","timeZone":"0"}}}`)
	b.Run("Of", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			Of(body)
		}
	})
	b.Run("OfJSON", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			OfJSON(body)
		}
	})
}

// randomLeaves are the values randomDocument puts at its leaves: empty and
// plain text, card numbers alone, spaced and inside JSON text, characters
// JSON escapes, a long string, numbers (one a card's digits), true and null.
func randomLeaves() []any {
	return []any{"", "x", "4000123456000019", "pay 5100 1234 5600 0015", "<&>\u2028", strings.Repeat("s", 90), `{"cardNo":"4000123456000019"}`,
		1.5, 4000123456000019, true, nil}
}

// randomDocument is a random JSON value of leaves, arrays of up to
// maxItems-1 values and objects of up to maxMembers-1 members, nested at
// most four deep, under keys the journal masks (cardNo, cvv, number, pan,
// secret), one that holds a document (biz_content) and plain ones.
func randomDocument(rng *rand.Rand, leaves []any, maxItems, maxMembers int) any {
	keys := []string{"cardNo", "cvv", "a", "number", "biz_content", "note", "pan", "secret"}
	var gen func(depth int) any
	gen = func(depth int) any {
		switch k := rng.IntN(4); {
		case depth > 3 || k == 0:
			return leaves[rng.IntN(len(leaves))]
		case k == 1:
			a := make([]any, rng.IntN(maxItems))
			for i := range a {
				a[i] = gen(depth + 1)
			}
			return a
		default:
			m := map[string]any{}
			for range rng.IntN(maxMembers) {
				m[keys[rng.IntN(len(keys))]] = gen(depth + 1)
			}
			return m
		}
	}
	return gen(0)
}
