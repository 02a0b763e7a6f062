package queueapp

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// paymentObject is the part of the Payment Object (seed 000) the app reads.
type paymentObject struct {
	PaymentID     string          `json:"paymentId"`
	Amount        string          `json:"amount"`
	Currency      string          `json:"currency"`
	Test          json.RawMessage `json:"test"`
	ManualCapture json.RawMessage `json:"manualCapture"`
	PaymentMethod struct {
		Data cardPackage `json:"data"`
	} `json:"paymentMethod"`
	ClientDetails struct {
		IPAddress string `json:"ipAddress"`
		UserAgent string `json:"userAgent"`
	} `json:"clientDetails"`
}

// truthy reads a flag Genstore documents as a boolean and shows as a string.
func truthy(raw json.RawMessage) (value, ok bool) {
	switch strings.TrimSpace(string(raw)) {
	case `true`, `"true"`:
		return true, true
	case `false`, `"false"`:
		return false, true
	}
	return false, false
}

// paymentRequest charges while Genstore waits: the acknowledgement carries the gateway's
// id, or the challenge the buyer must pass. When the gateway fails and nothing was charged,
// the answer is 503 and nothing is kept: Genstore retries (docs/CONTRACT.md §2.5).
func (a *App) paymentRequest(w http.ResponseWriter, r *http.Request) {
	q, body, ok := a.signed(w, r)
	if !ok {
		return
	}
	var in paymentObject
	if err := json.Unmarshal(body, &in); err != nil || in.PaymentID == "" {
		refuse(w, http.StatusBadRequest, "body: not a Payment Object")
		return
	}
	test, ok1 := truthy(in.Test)
	manual, ok2 := truthy(in.ManualCapture)
	if !ok1 || !ok2 {
		refuse(w, http.StatusBadRequest, "test, manualCapture: required booleans")
		return
	}
	shopID := q.Get("shopId")
	key := payKey(shopID, in.PaymentID)
	defer a.lock(key)()

	a.mu.Lock()
	p := a.pays[key]
	a.mu.Unlock()
	if p != nil {
		answer(w, http.StatusOK, p.ack) // a repeat: the same acknowledgement, nothing new
		return
	}
	env := "live"
	if test {
		env = "sandbox"
	}
	a.mu.Lock()
	orderNo := a.pspRef(shopID, in.PaymentID, func(o *payment, _ *operation) bool { return o != nil && o.orderNo == in.PaymentID })
	a.mu.Unlock()
	p = &payment{shopID: shopID, id: in.PaymentID, env: env, manual: manual, amount: in.Amount, currency: in.Currency,
		orderNo: orderNo, returnURL: in.PaymentMethod.Data.ReturnURL, backToken: newToken()}

	c, err := open(a.key, in.PaymentMethod.Data)
	if err != nil {
		// Refused without a word to the gateway (docs/CONTRACT.md §5.2).
		a.log.Warn("card data refused", "paymentId", in.PaymentID, "why", err)
		p.ack = map[string]string{"channelPaymentId": "", "error": "the card data could not be decrypted"}
		p.res = result{set: true, reason: "card data refused: " + err.Error()}
		a.keep(key, p)
		answer(w, http.StatusOK, p.ack)
		a.report(shopID, p.callbackKind(), p.id, "", p.res)
		return
	}
	gp, err := a.charge(r.Context(), p, c, in)
	if err != nil {
		a.log.Warn("card gateway unavailable; Genstore will retry", "paymentId", in.PaymentID, "err", err)
		refuse(w, http.StatusServiceUnavailable, "the card gateway is unavailable; retry later")
		return
	}
	p.tradeNo = gp.TradeNo
	p.ack = map[string]string{"channelPaymentId": gp.TradeNo, "error": ""}
	if gp.Status == "REQUIRES_ACTION" && gp.NextAction != nil && gp.NextAction.RedirectURL != "" {
		p.ack["redirectUrl"] = gp.NextAction.RedirectURL
	}
	a.keep(key, p)
	answer(w, http.StatusOK, p.ack)
	a.observe(p, gp) // after the acknowledgement: the callback follows it
}

