package paymentapp

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

// CodePayConfig is the app's CodePay account (specs/codepay.yaml): one app id with a key
// pair per environment — the key a request is signed with decides whether CodePay runs it
// in its sandbox or live — and the merchant the app charges for.
type CodePayConfig struct {
	// URL is CodePay's base URL, e.g. http://127.0.0.1:7357/codepay.
	URL        string
	AppID      string
	MerchantNo string
	// SandboxKey and LiveKey are the app's RSA private keys (PEM, PKCS#8 or PKCS#1) whose
	// public halves are registered with CodePay for each environment.
	SandboxKey string
	LiveKey    string
	// GatewayKey is CodePay's public key (PEM or bare base64 SPKI, gateway_rsa_public_key):
	// every answer and notification is verified with it, and cards are encrypted to it.
	GatewayKey string
}

// codepayGateway charges cards through CodePay's merchant-hosted checkout
// (pay.merchant.checkout) and keeps the rest of the app in the card gateway's vocabulary.
// Written from specs/codepay.yaml alone. What it relies on:
//
//   - Every request is a JSON object signed SHA256withRSA over its sorted key=value text;
//     every answer is the envelope {code, msg, psn, sign, data}, signed by the gateway. An
//     answer whose signature does not verify is no answer at all (outcome unknown).
//   - code 0 is success; 50000 is a retryable system error (outcome unknown); the other
//     codes are definite refusals. A decline is not an error: trans_status 1 with resp_code.
//   - merchant_order_no is unique per merchant and environment (40007 otherwise). The app
//     derives it from Genstore's ids: the payment's own, the refund's, and the payment's
//     with -C for its capture and -V for its void, so CodePay itself refuses to do one
//     Genstore operation twice.
//   - A manualCapture payment is a pre-authorization (trans_type 4, pspsim's extension of
//     pay.merchant.checkout), completed by Capture Payment or released by Cancel Payment.
//   - Refunds are settled when CodePay answers (trans_status 2 or 1).
//   - Notifications come to the notify_url of each order, signed by the gateway, and are
//     acknowledged with the body `success`.
type codepayGateway struct {
	cfg       CodePayConfig
	keys      map[Env]*rsa.PrivateKey
	gateway   *rsa.PublicKey
	client    *http.Client
	timeout   time.Duration
	clock     func() time.Time
	notifyURL func(Env) string
}

func newCodePayGateway(cfg CodePayConfig, client *http.Client, timeout time.Duration, clock func() time.Time, notifyURL func(Env) string) (*codepayGateway, error) {
	g := &codepayGateway{cfg: cfg, keys: map[Env]*rsa.PrivateKey{}, client: client, timeout: timeout, clock: clock, notifyURL: notifyURL}
	g.cfg.URL = strings.TrimRight(cfg.URL, "/")
	for env, text := range map[Env]string{Sandbox: cfg.SandboxKey, Live: cfg.LiveKey} {
		if strings.TrimSpace(text) == "" {
			continue
		}
		k, err := parseRSAPrivateKey(text)
		if err != nil {
			return nil, fmt.Errorf("CodePay %s key: %w", env, err)
		}
		g.keys[env] = k
	}
	pub, err := parseRSAPublicKey(cfg.GatewayKey)
	if err != nil {
		return nil, fmt.Errorf("CodePay gateway key: %w", err)
	}
	g.gateway = pub
	return g, nil
}

func (g *codepayGateway) configured(env Env) bool { return g.keys[env] != nil }
func (g *codepayGateway) webhooks() bool          { return false }

func (g *codepayGateway) subscribe(context.Context, Env, string) (string, error) {
	return "", errors.New("CodePay notifies each order at its notify_url: there is nothing to subscribe to")
}

