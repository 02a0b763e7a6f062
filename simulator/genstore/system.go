// Package genstore emulates the Genstore platform towards third-party payment
// apps (CONTRACT.md): apps and shops, installation by the OAuth code grant,
// the requests Genstore sends to apps (payments, captures, voids, refunds,
// reconciliation queries) with their signatures, retries and card
// encryption, the six result callbacks apps send back with the state machine
// of §3, the pay-transaction query, and the buyer's side of a redirect.
//
// Every operationId of specs/genstore.yaml has its handler here; the admin
// operations of the `genstore` region of specs/admin.yaml come from
// AdminHandlers; the buyer's return page is served through Routes. Whatever
// a handler decides about states — may a payment or an operation start, what
// a result moves — is one function of states.go.
package genstore

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	_ "time/tzdata" // shops report times in their IANA zone, also in a distroless image

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"

	"github.com/pspsim/pspsim/simulator/apierr"
	"github.com/pspsim/pspsim/simulator/env"
	"github.com/pspsim/pspsim/simulator/jobs"
	"github.com/pspsim/pspsim/simulator/openapi"
	"github.com/pspsim/pspsim/simulator/store"
	"github.com/pspsim/pspsim/specs"
)

// Name is the system's name in the journal and the fault rules.
const Name = "genstore"

// Prefix is where the Genstore API is mounted.
const Prefix = "/genstore"

// System is the Genstore emulator.
type System struct {
	env      *env.Env
	mount    *openapi.Mount
	settings Settings
	config   Config
	// rand feeds the card encryption's ephemeral keys and ivs: real
	// randomness, never the seeded generator (a replayed run must not
	// replay key material).
	rand io.Reader

	apps          store.Table[App]
	shops         store.Table[Shop]
	installations store.Table[Installation]
	tokens        store.Table[Token]
	codes         store.Table[InstallCode]
	payments      store.Table[Payment]

	live    *liveOps
	browser *browser

	// answers are scratch buffers of the pay-transaction answers
	// (getPayment): the answer was a 320-byte allocation per query. A
	// ResponseWriter does not keep what it is given to Write.
	answers sync.Pool

	appSpecOnce sync.Once
	appSpec     *openapi3.T
	appSpecErr  error
}

