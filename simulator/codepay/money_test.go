package codepay_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/pspsim/pspsim/simulator/codepay"
)

// TestRefundLimits: partial refunds add up to at most what was paid, at
// most 10 per transaction; amounts are parsed exactly.
func TestRefundLimits(t *testing.T) {
	c := newCP(t)
	c.paidSale("S1", "10.00", visaOK, map[string]any{"tip_amount": json.Number("1.50")})
	// Paid is 11.50: order plus tip.
	refund(c, "S1", "R1", "0.01", "0")
	refund(c, "S1", "R2", "11.50", codepay.CodeAmountExceeds) // 0.01 too much
	refund(c, "S1", "R2", "11.49", "0")
	refund(c, "S1", "R3", "0.01", codepay.CodeAmountExceeds)
	q := c.query("S1")
	if q.str("refunded_amount") != "11.50" || q.str("trans_status") != "2" {
		t.Fatalf("%s", q)
	}
	rq := c.call("order.refund.query", map[string]any{"merchant_order_no": "R2"})
	if rq.Code != "0" || rq.str("trans_type") != "3" || rq.str("order_amount") != "11.49" || rq.str("orig_merchant_order_no") != "S1" {
		t.Fatalf("refund query: %s", rq)
	}
	if a := c.call("order.refund.query", map[string]any{"merchant_order_no": "S1"}); a.Code != codepay.CodeOrderNotFound {
		t.Fatalf("a sale answered as a refund: %s", a)
	}

	c.paidSale("S2", "100.00", mcOK, map[string]any{"terminal_sn": termB})
	for i := 1; i <= codepay.MaxRefunds; i++ {
		refund(c, "S2", fmt.Sprintf("S2-R%d", i), "1.00", "0")
	}
	a := refund(c, "S2", "S2-R11", "1.00", codepay.CodeRefundLimit)
	if !strings.Contains(a.Msg, "10 refunds") {
		t.Fatalf("%s", a)
	}
	// JPY has no decimals: 1.5 JPY is refused, not rounded.
	c.paidSale("S3", "1500", visaOK, map[string]any{"price_currency": "JPY", "order_amount": json.Number("1500")})
	a = c.call("order.refund.submit", map[string]any{"orig_merchant_order_no": "S3", "merchant_order_no": "S3-R", "price_currency": "JPY",
		"order_amount": json.Number("1.5"), "description": "x"})
	if a.Code != codepay.CodeInvalidParameter || !strings.Contains(a.Msg, "order_amount") || !strings.Contains(a.Msg, "JPY allows 0") {
		t.Fatalf("JPY decimals: %s", a)
	}
	// Refund Payment (card) by components: a tip above the sale's tip is refused.
	c.paidSale("S4", "10.00", visaOK, map[string]any{"tip_amount": json.Number("2.00")})
	tn := transNoOf(c, "S4")
	if a := c.card("refund", map[string]any{"trans_no": tn, "merchant_order_no": "S4-R1", "tip_amount": json.Number("2.01")}); a.Code != codepay.CodeAmountExceeds {
		t.Fatalf("tip refund above tip: %s", a)
	}
	if a := c.card("refund", map[string]any{"trans_no": tn, "merchant_order_no": "S4-R1", "surcharge_amount": json.Number("1")}); a.Code != codepay.CodeAmountExceeds {
		t.Fatalf("surcharge refund: %s", a)
	}
	if a := c.card("refund", map[string]any{"trans_no": tn, "merchant_order_no": "S4-R1"}); a.Code != codepay.CodeMissingParameter {
		t.Fatalf("refund of nothing: %s", a)
	}
	a = c.card("refund", map[string]any{"trans_no": tn, "merchant_order_no": "S4-R1", "order_amount": json.Number("10"), "tip_amount": json.Number("2")})
	if a.Code != "0" || a.str("trans_status") != "2" || a.str("resp_code") != "000" {
		t.Fatalf("card refund: %s", a)
	}
	if q := c.query("S4"); q.str("refunded_amount") != "12.00" {
		t.Fatalf("%s", q)
	}
}

