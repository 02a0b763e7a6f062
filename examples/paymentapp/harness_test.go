package paymentapp

// The test harness: a fake Genstore and a fake card gateway, each an httptest server
// written from CONTRACT.md and the specs (not pspsim's emulators), and a harness that
// installs the app on a shop and sends it signed requests.

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/hkdf"
)

const (
	testClientID     = "ref-payment-app"
	testClientSecret = "caeeddab1a4213af909cf943a52b8864"
	testShop         = "demo-shop"
	testShopID       = "1001"
	testReturnURL    = "https://demo-shop.genmystore.com/checkouts/return"
)

var (
	sandboxCreds = Credentials{AppID: "086666075137001", Secret: "184E52CF5365D2D7EE8EDA************"}
	liveCreds    = Credentials{AppID: "086666075137001", Secret: "184E52CF5365D2D7EE8EDA0000000002"}
)

// ---- fake Genstore ------------------------------------------------------------------

// gsCall is one callback attempt Genstore received, with its answer.
type gsCall struct {
	Path   string
	Pay    map[string]any
	Status int
}

type fakeGenstore struct {
	srv *httptest.Server

	mu       sync.Mutex
	codes    map[string]string // installation code → shop
	tokens   map[string]string // access token → shop
	ready    map[string]bool   // shop → account_authorize ready
	calls    []gsCall          // every callback attempt
	finals   map[string]string // path → the first result recorded
	script   map[string][]int  // path → statuses to answer next, in order
	exchange int               // code exchanges
}

func newFakeGenstore(t *testing.T) *fakeGenstore {
	g := &fakeGenstore{
		codes:  map[string]string{},
		tokens: map[string]string{},
		ready:  map[string]bool{},
		finals: map[string]string{},
		script: map[string][]int{},
	}
	g.srv = httptest.NewServer(http.HandlerFunc(g.serve))
	t.Cleanup(g.srv.Close)
	return g
}

func (g *fakeGenstore) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	g.mu.Lock()
	defer g.mu.Unlock()
	if r.Method == http.MethodPost && r.URL.Path == "/api/202412/oauth/access_token" {
		g.exchange++
		var req struct {
			ClientID     string `json:"client_id"`
			ClientSecret string `json:"client_secret"`
			Code         string `json:"code"`
		}
		_ = json.Unmarshal(body, &req)
		if req.ClientID != testClientID || req.ClientSecret != testClientSecret {
			writeJSON(w, 401, map[string]string{"errors": "client_secret: does not match client_id"})
			return
		}
		shop, ok := g.codes[req.Code]
		if !ok {
			writeJSON(w, 400, map[string]string{"errors": "code: is unknown, expired or already used"})
			return
		}
		delete(g.codes, req.Code)
		// One token per installation; a reinstallation revokes the earlier one (docs/CONTRACT.md §1.4).
		for t, s := range g.tokens {
			if s == shop {
				delete(g.tokens, t)
			}
		}
		token := fmt.Sprintf("gst-%s-%d", shop, g.exchange)
		g.tokens[token] = shop
		writeJSON(w, 200, map[string]string{"access_token": token, "scope": "write_payment,read_payments_transaction"})
		return
	}
	shop, ok := g.tokens[r.Header.Get("X-Genstore-Access-Token")]
	if !ok || r.Method != http.MethodPut {
		writeJSON(w, 401, map[string]string{"errors": "X-Genstore-Access-Token: is missing or unknown"})
		return
	}
	var msg struct {
		Pay map[string]any `json:"pay"`
	}
	if err := json.Unmarshal(body, &msg); err != nil {
		writeJSON(w, 422, map[string]string{"errors": "body: malformed"})
		return
	}
	if r.URL.Path == "/api/202412/app/account_authorize" {
		g.ready[shop] = msg.Pay["ready"] == "true"
		writeJSON(w, 200, struct{}{})
		return
	}
	status := 200
	if next := g.script[r.URL.Path]; len(next) > 0 {
		status, g.script[r.URL.Path] = next[0], next[1:]
	} else if first, ok := g.finals[r.URL.Path]; ok && first != fmt.Sprint(msg.Pay["result"]) {
		status = 409
	} else if !ok {
		g.finals[r.URL.Path] = fmt.Sprint(msg.Pay["result"])
	}
	g.calls = append(g.calls, gsCall{Path: r.URL.Path, Pay: msg.Pay, Status: status})
	if status == 200 {
		writeJSON(w, 200, struct{}{})
		return
	}
	writeJSON(w, status, map[string]string{"errors": "scripted answer"})
}

