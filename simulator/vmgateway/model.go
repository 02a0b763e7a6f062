package vmgateway

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Transition is one recorded status change.
type Transition struct {
	From string    `json:"from"`
	To   string    `json:"to"`
	At   time.Time `json:"at"`
	Why  string    `json:"why"`
}

// ThreeDSInfo is the 3-D Secure part of a card payment.
type ThreeDSInfo struct {
	Mode                 string `json:"mode"`
	Flow                 string `json:"flow"`
	Version              string `json:"version,omitempty"`
	TransStatus          string `json:"transStatus,omitempty"`
	TransStatusReason    string `json:"transStatusReason,omitempty"`
	ECI                  string `json:"eci,omitempty"`
	DSTransID            string `json:"dsTransId,omitempty"`
	ACSTransID           string `json:"acsTransId,omitempty"`
	ThreeDSServerTransID string `json:"threeDsServerTransId,omitempty"`
	LiabilityShift       bool   `json:"liabilityShift"`
}

// NextAction is what the merchant must do for a payment waiting for the
// customer.
type NextAction struct {
	Type        string     `json:"type"`
	RedirectURL string     `json:"redirectUrl,omitempty"`
	QRCode      string     `json:"qrCode,omitempty"`
	ExpiresAt   *time.Time `json:"expiresAt,omitempty"`
}

// Payment is a payment as stored. It never holds a card number or CVC: the
// card is known by brand, masked number, a keyed fingerprint and its row of
// the test card table.
type Payment struct {
	TradeNo     string `json:"tradeNo"`
	OrderNo     string `json:"orderNo"`
	AppID       string `json:"appId"`
	MerchantID  string `json:"merchantId"`
	Environment string `json:"environment"`
	SessionID   string `json:"sessionId,omitempty"`

	Status      string `json:"status"`
	Method      string `json:"paymentMethodType"`
	ProductType string `json:"productType,omitempty"`
	// Token is true for createTokenPayment payments.
	Token bool `json:"token,omitempty"`

	Amount        int64  `json:"amount"`
	Currency      string `json:"currency"`
	Authorized    int64  `json:"authorized"`
	Captured      int64  `json:"captured"`
	Refunded      int64  `json:"refunded"`
	RefundPending int64  `json:"refundPending"`
	CaptureMethod string `json:"captureMethod"`
	Description   string `json:"description,omitempty"`
	BillingDesc   string `json:"billingDesc,omitempty"`

	ThreeDS    *ThreeDSInfo `json:"threeDs,omitempty"`
	NextAction *NextAction  `json:"nextAction,omitempty"`

	FailureCode    string `json:"failureCode,omitempty"`
	FailureMessage string `json:"failureMessage,omitempty"`
	CancelReason   string `json:"cancelReason,omitempty"`

	CardBrand       string `json:"cardBrand,omitempty"`
	MaskedCardNo    string `json:"maskedCardNo,omitempty"`
	CardFingerprint string `json:"cardFingerprint,omitempty"`
	CardNN          string `json:"cardNN,omitempty"`
	CardExpiry      string `json:"cardExpiry,omitempty"` // MM/YYYY

	// Stored credentials: StoreCard asks for a transactionIdentifier;
	// CustomerInitiatedReason is what the CIT set up or the MIT claims.
	StoreCard               bool   `json:"storeCard,omitempty"`
	TransactionIdentifier   string `json:"transactionIdentifier,omitempty"`
	CustomerInitiatedReason string `json:"customerInitiatedReason,omitempty"`
	MerchantInitiated       bool   `json:"merchantInitiated,omitempty"`

	FraudMode         string        `json:"fraudMode,omitempty"`
	NotificationURL   string        `json:"notificationUrl,omitempty"`
	FrontURL          string        `json:"frontUrl,omitempty"`
	NotificationDelay time.Duration `json:"notificationDelay,omitempty"`
	// Outcome is what the authorization will answer once authentication
	// allows it: "" (approved) or a failure code (TESTCARDS.md declines).
	Outcome string `json:"outcome,omitempty"`

	CreatedAt              time.Time    `json:"createdAt"`
	UpdatedAt              time.Time    `json:"updatedAt"`
	ExpiresAt              *time.Time   `json:"expiresAt,omitempty"`
	AuthorizationExpiresAt *time.Time   `json:"authorizationExpiresAt,omitempty"`
	History                []Transition `json:"history"`
}

