// Package genstoretest is a programmable Genstore payment app for tests and
// Gherkin scenarios: an HTTP server that receives what Genstore sends
// (onboarding redirect, payments, captures, voids, refunds, queries),
// verifies every signature, opens the card package with its key, records
// everything, answers as scripted, and calls Genstore back (code exchange,
// account_authorize, the result callbacks).
//
// It is deliberately not a correct app: it does only what it is told, so a
// test can make it misbehave (answer 503, take too long, report twice, report
// a contradicting result) and watch Genstore's side.
package genstoretest

import (
	"bytes"
	"context"
	"crypto/ecdh"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/pspsim/pspsim/simulator/ecies"
	"github.com/pspsim/pspsim/simulator/genstore"
)

// Paths the app serves; Endpoints returns them as absolute URLs.
const (
	PathOnboarding   = "/onboarding"
	PathPayment      = "/payment"
	PathCapture      = "/capture"
	PathVoid         = "/void"
	PathRefund       = "/refund"
	PathPaymentQuery = "/payment_query"
	PathRefundQuery  = "/refund_query"
	PathChallenge    = "/challenge"
)

var kindOfPath = map[string]string{
	PathOnboarding: "onboarding", PathPayment: genstore.KindPayment, PathCapture: genstore.KindCapture,
	PathVoid: genstore.KindVoid, PathRefund: genstore.KindRefund,
	PathPaymentQuery: "payment_query", PathRefundQuery: "refund_query",
}

// Request is one request the app received, as it saw it.
type Request struct {
	Kind   string // payment, capture, void, refund, payment_query, refund_query, onboarding
	Method string
	Query  url.Values
	Header http.Header
	Body   []byte
	// ID is the operation's id from the body (paymentId, captureId, ...) or
	// from the query of a query request.
	ID string
	// SignatureErr is why the query's hmac or timestamp did not verify ("" when it did).
	SignatureErr string
	// BodyHMACOK: X-Genstore-Hmac-Sha256 verified against the raw body.
	BodyHMACOK bool
	// Card is the opened card package of a payment; CardErr why it did not open.
	Card    *ecies.Card
	CardErr error
	// Answered is the status the app answered.
	Answered int
}

// Reply scripts one answer.
type Reply struct {
	// Status answered; 0 is 200.
	Status int
	// Body answered as JSON; nil gives the default acknowledgement
	// {"channel<X>Id": "ch_<id>", "error": ""} (with Redirect for a payment).
	Body any
	// Redirect is the redirectUrl of a payment's default acknowledgement.
	Redirect string
	// Delay holds the answer (wall time), e.g. past Genstore's 10-second timeout.
	Delay time.Duration
	// Callback, when set, is sent to Genstore before the answer (an app
	// that reports the result synchronously).
	Callback *Result
	// Drop closes the connection without an answer (a broken connection).
	Drop bool
	// Challenge acknowledges a payment with a redirect to the app's own
	// challenge page (PathChallenge), which follows the pspsim challenge
	// contract and sends the buyer back to the payment's returnUrl.
	Challenge bool
}

// Challenge is what a buyer did on the app's challenge page.
type Challenge struct {
	PaymentID string
	OTP       string
	Action    string // submit or cancel
}

// Result is a callback to send.
type Result struct {
	OK        bool
	Reason    string
	ChannelID string
}

// QueryAnswer is what a query endpoint answers about an id.
type QueryAnswer struct {
	Status    string // PROCESSING, SUCCESS, FAILURE
	ChannelID string
	Error     string
	HTTP      int // 0 is 200
}

// App is a running scripted app.
type App struct {
	ClientID     string
	ClientSecret string
	Key          *ecdh.PrivateKey
	// Genstore is the base URL of the simulator (for callbacks and the code exchange).
	Genstore string
	// Now is the app's clock for the 300 s timestamp check; nil skips that
	// check (the hmac is always checked).
	Now func() time.Time
	// AutoInstall: on the onboarding redirect, exchange the code and report
	// account_authorize ready=true.
	AutoInstall bool
	// Settings are the ECIES settings the app opens packages with.
	Settings ecies.Settings

	server *httptest.Server
	client *http.Client

	mu         sync.Mutex
	requests   []Request
	returnURLs map[string]string
	challenges []Challenge
	queued     map[string][]Reply
	defaults   map[string]Reply
	queries    map[string]QueryAnswer
	token      string
	scopes     string
	errs       []string
}

