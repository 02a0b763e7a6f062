// Package pspsimtest runs pspsim inside a Go test: one call starts an
// isolated sandbox — Genstore, the CodePay gateway and the Visa/Mastercard
// gateway on a loopback port of its own, a simulated clock, the fixtures'
// merchants, apps and keys — and stops it when the test ends. Its Client
// drives the control API: the clock, fault rules, the journal (wait until
// the app's callback for a payment arrives), canary card numbers, Genstore's
// merchant and buyer actions and CodePay's terminals.
//
// Point the payment app under test at Sandbox.GenstoreURL,
// Sandbox.CodePayURL or Sandbox.GatewayURL with the credentials of
// Sandbox.Credentials, as it would be pointed at the real systems.
//
//	func TestCheckout(t *testing.T) {
//		sb := pspsimtest.Start(t)
//		app := startMyApp(t, sb.GenstoreURL(), sb.Credentials().Genstore)
//		...
//		p, err := sb.Client.Pay(ctx, "1001", pspsimtest.PaymentRequest{Amount: "12.34"})
//		ev, err := sb.Client.WaitCallback(ctx, p.PaymentID)
//	}
//
// The same Client talks to a `pspsim serve` started elsewhere
// (NewClient), so a suite can run in process on a laptop and against a
// container in CI.
package pspsimtest

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/pspsim/pspsim/simulator"
	"github.com/pspsim/pspsim/simulator/clock"
)

// DefaultStart is where a sandbox's simulated clock starts unless told
// otherwise: a fixed time, so that ids and timestamps repeat run to run.
var DefaultStart = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

// Sandbox is a running, isolated pspsim.
type Sandbox struct {
	// URL is the sandbox's base URL (http://127.0.0.1:PORT).
	URL string
	// Client drives its control API.
	Client *Client
	// Sim is the simulator itself, for what the control API does not offer.
	Sim *simulator.Simulator

	creds Credentials
	srv   *http.Server
}

// Option changes how Start builds the sandbox.
type Option func(*settings)

type settings struct {
	opts  simulator.Options
	start time.Time
	real  bool
}

// WithSeed sets the random seed of ids, fake data and probabilistic
// faults (default 1).
func WithSeed(seed uint64) Option { return func(s *settings) { s.opts.Seed = seed } }

// WithConfig passes a `pspsim serve --config` YAML document: apps, shops,
// merchants, terminals, settings, fault rules.
func WithConfig(yaml string) Option { return func(s *settings) { s.opts.Config = []byte(yaml) } }

// WithFaults passes a `pspsim serve --faults` YAML document: rules installed
// at start and after every reset.
func WithFaults(yaml string) Option { return func(s *settings) { s.opts.Faults = []byte(yaml) } }

// WithClockStart starts the simulated clock at t instead of DefaultStart.
func WithClockStart(t time.Time) Option { return func(s *settings) { s.start = t } }

// WithRealClock runs the sandbox on the wall clock: retries and deadlines
// then take their real time. The default, a simulated clock, moves only
// by Client.Advance.
func WithRealClock() Option { return func(s *settings) { s.real = true } }

// WithOptions changes the simulator's options directly (logger, metrics,
// HTTP client of deliveries...), after the other options.
func WithOptions(f func(*simulator.Options)) Option {
	return func(s *settings) { f(&s.opts) }
}

// Start starts a sandbox for t on a free loopback port and stops it when t
// ends (t.Cleanup). It fails t if the sandbox cannot start.
//
// Signatures the sandbox sends (Genstore's signed query, notifications)
// carry wall-clock timestamps even on the simulated clock, as `pspsim
// serve` does, because apps check freshness against their own clock.
func Start(t testing.TB, opts ...Option) *Sandbox {
	t.Helper()
	sb, err := New(opts...)
	if err != nil {
		t.Fatalf("pspsimtest: %v", err)
	}
	t.Cleanup(sb.Close)
	return sb
}

// New starts a sandbox outside a test (a TestMain, an example, a tool);
// Close stops it. Start is New for one test.
func New(opts ...Option) (*Sandbox, error) {
	s := settings{opts: simulator.Options{Seed: 1}, start: DefaultStart}
	for _, o := range opts {
		o(&s)
	}
	if s.opts.Clock == nil {
		if s.real {
			s.opts.Clock = clock.NewReal()
		} else {
			s.opts.Clock = clock.NewSim(s.start)
		}
	}
	if s.opts.StampClock == nil {
		s.opts.StampClock = clock.NewReal()
	}
	creds, err := fixtureCredentials()
	if err != nil {
		return nil, fmt.Errorf("fixtures: %w", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listen: %w", err)
	}
	base := "http://" + ln.Addr().String()
	s.opts.BaseURL = base
	sim, err := simulator.New(context.Background(), s.opts)
	if err != nil {
		ln.Close()
		return nil, fmt.Errorf("start: %w", err)
	}
	srv := &http.Server{Handler: sim.Handler(), ReadHeaderTimeout: 10 * time.Second}
	srv.RegisterOnShutdown(sim.Close)
	go srv.Serve(ln)
	return &Sandbox{URL: base, Client: NewClient(base, s.opts.Control.Token), Sim: sim, creds: creds, srv: srv}, nil
}

// Close stops the sandbox: pending deliveries end, connections close.
func (s *Sandbox) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s.Sim.Close()
	s.srv.Shutdown(ctx)
}

// GenstoreURL is Genstore's base URL: the app's callbacks and pay
// transaction queries go to GenstoreURL()+"/api/202412/...".
func (s *Sandbox) GenstoreURL() string { return s.URL + "/genstore" }

// CodePayURL is the CodePay gateway's single entry point (POST, signed).
func (s *Sandbox) CodePayURL() string { return s.URL + "/codepay/api/entry" }

// GatewayURL is the Visa/Mastercard online gateway's base URL
// (GatewayURL()+"/v1/auth/token", "/v1/payments"...).
func (s *Sandbox) GatewayURL() string { return s.URL + "/vm" }

// Credentials are the fixtures' sandbox credentials (those of `pspsim
// fixtures`). A WithConfig that replaces them is not reflected here.
func (s *Sandbox) Credentials() Credentials { return s.creds }
