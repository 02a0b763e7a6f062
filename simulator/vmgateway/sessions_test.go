package vmgateway_test

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/pspsim/pspsim/simulator/simtest"
)

func session(orderNo string, mods ...func(map[string]any)) map[string]any {
	b := map[string]any{"amount": "42.00", "currency": "HKD", "orderNo": orderNo, "description": "Basket", "expiryTime": "60",
		"frontUrl": "https://shop.example/back?x=1", "captureMethod": "auto", "threeDsMode": "auto", "linkMode": "session",
		"productInfo": []any{map[string]any{"productName": "shirt", "price": "21.00", "quantity": "2"}}}
	for _, m := range mods {
		m(b)
	}
	return b
}

func get(t *testing.T, u string) string {
	t.Helper()
	r, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Body.Close()
	b, _ := io.ReadAll(r.Body)
	return string(b)
}

// payCashier posts the cashier's card form and returns the answer.
func payCashier(t *testing.T, cashier, card string) (*http.Response, string) {
	t.Helper()
	resp, err := noRedirect.PostForm(cashier, url.Values{"method": {"card"}, "cardNo": {card}, "expiryMonth": {"12"}, "expiryYear": {"2030"}, "cvc": {"123"}, "holderName": {"A B"}})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func follow(t *testing.T, u string) *http.Response {
	t.Helper()
	resp, err := noRedirect.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

func TestCheckoutSessionPaidOnTheCashier(t *testing.T) {
	g := newGW(t)
	orderNo := g.order()
	s := must(t, g.post("/checkout/sessions", session(orderNo)), 200)
	cashier := simtest.FieldString(s, "cashierUrl")
	if s["status"] != "OPEN" || !strings.HasPrefix(cashier, g.URL+"/vm/cashier/cs_") || s["expiresAt"] != "2026-11-22T11:00:00Z" || s["amount"] != "42.00" {
		t.Fatalf("%v", s)
	}
	wantError(t, g.post("/payments/inquiry", map[string]any{"orderNo": orderNo}), 404, "NOT_FOUND", "orderNo")
	wantError(t, g.post("/payments", cardPayment(orderNo, "4000123456000019")), 409, "DUPLICATE_ORDER", "orderNo")
	wantError(t, g.post("/checkout/sessions", session(orderNo)), 409, "DUPLICATE_ORDER", "orderNo")
	page := get(t, cashier)
	for _, want := range []string{`<form id="pspsim-cashier-card" method="post"`, `name="cardNo"`, `<form id="pspsim-cashier-wallet"`, "42.00 HKD", "Demo merchant", "shirt"} {
		if !strings.Contains(page, want) {
			t.Fatalf("cashier lacks %q", want)
		}
	}
	// A declined card: the cashier says so, keeps no card data, stays open.
	resp, body := payCashier(t, cashier, "4000123456000209")
	if resp.StatusCode != 200 || !strings.Contains(body, "insufficient funds") || strings.Contains(body, "4000123456000209") {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	if p := g.inquire(orderNo); p["status"] != "FAILED" {
		t.Fatalf("%v", p)
	}
	// A challenge card: cashier → challenge page → return → frontUrl.
	resp, _ = payCashier(t, cashier, "5100123456000064")
	challenge := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusSeeOther || !strings.Contains(challenge, "/3ds/challenge/") {
		t.Fatalf("%d %s", resp.StatusCode, challenge)
	}
	ret := g.completeChallenge(challenge, "submit", "123456")
	back := follow(t, ret).Header.Get("Location")
	u, _ := url.Parse(back)
	if u.Host != "shop.example" || u.Query().Get("x") != "1" || u.Query().Get("orderNo") != orderNo || u.Query().Get("status") != "CAPTURED" {
		t.Fatalf("sent to %s", back)
	}
	p := g.inquire(orderNo)
	if p["status"] != "CAPTURED" || p["amount"] != "42.00" || p["currency"] != "HKD" || simtest.FieldString(p, "threeDs.flow") != "challenge" || u.Query().Get("tradeNo") != p["tradeNo"] {
		t.Fatalf("%v", p)
	}
	// The session is complete: the cashier says so and takes nothing more.
	if page := get(t, cashier); !strings.Contains(page, "This order is paid") || strings.Contains(page, "pspsim-cashier-card") {
		t.Fatal("a completed cashier still takes payments")
	}
	if r, _ := payCashier(t, cashier, "4000123456000019"); r.StatusCode != http.StatusConflict {
		t.Fatalf("paid twice: %d", r.StatusCode)
	}
	if ev := g.events("session.completed", map[string]string{"orderNo": orderNo}); len(ev) != 1 {
		t.Fatal("not journaled")
	}
}

func TestCheckoutSessionWalletAndExpiry(t *testing.T) {
	g := newGW(t)
	orderNo := g.order()
	cashier := simtest.FieldString(must(t, g.post("/checkout/sessions", session(orderNo, simtest.SetField("frontUrl", nil))), 200), "cashierUrl")
	resp, err := noRedirect.PostForm(cashier, url.Values{"method": {"alipay"}})
	if err != nil || resp.StatusCode != http.StatusSeeOther || !strings.Contains(resp.Header.Get("Location"), "/vm/wallet/") {
		t.Fatalf("%v %v", resp, err)
	}
	walletURL := resp.Header.Get("Location")
	resp, _ = noRedirect.PostForm(walletURL, url.Values{"action": {"decline"}})
	// A failed attempt returns to the cashier, which says why.
	back := follow(t, g.URL+resp.Header.Get("Location")).Header.Get("Location")
	if !strings.HasPrefix(back, "/vm/cashier/") || !strings.Contains(get(t, g.URL+back), "declined") {
		t.Fatalf("back to %s", back)
	}
	// The session expires on the clock; the last attempt is its payment.
	orderNo2 := g.order()
	cashier2 := simtest.FieldString(must(t, g.post("/checkout/sessions", session(orderNo2, simtest.SetField("expiryTime", "30"))), 200), "cashierUrl")
	g.Advance(30 * time.Minute)
	if page := get(t, cashier2); !strings.Contains(page, "expired") {
		t.Fatal("no expiry")
	}
	if r, _ := payCashier(t, cashier2, "4000123456000019"); r.StatusCode != http.StatusConflict {
		t.Fatalf("paid an expired session: %d", r.StatusCode)
	}
	if len(g.events("session.expired", map[string]string{"orderNo": orderNo2})) != 1 {
		t.Fatal("expiry not journaled")
	}
}

func TestCheckoutSessionRules(t *testing.T) {
	g := newGW(t)
	for _, c := range []struct {
		name   string
		mod    func(map[string]any)
		status int
		code   string
		field  string
	}{
		{"description over 25", simtest.SetField("description", strings.Repeat("x", 26)), 400, "PARAMETER_INVALID", "description"},
		{"expiryTime under 30", simtest.SetField("expiryTime", "10"), 400, "PARAMETER_INVALID", "expiryTime"},
		{"frontUrl too short", simtest.SetField("frontUrl", "h:"), 400, "PARAMETER_INVALID", "frontUrl"},
		{"frontUrl too long", simtest.SetField("frontUrl", "https://x.example/"+strings.Repeat("a", 120)), 400, "PARAMETER_INVALID", "frontUrl"},
		{"linkMode not activated", simtest.SetField("linkMode", "embedded"), 403, "FORBIDDEN", "linkMode"},
		{"amount decimals", simtest.SetField("amount", "1.234"), 400, "PARAMETER_INVALID", "amount"},
		{"no orderNo", simtest.SetField("orderNo", nil), 400, "PARAMETER_MISSING", "orderNo"},
	} {
		t.Run(c.name, func(t *testing.T) {
			wantError(t, g.post("/checkout/sessions", session(g.order(), c.mod)), c.status, c.code, c.field)
		})
	}
}

// TestCashierOffersTheDeviceWalletsTheMerchantHas: the cashier shows Apple
// Pay and Google Pay buttons when the merchant has them; one click pays
// (the wallet's Visa card, approved) and sends the customer back to
// frontUrl; a merchant without them shows no button and refuses the method.
func TestCashierOffersTheDeviceWalletsTheMerchantHas(t *testing.T) {
	g := newGW(t)
	orderNo := g.order()
	cashier := simtest.FieldString(must(t, g.post("/checkout/sessions", session(orderNo)), 200), "cashierUrl")
	page := get(t, cashier)
	for _, want := range []string{`<form id="pspsim-cashier-express"`, `value="applePay">Pay with Apple Pay`, `value="googlePay">Pay with Google Pay`, `id="pspsim-cashier-cancel"`} {
		if !strings.Contains(page, want) {
			t.Fatalf("cashier lacks %q", want)
		}
	}
	resp, err := noRedirect.PostForm(cashier, url.Values{"method": {"applePay"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	back := follow(t, g.URL+resp.Header.Get("Location")).Header.Get("Location")
	u, _ := url.Parse(back)
	if resp.StatusCode != http.StatusSeeOther || u.Host != "shop.example" || u.Query().Get("status") != "CAPTURED" {
		t.Fatalf("Apple Pay: %d → %s", resp.StatusCode, back)
	}
	if p := g.inquire(orderNo); p["paymentMethodType"] != "applePay" || p["status"] != "CAPTURED" || p["cardBrand"] != "VISA" {
		t.Fatalf("%v", p)
	}

	if r := g.Do("PATCH", "/_sim/vmgateway/merchants/M086666075137", map[string]any{"methods": []string{"card", "googlePay"}}); r.Status != 200 {
		t.Fatalf("merchant methods: %d %s", r.Status, r.Body)
	}
	other := g.order()
	cashier = simtest.FieldString(must(t, g.post("/checkout/sessions", session(other)), 200), "cashierUrl")
	page = get(t, cashier)
	if strings.Contains(page, "Apple Pay") || !strings.Contains(page, "Pay with Google Pay") || strings.Contains(page, "pspsim-cashier-wallet") {
		t.Fatalf("a merchant with card and googlePay: %s", page)
	}
	resp, err = noRedirect.PostForm(cashier, url.Values{"method": {"applePay"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("applePay for a merchant without it: %d", resp.StatusCode)
	}
}
