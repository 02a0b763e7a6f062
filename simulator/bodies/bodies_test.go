package bodies

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/pspsim/pspsim/simulator/pan"
)

func TestOfMasksAndBounds(t *testing.T) {
	long := strings.Repeat("A", 300)
	for _, c := range []struct {
		name, in   string
		want, gone []string
	}{
		{"a card in clear", `{"card":{"cardNo":"4000123456000068","cvc":"123","expiryMonth":"12"}}`,
			[]string{`"cardNo":"400012******0068"`, `"cvc":"***"`, `"expiryMonth":"12"`}, []string{"4000123456000068", `"123"`}},
		{"a card as a JSON number", `{"pan":4000123456000068}`, []string{`400012******0068`}, []string{"4000123456000068"}},
		{"JSON inside a string", `{"biz_content":"{\"card_no\":\"4000123456000068\",\"cvv\":\"999\"}"}`,
			[]string{`400012******0068`}, []string{"4000123456000068", "999"}},
		{"a long opaque value", `{"cipherText":"` + long + `"}`, []string{`(300 chars)`}, []string{long}},
		{"text with a card", `card 4000123456000068 declined`, []string{"400012******0068"}, []string{"4000123456000068"}},
		{"secrets by name", `{"secret":"s3cr3t","accessToken":"tok","otp":"123456"}`, []string{`"secret":"[redacted]"`, `"otp":"***"`}, []string{"s3cr3t", `"tok"`, "123456"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			v := Of([]byte(c.in))
			b, _ := json.Marshal(v)
			got := string(b)
			if s, ok := v.(string); ok {
				got = s
			}
			for _, w := range c.want {
				if !strings.Contains(got, w) {
					t.Errorf("Of(%s) = %s, want it to hold %s", c.in, got, w)
				}
			}
			for _, g := range c.gone {
				if strings.Contains(got, g) {
					t.Errorf("Of(%s) = %s still holds %s", c.in, got, g)
				}
			}
		})
	}
}

func TestOfStaysWithinLimit(t *testing.T) {
	var items []string
	for i := range 200 {
		items = append(items, `{"sku":"`+strings.Repeat("x", 20)+`","n":`+string(rune('0'+i%10))+`}`)
	}
	v := Of([]byte(`{"items":[` + strings.Join(items, ",") + `]}`))
	s, ok := v.(string)
	if !ok {
		t.Fatalf("a body far over the limit stayed JSON: %T", v)
	}
	if len(s) > Limit+40 || !strings.HasSuffix(s, "bytes)") {
		t.Errorf("the clipped body is %d bytes and ends %q", len(s), s[len(s)-20:])
	}
	if Of(nil) != nil || Of([]byte("  ")) != nil {
		t.Error("an empty body is not nil")
	}
}

func TestRecorderKeepsTheAnswer(t *testing.T) {
	rec := httptest.NewRecorder()
	r := &Recorder{ResponseWriter: rec}
	r.WriteHeader(402)
	r.Write([]byte(`{"code":"DECLINED","maskedCardNo":"400012******0209"}`))
	if r.Status != 402 || rec.Code != 402 {
		t.Errorf("status %d / %d", r.Status, rec.Code)
	}
	b, _ := json.Marshal(r.Body())
	if !strings.Contains(string(b), "DECLINED") {
		t.Errorf("the recorded answer is %s", b)
	}
}

// A byte that is not UTF-8 is kept visibly as \xNN, not replaced by U+FFFD,
// and the body is still read as JSON, so its secrets are still masked by key.
func TestInvalidUTF8IsKeptVisiblyAndStillMasked(t *testing.T) {
	v := Of([]byte("{\"orderNo\":\"20\xff25\",\"cvv\":\"123\"}"))
	var m map[string]any
	if j, ok := v.(JSON); !ok || json.Unmarshal(j, &m) != nil {
		t.Fatalf("Of = %#v, want the JSON object", v)
	}
	if m["orderNo"] != `20\xff25` {
		t.Errorf("orderNo = %q, want 20\\xff25", m["orderNo"])
	}
	if m["cvv"] == "123" {
		t.Errorf("cvv kept: %v", m)
	}
}