// check asks for an order that cannot exist: 40008 proves that CodePay took the signature.
func (g *codepayGateway) check(ctx context.Context, env Env) error {
	_, err := g.entry(ctx, env, "order.query", map[string]any{"merchant_order_no": "account-check"})
	if errorCode(err) == "NOT_FOUND" {
		return nil
	}
	if err == nil {
		return nil
	}
	return err
}

// cpOrder is the order.query field set, the fields the app reads.
type cpOrder struct {
	TransNo         string `json:"trans_no"`
	MerchantOrderNo string `json:"merchant_order_no"`
	TransType       int    `json:"trans_type"`
	TransStatus     int    `json:"trans_status"`
	Currency        string `json:"price_currency"`
	OrderAmount     string `json:"order_amount"`
	TransAmount     string `json:"trans_amount"`
	RefundedAmount  string `json:"refunded_amount"`
	RespCode        string `json:"resp_code"`
	RespMsg         string `json:"resp_msg"`
	TransEndTime    string `json:"trans_end_time"`
	OrigTransNo     string `json:"orig_trans_no"`
	OrigOrderNo     string `json:"orig_merchant_order_no"`
	Redirect3DS     string `json:"redirect_url_3dsecure"`
}

// CodePay's transaction statuses and types (specs/codepay.yaml).
const (
	cpProcessing = 0
	cpFailed     = 1
	cpSuccess    = 2
	cpCancelled  = 3
	cpCreated    = 9

	cpSale           = 1
	cpRefund         = 3
	cpPreAuth        = 4
	cpPreAuthCancel  = 5
	cpCompletion     = 6
	cpCompletionRfnd = 8
)

func captureOrderNo(orderNo string) string { return orderNo + "-C" }
func voidOrderNo(orderNo string) string    { return orderNo + "-V" }

func (g *codepayGateway) createPayment(ctx context.Context, env Env, req gwCardPaymentRequest) (gwPayment, error) {
	cardText, err := json.Marshal(map[string]string{
		"pan": req.Card.CardNo, "holder": strings.TrimSpace(req.Card.FirstName + " " + req.Card.LastName),
		"cvv": req.Card.Cvc, "expiry": req.Card.ExpiryMonth + lastTwo(req.Card.ExpiryYear),
	})
	if err != nil {
		return gwPayment{}, fmt.Errorf("encode the card: %w", err)
	}
	sealed, err := rsa.EncryptPKCS1v15(rand.Reader, g.gateway, cardText)
	clear(cardText)
	if err != nil {
		return gwPayment{}, fmt.Errorf("encrypt the card to CodePay's key: %w", err)
	}
	transType := cpSale
	if req.Card.CaptureMethod == "manual" {
		transType = cpPreAuth
	}
	fields := map[string]any{
		"card": base64.StdEncoding.EncodeToString(sealed), "billing_address": map[string]string{"name": strings.TrimSpace(req.Card.FirstName + " " + req.Card.LastName)},
		"merchant_order_no": req.OrderNo, "price_currency": req.Currency, "order_amount": json.Number(req.Amount), "expires": 1800,
		"description": "Genstore payment " + req.OrderNo, "notify_url": g.notifyURL(env), "trans_type": transType,
	}
	if req.FrontURL != "" {
		fields["return_url"] = req.FrontURL
	}
	var o cpOrder
	data, err := g.entry(ctx, env, "pay.merchant.checkout", fields)
	if err != nil {
		return gwPayment{}, err
	}
	if err := json.Unmarshal(data, &o); err != nil {
		return gwPayment{}, fmt.Errorf("pay.merchant.checkout: decode data: %w", err)
	}
	o.MerchantOrderNo, o.Currency, o.TransType = req.OrderNo, req.Currency, transType
	if o.TransAmount == "" {
		o.TransAmount = req.Amount
	}
	if o.TransStatus == cpFailed && o.RespCode == "" {
		// The checkout's answer says failed, not why: the order says why.
		if q, err := g.query(ctx, env, req.OrderNo, o.TransNo); err == nil {
			o.RespCode, o.RespMsg = q.RespCode, q.RespMsg
		}
	}
	p := g.view(env, o)
	if o.Redirect3DS != "" && o.TransStatus == cpProcessing {
		p.Status = gwRequiresAction
		p.NextAction = &gwNextAction{Type: "redirect", RedirectURL: o.Redirect3DS}
	}
	return p, nil
}