// charge creates the payment at the gateway. After a 5xx or no answer it asks whether the
// payment exists (its orderNo is Genstore's id, so the gateway never charges it twice) and
// adopts it; it returns an error only when the gateway has no payment and could not take one.
func (a *App) charge(ctx context.Context, p *payment, c card, in paymentObject) (gwPayment, error) {
	ctx = context.WithoutCancel(ctx) // Genstore hanging up must not cut a charge in half
	captureMethod := "auto"
	if p.manual {
		captureMethod = "manual"
	}
	first, last, _ := strings.Cut(c.HolderName, " ")
	ua := in.ClientDetails.UserAgent
	if ua == "" {
		ua = "Mozilla/5.0"
	}
	req := map[string]any{
		"amount": p.amount, "currency": p.currency, "orderNo": p.orderNo, "paymentMethodType": "card", "threeDsMode": "auto",
		"frontUrl": a.cfg.PublicURL + "/back/" + p.backToken,
		"card": map[string]string{"cardNo": c.Number, "expiryMonth": c.ExpiryMonth, "expiryYear": c.ExpiryYear, "cvc": c.CVV,
			"captureMethod": captureMethod, "firstName": first, "lastName": last},
		"deviceInfo": map[string]any{"clientIp": orDefault(in.ClientDetails.IPAddress, "127.0.0.1"),
			"browser": map[string]string{"userAgent": ua, "acceptHeader": "text/html"}},
	}
	var gp gwPayment
	err := a.gw.call(ctx, p.env, "/v1/payments", req, &gp)
	if err == nil {
		return gp, nil
	}
	if unknown(err) || code(err) == "DUPLICATE_ORDER" {
		if found, ierr := a.gw.inquire(ctx, p.env, p.orderNo); ierr == nil {
			return found, nil
		}
		return gwPayment{}, err
	}
	// A definite refusal (a 4xx): the payment fails, reported by callback.
	return gwPayment{Status: "FAILED", FailureCode: code(err)}, nil
}

// keep stores a payment whose acknowledgement is given.
func (a *App) keep(key string, p *payment) {
	a.mu.Lock()
	a.pays[key] = p
	a.mu.Unlock()
}

func (p *payment) callbackKind() string {
	if p.manual {
		return "pre_authorize"
	}
	return "payment"
}

// observe takes the gateway's word on a payment: a final status is recorded and reported
// (once: the first result stands); anything else is asked about again later.
func (a *App) observe(p *payment, gp gwPayment) {
	ts := ""
	if gp.ThreeDs != nil {
		ts = gp.ThreeDs.TransStatus
	}
	var r result
	switch gp.Status {
	case "AUTHORIZED", "CAPTURED":
		r = result{set: true, success: ts != "N" && ts != "R" && ts != "U"}
		if !r.success {
			r.reason = "3-D Secure authentication did not succeed (" + ts + ")"
		}
	case "FAILED", "CANCELLED", "EXPIRED":
		r = result{set: true, reason: orDefault(gp.FailureCode, strings.ToLower(gp.Status))}
		if gp.FailureMessage != "" {
			r.reason += ": " + gp.FailureMessage
		}
	default: // PENDING, REQUIRES_ACTION: the buyer or the issuer has not decided yet
		a.mu.Lock()
		start := !p.pollStarted
		p.pollStarted = true
		a.mu.Unlock()
		if start {
			a.poll(p, 0)
		}
		return
	}
	a.mu.Lock()
	first := !p.res.set
	if first {
		p.res = r
		if gp.TradeNo != "" {
			p.tradeNo = gp.TradeNo
		}
		if r.success {
			p.authorized = minor(orDefault(gp.AuthorizedAmount, p.amount), p.currency)
			if !p.manual {
				p.captured = p.authorized
			}
		}
	}
	a.mu.Unlock()
	if first {
		a.report(p.shopID, p.callbackKind(), p.id, p.tradeNo, r)
	}
}

// poll asks the gateway about a payment that waits for the buyer or the issuer, until it
// is final (for an hour at most).
func (a *App) poll(p *payment, n int) {
	a.enqueue(min(time.Duration(n+1)*100*time.Millisecond, 2*time.Second), func(ctx context.Context) {
		a.mu.Lock()
		done := p.res.set
		a.mu.Unlock()
		if done || n > 2000 {
			return
		}
		gp, err := a.gw.inquire(ctx, p.env, p.orderNo)
		if err == nil && gp.Status != "PENDING" && gp.Status != "REQUIRES_ACTION" {
			a.observe(p, gp)
			return
		}
		a.poll(p, n+1)
	})
}

// buyerBack is the frontUrl the gateway sends the buyer to after a challenge: the app asks
// the gateway how it ended, reports it, and sends the buyer back to the shop.
func (a *App) buyerBack(w http.ResponseWriter, r *http.Request) {
	token := r.PathValue("token")
	a.mu.Lock()
	var p *payment
	for _, c := range a.pays {
		if c.backToken == token {
			p = c
		}
	}
	a.mu.Unlock()
	if p == nil {
		http.Error(w, "unknown payment", http.StatusNotFound)
		return
	}
	if gp, err := a.gw.inquire(r.Context(), p.env, p.orderNo); err == nil {
		a.observe(p, gp)
	}
	if u, err := url.Parse(p.returnURL); err == nil && u.Host != "" {
		http.Redirect(w, r, p.returnURL, http.StatusSeeOther)
		return
	}
	w.Write([]byte("You can return to the shop."))
}

func newToken() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