// Of's JSON is valid JSON, and no digit run in it that looks like a card
// number was in the body: whatever the body, nothing leaks.
func FuzzOfNeverLeaksAPAN(f *testing.F) {
	f.Add([]byte(`{"card":{"cardNo":"4000123456000068","cvc":"123"},"n":4000123456000068}`))
	f.Add([]byte(`{"biz_content":"{\"card_no\":\"4000 1234 5600 0068\"}","a":[1,2.5e3,true,null,"x\u0041"]}`))
	f.Add([]byte(`[{"k":"declined card 4571736012345674 1230 7319"}]`))
	f.Fuzz(func(t *testing.T, body []byte) {
		v := Of(body)
		var out string
		switch x := v.(type) {
		case nil:
			return
		case JSON:
			if !json.Valid(x) {
				t.Fatalf("Of(%q) = %s: not JSON", body, x)
			}
			out = string(x)
		case string:
			out = x
		}
		run := ""
		for i := 0; i <= len(out); i++ {
			if i < len(out) && out[i] >= '0' && out[i] <= '9' {
				run += string(out[i])
				continue
			}
			if pan.LooksLikePAN(run) && strings.Contains(string(body), run) {
				t.Fatalf("Of(%q) left %s in %s", body, run, out)
			}
			run = ""
		}
	})
}

func BenchmarkOf(b *testing.B) {
	body := []byte(`{"orderNo":"20220828000002","card":{"cardNo":"4000123456000019","cvc":"123","expiryMonth":"12","expiryYear":"2030","holderName":"JOHN DOE"},"amount":"100.99","currency":"USD","description":"buy an apple","notifyUrl":"https://shop.example/notify","returnUrl":"https://shop.example/return"}`)
	for b.Loop() {
		Of(body)
	}
}

// Of reads the strings of a body without copying them; the view it returns
// must still be its own: changing the body afterwards changes nothing in it.
func TestViewDoesNotAliasTheBody(t *testing.T) {
	for _, body := range []string{
		`{"orderNo":"A1","note":"plain","biz":"{\"cardNo\":\"4000123456000019\"}","list":["x","y"],"empty":""}`,
		`{"k":"` + strings.Repeat("s", 100) + `","cardNumber":"4000123456000019"}`,
		`not json, card 4000123456000019`,
	} {
		raw := []byte(body)
		v := Of(raw)
		before, _ := json.Marshal(v)
		for i := range raw {
			raw[i] = 'z'
		}
		if after, _ := json.Marshal(v); string(after) != string(before) {
			t.Errorf("the view of %s changed with the body: %s → %s", body, before, after)
		}
		if strings.Contains(string(before), "4000123456000019") {
			t.Errorf("card in %s", before)
		}
	}
}

// ofInFull is Of as it was before views stopped at Limit: the whole view
// made, then clipped. Of must answer exactly the same.
func ofInFull(raw []byte) any {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return nil
	}
	if !utf8.Valid(raw) {
		raw = escapeInvalid(raw)
	}
	if (raw[0] == '{' || raw[0] == '[') && validJSON(raw) {
		out := view(nil, "", raw, 0)
		if len(out) <= Limit {
			return JSON(out)
		}
		return clipAsFormatted(string(out), len(raw))
	}
	return clipAsFormatted(pan.Scrub(string(raw)), len(raw))
}

// clipAsFormatted is clip as it was written before it cut and ended the
// text in place: the tests and the fuzz test above hold clip to it.
func clipAsFormatted(s string, size int) string {
	if len(s) <= Limit {
		return s
	}
	cut := Limit
	for cut > 0 && (s[cut]&0xC0) == 0x80 {
		cut--
	}
	return fmt.Sprintf("%s… (%d bytes)", scrubCutAsWritten(s[:cut]), size) // a card the cut made is masked (scrubCut)
}

// scrubCutAsWritten is scrubCut's reference: the text's last stretch of
// digits, spaces and dashes, the only one a cut changes, is scrubbed.
func scrubCutAsWritten(s string) string {
	kept := strings.TrimRight(s, "0123456789 -")
	return kept + pan.Scrub(s[len(kept):])
}

func TestOfStopsAtTheLimitWithTheSameView(t *testing.T) {
	long := func(n int, item string) string {
		items := make([]string, n)
		for i := range items {
			items[i] = item
		}
		return strings.Join(items, ",")
	}
	cases := []string{
		`{"items":[` + long(200, `{"sku":"abcdefghij","n":7,"card":"4000123456000019"}`) + `]}`,
		`[` + long(300, `"é€😀"`) + `]`, // multi-byte runes across the cut
		`{"a":` + strings.Repeat(`[`, 300) + strings.Repeat(`]`, 300) + `}`,
		`{"biz_content":"{\"k\":\"` + strings.Repeat("x", 700) + `\"}","after":` + `[` + long(100, `1`) + `]}`,
		`{"s":"` + strings.Repeat("y", 590) + `","t":"0123456789012"}`,
		`{"exactly":"` + strings.Repeat("z", Limit-14) + `"}`,
	}
	for i := 0; i < 80; i++ {
		cases = append(cases, `{"pad":"`+strings.Repeat("p", i)+`","items":[`+long(40, `{"k":"value","cvc":"123"}`)+`]}`)
	}
	// Texts (not JSON) over the limit, multi-byte runes across the cut.
	for i := 0; i < 8; i++ {
		cases = append(cases, strings.Repeat("x", i)+strings.Repeat("é€😀 card 4000123456000019 ", 40))
	}
	for _, c := range cases {
		if got, want := Of([]byte(c)), ofInFull([]byte(c)); !reflect.DeepEqual(got, want) {
			t.Fatalf("Of(%.60s…) = %v\nwant %v", c, got, want)
		}
	}
}