// Failure codes of a payment (PaymentFailureCode).
const (
	FailAuthenticationFailed      = "AUTHENTICATION_FAILED"
	FailAuthenticationRejected    = "AUTHENTICATION_REJECTED"
	FailAuthenticationUnavailable = "AUTHENTICATION_UNAVAILABLE"
	FailAuthenticationAbandoned   = "AUTHENTICATION_ABANDONED"
	FailThreeDSServerError        = "THREEDS_SERVER_ERROR"
	FailInsufficientFunds         = "INSUFFICIENT_FUNDS"
	FailDoNotHonor                = "DO_NOT_HONOR"
	FailExpiredCard               = "EXPIRED_CARD"
	FailIncorrectCVC              = "INCORRECT_CVC"
	FailLostOrStolen              = "LOST_OR_STOLEN"
	FailFraudSuspected            = "FRAUD_SUSPECTED"
	FailWalletDeclined            = "WALLET_DECLINED"
	FailProcessingError           = "PROCESSING_ERROR"
)

var failureMessages = map[string]string{
	FailAuthenticationFailed:      "3-D Secure authentication failed",
	FailAuthenticationRejected:    "the issuer rejected the 3-D Secure authentication",
	FailAuthenticationUnavailable: "3-D Secure authentication was unavailable",
	FailAuthenticationAbandoned:   "the customer abandoned the 3-D Secure challenge or it timed out",
	FailThreeDSServerError:        "the 3-D Secure directory server failed; retry with a new orderNo",
	FailInsufficientFunds:         "declined by the issuer: insufficient funds",
	FailDoNotHonor:                "declined by the issuer: do not honor",
	FailExpiredCard:               "declined: the card is expired",
	FailIncorrectCVC:              "declined by the issuer: incorrect CVC",
	FailLostOrStolen:              "declined by the issuer: card reported lost or stolen",
	FailFraudSuspected:            "refused by fraud screening",
	FailWalletDeclined:            "the customer or the wallet declined the payment",
	FailProcessingError:           "the processor failed after accepting the payment",
}

// Refund is a refund as stored.
type Refund struct {
	RefundID        string       `json:"refundId"`
	RefundNumber    string       `json:"refundNumber"`
	TradeNo         string       `json:"tradeNo"`
	OrderNo         string       `json:"orderNo"`
	AppID           string       `json:"appId"`
	MerchantID      string       `json:"merchantId"`
	Environment     string       `json:"environment"`
	Amount          int64        `json:"amount"`
	Currency        string       `json:"currency"`
	Status          string       `json:"status"`
	Reason          string       `json:"reason"`
	ClientIP        string       `json:"clientIp"`
	NotificationURL string       `json:"notificationUrl,omitempty"`
	FailureCode     string       `json:"failureCode,omitempty"`
	FailureMessage  string       `json:"failureMessage,omitempty"`
	CreatedAt       time.Time    `json:"createdAt"`
	UpdatedAt       time.Time    `json:"updatedAt"`
	SettlesAt       time.Time    `json:"settlesAt"`
	History         []Transition `json:"history"`
}

// Session is a hosted checkout session.
type Session struct {
	SessionID       string       `json:"sessionId"`
	OrderNo         string       `json:"orderNo"`
	AppID           string       `json:"appId"`
	MerchantID      string       `json:"merchantId"`
	Environment     string       `json:"environment"`
	Status          string       `json:"status"`
	Amount          int64        `json:"amount"`
	Currency        string       `json:"currency"`
	CaptureMethod   string       `json:"captureMethod"`
	ThreeDSMode     string       `json:"threeDsMode"`
	FraudMode       string       `json:"fraudMode,omitempty"`
	Description     string       `json:"description,omitempty"`
	FrontURL        string       `json:"frontUrl,omitempty"`
	NotificationURL string       `json:"notificationUrl,omitempty"`
	Products        []Product    `json:"products,omitempty"`
	TradeNo         string       `json:"tradeNo,omitempty"` // the latest attempt
	Attempts        []string     `json:"attempts,omitempty"`
	CreatedAt       time.Time    `json:"createdAt"`
	UpdatedAt       time.Time    `json:"updatedAt"`
	ExpiresAt       time.Time    `json:"expiresAt"`
	History         []Transition `json:"history"`
}

// Product is a basket line shown on the cashier page.
type Product struct {
	Name     string `json:"name"`
	Quantity string `json:"quantity,omitempty"`
	Price    int64  `json:"price"`
}