// view turns one CodePay order into the card gateway's payment.
func (g *codepayGateway) view(env Env, o cpOrder) gwPayment {
	p := gwPayment{TradeNo: o.TransNo, OrderNo: o.MerchantOrderNo, Amount: o.TransAmount, Currency: o.Currency, Environment: string(env)}
	if p.Amount == "" {
		p.Amount = o.OrderAmount
	}
	switch o.TransStatus {
	case cpCreated, cpProcessing:
		p.Status = gwPending
	case cpFailed:
		p.Status, p.FailureCode, p.FailureMessage = gwFailed, o.RespCode, o.RespMsg
		if strings.Contains(o.RespMsg, "3-D SECURE REJECTED") {
			p.ThreeDs = &gwThreeDS{TransStatus: "R"}
		}
	case cpSuccess:
		p.AuthorizedAmount = p.Amount
		if o.TransType == cpPreAuth {
			p.Status = gwAuthorized
			break
		}
		p.Status, p.CapturedAmount = gwCaptured, p.Amount
		if refunded, err := parseAmount(o.RefundedAmount, o.Currency); err == nil && refunded > 0 {
			p.RefundedAmount = o.RefundedAmount
			p.Status = gwPartiallyRefunded
			if total, err := parseAmount(p.Amount, o.Currency); err == nil && refunded >= total {
				p.Status = gwRefunded
			}
		}
	case cpCancelled:
		p.Status = gwCancelled
		if o.TransType == cpPreAuth {
			p.AuthorizedAmount = p.Amount // a released authorization: the payment's own result stands
		}
	}
	return p
}

func (g *codepayGateway) query(ctx context.Context, env Env, orderNo, transNo string) (cpOrder, error) {
	f := map[string]any{}
	if transNo != "" {
		f["trans_no"] = transNo
	} else {
		f["merchant_order_no"] = orderNo
	}
	var o cpOrder
	data, err := g.entry(ctx, env, "order.query", f)
	if err != nil {
		return o, err
	}
	if err := json.Unmarshal(data, &o); err != nil {
		return o, fmt.Errorf("order.query: decode data: %w", err)
	}
	return o, nil
}

// inquirePayment reads the order and, for a pre-authorization, its capture.
func (g *codepayGateway) inquirePayment(ctx context.Context, env Env, orderNo, tradeNo string) (gwPayment, error) {
	o, err := g.query(ctx, env, orderNo, tradeNo)
	if err != nil {
		return gwPayment{}, err
	}
	p := g.view(env, o)
	if o.TransType != cpPreAuth || o.TransStatus != cpSuccess {
		return p, nil
	}
	c, err := g.query(ctx, env, captureOrderNo(o.MerchantOrderNo), "")
	switch {
	case errorCode(err) == "NOT_FOUND":
		return p, nil
	case err != nil:
		return gwPayment{}, err
	}
	if c.TransStatus == cpSuccess {
		cv := g.view(env, c)
		p.Status, p.CapturedAmount, p.RefundedAmount = cv.Status, cv.CapturedAmount, cv.RefundedAmount
	}
	return p, nil
}

func (g *codepayGateway) capturePayment(ctx context.Context, env Env, orderNo, tradeNo, amount string) (gwPayment, error) {
	if tradeNo == "" {
		o, err := g.query(ctx, env, orderNo, "")
		if err != nil {
			return gwPayment{}, err
		}
		tradeNo = o.TransNo
	}
	_, err := g.card(ctx, env, "capture", map[string]any{"merchant_order_no": captureOrderNo(orderNo), "trans_no": tradeNo, "trans_amount": json.Number(amount)})
	if err != nil {
		return gwPayment{}, conflictIfDone(err)
	}
	return g.inquirePayment(ctx, env, orderNo, "")
}

