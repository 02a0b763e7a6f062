package gate

import (
	"sync"
	"time"

	"github.com/pspsim/pspsim/simulator/clock"
)

// Clock is a clock whose timers work inside the gate: a timer set before a
// reset never fires after it (Exclusive's reset stops every pending one,
// which also lets the simulated clock forget them), and a timer of the real
// clock, which fires on its own goroutine, enters the gate first. Timers of
// the simulated clock fire inside Advance, within the request that moves the
// clock, which holds a pass already.
type Clock struct {
	clock.Clock
	g *Gate

	mu      sync.Mutex
	pending map[*timer]struct{}
}

// NewClock wraps inner.
func NewClock(inner clock.Clock, g *Gate) *Clock {
	return &Clock{Clock: inner, g: g, pending: map[*timer]struct{}{}}
}

type timer struct {
	c     *Clock
	inner clock.Timer
}

// Stop implements clock.Timer.
func (t *timer) Stop() bool {
	t.c.forget(t)
	return t.inner.Stop()
}

func (c *Clock) forget(t *timer) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, ok := c.pending[t]
	delete(c.pending, t)
	return ok
}

// AfterFunc implements clock.Clock.
func (c *Clock) AfterFunc(d time.Duration, f func()) clock.Timer {
	gen := c.g.Generation()
	real := c.Mode() != "sim"
	t := &timer{c: c}
	// Registered and set under one lock, so that StopAll never sees a timer
	// without its inner one (neither clock calls f from AfterFunc itself).
	c.mu.Lock()
	defer c.mu.Unlock()
	c.pending[t] = struct{}{}
	t.inner = c.Clock.AfterFunc(d, func() {
		if !c.forget(t) {
			return // stopped meanwhile (by a reset)
		}
		if real {
			p := c.g.Enter()
			defer p.Leave()
			if p.Generation() != gen {
				return
			}
		} else if c.g.Generation() != gen {
			return
		}
		f()
	})
	return t
}

// StopAll stops every pending timer: a reset calls it inside Exclusive.
func (c *Clock) StopAll() int {
	c.mu.Lock()
	list := make([]*timer, 0, len(c.pending))
	for t := range c.pending {
		list = append(list, t)
	}
	c.pending = map[*timer]struct{}{}
	c.mu.Unlock()
	for _, t := range list {
		t.inner.Stop()
	}
	return len(list)
}

// Pending reports how many timers wait to fire.
func (c *Clock) Pending() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.pending)
}
