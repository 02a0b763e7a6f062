package genstore

import (
	"sync"
	"time"

	"github.com/pspsim/pspsim/simulator/clock"
	"github.com/pspsim/pspsim/simulator/delivery"
)

// liveOps holds what runs on behalf of an operation outside any request:
// its delivery (attempts and retries) and its timers (deadline,
// reconciliation polls, expiry). A final result stops them; a simulator
// reset stops them all. The state itself is in the store; these are only
// the handles that let it be stopped.
type liveOps struct {
	clock clock.Clock

	mu         sync.Mutex
	gen        uint64
	deliveries map[string]*delivery.Delivery
	timers     map[string][]clock.Timer
}

func newLiveOps(c clock.Clock) *liveOps {
	return &liveOps{clock: c, deliveries: map[string]*delivery.Delivery{}, timers: map[string][]clock.Timer{}}
}

// after runs f once d has passed on the clock, unless the operation key is
// stopped or the simulator is reset before.
func (l *liveOps) after(key string, d time.Duration, f func()) {
	l.mu.Lock()
	defer l.mu.Unlock()
	gen := l.gen
	t := l.clock.AfterFunc(d, func() {
		l.mu.Lock()
		current := l.gen == gen
		l.mu.Unlock()
		if current {
			f()
		}
	})
	l.timers[key] = append(l.timers[key], t)
}

// track remembers an operation's delivery so that a final result can stop
// its retries.
func (l *liveOps) track(key string, d *delivery.Delivery) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.deliveries[key] = d
}

// stop stops an operation's delivery and timers. The attempt in flight, if
// any, completes (and its acknowledgement is still recorded).
func (l *liveOps) stop(key string) {
	l.mu.Lock()
	d := l.deliveries[key]
	ts := l.timers[key]
	delete(l.deliveries, key)
	delete(l.timers, key)
	l.mu.Unlock()
	for _, t := range ts {
		t.Stop()
	}
	if d != nil {
		d.Stop()
	}
}

// stopDelivery stops only the retries of an operation (the final result came
// another way) and keeps its timers.
func (l *liveOps) stopDelivery(key string) {
	l.mu.Lock()
	d := l.deliveries[key]
	delete(l.deliveries, key)
	l.mu.Unlock()
	if d != nil {
		d.Stop()
	}
}

// untrack forgets an operation's delivery without stopping it (it is
// finishing on its own).
func (l *liveOps) untrack(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.deliveries, key)
}

// reset stops every timer and forgets every handle; timers already running
// see the new generation and do nothing.
func (l *liveOps) reset() {
	l.mu.Lock()
	l.gen++
	timers := l.timers
	l.timers = map[string][]clock.Timer{}
	l.deliveries = map[string]*delivery.Delivery{}
	l.mu.Unlock()
	for _, ts := range timers {
		for _, t := range ts {
			t.Stop()
		}
	}
}

// busy reports whether any of the operation keys has a delivery or a timer
// (the store's retention keeps its payment).
func (l *liveOps) busy(keys ...string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, k := range keys {
		if l.deliveries[k] != nil || len(l.timers[k]) > 0 {
			return true
		}
	}
	return false
}
