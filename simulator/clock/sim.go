package clock

import (
	"container/heap"
	"errors"
	"fmt"
	"sync"
	"time"
)

// Sim is a simulated clock: it stands still until Advance or Set moves it.
// Timers that fall due during a move run synchronously, in order of their due
// time (ties in order of creation), each seeing Now() equal to its due time; a
// timer scheduled by a running timer runs in the same move if it falls due
// before the move's target. So "advance 48h" replays a whole retry schedule,
// in order, before the call returns.
type Sim struct {
	mu     sync.Mutex
	now    time.Time
	timers timerHeap
	seq    uint64
	moving sync.Mutex // serialises Advance/Set so two moves never interleave
	// onMove learns of every Advance and Set (not of SyncTo): a durable
	// namespace shares the move with its replicas and may answer with a
	// later time another replica reached, which the clock then catches up
	// to. Guarded by moving.
	onMove func(from, to time.Time) (catchUp time.Time)
	// beforeMove learns of every Advance and Set (not of SyncTo) before the
	// clock moves, with the target: a durable namespace sets timers for the
	// jobs other replicas own that fall due by then, so that the move runs
	// them in order with its own. Guarded by moving.
	beforeMove func(to time.Time)
}

// BeforeMove sets what learns of every Advance and Set before the clock
// moves (see Sim.beforeMove).
func (s *Sim) BeforeMove(f func(to time.Time)) {
	s.moving.Lock()
	defer s.moving.Unlock()
	s.beforeMove = f
}

// before tells beforeMove of a move to `to`. Called with s.moving held.
func (s *Sim) before(to time.Time) {
	if s.beforeMove != nil {
		s.beforeMove(to)
	}
}

// OnMove sets what learns of every Advance and Set (see Sim.onMove).
func (s *Sim) OnMove(f func(from, to time.Time) (catchUp time.Time)) {
	s.moving.Lock()
	defer s.moving.Unlock()
	s.onMove = f
}

// SyncTo moves the clock forward to t, as Set does, without telling
// OnMove: the move another replica made (or a restart resumes) is caught up
// with. A t not after Now does nothing.
func (s *Sim) SyncTo(t time.Time) int {
	// Nothing to catch up with: return without waiting for a move in
	// progress, whose timers may be waiting for this very caller (a
	// delivery's receiver calling back during the attempt).
	if !t.After(s.Now()) {
		return 0
	}
	s.moving.Lock()
	defer s.moving.Unlock()
	if !t.After(s.Now()) {
		return 0
	}
	return s.runUntil(t)
}

// moved tells onMove and catches up with what it answers. Called with
// s.moving held.
func (s *Sim) moved(from time.Time, fired int) int {
	if s.onMove == nil {
		return fired
	}
	if to := s.onMove(from, s.Now()); to.After(s.Now()) {
		fired += s.runUntil(to)
	}
	return fired
}

// ErrBackwards is returned by Set when asked to move the clock back.
var ErrBackwards = errors.New("clock: the simulated clock only moves forward")

// NewSim returns a simulated clock standing at start.
func NewSim(start time.Time) *Sim {
	return &Sim{now: start}
}

// Now returns the simulated time.
func (s *Sim) Now() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.now
}

// Mode returns "sim".
func (s *Sim) Mode() string { return "sim" }

// AfterFunc schedules f at Now()+d. A d ≤ 0 timer runs at the next move
// (Advance(0) runs it at once).
func (s *Sim) AfterFunc(d time.Duration, f func()) Timer {
	s.mu.Lock()
	defer s.mu.Unlock()
	if d < 0 {
		d = 0
	}
	s.seq++
	t := &simTimer{clock: s, due: s.now.Add(d), seq: s.seq, f: f, index: -1}
	heap.Push(&s.timers, t)
	return t
}

// Pending reports how many timers wait to fire.
func (s *Sim) Pending() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.timers)
}

// NextDue reports when the earliest pending timer falls due.
func (s *Sim) NextDue() (time.Time, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.timers) == 0 {
		return time.Time{}, false
	}
	return s.timers[0].due, true
}

// Advance moves the clock forward by d, firing every timer that falls due on
// the way, and returns how many fired. A negative d is refused.
func (s *Sim) Advance(d time.Duration) (int, error) {
	if d < 0 {
		return 0, ErrBackwards
	}
	s.moving.Lock()
	defer s.moving.Unlock()
	from := s.Now()
	s.before(from.Add(d))
	return s.moved(from, s.runUntil(from.Add(d))), nil
}

// Set moves the clock to t (never backwards), firing due timers on the way.
func (s *Sim) Set(t time.Time) (int, error) {
	s.moving.Lock()
	defer s.moving.Unlock()
	from := s.Now()
	if t.Before(from) {
		return 0, ErrBackwards
	}
	s.before(t)
	return s.moved(from, s.runUntil(t)), nil
}

func (s *Sim) runUntil(target time.Time) int {
	fired := 0
	for {
		s.mu.Lock()
		if len(s.timers) == 0 || s.timers[0].due.After(target) {
			s.now = target
			s.mu.Unlock()
			return fired
		}
		t := heap.Pop(&s.timers).(*simTimer)
		if t.due.After(s.now) {
			s.now = t.due
		}
		t.fired = true
		s.mu.Unlock()
		// Run outside the lock: f may read the clock or schedule more timers.
		t.f()
		fired++
	}
}

type simTimer struct {
	clock *Sim
	due   time.Time
	seq   uint64
	f     func()
	index int
	fired bool
}

func (t *simTimer) Stop() bool {
	s := t.clock
	s.mu.Lock()
	defer s.mu.Unlock()
	if t.fired || t.index < 0 {
		return false
	}
	heap.Remove(&s.timers, t.index)
	return true
}

type timerHeap []*simTimer

func (h timerHeap) Len() int { return len(h) }
func (h timerHeap) Less(i, j int) bool {
	if h[i].due.Equal(h[j].due) {
		return h[i].seq < h[j].seq
	}
	return h[i].due.Before(h[j].due)
}
func (h timerHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index = i
	h[j].index = j
}
func (h *timerHeap) Push(x any) {
	t := x.(*simTimer)
	t.index = len(*h)
	*h = append(*h, t)
}
func (h *timerHeap) Pop() any {
	old := *h
	n := len(old)
	t := old[n-1]
	old[n-1] = nil
	t.index = -1
	*h = old[:n-1]
	return t
}

// Restore sets the clock to t, backwards too, when no timer is pending: a
// restarted durable namespace resumes the time it had reached before
// anything is scheduled on the clock it starts with.
func (s *Sim) Restore(t time.Time) error {
	s.moving.Lock()
	defer s.moving.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.timers) > 0 {
		return fmt.Errorf("clock: restore to %s with %d timers pending", t.Format(time.RFC3339), len(s.timers))
	}
	s.now = t
	return nil
}
