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
// built-in action lives in its own file (action_*.go) and registers itself.
//
// Probabilistic decisions and latency ranges are drawn from a stream derived
// from the run's seed, indexed by rule and by call number, so a run with the
// same seed makes the same decisions, whatever the scheduling of concurrent
// requests.
package faults

import (
	"context"
	"fmt"
	"hash/fnv"
	"log/slog"
	"math"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pspsim/pspsim/simulator/clock"
	"github.com/pspsim/pspsim/simulator/delivery"
	"github.com/pspsim/pspsim/simulator/ids"
	"github.com/pspsim/pspsim/simulator/journal"
	"github.com/pspsim/pspsim/simulator/logging"
	"github.com/pspsim/pspsim/simulator/openapi"
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
}

// Engine holds the rules and applies them. Build one per simulator.
type Engine struct {
	clock   clock.Clock
	journal *journal.Journal
	reg     *Registry
	log     *slog.Logger
	seed    uint64
	sender  *delivery.Sender

	rules atomic.Pointer[ruleSet] // read on every request, replaced on every change

	mu      sync.Mutex // serialises changes
	runtime []*installed
	base    []*installed
	baseSrc []Rule // file, config and magic rules as loaded, reinstalled by Reset
	nextID  int
	known   func(system, operation string) bool
	systems []string

	heldMu sync.Mutex
	held   map[string][]*heldDelivery // reorder: messages waiting for the next one, by system
	nHeld  atomic.Int32

	done      chan struct{}
	closeOnce sync.Once
}

// installed is a rule in force: the rule, its built action and its counters.
type installed struct {
	rule     Rule
	target   Target
	api      APIAction
	dlv      DeliveryAction
	from     time.Time // zero: active at once
	until    time.Time // zero: for ever
	key      uint64    // the rule's own seeded stream
	matched  atomic.Int64
	fired    atomic.Int64
	timers   []clock.Timer
	windowed bool
}

// ruleSet is an immutable snapshot of the rules, indexed by target and
// system. Each list holds the rules for one system followed, in evaluation
// order, by the rules for any system.
type ruleSet struct {
	all      []*installed
	api      map[string][]*installed
	apiAny   []*installed
	dlv      map[string][]*installed
	dlvAny   []*installed
	hasRules bool
}

func (rs *ruleSet) apiFor(system string) []*installed {
	if l, ok := rs.api[system]; ok {
		return l
	}
	return rs.apiAny
}

func (rs *ruleSet) dlvFor(system string) []*installed {
	if l, ok := rs.dlv[system]; ok {
		return l
	}
	return rs.dlvAny
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
		seed: opts.IDs.Derive("faults").Uint64(), sender: opts.Sender,
		held: map[string][]*heldDelivery{}, done: make(chan struct{})}
	e.rules.Store(&ruleSet{})
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

// Status is a rule as listed: the rule, whether it is in force now, and its
// counters.
type Status struct {
	Rule
	Describe    string
	Active      bool
	ActiveFrom  time.Time
	ActiveUntil time.Time
	Matched     int64 // calls that matched everything (frequency not yet applied)
	Hits        int64 // calls it fired on
}

// MarshalJSON writes the rule with its state and counters.
func (s Status) MarshalJSON() ([]byte, error) {
	v := s.Rule.view()
	v["active"] = s.Active
	v["hits"] = s.Hits
	v["matched"] = s.Matched
	v["does"] = s.Describe
	if !s.ActiveFrom.IsZero() {
		v["activeFrom"] = s.ActiveFrom.UTC().Format(time.RFC3339Nano)
	}
	if !s.ActiveUntil.IsZero() {
		v["activeUntil"] = s.ActiveUntil.UTC().Format(time.RFC3339Nano)
	}
	return jsonMarshal(v)
}

func (e *Engine) status(in *installed) Status {
	now := e.clock.Now()
	return Status{Rule: in.rule, Describe: describe(in), Active: in.active(now), ActiveFrom: in.from, ActiveUntil: in.until,
		Matched: in.matched.Load(), Hits: in.fired.Load()}
}

