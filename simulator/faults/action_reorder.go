package faults

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pspsim/pspsim/simulator/clock"
	"github.com/pspsim/pspsim/simulator/delivery"
)

func init() {
	builtin(Kind{
		Name:   "reorder",
		Target: Delivery,
		Doc:    "Holds the message until the next message of the same system has gone, then sends it: the receiver gets them in the wrong order. If no other message comes within maxHold (simulator clock), it leaves then.",
		Params: []Param{
			{Name: "maxHold", Type: "duration", Default: "5m", Doc: "the longest it waits for a next message (at most 72h)"},
		},
		Build: func(p *Params) (Action, error) {
			return reorder{max: p.Duration("maxHold", 5*time.Minute, time.Millisecond, 72*time.Hour)}, p.Err()
		},
	})
}

type reorder struct{ max time.Duration }

func (a reorder) Describe() string {
	return fmt.Sprintf("message held until the next one has gone (up to %s)", a.max)
}

func (a reorder) Deliver(ctx context.Context, f *Fire, req *delivery.Request, attempt int, send delivery.SendFunc) (*delivery.Response, error) {
	if f.Pairing() {
		// A message is already waiting for this one: this one goes first.
		return send(ctx, req, attempt)
	}
	system := req.System
	return nil, &delivery.Deferred{
		Reason: fmt.Sprintf("held by fault rule %s until the next %s message has gone", f.Rule.ID, system),
		Schedule: func(run func()) {
			f.Engine.held.hold(f, system, run, a.max)
		},
	}
}

// Pairing reports whether a reordered message is waiting for this one: a
// reorder action then sends this message at once (the held one follows).
func (f *Fire) Pairing() bool { return f.pairing }

// heldDeliveries are the messages reorder holds, by system, until the next
// message of their system has gone. Each Engine owns one: its delivery hook
// takes a system's held messages before an attempt (which then fires its
// rules as pairing) and releases them after it; Reset forgets them.
type heldDeliveries struct {
	mu       sync.Mutex
	bySystem map[string][]*heldDelivery
	n        atomic.Int32 // how many are held: the hook's one atomic load when none is
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
func (q *heldDeliveries) hold(f *Fire, system string, run func(), max time.Duration) {
	h := &heldDelivery{system: system, run: run, fire: f}
	// Listed and armed under one lock, so that whoever releases it sees its timer.
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.bySystem == nil {
		q.bySystem = map[string][]*heldDelivery{}
	}
	q.bySystem[system] = append(q.bySystem[system], h)
	q.n.Add(1)
	h.timer = f.Clock().AfterFunc(max, func() {
		if q.remove(h) {
			h.release(fmt.Sprintf("no other message came within %s", max))
		}
	})
}

// take removes and returns the messages held for system (nil, after one
// atomic load, when nothing is held).
func (q *heldDeliveries) take(system string) []*heldDelivery {
	if q.n.Load() == 0 {
		return nil
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	list := q.bySystem[system]
	if len(list) > 0 {
		delete(q.bySystem, system)
		q.n.Add(-int32(len(list)))
	}
	return list
}

func (q *heldDeliveries) remove(h *heldDelivery) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	list := q.bySystem[h.system]
	for i, x := range list {
		if x == h {
			q.bySystem[h.system] = append(list[:i:i], list[i+1:]...)
			q.n.Add(-1)
			return true
		}
	}
	return false
}

// reset forgets every held message without sending it (a simulator reset).
func (q *heldDeliveries) reset() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.bySystem = nil
	q.n.Store(0)
}