// callbacks returns the callback attempts whose path starts with prefix.
func (g *fakeGenstore) callbacks(prefix string) []gsCall {
	g.mu.Lock()
	defer g.mu.Unlock()
	var out []gsCall
	for _, c := range g.calls {
		if strings.HasPrefix(c.Path, prefix) {
			out = append(out, c)
		}
	}
	return out
}

// answerNext scripts the next answers to callbacks on path.
func (g *fakeGenstore) answerNext(path string, statuses ...int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.script[path] = append(g.script[path], statuses...)
}

func (g *fakeGenstore) newCode(shop string) string {
	g.mu.Lock()
	defer g.mu.Unlock()
	code := fmt.Sprintf("code-%d", len(g.codes)+g.exchange+1)
	g.codes[code] = shop
	return code
}

// ---- fake card gateway ----------------------------------------------------------------

// gwCall is one call the gateway received.
type gwCall struct {
	Op      string // token, create, inquiry, capture, cancel, refund, refundInquiry, subscribe
	Env     Env
	OrderNo string
	Card    string // masked
	Amount  string
	Body    string // raw, to check for leaks
}

type fakePayment struct {
	gwPayment
	env      Env
	frontURL string
	manual   bool
	pending  int64 // refunds pending
}

type fakeGateway struct {
	t   *testing.T
	srv *httptest.Server

	mu            sync.Mutex
	tokens        map[string]Env
	payments      map[string]*fakePayment // env/orderNo
	refunds       map[string]*gwRefund    // env/refundNumber
	subs          map[Env]struct{ url, secret string }
	calls         []gwCall
	seq           int
	createDelay   time.Duration
	refundPending bool // refunds answer PENDING until settled
	hang          chan struct{}
}

func newFakeGateway(t *testing.T) *fakeGateway {
	g := &fakeGateway{
		t:        t,
		tokens:   map[string]Env{},
		payments: map[string]*fakePayment{},
		refunds:  map[string]*gwRefund{},
		subs:     map[Env]struct{ url, secret string }{},
		hang:     make(chan struct{}),
	}
	g.srv = httptest.NewServer(http.HandlerFunc(g.serve))
	t.Cleanup(func() { close(g.hang); g.srv.Close() })
	return g
}

func gwErr(w http.ResponseWriter, status int, code, field string) {
	writeJSON(w, status, map[string]string{"code": code, "message": strings.ToLower(code), "field": field, "traceId": "t"})
}

// stamp returns a strictly increasing updatedAt.
func (g *fakeGateway) stamp() string {
	g.seq++
	return time.Date(2025, 7, 3, 10, 0, 0, 0, time.UTC).Add(time.Duration(g.seq) * time.Second).Format(time.RFC3339)
}

// outcome of a test card: TESTCARDS.md, "4000 1234 5600 0NN?".
func cardNN(pan string) string {
	if len(pan) == 16 && (strings.HasPrefix(pan, "4000123456000") || strings.HasPrefix(pan, "5100123456000")) {
		return pan[13:15]
	}
	return ""
}