// New starts an app with a fresh P-256 key. genstoreURL is the simulator's
// base URL ("http://127.0.0.1:PORT").
func New(clientID, secret, genstoreURL string) (*App, error) {
	key, err := ecies.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	a := &App{ClientID: clientID, ClientSecret: secret, Key: key, Genstore: strings.TrimRight(genstoreURL, "/"), AutoInstall: true,
		queued: map[string][]Reply{}, defaults: map[string]Reply{}, queries: map[string]QueryAnswer{}, returnURLs: map[string]string{}}
	a.server = httptest.NewServer(http.HandlerFunc(a.serve))
	a.client = &http.Client{Timeout: 15 * time.Second}
	return a, nil
}

// Close stops the server.
func (a *App) Close() { a.server.Close() }

// URL is the app's base URL.
func (a *App) URL() string { return a.server.URL }

// PublicKey is the app's ECIES key as Genstore registers it.
func (a *App) PublicKey() string {
	k, _ := ecies.MarshalPublicKey(a.Key.PublicKey())
	return k
}

// Endpoints returns every endpoint URL.
func (a *App) Endpoints() genstore.Endpoints {
	u := a.server.URL
	return genstore.Endpoints{
		OnboardingURL: u + PathOnboarding, PaymentURL: u + PathPayment, CaptureURL: u + PathCapture, VoidURL: u + PathVoid,
		RefundURL: u + PathRefund, PaymentQueryURL: u + PathPaymentQuery, RefundQueryURL: u + PathRefundQuery,
	}
}

// Registration is the admin API body that registers the app.
func (a *App) Registration() map[string]any {
	return map[string]any{"clientId": a.ClientID, "clientSecret": a.ClientSecret, "name": "Test app " + a.ClientID,
		"publicKey": a.PublicKey(), "endpoints": a.Endpoints()}
}

// Queue scripts the next answers to requests of a kind, in order.
func (a *App) Queue(kind string, rs ...Reply) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.queued[kind] = append(a.queued[kind], rs...)
}

// Default sets the answer to requests of a kind once the queue is empty.
func (a *App) Default(kind string, r Reply) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.defaults[kind] = r
}

// Answer scripts what the query endpoints say about an id.
func (a *App) Answer(id string, q QueryAnswer) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.queries[id] = q
}

// Token is the access token the app obtained.
func (a *App) Token() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.token
}

// SetToken makes the app use a token it did not obtain itself (a fixture's).
func (a *App) SetToken(t string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.token = t
}

// Scopes is the scope string of the code exchange.
func (a *App) Scopes() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.scopes
}

// Errors lists what went wrong on the app's side (a failed code exchange...).
func (a *App) Errors() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string(nil), a.errs...)
}

// Requests returns the received requests of a kind ("" for all), in order.
func (a *App) Requests(kind string) []Request {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []Request
	for _, r := range a.requests {
		if kind == "" || r.Kind == kind {
			out = append(out, r)
		}
	}
	return out
}

func (a *App) next(kind string) Reply {
	a.mu.Lock()
	defer a.mu.Unlock()
	if q := a.queued[kind]; len(q) > 0 {
		a.queued[kind] = q[1:]
		return q[0]
	}
	return a.defaults[kind]
}

func (a *App) fail(format string, args ...any) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.errs = append(a.errs, fmt.Sprintf(format, args...))
}

// Challenges returns what buyers did on the app's challenge page.
func (a *App) Challenges() []Challenge {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]Challenge(nil), a.challenges...)
}

// challengeTemplate follows the challenge contract Genstore's buyer action
// relies on.
const challengeTemplate = `<!doctype html><html><head><title>Confirm your payment</title></head><body>
<form id="pspsim-challenge" method="post" action="%s">
<label>One-time password <input name="otp" autocomplete="one-time-code"></label>
<button type="submit" name="action" value="submit">Submit</button>
<button type="submit" name="action" value="cancel">Cancel</button>
</form></body></html>`

func (a *App) challengePage(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get("paymentId")
	a.mu.Lock()
	back, ok := a.returnURLs[id]
	a.mu.Unlock()
	if !ok {
		http.NotFound(w, r)
		return
	}
	if r.Method == http.MethodGet {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprintf(w, challengeTemplate, PathChallenge+"?paymentId="+url.QueryEscape(id))
		return
	}
	r.ParseForm()
	a.mu.Lock()
	a.challenges = append(a.challenges, Challenge{PaymentID: id, OTP: r.PostForm.Get("otp"), Action: r.PostForm.Get("action")})
	a.mu.Unlock()
	http.Redirect(w, r, back, http.StatusSeeOther)
}

