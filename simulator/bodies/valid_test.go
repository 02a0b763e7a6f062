package bodies

import (
	"encoding/json"
	"strings"
	"testing"
)

var validCases = []string{
	`{}`, `[]`, ` {"a":1} `, `{"a":[1,2,{"b":null}],"c":"x\"y\\u00e9\n"}`, `"s"`, `0`, `-0`, `1.5e+10`, `-12.0E-3`,
	`true`, `false`, `null`, `[ ]`, "\t[1 ,\r\n2]\n", `"\/\b\f\r\t"`, `"\uD800"`, `{"":""}`,
	// Invalid.
	``, ` `, `{`, `}`, `[1,]`, `{"a":1,}`, `{"a"}`, `{a:1}`, `[1 2]`, `01`, `1.`, `.5`, `-`, `1e`, `1e+`, `+1`,
	`tru`, `nul`, `truex`, `"abc`, `"a\x"`, `"\u12"`, `"\u12G4"`, "\"\x01\"", `[1]]`, `{} {}`, `NaN`, `'a'`, `[,1]`,
	`{"a":1 "b":2}`, `{"a"::1}`, `["a",]`, "\"\t\"",
}

func TestValidJSONIsJSONValid(t *testing.T) {
	for _, c := range validCases {
		if got, want := validJSON([]byte(c)), json.Valid([]byte(c)); got != want {
			t.Errorf("validJSON(%q) = %v, json.Valid says %v", c, got, want)
		}
	}
	// encoding/json's depth limit: 10000 levels pass, 10001 do not.
	for _, depth := range []int{maxDepth, maxDepth + 1} {
		s := []byte(strings.Repeat("[", depth) + strings.Repeat("]", depth))
		if got, want := validJSON(s), json.Valid(s); got != want {
			t.Errorf("depth %d: validJSON %v, json.Valid %v", depth, got, want)
		}
	}
}

func FuzzValidJSONIsJSONValid(f *testing.F) {
	for _, c := range validCases {
		f.Add(c)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := validJSON([]byte(s)), json.Valid([]byte(s)); got != want {
			t.Fatalf("validJSON(%q) = %v, json.Valid says %v", s, got, want)
		}
	})
}

func BenchmarkValidJSON(b *testing.B) {
	body := []byte(`{"amount":"100.99","currency":"USD","orderNo":"20220828000002","paymentMethodType":"card","card":{"cardNo":"4000123456000019","cvv":"123","expiryMonth":"12","expiryYear":"2030","holderName":"Ada Lovelace"},"threeDsMode":"auto","returnUrl":"https://merchant.example/return","deviceInfo":{"clientIp":"10.1.1.1","userAgent":"Mozilla/5.0"}}`)
	b.Run("validJSON", func(b *testing.B) {
		for b.Loop() {
			validJSON(body)
		}
	})
	b.Run("json.Valid", func(b *testing.B) {
		for b.Loop() {
			json.Valid(body)
		}
	})
}
