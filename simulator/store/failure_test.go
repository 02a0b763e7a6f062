package store_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/pspsim/pspsim/simulator/apierr"
	"github.com/pspsim/pspsim/simulator/store"
	"github.com/pspsim/pspsim/simulator/store/storetest"
)

func TestFailedMarksOnlyFailures(t *testing.T) {
	for _, answer := range []error{nil, store.ErrNotFound, fmt.Errorf("shop %q: %w", "7301", store.ErrNotFound), store.ErrExists, store.ErrIDTaken, store.ErrNoFreeID} {
		if got := store.Failed(answer); got != answer {
			t.Errorf("Failed(%v) = %v: an answer was marked", answer, got)
		}
	}
	err := store.Failed(fmt.Errorf("get shop: %w", storetest.ErrRefused))
	if !errors.Is(err, store.ErrUnavailable) || !errors.Is(err, storetest.ErrRefused) || errors.Is(err, store.ErrNotFound) {
		t.Fatalf("%v: not marked, or the cause is lost", err)
	}
	if store.Failed(err) != err {
		t.Error("Failed is not idempotent")
	}
	e := apierr.Wrap(fmt.Errorf("admin: %w", err))
	if e.Kind != apierr.Unavailable || e.Status != 503 || e.Message != store.UnavailableMessage || strings.Contains(e.Message, "hunter2") {
		t.Fatalf("apierr.Wrap: %+v", e)
	}
}

// TestTableMarksWhatItsStoreFailed: every operation of a Table over a store
// that does not answer returns ErrUnavailable — never ErrNotFound — while
// the store's answers and the callback's own errors stay what they were.
func TestTableMarksWhatItsStoreFailed(t *testing.T) {
	ctx := context.Background()
	f := storetest.NewFailing(store.NewMemory())
	tb := store.NewTable[order](f, "order", store.Index("status", func(o *order) string { return o.Status }))
	if err := tb.Create(ctx, "o1", order{ID: "o1", Amount: 100, Status: "new"}, "ref/A"); err != nil {
		t.Fatal(err)
	}
	// Answers.
	if _, err := tb.Get(ctx, "nope"); !errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrUnavailable) {
		t.Errorf("Get of a missing id: %v", err)
	}
	if _, err := tb.Lookup(ctx, "ref/B"); !errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrUnavailable) {
		t.Errorf("Lookup of a missing key: %v", err)
	}
	if err := tb.Create(ctx, "o2", order{ID: "o2"}, "ref/A"); !errors.Is(err, store.ErrExists) || errors.Is(err, store.ErrUnavailable) {
		t.Errorf("Create on a taken key: %v", err)
	}
	refused := errors.New("amount too low")
	if _, err := tb.Update(ctx, "o1", func(*order) error { return refused }); err != refused {
		t.Errorf("Update's own error came back as %v", err)
	}

	f.Fail()
	ops := map[string]func() error{
		"Get":      func() error { _, err := tb.Get(ctx, "o1"); return err },
		"Lookup":   func() error { _, err := tb.Lookup(ctx, "ref/A"); return err },
		"LookupID": func() error { _, err := tb.LookupID(ctx, "ref/A"); return err },
		"Create":   func() error { return tb.Create(ctx, "o3", order{ID: "o3"}) },
		"Update":   func() error { _, err := tb.Update(ctx, "o1", func(*order) error { return nil }); return err },
		"Claim":    func() error { return tb.Claim(ctx, "o1", "ref/C") },
		"List":     func() error { _, err := tb.List(ctx, nil); return err },
		"Find":     func() error { _, err := tb.Find(ctx, "status", "new", nil); return err },
	}
	for name, op := range ops {
		err := op()
		if !errors.Is(err, store.ErrUnavailable) || errors.Is(err, store.ErrNotFound) {
			t.Errorf("%s on a store that does not answer: %v", name, err)
		}
	}
	if f.Hits() < len(ops) {
		t.Errorf("the store failed %d operations of %d", f.Hits(), len(ops))
	}
	f.Heal()
	if _, err := tb.Get(ctx, "o1"); err != nil {
		t.Errorf("after Heal: %v", err)
	}
}

// refusingState fails every call; Load of "missing" is ErrNotFound.
type refusingState struct{ store.State }

func (refusingState) Load(_ context.Context, name string) ([]byte, int64, error) {
	if name == "missing" {
		return nil, 0, fmt.Errorf("state %s: %w", name, store.ErrNotFound)
	}
	return nil, 0, storetest.ErrRefused
}

func (refusingState) Add(context.Context, string, int64) (int64, error) {
	return 0, storetest.ErrRefused
}

func TestMarkStateMarksFailuresNotAbsence(t *testing.T) {
	ctx := context.Background()
	st := store.MarkState(refusingState{})
	if store.MarkState(st) != st {
		t.Error("MarkState wrapped a marked state again")
	}
	if _, _, err := st.Load(ctx, "missing"); !errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrUnavailable) {
		t.Errorf("Load of a missing document: %v", err)
	}
	if _, _, err := st.Load(ctx, "rules"); !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("Load the store did not answer: %v", err)
	}
	if _, err := st.Add(ctx, "hits", 1); !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("Add the store did not answer: %v", err)
	}
}
