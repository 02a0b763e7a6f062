// Package vmgateway emulates the Visa/Mastercard online gateway of seed 004:
// access tokens, checkout sessions with a hosted cashier, payments of every
// method (cards with 3-D Secure, wallets and QR codes), token (MIT) payments,
// capture, cancel, inquiry, refunds, shipment tracking and signed webhooks.
// Every operationId of specs/vmgateway.yaml has its handler here.
//
// Every operationId takes the same walk: New registers its handler (one file
// per resource: auth.go, payments.go, tokenpayments.go, lifecycle.go,
// refunds.go, sessions.go, tracking.go, webhooks.go), and the handler asks
// states.go whether the operation may start and moves the object through
// its transition table there. What a new payment leads to (approval, a
// decline, 3-D Secure, a wallet waiting for the customer) is outcome.go's
// decision.
//
// State lives in the simulator's store (one table per object type), and
// time comes from the simulator's clock only: token expiry, payment expiry,
// the 7-day release of uncaptured authorizations, refund settlement and the
// webhook retry schedule all run on it. 3-D Secure is the shared
// simulator/threeds service.
package vmgateway

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pspsim/pspsim/simulator/jobs"

	"gopkg.in/yaml.v3"

	"github.com/pspsim/pspsim/fixtures"
	"github.com/pspsim/pspsim/simulator/env"
	"github.com/pspsim/pspsim/simulator/mac"
	"github.com/pspsim/pspsim/simulator/money"
	"github.com/pspsim/pspsim/simulator/openapi"
	"github.com/pspsim/pspsim/simulator/store"
	"github.com/pspsim/pspsim/simulator/threeds"
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
	cardKey *mac.Keyed // card fingerprints, under a key of the run
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

	answers sync.Pool // scratch buffers of the payment answers (writePayment)
}

// New builds the gateway emulator from its spec and fixtures. e.ThreeDS must
// be set: the gateway authenticates cards with the shared 3-D Secure service.
func New(ctx context.Context, e *env.Env) (*System, error) {
	if e.ThreeDS == nil {
		return nil, errors.New("vmgateway: env.ThreeDS is required")
	}
	doc, err := e.LoadSpec(ctx, "vmgateway.yaml", Prefix)
	if err != nil {
		return nil, err
	}
	cards, err := fixtures.TestCards()
	if err != nil {
		return nil, fmt.Errorf("vmgateway: %w", err)
	}
	s := &System{env: e, tds: e.ThreeDS, cards: cards,
		cardKey: mac.New([]byte(e.IDs.Derive("vmgateway-card-fingerprint").Hex(32))),
		apps:    store.NewTable[App](e.Store, "vm.app"),
		tokens: store.NewTable(e.Store, "vm.token", tokenDone(e),
			store.Index("app", func(t *Token) string { return t.AppID })),
		merchants: store.NewTable[Merchant](e.Store, "vm.merchant"),
		orders:    store.NewTable(e.Store, "vm.order", claimDone()),
		// Payments are found by orderNo; a merchant's or an environment's
		// are most of the table, listed (adminListPayments) rather than
		// indexed at a cost to every payment stored.
		payments: store.NewTable(e.Store, "vm.payment", paymentDone(e),
			store.Index("orderNo", func(p *Payment) string { return p.OrderNo })),
		refunds: store.NewTable(e.Store, "vm.refund", refundDone(e),
			store.Index("tradeNo", func(rf *Refund) string { return rf.TradeNo })),
		sessions: store.NewTable(e.Store, "vm.session", sessionDone()),
		creds:    store.NewTable(e.Store, "vm.credential", anyTime[Credential]()),
		subs: store.NewTable(e.Store, "vm.subscription",
			store.Index("merchant", func(sub *Subscription) string { return sub.MerchantID + "/" + sub.Environment })),
		tracks: store.NewTable(e.Store, "vm.tracking", anyTime[Tracking]()),
		sinks:  store.NewTable[Sink](e.Store, "vm.sink"),
	}
	if e.Jobs == nil {
		e.Jobs = jobs.NewMemory(e.Clock) // a gateway built alone, outside a simulator
	}
	s.handleJobs()
	s.handleThreeDS()
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
		CheckResponses: e.CheckResponses, Wrap: e.WrapFor(Name), Specs: e.Specs,
		Strict: e.Strict, OnWarnings: e.WarningsFor(Name),
	})
	if err != nil {
		return nil, err
	}
	for op, h := range map[string]handler{
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
	if err := s.orders.Create(ctx, orderKey(p.MerchantID, p.Environment, p.OrderNo), orderClaim{Kind: "payment", Ref: p.TradeNo}, refKey("payment", p.TradeNo)); err != nil {
		if errors.Is(err, store.ErrExists) {
			return nil // loaded already, by another simulator over this store
		}
		return err
	}
	if err := s.payments.Create(ctx, p.TradeNo, p); err != nil {
		return err
	}
	s.schedule(ctx, &p)
	return nil
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
