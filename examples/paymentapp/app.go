package paymentapp

import (
	"context"
	"crypto/ecdh"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"
)

// App is the payment app. Create it with New, serve Handler, and Close it when done.
type App struct {
	cfg   Config
	bugs  bugSet
	log   *slog.Logger
	key   *ecdh.PrivateKey
	store Store
	gw    cardGateway
	gs    *genstore

	payments   flight[PaymentAck] // one payment per paymentId
	operations flight[OpAck]      // one capture, void or refund per id

	// ctx lives as long as the app: background work (callbacks, inquiries) uses it, not the
	// context of the request that started it, so that Genstore hanging up does not cancel
	// a charge half-way.
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	mu     sync.Mutex // guards closed, watching, webhookSecrets and firstTokens
	closed bool

	watching       map[string]bool
	webhookSecrets map[Env]string
	firstTokens    map[string]string // BugStaleToken only: shopId → the first installation's token
}

// New checks the configuration, subscribes to the gateway's webhooks and returns a ready
// app. A subscription that fails is retried in the background (the gateway may start
// after the app); until it succeeds the app learns late results by asking the gateway.
func New(cfg Config) (*App, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("payment app config: %w", err)
	}
	bugs, err := newBugSet(cfg.Bugs)
	if err != nil {
		return nil, fmt.Errorf("payment app config: %w", err)
	}
	key, err := parseECIESPrivateKey(cfg.ECIESPrivateKey)
	if err != nil {
		return nil, fmt.Errorf("payment app config: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	a := &App{
		cfg:   cfg,
		bugs:  bugs,
		log:   cfg.Logger,
		key:   key,
		store: cfg.Store,
		gs: &genstore{
			baseURL:      cfg.GenstoreURL,
			clientID:     cfg.ClientID,
			clientSecret: cfg.ClientSecret,
			client:       cfg.HTTPClient,
		},
		ctx:            ctx,
		cancel:         cancel,
		watching:       map[string]bool{},
		webhookSecrets: map[Env]string{},
		firstTokens:    map[string]string{},
	}
	if cfg.PSP == PSPCodePay {
		cp, err := newCodePayGateway(cfg.CodePay, cfg.HTTPClient, cfg.PSPTimeout, cfg.Clock, a.codepayNotifyURL)
		if err != nil {
			cancel()
			return nil, fmt.Errorf("payment app config: %w", err)
		}
		a.gw = cp
	} else {
		a.gw = &gateway{
			baseURL: cfg.GatewayURL,
			creds:   map[Env]Credentials{Sandbox: cfg.Sandbox, Live: cfg.Live},
			client:  cfg.HTTPClient,
			timeout: cfg.PSPTimeout,
			clock:   cfg.Clock,
			tokens:  map[Env]gatewayToken{},
		}
	}
	for _, b := range cfg.Bugs {
		if !isVariant(b) {
			a.log.Warn("running with bug switches: this app is deliberately wrong", "bugs", fmt.Sprint(cfg.Bugs))
			break
		}
	}
	a.subscribeWebhooks()
	return a, nil
}

// Close stops background work (callback retries, inquiries) and waits for it to end.
func (a *App) Close() error {
	a.mu.Lock()
	if a.closed {
		a.mu.Unlock()
		return nil
	}
	a.closed = true
	a.mu.Unlock()
	a.cancel()
	a.wg.Wait()
	return nil
}

// PublicKey returns the app's ECIES public key as base64 SPKI DER: the eciesPublicKey to
// register with Genstore.
func (a *App) PublicKey() string {
	s, err := publicKeySPKI(a.key)
	if err != nil {
		return ""
	}
	return s
}

