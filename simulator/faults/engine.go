// Package faults makes pspsim a place to test failure: fault rules match
// calls to the APIs pspsim serves and the messages it sends, and act on them
// — latency, errors in each system's dialect, timeouts, reset connections,
// truncated or malformed answers, operations whose answer is lost, and
// dropped, delayed, duplicated, reordered, contradicting or tampered
// deliveries.
//
// A rule is a match, an action and a frequency. Rules come from the admin API
// (and the Gherkin steps that use it), a YAML file at start, the config
// file's faults section, and the magic amounts of fixtures/faults.yaml. They
// are evaluated in order — run-time rules first, then file, config and magic
// rules — and the first that matches and whose frequency says "now" fires;
// every firing is a journal event of system "faults".
//
// Actions are registered by name in a Registry each Engine owns; each
// built-in action lives in its own file (action_*.go) and registers itself,
// with whatever state it keeps (reorder's held messages included).
//
// The engine's files: engine.go builds it; manage.go changes the rules in
// force (the admin API, files, Reset); installed.go is a rule in force and
// the lock-free snapshot every call reads; fire.go is where rules meet calls
// (Wrap for served requests, the delivery hook for messages sent); rule.go,
// load.go and params.go read rules; facts.go and scan.go are what a rule
// matches on; admin.go serves the faults region of the admin API.
//
// Probabilistic decisions and latency ranges are drawn from a stream derived
// from the run's seed, indexed by rule and by call number, so a run with the
// same seed makes the same decisions, whatever the scheduling of concurrent
// requests.
package faults

import (
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/pspsim/pspsim/simulator/clock"
	"github.com/pspsim/pspsim/simulator/delivery"
	"github.com/pspsim/pspsim/simulator/ids"
	"github.com/pspsim/pspsim/simulator/journal"
	"github.com/pspsim/pspsim/simulator/logging"
	"github.com/pspsim/pspsim/simulator/store"
)

// System is the journal's name for the fault engine.
const System = "faults"

// Options build an Engine.
type Options struct {
	Clock   clock.Clock      // windows, delivery delays and holds run on it
	Journal *journal.Journal // every firing is recorded here
	// IDs is the run's seeded generator; the engine derives its own stream
	// ("faults") so that drawing ids does not shift fault decisions.
	IDs *ids.Generator
	// Sender, when set, gets the engine's delivery hook.
	Sender *delivery.Sender
	// Registry of actions; nil: the built-in actions.
	Registry *Registry
	Log      *slog.Logger
	// OnFire, when set, learns of every firing (the metrics count them by
	// rule). It runs on the request's or delivery's goroutine.
	OnFire func(rule, action string)
	// State, when set (the durable stores), keeps the rules in force and
	// their counters where a restart and the other replicas find them
	// (durable.go). Nil: in memory only.
	State store.State
}

// Engine holds the rules and applies them. Build one per simulator.
type Engine struct {
	clock   clock.Clock
	journal *journal.Journal
	reg     *Registry
	log     *slog.Logger
	seed    uint64
	sender  *delivery.Sender
	onFire  func(rule, action string)

	rules atomic.Pointer[ruleSet] // read on every request, replaced on every change

	mu      sync.Mutex // serialises changes
	runtime []*installed
	base    []*installed
	baseSrc []Rule // file, config and magic rules as loaded, reinstalled by Reset
	nextID  int
	known   func(system, operation string) bool
	systems []string

	state     store.State
	version   int64 // of the saved rules this engine runs (e.mu)
	restoring bool  // installing saved rules: windows are already under way

	held heldDeliveries // reorder's messages waiting for the next one (action_reorder.go)

	done      chan struct{}
	closeOnce sync.Once
}

// New builds an engine without rules.
func New(opts Options) *Engine {
	if opts.Clock == nil {
		opts.Clock = clock.NewReal()
	}
	if opts.IDs == nil {
		opts.IDs = ids.New(0)
	}
	if opts.Registry == nil {
		opts.Registry = NewRegistry()
	}
	if opts.Log == nil {
		opts.Log = logging.Discard()
	}
	e := &Engine{clock: opts.Clock, journal: opts.Journal, reg: opts.Registry, log: opts.Log,
		seed: opts.IDs.Derive("faults").Uint64(), sender: opts.Sender, onFire: opts.OnFire, done: make(chan struct{}), state: opts.State}
	e.rules.Store(&ruleSet{})
	if e.state != nil {
		go e.poll()
	}
	if opts.Sender != nil {
		opts.Sender.SetHook(e.hook)
	}
	return e
}

// Registry returns the engine's actions.
func (e *Engine) Registry() *Registry { return e.reg }

// Clock returns the engine's clock.
func (e *Engine) Clock() clock.Clock { return e.clock }

// SetCatalog tells the engine which systems exist and which operations each
// serves, so that a rule naming an unknown one is refused rather than
// silently never matching. known(system, op) with system "" asks whether
// any system has op.
func (e *Engine) SetCatalog(systems []string, known func(system, operation string) bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.systems = append([]string(nil), systems...)
	e.known = known
}

// Close releases held connections and deliveries; the engine applies no
// rule afterwards.
func (e *Engine) Close() {
	e.closeOnce.Do(func() { close(e.done) })
}

// Done is closed when the engine closes: actions holding a connection let
// go of it then, so that a server shuts down promptly.
func (e *Engine) Done() <-chan struct{} { return e.done }

// Rules lists the ids of the rules in evaluation order (tests, logs).
func (e *Engine) Rules() []string {
	var out []string
	for _, in := range e.rules.Load().all {
		out = append(out, in.rule.ID)
	}
	return out
}

func (e *Engine) record(kind string, in *installed, message string, data map[string]any) {
	if e.journal == nil {
		return
	}
	var idm map[string]string
	if in != nil {
		idm = map[string]string{"rule": in.rule.ID}
		if data == nil {
			data = map[string]any{}
		}
		data["source"] = in.rule.Source
		data["action"] = in.rule.Action
	}
	e.journal.Record(journal.Event{System: System, Kind: kind, IDs: idm, Message: message, Data: data})
}