func describe(in *installed) string {
	if in.api != nil {
		return in.api.Describe()
	}
	return in.dlv.Describe()
}

func (in *installed) active(now time.Time) bool {
	if !in.windowed {
		return true
	}
	if !in.from.IsZero() && now.Before(in.from) {
		return false
	}
	if !in.until.IsZero() && !now.Before(in.until) {
		return false
	}
	return true
}

// List returns every rule in evaluation order.
func (e *Engine) List() []Status {
	rs := e.rules.Load()
	out := make([]Status, 0, len(rs.all))
	for _, in := range rs.all {
		out = append(out, e.status(in))
	}
	return out
}

// Get returns one rule.
func (e *Engine) Get(id string) (Status, bool) {
	for _, in := range e.rules.Load().all {
		if in.rule.ID == id {
			return e.status(in), true
		}
	}
	return Status{}, false
}

// Add validates a rule, builds its action and puts it after the other
// run-time rules (before file, config and magic rules). A rule without an
// id gets one.
func (e *Engine) Add(r Rule) (Status, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	r.Source = SourceAPI
	in, err := e.install(r, e.clock.Now(), e.taken())
	if err != nil {
		return Status{}, err
	}
	e.runtime = append(e.runtime, in)
	e.publish()
	e.record("fault.rule.added", in, fmt.Sprintf("fault rule %s added: %s, %s", in.rule.ID, describe(in), in.rule.Frequency), nil)
	return e.status(in), nil
}

// Replace swaps every run-time rule for rules, all or nothing.
func (e *Engine) Replace(rules []Rule) ([]Status, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	taken := map[string]bool{}
	for _, in := range e.base {
		taken[in.rule.ID] = true
	}
	now := e.clock.Now()
	var built []*installed
	for i, r := range rules {
		r.Source = SourceAPI
		in, err := e.install(r, now, taken)
		if err != nil {
			for _, b := range built {
				b.stop()
			}
			if fe, ok := err.(*FieldError); ok {
				if r.ID == "" {
					fe.Rule = fmt.Sprintf("rules[%d]", i)
				}
				fe.Field = fmt.Sprintf("rules[%d].%s", i, fe.Field) // where it sits in the list given
			}
			return nil, err
		}
		taken[in.rule.ID] = true
		built = append(built, in)
	}
	for _, in := range e.runtime {
		in.stop()
	}
	e.runtime = built
	e.publish()
	e.record("fault.rules.replaced", nil, fmt.Sprintf("run-time fault rules replaced: %d rules", len(built)), map[string]any{"rules": len(built)})
	out := make([]Status, 0, len(built))
	for _, in := range built {
		out = append(out, e.status(in))
	}
	return out, nil
}

// Delete removes one rule, whatever its source (a file or magic rule comes
// back at the next reset).
func (e *Engine) Delete(id string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, list := range []*[]*installed{&e.runtime, &e.base} {
		for i, in := range *list {
			if in.rule.ID == id {
				in.stop()
				*list = append((*list)[:i:i], (*list)[i+1:]...)
				e.publish()
				e.record("fault.rule.deleted", in, fmt.Sprintf("fault rule %s deleted after %d hits", id, in.fired.Load()), nil)
				return true
			}
		}
	}
	return false
}

// Clear removes the run-time rules; with all, the file, config and magic
// rules too (until the next reset). It returns how many it removed.
func (e *Engine) Clear(all bool) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	n := len(e.runtime)
	for _, in := range e.runtime {
		in.stop()
	}
	e.runtime = nil
	if all {
		n += len(e.base)
		for _, in := range e.base {
			in.stop()
		}
		e.base = nil
	}
	e.publish()
	e.record("fault.rules.cleared", nil, fmt.Sprintf("%d fault rules cleared", n), map[string]any{"cleared": n, "all": all})
	return n
}

// SetBase installs the rules that come from files (the --faults file, the
// config file's section, the magic amounts), in that order, replacing any
// before. Reset reinstalls them.
func (e *Engine) SetBase(rules []Rule) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	built, err := e.installBase(rules)
	if err != nil {
		return err
	}
	for _, in := range e.base {
		in.stop()
	}
	e.base = built
	e.baseSrc = append([]Rule(nil), rules...)
	e.publish()
	return nil
}