// Handler serves the app's endpoints:
//
//	GET  /onboarding      installation redirect (CONTRACT.md §1)
//	POST /payment         payment request (§2)
//	POST /capture         capture request (§2)
//	POST /void            void request (§2)
//	POST /refund          refund request (§2)
//	GET  /payment_query   reconciliation query (§2)
//	GET  /refund_query    reconciliation query (§2)
//	GET  /return/{token}  the buyer's return from 3-D Secure
//	GET  /checkout/{token} the buyer's stop on the way to a challenge (VariantAckFirst only)
//	POST /webhooks/vm/{env}  the card gateway's webhooks (sandbox, live)
//	GET  /healthz         liveness
func (a *App) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /onboarding", a.handleOnboarding)
	mux.HandleFunc("POST /payment", a.handlePayment)
	mux.HandleFunc("POST /capture", a.handleOperation(Capture))
	mux.HandleFunc("POST /void", a.handleOperation(Void))
	mux.HandleFunc("POST /refund", a.handleOperation(Refund))
	mux.HandleFunc("GET /payment_query", a.handlePaymentQuery)
	mux.HandleFunc("GET /refund_query", a.handleRefundQuery)
	mux.HandleFunc("GET /return/{token}", a.handleReturn)
	mux.HandleFunc("GET /checkout/{token}", a.handleCheckout)
	mux.HandleFunc("POST /webhooks/vm/{env}", a.handleWebhook)
	mux.HandleFunc("POST /notify/codepay/{env}", a.handleCodePayNotification)
	return mux
}

func (a *App) now() time.Time { return a.cfg.Clock() }

// goAsync runs fn in the background until the app closes.
func (a *App) goAsync(fn func(ctx context.Context)) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return
	}
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		fn(a.ctx)
	}()
}

// envFor chooses the gateway environment of a request (CONTRACT.md §6).
func (a *App) envFor(test bool) Env {
	if a.bugs.on(BugIgnoreTestMode) {
		// The mistake: the app was written against one merchant account, the live one,
		// and test requests go through it too.
		return Live
	}
	if test {
		return Sandbox
	}
	return Live
}

// maxBody caps what the app reads of any request.
const maxBody = 1 << 20

// verified reads a request from Genstore and checks its signature (CONTRACT.md §2). When
// the check fails it answers 401 and returns false, and the caller must do nothing more.
func (a *App) verified(w http.ResponseWriter, r *http.Request) (signedParams, []byte, bool) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		writeJSON(w, http.StatusRequestEntityTooLarge, appError{Error: "body: too large or unreadable"})
		return signedParams{}, nil, false
	}
	sp, err := verifyQuery(r.URL.RawQuery, a.cfg.ClientSecret, a.now(), a.cfg.SignatureWindow)
	if err == nil {
		err = verifyBody(r.Header.Get("X-Genstore-Hmac-Sha256"), body, a.cfg.ClientSecret)
	}
	if err != nil {
		if !a.bugs.on(BugIgnoreHMAC) {
			a.log.Warn("refused a request whose signature does not verify", "path", r.URL.Path, "err", err)
			writeJSON(w, http.StatusUnauthorized, appError{Error: strings.TrimPrefix(err.Error(), errSignature.Error()+": ")})
			return signedParams{}, nil, false
		}
		// The mistake (BugIgnoreHMAC): the check was made "soft" while chasing a clock
		// skew, logging instead of refusing, and stayed that way.
		a.log.Warn("request signature does not verify", "path", r.URL.Path, "err", err)
		q := r.URL.Query()
		sp = signedParams{Shop: q.Get("shop"), ShopID: q.Get("shopId"), Query: q}
	}
	return sp, body, true
}

