package codepay_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/pspsim/pspsim/fixtures"
	"github.com/pspsim/pspsim/simulator/codepay"
)

// TestAutopilotCompletesOrdersOnTheClock: with an autopilot, each order
// the terminal shows is confirmed, tipped, paid and signed `delay` later.
func TestAutopilotCompletesOrdersOnTheClock(t *testing.T) {
	c := newCP(t)
	st, v := c.admin("PUT", "/codepay/terminals/"+termA+"/autopilot", map[string]any{"card": visaOK, "delay": "5s", "tip_amount": "1.25"})
	if st != 200 || v["autopilot"].(map[string]any)["card"] != "400012******0001" {
		t.Fatalf("autopilot: %d %v", st, v)
	}
	c.order("AP-1", map[string]any{"confirm_on_terminal": true, "on_screen_tip": true, "on_screen_signature": true})
	c.order("AP-2", nil)
	c.advance(4 * time.Second)
	if st := c.statusOf("AP-1"); st != "9" {
		t.Fatalf("autopilot acted early: %s", st)
	}
	c.advance(time.Second)
	if q := c.query("AP-1"); q.str("trans_status") != "2" || q.str("tip_amount") != "1.25" {
		t.Fatalf("AP-1 after 5 s: %s", q)
	}
	if st := c.statusOf("AP-2"); st != "9" {
		t.Fatalf("AP-2 must wait its own delay: %s", st)
	}
	c.advance(5 * time.Second)
	if st := c.statusOf("AP-2"); st != "2" {
		t.Fatalf("AP-2: %s", st)
	}
	// A declining card: the order fails, the next one is served.
	c.admin("PUT", "/codepay/terminals/"+termA+"/autopilot", map[string]any{"card": visaNoFunds, "delay": "0s"})
	c.order("AP-3", nil)
	if st := c.statusOf("AP-3"); st != "1" {
		t.Fatalf("AP-3 with delay 0: %s", st)
	}
	if st, _ := c.admin("DELETE", "/codepay/terminals/"+termA+"/autopilot", nil); st != 200 {
		t.Fatal("autopilot off")
	}
	c.order("AP-4", nil)
	c.advance(time.Minute)
	if st := c.statusOf("AP-4"); st != "9" {
		t.Fatalf("no autopilot, yet AP-4 is %s", st)
	}
}

// TestTerminalPage: the HTML screen shows the order and its buttons, and
// its forms drive the terminal; card numbers appear masked only.
func TestTerminalPage(t *testing.T) {
	c := newCP(t)
	c.order("PG-1", map[string]any{"confirm_on_terminal": true, "on_screen_signature": true, "description": "Flat white <b>"})
	page := func() string {
		res, err := http.Get(c.h.URL + "/codepay/terminals/" + termA)
		if err != nil {
			t.Fatal(err)
		}
		return readAll(t, res)
	}
	p := page()
	if !strings.Contains(p, "PG-1") || !strings.Contains(p, `value="confirm"`) || !strings.Contains(p, "Flat white &lt;b&gt;") {
		t.Fatalf("page: %s", p)
	}
	do := func(form url.Values) {
		res := postForm(t, c.h.URL+"/codepay/terminals/"+termA, form)
		readAll(t, res)
		if res.StatusCode != http.StatusSeeOther {
			t.Fatalf("form %v: %d", form, res.StatusCode)
		}
	}
	do(url.Values{"action": {"confirm"}})
	do(url.Values{"action": {"card"}, "card": {"4000 1234 5600 0001"}})
	p = page()
	if !strings.Contains(p, "400012******0001") || strings.Contains(p, visaOK) || !strings.Contains(p, `value="sign"`) {
		t.Fatalf("page after the card: %s", p)
	}
	do(url.Values{"action": {"sign"}})
	if st := c.statusOf("PG-1"); st != "2" {
		t.Fatalf("status %s", st)
	}
	res := postForm(t, c.h.URL+"/codepay/terminals/"+termA, url.Values{"action": {"sign"}})
	readAll(t, res)
	if !strings.Contains(res.Header.Get("Location"), "shows+no+order") {
		t.Fatalf("a refused action is reported: %s", res.Header.Get("Location"))
	}
	if res, _ := http.Get(c.h.URL + "/codepay/terminals/NOPE"); res.StatusCode != 404 {
		t.Fatalf("unknown terminal page: %d", res.StatusCode)
	}
}