func (g *codepayGateway) cancelPayment(ctx context.Context, env Env, orderNo, tradeNo, _ string) (gwPayment, error) {
	if tradeNo == "" {
		o, err := g.query(ctx, env, orderNo, "")
		if err != nil {
			return gwPayment{}, err
		}
		tradeNo = o.TransNo
	}
	if _, err := g.card(ctx, env, "cancel", map[string]any{"merchant_order_no": voidOrderNo(orderNo), "trans_no": tradeNo}); err != nil {
		return gwPayment{}, conflictIfDone(err)
	}
	return g.inquirePayment(ctx, env, orderNo, "")
}

// conflictIfDone reads a capture's or void's refusal as the card gateway's STATUS_CONFLICT
// when the order number is taken (an earlier attempt of ours) or the payment has moved on:
// the app then inquires, and the payment's state decides.
func conflictIfDone(err error) error {
	var ge *gatewayError
	if errors.As(err, &ge) && (ge.Code == "DUPLICATE_ORDER" || ge.Code == "STATUS_FORBIDS") {
		return &gatewayError{Status: http.StatusConflict, Code: "STATUS_CONFLICT", Message: ge.Message}
	}
	return err
}

func (g *codepayGateway) createRefund(ctx context.Context, env Env, req gwRefundRequest) (gwRefund, error) {
	tradeNo := req.TradeNo
	if tradeNo == "" {
		o, err := g.query(ctx, env, req.OrderNo, "")
		if err != nil {
			return gwRefund{}, err
		}
		tradeNo = o.TransNo
	}
	data, err := g.card(ctx, env, "refund", map[string]any{"merchant_order_no": req.RefundNumber, "trans_no": tradeNo, "order_amount": json.Number(req.Amount)})
	if err != nil {
		var ge *gatewayError
		if errors.As(err, &ge) && ge.Code == "DUPLICATE_ORDER" {
			return gwRefund{}, &gatewayError{Status: http.StatusConflict, Code: "REFUND_NUMBER_CONFLICT", Message: ge.Message}
		}
		return gwRefund{}, err
	}
	var o cpOrder
	if err := json.Unmarshal(data, &o); err != nil {
		return gwRefund{}, fmt.Errorf("refund: decode data: %w", err)
	}
	return gwRefund{RefundNumber: req.RefundNumber, RefundID: o.TransNo, OrderNo: req.OrderNo, TradeNo: tradeNo, Amount: req.Amount,
		Status: refundStatus(o.TransStatus), FailureCode: o.RespCode, FailureMessage: o.RespMsg}, nil
}

func refundStatus(st int) string {
	switch st {
	case cpSuccess:
		return "SUCCEEDED"
	case cpFailed, cpCancelled:
		return "FAILED"
	}
	return "PENDING"
}

func (g *codepayGateway) inquireRefund(ctx context.Context, env Env, refundNumber string) (gwRefund, error) {
	data, err := g.entry(ctx, env, "order.refund.query", map[string]any{"merchant_order_no": refundNumber})
	if err != nil {
		return gwRefund{}, err
	}
	var o cpOrder
	if err := json.Unmarshal(data, &o); err != nil {
		return gwRefund{}, fmt.Errorf("order.refund.query: decode data: %w", err)
	}
	return g.refundView(o), nil
}

func (g *codepayGateway) refundView(o cpOrder) gwRefund {
	amount := o.TransAmount
	if amount == "" {
		amount = o.OrderAmount
	}
	orig := o.OrigOrderNo
	if i := strings.LastIndex(orig, "-C"); i > 0 && i == len(orig)-2 {
		orig = orig[:i] // a captured pre-authorization is refunded through its capture
	}
	return gwRefund{RefundNumber: o.MerchantOrderNo, RefundID: o.TransNo, OrderNo: orig, TradeNo: o.OrigTransNo, Amount: amount,
		Currency: o.Currency, Status: refundStatus(o.TransStatus), FailureCode: o.RespCode, FailureMessage: o.RespMsg}
}

