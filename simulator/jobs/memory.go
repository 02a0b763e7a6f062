package jobs

import (
	"context"
	"fmt"
	"sync"

	"github.com/pspsim/pspsim/simulator/clock"
)

// Memory is the Scheduler of the memory backend: each job is a timer on
// the clock (the simulator's gated clock, so that a reset stops it and a
// real-clock timer enters the gate before it runs). It keeps nothing across
// a restart, as the memory store keeps nothing.
type Memory struct {
	clock clock.Clock

	mu       sync.Mutex
	handlers map[string]Handler
	pending  map[key]*entry
}

type key struct{ kind, key string }

type entry struct {
	job   Job
	timer clock.Timer
}

// NewMemory returns a scheduler whose jobs are timers on c.
func NewMemory(c clock.Clock) *Memory {
	return &Memory{clock: c, handlers: map[string]Handler{}, pending: map[key]*entry{}}
}

// Handle implements Scheduler.
func (m *Memory) Handle(kind string, h Handler) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.handlers[kind] = h
}

// Handler returns the handler of kind, for schedulers built on this one.
func (m *Memory) Handler(kind string) (Handler, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	h, ok := m.handlers[kind]
	return h, ok
}

// Schedule implements Scheduler.
func (m *Memory) Schedule(_ context.Context, j Job) error {
	if err := check(j); err != nil {
		return err
	}
	k := key{j.Kind, j.Key}
	m.mu.Lock()
	defer m.mu.Unlock()
	h, ok := m.handlers[j.Kind]
	if !ok {
		return fmt.Errorf("%w: %s (key %s)", ErrNoHandler, j.Kind, j.Key)
	}
	if old := m.pending[k]; old != nil {
		old.timer.Stop()
	}
	e := &entry{job: j}
	m.pending[k] = e
	// Neither clock calls the function from AfterFunc itself, so setting
	// the timer under the lock cannot deadlock with the firing below.
	e.timer = m.clock.AfterFunc(j.Due.Sub(m.clock.Now()), func() {
		m.mu.Lock()
		current := m.pending[k] == e
		if current {
			delete(m.pending, k)
		}
		m.mu.Unlock()
		if current {
			h(context.Background(), e.job)
		}
	})
	return nil
}

// Cancel implements Scheduler.
func (m *Memory) Cancel(_ context.Context, kind, k string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if e := m.pending[key{kind, k}]; e != nil {
		e.timer.Stop()
		delete(m.pending, key{kind, k})
	}
	return nil
}

// Pending implements Scheduler.
func (m *Memory) Pending(kind, k string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	_, ok := m.pending[key{kind, k}]
	return ok
}

// Len implements Scheduler.
func (m *Memory) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.pending)
}

// Jobs returns a copy of the pending jobs, in no order (admin views, tests).
func (m *Memory) Jobs() []Job {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]Job, 0, len(m.pending))
	for _, e := range m.pending {
		out = append(out, e.job)
	}
	return out
}

// Reset implements Scheduler.
func (m *Memory) Reset(context.Context) error {
	m.mu.Lock()
	list := m.pending
	m.pending = map[key]*entry{}
	m.mu.Unlock()
	for _, e := range list {
		e.timer.Stop()
	}
	return nil
}