func (e *Engine) installBase(rules []Rule) ([]*installed, error) {
	taken := map[string]bool{}
	for _, in := range e.runtime {
		taken[in.rule.ID] = true
	}
	now := e.clock.Now()
	var built []*installed
	for _, r := range rules {
		in, err := e.install(r, now, taken)
		if err != nil {
			for _, b := range built {
				b.stop()
			}
			return nil, err
		}
		taken[in.rule.ID] = true
		built = append(built, in)
	}
	return built, nil
}

// Reset forgets the run-time rules and the held deliveries, and reinstalls
// the file, config and magic rules with fresh counters and windows: the
// engine is as it was at start, so a seeded run replays from here.
func (e *Engine) Reset() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, in := range e.runtime {
		in.stop()
	}
	for _, in := range e.base {
		in.stop()
	}
	e.runtime, e.base, e.nextID = nil, nil, 0
	built, err := e.installBase(e.baseSrc)
	if err != nil {
		e.publish()
		return err
	}
	e.base = built
	e.publish()
	e.heldMu.Lock()
	e.held = map[string][]*heldDelivery{}
	e.nHeld.Store(0)
	e.heldMu.Unlock()
	e.record("fault.rules.reset", nil, fmt.Sprintf("fault rules reset: %d from files, config and magic amounts", len(built)), map[string]any{"rules": len(built)})
	return nil
}

func (e *Engine) taken() map[string]bool {
	t := map[string]bool{}
	for _, in := range e.runtime {
		t[in.rule.ID] = true
	}
	for _, in := range e.base {
		t[in.rule.ID] = true
	}
	return t
}

// install validates r against the registry and the catalog, builds its
// action and arms its window. Called with e.mu held.
func (e *Engine) install(r Rule, now time.Time, taken map[string]bool) (*installed, error) {
	fail := func(fe *FieldError) error {
		fe.Rule = r.ID
		return fe
	}
	if r.ID != "" && taken[r.ID] {
		return nil, fail(fieldErr("id", "unique", "another rule already has this id"))
	}
	kind, ok := e.reg.Lookup(r.Action)
	if !ok {
		return nil, fail(fieldErr("action.type", "enum", "no action %q; API actions: %s; delivery actions: %s", clipText(r.Action),
			strings.Join(e.reg.names(API), ", "), strings.Join(e.reg.names(Delivery), ", ")))
	}
	if r.Match.System != "" && len(e.systems) > 0 {
		found := false
		for _, s := range e.systems {
			found = found || s == r.Match.System
		}
		if !found {
			return nil, fail(fieldErr("match.system", "enum", "no system %q; systems: %s", clipText(r.Match.System), strings.Join(e.systems, ", ")))
		}
	}
	if kind.Target == API {
		if r.Match.Attempt > 0 {
			return nil, fail(fieldErr("match.attempt", "target", "applies to deliveries only; %s acts on served requests", r.Action))
		}
		for i, op := range r.Match.Operations {
			if e.known != nil && !e.known(r.Match.System, op) {
				field := "match.operation"
				if len(r.Match.Operations) > 1 {
					field = fmt.Sprintf("match.operation[%d]", i)
				}
				if r.Match.System != "" {
					return nil, fail(fieldErr(field, "exists", "%s has no operation %q (an operationId, or for CodePay a method)", r.Match.System, clipText(op)))
				}
				return nil, fail(fieldErr(field, "exists", "no system has an operation %q (an operationId, or for CodePay a method)", clipText(op)))
			}
		}
	}
	params := r.Params
	if params == nil {
		params = map[string]any{}
	}
	act, err := kind.Build(newParams(r.Action, params))
	if err != nil {
		if fe, ok := err.(*FieldError); ok {
			return nil, fail(fe)
		}
		return nil, fail(fieldErr("action", "invalid", "%v", err))
	}
	if r.ID == "" { // named only once it is known to be good, so that errors never cite an id no one saw
		prefix := "rule"
		if r.Source != SourceAPI && r.Source != "" {
			prefix = r.Source
		}
		for {
			e.nextID++
			r.ID = fmt.Sprintf("%s-%d", prefix, e.nextID)
			if !taken[r.ID] {
				break
			}
		}
	}
	r.Match.compile()
	in := &installed{rule: r, target: kind.Target}
	switch kind.Target {
	case API:
		if in.api, ok = act.(APIAction); !ok {
			return nil, fail(fieldErr("action.type", "target", "action %s does not act on served requests", r.Action))
		}
	case Delivery:
		if in.dlv, ok = act.(DeliveryAction); !ok {
			return nil, fail(fieldErr("action.type", "target", "action %s does not act on deliveries", r.Action))
		}
	}
	h := fnv.New64a()
	h.Write([]byte(r.ID))
	in.key = e.seed ^ h.Sum64()
	if r.After > 0 || r.For > 0 {
		in.windowed = true
		if r.After > 0 {
			in.from = now.Add(r.After)
			in.timers = append(in.timers, e.clock.AfterFunc(r.After, func() {
				e.record("fault.rule.activated", in, fmt.Sprintf("fault rule %s is now active", in.rule.ID), nil)
			}))
		}
		if r.For > 0 {
			in.until = now.Add(r.After + r.For)
			in.timers = append(in.timers, e.clock.AfterFunc(r.After+r.For, func() {
				e.record("fault.rule.expired", in, fmt.Sprintf("fault rule %s expired after %d hits", in.rule.ID, in.fired.Load()), map[string]any{"hits": in.fired.Load()})
			}))
		}
	}
	return in, nil
}

