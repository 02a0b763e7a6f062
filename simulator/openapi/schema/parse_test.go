package schema

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
)

func TestParseAcceptsWhatEncodingJSONAccepts(t *testing.T) {
	for _, src := range []string{
		`{}`, `[]`, `null`, `true`, `false`, `0`, `-0.5e+10`, `"é\u00e9\ud83d\ude00"`, ` {"a" : [1, {"b": null}] } `,
		`{"a":1,"a":2}`, `"\"\\\/\b\f\n\r\t"`, `12345678901234567890`,
	} {
		var d Doc
		if err := d.Parse([]byte(src)); err != nil {
			t.Errorf("Parse(%s): %v", src, err)
		}
		if !json.Valid([]byte(src)) {
			t.Errorf("test input %s is not JSON", src)
		}
	}
}

func TestParseRefusesWithRuleFieldAndReason(t *testing.T) {
	deep := strings.Repeat("[", MaxDepth+1) + strings.Repeat("]", MaxDepth+1)
	veryDeep := strings.Repeat(`{"a":`, 100000) + "1" + strings.Repeat("}", 100000)
	cases := []struct {
		name, src, rule, field, reason string
	}{
		{"empty", ``, "parse", "", "the body is empty or only whitespace"},
		{"truncated", `{"orderNo":`, "parse", "orderNo", "the body ends before the JSON value does"},
		{"bad token", `{"a":x}`, "parse", "a", "unexpected character 'x' at offset 5"},
		{"trailing data", `{"a":1} {"b":2}`, "parse", "", "unexpected character '{' after the JSON value at offset 8"},
		{"missing colon", `{"a" 1}`, "parse", "a", "expecting ':'"},
		{"bad number", `{"amount":01}`, "parse", "amount", "unexpected character '1'"},
		{"bad exponent", `[1e]`, "parse", "[0]", "invalid number at offset 1"},
		{"control character", "{\"a\":\"x\ny\"}", "parse", "a", "control character 0x0a"},
		{"bad escape", `{"a":"\x"}`, "parse", "a", "invalid escape sequence"},
		{"invalid UTF-8", "{\"card\":{\"holderName\":\"Ad\xffa\"}}", "encoding", "card.holderName", "is not valid UTF-8 (byte 0xff at offset 25)"},
		{"invalid UTF-8 in an array", "{\"items\":[\"ok\",\"\xc3\"]}", "encoding", "items[1]", "is not valid UTF-8"},
		{"invalid UTF-8 in a key", "{\"card\":{\"na\xffme\":\"x\"}}", "encoding", "card", "a property name is not valid UTF-8"},
		{"lone high surrogate", `{"name":"\ud800x"}`, "encoding", "name", `lone UTF-16 surrogate \ud800`},
		{"lone low surrogate", `{"name":"\udc00"}`, "encoding", "name", `lone UTF-16 surrogate \udc00`},
		{"too deep", deep, "parse", "", "more than 10000 levels deep"},
		{"100k deep", veryDeep, "parse", "", "more than 10000 levels deep"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var d Doc
			err := d.Parse([]byte(c.src))
			se, ok := err.(*SyntaxError)
			if !ok {
				t.Fatalf("Parse: %v, want a *SyntaxError", err)
			}
			if se.Rule != c.rule || se.Field != c.field || !strings.Contains(se.Reason, c.reason) {
				t.Fatalf("got rule %q field %q reason %q; want %q %q containing %q", se.Rule, se.Field, se.Reason, c.rule, c.field, c.reason)
			}
			// What this parser refuses as "encoding", encoding/json accepts and
			// silently alters: the reason to refuse it.
			if c.rule == "encoding" && !json.Valid([]byte(c.src)) {
				t.Fatal("encoding/json refuses this input too: the case proves nothing")
			}
		})
	}
}

func TestTextDecodesEscapes(t *testing.T) {
	var d Doc
	if err := d.Parse([]byte(`{"k\u0065y":"a\"b\\c\/d\n\u00e9\ud83d\ude00"}`)); err != nil {
		t.Fatal(err)
	}
	m := d.Member(d.Root(), "key")
	if m < 0 {
		t.Fatal("escaped key not found")
	}
	if got := d.Text(m); got != "a\"b\\c/d\né😀" {
		t.Fatalf("Text = %q", got)
	}
}