func (g *fakeGateway) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	g.mu.Lock()
	if r.URL.Path == "/v1/auth/token" {
		defer g.mu.Unlock()
		var c struct {
			AppID  string `json:"appId"`
			Secret string `json:"secret"`
		}
		_ = json.Unmarshal(body, &c)
		var env Env
		switch (Credentials{c.AppID, c.Secret}) {
		case sandboxCreds:
			env = Sandbox
		case liveCreds:
			env = Live
		default:
			gwErr(w, 401, "UNAUTHORIZED", "")
			return
		}
		g.seq++
		tok := fmt.Sprintf("tok-%s-%d", env, g.seq)
		g.tokens[tok] = env
		g.calls = append(g.calls, gwCall{Op: "token", Env: env})
		writeJSON(w, 200, map[string]any{"accessToken": tok, "tokenType": "Bearer", "expiresIn": 7200, "expiresAt": "2099-01-01T00:00:00Z", "environment": env})
		return
	}
	env, ok := g.tokens[strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")]
	if !ok {
		g.mu.Unlock()
		gwErr(w, 401, "UNAUTHORIZED", "")
		return
	}
	var in map[string]any
	_ = json.Unmarshal(body, &in)
	str := func(k string) string { s, _ := in[k].(string); return s }
	switch r.URL.Path {
	case "/v1/payments":
		g.create(w, r, env, body, in)
		return // create unlocks
	case "/v1/payments/inquiry":
		defer g.mu.Unlock()
		g.calls = append(g.calls, gwCall{Op: "inquiry", Env: env, OrderNo: str("orderNo")})
		p := g.find(env, str("orderNo"), str("tradeNo"))
		if p == nil {
			gwErr(w, 404, "NOT_FOUND", "orderNo")
			return
		}
		writeJSON(w, 200, p.gwPayment)
	case "/v1/payments/capture":
		defer g.mu.Unlock()
		g.calls = append(g.calls, gwCall{Op: "capture", Env: env, OrderNo: str("orderNo"), Amount: str("captureAmount")})
		p := g.find(env, str("orderNo"), str("tradeNo"))
		switch {
		case p == nil:
			gwErr(w, 404, "NOT_FOUND", "orderNo")
		case p.Status != gwAuthorized:
			gwErr(w, 409, "STATUS_CONFLICT", "")
		case minor(str("captureAmount"), p.Currency) > minor(p.AuthorizedAmount, p.Currency):
			gwErr(w, 422, "AMOUNT_EXCEEDED", "captureAmount")
		default:
			p.Status, p.CapturedAmount, p.UpdatedAt = gwCaptured, str("captureAmount"), g.stamp()
			writeJSON(w, 200, p.gwPayment)
		}
	case "/v1/payments/cancel":
		defer g.mu.Unlock()
		g.calls = append(g.calls, gwCall{Op: "cancel", Env: env, OrderNo: str("orderNo")})
		p := g.find(env, str("orderNo"), str("tradeNo"))
		switch {
		case p == nil:
			gwErr(w, 404, "NOT_FOUND", "orderNo")
		case p.Status != gwAuthorized && p.Status != gwPending && p.Status != gwRequiresAction:
			gwErr(w, 409, "STATUS_CONFLICT", "")
		default:
			p.Status, p.UpdatedAt = gwCancelled, g.stamp()
			writeJSON(w, 200, p.gwPayment)
		}
	case "/v1/refunds":
		defer g.mu.Unlock()
		g.calls = append(g.calls, gwCall{Op: "refund", Env: env, OrderNo: str("orderNo"), Amount: str("amount")})
		p := g.find(env, str("orderNo"), str("tradeNo"))
		if p == nil {
			gwErr(w, 404, "NOT_FOUND", "orderNo")
			return
		}
		if rf, ok := g.refunds[string(env)+"/"+str("refundNumber")]; ok {
			if rf.Amount != str("amount") {
				gwErr(w, 409, "REFUND_NUMBER_CONFLICT", "refundNumber")
				return
			}
			writeJSON(w, 200, rf)
			return
		}
		if p.Status != gwCaptured && p.Status != gwPartiallyRefunded {
			gwErr(w, 409, "STATUS_CONFLICT", "")
			return
		}
		amount := minor(str("amount"), p.Currency)
		if amount > minor(p.CapturedAmount, p.Currency)-minor(p.RefundedAmount, p.Currency)-p.pending {
			gwErr(w, 422, "AMOUNT_EXCEEDED", "amount")
			return
		}
		g.seq++
		rf := &gwRefund{RefundNumber: str("refundNumber"), RefundID: fmt.Sprintf("rf_%d", g.seq), TradeNo: p.TradeNo, OrderNo: p.OrderNo,
			Amount: str("amount"), Currency: p.Currency, Status: "PENDING", UpdatedAt: g.stamp()}
		g.refunds[string(env)+"/"+rf.RefundNumber] = rf
		p.pending += amount
		if !g.refundPending {
			g.settleRefundLocked(env, rf.RefundNumber, true)
		}
		writeJSON(w, 200, rf)
	case "/v1/refunds/inquiry":
		defer g.mu.Unlock()
		g.calls = append(g.calls, gwCall{Op: "refundInquiry", Env: env, OrderNo: str("orderNo")})
		if n := str("refundNumber"); n != "" {
			rf, ok := g.refunds[string(env)+"/"+n]
			if !ok {
				gwErr(w, 404, "NOT_FOUND", "refundNumber")
				return
			}
			writeJSON(w, 200, map[string]any{"capturedAmount": "0", "refundedAmount": "0", "refunds": []*gwRefund{rf}})
			return
		}
		p := g.find(env, str("orderNo"), str("tradeNo"))
		if p == nil {
			gwErr(w, 404, "NOT_FOUND", "orderNo")
			return
		}
		var list []*gwRefund
		for _, rf := range g.refunds {
			if rf.OrderNo == p.OrderNo {
				list = append(list, rf)
			}
		}
		writeJSON(w, 200, map[string]any{"capturedAmount": p.CapturedAmount, "refundedAmount": p.RefundedAmount, "refunds": list})
	case "/v1/webhooks/subscriptions":
		defer g.mu.Unlock()
		g.calls = append(g.calls, gwCall{Op: "subscribe", Env: env})
		g.seq++
		secret := fmt.Sprintf("whsec_%032d", g.seq)
		g.subs[env] = struct{ url, secret string }{str("subscribeUrl"), secret}
		writeJSON(w, 200, map[string]any{"subscriptionId": fmt.Sprint("ws_", g.seq), "apiVersion": "20250703", "signMethod": "sha256",
			"subscribeUrl": str("subscribeUrl"), "secret": secret, "createdAt": "2025-07-03T09:00:00Z"})
	default:
		g.mu.Unlock()
		gwErr(w, 404, "NOT_FOUND", "")
	}
}

