package codepay_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/pspsim/pspsim/simulator/codepay"
	"github.com/pspsim/pspsim/simulator/journal"
)

// TestTransitionTable checks the one table of status changes, pair by pair.
func TestTransitionTable(t *testing.T) {
	all := []codepay.Status{codepay.StatusCreated, codepay.StatusProcessing, codepay.StatusFailed, codepay.StatusSuccess, codepay.StatusCancelled}
	allowed := map[[2]codepay.Status]bool{
		{9, 0}: true, {9, 1}: true, {9, 3}: true,
		{0, 2}: true, {0, 1}: true, {0, 3}: true,
		{2, 3}: true,
	}
	for _, from := range all {
		for _, to := range all {
			if got := codepay.CanMove(from, to); got != allowed[[2]codepay.Status{from, to}] {
				t.Errorf("%d → %d: allowed=%v", from, to, got)
			}
		}
	}
	for _, s := range []codepay.Status{codepay.StatusFailed, codepay.StatusCancelled} {
		for _, to := range all {
			if codepay.CanMove(s, to) {
				t.Errorf("final status %d moves to %d", s, to)
			}
		}
	}
}

// TestTransitionsThroughTheAPI drives an order into every transition of the
// table through the gateway, the terminal and the clock.
func TestTransitionsThroughTheAPI(t *testing.T) {
	signature := map[string]any{"on_screen_signature": true}
	cases := []struct {
		name   string
		run    func(c *cp) string // returns the merchant_order_no to check
		status string
		event  string // a journal message fragment that must exist
	}{
		{"9 created on push", func(c *cp) string { c.order("T1", nil); return "T1" }, "9", "queued FIFO"},
		{"9→0 card read, awaiting signature", func(c *cp) string {
			c.paidSale("T1", "5.00", visaOK, signature)
			return "T1"
		}, "0", "created → processing"},
		{"0→2 signed", func(c *cp) string {
			c.paidSale("T1", "5.00", visaOK, signature)
			c.act(termA, "sign", nil)
			return "T1"
		}, "2", "processing → success"},
		{"0→2 approved without signature", func(c *cp) string { c.paidSale("T1", "5.00", visaOK, nil); return "T1" }, "2", "processing → success"},
		{"0→1 declined by the issuer", func(c *cp) string { c.paidSale("T1", "5.00", visaNoFunds, nil); return "T1" }, "1", "INSUFFICIENT FUNDS"},
		{"9→1 expired", func(c *cp) string {
			c.order("T1", map[string]any{"expires": 60})
			c.advance(61 * time.Second)
			return "T1"
		}, "1", "expired"},
		{"0→1 host never answers, expired", func(c *cp) string {
			c.paidSale("T1", "5.00", visaTimeout, map[string]any{"expires": 60})
			c.advance(time.Minute)
			return "T1"
		}, "1", "expired while processing"},
		{"9→3 closed by the merchant", func(c *cp) string {
			c.order("T1", nil)
			if a := c.call("wisehub.cloud.pay.close", map[string]any{"terminal_sn": termA, "merchant_order_no": "T1", "message_receiving_application": "CodePay Register"}); a.Code != "0" {
				c.t.Fatalf("close: %s", a)
			}
			return "T1"
		}, "3", "closed by the merchant"},
		{"9→3 cancelled on the terminal", func(c *cp) string { c.order("T1", nil); c.act(termA, "cancel", nil); return "T1" }, "3", "cancelled on the terminal"},
		{"0→3 cancelled at the signature", func(c *cp) string {
			c.paidSale("T1", "5.00", visaOK, signature)
			c.act(termA, "cancel", nil)
			return "T1"
		}, "3", "at the signature"},
		{"9→3 order.revoker before payment", func(c *cp) string {
			c.order("T1", nil)
			if a := c.call("order.revoker", map[string]any{"merchant_order_no": "T1"}); a.Code != "0" {
				c.t.Fatalf("revoker: %s", a)
			}
			return "T1"
		}, "3", "order.revoker"},
		{"2→3 wallet payment revoked (refunded in full)", func(c *cp) string {
			c.order("T1", nil)
			c.act(termA, "wallet", map[string]any{"wallet": "Alipay+"})
			if a := c.call("order.revoker", map[string]any{"merchant_order_no": "T1"}); a.Code != "0" {
				c.t.Fatalf("revoker: %s", a)
			}
			return "T1"
		}, "3", "refunded in full"},
		{"2→3 voided on the terminal", func(c *cp) string {
			c.paidSale("T1", "5.00", visaOK, nil)
			c.order("V1", map[string]any{"trans_type": 2, "orig_merchant_order_no": "T1", "order_amount": json.Number("5.00")})
			if st := c.statusOf("V1"); st != "2" {
				c.t.Fatalf("void status %s", st)
			}
			return "T1"
		}, "3", "reversed in full"},
		{"9→3 the manager refuses a void", func(c *cp) string {
			c.paidSale("T1", "5.00", visaOK, nil)
			c.order("V1", map[string]any{"trans_type": 2, "orig_merchant_order_no": "T1", "order_amount": json.Number("5.00"), "required_terminal_authentication": true})
			if s := c.step(termA); s != codepay.StepApproval {
				c.t.Fatalf("step %s", s)
			}
			c.act(termA, "decline", nil)
			if st := c.statusOf("T1"); st != "2" {
				c.t.Fatalf("original %s after a refused void", st)
			}
			return "V1"
		}, "3", "manager refused"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := newCP(t)
			no := tc.run(c)
			if st := c.statusOf(no); st != tc.status {
				t.Fatalf("status %s, want %s", st, tc.status)
			}
			found := false
			for _, e := range c.h.Sim.Journal().Query(journalAll()) {
				found = found || strings.Contains(e.Message, tc.event)
			}
			if !found {
				t.Fatalf("no journal event mentions %q", tc.event)
			}
		})
	}
}

