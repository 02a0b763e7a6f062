package queueapp

import (
	"context"
	"crypto/ecdh"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Config is what the app needs. Every field but Logger is required.
type Config struct {
	// GenstoreURL is Genstore's base URL (GENSTORE_URL), e.g. http://127.0.0.1:7357/genstore.
	GenstoreURL string
	// ClientID and ClientSecret are the app's registration with Genstore.
	ClientID, ClientSecret string
	// ECIESPrivateKey is the app's P-256 key, PKCS#8 DER in base64.
	ECIESPrivateKey string
	// GatewayURL is the card gateway's base URL (VMGATEWAY_URL), e.g. http://127.0.0.1:7357/vm.
	GatewayURL string
	// SandboxAppID, SandboxSecret, LiveAppID and LiveSecret are the gateway credentials:
	// sandbox for "test": true, live for "test": false.
	SandboxAppID, SandboxSecret, LiveAppID, LiveSecret string
	// PublicURL is where browsers reach the app (the buyer's return from 3-D Secure).
	PublicURL string
	// Logger receives the app's log (never card data); nil discards it.
	Logger *slog.Logger
}

// App is the payment app.
type App struct {
	cfg Config
	key *ecdh.PrivateKey
	log *slog.Logger
	gw  *gateway
	gs  *http.Client

	ctx    context.Context
	cancel context.CancelFunc
	jobs   chan func(context.Context)
	wg     sync.WaitGroup

	mu     sync.Mutex
	tokens map[string]string // shopId → the newest access token
	shops  map[string]string // shopId → shop (the handle Genstore signs)
	pays   map[string]*payment
	ops    map[string]*operation
	locks  map[string]*sync.Mutex // per operation id: one delivery at a time
	outbox *outbox
}

// New starts the app's workers and outbox.
func New(cfg Config) (*App, error) {
	var missing []string
	for name, v := range map[string]string{"GenstoreURL": cfg.GenstoreURL, "ClientID": cfg.ClientID, "ClientSecret": cfg.ClientSecret,
		"ECIESPrivateKey": cfg.ECIESPrivateKey, "GatewayURL": cfg.GatewayURL, "PublicURL": cfg.PublicURL} {
		if v == "" {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("queueapp: %s required", strings.Join(missing, ", "))
	}
	key, err := parsePrivateKey(cfg.ECIESPrivateKey)
	if err != nil {
		return nil, fmt.Errorf("queueapp: ECIESPrivateKey: %w", err)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	a := &App{
		cfg: cfg, key: key, log: cfg.Logger, ctx: ctx, cancel: cancel,
		gw: newGateway(strings.TrimRight(cfg.GatewayURL, "/"), map[string][2]string{
			"sandbox": {cfg.SandboxAppID, cfg.SandboxSecret}, "live": {cfg.LiveAppID, cfg.LiveSecret}}),
		gs:     &http.Client{Timeout: 5 * time.Second},
		jobs:   make(chan func(context.Context), 1024),
		tokens: map[string]string{}, shops: map[string]string{},
		pays: map[string]*payment{}, ops: map[string]*operation{}, locks: map[string]*sync.Mutex{},
	}
	a.cfg.GenstoreURL = strings.TrimRight(cfg.GenstoreURL, "/")
	a.cfg.PublicURL = strings.TrimRight(cfg.PublicURL, "/")
	for range 4 {
		a.wg.Add(1)
		go a.worker()
	}
	a.outbox = newOutbox(a)
	return a, nil
}

// Close stops the workers and the outbox.
func (a *App) Close() {
	a.cancel()
	a.wg.Wait()
}

// Handler serves what Genstore, the buyer's browser and the liveness probe ask.
func (a *App) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { answer(w, 200, map[string]string{"status": "ok"}) })
	mux.HandleFunc("GET /onboarding", a.onboarding)
	mux.HandleFunc("POST /payment", a.paymentRequest)
	mux.HandleFunc("POST /capture", a.operationRequest("capture"))
	mux.HandleFunc("POST /void", a.operationRequest("void"))
	mux.HandleFunc("POST /refund", a.operationRequest("refund"))
	mux.HandleFunc("GET /payment_query", a.paymentQuery)
	mux.HandleFunc("GET /refund_query", a.refundQuery)
	mux.HandleFunc("GET /back/{token}", a.buyerBack)
	return mux
}

// ---- state ----------------------------------------------------------------------------

// result is a final result, once set never changed (docs/CONTRACT.md §3.2).
type result struct {
	set     bool
	success bool
	reason  string
}

type payment struct {
	shopID, id  string
	env         string // sandbox or live
	manual      bool
	amount      string // as Genstore sent it
	currency    string
	orderNo     string
	tradeNo     string
	returnURL   string
	backToken   string
	ack         map[string]string // the acknowledgement every delivery gets
	res         result
	authorized  int64 // minor units
	captured    int64
	refunded    int64
	reserved    int64 // refunds in flight
	voided      bool
	busy        bool // a capture or void is in flight
	pollStarted bool
}

type operation struct {
	kind, shopID, id, paymentID string
	ref                         string // the refund's refundNumber at the gateway (pspRef)
	amount                      string
	minor                       int64
	channelID                   string
	res                         result
	attempts                    int
	held                        bool // reserved on its payment (the books are settled when it ends)
}

func payKey(shopID, id string) string { return shopID + "/" + id }

// pspRef is the gateway's key (orderNo, refundNumber) for Genstore's id in a shop: the id
// itself, unless another shop's payment or refund holds it already (holds says whether one
// does). Genstore's ids are unique within a shop, not across shops, and one gateway merchant
// serves every shop the app is installed on: a second shop's id gets a short digest of the
// shop, the same for every delivery, since the first shop's record keeps the bare id.
// The caller holds a.mu.
func (a *App) pspRef(shopID, id string, holds func(*payment, *operation) bool) string {
	taken := false
	for _, p := range a.pays {
		taken = taken || (p.shopID != shopID && holds(p, nil))
	}
	for _, op := range a.ops {
		taken = taken || (op.shopID != shopID && holds(nil, op))
	}
	if !taken {
		return id
	}
	sum := sha256.Sum256([]byte(shopID))
	return id + "-" + hex.EncodeToString(sum[:3])
}
func opKey(kind, shopID, id string) string { return kind + "/" + shopID + "/" + id }

// lock serialises the deliveries of one id (docs/CONTRACT.md §2.3): a duplicate that
// arrives while the first is being processed waits for it.
func (a *App) lock(key string) func() {
	a.mu.Lock()
	m, ok := a.locks[key]
	if !ok {
		m = &sync.Mutex{}
		a.locks[key] = m
	}
	a.mu.Unlock()
	m.Lock()
	return m.Unlock
}

// ---- the job queue ---------------------------------------------------------------------

func (a *App) worker() {
	defer a.wg.Done()
	for {
		select {
		case <-a.ctx.Done():
			return
		case job := <-a.jobs:
			job(a.ctx)
		}
	}
}

// enqueue runs job on a worker after delay.
func (a *App) enqueue(delay time.Duration, job func(context.Context)) {
	push := func() {
		select {
		case a.jobs <- job:
		case <-a.ctx.Done():
		}
	}
	if delay <= 0 {
		go push()
		return
	}
	time.AfterFunc(delay, push)
}

// ---- HTTP helpers ----------------------------------------------------------------------

func answer(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
	}
}

func refuse(w http.ResponseWriter, status int, msg string) {
	answer(w, status, map[string]string{"error": msg})
}

var errUnknown = errors.New("unknown")
