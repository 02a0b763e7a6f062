package main

import (
	"bytes"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCodePaySubcommands signs requests for a running pspsim on a simulated
// clock, sends them as curl would, and checks the answers with `verify`.
func TestCodePaySubcommands(t *testing.T) {
	base := "http://" + startServe(t, "--clock", "sim", "--clock-start", "2026-11-22T10:00:00Z", "--seed", "3").addr
	pspsim := func(args ...string) (int, string, string) {
		var out, errb bytes.Buffer
		code := run(t.Context(), args, &out, &errb, nil)
		return code, out.String(), errb.String()
	}
	post := func(body string) string {
		res, err := http.Post(base+"/codepay/api/entry", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		return string(b)
	}
	query := `{"app_id":"wz9f2a175d0e0ef632","method":"order.query","format":"JSON","charset":"UTF-8","sign_type":"RSA2","version":"1.0","merchant_no":"302100041048","merchant_order_no":"A1"}`
	code, signed, errs := pspsim("codepay", "sign", "--url", base, query)
	if code != 0 || !strings.Contains(signed, `"timestamp":"1795341600000"`) || !strings.Contains(signed, `"sign":"`) {
		t.Fatalf("sign: %d %s %s", code, signed, errs)
	}
	answer := post(signed)
	if !strings.Contains(answer, `"code":"40008"`) {
		t.Fatalf("a signed query must reach the order lookup: %s", answer)
	}
	file := filepath.Join(t.TempDir(), "answer.json")
	os.WriteFile(file, []byte(answer), 0o600)
	if code, out, errs := pspsim("codepay", "verify", "--url", base, file); code != 0 || !strings.Contains(out, "signature OK") {
		t.Fatalf("verify: %d %s %s", code, out, errs)
	}
	os.WriteFile(file, []byte(strings.Replace(answer, "40008", "40007", 1)), 0o600)
	if code, _, _ := pspsim("codepay", "verify", file); code != 1 {
		t.Fatal("a tampered answer verified")
	}
	// --form signs as other published clients do: each verifies (a form
	// other than the SDK's is reached, with a warning).
	withEmpty := strings.Replace(query, `"merchant_order_no":"A1"`, `"merchant_order_no":"A1","trans_no":"","attach":""`, 1)
	for _, form := range []string{"sdk", "keep-empty", "bool-digit", "keep-empty-bool-digit"} {
		code, signed, errs := pspsim("codepay", "sign", "--url", base, "--form", form, withEmpty)
		if code != 0 {
			t.Fatalf("sign --form %s: %d %s", form, code, errs)
		}
		if a := post(signed); !strings.Contains(a, `"code":"40008"`) {
			t.Fatalf("--form %s: the signature did not verify: %s", form, a)
		}
	}
	if code, _, _ := pspsim("codepay", "sign", "--form", "php", query); code != 2 {
		t.Fatal("an unknown --form was accepted")
	}
	// Without --url the machine's clock is used: the server's stamp clock is
	// real, and CodePay takes either time (specs/codepay.yaml, Timestamp); a
	// timestamp far from both is refused.
	if _, signed, _ := pspsim("codepay", "sign", query); !strings.Contains(post(signed), `"code":"40008"`) {
		t.Fatal("a request stamped with the machine's clock was refused by a server whose stamp clock is real")
	}
	old := strings.Replace(query, `"merchant_order_no":"A1"`, `"merchant_order_no":"A1","timestamp":"1700000000000"`, 1)
	if _, signed, _ := pspsim("codepay", "sign", "--keep-timestamp", old); !strings.Contains(post(signed), `"code":"40004"`) {
		t.Fatal("a timestamp far from both clocks was taken")
	}
	// encrypt-card feeds pay.merchant.checkout.
	code, card, errs := pspsim("codepay", "encrypt-card", "--url", base, `{"pan":"4000123456000001","expiry":"1230","cvv":"123"}`)
	if code != 0 {
		t.Fatalf("encrypt-card: %s", errs)
	}
	checkout := `{"app_id":"wz9f2a175d0e0ef632","method":"pay.merchant.checkout","format":"JSON","charset":"UTF-8","sign_type":"RSA2","version":"1.0",` +
		`"merchant_no":"302100041048","card":"` + strings.TrimSpace(card) + `","billing_address":{"country":"US"},"merchant_order_no":"MC1",` +
		`"price_currency":"USD","order_amount":34.5,"expires":600,"description":"phone"}`
	_, signed, _ = pspsim("codepay", "sign", "--url", base, checkout)
	if a := post(signed); !strings.Contains(a, `"code":"0"`) || !strings.Contains(a, `\"trans_status\":2`) {
		t.Fatalf("merchant checkout: %s", a)
	}
	for _, args := range [][]string{{"codepay"}, {"codepay", "frob", "{}"}, {"codepay", "sign"}, {"codepay", "sign", "[1]"}} {
		if code, _, _ := pspsim(args...); code == 0 {
			t.Errorf("pspsim %v succeeded", args)
		}
	}
}