// TestRefusedTransitionsAndCodes: every operation a status forbids answers
// its documented code and leaves the order as it was.
func TestRefusedTransitionsAndCodes(t *testing.T) {
	type step func(c *cp) answer
	entry := func(method string, f map[string]any) step { return func(c *cp) answer { return c.call(method, f) } }
	card := func(path string, f func(c *cp) map[string]any) step {
		return func(c *cp) answer { return c.card(path, f(c)) }
	}
	cases := []struct {
		name  string
		setup func(c *cp)
		try   step
		code  string
		check string // order whose status must be unchanged
		want  string
	}{
		{"close a paid order", func(c *cp) { c.paidSale("A", "5.00", visaOK, nil) },
			entry("wisehub.cloud.pay.close", map[string]any{"terminal_sn": termA, "merchant_order_no": "A", "message_receiving_application": "CodePay Register"}), "40009", "A", "2"},
		{"close a failed order", func(c *cp) { c.paidSale("A", "5.00", visaNoFunds, nil) },
			entry("wisehub.cloud.pay.close", map[string]any{"terminal_sn": termA, "merchant_order_no": "A", "message_receiving_application": "CodePay Register"}), "40009", "A", "1"},
		{"close on the wrong terminal", func(c *cp) { c.order("A", nil) },
			entry("wisehub.cloud.pay.close", map[string]any{"terminal_sn": termB, "merchant_order_no": "A", "message_receiving_application": "CodePay Register"}), "40008", "A", "9"},
		{"void a declined sale", func(c *cp) { c.paidSale("A", "5.00", visaNoFunds, nil) },
			entry("wisehub.cloud.pay.order", voidOf("A", "5.00")), "40009", "A", "1"},
		{"void after a partial refund", func(c *cp) {
			c.paidSale("A", "5.00", visaOK, nil)
			refund(c, "A", "R1", "1.00", "0")
		}, entry("wisehub.cloud.pay.order", voidOf("A", "5.00")), "40009", "A", "2"},
		{"void for another amount", func(c *cp) { c.paidSale("A", "5.00", visaOK, nil) },
			entry("wisehub.cloud.pay.order", voidOf("A", "4.00")), "40002", "A", "2"},
		{"revoke an offline card sale", func(c *cp) { c.paidSale("A", "5.00", visaOK, nil) },
			entry("order.revoker", map[string]any{"merchant_order_no": "A"}), "40009", "A", "2"},
		{"refund an unpaid order", func(c *cp) { c.order("A", nil) },
			entry("order.refund.submit", refundOf("A", "R1", "1.00")), "40009", "A", "9"},
		{"refund a cash withdrawal", func(c *cp) {
			c.order("A", map[string]any{"trans_type": 12})
			c.act(termA, "card", map[string]any{"card": visaOK})
		}, entry("order.refund.submit", refundOf("A", "R1", "1.00")), "40009", "A", "2"},
		{"capture a sale", func(c *cp) { c.paidSale("A", "5.00", visaOK, nil) },
			card("capture", func(c *cp) map[string]any {
				return map[string]any{"trans_no": transNoOf(c, "A"), "merchant_order_no": "C1", "trans_amount": json.Number("1")}
			}), "40009", "A", "2"},
		{"cancel payment of a sale", func(c *cp) { c.paidSale("A", "5.00", visaOK, nil) },
			card("cancel", func(c *cp) map[string]any {
				return map[string]any{"trans_no": transNoOf(c, "A"), "merchant_order_no": "X1"}
			}), "40009", "A", "2"},
		{"tip adjustment of a wallet sale", func(c *cp) {
			c.order("A", nil)
			c.act(termA, "wallet", map[string]any{"wallet": "Alipay+"})
		}, entry("tip.adjustment", map[string]any{"merchant_order_no": "A", "tip_adjustment_amount": json.Number("1")}), "40009", "A", "2"},
		{"push to an unknown original", func(c *cp) {}, entry("wisehub.cloud.pay.order", voidOf("NOPE", "5.00")), "40008", "", ""},
		{"refund in another currency", func(c *cp) { c.paidSale("A", "5.00", visaOK, nil) },
			entry("order.refund.submit", map[string]any{"orig_merchant_order_no": "A", "merchant_order_no": "R1", "price_currency": "EUR",
				"order_amount": json.Number("1"), "description": "x"}), "40002", "A", "2"},
		{"refund reusing the original's number", func(c *cp) { c.paidSale("A", "5.00", visaOK, nil) },
			entry("order.refund.submit", refundOf("A", "A", "1.00")), "40007", "A", "2"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := newCP(t)
			tc.setup(c)
			a := tc.try(c)
			if a.Code != tc.code {
				t.Fatalf("want %s, got %s", tc.code, a)
			}
			if tc.check != "" {
				if st := c.statusOf(tc.check); st != tc.want {
					t.Fatalf("%s is %s after the refusal, want %s", tc.check, st, tc.want)
				}
			}
		})
	}
}