// orderClaim reserves an orderNo for one merchant and environment, across
// checkout sessions, payments and token payments.
type orderClaim struct {
	Kind string `json:"kind"` // "payment" or "session"
	Ref  string `json:"ref"`  // tradeNo or sessionId
}

// Credential is a card stored for merchant-initiated payments, known by its
// transactionIdentifier.
type Credential struct {
	TransactionIdentifier   string    `json:"transactionIdentifier"`
	MerchantID              string    `json:"merchantId"`
	Environment             string    `json:"environment"`
	CardFingerprint         string    `json:"cardFingerprint"`
	CardBrand               string    `json:"cardBrand"`
	MaskedCardNo            string    `json:"maskedCardNo"`
	CardNN                  string    `json:"cardNN,omitempty"`
	Currency                string    `json:"currency"`
	CustomerInitiatedReason string    `json:"customerInitiatedReason,omitempty"`
	TradeNo                 string    `json:"tradeNo"`
	CreatedAt               time.Time `json:"createdAt"`
}

// Subscription is a webhook subscription.
type Subscription struct {
	SubscriptionID string    `json:"subscriptionId"`
	MerchantID     string    `json:"merchantId"`
	Environment    string    `json:"environment"`
	APIVersion     string    `json:"apiVersion"`
	SignMethod     string    `json:"signMethod"`
	SubscribeURL   string    `json:"subscribeUrl"`
	Secret         string    `json:"secret"`
	CreatedAt      time.Time `json:"createdAt"`
}

// Tracking is a shipment tracking record.
type Tracking struct {
	OrderNo            string            `json:"orderNo"`
	TradeNo            string            `json:"tradeNo"`
	MerchantID         string            `json:"merchantId"`
	Environment        string            `json:"environment"`
	TrackingNo         string            `json:"trackingNo"`
	Carrier            string            `json:"carrier"`
	TrackingNumberType string            `json:"trackingNumberType"`
	ShipmentDirection  string            `json:"shipmentDirection"`
	ShippingStatus     string            `json:"shippingStatus"`
	ShipmentDate       string            `json:"shipmentDate"`
	TrackingURL        string            `json:"trackingUrl,omitempty"`
	Matedata           map[string]string `json:"matedata,omitempty"`
	CreatedAt          time.Time         `json:"createdAt"`
	UpdatedAt          time.Time         `json:"updatedAt"`
}

// Merchant holds what a merchant has activated.
type Merchant struct {
	MerchantID string `json:"merchantId" yaml:"merchantId"`
	Name       string `json:"name" yaml:"name"`
	// Methods lists the activated paymentMethodTypes; empty means all.
	Methods []string `json:"methods" yaml:"methods"`
	// BillingDesc says whether billingDesc (statement descriptor) is activated.
	BillingDesc bool `json:"billingDesc" yaml:"billingDesc"`
	// LinkModes are the activated checkout linkModes ("session").
	LinkModes []string `json:"linkModes" yaml:"linkModes"`
	// ThreeDSUnavailable is what a 3-D Secure result U does to a payment in
	// threeDsMode auto: "fail" (the default) or "proceed" (authorize without
	// liability shift). With threeDsMode standard, U always fails.
	ThreeDSUnavailable string `json:"threeDsUnavailable" yaml:"threeDsUnavailable"`
	// Environments the merchant may use; empty means both.
	Environments []string `json:"environments" yaml:"environments"`
}

func (m Merchant) allowsMethod(method string) bool {
	return len(m.Methods) == 0 || slices.Contains(m.Methods, method)
}

func (m Merchant) allowsEnvironment(env string) bool {
	return len(m.Environments) == 0 || slices.Contains(m.Environments, env)
}

// scopeKey builds a store key from a merchant, an environment and parts
// (kind, orderNo, trackingNo...). The parts are joined with a control
// character no field can hold (the schemas admit printable text), so that
// ("A/B", "C") and ("A", "B/C") never make the same key.
func scopeKey(merchant, environment string, parts ...string) string {
	return strings.Join(append([]string{merchant, environment}, parts...), "\x1f")
}

// orderKey is scopeKey(merchant, environment, "order", orderNo), written
// out: one allocation instead of two (scopeKey's list and its join), on
// every createPayment and inquiry (TestOrderKeyIsItsScopeKey).
func orderKey(merchant, environment, orderNo string) string {
	return merchant + "\x1f" + environment + "\x1f" + "order" + "\x1f" + orderNo
}

func describeAmount(minor int64, currency string) string {
	return fmt.Sprintf("%s %s", formatAmount(minor, currency), currency)
}
