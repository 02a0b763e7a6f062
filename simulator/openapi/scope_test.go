package openapi

import (
	"context"
	"testing"
	"time"

	"github.com/pspsim/pspsim/simulator/gate"
)

// otherKey stands for every key the scope does not own.
type otherKey struct{}

// TestScopeAnswersAsTheValueChain holds the request scope, filled in place,
// to the chain of context.WithValue contexts it replaces: the same note,
// pass and Request for every reader, at every step of the stack (before a
// layer has set its field the parent's value shows through, as it did
// before that layer added its context), and every other key the parent's.
func TestScopeAnswersAsTheValueChain(t *testing.T) {
	g := gate.New()
	outerPass := gate.New().Enter() // the outer request's, in its own simulator's gate
	defer outerPass.Leave()
	outerReq := &Request{OperationID: "outer"}
	for _, parent := range []context.Context{
		context.Background(),
		context.WithValue(context.Background(), otherKey{}, "x"),
		// An in-process request made inside another one: its parent has a
		// pass and a Request of its own.
		WithRequest(gate.With(context.WithValue(context.Background(), otherKey{}, "y"), outerPass), outerReq),
	} {
		sc, note := WithNote(parent)

		// The chain the stack used to build: note, then pass, then Request.
		chainNote := context.WithValue(parent, noteKey{}, &Note{})
		chain := make([]context.Context, 3)
		chain[0] = chainNote

		same := func(step int, got, want context.Context) {
			t.Helper()
			if gate.From(got) != gate.From(want) {
				t.Errorf("step %d: gate.From = %p, the chain says %p", step, gate.From(got), gate.From(want))
			}
			if FromContext(got) != FromContext(want) {
				t.Errorf("step %d: FromContext = %v, the chain says %v", step, FromContext(got), FromContext(want))
			}
			if got.Value(otherKey{}) != want.Value(otherKey{}) {
				t.Errorf("step %d: other key = %v, the chain says %v", step, got.Value(otherKey{}), want.Value(otherKey{}))
			}
			if noteFrom(got) != note {
				t.Errorf("step %d: noteFrom = %p, want the scope's note %p", step, noteFrom(got), note)
			}
			if noteFrom(want) == nil {
				t.Errorf("step %d: the chain has no note", step)
			}
			// A context derived from the scope (as handlers derive theirs)
			// answers the same.
			d, cancel := context.WithTimeout(got, time.Hour)
			defer cancel()
			if gate.From(d) != gate.From(want) || FromContext(d) != FromContext(want) || noteFrom(d) != note {
				t.Errorf("step %d: a derived context answers otherwise", step)
			}
		}
		same(0, sc, chain[0])
		pass := EnterGate(sc, g)
		if pass == nil {
			t.Fatal("EnterGate refused the request's own scope")
		}
		short, stop := context.WithTimeout(context.Background(), 20*time.Millisecond)
		if g.Quiet(short) == nil {
			t.Error("the pass EnterGate returned is not inside the gate")
		}
		stop()
		// The chain's pass is the one EnterGate entered with.
		chain[1] = gate.With(chainNote, pass)
		same(1, sc, chain[1])
		carriedReq, carried := newRequest(sc)
		if !carried {
			t.Fatal("newRequest refused the request's own scope")
		}
		carriedReq.OperationID = "inner"
		chain[2] = WithRequest(chain[1], carriedReq)
		same(2, sc, chain[2])

		// Set once: a second pass or Request (a second mount inside the
		// same request) is refused, and goes on a context of its own.
		if _, again := newRequest(sc); EnterGate(sc, g) != nil || again {
			t.Error("a field of the scope was set twice")
		}
		// Only the scope itself is filled, never one it was derived from
		// or derives from.
		d := context.WithValue(sc, otherKey{}, "z")
		_, inD := newRequest(d)
		_, inParent := newRequest(parent)
		if EnterGate(d, g) != nil || inD || EnterGate(parent, g) != nil || inParent {
			t.Error("a context other than the request's own scope was filled")
		}
		pass.Leave()
		if err := g.Quiet(context.Background()); err != nil {
			t.Error(err)
		}
	}
}

// TestScopeCancels: cancelling the parent cancels the scope and what is
// derived from it, with the same cause.
func TestScopeCancels(t *testing.T) {
	parent, cancel := context.WithCancelCause(context.Background())
	sc, _ := WithNote(parent)
	d, stop := context.WithCancel(sc)
	defer stop()
	cause := context.DeadlineExceeded
	cancel(cause)
	select {
	case <-d.Done():
	case <-time.After(time.Second):
		t.Fatal("the derived context was not cancelled")
	}
	if sc.Err() == nil || context.Cause(d) != cause {
		t.Errorf("Err %v, cause %v", sc.Err(), context.Cause(d))
	}
}