func voidOf(orig, amount string) map[string]any {
	return map[string]any{"terminal_sn": termA, "message_receiving_application": "CodePay Register", "price_currency": "USD",
		"order_amount": json.Number(amount), "trans_type": 2, "merchant_order_no": "V-" + orig, "orig_merchant_order_no": orig,
		"description": "void", "expires": 300, "api_version": "2.0"}
}

func refundOf(orig, no, amount string) map[string]any {
	return map[string]any{"orig_merchant_order_no": orig, "merchant_order_no": no, "price_currency": "USD", "order_amount": json.Number(amount), "description": "refund"}
}

// refund submits a refund and checks its code.
func refund(c *cp, orig, no, amount, code string) answer {
	c.t.Helper()
	a := c.call("order.refund.submit", refundOf(orig, no, amount))
	if a.Code != code {
		c.t.Fatalf("refund %s of %s: want %s, got %s", amount, orig, code, a)
	}
	return a
}

func transNoOf(c *cp, orderNo string) string {
	c.t.Helper()
	return c.query(orderNo).str("trans_no")
}

// TestTerminalSaleWithTipAndSignature walks the screens an order asks for:
// confirmation, an on-screen tip, the card, the signature; receipts print.
func TestTerminalSaleWithTipAndSignature(t *testing.T) {
	c := newCP(t)
	n := newNotifyServer(t)
	c.order("TIP-1", map[string]any{"order_amount": json.Number("40.00"), "confirm_on_terminal": true, "on_screen_tip": true,
		"on_screen_signature": true, "receipt_print_mode": 3, "notify_url": n.URL + "/notify"})
	for _, want := range []string{codepay.StepConfirm, codepay.StepTip, codepay.StepPayment, codepay.StepSignature} {
		if got := c.step(termA); got != want {
			t.Fatalf("screen %s, want %s", got, want)
		}
		switch want {
		case codepay.StepConfirm:
			if st, m := c.admin("POST", "/codepay/terminals/"+termA+"/actions/card", map[string]any{"card": visaOK}); st != 409 {
				t.Fatalf("a card before confirmation: %d %v", st, m)
			}
			c.act(termA, "confirm", nil)
		case codepay.StepTip:
			c.act(termA, "tip", map[string]any{"tip_amount": "6.00"})
		case codepay.StepPayment:
			c.act(termA, "card", map[string]any{"card": mcOK})
		case codepay.StepSignature:
			if st := c.statusOf("TIP-1"); st != "0" {
				t.Fatalf("status before signing %s", st)
			}
			c.act(termA, "sign", nil)
		}
	}
	a := c.query("TIP-1")
	if a.str("trans_status") != "2" || a.str("tip_amount") != "6.00" || a.str("trans_amount") != "46.00" || a.str("pay_method_id") != "Mastercard" ||
		a.str("pay_user_account_id") != "510012******0007" || a.str("pay_scenario") != "SWIPE_CARD" {
		t.Fatalf("%s", a)
	}
	if len(c.events("terminal.receipt_printed")) != 2 {
		t.Fatalf("receipts: %d", len(c.events("terminal.receipt_printed")))
	}
	body := n.wait(t, 1)[0]
	if err := codepay.Verify(c.gw, body); err != nil || !strings.Contains(string(body), `"trans_status":2`) {
		t.Fatalf("notification %v: %s", err, body)
	}
	if len(c.terminal(termA)["queue"].([]any)) != 0 {
		t.Fatal("the paid order is still queued")
	}
}

