package dashboard_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/pspsim/pspsim/simulator/simtest"
)

// fullPAN is any unmasked card number: none may appear on a page.
var fullPAN = regexp.MustCompile(`\b[2-6]\d{12,18}\b`)

// noCardNumbers fails if the page's HTML holds an unmasked test card.
func noCardNumbers(t *testing.T, b *browser, page string) {
	t.Helper()
	html := eval[string](b, "document.documentElement.outerHTML")
	for _, m := range fullPAN.FindAllString(html, -1) {
		if strings.HasPrefix(m, "40001234560") || strings.HasPrefix(m, "51001234560") {
			t.Errorf("%s shows the card number %s unmasked", page, m)
		}
	}
}

// TestTimelineOfAReferenceAppPayment: the reference app takes a payment
// that needs a 3-D Secure challenge; the buyer completes it by clicking;
// searching the Genstore payment id on the dashboard shows every step, in
// every system, in time order, each expandable to its masked bodies.
func TestTimelineOfAReferenceAppPayment(t *testing.T) {
	h := simtest.New(t)
	ra := startRefApp(t, h)
	id := ra.pay(t, "12.34", "4000123456000068")
	redirect := simtest.FieldString(ra.payment(t, id), "ack.redirectUrl")
	if redirect == "" {
		t.Fatalf("the reference app asked for no challenge: %v", ra.payment(t, id))
	}
	b := newBrowser(t)

	b.open(redirect, "#pspsim-challenge")
	b.screenshot("1-challenge")
	b.do("type the OTP", chromedp.SendKeys(chromedp.CSS("#otp"), "123456"))
	b.click(`#pspsim-challenge button[value="submit"]`, "#genstore-return")
	b.screenshot("2-back-at-the-shop")
	simtest.Eventually(t, "the app reports the payment successful", func() bool {
		return simtest.FieldString(ra.payment(t, id), "statusName") == "success"
	})

	b.open(h.URL+"/", "#q")
	b.screenshot("3-overview")
	b.do("search", chromedp.SendKeys(chromedp.CSS("#q"), id), chromedp.Submit(chromedp.CSS("#q")), chromedp.WaitVisible(chromedp.CSS("#timeline")))
	kinds := eval[[]string](b, `Array.from(document.querySelectorAll('#timeline li')).map(li => li.querySelector('.sys').textContent + ' ' + li.dataset.kind)`)
	for _, want := range []string{"genstore payment.created", "genstore payment.request", "threeds threeds.authentication", "vmgateway api.request",
		"genstore payment.acknowledged", "threeds threeds.challenge_completed", "genstore callback.received", "vmgateway delivery.attempt"} {
		if !containsPrefix(kinds, want) {
			t.Errorf("the timeline of %s lacks %q: %v", id, want, kinds)
		}
	}
	seqs := eval[[]int](b, `Array.from(document.querySelectorAll('#timeline li')).map(li => +li.dataset.seq)`)
	for i := 1; i < len(seqs); i++ {
		if seqs[i] <= seqs[i-1] {
			t.Errorf("the timeline is not in time order: %v", seqs)
			break
		}
	}
	// Expand the gateway's createPayment: the app's request, card masked.
	b.do("expand createPayment", chromedp.Click(chromedp.CSS(`#timeline li[data-kind="api.request"] summary`)))
	body := b.text(`#timeline li[data-kind="api.request"] pre`)
	if !strings.Contains(body, "400012******0068") || !strings.Contains(body, `"cvc": "***"`) {
		t.Errorf("the expanded createPayment shows no masked card body:\n%s", body)
	}
	b.screenshot("4-timeline")
	noCardNumbers(t, b, "the timeline")

	// Searching the gateway's tradeNo finds the same chain.
	trade := simtest.FieldString(ra.payment(t, id), "channelTrxNo")
	b.open(h.URL+"/dash/search?q="+trade, "#timeline")
	if n := eval[int](b, `document.querySelectorAll('#timeline li[data-kind="payment.created"]').length`); n != 1 {
		t.Errorf("searching the tradeNo %s does not reach Genstore's payment.created (%d)", trade, n)
	}
}