// New builds the Genstore emulator from its spec, the fixtures and the
// `genstore:` section of --config (e.Config).
func New(ctx context.Context, e *env.Env) (*System, error) {
	settings, cfg, err := loadConfig(e.Config)
	if err != nil {
		return nil, err
	}
	doc, err := e.LoadSpec(ctx, "genstore.yaml", Prefix)
	if err != nil {
		return nil, err
	}
	if e.Jobs == nil {
		// A system built alone (benchmarks) keeps its jobs on the clock.
		e.Jobs = jobs.NewMemory(e.Clock)
	}
	live := newLiveOps(e.Jobs, len(settings.Reconciliation))
	s := &System{
		env: e, settings: settings, config: cfg, rand: rand.Reader,
		apps:  store.NewTable[App](e.Store, "genstore.app"),
		shops: store.NewTable[Shop](e.Store, "genstore.shop"),
		installations: store.NewTable(e.Store, "genstore.installation",
			store.Index("shop", func(i *Installation) string { return i.ShopID })),
		tokens: store.NewTable(e.Store, "genstore.token", tokenDone()),
		codes:  store.NewTable(e.Store, "genstore.code", codeDone(e.Clock)),
		payments: store.NewTable(e.Store, "genstore.payment", paymentDone(live, e.Sender),
			store.Index("shop", func(p *Payment) string { return p.ShopID })),
		live: live,
	}
	s.registerJobs()
	s.registerResumers()
	// A browser waits longer than Genstore's 10-second request timeout: the
	// page behind an onboarding URL may itself call Genstore (the code exchange).
	s.browser = newBrowser(browserTimeout)
	s.mount, err = openapi.New(openapi.Config{
		System: Name, Prefix: Prefix, Doc: doc, Dialect: Dialect{record: s.recordRefusal}, Auth: s.authenticate,
		CheckResponses: e.CheckResponses, Wrap: e.WrapFor(Name), Specs: e.Specs,
		Strict: e.Strict, OnWarnings: e.WarningsFor(Name),
	})
	if err != nil {
		return nil, err
	}
	for key, h := range map[string]http.HandlerFunc{
		"exchangeAccessToken":          s.exchangeAccessToken,
		"updateAccountAuthorization":   s.updateAccountAuthorization,
		"updatePaymentResult":          s.callback(KindPayment, false),
		"updatePreAuthorizationResult": s.callback(KindPayment, true),
		"updateCaptureResult":          s.callback(KindCapture, false),
		"updateVoidResult":             s.callback(KindVoid, false),
		"updateRefundResult":           s.callback(KindRefund, false),
		"getPayment":                   s.getPayment,
		"getRefund":                    s.getRefund,
	} {
		if err := s.mount.Handle(key, h); err != nil {
			return nil, err
		}
	}
	if err := s.Reset(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// Name returns "genstore".
func (s *System) Name() string { return Name }

// Mount returns the API mount.
func (s *System) Mount() *openapi.Mount { return s.mount }

// Settings returns the settings in force (defaults, fixtures, --config).
func (s *System) Settings() Settings { return s.settings }

// Reset loads the fixtures and config into a store that the simulator has
// just emptied, after forgetting the handles of the previous state's
// deliveries (the simulator has stopped them, and reset its jobs) and the
// buyers' sessions.
func (s *System) Reset(ctx context.Context) error {
	s.live.reset()
	s.browser.reset()
	now := s.env.Clock.Now()
	for _, a := range s.config.Apps {
		a.CreatedAt = now
		if err := s.apps.Create(ctx, a.ClientID, a); err != nil && !errors.Is(err, store.ErrExists) {
			return fmt.Errorf("genstore fixtures: app %s: %w", a.ClientID, err)
		}
	}
	for _, sh := range s.config.Shops {
		sh.CreatedAt = now
		if err := s.shops.Create(ctx, sh.ShopID, sh, "handle/"+sh.Handle); err != nil && !errors.Is(err, store.ErrExists) {
			return fmt.Errorf("genstore fixtures: shop %s: %w", sh.ShopID, err)
		}
	}
	for _, in := range s.config.Installations {
		in.InstalledAt = now
		if in.Ready {
			in.ReadyAt = &now
		}
		if err := s.installations.Create(ctx, installationKey(in.ShopID, in.ClientID), in); err != nil && !errors.Is(err, store.ErrExists) {
			return fmt.Errorf("genstore fixtures: installation %s/%s: %w", in.ShopID, in.ClientID, err)
		}
		tok := Token{Token: in.AccessToken, ShopID: in.ShopID, ClientID: in.ClientID, Scopes: in.Scopes, IssuedAt: now}
		if err := s.tokens.Create(ctx, in.AccessToken, tok); err != nil && !errors.Is(err, store.ErrExists) {
			return fmt.Errorf("genstore fixtures: token of %s/%s: %w", in.ShopID, in.ClientID, err)
		}
	}
	for _, pf := range s.config.Payments {
		p, err := pf.payment(now)
		if err != nil {
			return fmt.Errorf("genstore fixtures: payment %s: %w", pf.PaymentID, err)
		}
		var keys []string
		for _, o := range p.Operations {
			keys = append(keys, opKey(o.Kind, p.ShopID, o.ID))
		}
		if err := s.payments.Create(ctx, paymentKey(p.ShopID, p.PaymentID), p, keys...); err != nil && !errors.Is(err, store.ErrExists) {
			return fmt.Errorf("genstore fixtures: payment %s: %w", pf.PaymentID, err)
		}
	}
	return nil
}

// authenticate checks X-Genstore-Access-Token against the issued tokens and
// the operation's scope (CONTRACT.md §1: 401 missing or unknown token, 403
// missing scope), and records the token as the request's principal.
func (s *System) authenticate(ctx context.Context, in *openapi3filter.AuthenticationInput) error {
	token := in.RequestValidationInput.Request.Header.Get("X-Genstore-Access-Token")
	if token == "" {
		return apierr.New(apierr.Unauthorized, "X-Genstore-Access-Token: is required")
	}
	tok, err := s.tokens.Get(ctx, token)
	if err != nil {
		// Only a token the store does not have is unknown: a store that
		// did not answer is 503, and the app retries its callback.
		return orAbsent(err, apierr.New(apierr.Unauthorized, "X-Genstore-Access-Token: unknown or revoked access token"))
	}
	if tok.Revoked {
		// A revoked token still names its shop: the refusal's journal says
		// whose stale token it was (an app that kept the token of an earlier
		// installation, CONTRACT.md §1.4), so that the app's author — and
		// the conformance suite — can tell it from a forged one.
		if req := openapi.FromContext(ctx); req != nil {
			req.Tag(tagRevokedShop, tok.ShopID)
			req.Tag(tagRevokedApp, tok.ClientID)
		}
		return apierr.New(apierr.Unauthorized, "X-Genstore-Access-Token: revoked: the app was installed on this shop again since; use the newest access token")
	}
	for _, scope := range in.Scopes {
		if !tok.HasScope(scope) {
			return apierr.New(apierr.Forbidden, "X-Genstore-Access-Token: the token lacks the %s scope", scope)
		}
	}
	if req := openapi.FromContext(ctx); req != nil {
		req.SetPrincipal(tok)
		req.Tag(openapi.TagShop, tok.ShopID)
		req.Tag(openapi.TagApp, tok.ClientID)
	}
	return nil
}

// The tags a refused request carries when its token was revoked (not
// openapi.TagShop: a refused request must not look authenticated).
const (
	tagRevokedShop = "revokedTokenShop"
	tagRevokedApp  = "revokedTokenApp"
)

// principal returns the token of an authenticated request.
func principal(r *http.Request) (Token, bool) {
	req := openapi.FromContext(r.Context())
	if req == nil {
		return Token{}, false
	}
	tok, ok := req.Principal().(Token)
	return tok, ok
}

// loadAppSpec loads genstore-app.yaml once, for checking the buyer and
// basket data an admin request supplies against the schemas apps validate
// with.
func (s *System) loadAppSpec(ctx context.Context) (*openapi3.T, error) {
	s.appSpecOnce.Do(func() {
		if s.env.Specs != nil {
			s.appSpec, s.appSpecErr = s.env.Specs.Load(ctx, "genstore-app.yaml", "/")
			return
		}
		s.appSpec, s.appSpecErr = openapi.Load(ctx, specs.FS(), "genstore-app.yaml", "/", false)
	})
	return s.appSpec, s.appSpecErr
}