func (a *App) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == PathChallenge {
		a.challengePage(w, r)
		return
	}
	kind, ok := kindOfPath[r.URL.Path]
	if !ok {
		http.NotFound(w, r)
		return
	}
	b, _ := io.ReadAll(r.Body)
	req := Request{Kind: kind, Method: r.Method, Query: r.URL.Query(), Header: r.Header.Clone(), Body: b}
	now := time.Now()
	tolerance := 300 * time.Second
	if a.Now != nil {
		now = a.Now()
	} else {
		tolerance = 100 * 365 * 24 * time.Hour
	}
	if err := genstore.VerifyQuery(a.ClientSecret, req.Query, now, tolerance); err != nil {
		req.SignatureErr = err.Error()
	}
	if len(b) > 0 {
		req.BodyHMACOK = genstore.VerifyBody(a.ClientSecret, b, r.Header.Get("X-Genstore-Hmac-Sha256"))
	}
	var ids map[string]any
	json.Unmarshal(b, &ids)
	switch kind {
	case genstore.KindPayment, genstore.KindCapture, genstore.KindVoid, genstore.KindRefund:
		req.ID, _ = ids[kind+"Id"].(string)
	case "payment_query":
		req.ID = req.Query.Get("paymentId")
	case "refund_query":
		req.ID = req.Query.Get("refundId")
	case "onboarding":
		req.ID = req.Query.Get("code")
	}
	if kind == genstore.KindPayment {
		var obj genstore.PaymentObject
		if err := json.Unmarshal(b, &obj); err == nil {
			a.mu.Lock()
			a.returnURLs[obj.PaymentID] = obj.PaymentMethod.Data.ReturnURL
			a.mu.Unlock()
			c, err := ecies.OpenCard(a.Key, obj.PaymentMethod.Data, a.Settings)
			if err == nil {
				req.Card = &c
			}
			req.CardErr = err
		}
	}
	if status := a.answer(w, r.Context(), &req); status != dropped {
		req.Answered = status
		a.keep(req)
	}
}

// dropped is answer's status for a request whose connection it closed
// without an answer, having kept the request first.
const dropped = -1

// keep lists a request the app received.
func (a *App) keep(req Request) {
	a.mu.Lock()
	a.requests = append(a.requests, req)
	a.mu.Unlock()
}

// answer writes the scripted (or default) answer and returns its status.
func (a *App) answer(w http.ResponseWriter, ctx context.Context, req *Request) int {
	if req.SignatureErr != "" {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": req.SignatureErr})
		return http.StatusUnauthorized
	}
	switch req.Kind {
	case "onboarding":
		if a.AutoInstall {
			if err := a.Install(ctx, req.ID); err != nil {
				a.fail("install: %v", err)
			}
		}
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusOK)
		io.WriteString(w, "<!doctype html><title>Link your PSP account</title><p>Linked.</p>")
		return http.StatusOK
	case "payment_query", "refund_query":
		a.mu.Lock()
		q, ok := a.queries[req.ID]
		a.mu.Unlock()
		if !ok {
			writeJSON(w, http.StatusNotFound, map[string]string{"error": "unknown id"})
			return http.StatusNotFound
		}
		st := q.HTTP
		if st == 0 {
			st = http.StatusOK
		}
		field := "channelPaymentId"
		if req.Kind == "refund_query" {
			field = "channelRefundId"
		}
		writeJSON(w, st, map[string]string{field: q.ChannelID, "status": q.Status, "error": q.Error})
		return st
	}
	rep := a.next(req.Kind)
	if rep.Delay > 0 {
		select {
		case <-time.After(rep.Delay):
		case <-ctx.Done():
			return 0
		}
	}
	if rep.Drop {
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				// Kept before the connection closes: the client sees the
				// drop only once the request is listed, so a test counting
				// requests after an attempt failed counts this one.
				a.keep(*req)
				conn.Close()
				return dropped
			}
		}
	}
	if rep.Callback != nil {
		path := CallbackPath(req.Kind, req.ID, manualCapture(req.Body))
		res, err := a.ReportTo(context.Background(), path, CallbackBody(req.Kind, req.ID, *rep.Callback))
		if err != nil || res.Status != http.StatusOK {
			a.fail("callback during %s %s: %v %v", req.Kind, req.ID, err, res)
		}
	}
	st := rep.Status
	if st == 0 {
		st = http.StatusOK
	}
	body := rep.Body
	if body == nil {
		ack := map[string]string{channelField(req.Kind): "ch_" + req.ID, "error": ""}
		if rep.Redirect != "" {
			ack["redirectUrl"] = rep.Redirect
		}
		if rep.Challenge {
			ack["redirectUrl"] = a.server.URL + PathChallenge + "?paymentId=" + url.QueryEscape(req.ID)
		}
		body = ack
	}
	writeJSON(w, st, body)
	return st
}

