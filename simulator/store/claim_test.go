package store_test

import (
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/pspsim/pspsim/simulator/store"
)

func TestNewIDDrawsAgainOnlyWhenTheIDIsTaken(t *testing.T) {
	conflict := errors.New("orderNo conflict")
	cases := []struct {
		name      string
		answers   []error // what claim answers, draw after draw
		wantID    string
		wantErr   error
		wantDraws int
	}{
		{"free at once", []error{nil}, "id0", nil, 1},
		{"two clashes, then free", []error{store.ErrIDTaken, store.ErrIDTaken, nil}, "id2", nil, 3},
		{"a wrapped clash still draws again", []error{fmt.Errorf("x: %w", store.ErrIDTaken), nil}, "id1", nil, 2},
		{"a business-key conflict is the caller's", []error{store.ErrIDTaken, conflict}, "id1", conflict, 2},
		{"a plain ErrExists is not an id clash", []error{store.ErrExists}, "id0", store.ErrExists, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			draws := 0
			id, err := store.NewID(func(attempt int) string {
				if attempt != draws {
					t.Fatalf("attempt %d at draw %d", attempt, draws)
				}
				draws++
				return fmt.Sprintf("id%d", attempt)
			}, func(id string) error { return c.answers[draws-1] })
			if id != c.wantID || !errors.Is(err, c.wantErr) || (c.wantErr == nil) != (err == nil) || draws != c.wantDraws {
				t.Fatalf("id %q err %v after %d draws; want %q %v after %d", id, err, draws, c.wantID, c.wantErr, c.wantDraws)
			}
		})
	}
	t.Run("gives up after MaxDraws", func(t *testing.T) {
		draws := 0
		_, err := store.NewID(func(int) string { draws++; return "same" }, func(string) error { return store.ErrIDTaken })
		if !errors.Is(err, store.ErrNoFreeID) || draws != store.MaxDraws {
			t.Fatalf("err %v after %d draws", err, draws)
		}
	})
}

func TestCreateAnswersErrIDTakenForTheIDAndErrExistsForAKey(t *testing.T) {
	orders := store.NewTable[order](store.NewMemory(), "order")
	if err := orders.Create(ctx, "o1", order{ID: "o1"}, "k1"); err != nil {
		t.Fatal(err)
	}
	if err := orders.Create(ctx, "o1", order{ID: "o1"}, "k2"); !errors.Is(err, store.ErrIDTaken) || !errors.Is(err, store.ErrExists) {
		t.Fatalf("same id: %v", err)
	}
	if err := orders.Create(ctx, "o2", order{ID: "o2"}, "k1"); errors.Is(err, store.ErrIDTaken) || !errors.Is(err, store.ErrExists) {
		t.Fatalf("same key: %v", err)
	}
	if err := store.DrawnKeys(orders.Create(ctx, "o2", order{ID: "o2"}, "k1")); !errors.Is(err, store.ErrIDTaken) {
		t.Fatalf("DrawnKeys of a key clash: %v", err)
	}
}

// TestCreateNewUnderAStorm draws ids from a space of 64 while 48 goroutines
// create at once: clashes are certain, and every creation still gets an id
// of its own.
func TestCreateNewUnderAStorm(t *testing.T) {
	orders := store.NewTable[order](store.NewMemory(), "order")
	var mu sync.Mutex
	next := 0
	draw := func(int) string { // 0, 0, 1, 1, 2, 2...: every id is offered twice
		mu.Lock()
		defer mu.Unlock()
		next++
		return fmt.Sprintf("o%d", (next-1)/2)
	}
	const n = 48
	ids := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			o, err := orders.CreateNew(ctx, draw, func(id string) order { return order{ID: id, Amount: int64(i)} })
			if err != nil {
				t.Errorf("creation %d: %v", i, err)
			}
			ids[i] = o.ID
		}()
	}
	wg.Wait()
	seen := map[string]bool{}
	for i, id := range ids {
		if seen[id] {
			t.Fatalf("id %s given twice", id)
		}
		seen[id] = true
		if got, err := orders.Get(ctx, id); err != nil || got.Amount != int64(i) {
			t.Fatalf("%s: %+v %v", id, got, err)
		}
	}
}

func TestClaimNewAddsADrawnKeyToAnObject(t *testing.T) {
	orders := store.NewTable[order](store.NewMemory(), "order")
	for _, id := range []string{"a", "b"} {
		if err := orders.Create(ctx, id, order{ID: id}); err != nil {
			t.Fatal(err)
		}
	}
	key := func(id string) string { return "trade/" + id }
	if err := orders.Claim(ctx, "a", key("T1")); err != nil {
		t.Fatal(err)
	}
	draws := []string{"T1", "T1", "T2"}
	got, err := orders.ClaimNew(ctx, "b", func(attempt int) string { return draws[attempt] }, key)
	if err != nil || got != "T2" {
		t.Fatalf("%q %v", got, err)
	}
	if id, _ := orders.LookupID(ctx, key("T2")); id != "b" {
		t.Fatalf("T2 belongs to %q", id)
	}
	if _, err := orders.ClaimNew(ctx, "nobody", func(int) string { return "T3" }, key); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("claim on a missing object: %v", err)
	}
}
