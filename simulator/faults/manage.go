package faults

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// The rules in force, as the admin API, the rules files and Reset change
// them: listed with their counters (Status), added, replaced, deleted,
// cleared, and reinstalled from their sources. Every change holds e.mu and
// ends with publish, which swaps the snapshot the hot path reads.

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
	return json.Marshal(v)
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

// List returns every rule in evaluation order.
func (e *Engine) List() []Status {
	e.sync(context.Background())
	rs := e.rules.Load()
	out := make([]Status, 0, len(rs.all))
	for _, in := range rs.all {
		out = append(out, e.status(in))
	}
	e.counters(out, rs.all)
	return out
}

// Get returns one rule.
func (e *Engine) Get(id string) (Status, bool) {
	e.sync(context.Background())
	for _, in := range e.rules.Load().all {
		if in.rule.ID == id {
			out := []Status{e.status(in)}
			e.counters(out, []*installed{in})
			return out[0], true
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
	var in *installed
	err := e.change(func() error {
		var err error
		if in, err = e.install(r, e.clock.Now(), e.taken()); err != nil {
			return err
		}
		e.runtime = append(e.runtime, in)
		return nil
	})
	if err != nil {
		return Status{}, err
	}
	e.record("fault.rule.added", in, fmt.Sprintf("fault rule %s added: %s, %s", in.rule.ID, describe(in), in.rule.Frequency), nil)
	return e.status(in), nil
}

// Replace swaps every run-time rule for rules, all or nothing.
func (e *Engine) Replace(rules []Rule) ([]Status, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	var built []*installed
	err := e.change(func() error {
		var err error
		built, err = e.installList(rules, e.base, SourceAPI, func(i int, r Rule, fe *FieldError) {
			if r.ID == "" {
				fe.Rule = fmt.Sprintf("rules[%d]", i)
			}
			fe.Field = fmt.Sprintf("rules[%d].%s", i, fe.Field) // where it sits in the list given
		})
		if err != nil {
			return err
		}
		for _, in := range e.runtime {
			in.stop()
		}
		e.runtime = built
		return nil
	})
	if err != nil {
		return nil, err
	}
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
	var gone *installed
	errNone := errors.New("no such rule")
	err := e.change(func() error {
		for _, list := range []*[]*installed{&e.runtime, &e.base} {
			for i, in := range *list {
				if in.rule.ID == id {
					in.stop()
					*list = append((*list)[:i:i], (*list)[i+1:]...)
					gone = in
					return nil
				}
			}
		}
		return errNone
	})
	if err != nil {
		return false
	}
	e.record("fault.rule.deleted", gone, fmt.Sprintf("fault rule %s deleted after %d hits", id, gone.fired.Load()), nil)
	return true
}

// Clear removes the run-time rules; with all, the file, config and magic
// rules too (until the next reset). It returns how many it removed.
func (e *Engine) Clear(all bool) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	var n int
	_ = e.change(func() error {
		n = len(e.runtime)
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
		return nil
	})
	e.record("fault.rules.cleared", nil, fmt.Sprintf("%d fault rules cleared", n), map[string]any{"cleared": n, "all": all})
	return n
}

// SetBase installs the rules that come from files (the --faults file, the
// config file's section, the magic amounts), in that order, replacing any
// before. Reset reinstalls them.
func (e *Engine) SetBase(rules []Rule) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.baseSrc = append([]Rule(nil), rules...)
	for attempt := 1; ; attempt++ {
		if e.state != nil {
			// A namespace with saved rules resumes them (a restart, a second
			// replica): its files come back with the next reset.
			found, err := e.loadSaved(context.Background())
			if err != nil {
				return err
			}
			if found {
				return nil
			}
		}
		built, err := e.installBase(rules)
		if err != nil {
			return err
		}
		for _, in := range e.base {
			in.stop()
		}
		e.base = built
		e.publish()
		// Saved only if still missing: a replica starting at the same time
		// saved first, and its list (and any change made since) is taken in.
		if !e.persist() || attempt == maxSwaps {
			return nil
		}
	}
}

func (e *Engine) installBase(rules []Rule) ([]*installed, error) {
	return e.installList(rules, e.runtime, "", nil)
}

// installList installs rules as one list, all or nothing, beside the rules
// of other (whose ids they must not take); source, when given, marks each.
// On an error the rules built so far are stopped, and fix may say where a
// *FieldError stands in the list.
func (e *Engine) installList(rules []Rule, other []*installed, source string, fix func(i int, r Rule, fe *FieldError)) ([]*installed, error) {
	taken := map[string]bool{}
	for _, in := range other {
		taken[in.rule.ID] = true
	}
	now := e.clock.Now()
	var built []*installed
	for i, r := range rules {
		if source != "" {
			r.Source = source
		}
		in, err := e.install(r, now, taken)
		if err != nil {
			for _, b := range built {
				b.stop()
			}
			if fe, ok := err.(*FieldError); ok && fix != nil {
				fix(i, r, fe)
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
	if e.state != nil {
		if err := e.state.DeleteCounters(context.Background(), counterPrefix); err != nil {
			e.log.Warn("fault counters not emptied in the store", "err", err)
		}
	}
	built, err := e.installBase(e.baseSrc)
	if err != nil {
		e.publish()
		return err
	}
	e.base = built
	e.publish()
	e.persistOver()
	e.held.reset()
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

// refresh takes in the rules another replica saved before this one
// changes them, so that a change here does not undo one made there. Called
// with e.mu held.
func (e *Engine) refresh() {
	if e.state == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), stateTimeout)
	defer cancel()
	v, err := e.state.Version(ctx, stateDoc)
	if err != nil || v == e.version {
		return
	}
	if v == 0 {
		// Emptied by a reset elsewhere: this change saves a new document.
		e.version = 0
		return
	}
	if _, err := e.loadSaved(ctx); err != nil {
		e.log.Error("fault rules not reloaded from the store", "err", err)
	}
}