// TestQueueFIFOvsFILO: FIFO orders join the back of the queue, FILO orders
// the front — but never ahead of an order the terminal has started.
func TestQueueFIFOvsFILO(t *testing.T) {
	heads := func(c *cp) []string {
		var out []string
		for _, q := range c.terminal(termA)["queue"].([]any) {
			out = append(out, q.(map[string]any)["merchant_order_no"].(string))
		}
		return out
	}
	for _, tc := range []struct {
		mode string
		want string
	}{{"FIFO", "Q1 Q2 Q3"}, {"FILO", "Q3 Q2 Q1"}} {
		t.Run(tc.mode, func(t *testing.T) {
			c := newCP(t)
			for _, no := range []string{"Q1", "Q2", "Q3"} {
				c.order(no, map[string]any{"order_queue_mode": tc.mode})
			}
			if got := strings.Join(heads(c), " "); got != tc.want {
				t.Fatalf("queue %s, want %s", got, tc.want)
			}
			// The terminal serves the head first.
			first := heads(c)[0]
			c.act(termA, "card", map[string]any{"card": visaOK})
			if st := c.statusOf(first); st != "2" {
				t.Fatalf("%s is %s", first, st)
			}
		})
	}
	t.Run("FILO never jumps an order in progress", func(t *testing.T) {
		c := newCP(t)
		c.order("Q1", map[string]any{"confirm_on_terminal": true})
		c.act(termA, "confirm", nil)
		c.order("Q2", map[string]any{"order_queue_mode": "FILO"})
		if got := strings.Join(heads(c), " "); got != "Q1 Q2" {
			t.Fatalf("queue %s", got)
		}
	})
}

