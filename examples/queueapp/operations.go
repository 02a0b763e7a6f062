package queueapp

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Captures, voids and refunds are acknowledged first and carried out by the workers. The
// app keeps its own books (docs/CONTRACT.md §2.6): what it refuses, it refuses without a
// word to the gateway.

type opRequest struct {
	Amount    string          `json:"amount"`
	Test      json.RawMessage `json:"test"`
	PaymentID string          `json:"paymentId"`
	CaptureID string          `json:"captureId"`
	VoidID    string          `json:"voidId"`
	RefundID  string          `json:"refundId"`
}

func (a *App) operationRequest(kind string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		q, body, ok := a.signed(w, r)
		if !ok {
			return
		}
		var in opRequest
		if err := json.Unmarshal(body, &in); err != nil {
			refuse(w, http.StatusBadRequest, "body: not JSON")
			return
		}
		id := map[string]string{"capture": in.CaptureID, "void": in.VoidID, "refund": in.RefundID}[kind]
		if id == "" || in.PaymentID == "" {
			refuse(w, http.StatusBadRequest, kind+"Id, paymentId: required")
			return
		}
		shopID := q.Get("shopId")
		key := opKey(kind, shopID, id)
		ack := map[string]string{"channel" + strings.ToUpper(kind[:1]) + kind[1:] + "Id": "", "error": ""}
		defer a.lock(key)()
		a.mu.Lock()
		_, seen := a.ops[key]
		if !seen {
			a.ops[key] = &operation{kind: kind, shopID: shopID, id: id, paymentID: in.PaymentID, amount: in.Amount,
				ref: a.pspRef(shopID, id, func(o *payment, op *operation) bool { return op != nil && op.kind == "refund" && op.ref == id })}
		}
		op := a.ops[key]
		a.mu.Unlock()
		answer(w, http.StatusOK, ack) // received; the result comes by callback
		if !seen {
			a.enqueue(0, func(ctx context.Context) { a.carryOut(ctx, op) })
		}
	}
}

// carryOut checks an operation against the app's books, reserves it, and calls the gateway.
func (a *App) carryOut(ctx context.Context, op *operation) {
	a.mu.Lock()
	p := a.pays[payKey(op.shopID, op.paymentID)]
	reason := ""
	switch {
	case p == nil || !p.res.set || !p.res.success:
		reason = "the payment is not authorized"
	case op.kind != "void" && (minor(op.amount, p.currency) <= 0):
		reason = "amount: not a positive amount in " + p.currency
	case op.kind == "capture" && (!p.manual || p.captured > 0 || p.voided || p.busy):
		reason = "the payment cannot be captured (captured, voided, or another capture or void in flight)"
	case op.kind == "capture" && minor(op.amount, p.currency) > p.authorized:
		reason = "amount: more than the authorized " + p.amount
	case op.kind == "void" && (!p.manual || p.captured > 0 || p.voided || p.busy):
		reason = "the payment cannot be voided (captured, voided, or a capture in flight)"
	case op.kind == "refund" && minor(op.amount, p.currency) > p.captured-p.refunded-p.reserved:
		reason = "amount: more than what is captured and not refunded"
	}
	if reason == "" {
		op.minor, op.held = minor(op.amount, p.currency), true
		if op.kind == "refund" {
			p.reserved += op.minor
		} else {
			p.busy = true
		}
	}
	a.mu.Unlock()
	if reason != "" {
		a.finish(op, p, result{set: true, reason: reason})
		return
	}
	a.attempt(ctx, op, p)
}

// attempt makes (or repeats) the gateway call of an operation. A call whose outcome is
// unknown is looked up first: what the gateway did stands.
func (a *App) attempt(ctx context.Context, op *operation, p *payment) {
	op.attempts++
	switch op.kind {
	case "capture", "void":
		gp, err := a.gw.inquire(ctx, p.env, p.orderNo)
		if err == nil && gp.Status == "AUTHORIZED" {
			path, body := "/v1/payments/cancel", map[string]string{"orderNo": p.orderNo, "reason": "voided by the merchant"}
			if op.kind == "capture" {
				path, body = "/v1/payments/capture", map[string]string{"orderNo": p.orderNo, "captureAmount": op.amount}
			}
			err = a.gw.call(ctx, p.env, path, body, &gp)
			if err != nil && !unknown(err) && code(err) != "STATUS_CONFLICT" {
				a.finish(op, p, result{set: true, reason: "the card gateway refused the " + op.kind + ": " + code(err)})
				return
			}
			if err == nil {
				gp2, ierr := a.gw.inquire(ctx, p.env, p.orderNo)
				if ierr == nil {
					gp = gp2
				}
			}
		}
		if err != nil || gp.Status == "AUTHORIZED" {
			a.retry(op, p) // the gateway did not say: ask again later
			return
		}
		a.setChannel(op, gp.TradeNo)
		switch {
		case op.kind == "capture" && (gp.Status == "CAPTURED" || gp.Status == "PARTIALLY_REFUNDED" || gp.Status == "REFUNDED") && minor(gp.CapturedAmount, p.currency) == op.minor:
			a.finish(op, p, result{set: true, success: true})
		case op.kind == "void" && gp.Status == "CANCELLED":
			a.finish(op, p, result{set: true, success: true})
		default:
			a.finish(op, p, result{set: true, reason: "the card gateway holds the payment " + gp.Status})
		}
	case "refund":
		rf, err := a.gw.refundStatus(ctx, p.env, op.ref)
		if code(err) == "NOT_FOUND" {
			err = a.gw.call(ctx, p.env, "/v1/refunds", map[string]string{"amount": op.amount, "clientIp": "127.0.0.1", "orderNo": p.orderNo,
				"reason": "refunded by the merchant", "refundNumber": op.ref}, &rf)
			if err != nil && !unknown(err) {
				a.finish(op, p, result{set: true, reason: "the card gateway refused the refund: " + code(err)})
				return
			}
		}
		if err != nil {
			a.retry(op, p)
			return
		}
		a.setChannel(op, rf.RefundID)
		switch rf.Status {
		case "SUCCEEDED":
			a.finish(op, p, result{set: true, success: true})
		case "FAILED":
			a.finish(op, p, result{set: true, reason: "the refund failed at the card gateway: " + orDefault(rf.FailureCode, rf.FailureMessage)})
		default:
			a.retry(op, p) // PENDING: reported once settled, never before
		}
	}
}

