package clock_test

import (
	"sync"
	"testing"
	"time"

	"github.com/pspsim/pspsim/simulator/clock"
)

var t0 = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

func TestSimStandsStillUntilAdvanced(t *testing.T) {
	c := clock.NewSim(t0)
	time.Sleep(2 * time.Millisecond)
	if !c.Now().Equal(t0) {
		t.Fatalf("sim clock moved by itself: %v", c.Now())
	}
	if _, err := c.Advance(90 * time.Second); err != nil {
		t.Fatal(err)
	}
	if got := c.Now(); !got.Equal(t0.Add(90 * time.Second)) {
		t.Fatalf("now = %v", got)
	}
}

func TestSimFiresTimersInDueOrderSeeingTheirDueTime(t *testing.T) {
	c := clock.NewSim(t0)
	var got []string
	var seen []time.Time
	add := func(name string, d time.Duration) {
		c.AfterFunc(d, func() { got = append(got, name); seen = append(seen, c.Now()) })
	}
	add("c", 3*time.Hour)
	add("a", time.Second)
	add("b", 30*time.Minute)
	add("b2", 30*time.Minute) // same due time: creation order
	add("late", 49*time.Hour)
	n, err := c.Advance(48 * time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"a", "b", "b2", "c"}
	if n != 4 || len(got) != 4 {
		t.Fatalf("fired %d: %v", n, got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("order = %v, want %v", got, want)
		}
	}
	if !seen[0].Equal(t0.Add(time.Second)) || !seen[3].Equal(t0.Add(3*time.Hour)) {
		t.Fatalf("timers saw %v", seen)
	}
	if c.Pending() != 1 {
		t.Fatalf("pending = %d, want the 49h timer", c.Pending())
	}
}

// A retry schedule where each attempt schedules the next: the whole chain runs
// within one Advance, in order, as a 48h retry schedule must.
func TestSimRunsChainedTimersWithinOneAdvance(t *testing.T) {
	c := clock.NewSim(t0)
	schedule := []time.Duration{30 * time.Second, 2 * time.Minute, 10 * time.Minute, 30 * time.Minute, time.Hour, 2 * time.Hour, 4 * time.Hour, 8 * time.Hour}
	var at []time.Duration
	var next func(i int)
	next = func(i int) {
		if i >= len(schedule) {
			return
		}
		c.AfterFunc(schedule[i], func() {
			at = append(at, c.Now().Sub(t0))
			next(i + 1)
		})
	}
	next(0)
	start := time.Now()
	if _, err := c.Advance(48 * time.Hour); err != nil {
		t.Fatal(err)
	}
	if time.Since(start) > time.Second {
		t.Fatalf("48h schedule took %v of wall time", time.Since(start))
	}
	var sum time.Duration
	for i, d := range schedule {
		sum += d
		if at[i] != sum {
			t.Fatalf("attempt %d at %v, want %v", i, at[i], sum)
		}
	}
}

func TestSimStopPreventsFiring(t *testing.T) {
	c := clock.NewSim(t0)
	fired := false
	tm := c.AfterFunc(time.Minute, func() { fired = true })
	if !tm.Stop() {
		t.Fatal("Stop of a pending timer reported false")
	}
	if tm.Stop() {
		t.Fatal("second Stop reported true")
	}
	c.Advance(time.Hour)
	if fired {
		t.Fatal("stopped timer fired")
	}
}

func TestSimRefusesToGoBackwards(t *testing.T) {
	c := clock.NewSim(t0)
	if _, err := c.Advance(-time.Second); err == nil {
		t.Fatal("negative advance accepted")
	}
	if _, err := c.Set(t0.Add(-time.Hour)); err == nil {
		t.Fatal("set into the past accepted")
	}
	if _, err := c.Set(t0.Add(time.Hour)); err != nil || !c.Now().Equal(t0.Add(time.Hour)) {
		t.Fatalf("set forward: %v %v", err, c.Now())
	}
}

func TestSimConcurrentUseIsRaceFree(t *testing.T) {
	c := clock.NewSim(t0)
	var wg sync.WaitGroup
	var mu sync.Mutex
	count := 0
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			for j := 0; j < 50; j++ {
				c.AfterFunc(time.Duration(j)*time.Second, func() { mu.Lock(); count++; mu.Unlock() })
				_ = c.Now()
			}
			c.Advance(time.Second)
		}(i)
	}
	wg.Wait()
	c.Advance(time.Hour)
	if count != 400 {
		t.Fatalf("fired %d of 400", count)
	}
}

func TestRealAfterFuncFires(t *testing.T) {
	c := clock.NewReal()
	done := make(chan struct{})
	c.AfterFunc(time.Millisecond, func() { close(done) })
	select {
	case <-done:
	case <-time.After(20 * time.Second): // generous: a busy machine is slow, a broken timer never fires
		t.Fatal("real timer did not fire")
	}
	if c.Mode() != "real" {
		t.Fatal(c.Mode())
	}
}

// TestSimSyncToDoesNotWaitForAMoveWhenBehind: a timer firing inside Advance
// waits for another goroutine that catches the clock up to a time it has
// already reached (a delivery's receiver calling back into a durable
// namespace during the attempt): SyncTo returns at once instead of waiting
// for the move, which waits for it.
func TestSimSyncToDoesNotWaitForAMoveWhenBehind(t *testing.T) {
	c := clock.NewSim(t0)
	var (
		inTime bool
		fired  int
	)
	c.AfterFunc(time.Second, func() {
		synced := make(chan int, 1)
		go func() { synced <- c.SyncTo(t0) }()
		select {
		case fired = <-synced:
			inTime = true
		case <-time.After(5 * time.Second):
		}
	})
	c.Advance(time.Minute)
	if !inTime || fired != 0 {
		t.Fatalf("SyncTo to a time already reached, during a move: returned during the move %t, fired %d timers", inTime, fired)
	}
}
