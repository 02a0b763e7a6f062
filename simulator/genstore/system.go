// Package genstore emulates the Genstore platform towards third-party payment
// apps (CONTRACT.md): shops, app installations, the requests Genstore sends
// to apps, the six result callbacks apps send back, and the pay-transaction
// query. Every callback's operationId in specs/genstore.yaml has its handler
// registered in this package.
package genstore

import (
	"context"
	"errors"
	"fmt"
	"net/http"

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
const Name = "genstore"

// Prefix is where the Genstore API is mounted.
const Prefix = "/genstore"

// Installation is an app installed on a shop: the access token an app
// presents in X-Genstore-Access-Token, and the scopes it was granted.
type Installation struct {
	AccessToken string   `json:"accessToken" yaml:"accessToken"`
	ShopID      string   `json:"shopId" yaml:"shopId"`
	ClientID    string   `json:"clientId" yaml:"clientId"`
	Scopes      []string `json:"scopes" yaml:"scopes"`
}

// HasScope reports whether the installation was granted scope.
func (i Installation) HasScope(scope string) bool {
	for _, s := range i.Scopes {
		if s == scope {
			return true
		}
	}
	return false
}

type seed struct {
	Installations []Installation `yaml:"installations"`
}

// System is the Genstore emulator.
type System struct {
	env           *env.Env
	mount         *openapi.Mount
	installations store.Table[Installation]
}

// New builds the Genstore emulator from its spec and fixtures.
func New(ctx context.Context, e *env.Env) (*System, error) {
	doc, err := openapi.Load(ctx, specs.FS(), "genstore.yaml", Prefix, e.ValidateSpecs)
	if err != nil {
		return nil, err
	}
	s := &System{env: e, installations: store.NewTable[Installation](e.Store, "genstore.installation")}
	s.mount, err = openapi.New(openapi.Config{
		System: Name, Prefix: Prefix, Doc: doc, Dialect: Dialect{}, Auth: s.authenticate,
		CheckResponses: e.CheckResponses, Wrap: e.WrapFor(Name),
	})
	if err != nil {
		return nil, err
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

// Reset loads the fixtures into a store that the simulator has just emptied.
func (s *System) Reset(ctx context.Context) error {
	raw, err := fixtures.Read("genstore.yaml")
	if err != nil {
		return err
	}
	var sd seed
	if err := yaml.Unmarshal(raw, &sd); err != nil {
		return fmt.Errorf("genstore fixtures: %w", err)
	}
	for _, in := range sd.Installations {
		if err := s.installations.Create(ctx, in.AccessToken, in); err != nil && !errors.Is(err, store.ErrExists) {
			return fmt.Errorf("genstore fixtures: %w", err)
		}
	}
	return nil
}

// AdminHandlers returns the handlers of the admin operations this system owns.
func (s *System) AdminHandlers() map[string]http.Handler { return nil }

// authenticate checks X-Genstore-Access-Token against the installations and
// the operation's scope (CONTRACT.md §1: 401 unknown token, 403 missing scope).
func (s *System) authenticate(ctx context.Context, in *openapi3filter.AuthenticationInput) error {
	token := in.RequestValidationInput.Request.Header.Get("X-Genstore-Access-Token")
	if token == "" {
		return apierr.New(apierr.Unauthorized, "X-Genstore-Access-Token: is required")
	}
	inst, err := s.installations.Get(ctx, token)
	if err != nil {
		return apierr.New(apierr.Unauthorized, "X-Genstore-Access-Token: unknown or revoked access token")
	}
	for _, scope := range in.Scopes {
		if !inst.HasScope(scope) {
			return apierr.New(apierr.Forbidden, "X-Genstore-Access-Token: the token lacks the %s scope", scope)
		}
	}
	if req := openapi.FromContext(ctx); req != nil {
		req.SetPrincipal(inst)
		req.Tag(openapi.TagShop, inst.ShopID)
		req.Tag(openapi.TagApp, inst.ClientID)
	}
	return nil
}
