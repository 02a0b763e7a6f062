package threeds_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/pspsim/pspsim/simulator/clock"
	"github.com/pspsim/pspsim/simulator/ids"
	"github.com/pspsim/pspsim/simulator/journal"
	"github.com/pspsim/pspsim/simulator/store"
	"github.com/pspsim/pspsim/simulator/threeds"
)

const challengeCard = "4000123456000068" // TESTCARDS 06: challenge → Y

// newService builds a service on st, as a process (or a replica) would on a
// shared database.
func newService(t *testing.T, st store.Store, c *clock.Sim, j *journal.Journal) *threeds.Service {
	t.Helper()
	svc, err := threeds.New(threeds.Options{Clock: c, Store: st, Journal: j, IDs: ids.New(7), BaseURL: func() string { return "http://sim.example" }})
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

// counter counts how a completion was told.
type counter struct {
	closure, named atomic.Int32
	mu             sync.Mutex
	data           string
	status         string
}

func (n *counter) onComplete(_ context.Context, r threeds.Result) {
	n.closure.Add(1)
	n.mu.Lock()
	n.status = r.TransStatus
	n.mu.Unlock()
}

func (n *counter) onNotify(_ context.Context, data []byte, r threeds.Result) {
	n.named.Add(1)
	n.mu.Lock()
	n.data, n.status = string(data), r.TransStatus
	n.mu.Unlock()
}

// TestCompletionIsToldOnce: a challenge's end is told once, by the closure
// when the process has it, else by the named handler — never both, and not
// again when the challenge is completed a second time.
func TestCompletionIsToldOnce(t *testing.T) {
	for _, tc := range []struct {
		name                   string
		closure, notify, named bool
		wantClosure, wantNamed int32
		wantUnclaimed          int
	}{
		{name: "closure and named handler: the closure", closure: true, notify: true, named: true, wantClosure: 1},
		{name: "closure only", closure: true, wantClosure: 1},
		{name: "named handler only", notify: true, named: true, wantNamed: 1},
		{name: "a name nobody registered is journaled", notify: true, wantUnclaimed: 1},
		{name: "neither", wantUnclaimed: 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := clock.NewSim(start)
			j := journal.New(c, 0)
			svc := newService(t, store.NewMemory(), c, j)
			var n counter
			if tc.named {
				svc.OnNotify("test.payment", n.onNotify)
			}
			r := req(challengeCard)
			if tc.closure {
				r.OnComplete = n.onComplete
			}
			if tc.notify {
				r.Notify, r.NotifyData = "test.payment", []byte("T1")
			}
			res, err := svc.Authenticate(context.Background(), r)
			if err != nil || res.TransStatus != threeds.StatusC {
				t.Fatalf("authenticate: %+v %v", res, err)
			}
			if _, err := svc.Complete(context.Background(), res.ACSTransID, threeds.Completion{Action: "result", Result: "pass"}); err != nil {
				t.Fatal(err)
			}
			if _, err := svc.Complete(context.Background(), res.ACSTransID, threeds.Completion{Action: "result", Result: "pass"}); !errors.Is(err, threeds.ErrNotPending) {
				t.Fatalf("second completion: %v, want ErrNotPending", err)
			}
			c.Advance(threeds.DefaultChallengeTimeout) // the timeout job finds it final
			if n.closure.Load() != tc.wantClosure || n.named.Load() != tc.wantNamed {
				t.Fatalf("closure told %d times, named handler %d; want %d and %d", n.closure.Load(), n.named.Load(), tc.wantClosure, tc.wantNamed)
			}
			if tc.wantNamed > 0 && (n.data != "T1" || n.status != threeds.StatusY) {
				t.Fatalf("the named handler got data %q, status %q; want T1, Y", n.data, n.status)
			}
			if got := len(j.Query(journal.Filter{Kind: "threeds.completion_unclaimed"})); got != tc.wantUnclaimed {
				t.Fatalf("journaled %d unclaimed completions, want %d", got, tc.wantUnclaimed)
			}
		})
	}
}

