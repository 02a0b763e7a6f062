package schema

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

// parseCorpus mixes JSON, near-JSON and text, as a body might be.
var parseCorpus = []string{
	`{}`, `[]`, `null`, `true`, `0`, `-0.5e+10`, `"é\u00e9\ud83d\ude00"`, ` {"a" : [1, {"b": null}] } `, `{"a":1,"a":2}`,
	`"\"\\\/\b\f\n\r\t"`, `12345678901234567890`, ``, ` `, `{`, `[1,]`, `{"a":1,}`, `{a:1}`, `01`, `1.`, `.5`, `-`, `1e+`,
	`tru`, `"abc`, `"a\x"`, `"\u12G4"`, "\"\x01\"", `[1]]`, `{} {}`, `NaN`, "{\"a\":\"\xff\"}", `{"n":"\ud800x"}`,
	`{"n":"\udc00"}`, "\"\xed\xa0\x80\"", strings.Repeat("[", MaxDepth) + strings.Repeat("]", MaxDepth),
	strings.Repeat("[", MaxDepth+1) + strings.Repeat("]", MaxDepth+1),
}

// TestParseAcceptsOnlyValidJSON: what Parse accepts, encoding/json accepts
// as one value, in valid UTF-8 — openapi.Request.BodyJSON relies on it.
func TestParseAcceptsOnlyValidJSON(t *testing.T) {
	accepted := 0
	for _, src := range parseCorpus {
		var d Doc
		if d.Parse([]byte(src)) != nil {
			continue
		}
		accepted++
		if !json.Valid([]byte(src)) || !utf8.ValidString(src) {
			t.Errorf("Parse accepts %.60q, which is not valid JSON in UTF-8", src)
		}
	}
	if accepted < 10 {
		t.Fatalf("only %d of the corpus parsed: the test proves little", accepted)
	}
}

func FuzzParseAcceptsOnlyValidJSON(f *testing.F) {
	for _, src := range parseCorpus {
		f.Add([]byte(src))
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		var d Doc
		if d.Parse(src) == nil && (!json.Valid(src) || !utf8.Valid(src)) {
			t.Fatalf("Parse accepts %q, which is not valid JSON in UTF-8", src)
		}
	})
}
