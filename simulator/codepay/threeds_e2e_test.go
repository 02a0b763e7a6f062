package codepay_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

var formAction = regexp.MustCompile(`<form id="pspsim-challenge" method="post" action="([^"]+)"`)

// TestMerchantCheckoutChallengeThroughTheRealThreeDS runs pay.merchant.checkout
// end to end with the simulator's own 3-D Secure service (the one the card
// gateway uses): a challenge card gets redirect_url_3dsecure; the buyer
// follows it to the challenge page, submits the OTP, and is sent back to the
// merchant's return_url; the order is then paid (or failed, for the wrong
// OTP), and a frictionless card is paid at once.
func TestMerchantCheckoutChallengeThroughTheRealThreeDS(t *testing.T) {
	cases := []struct {
		name, pan, otp, action, status string
	}{
		{"challenge passed", visaChallenge, "123456", "submit", "2"},
		{"challenge failed", visaChalFail, "000000", "submit", "1"},
		{"challenge abandoned", visaAbandon, "", "cancel", "1"},
	}
	c := newCP(t)
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			orderNo := "E2E-3DS-" + string(rune('A'+i))
			a := c.merchantCheckout(orderNo, tc.pan, nil)
			redirect, _ := a.Data["redirect_url_3dsecure"].(string)
			if a.Code != "0" || a.str("trans_status") != "0" || redirect == "" {
				t.Fatalf("checkout: %s", a)
			}
			// The buyer's browser: CodePay's 3-D Secure URL leads to the challenge page.
			page := get(t, redirect)
			m := formAction.FindStringSubmatch(page)
			if m == nil {
				t.Fatalf("no challenge form on the page: %.300s", page)
			}
			if strings.Contains(page, tc.pan) {
				t.Fatal("the challenge page shows the card number")
			}
			action := m[1]
			if strings.HasPrefix(action, "/") {
				action = c.h.URL + action
			}
			res := postForm(t, action, url.Values{"otp": {tc.otp}, "action": {tc.action}})
			res.Body.Close()
			if res.StatusCode != http.StatusSeeOther {
				t.Fatalf("challenge answer: %d", res.StatusCode)
			}
			// Back through CodePay to the merchant's return_url.
			loc := res.Header.Get("Location")
			if strings.HasPrefix(loc, "/") {
				loc = c.h.URL + loc
			}
			back := noRedirect(t, loc)
			if got := back.Header.Get("Location"); !strings.HasPrefix(got, "https://shop.example/return") {
				t.Fatalf("the buyer is not sent back to return_url: %d %q", back.StatusCode, got)
			}
			if got := c.statusOf(orderNo); got != tc.status {
				t.Fatalf("order status %s, want %s", got, tc.status)
			}
		})
	}
	if a := c.merchantCheckout("E2E-3DS-F", visaFrictionY, nil); a.str("trans_status") != "2" || a.Data["redirect_url_3dsecure"] != nil {
		t.Fatalf("frictionless: %s", a)
	}
}

// get follows redirects like a browser and returns the final page.
func get(t testing.TB, u string) string {
	t.Helper()
	res, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	return readAll(t, res)
}
