package faults

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/pspsim/pspsim/simulator/store"
)

// Durable rules: with a State (the durable stores) the rules in force are
// one document, saved after every change and reloaded by every replica
// whose copy is older, and each rule's matched and fired counts are
// counters added to in the database, so that a frequency ({first: 1},
// {every: 3}, nth) counts the calls of every replica and a restart resumes
// the count. Without one (the memory backend) nothing here runs: the hot
// path keeps its atomics.

const (
	stateDoc      = "faults"
	counterPrefix = "faults/"
	// pollEvery is how often a replica asks whether another changed the
	// rules (one indexed read of a version).
	pollEvery = 250 * time.Millisecond
	// stateTimeout bounds one counter update on a request's path.
	stateTimeout = 5 * time.Second
)

// savedRules is the document: the rules in force in evaluation order.
type savedRules struct {
	Runtime []savedRule `json:"runtime"`
	Base    []savedRule `json:"base"`
	NextID  int         `json:"nextID"`
}

// savedRule is one rule as stored: the rule with every field (the admin
// view masks card numbers, so it cannot be read back), when it was
// installed (its window is measured from then) and its counters' name.
type savedRule struct {
	Rule      plainRule `json:"rule"`
	Installed time.Time `json:"installed"`
	Gen       string    `json:"gen"`
}

// plainRule is Rule without its MarshalJSON: every field, as is.
type plainRule Rule

