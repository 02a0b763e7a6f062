package codepay_test

import (
	"crypto/rsa"
	"strings"
	"testing"

	"github.com/pspsim/pspsim/fixtures"
	"github.com/pspsim/pspsim/simulator/codepay"
	"github.com/pspsim/pspsim/simulator/simtest"
)

func TestStringToSignFollowsTheSDKRules(t *testing.T) {
	body := `{"sign":"xx","SIGN":"yy","method":"order.query","app_id":"wz1","order_amount":144.30,
		"timestamp":"1709106082819","empty":"","nothing":null,"flag":false,"n":0,
		"card":{"b":1, "a":"x y"},"list":[1, 2],"zeta":"a&b=c","Upper":"u"}`
	got, err := codepay.StringToSign([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	want := `Upper=u&app_id=wz1&card={"b":1,"a":"x y"}&flag=false&list=[1,2]&method=order.query&n=0&order_amount=144.30&timestamp=1709106082819&zeta=a&b=c`
	if got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
}

func TestStringToSignRefusesNonObjects(t *testing.T) {
	for _, body := range []string{`[]`, `"x"`, `null`, `{`, ``} {
		if _, err := codepay.StringToSign([]byte(body)); err == nil {
			t.Errorf("%q accepted", body)
		}
	}
}

func keys(t testing.TB) (*rsa.PrivateKey, *rsa.PublicKey) {
	k := simtest.CodePayKey(t, "codepay-app-demo.pem")
	pubPEM, _ := fixtures.Read("keys/codepay-app-demo.pub.pem")
	pub, err := codepay.ParsePublicKey(pubPEM)
	if err != nil {
		t.Fatal(err)
	}
	return k, pub
}

func TestSignThenVerifyAndTamper(t *testing.T) {
	k, pub := keys(t)
	body := `{"app_id":"wz1","method":"order.query","order_amount":1.5}`
	sign, err := codepay.Sign(k, []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if len(sign) != 344 {
		t.Fatalf("RSA-2048 signature is %d base64 chars, want 344", len(sign))
	}
	signed := strings.TrimSuffix(body, "}") + `,"sign":"` + sign + `"}`
	if err := codepay.Verify(pub, []byte(signed)); err != nil {
		t.Fatalf("own signature refused: %v", err)
	}
	// Field order and whitespace do not matter; values do.
	reordered := `{ "sign":"` + sign + `", "order_amount":1.5, "method":"order.query", "app_id":"wz1" }`
	if err := codepay.Verify(pub, []byte(reordered)); err != nil {
		t.Fatalf("reordered body refused: %v", err)
	}
	for _, tampered := range []string{
		strings.Replace(signed, "1.5", "1.50", 1), // literal number text is signed
		strings.Replace(signed, "wz1", "wz2", 1),
		strings.Replace(signed, `"method"`, `"extra":"x","method"`, 1),
	} {
		if err := codepay.Verify(pub, []byte(tampered)); err == nil {
			t.Errorf("tampered body verified: %s", tampered)
		}
	}
	if err := codepay.Verify(pub, []byte(body)); err == nil {
		t.Error("unsigned body verified")
	}
}

func FuzzStringToSign(f *testing.F) {
	f.Add(`{"a":1,"b":"x","c":{"d":[1,2]}}`)
	f.Add(`{"sign":"z","Sign":"y"}`)
	f.Add(`{"a":null,"b":""}`)
	f.Fuzz(func(t *testing.T, body string) {
		s, err := codepay.StringToSign([]byte(body))
		if err != nil {
			return
		}
		// Deterministic, and independent of any sign field's value.
		again, _ := codepay.StringToSign([]byte(body))
		if s != again {
			t.Fatalf("not deterministic: %q vs %q", s, again)
		}
		for _, part := range strings.Split(s, "&") {
			if strings.HasPrefix(strings.ToLower(part), "sign=") {
				t.Fatalf("sign field included: %q", s)
			}
		}
	})
}

func BenchmarkRSA2048Sign(b *testing.B) {
	k, _ := keys(b)
	for b.Loop() {
		if _, err := codepay.SignString(k, "app_id=wz1&method=order.query"); err != nil {
			b.Fatal(err)
		}
	}
}

// TestStringToSignInEachCanonicalForm builds the string to sign of one body
// in each form published clients use: empty values skipped or kept,
// booleans as true/false or 1/empty.
func TestStringToSignInEachCanonicalForm(t *testing.T) {
	body := `{"sign":"x","app_id":"wz1","attach":"","on_screen_tip":false,"confirm_on_terminal":true,"nothing":null,"order_amount":1.50}`
	want := map[codepay.Form]string{
		codepay.FormSDK:                `app_id=wz1&confirm_on_terminal=true&on_screen_tip=false&order_amount=1.50`,
		codepay.FormKeepEmpty:          `app_id=wz1&attach=&confirm_on_terminal=true&on_screen_tip=false&order_amount=1.50`,
		codepay.FormBoolDigit:          `app_id=wz1&confirm_on_terminal=1&order_amount=1.50`,
		codepay.FormKeepEmptyBoolDigit: `app_id=wz1&attach=&confirm_on_terminal=1&on_screen_tip=&order_amount=1.50`,
	}
	if len(want) != len(codepay.Forms) || codepay.Forms[0] != codepay.FormSDK {
		t.Fatalf("forms %v: the SDK's first, each tested", codepay.Forms)
	}
	for _, f := range codepay.Forms {
		got, err := codepay.StringToSignForm([]byte(body), f)
		if err != nil || got != want[f] {
			t.Errorf("%s:\ngot  %s\nwant %s (%v)", f, got, want[f], err)
		}
		if parsed, err := codepay.ParseForm(string(f)); err != nil || parsed != f {
			t.Errorf("ParseForm(%s) = %s, %v", f, parsed, err)
		}
	}
	if sdk, _ := codepay.StringToSign([]byte(body)); sdk != want[codepay.FormSDK] {
		t.Errorf("StringToSign is not the SDK form: %s", sdk)
	}
	if _, err := codepay.ParseForm("php"); err == nil {
		t.Error("an unknown form parsed")
	}
}
