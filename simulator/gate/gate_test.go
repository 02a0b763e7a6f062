package gate_test

import (
	"context"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pspsim/pspsim/simulator/clock"
	"github.com/pspsim/pspsim/simulator/gate"
)

// wait is the patience of these tests for something that should happen at
// once: generous, so that a busy machine does not fail them.
const wait = 20 * time.Second

func TestResetWaitsForThePassesInsideAndHoldsNewOnesBack(t *testing.T) {
	g := gate.New()
	inside := g.Enter()
	var resetting, resetDone, lateEntered atomic.Bool
	done := make(chan error)
	go func() {
		done <- g.Exclusive(func() error {
			resetting.Store(true)
			time.Sleep(20 * time.Millisecond) // a late pass would slip in now
			resetDone.Store(true)
			return nil
		})
	}()
	time.Sleep(10 * time.Millisecond)
	if resetting.Load() {
		t.Fatal("the reset ran while a pass was inside")
	}
	inside.Leave()
	for !resetting.Load() {
		time.Sleep(time.Millisecond)
	}
	late := g.Enter() // arrives during the reset: let in after it
	lateEntered.Store(true)
	if !resetDone.Load() {
		t.Fatal("a pass entered in the middle of the reset")
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if late.Generation() != 1 || g.Generation() != 1 || inside.Generation() != 0 {
		t.Fatalf("generations: late %d, gate %d, first %d", late.Generation(), g.Generation(), inside.Generation())
	}
	late.Leave()
	late.Leave() // twice is harmless
	if err := g.Exclusive(func() error { return nil }); err != nil || g.Generation() != 2 {
		t.Fatalf("a second reset: %v, generation %d", err, g.Generation())
	}
}

// TestResetLetsInWhatTheInsideWaitsFor: a request inside the gate waits for
// a second one (Genstore's payment waits for the app, which calls the card
// gateway first). The reset must not keep the second out until the first
// times out.
func TestResetLetsInWhatTheInsideWaitsFor(t *testing.T) {
	g := gate.New()
	outer := g.Enter()
	nestedIn := make(chan struct{})
	go func() {
		<-time.After(5 * time.Millisecond) // the reset is waiting by now
		p := g.Enter()
		close(nestedIn)
		p.Leave()
	}()
	ran := make(chan struct{})
	go g.Exclusive(func() error { close(ran); return nil })
	select {
	case <-nestedIn:
	case <-time.After(wait):
		t.Fatal("the nested request was kept out while the reset waited")
	}
	select {
	case <-ran:
		t.Fatal("the reset ran while the outer request was inside")
	default:
	}
	outer.Leave()
	select {
	case <-ran:
	case <-time.After(wait):
		t.Fatal("the reset never ran")
	}
}

func TestHoldStepsOutAndTellsAResetHappened(t *testing.T) {
	g := gate.New()
	p := g.Enter()
	r := httptest.NewRequest("GET", "/", nil)
	r = r.WithContext(gate.With(r.Context(), p))
	back := gate.Hold(httptest.NewRecorder(), r)
	done := make(chan error)
	go func() { done <- g.Exclusive(func() error { return nil }) }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(wait):
		t.Fatal("the reset waited for a held request")
	}
	if back() {
		t.Fatal("back said the world is the same after a reset")
	}
	p.Leave()
	if !gate.Hold(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))() {
		t.Fatal("without a pass, back must report the same world")
	}
}

func TestTimersOfAnOlderWorldNeverFire(t *testing.T) {
	sim := clock.NewSim(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	g := gate.New()
	c := gate.NewClock(sim, g)
	var before, after atomic.Int32
	c.AfterFunc(time.Minute, func() { before.Add(1) })
	stopped := c.AfterFunc(time.Minute, func() { before.Add(100) })
	stopped.Stop()
	if err := g.Exclusive(func() error { c.StopAll(); return nil }); err != nil {
		t.Fatal(err)
	}
	c.AfterFunc(time.Minute, func() { after.Add(1) })
	if n := c.Pending(); n != 1 || sim.Pending() != 1 {
		t.Fatalf("pending after the reset: %d wrapped, %d in the simulated clock", n, sim.Pending())
	}
	sim.Advance(time.Hour)
	if before.Load() != 0 || after.Load() != 1 {
		t.Fatalf("fired: %d from before the reset, %d after", before.Load(), after.Load())
	}

	// A timer whose world ended while it waited to fire is dropped even if
	// nothing stopped it: it fires after a reset that did not call StopAll.
	c.AfterFunc(time.Minute, func() { before.Add(1) })
	g.Exclusive(func() error { return nil })
	sim.Advance(time.Hour)
	if before.Load() != 0 {
		t.Fatal("a timer of the older world fired")
	}
}

// TestRealTimersEnterTheGate: timers of the real clock fire on their own
// goroutines; none may run during a reset, and none set before it may run
// after it.
func TestRealTimersEnterTheGate(t *testing.T) {
	g := gate.New()
	c := gate.NewClock(clock.NewReal(), g)
	var resetting atomic.Bool
	var during, stale, fired atomic.Int32
	schedule := func(n int) {
		for i := range n {
			gen := g.Generation()
			c.AfterFunc(time.Duration(i%20)*time.Millisecond, func() {
				fired.Add(1)
				if resetting.Load() {
					during.Add(1)
				}
				if g.Generation() != gen {
					stale.Add(1)
				}
			})
		}
	}
	schedule(200)
	for range 5 {
		g.Exclusive(func() error {
			resetting.Store(true)
			time.Sleep(3 * time.Millisecond)
			resetting.Store(false)
			return nil
		})
		schedule(50)
	}
	deadline := time.Now().Add(wait)
	for c.Pending() > 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if during.Load() != 0 || stale.Load() != 0 {
		t.Fatalf("%d timers fired during a reset, %d into a newer world (of %d fired)", during.Load(), stale.Load(), fired.Load())
	}
	if fired.Load() == 0 {
		t.Fatal("no timer fired")
	}
}

// TestQuietWaitsForThePassesInside: Quiet returns once the last pass
// leaves, without shutting the gate (work may still enter), and gives up
// when its context ends.
func TestQuietWaitsForThePassesInside(t *testing.T) {
	g := gate.New()
	p := g.Enter()
	left := make(chan struct{})
	go func() {
		time.Sleep(30 * time.Millisecond) // wall time: the work inside takes a while
		close(left)
		p.Leave()
	}()
	if err := g.Quiet(context.Background()); err != nil {
		t.Fatal(err)
	}
	select {
	case <-left:
	default:
		t.Fatal("Quiet returned while a pass was inside")
	}
	q := g.Enter() // the gate is open
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := g.Quiet(ctx); err == nil {
		t.Fatal("Quiet returned with a pass inside and its context ended")
	}
	q.Leave()
	if err := g.Quiet(context.Background()); err != nil {
		t.Fatal(err)
	}
}