// inquireRefunds gives what is captured and what CodePay refunded of it, as one entry.
func (g *codepayGateway) inquireRefunds(ctx context.Context, env Env, orderNo string) (gwRefundInquiry, error) {
	p, err := g.inquirePayment(ctx, env, orderNo, "")
	if err != nil {
		return gwRefundInquiry{}, err
	}
	inq := gwRefundInquiry{CapturedAmount: p.CapturedAmount, RefundedAmount: p.RefundedAmount}
	if p.RefundedAmount != "" {
		inq.Refunds = []gwRefund{{Amount: p.RefundedAmount, Status: "SUCCEEDED", OrderNo: orderNo}}
	}
	if inq.CapturedAmount == "" {
		inq.CapturedAmount = "0"
	}
	return inq, nil
}

// ---- the wire --------------------------------------------------------------------

// entry calls POST /api/entry with a method and returns the answer's data.
func (g *codepayGateway) entry(ctx context.Context, env Env, method string, fields map[string]any) (json.RawMessage, error) {
	body := map[string]any{"method": method, "merchant_no": g.cfg.MerchantNo, "format": "JSON", "charset": "UTF-8", "version": "1.0"}
	for k, v := range fields {
		body[k] = v
	}
	return g.post(ctx, env, "/api/entry", method, body)
}

// card calls one of the card operations under /api/card/.
func (g *codepayGateway) card(ctx context.Context, env Env, op string, fields map[string]any) (json.RawMessage, error) {
	body := map[string]any{"format": "JSON", "charset": "UTF-8", "version": "1.0"}
	for k, v := range fields {
		body[k] = v
	}
	return g.post(ctx, env, "/api/card/"+op, op, body)
}