func (in *installed) stop() {
	for _, t := range in.timers {
		t.Stop()
	}
}

// publish rebuilds the snapshot the hot path reads. Called with e.mu held.
func (e *Engine) publish() {
	rs := &ruleSet{api: map[string][]*installed{}, dlv: map[string][]*installed{}}
	rs.all = append(append([]*installed(nil), e.runtime...), e.base...)
	systems := map[string]bool{}
	for _, in := range rs.all {
		if in.rule.Match.System != "" {
			systems[in.rule.Match.System] = true
		}
	}
	for _, in := range rs.all {
		sys := in.rule.Match.System
		switch in.target {
		case API:
			if sys == "" {
				rs.apiAny = append(rs.apiAny, in)
			}
		case Delivery:
			if sys == "" {
				rs.dlvAny = append(rs.dlvAny, in)
			}
		}
	}
	for sys := range systems {
		for _, in := range rs.all {
			if in.rule.Match.System != "" && in.rule.Match.System != sys {
				continue
			}
			if in.target == API {
				rs.api[sys] = append(rs.api[sys], in)
			} else {
				rs.dlv[sys] = append(rs.dlv[sys], in)
			}
		}
		if rs.api[sys] == nil {
			rs.api[sys] = rs.apiAny
		}
		if rs.dlv[sys] == nil {
			rs.dlv[sys] = rs.dlvAny
		}
	}
	rs.hasRules = len(rs.all) > 0
	e.rules.Store(rs)
}

// decide applies the rule's nth and frequency to its nth matching call.
func (in *installed) decide(n int64) bool {
	if in.rule.Match.Nth > 0 {
		return n == int64(in.rule.Match.Nth)
	}
	f := in.rule.Frequency
	switch f.Mode {
	case First:
		return n <= int64(f.N)
	case Every:
		return n%int64(f.N) == 0
	case Probability:
		return unit(in.key, uint64(n), 0) < f.P
	}
	return true
}

// unit draws a number in [0, 1) from the rule's stream at position (n, salt):
// a splitmix64 hash, so every rule and call has its own fixed draw.
func unit(key, n, salt uint64) float64 {
	x := key ^ (n * 0x9e3779b97f4a7c15) ^ (salt * 0xbf58476d1ce4e5b9)
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	x ^= x >> 31
	return float64(x>>11) / (1 << 53)
}

