package paymentapp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"
)

// gateway is a client of the Visa/Mastercard card gateway (specs/vmgateway.yaml), written
// from its spec alone. What it relies on:
//
//   - POST /v1/auth/token {appId, secret} → {accessToken, expiresIn, environment}; every other
//     call sends "Authorization: Bearer <accessToken>"; 401 means the token expired.
//   - Errors are {code, message, field, traceId} with a 4xx/5xx status. A decline is not an
//     error: it is 200 with status FAILED and a failureCode.
//   - 5xx (INTERNAL_ERROR) and no answer leave the outcome unknown: inquire by orderNo first,
//     and only create again with the same orderNo if the inquiry answers 404.
//   - orderNo and refundNumber are unique per merchant: a second payment with the same
//     orderNo is 409 DUPLICATE_ORDER, and the same refundNumber for the same amount answers
//     the existing refund. The app derives both from Genstore's ids, so the gateway itself
//     refuses to charge one Genstore payment twice.
type gateway struct {
	baseURL string
	creds   map[Env]Credentials
	client  *http.Client
	timeout time.Duration
	clock   func() time.Time

	mu     sync.Mutex
	tokens map[Env]gatewayToken
}

type gatewayToken struct {
	value   string
	expires time.Time // on the app's clock: refreshed a minute early
}

// gatewayError is an HTTP error answer of the gateway.
type gatewayError struct {
	Status  int
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field"`
	TraceID string `json:"traceId"`
}

func (e *gatewayError) Error() string {
	msg := fmt.Sprintf("gateway answered %d %s: %s", e.Status, e.Code, e.Message)
	if e.Field != "" {
		msg += " (field " + e.Field + ")"
	}
	return msg
}

// errorCode returns the gateway's error code of err, or "".
func errorCode(err error) string {
	var ge *gatewayError
	if errors.As(err, &ge) {
		return ge.Code
	}
	return ""
}

// outcomeUnknown reports whether err leaves it unknown if the gateway acted: no answer, a
// broken connection, an unreadable answer or a 5xx.
func outcomeUnknown(err error) bool {
	if err == nil {
		return false
	}
	var ge *gatewayError
	if errors.As(err, &ge) {
		return ge.Status >= 500
	}
	return true
}

// gwThreeDS is the 3-D Secure part of a payment (ThreeDsResult).
type gwThreeDS struct {
	Mode           string `json:"mode"`
	Flow           string `json:"flow"`
	TransStatus    string `json:"transStatus"`
	Eci            string `json:"eci"`
	LiabilityShift bool   `json:"liabilityShift"`
}

// gwNextAction says what the buyer must do (NextAction).
type gwNextAction struct {
	Type        string `json:"type"`
	RedirectURL string `json:"redirectUrl"`
}

// gwPayment is the gateway's Payment, the fields the app reads.
type gwPayment struct {
	TradeNo          string        `json:"tradeNo"`
	OrderNo          string        `json:"orderNo"`
	Status           string        `json:"status"`
	Amount           string        `json:"amount"`
	Currency         string        `json:"currency"`
	AuthorizedAmount string        `json:"authorizedAmount"`
	CapturedAmount   string        `json:"capturedAmount"`
	RefundedAmount   string        `json:"refundedAmount"`
	Environment      string        `json:"environment"`
	ThreeDs          *gwThreeDS    `json:"threeDs"`
	NextAction       *gwNextAction `json:"nextAction"`
	FailureCode      string        `json:"failureCode"`
	FailureMessage   string        `json:"failureMessage"`
	MaskedCardNo     string        `json:"maskedCardNo"`
	UpdatedAt        string        `json:"updatedAt"`
}

// The gateway's payment statuses (PaymentStatus).
const (
	gwPending           = "PENDING"
	gwRequiresAction    = "REQUIRES_ACTION"
	gwAuthorized        = "AUTHORIZED"
	gwCaptured          = "CAPTURED"
	gwPartiallyRefunded = "PARTIALLY_REFUNDED"
	gwRefunded          = "REFUNDED"
	gwFailed            = "FAILED"
	gwCancelled         = "CANCELLED"
	gwExpired           = "EXPIRED"
)

// gwRefund is the gateway's Refund.
type gwRefund struct {
	RefundNumber   string `json:"refundNumber"`
	RefundID       string `json:"refundId"`
	TradeNo        string `json:"tradeNo"`
	OrderNo        string `json:"orderNo"`
	Amount         string `json:"amount"`
	Currency       string `json:"currency"`
	Status         string `json:"status"` // PENDING, SUCCEEDED, FAILED
	FailureCode    string `json:"failureCode"`
	FailureMessage string `json:"failureMessage"`
	UpdatedAt      string `json:"updatedAt"`
}