// post signs body with env's key, sends it with its own deadline, verifies the answer's
// signature and returns its data. Bodies may hold the encrypted card: they never appear
// in errors or logs.
func (g *codepayGateway) post(ctx context.Context, env Env, path, what string, body map[string]any) (json.RawMessage, error) {
	key := g.keys[env]
	if key == nil {
		return nil, fmt.Errorf("no %s key for CodePay", env)
	}
	body["app_id"], body["sign_type"] = g.cfg.AppID, "RSA2"
	body["timestamp"] = strconv.FormatInt(g.clock().UnixMilli(), 10)
	delete(body, "sign")
	raw, err := json.Marshal(body)
	if err != nil {
		return nil, fmt.Errorf("encode %s: %w", what, err)
	}
	sign, err := codepaySign(key, raw)
	if err != nil {
		return nil, fmt.Errorf("sign %s: %w", what, err)
	}
	body["sign"] = sign
	if raw, err = json.Marshal(body); err != nil {
		return nil, fmt.Errorf("encode %s: %w", what, err)
	}
	ctx, cancel := context.WithTimeout(ctx, g.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, g.cfg.URL+path, bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("build %s: %w", what, err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := g.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("CodePay %s: %w", what, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("CodePay %s: read answer: %w", what, err)
	}
	if resp.StatusCode >= 500 {
		return nil, &gatewayError{Status: resp.StatusCode, Code: "INTERNAL_ERROR", Message: "CodePay answered HTTP " + strconv.Itoa(resp.StatusCode)}
	}
	if err := codepayVerify(g.gateway, data); err != nil {
		// Not CodePay's word: as good as no answer.
		return nil, fmt.Errorf("CodePay %s: the answer's signature does not verify (HTTP %d): %w", what, resp.StatusCode, err)
	}
	var env2 struct {
		Code string          `json:"code"`
		Msg  string          `json:"msg"`
		Data json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(data, &env2); err != nil {
		return nil, fmt.Errorf("CodePay %s: decode answer: %w", what, err)
	}
	if env2.Code != "0" {
		return nil, codepayError(resp.StatusCode, env2.Code, env2.Msg)
	}
	d := env2.Data
	if len(d) > 0 && d[0] == '"' { // data as a JSON-encoded string, as CodePay sends it by default
		var s string
		if err := json.Unmarshal(d, &s); err != nil {
			return nil, fmt.Errorf("CodePay %s: decode data: %w", what, err)
		}
		d = json.RawMessage(s)
	}
	return d, nil
}

// codepayError maps CodePay's codes onto the card gateway's, which the app acts on.
func codepayError(status int, code, msg string) error {
	ge := &gatewayError{Status: http.StatusBadRequest, Code: "CODEPAY_" + code, Message: msg}
	switch code {
	case "40007":
		ge.Status, ge.Code = http.StatusConflict, "DUPLICATE_ORDER"
	case "40008":
		ge.Status, ge.Code = http.StatusNotFound, "NOT_FOUND"
	case "40009":
		ge.Status, ge.Code = http.StatusConflict, "STATUS_FORBIDS"
	case "40011", "40013":
		ge.Status, ge.Code = http.StatusUnprocessableEntity, "AMOUNT_EXCEEDED"
	case "40003", "40005":
		ge.Status = http.StatusUnauthorized
	case "50000":
		ge.Status, ge.Code = http.StatusInternalServerError, "INTERNAL_ERROR"
	}
	if status >= 500 {
		ge.Status = status
	}
	return ge
}

// codepayStringToSign is the text CodePay signs: every top-level field but sign, skipping
// null and empty strings, sorted by key, as key=value joined by '&' — strings unquoted,
// numbers as written, objects and arrays as compact JSON.
func codepayStringToSign(body []byte) (string, string, error) {
	var fields map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&fields); err != nil || fields == nil {
		return "", "", errors.New("not a JSON object")
	}
	var sign string
	keys := make([]string, 0, len(fields))
	for k, v := range fields {
		if strings.EqualFold(k, "sign") {
			json.Unmarshal(v, &sign)
			continue
		}
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		raw := bytes.TrimSpace(fields[k])
		var v string
		switch {
		case len(raw) == 0 || string(raw) == "null":
			continue
		case raw[0] == '"':
			if err := json.Unmarshal(raw, &v); err != nil {
				return "", "", fmt.Errorf("field %s: %w", k, err)
			}
			if v == "" {
				continue
			}
		case raw[0] == '{' || raw[0] == '[':
			var buf bytes.Buffer
			if err := json.Compact(&buf, raw); err != nil {
				return "", "", fmt.Errorf("field %s: %w", k, err)
			}
			v = buf.String()
		default:
			v = string(raw)
		}
		if b.Len() > 0 {
			b.WriteByte('&')
		}
		b.WriteString(k + "=" + v)
	}
	return b.String(), sign, nil
}

func codepaySign(key *rsa.PrivateKey, body []byte) (string, error) {
	text, _, err := codepayStringToSign(body)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256([]byte(text))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	if err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(sig), nil
}

func codepayVerify(pub *rsa.PublicKey, body []byte) error {
	text, sign, err := codepayStringToSign(body)
	if err != nil {
		return err
	}
	sig, err := base64.StdEncoding.DecodeString(sign)
	if err != nil || sign == "" {
		return errors.New("sign is missing or not base64")
	}
	sum := sha256.Sum256([]byte(text))
	return rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], sig)
}

func lastTwo(year string) string {
	if len(year) > 2 {
		return year[len(year)-2:]
	}
	return year
}