// TestOfflineTerminal: an offline terminal refuses orders that ask so, and
// queues the others (answered terminal_online_status offline) until it is
// back online.
func TestOfflineTerminal(t *testing.T) {
	c := newCP(t)
	c.act(termA, "offline", nil)
	base := func(no string, reject bool) map[string]any {
		return map[string]any{"terminal_sn": termA, "message_receiving_application": "CodePay Register", "price_currency": "USD",
			"order_amount": json.Number("3.00"), "trans_type": 1, "merchant_order_no": no, "description": "x", "expires": 600,
			"api_version": "2.0", "reject_trade_when_terminal_offline": reject, "on_screen_signature": false}
	}
	if a := c.call("wisehub.cloud.pay.order", base("OFF-1", true)); a.Code != codepay.CodeTerminalOffline || !strings.Contains(a.Msg, "terminal_sn") {
		t.Fatalf("rejected: %s", a)
	}
	if a := c.query("OFF-1"); a.Code != codepay.CodeOrderNotFound {
		t.Fatalf("a rejected order exists: %s", a)
	}
	a := c.call("wisehub.cloud.pay.order", base("OFF-2", false))
	if a.Code != "0" || a.str("terminal_online_status") != "offline" {
		t.Fatalf("queued: %s", a)
	}
	if st, _ := c.admin("POST", "/codepay/terminals/"+termA+"/actions/card", map[string]any{"card": visaOK}); st != 409 {
		t.Fatalf("an offline terminal read a card: %d", st)
	}
	if v := c.terminal(termA); v["screen"] != nil || len(v["queue"].([]any)) != 1 {
		t.Fatalf("offline view: %v", v)
	}
	c.act(termA, "online", nil)
	if s := c.step(termA); s != codepay.StepPayment {
		t.Fatalf("online again, screen %q", s)
	}
	if a := c.call("wisehub.cloud.pay.order", base("OFF-3", true)); a.Code != "0" || a.str("terminal_online_status") != "online" {
		t.Fatalf("online: %s", a)
	}
	if len(c.events("terminal.offline")) != 1 || len(c.events("terminal.order_rejected")) != 1 {
		t.Fatal("terminal events missing")
	}
}

// TestExpiryViaClock: an order closes exactly when expires runs out on the
// simulated clock, leaves the queue and is notified.
func TestExpiryViaClock(t *testing.T) {
	c := newCP(t)
	n := newNotifyServer(t)
	c.order("EXP-1", map[string]any{"expires": 90, "notify_url": n.URL})
	c.advance(89 * time.Second)
	if st := c.statusOf("EXP-1"); st != "9" {
		t.Fatalf("before expiry: %s", st)
	}
	c.advance(time.Second)
	if st := c.statusOf("EXP-1"); st != "1" {
		t.Fatalf("after expiry: %s", st)
	}
	if s := c.step(termA); s != "" {
		t.Fatalf("expired order still on screen: %s", s)
	}
	if b := n.wait(t, 1)[0]; !strings.Contains(string(b), `"trans_status":1`) {
		t.Fatalf("notification %s", b)
	}
	if a := c.call("order.query", map[string]any{"merchant_order_no": "EXP-1"}); a.str("trans_end_time") != "2026-11-22 10:01:30" {
		t.Fatalf("end time %s", a)
	}
}

// TestQueryByTransNoWins: with both numbers, trans_no decides.
func TestQueryByTransNoWins(t *testing.T) {
	c := newCP(t)
	t1 := c.order("W1", nil)
	c.order("W2", nil)
	a := c.call("order.query", map[string]any{"merchant_order_no": "W2", "trans_no": t1})
	if a.str("merchant_order_no") != "W1" {
		t.Fatalf("%s", a)
	}
	a = c.call("order.query", map[string]any{"merchant_order_no": "W2", "trans_no": "5099999999999"})
	if a.Code != codepay.CodeOrderNotFound || !strings.Contains(a.Msg, "trans_no") {
		t.Fatalf("unknown trans_no with a known merchant_order_no: %s", a)
	}
	r := c.card("recall", map[string]any{"merchant_order_no": "W2", "trans_no": t1})
	if r.str("trans_no") != t1 {
		t.Fatalf("recall: %s", r)
	}
}

func journalAll() journal.Filter { return journal.Filter{System: "codepay"} }