// create is createPayment; it is called with g.mu held and releases it.
func (g *fakeGateway) create(w http.ResponseWriter, r *http.Request, env Env, body []byte, in map[string]any) {
	var req gwCardPaymentRequest
	_ = json.Unmarshal(body, &req)
	g.calls = append(g.calls, gwCall{Op: "create", Env: env, OrderNo: req.OrderNo, Card: maskPAN(req.Card.CardNo), Amount: req.Amount, Body: string(body)})
	delay := g.createDelay
	key := string(env) + "/" + req.OrderNo
	if _, dup := g.payments[key]; dup {
		g.mu.Unlock()
		gwErr(w, 409, "DUPLICATE_ORDER", "orderNo")
		return
	}
	nn := cardNN(req.Card.CardNo)
	if nn == "25" {
		g.mu.Unlock()
		gwErr(w, 500, "INTERNAL_ERROR", "")
		return
	}
	g.seq++
	p := &fakePayment{env: env, frontURL: req.FrontURL, manual: req.Card.CaptureMethod == "manual"}
	p.gwPayment = gwPayment{TradeNo: fmt.Sprintf("T%06d", g.seq), OrderNo: req.OrderNo, Amount: req.Amount, Currency: req.Currency,
		AuthorizedAmount: "0.00", CapturedAmount: "0.00", RefundedAmount: "0.00", Environment: string(env),
		ThreeDs: &gwThreeDS{Mode: req.ThreeDsMode, Flow: "frictionless", TransStatus: "Y"}, NextAction: &gwNextAction{Type: "none"},
		MaskedCardNo: maskPAN(req.Card.CardNo), UpdatedAt: g.stamp()}
	switch nn {
	case "03":
		p.Status, p.ThreeDs.TransStatus, p.FailureCode = gwFailed, "N", "AUTHENTICATION_FAILED"
	case "04":
		p.Status, p.ThreeDs.TransStatus, p.FailureCode = gwFailed, "R", "AUTHENTICATION_REJECTED"
	case "06":
		p.Status, p.ThreeDs.Flow, p.ThreeDs.TransStatus = gwRequiresAction, "challenge", "C"
		p.NextAction = &gwNextAction{Type: "redirect", RedirectURL: g.srv.URL + "/3ds/challenge/" + p.TradeNo}
	case "13":
		p.Status, p.ThreeDs.Flow, p.ThreeDs.TransStatus = gwPending, "decoupled", "D"
	case "20":
		p.Status, p.FailureCode, p.FailureMessage = gwFailed, "INSUFFICIENT_FUNDS", "insufficient funds"
	default:
		g.approve(p, p.manual)
	}
	g.payments[key] = p
	answer := p.gwPayment
	g.mu.Unlock()
	if nn == "26" {
		select { // accepted, then never answers
		case <-r.Context().Done():
		case <-g.hang:
		}
		return
	}
	if delay > 0 {
		time.Sleep(delay)
	}
	writeJSON(w, 200, answer)
}

