// Package vmgateway emulates the Visa/Mastercard online gateway of seed 004:
// access tokens, checkout sessions with a hosted cashier, payments of every
// method (cards with 3-D Secure, wallets and QR codes), token (MIT) payments,
// capture, cancel, inquiry, refunds, shipment tracking and signed webhooks.
// Every operationId of specs/vmgateway.yaml has its handler here.
//
// State lives in the simulator's store (one table per object type), every
// status change goes through the object's transition table (model.go), and
// time comes from the simulator's clock only: token expiry, payment expiry,
// the 7-day release of uncaptured authorizations, refund settlement and the
// webhook retry schedule all run on it. 3-D Secure is the shared
// simulator/threeds service.
package vmgateway

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/getkin/kin-openapi/openapi3filter"
	"gopkg.in/yaml.v3"

	"github.com/pspsim/pspsim/fixtures"
	"github.com/pspsim/pspsim/simulator/apierr"
	"github.com/pspsim/pspsim/simulator/env"
	"github.com/pspsim/pspsim/simulator/money"
	"github.com/pspsim/pspsim/simulator/openapi"
	"github.com/pspsim/pspsim/simulator/store"
	"github.com/pspsim/pspsim/simulator/threeds"
	"github.com/pspsim/pspsim/specs"
)

// Name is the system's name in the journal and the fault rules.
const Name = "vmgateway"

// Prefix is where the gateway API is mounted.
const Prefix = "/vm"

// Environments an app's credentials belong to.
const (
	Sandbox = "sandbox"
	Live    = "live"
)

// App is a merchant's API client with separate sandbox and live secrets.
type App struct {
	AppID         string `json:"appId" yaml:"appId"`
	MerchantID    string `json:"merchantId" yaml:"merchantId"`
	Name          string `json:"name" yaml:"name"`
	SandboxSecret string `json:"sandboxSecret" yaml:"sandboxSecret"`
	LiveSecret    string `json:"liveSecret" yaml:"liveSecret"`
}

// secret returns the app's secret of an environment: it authenticates
// createAccessToken and signs deliveries to notificationUrl.
func (a App) secret(environment string) string {
	if environment == Live {
		return a.LiveSecret
	}
	return a.SandboxSecret
}

// Token is an issued access token.
type Token struct {
	Token       string    `json:"token"`
	AppID       string    `json:"appId"`
	MerchantID  string    `json:"merchantId"`
	Environment string    `json:"environment"`
	IssuedAt    time.Time `json:"issuedAt"`
	ExpiresAt   time.Time `json:"expiresAt"`
	Revoked     bool      `json:"revoked"`
}

// seedPayment is a payment the fixtures start with, so that the vendor's
// samples (capture, inquiry, tracking) find an order.
type seedPayment struct {
	MerchantID    string `yaml:"merchantId"`
	AppID         string `yaml:"appId"`
	Environment   string `yaml:"environment"`
	OrderNo       string `yaml:"orderNo"`
	TradeNo       string `yaml:"tradeNo"`
	Status        string `yaml:"status"`
	Amount        string `yaml:"amount"`
	Currency      string `yaml:"currency"`
	CaptureMethod string `yaml:"captureMethod"`
	Card          string `yaml:"card"`
	Description   string `yaml:"description"`
}

// fraudRules are what fraudMode Y screens for.
type fraudRules struct {
	BlockedEmailDomains []string `yaml:"blockedEmailDomains"`
	BlockedClientIPs    []string `yaml:"blockedClientIps"`
}

// seed is fixtures/vmgateway.yaml (and the vmgateway section of --config,
// which adds apps, merchants and payments and overrides the settings).
type seed struct {
	Apps                  []App             `yaml:"apps"`
	Merchants             []Merchant        `yaml:"merchants"`
	Payments              []seedPayment     `yaml:"payments"`
	TokenLifetime         fixtures.Duration `yaml:"tokenLifetime"`
	AuthorizationLifetime fixtures.Duration `yaml:"authorizationLifetime"`
	RefundSettleDelay     fixtures.Duration `yaml:"refundSettleDelay"`
	HoldLimit             fixtures.Duration `yaml:"holdLimit"`
	Fraud                 *fraudRules       `yaml:"fraudScreening"`
}

