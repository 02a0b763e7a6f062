package codepay_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pspsim/pspsim/fixtures"
	"github.com/pspsim/pspsim/simulator/clock"
	"github.com/pspsim/pspsim/simulator/codepay"
)

// fakeThreeDS is a test double of the 3-D Secure service: it answers from
// the card's TESTCARDS row and keeps challenge callbacks for the test to
// complete. It is not 3-D Secure; it exercises how CodePay handles each
// outcome.
type fakeThreeDS struct {
	cards *fixtures.Cards
	clock clock.Clock
	down  bool

	mu       sync.Mutex
	pending  map[string]func(codepay.ThreeDSResult)
	requests []codepay.ThreeDSRequest
}

func newFake3DS(t testing.TB, c clock.Clock) *fakeThreeDS {
	cs, err := fixtures.TestCards()
	if err != nil {
		t.Fatal(err)
	}
	return &fakeThreeDS{cards: cs, clock: c, pending: map[string]func(codepay.ThreeDSResult){}}
}

func (f *fakeThreeDS) Authenticate(_ context.Context, in codepay.ThreeDSRequest, done func(codepay.ThreeDSResult)) (codepay.ThreeDSResult, error) {
	f.mu.Lock()
	f.requests = append(f.requests, in)
	f.mu.Unlock()
	if f.down {
		return codepay.ThreeDSResult{}, errors.New("connection refused")
	}
	card, brand, _ := f.cards.Lookup(in.PAN)
	eci := card.ECIFor(brand)
	ok := codepay.ThreeDSResult{Outcome: codepay.ThreeDSAuthenticated, TransStatus: "Y", ECI: eci, CAVV: "AAABBBCCCDDDEEEFFFGGGHHHIII=", DSTransID: "ds-" + in.Reference}
	switch card.ThreeDS.Flow {
	case "not_requested", "not_enrolled", "none":
		return codepay.ThreeDSResult{Outcome: codepay.ThreeDSNotEnrolled, ECI: eci}, nil
	case "frictionless":
		switch card.ThreeDS.TransStatus {
		case "N":
			return codepay.ThreeDSResult{Outcome: codepay.ThreeDSFailed, TransStatus: "N", ReasonCode: card.ThreeDS.ReasonCode, ECI: eci}, nil
		case "R":
			return codepay.ThreeDSResult{Outcome: codepay.ThreeDSRejected, TransStatus: "R", ReasonCode: card.ThreeDS.ReasonCode, ECI: eci}, nil
		case "A":
			ok.TransStatus = "A"
		}
		return ok, nil
	case "unavailable":
		return codepay.ThreeDSResult{Outcome: codepay.ThreeDSUnavailable, TransStatus: "U", ECI: eci}, nil
	case "ds_error":
		return codepay.ThreeDSResult{Outcome: codepay.ThreeDSError, Retryable: true}, nil
	case "challenge", "challenge_abandoned":
		f.mu.Lock()
		f.pending[in.Reference] = done
		f.mu.Unlock()
		return codepay.ThreeDSResult{Outcome: codepay.ThreeDSChallenge, TransStatus: "C", ChallengeURL: "https://acs.example/challenge/" + in.Reference}, nil
	case "decoupled":
		f.clock.AfterFunc(card.ThreeDS.DecoupledDelay.Std(), func() { done(ok) })
		return codepay.ThreeDSResult{Outcome: codepay.ThreeDSDecoupled, TransStatus: "D"}, nil
	}
	return ok, nil
}

// complete ends a pending challenge.
func (f *fakeThreeDS) complete(t testing.TB, ref string, res codepay.ThreeDSResult) {
	t.Helper()
	f.mu.Lock()
	done := f.pending[ref]
	delete(f.pending, ref)
	f.mu.Unlock()
	if done == nil {
		t.Fatalf("no challenge pending for %s", ref)
	}
	done(res)
}

func (c *cp) merchantCheckout(orderNo, pan string, extra map[string]any) answer {
	c.t.Helper()
	f := map[string]any{
		"card":            encryptCard(c.t, c.gw, map[string]string{"pan": pan, "holder": "Jane Doe", "cvv": "123", "expiry": "1230"}),
		"billing_address": map[string]any{"name": "Jane Doe", "country": "US"}, "merchant_order_no": orderNo, "price_currency": "USD",
		"order_amount": json.Number("34.50"), "expires": 600, "description": "IPhone White X2", "return_url": "https://shop.example/return",
	}
	for k, v := range extra {
		f[k] = v
	}
	return c.call("pay.merchant.checkout", f)
}