// TestAdminAPI: the gateway key is published; apps and merchants can be
// registered; an app's passwords are never shown.
func TestAdminAPI(t *testing.T) {
	c := newCP(t)
	st, key := c.admin("GET", "/codepay/gateway-key", nil)
	pub, err := codepay.ParsePublicKey([]byte(key["gateway_rsa_public_key"].(string)))
	if st != 200 || err != nil || !pub.Equal(c.gw) {
		t.Fatalf("gateway key: %d %v %v", st, err, key)
	}
	st, m := c.admin("PUT", "/codepay/merchants/700000000001", map[string]any{"name": "New Shop",
		"stores": []any{map[string]any{"storeNo": "S1", "terminals": []string{"NEWTERM1"}}}})
	if st != 200 {
		t.Fatalf("merchant: %d %v", st, m)
	}
	livePEM, _ := fixtures.Read("keys/codepay-app-demo-live.pub.pem")
	st, m = c.admin("PUT", "/codepay/apps/wznewapp", map[string]any{"merchants": []string{"700000000001"},
		"live": map[string]any{"publicKey": string(livePEM), "basicPassword": "new-live-password"}})
	if st != 200 || m["live"].(map[string]any)["basicAuth"] != true {
		t.Fatalf("app: %d %v", st, m)
	}
	if _, apps := c.admin("GET", "/codepay/apps", nil); strings.Contains(mustJSON(apps), "new-live-password") || strings.Contains(mustJSON(apps), "demo-basic-password") {
		t.Fatal("the apps list shows passwords")
	}
	if st, m := c.admin("PUT", "/codepay/apps/wzbad", map[string]any{"merchants": []string{"nope"}, "sandbox": map[string]any{"basicPassword": "12345678"}}); st != 400 {
		t.Fatalf("unknown merchant accepted: %d %v", st, m)
	}
	if st, m := c.admin("PUT", "/codepay/apps/wzbad", map[string]any{"merchants": []string{}, "sandbox": map[string]any{"publicKey": "not a key"}}); st != 400 {
		t.Fatalf("bad key accepted: %d %v", st, m)
	}
	live := *c
	live.app, live.key = "wznewapp", liveKey(t)
	a := live.call("wisehub.cloud.pay.order", map[string]any{"merchant_no": "700000000001", "terminal_sn": "NEWTERM1", "message_receiving_application": "CodePay Register",
		"price_currency": "EUR", "order_amount": json.Number("9.99"), "trans_type": 1, "merchant_order_no": "NEW-1", "description": "x", "expires": 60, "api_version": "2.0"})
	if a.Code != "0" {
		t.Fatalf("the new app's order: %s", a)
	}
	st, txn := c.admin("GET", "/codepay/transactions/"+a.str("trans_no"), nil)
	if st != 200 || txn["environment"] != "live" || txn["channel"] != "terminal" {
		t.Fatalf("transaction: %d %v", st, txn)
	}
	if st, _ := c.admin("POST", "/codepay/terminals/NOPE/actions/online", nil); st != 404 {
		t.Fatalf("unknown terminal: %d", st)
	}
	if st, _ := c.admin("POST", "/codepay/terminals/"+termA+"/actions/dance", nil); st != 400 {
		t.Fatalf("unknown action: %d", st)
	}
}

// TestNoCardDataInJournalOrAnswers: after card payments of every kind, no
// full card number appears in the journal, an answer or a terminal view.
func TestNoCardDataInJournalOrAnswers(t *testing.T) {
	c := newCP(t)
	c.sys.SetThreeDS(newFake3DS(t, c.h.Clock))
	c.paidSale("PCI-1", "1.00", visaOK, nil)
	c.paidSale("PCI-2", "1.00", visaNoFunds, nil)
	c.merchantCheckout("PCI-3", visaChallenge, nil)
	c.admin("PUT", "/codepay/terminals/"+termB+"/autopilot", map[string]any{"card": mcOK})
	views := mustJSON(c.terminal(termA)) + mustJSON(c.terminal(termB))
	answers := string(c.query("PCI-1").Raw) + string(c.query("PCI-3").Raw)
	r := c.h.Do("GET", "/_sim/events", nil)
	for _, pan := range []string{visaOK, visaNoFunds, visaChallenge, mcOK} {
		for where, text := range map[string]string{"journal": string(r.Body), "views": views, "answers": answers} {
			if strings.Contains(text, pan) {
				t.Errorf("%s contains %s", where, pan)
			}
		}
	}
	if !strings.Contains(string(r.Body), "400012******0001") {
		t.Fatal("the journal does not show the masked card")
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