// TestAnotherProcessTellsTheNamedHandler: a second service on the same store
// (a restart, or another replica) that ends a challenge the first started
// tells the payment through its named handler; when both end it at once,
// the payment is told once in all, by whichever made it final.
func TestAnotherProcessTellsTheNamedHandler(t *testing.T) {
	c := clock.NewSim(start)
	j := journal.New(c, 0)
	st := store.NewMemory()
	a, b := newService(t, st, c, j), newService(t, st, c, j)
	var n counter
	a.OnNotify("test.payment", n.onNotify)
	b.OnNotify("test.payment", n.onNotify)
	authenticate := func(ref string) threeds.Result {
		r := req(challengeCard)
		r.Reference, r.OnComplete, r.Notify, r.NotifyData = ref, n.onComplete, "test.payment", []byte(ref)
		res, err := a.Authenticate(context.Background(), r)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}

	res := authenticate("T1")
	if _, err := b.Complete(context.Background(), res.ACSTransID, threeds.Completion{Action: "submit", OTP: "123456"}); err != nil {
		t.Fatal(err)
	}
	if n.closure.Load() != 0 || n.named.Load() != 1 || n.data != "T1" || n.status != threeds.StatusY {
		t.Fatalf("closure %d, named %d (data %q, status %q); want 0, 1 (T1, Y)", n.closure.Load(), n.named.Load(), n.data, n.status)
	}

	for i := range 20 {
		n.closure.Store(0)
		n.named.Store(0)
		res := authenticate("R" + string(rune('a'+i)))
		var wg sync.WaitGroup
		for _, svc := range []*threeds.Service{a, b} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				svc.Complete(context.Background(), res.ACSTransID, threeds.Completion{Action: "result", Result: "pass"})
			}()
		}
		wg.Wait()
		if got := n.closure.Load() + n.named.Load(); got != 1 {
			t.Fatalf("run %d: told %d times (closure %d, named %d), want once", i, got, n.closure.Load(), n.named.Load())
		}
	}
}

// TestClosuresOfAuthenticationsEndedElsewhereAreDropped: a process holds
// the closures of the challenges it started; those another replica ended
// (and told by name) are dropped once the closures pile up, while the
// pending ones, and those without a name to fall back on, are kept and
// still called.
func TestClosuresOfAuthenticationsEndedElsewhereAreDropped(t *testing.T) {
	c := clock.NewSim(start)
	j := journal.New(c, 0)
	st := store.NewMemory()
	a, b := newService(t, st, c, j), newService(t, st, c, j)
	var n counter
	b.OnNotify("test.payment", n.onNotify)
	authenticate := func(i int, named bool) threeds.Result {
		r := req(challengeCard)
		r.Reference, r.OnComplete = fmt.Sprintf("R%d", i), n.onComplete
		if named {
			r.Notify, r.NotifyData = "test.payment", []byte(r.Reference)
		}
		res, err := a.Authenticate(context.Background(), r)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	const endedElsewhere, unnamed = 1000, 10
	for i := range endedElsewhere {
		res := authenticate(i, i >= unnamed)
		if _, err := b.Complete(context.Background(), res.ACSTransID, threeds.Completion{Action: "result", Result: "pass"}); err != nil {
			t.Fatal(err)
		}
	}
	if got := threeds.Waiting(a); got != endedElsewhere {
		t.Fatalf("before the look: %d closures held, want %d", got, endedElsewhere)
	}
	var pending []threeds.Result
	for i := endedElsewhere; i < 1024; i++ {
		pending = append(pending, authenticate(i, true))
	}
	if got, want := threeds.Waiting(a), unnamed+len(pending); got != want {
		t.Fatalf("after the look: %d closures held, want %d (the unnamed and the pending)", got, want)
	}
	if n.named.Load() != endedElsewhere-unnamed || n.closure.Load() != 0 {
		t.Fatalf("told by name %d, by closure %d; want %d and 0", n.named.Load(), n.closure.Load(), endedElsewhere-unnamed)
	}
	if _, err := a.Complete(context.Background(), pending[0].ACSTransID, threeds.Completion{Action: "result", Result: "pass"}); err != nil {
		t.Fatal(err)
	}
	if n.closure.Load() != 1 {
		t.Fatalf("a pending challenge's closure was told %d times, want 1", n.closure.Load())
	}
}