// TestMerchantCheckoutHandlesEveryThreeDSOutcome runs pay.merchant.checkout
// against the 3-D Secure double for each outcome CodePay must handle.
func TestMerchantCheckoutHandlesEveryThreeDSOutcome(t *testing.T) {
	cases := []struct {
		name     string
		card     string
		code     string
		status   string // in the answer
		redirect bool
		final    func(f *fakeThreeDS, c *cp, a answer) // completes a challenge, moves the clock
		after    string                                // status once final ran
		setup    func(c *cp)
	}{
		{name: "not requested, approved", card: visaOK, code: "0", status: "2"},
		{name: "frictionless Y", card: visaFrictionY, code: "0", status: "2"},
		{name: "frictionless attempted", card: "4000123456000027", code: "0", status: "2"},
		{name: "frictionless N", card: "4000123456000035", code: "0", status: "1"},
		{name: "frictionless R never authorized", card: "4000123456000043", code: "0", status: "1"},
		{name: "unavailable, merchant default fail", card: "4000123456000050", code: "0", status: "1"},
		{name: "unavailable, merchant proceeds", card: "4000123456000050", code: "0", status: "2", setup: func(c *cp) {
			st, m := c.admin("PUT", "/codepay/merchants/"+merchant, map[string]any{"name": "Demo Restaurant", "threeDSUnavailable": "proceed",
				"stores": []any{map[string]any{"storeNo": store, "terminals": []string{termA, termB, "P3171916581910"}}}})
			if st != 200 {
				c.t.Fatalf("merchant setting: %d %v", st, m)
			}
		}},
		{name: "not enrolled, approved", card: "4000123456000092", code: "0", status: "2"},
		{name: "authenticated then declined", card: "4000123456000118", code: "0", status: "1"},
		{name: "challenge passed", card: visaChallenge, code: "0", status: "0", redirect: true, after: "2", final: func(f *fakeThreeDS, c *cp, a answer) {
			f.complete(c.t, a.str("trans_no"), codepay.ThreeDSResult{Outcome: codepay.ThreeDSAuthenticated, TransStatus: "Y", ECI: "05", CAVV: "x"})
		}},
		{name: "challenge failed", card: visaChalFail, code: "0", status: "0", redirect: true, after: "1", final: func(f *fakeThreeDS, c *cp, a answer) {
			f.complete(c.t, a.str("trans_no"), codepay.ThreeDSResult{Outcome: codepay.ThreeDSFailed, TransStatus: "N"})
		}},
		{name: "challenge abandoned fails even when the merchant proceeds on U", card: visaAbandon, code: "0", status: "0", redirect: true, after: "1",
			setup: func(c *cp) {
				c.admin("PUT", "/codepay/merchants/"+merchant, map[string]any{"threeDSUnavailable": "proceed",
					"stores": []any{map[string]any{"storeNo": store, "terminals": []string{termA, termB}}}})
			},
			final: func(f *fakeThreeDS, c *cp, a answer) {
				f.complete(c.t, a.str("trans_no"), codepay.ThreeDSResult{Outcome: codepay.ThreeDSUnavailable, TransStatus: "U", ReasonCode: "14"})
			}},
		{name: "challenge never finished: the order expires", card: visaChallenge, code: "0", status: "0", redirect: true, after: "1",
			final: func(f *fakeThreeDS, c *cp, a answer) { c.advance(10 * time.Minute) }},
		{name: "decoupled, Y after 30 s", card: "4000123456000134", code: "0", status: "0", after: "2",
			final: func(f *fakeThreeDS, c *cp, a answer) { c.advance(30 * time.Second) }},
		{name: "directory server error: failed, retry with a new order (as on the card gateway)", card: "4000123456000100", code: "0", status: "1"},
		{name: "host processing error: retryable, no order", card: visaPSPError, code: "50000"},
		{name: "host never answers: processing until expiry", card: visaTimeout, code: "0", status: "0", after: "1",
			final: func(f *fakeThreeDS, c *cp, a answer) { c.advance(10 * time.Minute) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := newCP(t)
			f := newFake3DS(t, c.h.Clock)
			c.sys.SetThreeDS(f)
			if tc.setup != nil {
				tc.setup(c)
			}
			a := c.merchantCheckout("MC-1", tc.card, nil)
			if a.Code != tc.code {
				t.Fatalf("want code %s: %s", tc.code, a)
			}
			if tc.code != "0" {
				if q := c.query("MC-1"); q.Code != codepay.CodeOrderNotFound {
					t.Fatalf("a retryable failure kept an order: %s", q)
				}
				// The merchant retries with the same number once 3-D Secure is back.
				if a := c.merchantCheckout("MC-1", visaOK, nil); a.Code != "0" || a.str("trans_status") != "2" {
					t.Fatalf("retry: %s", a)
				}
				return
			}
			if a.str("trans_status") != tc.status || a.str("pay_user_account_id") != "400012******"+tc.card[12:] {
				t.Fatalf("want status %s: %s", tc.status, a)
			}
			_, hasRedirect := a.Data["redirect_url_3dsecure"]
			if hasRedirect != tc.redirect {
				t.Fatalf("redirect_url_3dsecure present=%v: %s", hasRedirect, a)
			}
			if tc.redirect {
				u := a.str("redirect_url_3dsecure")
				res := noRedirect(t, u)
				if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), "https://acs.example/challenge/") {
					t.Fatalf("%s → %d %s", u, res.StatusCode, res.Header.Get("Location"))
				}
			}
			if tc.final != nil {
				tc.final(f, c, a)
				if st := c.statusOf("MC-1"); st != tc.after {
					t.Fatalf("after completion: %s, want %s", st, tc.after)
				}
			}
			f.mu.Lock()
			req := f.requests[0]
			f.mu.Unlock()
			if req.Amount != 3450 || req.Currency != "USD" || req.Reference != a.str("trans_no") || !strings.HasSuffix(req.ReturnURL, "/codepay/3ds/"+a.str("trans_no")+"/return") {
				t.Fatalf("3-D Secure request %+v", req)
			}
		})
	}
}