// updatedAt parses a gateway timestamp; an unreadable one counts as unknown (zero).
func updatedAt(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}
	}
	return t
}

// gwRefundInquiry is RefundInquiryResult.
type gwRefundInquiry struct {
	CapturedAmount string     `json:"capturedAmount"`
	RefundedAmount string     `json:"refundedAmount"`
	Refunds        []gwRefund `json:"refunds"`
}

// gwCardPaymentRequest is the part of PaymentRequest a card payment uses.
type gwCardPaymentRequest struct {
	Amount            string       `json:"amount"`
	Currency          string       `json:"currency"`
	OrderNo           string       `json:"orderNo"`
	PaymentMethodType string       `json:"paymentMethodType"`
	Card              gwCard       `json:"card"`
	DeviceInfo        gwDeviceInfo `json:"deviceInfo"`
	ThreeDsMode       string       `json:"threeDsMode"`
	FrontURL          string       `json:"frontUrl,omitempty"`
}

// gwCard carries the card to the gateway. It is built right before the call and dropped
// right after; it is never logged or stored.
type gwCard struct {
	CaptureMethod string `json:"captureMethod"`
	CardNo        string `json:"cardNo"`
	Cvc           string `json:"cvc,omitempty"`
	ExpiryMonth   string `json:"expiryMonth"`
	ExpiryYear    string `json:"expiryYear"`
	FirstName     string `json:"firstName,omitempty"`
	LastName      string `json:"lastName,omitempty"`
}

type gwDeviceInfo struct {
	Browser  *gwBrowser `json:"browser,omitempty"`
	ClientIP string     `json:"clientIp,omitempty"`
	Language string     `json:"language,omitempty"`
}

type gwBrowser struct {
	AcceptHeader string `json:"acceptHeader,omitempty"`
	UserAgent    string `json:"userAgent,omitempty"`
}

type gwRefundRequest struct {
	Amount       string `json:"amount"`
	ClientIP     string `json:"clientIp"`
	OrderNo      string `json:"orderNo,omitempty"`
	TradeNo      string `json:"tradeNo,omitempty"`
	Reason       string `json:"reason"`
	RefundNumber string `json:"refundNumber"`
}

func (g *gateway) createPayment(ctx context.Context, env Env, req gwCardPaymentRequest) (gwPayment, error) {
	var p gwPayment
	err := g.call(ctx, env, "/v1/payments", req, &p)
	return p, err
}

func (g *gateway) inquirePayment(ctx context.Context, env Env, orderNo, tradeNo string) (gwPayment, error) {
	body := map[string]string{}
	if orderNo != "" {
		body["orderNo"] = orderNo
	}
	if tradeNo != "" {
		body["tradeNo"] = tradeNo
	}
	var p gwPayment
	err := g.call(ctx, env, "/v1/payments/inquiry", body, &p)
	return p, err
}

func (g *gateway) capturePayment(ctx context.Context, env Env, orderNo, tradeNo, amount string) (gwPayment, error) {
	body := map[string]string{"captureAmount": amount, "orderNo": orderNo}
	if tradeNo != "" {
		body["tradeNo"] = tradeNo
	}
	var p gwPayment
	err := g.call(ctx, env, "/v1/payments/capture", body, &p)
	return p, err
}

func (g *gateway) cancelPayment(ctx context.Context, env Env, orderNo, tradeNo, reason string) (gwPayment, error) {
	body := map[string]string{"orderNo": orderNo, "reason": reason}
	if tradeNo != "" {
		body["tradeNo"] = tradeNo
	}
	var p gwPayment
	err := g.call(ctx, env, "/v1/payments/cancel", body, &p)
	return p, err
}

func (g *gateway) createRefund(ctx context.Context, env Env, req gwRefundRequest) (gwRefund, error) {
	var r gwRefund
	err := g.call(ctx, env, "/v1/refunds", req, &r)
	return r, err
}

// inquireRefund asks for one refund by its refundNumber.
func (g *gateway) inquireRefund(ctx context.Context, env Env, refundNumber string) (gwRefund, error) {
	var res gwRefundInquiry
	if err := g.call(ctx, env, "/v1/refunds/inquiry", map[string]string{"refundNumber": refundNumber}, &res); err != nil {
		return gwRefund{}, err
	}
	for _, r := range res.Refunds {
		if r.RefundNumber == refundNumber {
			return r, nil
		}
	}
	return gwRefund{}, &gatewayError{Status: http.StatusNotFound, Code: "NOT_FOUND", Message: "refund not in the inquiry's answer"}
}