// setChannel records the gateway's id of an operation.
func (a *App) setChannel(op *operation, id string) {
	a.mu.Lock()
	if op.channelID == "" {
		op.channelID = id
	}
	a.mu.Unlock()
}

// retry puts an operation back on the queue, with a delay that grows to 2 s.
func (a *App) retry(op *operation, p *payment) {
	a.enqueue(min(time.Duration(op.attempts)*100*time.Millisecond, 2*time.Second), func(ctx context.Context) { a.attempt(ctx, op, p) })
}

// finish records an operation's result (once), settles the books and reports it.
func (a *App) finish(op *operation, p *payment, r result) {
	a.mu.Lock()
	if op.res.set {
		a.mu.Unlock()
		return
	}
	op.res = r
	if op.held {
		switch op.kind {
		case "capture":
			p.busy = false
			if r.success {
				p.captured = op.minor
			}
		case "void":
			p.busy = false
			if r.success {
				p.voided = true
			}
		case "refund":
			p.reserved -= op.minor
			if r.success {
				p.refunded += op.minor
			}
		}
	}
	channelID := op.channelID
	a.mu.Unlock()
	a.report(op.shopID, op.kind, op.id, channelID, r)
}

// ---- queries (docs/CONTRACT.md §2.7) -----------------------------------------------------

func status(r result) string {
	switch {
	case !r.set:
		return "PROCESSING"
	case r.success:
		return "SUCCESS"
	}
	return "FAILURE"
}

func (a *App) paymentQuery(w http.ResponseWriter, r *http.Request) {
	a.query(w, r, "paymentId", func(shopID, id string) (string, result, bool) {
		p := a.pays[payKey(shopID, id)]
		if p == nil {
			return "", result{}, false
		}
		return p.tradeNo, p.res, true
	})
}

func (a *App) refundQuery(w http.ResponseWriter, r *http.Request) {
	a.query(w, r, "refundId", func(shopID, id string) (string, result, bool) {
		op := a.ops[opKey("refund", shopID, id)]
		if op == nil {
			return "", result{}, false
		}
		return op.channelID, op.res, true
	})
}

// query answers a signed query about an id from the app's own state (look runs
// under the app's lock): PROCESSING until the result is final, 404 for an id
// the app never received.
func (a *App) query(w http.ResponseWriter, r *http.Request, param string, look func(shopID, id string) (string, result, bool)) {
	q, _, ok := a.signed(w, r)
	if !ok {
		return
	}
	a.mu.Lock()
	channelID, res, found := look(q.Get("shopId"), q.Get(param))
	a.mu.Unlock()
	if !found {
		refuse(w, http.StatusNotFound, param+": unknown")
		return
	}
	channelField := "channelPaymentId"
	if param == "refundId" {
		channelField = "channelRefundId"
	}
	answer(w, http.StatusOK, map[string]string{channelField: channelID, "status": status(res), "error": res.reason})
}

// ---- money ---------------------------------------------------------------------------------

// exponents are the ISO 4217 minor-unit exponents that are not 2.
var exponents = map[string]int{"JPY": 0, "KRW": 0, "VND": 0, "CLP": 0, "ISK": 0, "BHD": 3, "KWD": 3, "OMR": 3, "JOD": 3, "TND": 3}

// minor reads a decimal amount in a currency's minor units; -1 when it is not one.
func minor(amount, currency string) int64 {
	exp, ok := exponents[currency]
	if !ok {
		exp = 2
	}
	whole, frac, _ := strings.Cut(amount, ".")
	if len(frac) > exp {
		return -1
	}
	frac += strings.Repeat("0", exp-len(frac))
	n, err := strconv.ParseInt(whole+frac, 10, 64)
	if err != nil || strings.HasPrefix(amount, "-") {
		return -1
	}
	return n
}
