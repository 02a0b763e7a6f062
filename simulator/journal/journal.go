// Package journal is the simulator's record of what happened: every request a
// system received or sent, every delivery attempt, every state change. Tests,
// the conformance suite and QA read it (GET /_sim/events) to judge behaviour
// from the outside. Everything recorded is redacted first: card numbers are
// masked and secrets removed, whatever the caller passed.
package journal

import (
	"strings"
	"sync"
	"time"

	"github.com/pspsim/pspsim/simulator/clock"
	"github.com/pspsim/pspsim/simulator/pan"
)

// Event is one recorded fact.
type Event struct {
	Seq     int64             `json:"seq"`
	Time    time.Time         `json:"time"`
	System  string            `json:"system"`            // genstore, codepay, vmgateway, threeds, sim, faults
	Kind    string            `json:"kind"`              // dotted: "payment.created", "delivery.attempt"
	IDs     map[string]string `json:"ids,omitempty"`     // the objects it concerns: shopId, paymentId, orderNo...
	Message string            `json:"message,omitempty"` // one human sentence
	Data    map[string]any    `json:"data,omitempty"`    // details, redacted
}

// Filter selects events. Zero fields match everything.
type Filter struct {
	System   string
	Kind     string            // exact, or a prefix ending at a dot: "delivery" matches "delivery.attempt"
	IDs      map[string]string // every pair must match
	AnyID    string            // matches when any id value equals it
	AfterSeq int64             // only events with Seq > AfterSeq
	Since    time.Time         // only events at or after Since
	Limit    int               // at most Limit events (the newest); 0 = no limit
}

// Match reports whether e passes the filter.
func (f Filter) Match(e Event) bool {
	if f.System != "" && e.System != f.System {
		return false
	}
	if f.Kind != "" && e.Kind != f.Kind && !strings.HasPrefix(e.Kind, f.Kind+".") {
		return false
	}
	for k, v := range f.IDs {
		if e.IDs[k] != v {
			return false
		}
	}
	if f.AnyID != "" {
		found := false
		for _, v := range e.IDs {
			if v == f.AnyID {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	if e.Seq <= f.AfterSeq {
		return false
	}
	if !f.Since.IsZero() && e.Time.Before(f.Since) {
		return false
	}
	return true
}

// Journal is an append-only, bounded, goroutine-safe event log.
type Journal struct {
	clock clock.Clock
	max   int

	mu     sync.Mutex
	seq    int64
	events []Event
	subs   map[int]*subscriber
	nextID int
}

type subscriber struct {
	ch     chan Event
	filter Filter
}

// DefaultMax is how many events a journal keeps before dropping the oldest.
const DefaultMax = 200_000

// New returns a journal stamping events with c, keeping at most max events
// (DefaultMax when max ≤ 0).
func New(c clock.Clock, max int) *Journal {
	if max <= 0 {
		max = DefaultMax
	}
	return &Journal{clock: c, max: max, subs: map[int]*subscriber{}}
}

// Record redacts e, stamps it with the next sequence number and the clock's
// time, stores it, and returns it as stored.
func (j *Journal) Record(e Event) Event {
	e.Message = pan.Scrub(e.Message)
	if e.Data != nil {
		e.Data = pan.Redact(e.Data).(map[string]any)
	}
	if e.IDs != nil {
		e.IDs = pan.Redact(e.IDs).(map[string]string)
	}
	now := j.clock.Now()
	j.mu.Lock()
	j.seq++
	e.Seq = j.seq
	e.Time = now
	j.events = append(j.events, e)
	if len(j.events) > j.max {
		// Drop the oldest tenth at once so appends stay amortised O(1).
		drop := len(j.events) - j.max + j.max/10
		j.events = append(j.events[:0:0], j.events[drop:]...)
	}
	for _, s := range j.subs {
		if s.filter.Match(e) {
			select {
			case s.ch <- e:
			default: // a slow reader loses events rather than stalling the simulator
			}
		}
	}
	j.mu.Unlock()
	return e
}

// Query returns the events that pass f, oldest first.
func (j *Journal) Query(f Filter) []Event {
	j.mu.Lock()
	defer j.mu.Unlock()
	var out []Event
	for _, e := range j.events {
		if f.Match(e) {
			out = append(out, e)
		}
	}
	if f.Limit > 0 && len(out) > f.Limit {
		out = out[len(out)-f.Limit:]
	}
	return out
}

// LastSeq returns the sequence number of the newest event.
func (j *Journal) LastSeq() int64 {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.seq
}

// Subscribe delivers future events passing f on the returned channel until
// cancel is called. A reader that falls more than buf events behind misses
// events (the journal itself keeps them).
func (j *Journal) Subscribe(f Filter, buf int) (<-chan Event, func()) {
	if buf <= 0 {
		buf = 256
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	id := j.nextID
	j.nextID++
	s := &subscriber{ch: make(chan Event, buf), filter: f}
	j.subs[id] = s
	return s.ch, func() {
		j.mu.Lock()
		defer j.mu.Unlock()
		if _, ok := j.subs[id]; ok {
			delete(j.subs, id)
			close(s.ch)
		}
	}
}

// Reset forgets every event. Sequence numbers keep increasing, so a reader
// polling with AfterSeq never sees an old number again.
func (j *Journal) Reset() {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.events = nil
}
