package faults

import (
	"fmt"
	"hash/fnv"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/pspsim/pspsim/simulator/clock"
)

// A rule in force: the rule with its built action, window and counters
// (installed), and the immutable snapshot of all of them, indexed by target
// and system, that every request and delivery reads without a lock
// (ruleSet). decide and unit say whether a matching call is one the rule
// fires on.

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
	at       time.Time // when it was installed: its window counts from here
	gen      string    // its counters' name in the store (durable.go)
}

// ruleSet is an immutable snapshot of the rules, indexed by target and
// system. Each list holds the rules for one system followed, in evaluation
// order, by the rules for any system.
type ruleSet struct {
	all    []*installed
	api    map[string][]*installed
	apiAny []*installed
	// apiOps and apiAnyOps are api and apiAny by operation (apiForOp).
	apiOps    map[string]*opLists
	apiAnyOps *opLists
	dlv       map[string][]*installed
	dlvAny    []*installed
	hasRules  bool
}

func (rs *ruleSet) apiFor(system string) []*installed {
	if l, ok := rs.api[system]; ok {
		return l
	}
	return rs.apiAny
}

// opLists are a list of rules by the operation of the call: for each
// operation a rule names, the rules naming it or none; for any other, the
// rules naming none (rest). A rule naming operations matches no other
// (Match.matches), so a call evaluates only what could match it, in the
// same order: a Genstore GET skipped the magic amounts' seven rules of
// payment creations one by one.
type opLists struct {
	byOp map[string][]*installed
	rest []*installed
}

func indexByOperation(list []*installed) *opLists {
	ol := &opLists{byOp: map[string][]*installed{}}
	for _, in := range list {
		if len(in.rule.Match.Operations) == 0 {
			ol.rest = append(ol.rest, in)
		}
		for _, op := range in.rule.Match.Operations {
			ol.byOp[op] = nil
		}
	}
	for op := range ol.byOp {
		var l []*installed
		for _, in := range list {
			if len(in.rule.Match.Operations) == 0 || slices.Contains(in.rule.Match.Operations, op) {
				l = append(l, in)
			}
		}
		ol.byOp[op] = l
	}
	return ol
}

// apiForOp is apiFor(system) without the rules that cannot match
// operation.
func (rs *ruleSet) apiForOp(system, operation string) []*installed {
	ol, ok := rs.apiOps[system]
	if !ok {
		ol = rs.apiAnyOps
	}
	if ol == nil {
		return rs.apiFor(system) // a set built without the index (none is)
	}
	if l, ok := ol.byOp[operation]; ok {
		return l
	}
	return ol.rest
}

func (rs *ruleSet) dlvFor(system string) []*installed {
	if l, ok := rs.dlv[system]; ok {
		return l
	}
	return rs.dlvAny
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
	in := &installed{rule: r, target: kind.Target, at: now}
	if e.state != nil {
		in.gen = newGen()
	}
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
		// A rule reloaded from the store (a restart, another replica's
		// change) arms only what is still ahead of it on the clock.
		wait := func(d time.Duration, at time.Time) (time.Duration, bool) {
			if !e.restoring {
				return d, true
			}
			left := at.Sub(e.clock.Now())
			return left, left > 0
		}
		if r.After > 0 {
			in.from = now.Add(r.After)
			if d, ok := wait(r.After, in.from); ok {
				in.timers = append(in.timers, e.clock.AfterFunc(d, func() {
					e.record("fault.rule.activated", in, fmt.Sprintf("fault rule %s is now active", in.rule.ID), nil)
				}))
			}
		}
		if r.For > 0 {
			in.until = now.Add(r.After + r.For)
			if d, ok := wait(r.After+r.For, in.until); ok {
				in.timers = append(in.timers, e.clock.AfterFunc(d, func() {
					e.record("fault.rule.expired", in, fmt.Sprintf("fault rule %s expired after %d hits", in.rule.ID, in.fired.Load()), map[string]any{"hits": in.fired.Load()})
				}))
			}
		}
	}
	return in, nil
}

func (in *installed) stop() {
	for _, t := range in.timers {
		t.Stop()
	}
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
	rs.apiAnyOps = indexByOperation(rs.apiAny)
	rs.apiOps = map[string]*opLists{}
	for sys, l := range rs.api {
		rs.apiOps[sys] = indexByOperation(l)
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
