// Package env carries the machinery every emulated system shares — clock,
// store, journal, id generator, logger, outbound sender — from the Simulator
// to each system's constructor. There are no package-level singletons: two
// simulators in one process (as tests run them) share nothing.
package env

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"gopkg.in/yaml.v3"

	"github.com/pspsim/pspsim/fixtures/fake"
	"github.com/pspsim/pspsim/simulator/clock"
	"github.com/pspsim/pspsim/simulator/delivery"
	"github.com/pspsim/pspsim/simulator/ids"
	"github.com/pspsim/pspsim/simulator/jobs"
	"github.com/pspsim/pspsim/simulator/journal"
	"github.com/pspsim/pspsim/simulator/openapi"
	"github.com/pspsim/pspsim/simulator/store"
	"github.com/pspsim/pspsim/simulator/threeds"
	"github.com/pspsim/pspsim/specs"
)

// Env is what a system is built from.
type Env struct {
	Clock clock.Clock
	// Stamps is the clock of the timestamps in outbound signatures (Genstore's
	// signed query, webhook and notification timestamps). A receiver checks
	// their freshness against its own clock, which is real: with a simulated
	// Clock that has been advanced, stamps from it would all look stale. The
	// binary uses the wall clock; in-process tests use the simulated clock.
	Stamps  clock.Clock
	Store   store.Store
	Journal *journal.Journal
	IDs     *ids.Generator
	// Fake makes buyer and basket data (gofakeit), seeded from the run's seed.
	Fake   *fake.Faker
	Log    *slog.Logger
	Sender *delivery.Sender
	// Jobs runs what a system does later on its own (expiry, settlement,
	// timers) as data, so that durable backends keep it across restarts
	// and replicas (package jobs). Handlers are registered while the system
	// is built.
	Jobs jobs.Scheduler
	// ThreeDS is the 3-D Secure service every PSP authenticates cards with.
	ThreeDS *threeds.Service
	// BaseURL returns the simulator's public base URL ("http://127.0.0.1:8080"),
	// for URLs handed to clients: hosted checkout, 3-D Secure challenge pages.
	BaseURL func() string
	// Config is the system's section of the --config file, or nil.
	Config *yaml.Node
	// ValidateSpecs runs kin-openapi's document validation when specs load.
	ValidateSpecs bool
	// Specs, when set, is the process's cache of loaded and compiled specs,
	// shared by every simulator (namespace) of the process; nil: each
	// system loads its spec itself (tests that build one system).
	Specs *openapi.Specs
	// CheckResponses, when set, validates every response against the spec (tests).
	CheckResponses openapi.ResponseCheck
	// Wrap, when set, wraps every validated request's handler (faults).
	Wrap func(system string) func(http.Handler) http.Handler
	// Strict refuses every departure from the vendors' documented tables,
	// including those the specs tolerate with a warning (x-pspsim-lenient).
	Strict bool
	// Done is closed when the simulator stops: pages' live streams end
	// then, so that a server shuts down without waiting for them.
	Done <-chan struct{}
}

// Record is a shortcut for Journal.Record with the system's name filled in.
func (e *Env) Record(system, kind, message string, ids map[string]string, data map[string]any) journal.Event {
	return e.Journal.Record(journal.Event{System: system, Kind: kind, Message: message, IDs: ids, Data: data})
}

// WarningsFor returns what a system's mount calls with the departures it
// tolerated: a request.warning journal event naming the operation and each
// field, rule and reason.
func (e *Env) WarningsFor(system string) func(r *http.Request, req *openapi.Request, ws []openapi.Warning) {
	return func(r *http.Request, req *openapi.Request, ws []openapi.Warning) {
		parts := make([]string, 0, len(ws))
		for _, w := range ws {
			parts = append(parts, w.Field+" ("+w.Rule+", "+w.Class+")")
		}
		var ids map[string]string
		if len(req.PathParams) > 0 {
			ids = make(map[string]string, len(req.PathParams))
			for k, v := range req.PathParams {
				ids[k] = v
			}
		}
		e.Record(system, "request.warning",
			fmt.Sprintf("%s: %d departure(s) from the documented table tolerated: %s", req.Key, len(ws), strings.Join(parts, ", ")),
			ids, map[string]any{"operation": req.Key, "path": r.URL.Path, "warnings": ws})
	}
}

// LoadSpec returns the embedded spec name served under prefix: from Specs
// when set, else loaded afresh.
func (e *Env) LoadSpec(ctx context.Context, name, prefix string) (*openapi3.T, error) {
	if e.Specs != nil {
		return e.Specs.Load(ctx, name, prefix)
	}
	return openapi.Load(ctx, specs.FS(), name, prefix, e.ValidateSpecs)
}

// WrapFor returns the handler wrapper for one system, or nil.
func (e *Env) WrapFor(system string) func(http.Handler) http.Handler {
	if e.Wrap == nil {
		return nil
	}
	return e.Wrap(system)
}