// TestPreAuthorizationLifecycle: incremental authorization raises the
// total, capture takes at most that (partial allowed, once), cancel voids
// only an uncaptured authorization, refunds go through the completion.
func TestPreAuthorizationLifecycle(t *testing.T) {
	c := newCP(t)
	auth := c.paidSale("PA1", "100.00", visaOK, map[string]any{"trans_type": 4})
	if st := c.statusOf("PA1"); st != "2" {
		t.Fatalf("authorized: %s", st)
	}
	if a := c.card("incremental-authorization", map[string]any{"trans_no": auth, "trans_amount": json.Number("30.00")}); a.Code != "0" || a.str("resp_code") != "000" {
		t.Fatalf("incremental: %s", a)
	}
	if a := c.card("capture", map[string]any{"trans_no": auth, "merchant_order_no": "PA1-C", "trans_amount": json.Number("130.01")}); a.Code != codepay.CodeAmountExceeds {
		t.Fatalf("capture above authorized: %s", a)
	}
	cap := c.card("capture", map[string]any{"trans_no": auth, "merchant_order_no": "PA1-C", "trans_amount": json.Number("85.00")})
	if cap.Code != "0" || cap.str("trans_status") != "2" || cap.str("trans_no") == auth {
		t.Fatalf("capture: %s", cap)
	}
	for name, try := range map[string]func() answer{
		"capture twice": func() answer {
			return c.card("capture", map[string]any{"trans_no": auth, "merchant_order_no": "PA1-C2", "trans_amount": json.Number("1")})
		},
		"raise a captured": func() answer {
			return c.card("incremental-authorization", map[string]any{"trans_no": auth, "trans_amount": json.Number("1")})
		},
		"cancel a captured":  func() answer { return c.card("cancel", map[string]any{"trans_no": auth, "merchant_order_no": "PA1-X"}) },
		"revoke a completed": func() answer { return c.call("order.revoker", map[string]any{"merchant_order_no": "PA1"}) },
	} {
		if a := try(); a.Code != codepay.CodeStatusForbids {
			t.Errorf("%s: %s", name, a)
		}
	}
	// A refund of the authorization is a refund of its completion.
	r := c.call("order.refund.submit", refundOf("PA1", "PA1-R", "85.00"))
	if r.Code != "0" {
		t.Fatalf("refund: %s", r)
	}
	if rq := c.call("order.refund.query", map[string]any{"trans_no": r.str("trans_no")}); rq.str("trans_type") != "8" {
		t.Fatalf("completion refund type: %s", rq)
	}
	refund(c, "PA1-C", "PA1-R2", "0.01", codepay.CodeAmountExceeds)

	// Another authorization is cancelled before capture.
	auth2 := c.paidSale("PA2", "50.00", visaOK, map[string]any{"trans_type": 4})
	x := c.card("cancel", map[string]any{"trans_no": auth2, "merchant_order_no": "PA2-X"})
	if x.Code != "0" || x.str("trans_status") != "2" {
		t.Fatalf("cancel: %s", x)
	}
	if st := c.statusOf("PA2"); st != "3" {
		t.Fatalf("cancelled authorization is %s", st)
	}
	if a := c.card("capture", map[string]any{"trans_no": auth2, "merchant_order_no": "PA2-C", "trans_amount": json.Number("1")}); a.Code != codepay.CodeStatusForbids {
		t.Fatalf("capture after cancel: %s", a)
	}
	// Completion through the terminal (trans_type 6), then its cancel (7) reopens the authorization.
	auth3 := c.paidSale("PA3", "40.00", visaOK, map[string]any{"trans_type": 4})
	c.order("PA3-C", map[string]any{"trans_type": 6, "orig_merchant_order_no": "PA3", "order_amount": json.Number("35.00")})
	if st := c.statusOf("PA3-C"); st != "2" {
		t.Fatalf("terminal completion: %s", st)
	}
	c.order("PA3-CX", map[string]any{"trans_type": 7, "orig_merchant_order_no": "PA3-C", "order_amount": json.Number("35.00")})
	if st := c.statusOf("PA3-C"); st != "3" {
		t.Fatalf("cancelled completion: %s", st)
	}
	if a := c.card("capture", map[string]any{"trans_no": auth3, "merchant_order_no": "PA3-C2", "trans_amount": json.Number("40")}); a.Code != "0" {
		t.Fatalf("capture after the completion was cancelled: %s", a)
	}
}

