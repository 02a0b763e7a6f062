package conformance

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/pspsim/pspsim/simulator"
	"github.com/pspsim/pspsim/simulator/clock"
	"github.com/pspsim/pspsim/simulator/control"
	"github.com/pspsim/pspsim/simulator/openapi"
)

// Sandbox is a pspsim started in process for a run: on a loopback port, with
// the simulated clock (Genstore's retries, reconciliation and deadlines, the
// PSP's settlement and expiries move only when a scenario moves the clock)
// and the wall clock for signature timestamps (real apps check freshness
// against real time).
type Sandbox struct {
	// URL is where the app and the suite reach it.
	URL string
	// Sim is the simulator.
	Sim *simulator.Simulator

	srv  *http.Server
	done chan struct{}
}

// SandboxOptions configure an in-process sandbox.
type SandboxOptions struct {
	// Addr is the listen address; default 127.0.0.1:0 (a free port).
	Addr string
	// Start is where the simulated clock starts; default now.
	Start time.Time
	// Seed makes ids and fake data repeat.
	Seed uint64
	// RequestTimeout is Genstore's wait for an acknowledgement (Timing).
	RequestTimeout time.Duration
	// CheckResponses, when set, validates every answer the simulator gives
	// against its spec (tests).
	CheckResponses openapi.ResponseCheck
	// Logger receives the simulator's log; nil discards it.
	Logger *slog.Logger
	// AdminToken, when set, protects the sandbox's control API as pspsim
	// serve --admin-token does (tests of --target runs).
	AdminToken string
	// Strict refuses every departure from the vendors' documented tables
	// (pspsim serve --strict); by default they are answered with warnings.
	Strict bool
}

// Config is the simulator configuration of a conformance run: Genstore's
// acknowledgement wait, and no magic amounts (the suite provokes every fault
// it wants explicitly, so an amount must never provoke one by accident).
func (o SandboxOptions) Config() []byte {
	rt := o.RequestTimeout
	if rt <= 0 {
		rt = DefaultTiming.RequestTimeout
	}
	return []byte(fmt.Sprintf("genstore:\n  settings:\n    requestTimeout: %s\nfaults:\n  magic: false\n", rt))
}

// StartSandbox starts a pspsim in process for a conformance run.
func StartSandbox(ctx context.Context, o SandboxOptions) (*Sandbox, error) {
	if o.Addr == "" {
		o.Addr = "127.0.0.1:0"
	}
	if o.Start.IsZero() {
		o.Start = time.Now().UTC().Truncate(time.Second)
	}
	ln, err := net.Listen("tcp", o.Addr)
	if err != nil {
		return nil, fmt.Errorf("sandbox: listen on %s: %w", o.Addr, err)
	}
	url := "http://" + ln.Addr().String()
	sim, err := simulator.New(ctx, simulator.Options{
		Clock: clock.NewSim(o.Start), StampClock: clock.NewReal(), Seed: o.Seed, BaseURL: url,
		Config: o.Config(), CheckResponses: o.CheckResponses, Logger: o.Logger, Control: control.Policy{Token: o.AdminToken},
		Strict: o.Strict,
	})
	if err != nil {
		ln.Close()
		return nil, fmt.Errorf("sandbox: %w", err)
	}
	s := &Sandbox{URL: url, Sim: sim, done: make(chan struct{}),
		srv: &http.Server{Handler: sim.Handler(), ReadHeaderTimeout: 10 * time.Second}}
	go func() {
		defer close(s.done)
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) && o.Logger != nil {
			o.Logger.Error("sandbox stopped", "err", err)
		}
	}()
	return s, nil
}

// Close stops the sandbox: deliveries, held connections, the server.
func (s *Sandbox) Close() {
	s.Sim.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.srv.Shutdown(ctx); err != nil {
		s.srv.Close()
	}
	<-s.done
}
