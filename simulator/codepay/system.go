// Package codepay emulates the CodePay Cloud Open API gateway (seed 003):
// the signed envelope, cloud-mode POS orders pushed to virtual terminals,
// hosted and merchant-hosted checkout, captures, refunds, tips, batches and
// notifications. Every `method` of POST /api/entry and every card-transaction
// operationId in specs/codepay.yaml has its handler registered here
// (handlers). From there a reader takes the same walk as in every system:
// the `method` or operationId → its operation (orders.go, checkout.go,
// cardapi.go; serve in operation.go is their one skeleton) → the may… rule
// in states.go that lets it start, and the transitions table every status
// change goes through.
//
// State lives in the store (apps, merchants, terminals, transactions,
// batches). Operations that change several objects at once (a refund changes
// the refund and its original, a push changes an order and a terminal's
// queue) run under the System's ledger lock; reads do not take it. Nothing
// is sent while the lock is held: notifications and autopilot runs are
// collected as effects and performed after it is released.
package codepay

import (
	"context"
	"crypto/rsa"
	"fmt"
	"net/http"
	"sync"

	"github.com/pspsim/pspsim/fixtures"
	"github.com/pspsim/pspsim/simulator/env"
	"github.com/pspsim/pspsim/simulator/jobs"
	"github.com/pspsim/pspsim/simulator/openapi"
	"github.com/pspsim/pspsim/simulator/store"
)

// Name is the system's name in the journal and the fault rules.
const Name = "codepay"

// Prefix is where the CodePay API is mounted.
const Prefix = "/codepay"

// Options tune the emulator.
type Options struct {
	// DataMode: answers' data as a JSON string (default) or object.
	DataMode DataMode
	// ThreeDS authenticates online card payments (merchant-hosted and hosted
	// checkout). Nil: 3-D Secure is not requested and cards are authorized
	// on their own outcome (see ThreeDS).
	ThreeDS ThreeDS
}

// System is the CodePay emulator.
type System struct {
	env      *env.Env
	opts     Options
	mount    *openapi.Mount
	envelope *Envelope
	cards    *fixtures.Cards

	// keyMu guards the gateway key, which --config may replace at Reset.
	keyMu      sync.RWMutex
	gatewayKey *rsa.PrivateKey
	gatewayPEM []byte

	apps      store.Table[App]
	merchants store.Table[Merchant]
	terminals store.Table[Terminal]
	txns      store.Table[Txn]
	batches   store.Table[Batch]

	// mu is the ledger lock: every change of state runs under it.
	mu sync.Mutex

	keys sync.Map // public key PEM → *rsa.PublicKey, so requests do not re-parse keys

	tdsMu   sync.RWMutex
	threeDS ThreeDS
}

