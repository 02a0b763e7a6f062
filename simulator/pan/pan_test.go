package pan_test

import (
	"strings"
	"testing"

	"github.com/pspsim/pspsim/simulator/pan"
)

func TestMask(t *testing.T) {
	cases := map[string]string{
		"4000123456000019":    "400012******0019",
		"5100123456000015":    "510012******0015",
		"378282246310005":     "378282*****0005",
		"6212454545454690123": "621245*********0123",
		"1234":                "****",
	}
	for in, want := range cases {
		if got := pan.Mask(in); got != want {
			t.Errorf("Mask(%s) = %s, want %s", in, got, want)
		}
	}
}

func TestLuhn(t *testing.T) {
	for _, ok := range []string{"4000123456000019", "5100123456000007", "4111111111111111", "79927398713"} {
		if !pan.Luhn(ok) {
			t.Errorf("%s should pass", ok)
		}
	}
	for _, bad := range []string{"4000123456000010", "1234567812345678", "", "12a4"} {
		if pan.Luhn(bad) {
			t.Errorf("%s should fail", bad)
		}
	}
}

func TestScrub(t *testing.T) {
	cases := []struct{ in, want string }{
		{"card 4000123456000019 declined", "card 400012******0019 declined"},
		{"card 4000 1234 5600 0019 declined", "card 400012******0019 declined"},
		{"card 4000-1234-5600-0019.", "card 400012******0019."},
		{`{"cardNo":"5100123456000015"}`, `{"cardNo":"510012******0015"}`},
		// Not card numbers: a ms timestamp, an order number, a non-Luhn run, a 22-digit trans_no.
		{"ts 1709106082819", "ts 1709106082819"},
		{"order 20220828000002", "order 20220828000002"},
		{"ref 4000123456000010", "ref 4000123456000010"},
		{"trans 5021000010210602000003", "trans 5021000010210602000003"},
		{"no digits here", "no digits here"},
		// A card number followed (or preceded) by other grouped digits: an
		// expiry and a CVV, a reference. Each part is judged on its own.
		{"declined card 4571736012345674 1230 7319", "declined card 457173******5674 1230 7319"},
		{"ref 12 4000 1234 5600 0019 exp 12-30", "ref 12 400012******0019 exp 12-30"},
		{"40000456000019 1", "400004****0019 1"},
		{"4000123456000019-5100123456000015", "400012******0019-510012******0015"},
		// The shortest card number (13 digits), whole and grouped, passes the
		// pre-check that skips texts with fewer digits in a run.
		{"visa 4222222222222 ok", "visa 422222***2222 ok"},
		{"visa 4222 2222 22222 ok", "visa 422222***2222 ok"},
		{"twelve 4222-2222-2222", "twelve 4222-2222-2222"},
	}
	for _, c := range cases {
		if got := pan.Scrub(c.in); got != c.want {
			t.Errorf("Scrub(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestRedactMasksByKeyAndShape(t *testing.T) {
	in := map[string]any{
		"card":    map[string]any{"number": "4000123456000019", "cvv": "123", "holderName": "Ada"},
		"note":    "paid with 5100123456000015",
		"secret":  "s3cr3t",
		"list":    []any{"4000123456000027", 12.5},
		"amount":  "10.00",
		"headers": map[string]string{"Authorization": "Bearer x"},
	}
	out := pan.Redact(in).(map[string]any)
	card := out["card"].(map[string]any)
	if card["number"] != "400012******0019" || card["cvv"] != "***" || card["holderName"] != "Ada" {
		t.Fatalf("card = %v", card)
	}
	if out["note"] != "paid with 510012******0015" || out["secret"] != "[redacted]" || out["amount"] != "10.00" {
		t.Fatalf("out = %v", out)
	}
	if out["list"].([]any)[0] != "400012******0027" {
		t.Fatalf("list = %v", out["list"])
	}
	if out["headers"].(map[string]string)["Authorization"] != "[redacted]" {
		t.Fatalf("headers = %v", out["headers"])
	}
	// The input is not modified.
	if in["card"].(map[string]any)["number"] != "4000123456000019" {
		t.Fatal("Redact modified its input")
	}
}

func TestValueMasksByKeyName(t *testing.T) {
	cases := []struct{ key, in, want string }{
		{"cvv", "123", "***"}, {"CVC2", "123", "***"}, {"security_code", "1234", "***"}, {"otp", "111111", "***"},
		{"client-secret", "x", "[redacted]"}, {"privateKey", "x", "[redacted]"}, {"Authorization", "Bearer x", "[redacted]"},
		{"password", "x", "[redacted]"}, {"access_token", "x", "[redacted]"}, {"secret", "x", "[redacted]"}, {"plaintext", "x", "[redacted]"},
		// Card number fields are masked even when the number is not Luhn-valid.
		{"card_no", "4000123456000010", "400012******0010"}, {"PAN", "4000 1234 5600 0010", "400012******0010"},
		{"accountNumber", "123456789012", "********9012"}, {"number", "12", "12"},
		{"description", "cvv 123", "cvv 123"}, {"aVeryLongFieldNameThatIsLongerThan32", "x", "x"},
	}
	for _, c := range cases {
		if got := pan.Value(c.key, c.in); got != c.want {
			t.Errorf("Value(%q, %q) = %q, want %q", c.key, c.in, got, c.want)
		}
	}
}

func FuzzScrubNeverLeaksAPAN(f *testing.F) {
	f.Add("x 4000123456000019 y")
	f.Add("4000 1234 5600 0019")
	f.Add("declined card 4571736012345674 1230 7319")
	f.Fuzz(func(t *testing.T, s string) {
		out := pan.Scrub(s)
		// No maximal digit run left in the output may look like a PAN.
		run := ""
		for i := 0; i <= len(out); i++ {
			if i < len(out) && out[i] >= '0' && out[i] <= '9' {
				run += string(out[i])
				continue
			}
			if pan.LooksLikePAN(run) && strings.Contains(s, run) {
				t.Fatalf("Scrub(%q) left %s", s, run)
			}
			run = ""
		}
	})
}

func BenchmarkRedact(b *testing.B) {
	v := map[string]any{"orderNo": "20220828000002", "card": map[string]any{"cardNo": "4000123456000019", "cvc": "123", "expiryMonth": "12"},
		"amount": "100.99", "description": "buy an apple"}
	for b.Loop() {
		pan.Redact(v)
	}
}

func TestLastStretch(t *testing.T) {
	for _, c := range []struct {
		in   string
		want int
	}{
		{"", 0},
		{"abc", 3},
		{"order 1234", 5},         // the space before the digits belongs to the stretch
		{"no: 4000-1234 5600", 3}, // dashes and spaces, up to the colon
		{"4000123456000019", 0},
		{"x4000123456000019y", 18},
		{"a 1 2", 1},
	} {
		if got := pan.LastStretch(c.in); got != c.want {
			t.Errorf("LastStretch(%q) = %d, want %d", c.in, got, c.want)
		}
	}
}