func (g *fakeGateway) approve(p *fakePayment, manual bool) {
	p.Status, p.AuthorizedAmount = gwCaptured, p.Amount
	p.CapturedAmount = p.Amount
	if manual {
		p.Status, p.CapturedAmount = gwAuthorized, "0.00"
	}
	p.ThreeDs.TransStatus = "Y"
	p.NextAction = &gwNextAction{Type: "none"}
	p.UpdatedAt = g.stamp()
}

func (g *fakeGateway) find(env Env, orderNo, tradeNo string) *fakePayment {
	if p, ok := g.payments[string(env)+"/"+orderNo]; ok {
		return p
	}
	for _, p := range g.payments {
		if p.env == env && tradeNo != "" && p.TradeNo == tradeNo {
			return p
		}
	}
	return nil
}

// finish ends a payment waiting for the buyer or the issuer: approved or failed.
func (g *fakeGateway) finish(env Env, orderNo string, approved bool) gwPayment {
	g.mu.Lock()
	defer g.mu.Unlock()
	p := byRef(g.payments, env, orderNo)
	if p == nil {
		g.t.Fatalf("fake gateway: no payment %s/%s", env, orderNo)
	}
	if approved {
		g.approve(p, p.manual)
	} else {
		p.Status, p.ThreeDs.TransStatus, p.FailureCode, p.UpdatedAt = gwFailed, "N", "AUTHENTICATION_FAILED", g.stamp()
		p.NextAction = &gwNextAction{Type: "none"}
	}
	return p.gwPayment
}