func containsPrefix(list []string, p string) bool {
	for _, s := range list {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

// codepayOrder pushes a sale to a terminal through CodePay's API (HTTP
// Basic, as sign_type NONE allows).
func codepayOrder(t *testing.T, h *simtest.Harness, sn, orderNo string) {
	t.Helper()
	body := map[string]any{"app_id": "wz9f2a175d0e0ef632", "method": "wisehub.cloud.pay.order", "format": "JSON", "charset": "UTF-8",
		"sign_type": "NONE", "version": "1.0", "timestamp": fmt.Sprint(h.Clock.Now().UnixMilli()), "merchant_no": "302100041048",
		"terminal_sn": sn, "message_receiving_application": "CodePay Register", "price_currency": "USD", "order_amount": json.Number("20.00"),
		"trans_type": 1, "merchant_order_no": orderNo, "description": "coffee", "expires": 300, "api_version": "2.0"}
	r := h.Do("POST", "/codepay/api/entry", body, "Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte("wz9f2a175d0e0ef632:demo-basic-password")))
	if r.Status != 200 || !strings.Contains(string(r.Body), `"code":"0"`) {
		t.Fatalf("pay.order: %d %s", r.Status, r.Body)
	}
}

// TestTerminalPageUpdatesLive: an open terminal page shows an order pushed
// to its terminal without a reload, and a test card is one click.
func TestTerminalPageUpdatesLive(t *testing.T) {
	h := simtest.New(t)
	b := newBrowser(t)
	b.open(h.URL+"/codepay/terminals", "#terminals")
	b.screenshot("1-terminals")
	b.click(`#terminals a[href$="WPYB001234567890"]`, "#screen")
	b.waitFor("the live stream", `document.getElementById('live').getAttribute('data-live-state') === 'open'`)
	eval[bool](b, "window.__sameDocument = true")
	b.screenshot("2-idle")

	codepayOrder(t, h, "WPYB001234567890", "LIVE-1")
	b.waitFor("the pushed order on screen", `document.getElementById('screen').dataset.order === 'LIVE-1'`)
	if !eval[bool](b, "window.__sameDocument === true") {
		t.Fatal("the page reloaded instead of updating in place")
	}
	b.screenshot("3-order-arrived")
	if n := eval[int](b, `document.querySelectorAll('#testcards button').length`); n < 40 {
		t.Errorf("the terminal offers %d test cards, want every TESTCARDS row for Visa and Mastercard", n)
	}
	noCardNumbers(t, b, "the terminal page")
	b.click(`#testcards button[value="20:visa"]`, "#msg")
	b.waitFor("the declined sale leaves the screen", `document.getElementById('screen').dataset.order === ''`)
	b.screenshot("4-declined")
	tx := h.Do("GET", "/_sim/events?kind=order.state_changed&merchant_order_no=LIVE-1", nil)
	if !strings.Contains(string(tx.Body), "insufficient") && !strings.Contains(string(tx.Body), "Failed") && !strings.Contains(string(tx.Body), "failed") {
		t.Errorf("the test card 20 did not decline the sale: %s", tx.Body)
	}
}

// TestHostedCheckoutAndChallengeByClicking: the gateway's cashier flags a
// basket that does not add up, takes a challenge card, and the 3-D Secure
// page completes it.
func TestHostedCheckoutAndChallengeByClicking(t *testing.T) {
	h := simtest.New(t)
	tok := h.VMToken("sandbox")
	s := h.Do("POST", "/vm/v1/checkout/sessions", map[string]any{"amount": "42.00", "currency": "HKD", "orderNo": "CASHIER-1", "description": "Basket",
		"expiryTime": "60", "captureMethod": "auto", "threeDsMode": "auto", "linkMode": "session",
		"productInfo": []any{map[string]any{"productName": "shirt", "price": "42.00", "quantity": "2"}}}, "Authorization", "Bearer "+tok)
	cashier := simtest.FieldString(s.JSON(), "cashierUrl")
	if cashier == "" {
		t.Fatalf("createCheckoutSession: %d %s", s.Status, s.Body)
	}
	b := newBrowser(t)
	b.open(cashier, "#pspsim-cashier-card")
	if got := b.text("#pspsim-products-mismatch"); !strings.Contains(got, "84.00 HKD") {
		t.Errorf("the cashier does not flag a basket of 84.00 for 42.00: %q", got)
	}
	if n := eval[int](b, `document.querySelectorAll('#pspsim-cashier-cancel button').length`); n != 1 {
		t.Error("the cashier offers no cancel")
	}
	b.screenshot("1-cashier")
	b.do("fill the card", chromedp.SendKeys(chromedp.CSS("#cardNo"), "4000123456000068"), chromedp.SendKeys(chromedp.CSS("#expiryMonth"), "12"),
		chromedp.SendKeys(chromedp.CSS("#expiryYear"), "2030"), chromedp.SendKeys(chromedp.CSS("#cvc"), "123"))
	b.click(`#pspsim-cashier-card button[type="submit"]`, "#pspsim-challenge")
	b.screenshot("2-challenge")
	noCardNumbers(t, b, "the challenge page")
	b.do("type the OTP", chromedp.SendKeys(chromedp.CSS("#otp"), "123456"))
	b.click(`#pspsim-challenge button[value="submit"]`, "#pspsim-result")
	b.screenshot("3-result")
	if st := eval[string](b, `document.getElementById('pspsim-result').dataset.status`); st != "CAPTURED" && st != "SUCCEEDED" && st != "AUTHORIZED" {
		t.Errorf("after the challenge the payment is %q", st)
	}
}

// TestCashierDeviceWalletsAndCancelByClicking: the card gateway's cashier
// offers Apple Pay and Google Pay (the demo merchant has every method) and a
// way back to the shop; clicking Google Pay pays at once and shows the
// result.
func TestCashierDeviceWalletsAndCancelByClicking(t *testing.T) {
	h := simtest.New(t)
	tok := h.VMToken("sandbox")
	s := h.Do("POST", "/vm/v1/checkout/sessions", map[string]any{"amount": "12.00", "currency": "USD", "orderNo": "CASHIER-GP",
		"expiryTime": "60", "captureMethod": "auto", "threeDsMode": "auto", "linkMode": "session"}, "Authorization", "Bearer "+tok)
	cashier := simtest.FieldString(s.JSON(), "cashierUrl")
	if cashier == "" {
		t.Fatalf("createCheckoutSession: %d %s", s.Status, s.Body)
	}
	b := newBrowser(t)
	b.open(cashier, "#pspsim-cashier-express")
	labels := eval[string](b, `[...document.querySelectorAll('#pspsim-cashier-express button')].map(e => e.textContent).join('|')`)
	if labels != "Pay with Apple Pay|Pay with Google Pay" {
		t.Errorf("express buttons: %q", labels)
	}
	if n := eval[int](b, `document.querySelectorAll('#pspsim-cashier-cancel button').length`); n != 1 {
		t.Error("the cashier offers no cancel")
	}
	b.screenshot("1-cashier-express")
	b.click(`#pspsim-cashier-express button[value="googlePay"]`, "#pspsim-result")
	b.screenshot("2-google-pay-result")
	if st := eval[string](b, `document.getElementById('pspsim-result').dataset.status`); st != "CAPTURED" {
		t.Errorf("after Google Pay the payment is %q", st)
	}
	inq := h.Do("POST", "/vm/v1/payments/inquiry", map[string]any{"orderNo": "CASHIER-GP"}, "Authorization", "Bearer "+tok)
	if m := inq.JSON(); m["paymentMethodType"] != "googlePay" || m["status"] != "CAPTURED" {
		t.Errorf("inquiry after Google Pay: %s", inq.Body)
	}
}

// TestJournalUpdatesLive: the journal page shows new events as they are
// recorded, filtered, without a reload.
func TestJournalUpdatesLive(t *testing.T) {
	h := simtest.New(t)
	b := newBrowser(t)
	b.open(h.URL+"/dash/journal?system=genstore", "#live-journal")
	b.waitFor("the live stream", `document.getElementById('live-journal').getAttribute('data-live-state') === 'open'`)
	eval[bool](b, "window.__sameDocument = true")
	before := eval[int](b, `document.querySelectorAll('#event-rows tr').length`)
	r := h.Do("POST", "/_sim/genstore/shops", map[string]any{"shopId": "8123", "shop": "live-shop", "testMode": true})
	if r.Status != 201 {
		t.Fatalf("create shop: %d %s", r.Status, r.Body)
	}
	h.Do("POST", "/_sim/codepay/terminals/WPYB001234567890/actions/offline", map[string]any{}) // another system: filtered out
	b.waitFor("the new event", `document.querySelector('#event-rows tr .kind').textContent === 'shop.created'`)
	if !eval[bool](b, "window.__sameDocument === true") {
		t.Fatal("the journal reloaded instead of updating in place")
	}
	if after := eval[int](b, `document.querySelectorAll('#event-rows tr').length`); after != before+1 {
		t.Errorf("rows went from %d to %d: want exactly the one genstore event", before, after)
	}
	b.screenshot("1-journal-live")
}

// TestControlPageAddsAndRemovesAFaultRule drives the control page: a rule
// in YAML is added through the control API and listed, then removed.
func TestControlPageAddsAndRemovesAFaultRule(t *testing.T) {
	h := simtest.New(t)
	b := newBrowser(t)
	b.open(h.URL+"/dash/control", "#add-rule-yaml")
	b.do("write YAML", chromedp.SetValue(chromedp.CSS("#add-rule-yaml textarea"), "- id: dash-rule\n  match: {system: vmgateway, operation: createPayment}\n  action: {type: error, status: 503}\n"))
	b.do("add", chromedp.Click(chromedp.CSS("#add-rule-yaml button")))
	b.waitFor("the rule listed", `!!document.querySelector('#rules') && document.querySelector('#rules').textContent.includes('dash-rule')`)
	b.screenshot("1-rule-added")
	if r := h.Do("GET", "/_sim/faults/dash-rule", nil); r.Status != 200 {
		t.Fatalf("the rule is not in the control API: %d %s", r.Status, r.Body)
	}
	b.do("remove", chromedp.Click(chromedp.CSS(`#rules form[data-path$="dash-rule"] button`)))
	b.waitFor("the rule gone", `!document.querySelector('#rules').textContent.includes('dash-rule')`)
	if r := h.Do("GET", "/_sim/faults/dash-rule", nil); r.Status != 404 {
		t.Fatalf("the rule is still in the control API: %d %s", r.Status, r.Body)
	}
	// A malformed rule is refused with the API's words, on the page.
	b.do("write a bad rule", chromedp.SetValue(chromedp.CSS("#add-rule-json textarea"), `{"action":{"type":"status","status":999}}`),
		chromedp.Click(chromedp.CSS("#add-rule-json button")))
	b.waitFor("the refusal", `document.querySelector('#add-rule-json output').textContent.includes('status')`)
	b.screenshot("2-rule-refused")
}