func newGen() string {
	var b [8]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func (in *installed) counter(which string) string { return counterPrefix + in.gen + "/" + which }

// countMatch counts a call that matched a rule and returns its number.
func (e *Engine) countMatch(in *installed) int64 {
	if e.state == nil {
		return in.matched.Add(1)
	}
	return e.add(in, "matched", &in.matched)
}

// countFire counts a firing and returns its number.
func (e *Engine) countFire(in *installed) int64 {
	if e.state == nil {
		return in.fired.Add(1)
	}
	return e.add(in, "fired", &in.fired)
}

func (e *Engine) add(in *installed, which string, local interface {
	Add(int64) int64
	Store(int64)
}) int64 {
	ctx, cancel := context.WithTimeout(context.Background(), stateTimeout)
	defer cancel()
	n, err := e.state.Add(ctx, in.counter(which), 1)
	if err != nil {
		// The call goes on with this process's count: a fault decision is
		// not worth failing a request over, and the log says why the
		// frequency may be off.
		e.log.Warn("fault counter not updated in the store; counting in memory", "rule", in.rule.ID, "err", err)
		return local.Add(1)
	}
	local.Store(n)
	return n
}

// maxSwaps bounds the retries of a change that keeps losing its
// compare-and-swap to other replicas' changes.
const maxSwaps = 16

// persist saves the rules in force — a compare-and-swap from the version
// this engine last loaded or saved — and reports whether the swap was lost
// (another replica saved since: reload and change again). Called with e.mu
// held, after publish. A store error is logged and not retried.
func (e *Engine) persist() (lost bool) {
	if e.state == nil {
		return false
	}
	b, err := json.Marshal(e.saved())
	if err == nil {
		var (
			v  int64
			ok bool
		)
		if v, ok, err = e.state.SaveIf(context.Background(), stateDoc, b, e.version); err == nil {
			if ok {
				e.version = v
			}
			return !ok
		}
	}
	e.log.Error("fault rules not saved to the store: other replicas and a restart will not see this change", "err", err)
	return false
}

// persistOver saves the rules in force whatever was saved before: a reset's
// rules replace every replica's. Called with e.mu held, after publish.
func (e *Engine) persistOver() {
	if e.state == nil {
		return
	}
	b, err := json.Marshal(e.saved())
	if err == nil {
		var v int64
		if v, err = e.state.Save(context.Background(), stateDoc, b); err == nil {
			e.version = v
			return
		}
	}
	e.log.Error("fault rules not saved to the store: other replicas and a restart will not see this change", "err", err)
}

// saved is the document of the rules in force (e.mu held).
func (e *Engine) saved() savedRules {
	doc := savedRules{NextID: e.nextID}
	for _, l := range []struct {
		src []*installed
		dst *[]savedRule
	}{{e.runtime, &doc.Runtime}, {e.base, &doc.Base}} {
		for _, in := range l.src {
			*l.dst = append(*l.dst, savedRule{Rule: plainRule(in.rule), Installed: in.at, Gen: in.gen})
		}
	}
	return doc
}

// change applies fn to the rules in force and saves them. With a State the
// save is a compare-and-swap: when another replica saved a change since
// this engine's copy, the swap is lost, and fn runs again on their rules
// (taken in by refresh), so that two changes made at once on two replicas
// both hold. fn must work from e.runtime and e.base as they are when it
// runs. Called with e.mu held.
func (e *Engine) change(fn func() error) error {
	for attempt := 1; ; attempt++ {
		e.refresh()
		if err := fn(); err != nil {
			return err
		}
		e.publish()
		if !e.persist() {
			return nil
		}
		if attempt == maxSwaps {
			e.log.Error("fault rules not saved: other replicas changed them at every attempt", "attempts", attempt)
			return nil
		}
	}
}

// loadSaved replaces the rules in force by the saved ones, if there are any
// newer than this engine's. Called with e.mu held.
func (e *Engine) loadSaved(ctx context.Context) (bool, error) {
	raw, v, err := e.state.Load(ctx, stateDoc)
	if errors.Is(err, store.ErrNotFound) {
		// Nothing saved (a reset elsewhere, or never): the next save
		// inserts it.
		e.version = 0
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if v == e.version {
		return true, nil
	}
	var doc savedRules
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.UseNumber() // parameters as the admin API and files give them
	if err := dec.Decode(&doc); err != nil {
		return false, fmt.Errorf("saved fault rules: %w", err)
	}
	e.restoring = true
	defer func() { e.restoring = false }()
	taken := map[string]bool{}
	build := func(list []savedRule) ([]*installed, error) {
		var out []*installed
		for _, s := range list {
			in, err := e.install(Rule(s.Rule), s.Installed, taken)
			if err != nil {
				for _, b := range out {
					b.stop()
				}
				return nil, fmt.Errorf("saved fault rule %s: %w", s.Rule.ID, err)
			}
			in.gen = s.Gen
			taken[in.rule.ID] = true
			out = append(out, in)
		}
		return out, nil
	}
	runtime, err := build(doc.Runtime)
	if err != nil {
		return false, err
	}
	base, err := build(doc.Base)
	if err != nil {
		for _, in := range runtime {
			in.stop()
		}
		return false, err
	}
	for _, in := range append(e.runtime, e.base...) {
		in.stop()
	}
	e.runtime, e.base, e.nextID, e.version = runtime, base, doc.NextID, v
	e.publish()
	return true, nil
}

// sync reloads the rules if another replica changed them.
func (e *Engine) sync(ctx context.Context) {
	if e.state == nil {
		return
	}
	v, err := e.state.Version(ctx, stateDoc)
	if err != nil || v == 0 {
		return // 0: a reset elsewhere is between emptying and saving
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if v == e.version {
		return
	}
	if _, err := e.loadSaved(ctx); err != nil {
		e.log.Error("fault rules not reloaded from the store", "err", err)
	}
}

// poll keeps the rules in step with the other replicas until Close.
func (e *Engine) poll() {
	t := time.NewTicker(pollEvery)
	defer t.Stop()
	for {
		select {
		case <-e.done:
			return
		case <-t.C:
			ctx, cancel := context.WithTimeout(context.Background(), stateTimeout)
			e.sync(ctx)
			cancel()
		}
	}
}

// counters fills the statuses' counts from the store.
func (e *Engine) counters(out []Status, list []*installed) {
	if e.state == nil {
		return
	}
	c, err := e.state.Counters(context.Background(), counterPrefix)
	if err != nil {
		e.log.Warn("fault counters not read from the store", "err", err)
		return
	}
	for i, in := range list {
		out[i].Matched = c[in.counter("matched")]
		out[i].Hits = c[in.counter("fired")]
	}
}