func (g *fakeGateway) settleRefundLocked(env Env, number string, ok bool) gwRefund {
	rf := byRef(g.refunds, env, number)
	if rf == nil {
		return gwRefund{} // never made (in this environment): nothing to settle
	}
	p := g.find(env, rf.OrderNo, "")
	amount := minor(rf.Amount, rf.Currency)
	p.pending -= amount
	if ok {
		rf.Status = "SUCCEEDED"
		refunded := minor(p.RefundedAmount, p.Currency) + amount
		p.RefundedAmount = formatAmount(refunded, p.Currency)
		p.Status = gwPartiallyRefunded
		if refunded == minor(p.CapturedAmount, p.Currency) {
			p.Status = gwRefunded
		}
	} else {
		rf.Status, rf.FailureCode = "FAILED", "REFUND_DECLINED"
	}
	rf.UpdatedAt = g.stamp()
	return *rf
}

func (g *fakeGateway) settleRefund(env Env, number string, ok bool) gwRefund {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.settleRefundLocked(env, number, ok)
}

func (g *fakeGateway) payment(env Env, orderNo string) (gwPayment, string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	p := byRef(g.payments, env, orderNo)
	if p == nil {
		return gwPayment{}, ""
	}
	return p.gwPayment, p.frontURL
}

// callsOf returns the calls of one operation ("" for all).
func (g *fakeGateway) callsOf(op string) []gwCall {
	g.mu.Lock()
	defer g.mu.Unlock()
	var out []gwCall
	for _, c := range g.calls {
		if op == "" || c.Op == op {
			out = append(out, c)
		}
	}
	return out
}

// emit posts a signed webhook event to env's subscription and returns the answer's status.
func (g *fakeGateway) emit(env Env, eventID, eventType string, data any, now time.Time) int {
	g.mu.Lock()
	sub := g.subs[env]
	g.mu.Unlock()
	if sub.url == "" {
		g.t.Fatalf("fake gateway: no %s webhook subscription", env)
	}
	body, _ := json.Marshal(map[string]any{"eventId": eventID, "eventType": eventType, "apiVersion": "20250703",
		"createdAt": now.UTC().Format(time.RFC3339), "data": data})
	return postWebhook(g.t, sub.url, sub.secret, eventID, body, now)
}