// inquireRefunds asks for every refund of a payment, with its captured and refunded totals.
func (g *gateway) inquireRefunds(ctx context.Context, env Env, orderNo string) (gwRefundInquiry, error) {
	var res gwRefundInquiry
	err := g.call(ctx, env, "/v1/refunds/inquiry", map[string]string{"orderNo": orderNo}, &res)
	return res, err
}

// subscribe registers url for every webhook event of env's merchant and returns the
// subscription's signing secret (shown by the gateway only in this answer).
func (g *gateway) subscribe(ctx context.Context, env Env, url string) (string, error) {
	var res struct {
		SubscriptionID string `json:"subscriptionId"`
		Secret         string `json:"secret"`
	}
	body := map[string]string{"apiVersion": "20250703", "signMethod": "sha256", "subscribeUrl": url}
	if err := g.call(ctx, env, "/v1/webhooks/subscriptions", body, &res); err != nil {
		return "", err
	}
	if res.Secret == "" {
		return "", errors.New("webhook subscription answered without a secret")
	}
	return res.Secret, nil
}

// call POSTs in to path with env's bearer token and decodes the answer into out. An
// expired token (401) is renewed once.
func (g *gateway) call(ctx context.Context, env Env, path string, in, out any) error {
	for attempt := 0; ; attempt++ {
		token, err := g.token(ctx, env)
		if err != nil {
			return err
		}
		err = g.post(ctx, path, token, in, out)
		var ge *gatewayError
		if attempt == 0 && errors.As(err, &ge) && ge.Status == http.StatusUnauthorized {
			g.forget(env, token)
			continue
		}
		return err
	}
}

// token returns a valid access token for env, asking for a new one when needed.
func (g *gateway) token(ctx context.Context, env Env) (string, error) {
	g.mu.Lock()
	t, ok := g.tokens[env]
	g.mu.Unlock()
	if ok && g.clock().Before(t.expires) {
		return t.value, nil
	}
	creds, ok := g.creds[env]
	if !ok || !creds.set() {
		return "", fmt.Errorf("no %s credentials for the card gateway", env)
	}
	var res struct {
		AccessToken string `json:"accessToken"`
		ExpiresIn   int    `json:"expiresIn"`
		Environment string `json:"environment"`
	}
	body := map[string]string{"appId": creds.AppID, "secret": creds.Secret}
	if err := g.post(ctx, "/v1/auth/token", "", body, &res); err != nil {
		return "", fmt.Errorf("card gateway token for %s: %w", env, err)
	}
	if res.Environment != "" && res.Environment != string(env) {
		// The credentials configured as one environment belong to the other: refuse to
		// mix test and live money (CONTRACT.md §6).
		return "", fmt.Errorf("the %s credentials are %s credentials", env, res.Environment)
	}
	lifetime := time.Duration(res.ExpiresIn) * time.Second
	if lifetime <= 0 {
		lifetime = 5 * time.Minute
	}
	g.mu.Lock()
	g.tokens[env] = gatewayToken{value: res.AccessToken, expires: g.clock().Add(lifetime - time.Minute)}
	g.mu.Unlock()
	return res.AccessToken, nil
}

func (g *gateway) forget(env Env, token string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.tokens[env].value == token {
		delete(g.tokens, env)
	}
}

// post sends one request with its own deadline. Request bodies may hold a card, so they
// never appear in errors or logs.
func (g *gateway) post(ctx context.Context, path, token string, in, out any) error {
	ctx, cancel := context.WithTimeout(ctx, g.timeout)
	defer cancel()
	body, err := json.Marshal(in)
	if err != nil {
		return fmt.Errorf("encode %s request: %w", path, err)
	}
	defer clear(body) // it may hold a card number: do not leave it for the garbage collector
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, g.baseURL+path, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("build %s request: %w", path, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := g.client.Do(req)
	if err != nil {
		return fmt.Errorf("POST %s: %w", path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("POST %s: read answer: %w", path, err)
	}
	if resp.StatusCode/100 != 2 {
		ge := &gatewayError{Status: resp.StatusCode}
		if json.Unmarshal(data, ge) != nil || ge.Code == "" {
			ge.Code, ge.Message = http.StatusText(resp.StatusCode), "unreadable error answer"
		}
		return ge
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("POST %s: decode answer: %w", path, err)
	}
	return nil
}