func channelField(kind string) string {
	return "channel" + strings.ToUpper(kind[:1]) + kind[1:] + "Id"
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(b)
}

// Response is Genstore's answer to a call of the app.
type Response struct {
	Status int
	Body   []byte
}

func (r Response) String() string { return fmt.Sprintf("%d %s", r.Status, r.Body) }

// Call sends a request to Genstore's API with the app's token.
func (a *App) Call(ctx context.Context, method, path string, body []byte) (Response, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.Genstore+path, rd)
	if err != nil {
		return Response{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	if t := a.Token(); t != "" {
		req.Header.Set("X-Genstore-Access-Token", t)
	}
	res, err := a.client.Do(req)
	if err != nil {
		return Response{}, err
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return Response{Status: res.StatusCode, Body: b}, nil
}

// Install exchanges an installation code for the shop's access token and
// reports account_authorize ready=true.
func (a *App) Install(ctx context.Context, code string) error {
	b, _ := json.Marshal(map[string]string{"client_id": a.ClientID, "client_secret": a.ClientSecret, "code": code})
	res, err := a.Call(ctx, http.MethodPost, "/genstore/api/202412/oauth/access_token", b)
	if err != nil {
		return err
	}
	if res.Status != http.StatusOK {
		return fmt.Errorf("code exchange: %s", res)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
		Scope       string `json:"scope"`
	}
	if err := json.Unmarshal(res.Body, &tok); err != nil {
		return err
	}
	a.mu.Lock()
	a.token, a.scopes = tok.AccessToken, tok.Scope
	a.mu.Unlock()
	res, err = a.Ready(ctx, true)
	if err != nil {
		return err
	}
	if res.Status != http.StatusOK {
		return fmt.Errorf("account_authorize: %s", res)
	}
	return nil
}

// Ready reports account_authorize.
func (a *App) Ready(ctx context.Context, ready bool) (Response, error) {
	return a.Call(ctx, http.MethodPut, "/genstore/api/202412/app/account_authorize", []byte(fmt.Sprintf(`{"pay":{"ready":"%t"}}`, ready)))
}

// CallbackPath is the callback endpoint of a kind; preAuth picks
// pre_authorize/ for a payment.
func CallbackPath(kind, id string, preAuth bool) string {
	endpoint := kind
	if preAuth && kind == genstore.KindPayment {
		endpoint = "pre_authorize"
	}
	return "/genstore/api/202412/app/" + endpoint + "/" + id
}

// CallbackBody is the seed's callback body for a result.
func CallbackBody(kind, id string, r Result) []byte {
	pay := map[string]string{"result": fmt.Sprint(r.OK), kind + "Id": id}
	if r.Reason != "" {
		pay["reason"] = r.Reason
	}
	if r.ChannelID != "" {
		pay[channelField(kind)] = r.ChannelID
	}
	b, _ := json.Marshal(map[string]any{"pay": pay})
	return b
}

func manualCapture(body []byte) bool {
	var obj struct {
		ManualCapture bool `json:"manualCapture"`
	}
	json.Unmarshal(body, &obj)
	return obj.ManualCapture
}

// Report sends the result callback of an operation. For a payment it uses
// payment/ or pre_authorize/ as the payment request said (manualCapture);
// ReportTo chooses explicitly.
func (a *App) Report(ctx context.Context, kind, id string, r Result) (Response, error) {
	preAuth := false
	if kind == genstore.KindPayment {
		for _, req := range a.Requests(genstore.KindPayment) {
			if req.ID == id {
				preAuth = manualCapture(req.Body)
			}
		}
	}
	return a.ReportTo(ctx, CallbackPath(kind, id, preAuth), CallbackBody(kind, id, r))
}

// ReportTo sends a raw callback body to a path.
func (a *App) ReportTo(ctx context.Context, path string, body []byte) (Response, error) {
	return a.Call(ctx, http.MethodPut, path, body)
}