func FuzzOfStopsAtTheLimitWithTheSameView(f *testing.F) {
	f.Add([]byte(`{"items":[{"sku":"abc","n":1},{"sku":"def","n":2}],"card":{"cardNo":"4000123456000068"}}`))
	f.Add([]byte(`[` + strings.Repeat(`"0123456789",`, 80) + `1]`))
	f.Fuzz(func(t *testing.T, body []byte) {
		if got, want := Of(body), ofInFull(body); !reflect.DeepEqual(got, want) {
			t.Fatalf("Of(%q) = %v, want %v", body, got, want)
		}
	})
}

// BenchmarkOfLong is a body three times over Limit, like a payment's
// answer: its view ends at Limit.
func BenchmarkOfLong(b *testing.B) {
	item := `{"sku":"SKU-000123","name":"a product with a name","price":"10.00","quantity":"2","card":"4000123456000019"}`
	body := []byte(`{"items":[` + strings.Repeat(item+",", 17) + item + `]}`)
	b.Run("Of", func(b *testing.B) {
		for b.Loop() {
			Of(body)
		}
	})
	b.Run("InFull", func(b *testing.B) {
		for b.Loop() {
			ofInFull(body)
		}
	})
}

// TestACutNeverMakesACardNumber: a clip keeps the first digits of a run too
// long to be a card number, which may then pass for one (457173601234567491
// is the first 18 of 22 digits, and passes the Luhn check): it is masked,
// in a shortened string, a clipped view and a clipped text alike.
func TestACutNeverMakesACardNumber(t *testing.T) {
	const run = "4571736012345674910000" // 22 digits: no card
	long := strings.Repeat("x", Limit)
	for name, body := range map[string]string{
		"shortened string": `{"note":"0000000A0000AA` + run + strings.Repeat("y", 40) + `"}`,
		// The view is the body, cut at Limit after the run's first 18 digits.
		"clipped view": `{"pad":[` + strings.Repeat(`"x",`, (Limit-36)/4) + `"x"],"n":"` + run + `","more":"` + long + `"}`,
		"clipped text": long[:Limit-18] + run + long,
	} {
		var out string
		switch v := Of([]byte(body)).(type) {
		case JSON:
			out = string(v)
		case string:
			out = v
		}
		if strings.Contains(out, "457173601234567491") {
			t.Errorf("%s: the cut left a card number: %s", name, out)
		}
		if !strings.Contains(out, "******") {
			t.Errorf("%s: nothing masked: %s", name, out)
		}
	}
}

// FuzzScrubCutIsAsBefore holds scrubCut, which looks at the cut's last
// stretch of digits, spaces and dashes only, to the whole-text scrub it
// replaced, on a text masked before it was cut (as a view and a scrubbed
// text are). Where the masked text still holds what HoldsPAN takes for a
// card number before that stretch (Scrub leaves some: "2400000
// 40001000000000" becomes "2400000 400010****0000"), the text before the
// stretch is kept as the writer masked it, as an unclipped body is. The
// bytes before from are never touched.
func FuzzScrubCutIsAsBefore(f *testing.F) {
	f.Add("x 4000123456000019 y", 10)
	f.Add("4571736012345674910000", 18)
	f.Add("note 4571 7360 1234 5674 9100 00", 27)
	f.Add("2400000 40001000000000 and 4571736012345674910000", 45)
	f.Fuzz(func(t *testing.T, s string, cut int) {
		masked := pan.Scrub(s)
		if cut < 0 {
			cut = -cut
		}
		text := masked[:cut%(len(masked)+1)]
		const before = "pre 4000123456000019 "
		b := scrubCut(append([]byte(before), text...), len(before))
		if !strings.HasPrefix(string(b), before) {
			t.Fatalf("scrubCut(%q) wrote before from: %q", text, b)
		}
		got := string(b[len(before):])
		want := scrubCutAsWritten(text)
		if kept := strings.TrimRight(text, "0123456789 -"); !pan.HoldsPAN(kept) && pan.HoldsPAN(text) {
			want = pan.Scrub(text) // as before: the whole clip scrubbed
		} else if !pan.HoldsPAN(kept) {
			want = text
		}
		if got != want {
			t.Fatalf("scrubCut(%q) = %q, want %q", text, got, want)
		}
	})
}