func TestCompileRefusesKeywordsItDoesNotImplement(t *testing.T) {
	one := 1.0
	cases := map[string]*openapi3.Schema{
		"not":               {Not: openapi3.NewSchemaRef("", openapi3.NewStringSchema())},
		"multipleOf":        {MultipleOf: &one},
		"readOnly":          {ReadOnly: true},
		"patternProperties": {PatternProperties: openapi3.Schemas{"^x": openapi3.NewSchemaRef("", openapi3.NewStringSchema())}},
		"format":            {Type: &openapi3.Types{"string"}, Format: "ipv4"},
		"nested":            {Type: &openapi3.Types{"object"}, Properties: openapi3.Schemas{"a": openapi3.NewSchemaRef("", &openapi3.Schema{MultipleOf: &one})}},
	}
	for name, s := range cases {
		if _, err := Compile(s, nil); err == nil {
			t.Errorf("%s: compiled; want a loud failure", name)
		} else if !strings.Contains(err.Error(), "not implemented") {
			t.Errorf("%s: %v does not say what is not implemented", name, err)
		}
	}
}

func BenchmarkParse(b *testing.B) {
	body := []byte(`{"orderNo":"A1000001","amount":"25.00","currency":"USD","paymentMethodType":"card","threeDsMode":"auto",
  "card":{"cardNo":"4000123456000068","expiryMonth":"12","expiryYear":"2030","cvc":"123","captureMethod":"manual"},
  "deviceInfo":{"clientIp":"10.1.1.1","browser":{"userAgent":"Mozilla/5.0","acceptHeader":"text/html"}}}`)
	var d Doc
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if err := d.Parse(body); err != nil {
			b.Fatal(err)
		}
	}
}

// TestParseReusesItsDoc: a Doc parsed again (as the mount's pool reuses
// them) allocates nothing once it has grown to the body: its nodes and
// the parser's stack of open containers are kept; and a failed parse
// leaves nothing behind for the next one.
func TestParseReusesItsDoc(t *testing.T) {
	body := []byte(`{"a":{"b":{"c":[1,{"d":[[2,3],{"e":"f"}]}]}},"g":[{"h":{"i":{"j":true}}}]}`)
	var d Doc
	if err := d.Parse(body); err != nil {
		t.Fatal(err)
	}
	want := append([]Node(nil), d.nodes...)
	if n := testing.AllocsPerRun(100, func() { d.Parse(body) }); n != 0 {
		t.Errorf("parsing again allocates %v times", n)
	}
	bad := []byte(`{"a":{"b":{"c":[1,{"d":[[2,3],{"e":`)
	err := d.Parse(bad)
	var fresh Doc
	if want := fresh.Parse(bad); err == nil || err.Error() != want.Error() || err.(*SyntaxError).Field != want.(*SyntaxError).Field {
		t.Errorf("a reused Doc fails with %v, a new one with %v", err, want)
	}
	if err := d.Parse(body); err != nil || !reflect.DeepEqual(d.nodes, want) {
		t.Errorf("after a failed parse: %v, nodes differ: %v", err, !reflect.DeepEqual(d.nodes, want))
	}
}

// TestPlainRunStopsAtWhatStrReads: plainRun stops at the first byte str
// must look at (a quote, a backslash, a control character, a byte of a
// multi-byte character), or before it where fewer than eight bytes are
// left.
func TestPlainRunStopsAtWhatStrReads(t *testing.T) {
	plain := func(c byte) bool { return c >= 0x20 && c < 0x80 && c != '"' && c != '\\' }
	for _, filler := range []byte{'a', ' ', '~', '!', '#', '[', ']'} {
		for c := 0; c < 256; c++ {
			for at := 0; at < 19; at++ {
				for _, start := range []int{0, 1, 5} {
					src := bytes.Repeat([]byte{filler}, 20)
					src[at] = byte(c)
					want := start
					for want < len(src) && plain(src[want]) {
						want++
					}
					got := plainRun(src, start)
					if got != want && (got > want || got+8 <= len(src)) {
						t.Fatalf("filler %q, byte %#x at %d, from %d: plainRun %d, the first byte to read is at %d", filler, c, at, start, got, want)
					}
				}
			}
		}
	}
}