func postWebhook(t *testing.T, url, secret, eventID string, body []byte, now time.Time) int {
	ts := fmt.Sprint(now.Unix())
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-VM-Event-Id", eventID)
	req.Header.Set("X-VM-Timestamp", ts)
	req.Header.Set("X-VM-Signature", hex.EncodeToString(signWebhook(secret, ts, body)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("post webhook: %v", err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func minor(amount, currency string) int64 {
	v, err := parseAmount(amount, currency)
	if err != nil {
		return 0
	}
	return v
}

// ---- the harness ----------------------------------------------------------------------

// syncBuffer collects the app's log safely across goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

type harness struct {
	t    *testing.T
	app  *App
	url  string // the app's base URL
	gs   *fakeGenstore
	gw   *fakeGateway
	logs *syncBuffer
	key  *ecdh.PrivateKey
}

// testKeyPEM is the app's published sandbox key.
func testKey(t *testing.T) (string, *ecdh.PrivateKey) {
	t.Helper()
	pemData, err := os.ReadFile("testdata/ecies-sandbox-key.pem")
	if err != nil {
		t.Fatal(err)
	}
	key, err := parseECIESPrivateKey(string(pemData))
	if err != nil {
		t.Fatal(err)
	}
	return string(pemData), key
}

// newHarness starts the fakes and the app (with cfg changes applied) and installs the app
// on the test shop.
func newHarness(t *testing.T, change ...func(*Config)) *harness {
	t.Helper()
	h := &harness{t: t, gs: newFakeGenstore(t), gw: newFakeGateway(t), logs: &syncBuffer{}}
	var handler atomic.Value
	appSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		handler.Load().(http.Handler).ServeHTTP(w, r)
	}))
	t.Cleanup(appSrv.Close)
	h.url = appSrv.URL
	pemKey, key := testKey(t)
	cfg := Config{
		GenstoreURL:      h.gs.srv.URL,
		ClientID:         testClientID,
		ClientSecret:     testClientSecret,
		ECIESPrivateKey:  pemKey,
		GatewayURL:       h.gw.srv.URL,
		Sandbox:          sandboxCreds,
		Live:             liveCreds,
		PublicURL:        appSrv.URL,
		Logger:           slog.New(slog.NewTextHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		PSPTimeout:       300 * time.Millisecond,
		CallbackBackoff:  []time.Duration{10 * time.Millisecond, 20 * time.Millisecond, 40 * time.Millisecond},
		ReconcileBackoff: []time.Duration{20 * time.Millisecond, 40 * time.Millisecond},
	}
	for _, c := range change {
		c(&cfg)
	}
	if cfg.ECIESPrivateKey != pemKey {
		k, err := parseECIESPrivateKey(cfg.ECIESPrivateKey)
		if err != nil {
			t.Fatal(err)
		}
		key = k
	}
	h.key = key
	app, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { app.Close() })
	h.app = app
	handler.Store(app.Handler())
	h.install()
	return h
}

// install runs the onboarding redirect for the test shop.
func (h *harness) install() {
	h.t.Helper()
	code := h.gs.newCode(testShop)
	resp := h.get("/onboarding", url.Values{"code": {code}})
	if resp.StatusCode != 200 {
		h.t.Fatalf("onboarding answered %d; log:\n%s", resp.StatusCode, h.logs)
	}
	h.gs.mu.Lock()
	ready := h.gs.ready[testShop]
	h.gs.mu.Unlock()
	if !ready {
		h.t.Fatal("account_authorize ready:true was not sent")
	}
}

// signedQuery returns the query of a request Genstore signed now.
func (h *harness) signedQuery(extra url.Values) string {
	q := url.Values{"shop": {testShop}, "shopId": {testShopID}, "timestamp": {fmt.Sprint(time.Now().Unix())}}
	for k, v := range extra {
		q[k] = v
	}
	q.Set("hmac", hex.EncodeToString(signQuery(q, testClientSecret)))
	return q.Encode()
}

func (h *harness) get(path string, extra url.Values) *http.Response {
	h.t.Helper()
	resp, err := http.Get(h.url + path + "?" + h.signedQuery(extra))
	if err != nil {
		h.t.Fatal(err)
	}
	return resp
}

// post sends a signed request to the app and decodes its JSON answer.
func (h *harness) post(path string, body any) (int, map[string]string) {
	h.t.Helper()
	data, _ := json.Marshal(body)
	return h.postRaw(path, h.signedQuery(nil), data, true)
}

func (h *harness) postRaw(path, query string, data []byte, bodyHMAC bool) (int, map[string]string) {
	h.t.Helper()
	header := ""
	if bodyHMAC {
		mac := hmac.New(sha256.New, []byte(testClientSecret))
		mac.Write(data)
		header = base64.StdEncoding.EncodeToString(mac.Sum(nil))
	}
	return h.postWithHeader(path, query, data, header)
}

// postWithHeader sends data with the given X-Genstore-Hmac-Sha256 (none if empty).
func (h *harness) postWithHeader(path, query string, data []byte, bodyHMAC string) (int, map[string]string) {
	h.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, h.url+path+"?"+query, bytes.NewReader(data))
	req.Header.Set("Content-Type", "application/json")
	if bodyHMAC != "" {
		req.Header.Set("X-Genstore-Hmac-Sha256", bodyHMAC)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	out := map[string]string{}
	_ = json.Unmarshal(raw, &out)
	return resp.StatusCode, out
}

func mustJSON(v any) []byte {
	data, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return data
}

// query sends a signed GET to a query endpoint.
func (h *harness) query(path string, params url.Values) (int, map[string]string) {
	h.t.Helper()
	resp := h.get(path, params)
	defer resp.Body.Close()
	out := map[string]string{}
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

// payment builds a Payment Object for a card number, encrypted to the app's key.
func (h *harness) payment(id, pan string, test, manual bool, amount string) map[string]any {
	plain, _ := json.Marshal(map[string]string{"number": pan, "expiryMonth": "12", "expiryYear": "2030", "cvv": "737", "holderName": "Ada Lovelace"})
	pkg := sealCard(h.t, h.key.PublicKey(), plain)
	pkg.ReturnURL = testReturnURL
	return map[string]any{
		"paymentId":     id,
		"amount":        amount,
		"currency":      "USD",
		"test":          test,
		"manualCapture": manual,
		"paymentMethod": map[string]any{"data": pkg},
		"clientDetails": map[string]string{"acceptLanguage": "en-US,en;q=0.9", "ipAddress": "203.0.113.7", "userAgent": "Mozilla/5.0"},
	}
}

// pay sends a payment and returns the acknowledgement. A 5xx is retried, as Genstore
// retries it (docs/CONTRACT.md §2.5), a few times.
func (h *harness) pay(body map[string]any) map[string]string {
	h.t.Helper()
	return h.deliver("/payment", body)
}

// deliver sends a request as Genstore does: a 5xx is retried a few times.
func (h *harness) deliver(path string, body any) map[string]string {
	h.t.Helper()
	for attempt := 1; ; attempt++ {
		status, ack := h.post(path, body)
		switch {
		case status == 200:
			return ack
		case status >= 500 && attempt < 4:
			time.Sleep(20 * time.Millisecond)
		default:
			h.t.Fatalf("%s answered %d %v", path, status, ack)
		}
	}
}

// waitCallbacks waits until at least n callback attempts to prefix arrived, and returns them.
func (h *harness) waitCallbacks(prefix string, n int) []gsCall {
	h.t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for {
		calls := h.gs.callbacks(prefix)
		if len(calls) >= n {
			return calls
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("waited for %d callbacks to %s, got %d: %+v\nlog:\n%s", n, prefix, len(calls), calls, h.logs)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// settle lets background work that should not happen have its chance to happen.
func settle() { time.Sleep(150 * time.Millisecond) }

// sealCard encrypts a card plaintext to the recipient as Genstore does (CONTRACT.md §5).
func sealCard(t *testing.T, recipient *ecdh.PublicKey, plaintext []byte) cardPackage {
	t.Helper()
	eph, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	z, err := eph.ECDH(recipient)
	if err != nil {
		t.Fatal(err)
	}
	spki, err := x509.MarshalPKIXPublicKey(eph.PublicKey())
	if err != nil {
		t.Fatal(err)
	}
	key := make([]byte, 16)
	if _, err := io.ReadFull(hkdf.New(sha256.New, z, []byte(eciesSalt), nil), key); err != nil {
		t.Fatal(err)
	}
	iv := make([]byte, 12)
	_, _ = rand.Read(iv)
	block, _ := aes.NewCipher(key)
	gcm, _ := cipher.NewGCM(block)
	aad := append(append([]byte(eciesSuit), spki...), iv...)
	return cardPackage{
		CipherText:         base64.StdEncoding.EncodeToString(gcm.Seal(nil, iv, plaintext, aad)),
		Salt:               eciesSalt,
		EphemeralPublicKey: base64.StdEncoding.EncodeToString(spki),
		Suit:               eciesSuit,
		IV:                 base64.StdEncoding.EncodeToString(iv),
	}
}

// byRef finds what the app made for a Genstore id: the app derives its orderNo and
// refundNumber from the id and its shop (gatewayRef), "PI001-3f2a9c", so a test names it
// by the id alone.
func byRef[T any](m map[string]*T, env Env, id string) *T {
	if v, ok := m[string(env)+"/"+id]; ok {
		return v
	}
	for k, v := range m {
		if strings.HasPrefix(k, string(env)+"/"+id+"-") {
			return v
		}
	}
	return nil
}
