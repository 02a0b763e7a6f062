package vmgateway_test

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/pspsim/pspsim/simulator/simtest"
)

// TestEveryWalletFlow: every wallet method and product type, ending on the
// wallet page or the admin buyer action, approved or declined.
func TestEveryWalletFlow(t *testing.T) {
	g := newGW(t)
	cases := []struct {
		method, product, next string
	}{
		{"alipay", "", "qr_code"}, {"alipay", "h5", "redirect"}, {"alipay", "pay", "none"},
		{"alipayPlus", "qr-code", "qr_code"}, {"alipayPlus", "in-app", "redirect"},
		{"wechat", "qr-code", "qr_code"}, {"wechat", "pay", "none"}, {"wechat", "in-app", "redirect"}, {"wechat", "mini-program", "redirect"}, {"wechat", "h5", "redirect"},
		{"upay", "qr-code", "qr_code"}, {"upay", "pay", "none"},
		{"payNow", "qr-code", "qr_code"}, {"grabPay", "", "qr_code"}, {"shopeePay", "qr-code", "qr_code"}, {"paypal", "qr-code", "qr_code"},
	}
	for i, c := range cases {
		t.Run(c.method+"/"+c.product, func(t *testing.T) {
			orderNo := g.order()
			p := must(t, g.post("/payments", wallet(orderNo, c.method, c.product)), 200)
			if simtest.FieldString(p, "nextAction.type") != c.next || p["paymentMethodType"] != c.method || p["captureMethod"] != "auto" {
				t.Fatalf("%v", p)
			}
			if c.next == "none" {
				if p["status"] != "CAPTURED" || p["capturedAmount"] != "88.00" {
					t.Fatalf("%v", p)
				}
				return
			}
			if p["status"] != "REQUIRES_ACTION" || p["expiresAt"] != "2026-11-22T10:30:00Z" {
				t.Fatalf("%v", p)
			}
			link := simtest.FieldString(p, "nextAction.qrCode") + simtest.FieldString(p, "nextAction.redirectUrl")
			if link != g.URL+"/vm/wallet/"+simtest.FieldString(p, "tradeNo") {
				t.Fatalf("link %s", link)
			}
			approve := i%2 == 0
			if i%3 == 0 {
				// The buyer acts through the admin API.
				action := map[bool]string{true: "approve", false: "decline"}[approve]
				must(t, g.Do("POST", "/_sim/vmgateway/payments/"+simtest.FieldString(p, "tradeNo")+"/buyer-action", map[string]any{"action": action}), 200)
			} else {
				page, _ := http.Get(link)
				b, _ := io.ReadAll(page.Body)
				page.Body.Close()
				if !strings.Contains(string(b), `<form id="pspsim-wallet" method="post"`) || !strings.Contains(string(b), "88.00 SGD") {
					t.Fatalf("wallet page: %s", b)
				}
				action := map[bool]string{true: "approve", false: "decline"}[approve]
				resp, err := noRedirect.PostForm(link, url.Values{"action": {action}})
				if err != nil || resp.StatusCode != http.StatusSeeOther {
					t.Fatalf("%v %v", resp, err)
				}
				resp.Body.Close()
			}
			q := g.inquire(orderNo)
			if approve && (q["status"] != "CAPTURED" || q["capturedAmount"] != "88.00") {
				t.Fatalf("%v", q)
			}
			if !approve && (q["status"] != "FAILED" || q["failureCode"] != "WALLET_DECLINED") {
				t.Fatalf("%v", q)
			}
			adminError(t, g.Do("POST", "/_sim/vmgateway/payments/"+simtest.FieldString(p, "tradeNo")+"/buyer-action", map[string]any{"action": "approve"}), 409, "conflict")
		})
	}
}

func TestTokenisedWallets(t *testing.T) {
	g := newGW(t)
	for _, b := range []map[string]any{
		{"paymentMethodType": "applePay", "applePay": map[string]any{"paymentData": "eyJ2ZXJzaW9uIjoiRUNfdjEifQ==", "network": "Visa"}},
		{"paymentMethodType": "googlePay", "googlePay": map[string]any{"token": "{\"signature\":\"x\"}", "cardNetwork": "MASTERCARD", "cardDetails": "4242"}},
	} {
		b["amount"], b["currency"], b["orderNo"], b["deviceInfo"] = "10.00", "USD", g.order(), device()
		p := must(t, g.post("/payments", b), 200)
		if p["status"] != "CAPTURED" || p["cardBrand"] == nil || p["maskedCardNo"] != nil {
			t.Fatalf("%v", p)
		}
	}
	wantError(t, g.post("/payments", map[string]any{"paymentMethodType": "applePay", "amount": "1.00", "currency": "USD", "orderNo": g.order(), "deviceInfo": device()}), 400, "PARAMETER_MISSING", "applePay")
}