// Fire is one firing of a rule, handed to its action.
type Fire struct {
	Engine    *Engine
	Rule      *Rule
	Hit       int64 // how many times the rule has fired, this one included
	N         int64 // which matching call this is
	System    string
	Operation string
	IDs       map[string]string // journal ids: the rule, the call's path parameters or message ids

	key     uint64
	pairing bool // a reorder holds a message of this system: this one goes first
}

// Pairing reports whether a reordered message is waiting for this one: a
// reorder action then sends this message at once (the held one follows).
func (f *Fire) Pairing() bool { return f.pairing }

// Float draws a number in [0, 1) for this firing (latency within a range):
// fixed by the seed, the rule and the call number.
func (f *Fire) Float(salt string) float64 {
	h := fnv.New64a()
	h.Write([]byte(salt))
	return unit(f.key, uint64(f.N), h.Sum64())
}

// Between draws a duration in [min, max] for this firing.
func (f *Fire) Between(min, max time.Duration, salt string) time.Duration {
	if max <= min {
		return min
	}
	return min + time.Duration(math.Floor(f.Float(salt)*float64(max-min+1)))
}

// Record writes a follow-up event of the firing ("fault.effect.<action>"):
// what became of the call.
func (f *Fire) Record(message string, data map[string]any) {
	if f.Engine.journal == nil {
		return
	}
	f.Engine.journal.Record(journal.Event{System: System, Kind: "fault.effect." + f.Rule.Action, IDs: f.IDs,
		Message: fmt.Sprintf("fault rule %s: %s", f.Rule.ID, message), Data: data})
}

// Clock returns the simulator's clock.
func (f *Fire) Clock() clock.Clock { return f.Engine.clock }

// Done is closed when the engine closes.
func (f *Fire) Done() <-chan struct{} { return f.Engine.done }

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

// fire records a firing ("fault.fired.<action>") and returns its Fire.
func (e *Engine) fire(in *installed, n int64, ft *facts, ids map[string]string) *Fire {
	hit := in.fired.Add(1)
	f := &Fire{Engine: e, Rule: &in.rule, Hit: hit, N: n, System: ft.system, Operation: ft.operation, key: in.key}
	f.IDs = map[string]string{"rule": in.rule.ID}
	for k, v := range ids {
		f.IDs[k] = v
	}
	if e.journal != nil {
		where := ft.system
		if ft.operation != "" {
			where += " " + ft.operation
		}
		what := ft.method + " " + ft.path
		if ft.attempt > 0 {
			what = fmt.Sprintf("attempt %d to %s", ft.attempt, ft.path)
		}
		e.journal.Record(journal.Event{System: System, Kind: "fault.fired." + in.rule.Action, IDs: f.IDs,
			Message: fmt.Sprintf("fault rule %s fired on %s (%s): %s; hit %d", in.rule.ID, where, what, describe(in), hit),
			Data: map[string]any{"action": in.rule.Action, "source": in.rule.Source, "system": ft.system, "operation": ft.operation,
				"path": ft.path, "hit": hit, "call": n, "attempt": ft.attempt}})
	}
	return f
}

// evaluate finds the first rule of list that fires for ft.
func (e *Engine) evaluate(list []*installed, ft *facts) (*installed, int64) {
	var now time.Time
	for _, in := range list {
		if in.windowed {
			if now.IsZero() {
				now = e.clock.Now()
			}
			if !in.active(now) {
				continue
			}
		}
		if !in.rule.Match.matches(ft) {
			continue
		}
		n := in.matched.Add(1)
		if in.decide(n) {
			return in, n
		}
	}
	return nil, 0
}

// Wrap returns the middleware for one system's served API (env.Wrap). With
// no rule for the system it costs one atomic load and a map lookup.
func (e *Engine) Wrap(system string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			list := e.rules.Load().apiFor(system)
			if len(list) == 0 {
				next.ServeHTTP(w, r)
				return
			}
			req := openapi.FromContext(r.Context())
			ft := facts{system: system, method: r.Method, path: r.URL.Path, header: r.Header, req: req}
			if req != nil {
				ft.operation, ft.body = req.Key, req.Body
			}
			in, n := e.evaluate(list, &ft)
			if in == nil {
				next.ServeHTTP(w, r)
				return
			}
			var idm map[string]string
			if req != nil {
				idm = req.Tags()
				for k, v := range req.PathParams {
					idm[k] = v
				}
			}
			in.api.Serve(e.fire(in, n, &ft, idm), w, r, next)
		})
	}
}