// TestMerchantCheckoutWithoutThreeDS: without a 3-D Secure service wired (a
// CodePay system built on its own; the simulator always wires one), cards are
// authorized on their own outcome; 3-D Secure is never pretended.
func TestMerchantCheckoutWithoutThreeDS(t *testing.T) {
	c := newCP(t)
	c.sys.SetThreeDS(nil)
	if a := c.merchantCheckout("NS-1", visaChallenge, nil); a.str("trans_status") != "2" || a.Data["redirect_url_3dsecure"] != nil {
		t.Fatalf("%s", a)
	}
	if a := c.merchantCheckout("NS-2", visaNoFunds, nil); a.str("trans_status") != "1" {
		t.Fatalf("%s", a)
	}
	if a := c.merchantCheckout("NS-1", visaOK, nil); a.Code != codepay.CodeDuplicateOrder {
		t.Fatalf("duplicate: %s", a)
	}
	f := newFake3DS(t, c.h.Clock)
	f.down = true
	c.sys.SetThreeDS(f)
	if a := c.merchantCheckout("NS-3", visaOK, nil); a.Code != codepay.CodeSystemError {
		t.Fatalf("3-D Secure down: %s", a)
	}
}

// TestMerchantCheckoutCardErrors: the encrypted card is checked field by
// field, and no error repeats card data.
func TestMerchantCheckoutCardErrors(t *testing.T) {
	c := newCP(t)
	enc := func(card map[string]string) string { return encryptCard(t, c.gw, card) }
	otherKey := liveKey(t)
	cases := []struct {
		name, card, field string
	}{
		{"not base64", "@@@", "card"},
		{"wrong key", encryptCard(t, &otherKey.PublicKey, map[string]string{"pan": visaOK, "expiry": "1230"}), "card"},
		{"not the card JSON", enc(map[string]string{"number": visaOK}), "card"},
		{"no pan", enc(map[string]string{"expiry": "1230"}), "card.pan"},
		{"Luhn", enc(map[string]string{"pan": "4000123456000002", "expiry": "1230"}), "card.pan"},
		{"expiry format", enc(map[string]string{"pan": visaOK, "expiry": "12/30"}), "card.expiry"},
		{"expired", enc(map[string]string{"pan": visaOK, "expiry": "1025"}), "card.expiry"},
		{"cvv", enc(map[string]string{"pan": visaOK, "expiry": "1230", "cvv": "12a"}), "card.cvv"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := c.merchantCheckout("CE-1", visaOK, map[string]any{"card": tc.card})
			if a.Code != codepay.CodeInvalidParameter && a.Code != codepay.CodeMissingParameter {
				t.Fatalf("%s", a)
			}
			if !strings.HasPrefix(a.Msg, tc.field+":") || strings.Contains(a.Msg, visaOK) || strings.Contains(a.Msg, "4000123456000002") {
				t.Fatalf("message %q should name %s and hide the card", a.Msg, tc.field)
			}
		})
	}
}

