// Package codepay emulates the CodePay Cloud Open API gateway (seed 003):
// the signed envelope, cloud-mode POS orders pushed to virtual terminals,
// hosted and merchant-hosted checkout, captures, refunds, tips, batches and
// notifications. Every `method` of POST /api/entry and every card-transaction
// operationId in specs/codepay.yaml has its handler registered here.
package codepay

import (
	"context"
	"crypto/rsa"
	"fmt"
	"net/http"

	"gopkg.in/yaml.v3"

	"github.com/pspsim/pspsim/fixtures"
	"github.com/pspsim/pspsim/simulator/env"
	"github.com/pspsim/pspsim/simulator/openapi"
	"github.com/pspsim/pspsim/specs"
)

// Name is the system's name in the journal and the fault rules.
const Name = "codepay"

// Prefix is where the CodePay API is mounted.
const Prefix = "/codepay"

// Options tune the emulator.
type Options struct {
	// DataMode: answers' data as a JSON string (default) or object.
	DataMode DataMode
}

type gatewayFixture struct {
	Gateway struct {
		PrivateKey string `yaml:"privateKey"`
		PublicKey  string `yaml:"publicKey"`
	} `yaml:"gateway"`
}

// System is the CodePay emulator.
type System struct {
	env        *env.Env
	mount      *openapi.Mount
	envelope   *Envelope
	gatewayPub *rsa.PublicKey
	gatewayPEM []byte
}

// New builds the CodePay emulator from its spec and fixtures.
func New(ctx context.Context, e *env.Env, opts Options) (*System, error) {
	raw, err := fixtures.Read("codepay.yaml")
	if err != nil {
		return nil, err
	}
	var fx gatewayFixture
	if err := yaml.Unmarshal(raw, &fx); err != nil {
		return nil, fmt.Errorf("codepay fixtures: %w", err)
	}
	privPEM, err := fixtures.Read(fx.Gateway.PrivateKey)
	if err != nil {
		return nil, err
	}
	key, err := ParsePrivateKey(privPEM)
	if err != nil {
		return nil, fmt.Errorf("codepay gateway key: %w", err)
	}
	pubPEM, err := fixtures.Read(fx.Gateway.PublicKey)
	if err != nil {
		return nil, err
	}
	s := &System{env: e, envelope: &Envelope{Key: key, IDs: e.IDs, Mode: opts.DataMode}, gatewayPub: &key.PublicKey, gatewayPEM: pubPEM}
	doc, err := openapi.Load(ctx, specs.FS(), "codepay.yaml", Prefix, e.ValidateSpecs)
	if err != nil {
		return nil, err
	}
	s.mount, err = openapi.New(openapi.Config{
		System: Name, Prefix: Prefix, Doc: doc, Dialect: s.envelope,
		CheckResponses: e.CheckResponses, Wrap: e.WrapFor(Name),
	})
	if err != nil {
		return nil, err
	}
	return s, nil
}

// Name returns "codepay".
func (s *System) Name() string { return Name }

// Mount returns the API mount.
func (s *System) Mount() *openapi.Mount { return s.mount }

// GatewayPublicKeyPEM returns the key clients verify answers with.
func (s *System) GatewayPublicKeyPEM() []byte { return s.gatewayPEM }

// Reset reloads fixtures after the simulator emptied the store.
func (s *System) Reset(context.Context) error { return nil }

// AdminHandlers returns the handlers of the admin operations this system owns.
func (s *System) AdminHandlers() map[string]http.Handler { return nil }