// hook is the delivery hook: it applies delivery rules to every attempt and
// releases messages a reorder held once the next message has gone.
func (e *Engine) hook(ctx context.Context, req *delivery.Request, attempt int, send delivery.SendFunc) (*delivery.Response, error) {
	var held []*heldDelivery
	if e.nHeld.Load() > 0 {
		held = e.takeHeld(req.System)
	}
	resp, err := e.deliver(ctx, req, attempt, send, len(held) > 0)
	for _, h := range held {
		h.release("the next message went first")
	}
	return resp, err
}

func (e *Engine) deliver(ctx context.Context, req *delivery.Request, attempt int, send delivery.SendFunc, pairing bool) (*delivery.Response, error) {
	list := e.rules.Load().dlvFor(req.System)
	if len(list) == 0 {
		return send(ctx, req, attempt)
	}
	ft := facts{system: req.System, operation: req.Kind, method: req.Method, path: urlPath(req.URL), header: req.Header,
		body: req.Body, attempt: attempt, dtags: req.Tags}
	in, n := e.evaluate(list, &ft)
	if in == nil {
		return send(ctx, req, attempt)
	}
	f := e.fire(in, n, &ft, req.IDs)
	f.pairing = pairing
	return in.dlv.Deliver(ctx, f, req, attempt, send)
}

func urlPath(u string) string {
	if i := strings.Index(u, "://"); i >= 0 {
		u = u[i+3:]
		if j := strings.IndexByte(u, '/'); j >= 0 {
			u = u[j:]
		} else {
			u = "/"
		}
	}
	if i := strings.IndexAny(u, "?#"); i >= 0 {
		u = u[:i]
	}
	return u
}

// heldDelivery is a message a reorder holds until the next one has gone.
type heldDelivery struct {
	system string
	run    func()
	once   sync.Once
	timer  clock.Timer
	fire   *Fire
}

func (h *heldDelivery) release(why string) {
	h.once.Do(func() {
		if h.timer != nil {
			h.timer.Stop()
		}
		h.fire.Record("held message released: "+why, map[string]any{"why": why})
		h.run()
	})
}

// hold keeps run until the next delivery of the same system has gone, or
// max has passed on the clock.
func (e *Engine) hold(f *Fire, system string, run func(), max time.Duration) {
	h := &heldDelivery{system: system, run: run, fire: f}
	// Listed and armed under one lock, so that whoever releases it sees its timer.
	e.heldMu.Lock()
	defer e.heldMu.Unlock()
	e.held[system] = append(e.held[system], h)
	e.nHeld.Add(1)
	h.timer = e.clock.AfterFunc(max, func() {
		if e.unhold(h) {
			h.release(fmt.Sprintf("no other message came within %s", max))
		}
	})
}

func (e *Engine) takeHeld(system string) []*heldDelivery {
	e.heldMu.Lock()
	defer e.heldMu.Unlock()
	list := e.held[system]
	if len(list) > 0 {
		delete(e.held, system)
		e.nHeld.Add(-int32(len(list)))
	}
	return list
}

func (e *Engine) unhold(h *heldDelivery) bool {
	e.heldMu.Lock()
	defer e.heldMu.Unlock()
	list := e.held[h.system]
	for i, x := range list {
		if x == h {
			e.held[h.system] = append(list[:i:i], list[i+1:]...)
			e.nHeld.Add(-1)
			return true
		}
	}
	return false
}

// Rules lists the ids of the rules in evaluation order (tests, logs).
func (e *Engine) Rules() []string {
	var out []string
	for _, in := range e.rules.Load().all {
		out = append(out, in.rule.ID)
	}
	return out
}