// settings are the system-wide values of the fixtures and config.
type settings struct {
	tokenLifetime         time.Duration
	authorizationLifetime time.Duration
	refundSettleDelay     time.Duration
	holdLimit             time.Duration
	fraud                 fraudRules
}

// System is the card gateway emulator.
type System struct {
	env     *env.Env
	mount   *openapi.Mount
	dialect Dialect
	tds     *threeds.Service
	cards   *fixtures.Cards
	cardKey []byte
	enums   map[string][]string
	cfg     atomic.Pointer[settings]

	apps      store.Table[App]
	tokens    store.Table[Token]
	merchants store.Table[Merchant]
	orders    store.Table[orderClaim]
	payments  store.Table[Payment]
	refunds   store.Table[Refund]
	sessions  store.Table[Session]
	creds     store.Table[Credential]
	subs      store.Table[Subscription]
	tracks    store.Table[Tracking]
	sinks     store.Table[Sink]
}

// New builds the gateway emulator from its spec and fixtures. e.ThreeDS must
// be set: the gateway authenticates cards with the shared 3-D Secure service.
func New(ctx context.Context, e *env.Env) (*System, error) {
	if e.ThreeDS == nil {
		return nil, errors.New("vmgateway: env.ThreeDS is required")
	}
	doc, err := openapi.Load(ctx, specs.FS(), "vmgateway.yaml", Prefix, e.ValidateSpecs)
	if err != nil {
		return nil, err
	}
	cards, err := fixtures.TestCards()
	if err != nil {
		return nil, fmt.Errorf("vmgateway: %w", err)
	}
	s := &System{env: e, tds: e.ThreeDS, cards: cards,
		cardKey:   []byte(e.IDs.Derive("vmgateway-card-fingerprint").Hex(32)),
		apps:      store.NewTable[App](e.Store, "vm.app"),
		tokens:    store.NewTable[Token](e.Store, "vm.token"),
		merchants: store.NewTable[Merchant](e.Store, "vm.merchant"),
		orders:    store.NewTable[orderClaim](e.Store, "vm.order"),
		payments:  store.NewTable[Payment](e.Store, "vm.payment"),
		refunds:   store.NewTable[Refund](e.Store, "vm.refund"),
		sessions:  store.NewTable[Session](e.Store, "vm.session"),
		creds:     store.NewTable[Credential](e.Store, "vm.credential"),
		subs:      store.NewTable[Subscription](e.Store, "vm.subscription"),
		tracks:    store.NewTable[Tracking](e.Store, "vm.tracking"),
		sinks:     store.NewTable[Sink](e.Store, "vm.sink"),
	}
	s.dialect = Dialect{IDs: e.IDs, record: s.recordRefused}
	s.enums = map[string][]string{}
	for _, name := range []string{"Carrier", "ShippingStatus", "ShipmentDirection", "TrackingNumberType"} {
		ref := doc.Components.Schemas[name]
		if ref == nil || ref.Value == nil {
			return nil, fmt.Errorf("vmgateway: spec has no schema %s", name)
		}
		for _, v := range ref.Value.Enum {
			s.enums[name] = append(s.enums[name], fmt.Sprint(v))
		}
	}
	s.mount, err = openapi.New(openapi.Config{
		System: Name, Prefix: Prefix, Doc: doc, Dialect: s.dialect, Auth: s.authenticate,
		CheckResponses: e.CheckResponses, Wrap: e.WrapFor(Name),
	})
	if err != nil {
		return nil, err
	}
	for op, h := range map[string]func(http.ResponseWriter, *http.Request){
		"createAccessToken":         s.createAccessToken,
		"createCheckoutSession":     s.createCheckoutSession,
		"createPayment":             s.createPayment,
		"createTokenPayment":        s.createTokenPayment,
		"capturePayment":            s.capturePayment,
		"inquirePayment":            s.inquirePayment,
		"cancelPayment":             s.cancelPayment,
		"createRefund":              s.createRefund,
		"inquireRefund":             s.inquireRefund,
		"addTracking":               s.addTracking,
		"updateTracking":            s.updateTracking,
		"batchAddTracking":          s.batchAddTracking,
		"retrieveTracking":          s.retrieveTracking,
		"createWebhookSubscription": s.createWebhookSubscription,
	} {
		if err := s.mount.Handle(op, s.journaled(op, h)); err != nil {
			return nil, err
		}
	}
	if err := s.Reset(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// Name returns "vmgateway".
func (s *System) Name() string { return Name }

// Mount returns the API mount.
func (s *System) Mount() *openapi.Mount { return s.mount }

func (s *System) settings() *settings { return s.cfg.Load() }

func (s *System) now() time.Time { return s.env.Clock.Now() }

// Reset loads the fixtures (and the config's vmgateway section) into a store
// that the simulator has just emptied.
func (s *System) Reset(ctx context.Context) error {
	raw, err := fixtures.Read("vmgateway.yaml")
	if err != nil {
		return err
	}
	var sd seed
	if err := yaml.Unmarshal(raw, &sd); err != nil {
		return fmt.Errorf("vmgateway fixtures: %w", err)
	}
	if s.env.Config != nil {
		var extra seed
		if err := s.env.Config.Decode(&extra); err != nil {
			return fmt.Errorf("vmgateway config: %w", err)
		}
		sd.Apps = append(sd.Apps, extra.Apps...)
		sd.Merchants = append(sd.Merchants, extra.Merchants...)
		sd.Payments = append(sd.Payments, extra.Payments...)
		for _, d := range []struct{ dst, src *fixtures.Duration }{
			{&sd.TokenLifetime, &extra.TokenLifetime}, {&sd.AuthorizationLifetime, &extra.AuthorizationLifetime},
			{&sd.RefundSettleDelay, &extra.RefundSettleDelay}, {&sd.HoldLimit, &extra.HoldLimit},
		} {
			if *d.src > 0 {
				*d.dst = *d.src
			}
		}
		if extra.Fraud != nil {
			sd.Fraud = extra.Fraud
		}
	}
	cfg := &settings{
		tokenLifetime: orDefault(sd.TokenLifetime.Std(), 2*time.Hour), authorizationLifetime: orDefault(sd.AuthorizationLifetime.Std(), 7*24*time.Hour),
		refundSettleDelay: orDefault(sd.RefundSettleDelay.Std(), 5*time.Second), holdLimit: orDefault(sd.HoldLimit.Std(), 10*time.Minute),
	}
	if sd.Fraud != nil {
		cfg.fraud = *sd.Fraud
	}
	s.cfg.Store(cfg)
	for _, a := range sd.Apps {
		if err := s.apps.Create(ctx, a.AppID, a); err != nil && !errors.Is(err, store.ErrExists) {
			return fmt.Errorf("vmgateway fixtures: %w", err)
		}
	}
	for _, m := range sd.Merchants {
		if m.ThreeDSUnavailable == "" {
			m.ThreeDSUnavailable = "fail"
		}
		if err := s.merchants.Create(ctx, m.MerchantID, m); err != nil && !errors.Is(err, store.ErrExists) {
			return fmt.Errorf("vmgateway fixtures: %w", err)
		}
	}
	for _, sp := range sd.Payments {
		if err := s.seedPayment(ctx, sp); err != nil {
			return fmt.Errorf("vmgateway fixtures: payment %s: %w", sp.OrderNo, err)
		}
	}
	return nil
}

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// seedPayment stores a fixture payment as if it had been made now.
func (s *System) seedPayment(ctx context.Context, sp seedPayment) error {
	amount, err := money.ParsePositive(sp.Amount, sp.Currency)
	if err != nil {
		return err
	}
	now := s.now()
	row, brand, _ := s.cards.Lookup(sp.Card)
	p := Payment{
		TradeNo: sp.TradeNo, OrderNo: sp.OrderNo, AppID: sp.AppID, MerchantID: sp.MerchantID, Environment: sp.Environment,
		Method: "card", Amount: amount, Currency: sp.Currency, CaptureMethod: sp.CaptureMethod, Description: sp.Description,
		CardBrand: cardBrand(brand), MaskedCardNo: maskPAN(sp.Card), CardFingerprint: s.fingerprint(sp.Card), CardNN: row.NN,
		ThreeDS:    &ThreeDSInfo{Mode: "no", Flow: "not_requested", ECI: threeds.ECI(brand, "")},
		NextAction: &NextAction{Type: "none"}, CreatedAt: now, UpdatedAt: now,
	}
	if err := p.transition(StatusAuthorized, "fixture", now); err != nil {
		return err
	}
	p.Authorized = amount
	if sp.Status == StatusCaptured {
		if err := p.transition(StatusCaptured, "fixture", now); err != nil {
			return err
		}
		p.Captured = amount
	} else {
		exp := now.Add(s.settings().authorizationLifetime)
		p.AuthorizationExpiresAt = &exp
	}
	if err := s.orders.Create(ctx, orderKey(p.MerchantID, p.Environment, p.OrderNo), orderClaim{Kind: "payment", Ref: p.TradeNo}); err != nil {
		return err
	}
	if err := s.payments.Create(ctx, p.TradeNo, p); err != nil {
		return err
	}
	s.schedule(p)
	return nil
}

// createAccessToken exchanges appId + secret for a bearer token. The secret
// decides the environment: the sandbox secret gives a sandbox token, the
// live secret a live one.
func (s *System) createAccessToken(w http.ResponseWriter, r *http.Request) {
	var in struct {
		AppID  string `json:"appId"`
		Secret string `json:"secret"`
	}
	if !s.decode(w, r, &in) {
		return
	}
	app, err := s.apps.Get(r.Context(), in.AppID)
	environment := ""
	if err == nil {
		switch {
		case subtle.ConstantTimeCompare([]byte(in.Secret), []byte(app.SandboxSecret)) == 1:
			environment = Sandbox
		case subtle.ConstantTimeCompare([]byte(in.Secret), []byte(app.LiveSecret)) == 1:
			environment = Live
		}
	}
	if environment == "" {
		s.env.Record(Name, "auth.refused", "access token refused: unknown appId or wrong secret", map[string]string{"appId": in.AppID}, nil)
		s.fail(w, r, apierr.New(apierr.Unauthorized, "appId or secret is wrong"))
		return
	}
	if m, err := s.merchants.Get(r.Context(), app.MerchantID); err == nil && !m.allowsEnvironment(environment) {
		s.env.Record(Name, "auth.refused", "access token refused: the merchant is not activated in "+environment,
			map[string]string{"appId": app.AppID, "merchant": app.MerchantID}, map[string]any{"environment": environment})
		s.fail(w, r, apierr.New(apierr.Forbidden, "the merchant is not activated in the %s environment", environment))
		return
	}
	now := s.now()
	lifetime := s.settings().tokenLifetime
	t := Token{Token: "vm_" + environment[:1] + "_" + s.env.IDs.Hex(24), AppID: app.AppID, MerchantID: app.MerchantID,
		Environment: environment, IssuedAt: now, ExpiresAt: now.Add(lifetime)}
	if err := s.tokens.Create(r.Context(), t.Token, t); err != nil {
		s.fail(w, r, apierr.Wrap(fmt.Errorf("store token: %w", err)))
		return
	}
	if req := openapi.FromContext(r.Context()); req != nil {
		req.Tag(openapi.TagApp, t.AppID)
		req.Tag(openapi.TagMerchant, t.MerchantID)
		req.Tag(openapi.TagEnvironment, t.Environment)
	}
	s.env.Record(Name, "auth.token_issued", "access token issued for "+environment, map[string]string{"appId": app.AppID, "merchant": app.MerchantID},
		map[string]any{"environment": environment, "expiresAt": t.ExpiresAt})
	WriteJSON(w, http.StatusOK, map[string]any{
		"accessToken": t.Token, "tokenType": "Bearer", "expiresIn": int(lifetime / time.Second),
		"expiresAt": t.ExpiresAt.UTC().Format(time.RFC3339), "environment": environment,
	})
}

// authenticate checks the bearer token: unknown, expired or revoked → 401.
func (s *System) authenticate(ctx context.Context, in *openapi3filter.AuthenticationInput) error {
	h := in.RequestValidationInput.Request.Header.Get("Authorization")
	scheme, token, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return apierr.New(apierr.Unauthorized, "Authorization: a Bearer access token is required")
	}
	t, err := s.tokens.Get(ctx, token)
	switch {
	case err != nil:
		return apierr.New(apierr.Unauthorized, "Authorization: unknown access token")
	case t.Revoked:
		return apierr.New(apierr.Unauthorized, "Authorization: the access token was revoked")
	case !s.now().Before(t.ExpiresAt):
		return apierr.New(apierr.Unauthorized, "Authorization: the access token expired at %s", t.ExpiresAt.UTC().Format(time.RFC3339))
	}
	if req := openapi.FromContext(ctx); req != nil {
		req.SetPrincipal(t)
		req.Tag(openapi.TagApp, t.AppID)
		req.Tag(openapi.TagMerchant, t.MerchantID)
		req.Tag(openapi.TagEnvironment, t.Environment)
	}
	return nil
}

// TokenFrom returns the caller's token inside a handler.
func TokenFrom(ctx context.Context) (Token, bool) {
	req := openapi.FromContext(ctx)
	if req == nil {
		return Token{}, false
	}
	t, ok := req.Principal().(Token)
	return t, ok
}

// caller returns the token and the merchant of an authenticated request.
func (s *System) caller(w http.ResponseWriter, r *http.Request) (Token, Merchant, bool) {
	t, ok := TokenFrom(r.Context())
	if !ok {
		s.fail(w, r, apierr.New(apierr.Unauthorized, "Authorization: a Bearer access token is required"))
		return Token{}, Merchant{}, false
	}
	m, err := s.merchants.Get(r.Context(), t.MerchantID)
	if errors.Is(err, store.ErrNotFound) {
		m = Merchant{MerchantID: t.MerchantID, Name: t.MerchantID, ThreeDSUnavailable: "fail"}
	} else if err != nil {
		s.fail(w, r, apierr.Wrap(fmt.Errorf("load merchant: %w", err)))
		return Token{}, Merchant{}, false
	}
	if m.Name == "" {
		m.Name = m.MerchantID
	}
	return t, m, true
}

// decode reads the validated body into v.
func (s *System) decode(w http.ResponseWriter, r *http.Request, v any) bool {
	if err := json.Unmarshal(openapi.FromContext(r.Context()).Body, v); err != nil {
		s.fail(w, r, apierr.New(apierr.Malformed, "request body is not valid JSON for this operation"))
		return false
	}
	return true
}

// fail answers an error in the gateway's envelope.
func (s *System) fail(w http.ResponseWriter, r *http.Request, err error) {
	e := apierr.Wrap(err)
	if e.Kind == apierr.Internal && e.Cause != nil {
		s.env.Log.Error("vmgateway internal error", "err", e.Cause)
	}
	s.dialect.WriteError(w, r, e)
}

// Routes serves the gateway's pages: the hosted cashier, the wallet approval
// page and the return page that sends the customer to frontUrl.
func (s *System) Routes(mux *http.ServeMux) {
	mux.HandleFunc("GET "+Prefix+"/cashier/{sessionId}", s.cashierPage)
	mux.HandleFunc("POST "+Prefix+"/cashier/{sessionId}", s.cashierPost)
	mux.HandleFunc("GET "+Prefix+"/wallet/{tradeNo}", s.walletPage)
	mux.HandleFunc("POST "+Prefix+"/wallet/{tradeNo}", s.walletPost)
	mux.HandleFunc("GET "+Prefix+"/return/{tradeNo}", s.returnPage)
}