// New builds the CodePay emulator from its spec, fixtures and config.
func New(ctx context.Context, e *env.Env, opts Options) (*System, error) {
	cards, err := fixtures.TestCards()
	if err != nil {
		return nil, err
	}
	if e.Jobs == nil {
		// A system built alone keeps its jobs on the clock.
		e.Jobs = jobs.NewMemory(e.Clock)
	}
	s := &System{
		env: e, opts: opts, cards: cards, threeDS: opts.ThreeDS,
		apps:      store.NewTable[App](e.Store, "codepay.app"),
		merchants: store.NewTable[Merchant](e.Store, "codepay.merchant"),
		terminals: store.NewTable[Terminal](e.Store, "codepay.terminal"),
		txns:      store.NewTable(e.Store, "codepay.txn", txnDone(e)),
		batches:   store.NewTable(e.Store, "codepay.batch", batchDone()),
	}
	s.envelope = &Envelope{IDs: e.IDs, Mode: opts.DataMode, Key: s.key, Observe: s.observeError}
	doc, err := e.LoadSpec(ctx, "codepay.yaml", Prefix)
	if err != nil {
		return nil, err
	}
	s.mount, err = openapi.New(openapi.Config{
		System: Name, Prefix: Prefix, Doc: doc, Dialect: s.envelope, Guard: s.guard,
		CheckResponses: e.CheckResponses, Wrap: e.WrapFor(Name), Specs: e.Specs,
		Strict: e.Strict, OnWarnings: e.WarningsFor(Name),
	})
	if err != nil {
		return nil, err
	}
	for key, h := range s.handlers() {
		if err := s.mount.HandleFunc(key, h); err != nil {
			return nil, err
		}
	}
	s.registerJobs()
	s.handleThreeDS()
	if err := s.Reset(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// handlers maps each `method` of POST /api/entry and each /api/card/
// operationId to its operation; serve gives them one skeleton.
func (s *System) handlers() map[string]http.HandlerFunc {
	return map[string]http.HandlerFunc{
		"wisehub.cloud.pay.order": serve(s, s.createOrder),
		"wisehub.cloud.pay.close": serve(s, s.closeOrder),
		"pay.checkout":            serve(s, s.hostedCheckout),
		"pay.merchant.checkout":   serve(s, s.merchantCheckout),
		"order.query":             serve(s, s.queryOrder),
		"order.refund.query":      serve(s, s.queryRefund),
		"order.revoker":           serve(s, s.revokeOrder),
		"order.refund.submit":     serve(s, s.submitRefund),
		"tip.adjustment":          serve(s, s.tipAdjustment),
		"batch.close":             serve(s, s.batchCloseMethod),
		"capturePayment":          serve(s, s.capturePayment),
		"incrementAuthorization":  serve(s, s.incrementAuthorization),
		"cancelPayment":           serve(s, s.cancelPayment),
		"refundPayment":           serve(s, s.refundPayment),
		"adjustTip":               serve(s, s.adjustTip),
		"recallTransaction":       serve(s, s.recallTransaction),
		"closeBatches":            serve(s, s.closeBatches),
		"getOpenBatch":            serve(s, s.getOpenBatch),
	}
}

// Name returns "codepay".
func (s *System) Name() string { return Name }

// Mount returns the API mount.
func (s *System) Mount() *openapi.Mount { return s.mount }

// GatewayPublicKeyPEM returns the key clients verify answers with.
func (s *System) GatewayPublicKeyPEM() []byte {
	s.keyMu.RLock()
	defer s.keyMu.RUnlock()
	return s.gatewayPEM
}

// GatewayPublicKey returns the gateway's public key.
func (s *System) GatewayPublicKey() *rsa.PublicKey { return &s.key().PublicKey }

func (s *System) key() *rsa.PrivateKey {
	s.keyMu.RLock()
	defer s.keyMu.RUnlock()
	return s.gatewayKey
}

// SetDataMode chooses how later answers carry data (string or object).
func (s *System) SetDataMode(m DataMode) { s.envelope.SetMode(m) }

// SetThreeDS wires the 3-D Secure service after construction (the
// simulator builds its systems concurrently).
func (s *System) SetThreeDS(t ThreeDS) {
	s.tdsMu.Lock()
	defer s.tdsMu.Unlock()
	s.threeDS = t
}

func (s *System) authenticator() ThreeDS {
	s.tdsMu.RLock()
	defer s.tdsMu.RUnlock()
	return s.threeDS
}

// Reset loads the fixtures, then the `codepay:` section of --config, into a
// store that the simulator has just emptied.
func (s *System) Reset(ctx context.Context) error {
	raw, err := fixtures.Read("codepay.yaml")
	if err != nil {
		return err
	}
	fx, err := parseSection(raw, nil)
	if err != nil {
		return err
	}
	key, err := fx.gatewayKey(readFixture)
	if err != nil {
		return err
	}
	var cfg *section
	if s.env.Config != nil {
		c, err := parseSection(nil, s.env.Config)
		if err != nil {
			return err
		}
		if k, err := c.gatewayKey(readDisk); err != nil {
			return err
		} else if k != nil {
			key = k
		}
		cfg = &c
	}
	if key == nil {
		return fmt.Errorf("codepay: no gateway key in fixtures or config")
	}
	pubPEM, err := publicKeyPEM(&key.PublicKey)
	if err != nil {
		return err
	}
	s.keyMu.Lock()
	s.gatewayKey, s.gatewayPEM = key, []byte(pubPEM)
	s.keyMu.Unlock()

	if err := s.load(ctx, fx, readFixture, "fixtures/codepay.yaml"); err != nil {
		return err
	}
	if cfg != nil {
		if err := s.load(ctx, *cfg, readDisk, "config codepay"); err != nil {
			return err
		}
	}
	return nil
}

// publicKeyOf parses (once) a registered public key.
func (s *System) publicKeyOf(pemText string) (*rsa.PublicKey, error) {
	if k, ok := s.keys.Load(pemText); ok {
		return k.(*rsa.PublicKey), nil
	}
	k, err := ParsePublicKey([]byte(pemText))
	if err != nil {
		return nil, err
	}
	s.keys.Store(pemText, k)
	return k, nil
}