// TestBatchRules: card-present sales join the terminal's open batch; close
// returns counts and totals; after the close, voids and tip adjustments
// are refused and refunds still work, in the next batch.
func TestBatchRules(t *testing.T) {
	c := newCP(t)
	c.paidSale("B1", "10.00", visaOK, map[string]any{"tip_amount": json.Number("2.00")})
	c.paidSale("B2", "5.25", mcOK, nil)
	c.order("B3", nil)
	c.act(termA, "wallet", map[string]any{"wallet": "Alipay+"}) // wallets are not batched
	c.paidSale("B4", "7.00", visaOK, map[string]any{"terminal_sn": termB})
	c.paidSale("B5", "9.00", visaNoFunds, nil) // declined: not batched

	open := c.card("batch/open", map[string]any{"merchant_no": merchant, "terminal_sn_list": []string{termA}})
	if open.Code != "0" || open.str("count") != "2" || open.str("total_amount") != "17.25" {
		t.Fatalf("open batch of %s: %s", termA, open)
	}
	store := c.card("batch/open", map[string]any{"merchant_no": merchant, "store_no": store})
	if store.str("count") != "3" || store.str("total_amount") != "24.25" {
		t.Fatalf("open batches of the store: %s", store)
	}
	// Tip adjustment before the close: both variants.
	if a := c.call("tip.adjustment", map[string]any{"merchant_order_no": "B1", "tip_adjustment_amount": json.Number("3.00")}); a.Code != "0" {
		t.Fatalf("tip.adjustment: %s", a)
	}
	if a := c.card("tip-adjustment", map[string]any{"trans_no": transNoOf(c, "B2"), "tip_amount": json.Number("0.75")}); a.Code != "0" || a.str("trans_status") != "2" {
		t.Fatalf("card tip adjustment: %s", a)
	}
	closed := c.call("batch.close", map[string]any{"terminal_sn": termA})
	if closed.Code != "0" || closed.str("count") != "2" || closed.str("total_amount") != "19.00" {
		t.Fatalf("batch.close: %s", closed)
	}
	if again := c.call("batch.close", map[string]any{"terminal_sn": termA}); again.str("count") != "0" || again.str("total_amount") != "0" {
		t.Fatalf("closing an empty batch: %s", again)
	}
	// After the close: no void, no tip adjustment (either variant), refunds yes.
	if a := c.call("wisehub.cloud.pay.order", voidOf("B1", "10.00")); a.Code != codepay.CodeStatusForbids || !strings.Contains(a.Msg, "only refunded") {
		t.Fatalf("void after close: %s", a)
	}
	if a := c.call("tip.adjustment", map[string]any{"merchant_order_no": "B1", "tip_adjustment_amount": json.Number("4.00")}); a.Code != codepay.CodeStatusForbids {
		t.Fatalf("tip.adjustment after close: %s", a)
	}
	if a := c.card("tip-adjustment", map[string]any{"trans_no": transNoOf(c, "B2"), "tip_amount": json.Number("1")}); a.Code != codepay.CodeStatusForbids {
		t.Fatalf("card tip adjustment after close: %s", a)
	}
	refund(c, "B1", "B1-R", "13.00", "0")
	open = c.card("batch/open", map[string]any{"merchant_no": merchant, "terminal_sn_list": []string{termA}})
	if open.str("count") != "1" || open.str("total_amount") != "-13.00" {
		t.Fatalf("the refund is in the next batch: %s", open)
	}
	// Batch Close by list covers termB only.
	byList := c.card("batch/close", map[string]any{"merchant_no": merchant, "terminal_sn_list": []string{termB}})
	if byList.str("count") != "1" || byList.str("total_amount") != "7.00" {
		t.Fatalf("close by list: %s", byList)
	}
	// A void before the close leaves the batch total.
	c.paidSale("B6", "4.00", visaOK, map[string]any{"terminal_sn": termB})
	c.order("B6-V", map[string]any{"terminal_sn": termB, "trans_type": 2, "orig_merchant_order_no": "B6", "order_amount": json.Number("4.00")})
	if open := c.card("batch/open", map[string]any{"merchant_no": merchant, "terminal_sn_list": []string{termB}}); open.str("count") != "0" {
		t.Fatalf("voided sale still counted: %s", open)
	}
	if len(c.events("batch.closed")) != 2 {
		t.Fatalf("batch.closed events: %d", len(c.events("batch.closed")))
	}
	// A terminal outside the store or merchant is refused.
	if a := c.card("batch/close", map[string]any{"merchant_no": merchant, "terminal_sn_list": []string{"WPYB002248000865"}}); a.Code != codepay.CodeUnknownMerchant {
		t.Fatalf("foreign terminal: %s", a)
	}
}

