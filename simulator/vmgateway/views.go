package vmgateway

import (
	"time"

	"github.com/pspsim/pspsim/simulator/money"
)

// The views are the JSON answers of the spec (components/schemas). They are
// built from the stored objects, never by serialising them, so internal
// fields (fingerprints, history, the planned outcome) never leak.

func formatAmount(minor int64, currency string) string { return money.Format(minor, currency) }

func ts(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func tsp(t *time.Time) string {
	if t == nil {
		return ""
	}
	return ts(*t)
}

// paymentView is the spec's Payment.
type paymentView struct {
	TradeNo                string       `json:"tradeNo"`
	OrderNo                string       `json:"orderNo"`
	Status                 string       `json:"status"`
	PaymentMethodType      string       `json:"paymentMethodType"`
	ProductType            string       `json:"productType,omitempty"`
	Amount                 string       `json:"amount"`
	Currency               string       `json:"currency"`
	AuthorizedAmount       string       `json:"authorizedAmount"`
	CapturedAmount         string       `json:"capturedAmount"`
	RefundedAmount         string       `json:"refundedAmount"`
	CaptureMethod          string       `json:"captureMethod"`
	Environment            string       `json:"environment"`
	Description            string       `json:"description,omitempty"`
	TransactionIdentifier  string       `json:"transactionIdentifier,omitempty"`
	ThreeDs                *ThreeDSInfo `json:"threeDs,omitempty"`
	NextAction             *nextView    `json:"nextAction,omitempty"`
	FailureCode            string       `json:"failureCode,omitempty"`
	FailureMessage         string       `json:"failureMessage,omitempty"`
	CardBrand              string       `json:"cardBrand,omitempty"`
	MaskedCardNo           string       `json:"maskedCardNo,omitempty"`
	CreatedAt              string       `json:"createdAt"`
	UpdatedAt              string       `json:"updatedAt"`
	ExpiresAt              string       `json:"expiresAt,omitempty"`
	AuthorizationExpiresAt string       `json:"authorizationExpiresAt,omitempty"`
}

type nextView struct {
	Type        string `json:"type"`
	RedirectURL string `json:"redirectUrl,omitempty"`
	QRCode      string `json:"qrCode,omitempty"`
	ExpiresAt   string `json:"expiresAt,omitempty"`
}

func viewPayment(p Payment) paymentView {
	v := paymentView{
		TradeNo: p.TradeNo, OrderNo: p.OrderNo, Status: p.Status, PaymentMethodType: p.Method, ProductType: p.ProductType,
		Amount: formatAmount(p.Amount, p.Currency), Currency: p.Currency,
		AuthorizedAmount: formatAmount(p.Authorized, p.Currency), CapturedAmount: formatAmount(p.Captured, p.Currency),
		RefundedAmount: formatAmount(p.Refunded, p.Currency), CaptureMethod: p.CaptureMethod, Environment: p.Environment,
		Description: p.Description, TransactionIdentifier: p.TransactionIdentifier, ThreeDs: p.ThreeDS,
		FailureCode: p.FailureCode, FailureMessage: p.FailureMessage, CardBrand: p.CardBrand, MaskedCardNo: p.MaskedCardNo,
		CreatedAt: ts(p.CreatedAt), UpdatedAt: ts(p.UpdatedAt), ExpiresAt: tsp(p.ExpiresAt), AuthorizationExpiresAt: tsp(p.AuthorizationExpiresAt),
	}
	if p.NextAction != nil {
		v.NextAction = &nextView{Type: p.NextAction.Type, RedirectURL: p.NextAction.RedirectURL, QRCode: p.NextAction.QRCode, ExpiresAt: tsp(p.NextAction.ExpiresAt)}
	} else {
		v.NextAction = &nextView{Type: "none"}
	}
	return v
}

// refundView is the spec's Refund.
type refundView struct {
	RefundNumber   string `json:"refundNumber"`
	RefundID       string `json:"refundId"`
	TradeNo        string `json:"tradeNo"`
	OrderNo        string `json:"orderNo"`
	Amount         string `json:"amount"`
	Currency       string `json:"currency"`
	Status         string `json:"status"`
	Reason         string `json:"reason"`
	FailureCode    string `json:"failureCode,omitempty"`
	FailureMessage string `json:"failureMessage,omitempty"`
	CreatedAt      string `json:"createdAt"`
	UpdatedAt      string `json:"updatedAt"`
}

func viewRefund(r Refund) refundView {
	return refundView{
		RefundNumber: r.RefundNumber, RefundID: r.RefundID, TradeNo: r.TradeNo, OrderNo: r.OrderNo,
		Amount: formatAmount(r.Amount, r.Currency), Currency: r.Currency, Status: r.Status, Reason: r.Reason,
		FailureCode: r.FailureCode, FailureMessage: r.FailureMessage, CreatedAt: ts(r.CreatedAt), UpdatedAt: ts(r.UpdatedAt),
	}
}

// sessionView is the spec's CheckoutSession.
type sessionView struct {
	SessionID  string `json:"sessionId"`
	CashierURL string `json:"cashierUrl"`
	Status     string `json:"status"`
	OrderNo    string `json:"orderNo"`
	TradeNo    string `json:"tradeNo,omitempty"`
	Amount     string `json:"amount"`
	Currency   string `json:"currency"`
	CreatedAt  string `json:"createdAt"`
	ExpiresAt  string `json:"expiresAt"`
}

func (s *System) viewSession(ss Session) sessionView {
	return sessionView{
		SessionID: ss.SessionID, CashierURL: s.env.BaseURL() + Prefix + "/cashier/" + ss.SessionID, Status: ss.Status,
		OrderNo: ss.OrderNo, TradeNo: ss.TradeNo, Amount: formatAmount(ss.Amount, ss.Currency), Currency: ss.Currency,
		CreatedAt: ts(ss.CreatedAt), ExpiresAt: ts(ss.ExpiresAt),
	}
}

// trackingView is the spec's TrackingRecord.
type trackingView struct {
	OrderNo            string            `json:"orderNo"`
	TradeNo            string            `json:"tradeNo"`
	TrackingNo         string            `json:"trackingNo"`
	Carrier            string            `json:"carrier"`
	TrackingNumberType string            `json:"trackingNumberType"`
	ShipmentDirection  string            `json:"shipmentDirection"`
	ShippingStatus     string            `json:"shippingStatus"`
	ShipmentDate       string            `json:"shipmentDate"`
	TrackingURL        string            `json:"trackingUrl,omitempty"`
	Matedata           map[string]string `json:"matedata,omitempty"`
	CreatedAt          string            `json:"createdAt"`
	UpdatedAt          string            `json:"updatedAt"`
}

func viewTracking(t Tracking) trackingView {
	return trackingView{
		OrderNo: t.OrderNo, TradeNo: t.TradeNo, TrackingNo: t.TrackingNo, Carrier: t.Carrier, TrackingNumberType: t.TrackingNumberType,
		ShipmentDirection: t.ShipmentDirection, ShippingStatus: t.ShippingStatus, ShipmentDate: t.ShipmentDate,
		TrackingURL: t.TrackingURL, Matedata: t.Matedata, CreatedAt: ts(t.CreatedAt), UpdatedAt: ts(t.UpdatedAt),
	}
}