// parseRSAPrivateKey reads a PEM private key, PKCS#8 or PKCS#1.
func parseRSAPrivateKey(text string) (*rsa.PrivateKey, error) {
	block, _ := pem.Decode([]byte(text))
	if block == nil {
		return nil, errors.New("not PEM")
	}
	if k, err := x509.ParsePKCS8PrivateKey(block.Bytes); err == nil {
		if rk, ok := k.(*rsa.PrivateKey); ok {
			return rk, nil
		}
		return nil, errors.New("not an RSA key")
	}
	return x509.ParsePKCS1PrivateKey(block.Bytes)
}

// parseRSAPublicKey reads a public key as PEM or bare base64 SPKI DER.
func parseRSAPublicKey(text string) (*rsa.PublicKey, error) {
	der := []byte(strings.TrimSpace(text))
	if block, _ := pem.Decode(der); block != nil {
		der = block.Bytes
	} else if b, err := base64.StdEncoding.DecodeString(string(der)); err == nil {
		der = b
	} else {
		return nil, errors.New("neither PEM nor base64")
	}
	k, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return nil, err
	}
	rk, ok := k.(*rsa.PublicKey)
	if !ok {
		return nil, errors.New("not an RSA key")
	}
	return rk, nil
}

// ---- notifications ---------------------------------------------------------------

// codepayNotifyURL is where CodePay posts env's notifications.
func (a *App) codepayNotifyURL(env Env) string {
	return a.cfg.PublicURL + "/notify/codepay/" + string(env)
}

// handleCodePayNotification takes a CodePay notification: verified with the gateway's key
// first (a forgery is refused and changes nothing), then read like the card gateway's
// webhooks — a payment's status goes through observePayment, a refund's through
// observeRefund — and acknowledged with `success` once handled, also when it is about an
// order the app does not know. Repeats are harmless: a final result never changes.
func (a *App) handleCodePayNotification(w http.ResponseWriter, r *http.Request) {
	env := Env(r.PathValue("env"))
	cp, ok := a.gw.(*codepayGateway)
	if !ok || (env != Sandbox && env != Live) {
		http.NotFound(w, r)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		http.Error(w, "body: too large or unreadable", http.StatusRequestEntityTooLarge)
		return
	}
	if err := codepayVerify(cp.gateway, body); err != nil && !a.bugs.on(BugUnverifiedNotification) {
		a.log.Warn("refused a CodePay notification whose signature does not verify", "env", env)
		http.Error(w, "sign: does not verify", http.StatusUnauthorized)
		return
	}
	var n struct {
		cpOrder
		AppID      string `json:"app_id"`
		MerchantNo string `json:"merchant_no"`
	}
	if err := json.Unmarshal(body, &n); err != nil {
		http.Error(w, "body: is not a notification", http.StatusBadRequest)
		return
	}
	if n.AppID != cp.cfg.AppID || n.MerchantNo != cp.cfg.MerchantNo {
		a.log.Info("CodePay notification for another app or merchant; ignored", "merchantOrderNo", n.MerchantOrderNo)
		io.WriteString(w, "success")
		return
	}
	ctx := r.Context()
	switch n.TransType {
	case cpSale, cpPreAuth:
		gp := cp.view(env, n.cpOrder)
		p, err := a.paymentForEvent(ctx, env, gp)
		if err != nil {
			a.log.Info("CodePay notification about an order this app does not know; ignored", "merchantOrderNo", n.MerchantOrderNo)
			break
		}
		a.log.Info("payment notification", "paymentId", p.PaymentID, "status", gp.Status)
		a.observePayment(ctx, p, gp)
	case cpRefund, cpCompletionRfnd:
		rf := cp.refundView(n.cpOrder)
		a.onRefundEvent(ctx, env, "codepay:"+n.TransNo, rf)
	default:
		// Captures and voids are settled when CodePay answers them; an unanswered one is
		// inquired about (watchOperation).
		a.log.Info("CodePay notification of a capture or void", "merchantOrderNo", n.MerchantOrderNo, "transStatus", n.TransStatus)
	}
	io.WriteString(w, "success")
}