// appError is the app's error body (specs/genstore-app.yaml AppError). It never holds card
// data.
type appError struct {
	Error string `json:"error"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// writePage answers a browser (the merchant installing the app, the buyer coming back).
func writePage(w http.ResponseWriter, status int, title, message string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	fmt.Fprintf(w, "<!doctype html><meta charset=utf-8><title>%s</title><h1>%s</h1><p>%s</p>\n",
		html.EscapeString(title), html.EscapeString(title), html.EscapeString(message))
}

// bodyHash fingerprints a request body; retries must be byte-identical (CONTRACT.md §2).
func bodyHash(body []byte) string {
	sum := sha256.Sum256(body)
	return hex.EncodeToString(sum[:])
}

// returnTokenLen is the length of a return token: 16 random bytes, base64url.
const returnTokenLen = 22

// newReturnToken names a payment in the app's return URL without revealing its id.
func newReturnToken() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return base64.RawURLEncoding.EncodeToString(b)
}

// once answers every delivery of one id as the first was answered (docs/CONTRACT.md §2.3,
// §2.4): the first delivery runs process; a delivery that arrives while it runs waits for
// it (flight) and gets its answer; a later one gets the stored answer. waited says that
// the delivery waited for another one of its id.
func once[T any](a *App, f *flight[T], key string, answered func() (T, bool), process func() T) (ack T, waited bool) {
	switch {
	case a.bugs.on(BugNoIdempotency):
		// The mistake: no look-up at all; every delivery is processed as new.
		return process(), false
	case a.bugs.on(BugRaceDuplicates):
		// The mistake: look, then act, with nothing held in between. A second delivery
		// that arrives while the first is at the gateway finds no answer yet and goes on.
		if ack, ok := answered(); ok {
			return ack, false
		}
		return process(), false
	}
	return f.do(key, func() T {
		if ack, ok := answered(); ok {
			return ack
		}
		return process()
	})
}

// attemptSuffix is what makes the gateway's order (or refund) number of a second attempt
// differ from the first. The correct app never has a second attempt of one id: a repeat
// is answered from the store. Only the idempotency bugs reach this with attempt > 1, and
// then they "fix" the gateway's DUPLICATE_ORDER refusal the way such apps do: a new number.
func (a *App) attemptSuffix(attempt int) string {
	if attempt > 1 && (a.bugs.on(BugNoIdempotency) || a.bugs.on(BugRaceDuplicates)) {
		return fmt.Sprintf("-%d", attempt)
	}
	return ""
}

// gatewayRef derives the PSP's orderNo or refundNumber (the card gateway's: 5 to 64
// characters; CodePay's merchant_order_no: at most 32, with room for the -C and -V of a
// capture and a void) from a Genstore id, so that the PSP refuses a second charge of one
// id even if the app's own guard failed.
func gatewayRef(id, suffix string) string {
	ref := id
	for len(ref) < 5 {
		ref = "0" + ref
	}
	return truncate(ref, 64-len(suffix)) + suffix
}

// refBase is the base of the PSP key for Genstore's id in a shop: the id itself, unless
// another shop's payment or refund holds it already (taken reports whether one does). Genstore's
// ids are unique within a shop, not across shops (the vendor's samples show one
// paymentId in two shops), and one PSP merchant serves every shop the app is installed
// on: a second shop's id gets a short digest of the shop, "PI0020…-3f2a9c" — the same for
// every delivery, since the first shop's record keeps holding the bare id.
func refBase(shopID, id string, taken bool) string {
	if !taken {
		return id
	}
	sum := sha256.Sum256([]byte(shopID))
	return truncate(id, 64-7) + "-" + hex.EncodeToString(sum[:3])
}

// orderBase is refBase for a payment: taken when another shop's payment has the id as its orderNo.
func (a *App) orderBase(ctx context.Context, env Env, shopID, paymentID string) string {
	other, err := a.store.PaymentByOrderNo(ctx, env, gatewayRef(paymentID, ""))
	return refBase(shopID, paymentID, err == nil && other.ShopID != shopID)
}

// refundBase is refBase for a refund: taken when another shop's refund has the id as its
// refundNumber.
func (a *App) refundBase(ctx context.Context, env Env, shopID, refundID string) string {
	other, err := a.store.RefundByNumber(ctx, env, gatewayRef(refundID, ""))
	return refBase(shopID, refundID, err == nil && other.ShopID != shopID)
}
