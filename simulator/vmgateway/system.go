// Package vmgateway emulates the Visa/Mastercard online gateway of seed 004:
// access tokens, checkout sessions, payments of every method, token (MIT)
// payments, capture, refund, tracking and webhooks. Every operationId of
// specs/vmgateway.yaml has its handler registered here.
package vmgateway

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/getkin/kin-openapi/openapi3filter"
	"gopkg.in/yaml.v3"

	"github.com/pspsim/pspsim/fixtures"
	"github.com/pspsim/pspsim/simulator/apierr"
	"github.com/pspsim/pspsim/simulator/env"
	"github.com/pspsim/pspsim/simulator/openapi"
	"github.com/pspsim/pspsim/simulator/store"
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

type seed struct {
	Apps          []App             `yaml:"apps"`
	TokenLifetime fixtures.Duration `yaml:"tokenLifetime"`
}

// System is the card gateway emulator.
type System struct {
	env           *env.Env
	mount         *openapi.Mount
	dialect       Dialect
	apps          store.Table[App]
	tokens        store.Table[Token]
	tokenLifetime time.Duration
}

// New builds the gateway emulator from its spec and fixtures.
func New(ctx context.Context, e *env.Env) (*System, error) {
	doc, err := openapi.Load(ctx, specs.FS(), "vmgateway.yaml", Prefix, e.ValidateSpecs)
	if err != nil {
		return nil, err
	}
	s := &System{env: e, dialect: Dialect{IDs: e.IDs},
		apps: store.NewTable[App](e.Store, "vm.app"), tokens: store.NewTable[Token](e.Store, "vm.token")}
	s.mount, err = openapi.New(openapi.Config{
		System: Name, Prefix: Prefix, Doc: doc, Dialect: s.dialect, Auth: s.authenticate,
		CheckResponses: e.CheckResponses, Wrap: e.WrapFor(Name),
	})
	if err != nil {
		return nil, err
	}
	if err := s.mount.HandleFunc("createAccessToken", s.createAccessToken); err != nil {
		return nil, err
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

// AdminHandlers returns the handlers of the admin operations this system owns.
func (s *System) AdminHandlers() map[string]http.Handler { return nil }

// Reset loads the fixtures into a store that the simulator has just emptied.
func (s *System) Reset(ctx context.Context) error {
	raw, err := fixtures.Read("vmgateway.yaml")
	if err != nil {
		return err
	}
	var sd seed
	if err := yaml.Unmarshal(raw, &sd); err != nil {
		return fmt.Errorf("vmgateway fixtures: %w", err)
	}
	s.tokenLifetime = sd.TokenLifetime.Std()
	if s.tokenLifetime <= 0 {
		s.tokenLifetime = 2 * time.Hour
	}
	for _, a := range sd.Apps {
		if err := s.apps.Create(ctx, a.AppID, a); err != nil && !errors.Is(err, store.ErrExists) {
			return fmt.Errorf("vmgateway fixtures: %w", err)
		}
	}
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
	if err := json.Unmarshal(openapi.FromContext(r.Context()).Body, &in); err != nil {
		s.dialect.WriteError(w, r, apierr.New(apierr.Malformed, "request body is not valid JSON"))
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
		s.dialect.WriteError(w, r, apierr.New(apierr.Unauthorized, "appId or secret is wrong"))
		return
	}
	now := s.env.Clock.Now()
	t := Token{Token: "vm_" + environment[:1] + "_" + s.env.IDs.Hex(24), AppID: app.AppID, MerchantID: app.MerchantID,
		Environment: environment, IssuedAt: now, ExpiresAt: now.Add(s.tokenLifetime)}
	if err := s.tokens.Create(r.Context(), t.Token, t); err != nil {
		s.dialect.WriteError(w, r, apierr.Wrap(err))
		return
	}
	s.env.Record(Name, "auth.token_issued", "access token issued", map[string]string{"appId": app.AppID},
		map[string]any{"environment": environment, "expiresAt": t.ExpiresAt})
	WriteJSON(w, http.StatusOK, map[string]any{
		"accessToken": t.Token, "tokenType": "Bearer", "expiresIn": int(s.tokenLifetime / time.Second),
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
	case !s.env.Clock.Now().Before(t.ExpiresAt):
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