// TestCashbackAndCashWithdrawal: a sale with cashback charges order plus
// cashback, but only the order is refundable; a cash withdrawal is voidable
// and not refundable; both are card-present and batched at what was charged.
func TestCashbackAndCashWithdrawal(t *testing.T) {
	c := newCP(t)
	c.order("CB1", map[string]any{"trans_type": 11, "order_amount": json.Number("30.00"), "cashback_amount": json.Number("20.00")})
	if a := c.call("wisehub.cloud.pay.order", map[string]any{"terminal_sn": termA, "message_receiving_application": "CodePay Register",
		"price_currency": "USD", "order_amount": json.Number("5"), "trans_type": 11, "merchant_order_no": "CB0", "description": "x",
		"expires": 60, "api_version": "2.0"}); a.Code != codepay.CodeMissingParameter || !strings.Contains(a.Msg, "cashback_amount") {
		t.Fatalf("cashback sale without cashback: %s", a)
	}
	if s := c.step(termA); s != codepay.StepPayment {
		t.Fatalf("CB1 on screen: %s", s)
	}
	if st, m := c.admin("POST", "/codepay/terminals/"+termA+"/actions/wallet", map[string]any{"wallet": "Alipay+"}); st != 409 {
		t.Fatalf("cashback by wallet: %d %v", st, m)
	}
	c.act(termA, "card", map[string]any{"card": visaOK})
	q := c.query("CB1")
	if q.str("trans_amount") != "50.00" || q.str("cashback_amount") != "20.00" || q.str("trans_status") != "2" {
		t.Fatalf("%s", q)
	}
	refund(c, "CB1", "CB1-R", "30.01", codepay.CodeAmountExceeds)
	refund(c, "CB1", "CB1-R", "30.00", "0")
	c.order("CW1", map[string]any{"trans_type": 12, "order_amount": json.Number("100.00")})
	c.act(termA, "card", map[string]any{"card": visaOK})
	refund(c, "CW1", "CW1-R", "1.00", codepay.CodeStatusForbids)
	open := c.card("batch/open", map[string]any{"merchant_no": merchant, "terminal_sn_list": []string{termA}})
	if open.str("count") != "3" || open.str("total_amount") != "120.00" {
		t.Fatalf("batch: %s", open)
	}
	c.order("CW1-V", map[string]any{"trans_type": 2, "orig_merchant_order_no": "CW1", "order_amount": json.Number("100.00")})
	if st := c.statusOf("CW1"); st != "3" {
		t.Fatalf("voided withdrawal: %s", st)
	}
}
