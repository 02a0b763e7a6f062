// Package scenario is the Gherkin step library that QA engineers script the
// simulator with, without Go. Steps talk to the simulator over HTTP (its APIs
// and /_sim), so the same feature file runs against an in-process simulator
// in `go test` or against a running `pspsim serve`.
//
// Each scenario gets a fresh World, carried in the context.Context (so
// scenarios may run concurrently), built by a Before hook.
package scenario

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"

	"github.com/pspsim/pspsim/internal/godog"

	"github.com/pspsim/pspsim/simulator"
)

// World is one scenario's state.
type World struct {
	// Target is the base URL of the simulator under test.
	Target string
	// Client sends the scenario's requests.
	Client *http.Client
	// Sim is the in-process simulator, or nil against a remote target.
	Sim *simulator.Simulator
	// Headers are sent with every request of the scenario.
	Headers http.Header
	// Last is the latest answer.
	Last *Response
	// Batch holds the answers of the latest repeated request ("… 10 times").
	Batch []*Response
	// LastRule is the id of the fault rule the scenario added last.
	LastRule string

	// page is the page the buyer or cashier is on (the page steps).
	page *page

	mu        sync.Mutex
	vars      map[string]string
	receivers map[string]*Receiver
	messages  messageSettings
	cleanups  []func()
}

// OnClose registers a function run when the scenario ends (receivers
// close their servers).
func (w *World) OnClose(f func()) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.cleanups = append(w.cleanups, f)
}

func (w *World) close() {
	w.mu.Lock()
	fs := w.cleanups
	w.cleanups = nil
	w.mu.Unlock()
	for i := len(fs) - 1; i >= 0; i-- {
		fs[i]()
	}
}

// Set remembers a value for later steps, written {name} in step text.
func (w *World) Set(name, value string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.vars == nil {
		w.vars = map[string]string{}
	}
	w.vars[name] = value
}

// Get returns a remembered value.
func (w *World) Get(name string) (string, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	v, ok := w.vars[name]
	return v, ok
}

var varRE = regexp.MustCompile(`\{([A-Za-z_][A-Za-z0-9_.]*)\}`)

// Expand replaces {name} by remembered values; unknown names stay as written.
func (w *World) Expand(s string) string {
	return varRE.ReplaceAllStringFunc(s, func(m string) string {
		if v, ok := w.Get(m[1 : len(m)-1]); ok {
			return v
		}
		return m
	})
}

type worldKey struct{}

// NewWorld returns a world for one scenario against the simulator at target
// (sim is the in-process simulator, or nil), for step libraries built on this
// one — the conformance suite — that run their own Before hook.
func NewWorld(target string, sim *simulator.Simulator) *World {
	return &World{Target: strings.TrimRight(target, "/"), Client: newClient(""), Sim: sim, Headers: http.Header{}}
}

// WithAdminToken makes the world send the simulator's admin token with
// every request to its control API (pspsim serve --admin-token).
func (w *World) WithAdminToken(token string) *World {
	w.Client = newClient(token)
	return w
}

// WithWorld returns ctx carrying w, so that this library's steps find it.
func WithWorld(ctx context.Context, w *World) context.Context {
	return context.WithValue(ctx, worldKey{}, w)
}

// Close ends the world: its receivers stop. Call it when the scenario ends.
func (w *World) Close() { w.close() }

// WorldFrom returns the scenario's world.
func WorldFrom(ctx context.Context) *World {
	w, _ := ctx.Value(worldKey{}).(*World)
	return w
}

// Factory builds a world for one scenario and returns a cleanup function.
type Factory func(ctx context.Context, sc *godog.Scenario) (*World, func(), error)

// Step is one documented step definition.
type Step struct {
	Pattern string // godog regular expression
	Doc     string // what it does, for features/STEPS.md
	Example string // a line of Gherkin using it
	Func    any    // the step function; its first argument is the context
}

// Group is a set of related steps.
type Group struct {
	Name  string
	Doc   string
	Steps []Step
}

// Groups returns every step group of the library, in documentation order
// (features/STEPS.md is generated from it). A system adds its steps by
// adding its group here.
func Groups() []Group {
	return []Group{setupSteps(), httpSteps(), faultSteps(), deliverySteps(), clockSteps(), journalSteps(), genstoreSteps(), codepaySteps(), vmSteps(), threeDSSteps(), pageSteps()}
}

// Initializer returns a godog scenario initializer: every step of Groups and
// a Before hook that builds each scenario's World with factory.
func Initializer(factory Factory) func(*godog.ScenarioContext) {
	return func(sc *godog.ScenarioContext) {
		var cleanup func()
		var world *World
		sc.Before(func(ctx context.Context, s *godog.Scenario) (context.Context, error) {
			// An undefined step fails the scenario naming the closest
			// defined ones (godog would print Go snippets, no help to
			// someone writing Gherkin).
			if err := undefinedSteps(s); err != nil {
				return ctx, err
			}
			w, c, err := factory(ctx, s)
			if err != nil {
				return ctx, fmt.Errorf("building the scenario's simulator: %w", err)
			}
			cleanup, world = c, w
			return context.WithValue(ctx, worldKey{}, w), nil
		})
		sc.After(func(ctx context.Context, _ *godog.Scenario, err error) (context.Context, error) {
			if world != nil {
				world.close() // receivers first: the simulator may still be sending to them
			}
			if cleanup != nil {
				cleanup()
			}
			return ctx, nil
		})
		for _, g := range Groups() {
			for _, st := range g.Steps {
				sc.Step(st.Pattern, st.Func)
			}
		}

	}
}

// targetPath is the path of Target ("" at a server's root, "/ns/{name}" for
// a namespace): the simulator's own URLs in its answers start with it.
func (w *World) targetPath() string {
	u, err := url.Parse(w.Target)
	if err != nil {
		return ""
	}
	return strings.TrimRight(u.Path, "/")
}
