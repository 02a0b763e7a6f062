package conformance

import (
	"context"
	"net/http"
	"net/url"

	"github.com/pspsim/pspsim/simulator/genstore"
)

// pspView is how the suite reads and drives the PSP an app uses, so that a
// scenario says "the PSP holds exactly one payment of 15.10" and the step
// asks whichever PSP app.yaml names. Each PSP's records are turned into the
// same PSPPayment, in the card gateway's words (CAPTURED, AUTHORIZED,
// FAILED, CANCELLED, refunds SUCCEEDED or FAILED); each PSP's journal into
// the same pspCall.
type pspView interface {
	// system is the simulator's name of the PSP (app.yaml psp.system).
	system() string
	// payments returns the PSP's payments created after seq by the app's
	// credentials, oldest first.
	payments(ctx context.Context, h *Harness, after int64) ([]PSPPayment, error)
	// calls returns the requests the app made to the PSP in the journal
	// events evs of the PSP (requests the PSP handled or refused).
	calls(h *Harness, evs []Event) []pspCall
	// callKind is the journal kind prefix of the PSP's request events.
	callKind() string
	// operation is the PSP's name, for fault rules and the journal, of a
	// card gateway operation: createPayment, capturePayment, webhook.
	operation(op string) string
	// unavailable is the fault action of the PSP failing with a 5xx.
	unavailable() map[string]any
	// notificationKind is the delivery kind of the PSP's notifications.
	notificationKind() string
	// settlesRefundsLater reports whether refunds stay PENDING until the PSP
	// settles them (the card gateway), or are final when answered (CodePay).
	settlesRefundsLater() bool
}

// newPSPView returns the view of app.yaml's PSP.
func newPSPView(system string) pspView {
	if system == "codepay" {
		return codepayView{}
	}
	return vmView{}
}

// ---------------------------------------------------------------- the card gateway

type vmView struct{}

func (vmView) system() string             { return "vmgateway" }
func (vmView) callKind() string           { return "api" }
func (vmView) operation(op string) string { return op }
func (vmView) notificationKind() string   { return "webhook" }
func (vmView) settlesRefundsLater() bool  { return true }
func (vmView) unavailable() map[string]any {
	return map[string]any{"type": "error", "kind": "unavailable", "status": 503, "code": "INTERNAL_ERROR"}
}

// vmMoneyOps are the gateway operations that move money, by the Genstore
// kind of operation they carry out. Token requests, inquiries and webhook
// subscriptions move nothing: an app may make them at any time.
var vmMoneyOps = map[string]string{
	"createPayment": genstore.KindPayment, "createTokenPayment": genstore.KindPayment, "createCheckoutSession": genstore.KindPayment,
	"capturePayment": genstore.KindCapture, "cancelPayment": genstore.KindVoid, "createRefund": genstore.KindRefund,
}

func (vmView) calls(h *Harness, evs []Event) []pspCall {
	var out []pspCall
	for _, e := range evs {
		if !h.ownApp(e.IDs["appId"]) {
			continue
		}
		op := e.str("operation")
		out = append(out, pspCall{Seq: e.Seq, System: "vmgateway", Operation: op, Kind: vmMoneyOps[op], Environment: e.str("environment"), Status: e.num("status"),
			Code: e.str("code"), OrderNo: e.IDs["orderNo"], TradeNo: e.IDs["tradeNo"], ev: e})
	}
	return out
}

// payments: the journal says which were created when, the gateway's
// records say what they are.
func (vmView) payments(ctx context.Context, h *Harness, after int64) ([]PSPPayment, error) {
	evs, err := h.events(ctx, after, "system", "vmgateway", "kind", "payment.status_changed")
	if err != nil {
		return nil, err
	}
	var out []PSPPayment
	for _, e := range evs {
		if e.str("from") != "" || e.IDs["tradeNo"] == "" {
			continue // a change, not a creation
		}
		if a := e.IDs["appId"]; a != "" && !h.ownApp(a) {
			continue
		}
		var rec struct {
			Payments []PSPPayment `json:"payments"`
		}
		if err := h.admin(ctx, "GET", "/_sim/vmgateway/payments?tradeNo="+url.QueryEscape(e.IDs["tradeNo"]), nil, http.StatusOK, &rec); err != nil {
			return nil, err
		}
		for _, p := range rec.Payments {
			p.Seq = e.Seq
			out = append(out, p)
		}
	}
	return out, nil
}