func noRedirect(t testing.TB, u string) *http.Response {
	t.Helper()
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := client.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res
}

func postForm(t testing.TB, u string, form url.Values) *http.Response {
	t.Helper()
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := client.PostForm(u, form)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func readAll(t testing.TB, res *http.Response) string {
	t.Helper()
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	return string(b)
}

// TestHostedCheckoutPage: pay.checkout answers a pay_url; the page takes a
// card (or a wallet, or Cancel) and sends the buyer to return_url; a
// retryable failure leaves the order payable.
func TestHostedCheckoutPage(t *testing.T) {
	c := newCP(t)
	c.sys.SetThreeDS(newFake3DS(t, c.h.Clock))
	n := newNotifyServer(t)
	detail := `{"data":{"items":[{"name":"Iphone 16","quantity":2,"amount":300.68,"unit_price":150.34}],"payment":{"allow_options":"[\"Card\", \"ApplePay\"]","disallow_options":"[\"GooglePay\"]"}},"type":"GENERAL"}`
	start := func(no string) string {
		a := c.call("pay.checkout", map[string]any{"merchant_order_no": no, "price_currency": "USD", "order_amount": json.Number("150.34"),
			"expires": 1800, "description": "Iphone 16", "return_url": "https://shop.example/back?x=1", "notify_url": n.URL, "order_detail": detail})
		if a.Code != "0" || !strings.HasPrefix(a.str("pay_url"), c.h.URL+"/codepay/checkout/") {
			t.Fatalf("pay.checkout: %s", a)
		}
		return a.str("pay_url")
	}
	payURL := start("HC-1")
	res, _ := http.Get(payURL)
	page := readAll(t, res)
	if res.StatusCode != 200 || !strings.Contains(page, "150.34 USD") || !strings.Contains(page, "Pay with ApplePay") || strings.Contains(page, "GooglePay") {
		t.Fatalf("page %d: %s", res.StatusCode, page)
	}
	// A host processing error (row 25): the page says so, the order stays payable.
	res = postForm(t, payURL, url.Values{"action": {"card"}, "pan": {visaPSPError}, "expiry": {"12/30"}, "cvv": {"123"}})
	if body := readAll(t, res); res.StatusCode != 200 || !strings.Contains(body, "retry") || strings.Contains(body, visaPSPError) {
		t.Fatalf("retryable: %d %s", res.StatusCode, body)
	}
	if st := c.statusOf("HC-1"); st != "9" {
		t.Fatalf("after a retryable failure: %s", st)
	}
	res = postForm(t, payURL, url.Values{"action": {"card"}, "pan": {"4000 1234 5600 0019"}, "expiry": {"12/30"}, "cvv": {"123"}})
	loc := res.Header.Get("Location")
	res.Body.Close()
	res = noRedirect(t, c.h.URL+loc)
	back, _ := url.Parse(res.Header.Get("Location"))
	if back.Host != "shop.example" || back.Query().Get("merchant_order_no") != "HC-1" || back.Query().Get("x") != "1" {
		t.Fatalf("return: %s", res.Header.Get("Location"))
	}
	if q := c.query("HC-1"); q.str("trans_status") != "2" || q.str("pay_method_id") != "Visa" {
		t.Fatalf("%s", q)
	}
	if b := n.wait(t, 1)[0]; !strings.Contains(string(b), `"merchant_order_no":"HC-1"`) {
		t.Fatalf("notification %s", b)
	}
	// A challenge card goes through the 3-D Secure hand-over.
	payURL = start("HC-2")
	res = postForm(t, payURL, url.Values{"action": {"card"}, "pan": {visaChallenge}, "expiry": {"12/30"}})
	readAll(t, res)
	if res.StatusCode != http.StatusSeeOther || !strings.Contains(res.Header.Get("Location"), "/codepay/3ds/") {
		t.Fatalf("challenge: %d %s", res.StatusCode, res.Header.Get("Location"))
	}
	// Wallet and cancel.
	payURL = start("HC-3")
	readAll(t, postForm(t, payURL, url.Values{"action": {"wallet"}, "wallet": {"ApplePay"}}))
	if q := c.query("HC-3"); q.str("trans_status") != "2" || q.str("pay_method_id") != "ApplePay" {
		t.Fatalf("%s", q)
	}
	payURL = start("HC-4")
	readAll(t, postForm(t, payURL, url.Values{"action": {"cancel"}}))
	if st := c.statusOf("HC-4"); st != "3" {
		t.Fatalf("cancelled: %s", st)
	}
	// A bad order_detail names its field.
	a := c.call("pay.checkout", map[string]any{"merchant_order_no": "HC-5", "price_currency": "USD", "order_amount": json.Number("1"),
		"expires": 60, "description": "x", "order_detail": `{"type":"GENERAL","data":{"items":[{"quantity":0}]}}`})
	if a.Code != codepay.CodeInvalidParameter || !strings.Contains(a.Msg, "order_detail.data.items[0].quantity") {
		t.Fatalf("order_detail: %s", a)
	}
}

// TestMerchantCheckoutPreAuthorization: trans_type 4 (pspsim's extension)
// makes a merchant checkout a pre-authorization that Capture Payment
// completes for at most its amount and Cancel Payment releases; 1 and no
// trans_type are sales, anything else — or a pre-authorization on the hosted
// page — is refused naming the field.
func TestMerchantCheckoutPreAuthorization(t *testing.T) {
	c := newCP(t)
	c.sys.SetThreeDS(nil)
	a := c.merchantCheckout("PA-1", visaOK, map[string]any{"trans_type": 4})
	if a.Code != "0" || a.str("trans_status") != "2" {
		t.Fatalf("pre-authorization: %s", a)
	}
	tx := c.query("PA-1")
	if tx.str("trans_type") != "4" {
		t.Fatalf("order.query trans_type: %s", tx)
	}
	if a := c.card("capture", map[string]any{"merchant_order_no": "PA-1-C", "trans_no": a.str("trans_no"), "trans_amount": json.Number("40.00")}); a.Code == "0" {
		t.Fatalf("a capture above the authorization was taken: %s", a)
	}
	if cap := c.card("capture", map[string]any{"merchant_order_no": "PA-1-C", "trans_no": a.str("trans_no"), "trans_amount": json.Number("30.00")}); cap.Code != "0" || cap.str("trans_status") != "2" {
		t.Fatalf("capture: %s", cap)
	}
	b := c.merchantCheckout("PA-2", visaOK, map[string]any{"trans_type": 4})
	if cl := c.card("cancel", map[string]any{"merchant_order_no": "PA-2-V", "trans_no": b.str("trans_no")}); cl.Code != "0" {
		t.Fatalf("cancel: %s", cl)
	}
	if st := c.statusOf("PA-2"); st != "3" {
		t.Fatalf("a cancelled pre-authorization is trans_status %s, want 3", st)
	}
	if s := c.merchantCheckout("PA-3", visaOK, map[string]any{"trans_type": 1}); s.Code != "0" || c.query("PA-3").str("trans_type") != "1" {
		t.Fatalf("trans_type 1: %s", s)
	}
	if bad := c.merchantCheckout("PA-4", visaOK, map[string]any{"trans_type": 3}); bad.Code != codepay.CodeInvalidParameter || !strings.Contains(bad.Msg, "trans_type") {
		t.Fatalf("trans_type 3: %s", bad)
	}
}