// ---------------------------------------------------------------- CodePay

type codepayView struct{}

func (codepayView) system() string            { return "codepay" }
func (codepayView) callKind() string          { return "request" }
func (codepayView) notificationKind() string  { return "notification" }
func (codepayView) settlesRefundsLater() bool { return false }

// A 5xx from CodePay is its retryable system error, 50000.
func (codepayView) unavailable() map[string]any {
	return map[string]any{"type": "error", "kind": "unavailable", "status": 503}
}

// operation: a card payment is a merchant-hosted checkout (the app holds
// the card); captures are Capture Payment; notifications are CodePay's.
func (codepayView) operation(op string) string {
	switch op {
	case "createPayment":
		return "pay.merchant.checkout"
	case "webhook":
		return "notification"
	}
	return op
}

// cpMoneyOps are CodePay's methods and card operations that move money of
// an online order, by Genstore kind. Queries move nothing.
var cpMoneyOps = map[string]string{
	"pay.merchant.checkout": genstore.KindPayment, "pay.checkout": genstore.KindPayment, "wisehub.cloud.pay.order": genstore.KindPayment,
	"capturePayment": genstore.KindCapture, "incrementAuthorization": genstore.KindCapture,
	"cancelPayment": genstore.KindVoid, "order.revoker": genstore.KindVoid, "wisehub.cloud.pay.close": genstore.KindVoid,
	"refundPayment": genstore.KindRefund, "order.refund.submit": genstore.KindRefund,
}

// calls: CodePay journals request.answered (code 0, with the environment of
// the key that signed) and request.refused (any other code, refused before
// or by the operation). A refusal's HTTP status is 200 in CodePay's dialect:
// the suite reads 50000 as the 5xx it means (retry) and other codes as 4xx.
func (codepayView) calls(h *Harness, evs []Event) []pspCall {
	var out []pspCall
	for _, e := range evs {
		if !h.ownApp(e.IDs["app_id"]) {
			continue
		}
		op := e.str("method")
		c := pspCall{Seq: e.Seq, System: "codepay", Operation: op, Kind: cpMoneyOps[op], Environment: e.str("environment"),
			OrderNo: e.IDs["merchant_order_no"], TradeNo: e.IDs["trans_no"], ev: e}
		switch code := e.str("code"); {
		case e.Kind == "request.answered" || code == "0":
			c.Status = http.StatusOK
		case code == "50000":
			c.Status, c.Code = http.StatusServiceUnavailable, code
		default:
			c.Status, c.Code = http.StatusBadRequest, code
		}
		out = append(out, c)
	}
	return out
}

// cpTxn is a CodePay transaction as GET /_sim/codepay/transactions/{transNo}
// shows it.
type cpTxn struct {
	Fields struct {
		TransNo         string `json:"trans_no"`
		MerchantOrderNo string `json:"merchant_order_no"`
		TransStatus     int    `json:"trans_status"`
		TransType       int    `json:"trans_type"`
		Currency        string `json:"price_currency"`
		TransAmount     string `json:"trans_amount"`
		RefundedAmount  string `json:"refunded_amount"`
		RespCode        string `json:"resp_code"`
	} `json:"fields"`
	Environment    string   `json:"environment"`
	AppID          string   `json:"appId"`
	Card           string   `json:"card"`
	Authorized     string   `json:"authorized"`
	Captured       string   `json:"captured"`
	CaptureTransNo string   `json:"captureTransNo"`
	Refunds        []string `json:"refunds"`
	ThreeDS        *struct {
		TransStatus string `json:"transStatus"`
		Outcome     string `json:"outcome"`
		ACSTransID  string `json:"acsTransId"`
		Challenge   string `json:"challengeUrl"`
	} `json:"threeDS"`
}

func (h *Harness) codepayTxn(ctx context.Context, transNo string) (cpTxn, error) {
	var t cpTxn
	err := h.admin(ctx, "GET", "/_sim/codepay/transactions/"+url.PathEscape(transNo), nil, http.StatusOK, &t)
	return t, err
}

// payments: the online payments (sales and pre-authorizations) the journal
// says CodePay created for the app, read from CodePay's records and told in
// the card gateway's words.
func (codepayView) payments(ctx context.Context, h *Harness, after int64) ([]PSPPayment, error) {
	evs, err := h.events(ctx, after, "system", "codepay", "kind", "order.created")
	if err != nil {
		return nil, err
	}
	var out []PSPPayment
	for _, e := range evs {
		if tt := e.num("transType"); tt != 1 && tt != 4 || e.IDs["trans_no"] == "" {
			continue // a refund, capture or void: read with its payment
		}
		t, err := h.codepayTxn(ctx, e.IDs["trans_no"])
		if err != nil {
			return nil, err
		}
		if !h.ownApp(t.AppID) {
			continue
		}
		p, err := h.codepayPayment(ctx, t)
		if err != nil {
			return nil, err
		}
		p.Seq = e.Seq
		out = append(out, p)
	}
	return out, nil
}

// codepayPayment tells a CodePay sale or pre-authorization as a PSPPayment.
func (h *Harness) codepayPayment(ctx context.Context, t cpTxn) (PSPPayment, error) {
	f := t.Fields
	p := PSPPayment{TradeNo: f.TransNo, OrderNo: f.MerchantOrderNo, AppID: t.AppID, Environment: t.Environment, Amount: f.TransAmount,
		Currency: f.Currency, MaskedCardNo: t.Card, CapturedAmount: "0", RefundedAmount: orZero(f.RefundedAmount), CaptureMethod: "auto"}
	if f.TransType == 4 {
		p.CaptureMethod = "manual"
	}
	refundsOf := t.Refunds
	switch f.TransStatus {
	case 0:
		p.Status = "PENDING"
		if t.ThreeDS != nil && t.ThreeDS.Challenge != "" {
			p.Status = "REQUIRES_ACTION"
		}
	case 9:
		p.Status = "PENDING"
	case 1:
		p.Status, p.FailureCode = "FAILED", f.RespCode
	case 3:
		p.Status = "CANCELLED"
	case 2:
		p.AuthorizedAmount = f.TransAmount
		switch {
		case f.TransType == 4 && t.CaptureTransNo == "":
			p.Status = "AUTHORIZED"
		case f.TransType == 4:
			p.Status, p.CapturedAmount = "CAPTURED", t.Captured
			c, err := h.codepayTxn(ctx, t.CaptureTransNo)
			if err != nil {
				return p, err
			}
			refundsOf, p.RefundedAmount = c.Refunds, orZero(c.Fields.RefundedAmount)
		default:
			p.Status, p.CapturedAmount = "CAPTURED", f.TransAmount
		}
		if !zero(p.RefundedAmount, p.Currency) {
			p.Status = "PARTIALLY_REFUNDED"
			if sameAmount(p.RefundedAmount, p.CapturedAmount, p.Currency) {
				p.Status = "REFUNDED"
			}
		}
	}
	if t.ThreeDS != nil {
		p.ThreeDs = &struct {
			TransStatus string `json:"transStatus"`
			Flow        string `json:"flow"`
			ACSTransID  string `json:"acsTransId"`
		}{TransStatus: t.ThreeDS.TransStatus, Flow: t.ThreeDS.Outcome, ACSTransID: t.ThreeDS.ACSTransID}
	}
	for _, no := range refundsOf {
		r, err := h.codepayTxn(ctx, no)
		if err != nil {
			return p, err
		}
		p.Refunds = append(p.Refunds, PSPRefund{RefundID: no, RefundNumber: r.Fields.MerchantOrderNo, Amount: r.Fields.TransAmount,
			Status: cpRefundStatus(r.Fields.TransStatus), Environment: r.Environment})
	}
	return p, nil
}

func cpRefundStatus(st int) string {
	switch st {
	case 2:
		return "SUCCEEDED"
	case 1, 3:
		return "FAILED"
	}
	return "PENDING"
}

func orZero(s string) string {
	if s == "" {
		return "0"
	}
	return s
}

// ---------------------------------------------------------------- helpers

// pspMatch is a fault rule's match of a card gateway operation at the app's
// PSP.
func (w *world) pspMatch(op string) map[string]any {
	v := w.h.psp
	return map[string]any{"system": v.system(), "operation": v.operation(op)}
}
