package store_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/pspsim/pspsim/simulator/store"
)

type order struct {
	ID     string `json:"id"`
	Amount int64  `json:"amount"`
	Status string `json:"status"`
}

var ctx = context.Background()

func TestCreateGetUpdate(t *testing.T) {
	orders := store.NewTable[order](store.NewMemory(), "order")
	if err := orders.Create(ctx, "o1", order{ID: "o1", Amount: 100, Status: "created"}); err != nil {
		t.Fatal(err)
	}
	got, err := orders.Get(ctx, "o1")
	if err != nil || got.Amount != 100 {
		t.Fatalf("%+v %v", got, err)
	}
	got.Amount = 5 // a read value does not alias stored state
	again, _ := orders.Get(ctx, "o1")
	if again.Amount != 100 {
		t.Fatal("mutating a read value changed the store")
	}
	up, err := orders.Update(ctx, "o1", func(o *order) error { o.Status = "paid"; return nil })
	if err != nil || up.Status != "paid" {
		t.Fatalf("%+v %v", up, err)
	}
	if _, err := orders.Get(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("err = %v", err)
	}
	if _, err := orders.Update(ctx, "nope", func(*order) error { return nil }); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("err = %v", err)
	}
}

func TestFailedUpdateChangesNothing(t *testing.T) {
	orders := store.NewTable[order](store.NewMemory(), "order")
	orders.Create(ctx, "o1", order{ID: "o1", Status: "created"})
	boom := errors.New("illegal transition")
	got, err := orders.Update(ctx, "o1", func(o *order) error { o.Status = "half-done"; return boom })
	if !errors.Is(err, boom) || got.Status != "created" {
		t.Fatalf("%+v %v", got, err)
	}
	if o, _ := orders.Get(ctx, "o1"); o.Status != "created" {
		t.Fatalf("failed update stored %q", o.Status)
	}
}

func TestUniqueKeysAreClaimedAtomically(t *testing.T) {
	orders := store.NewTable[order](store.NewMemory(), "order")
	if err := orders.Create(ctx, "o1", order{ID: "o1"}, "m1/A", "m1/trans/1"); err != nil {
		t.Fatal(err)
	}
	if err := orders.Create(ctx, "o2", order{ID: "o2"}, "m1/B", "m1/A"); !errors.Is(err, store.ErrExists) {
		t.Fatalf("duplicate key accepted: %v", err)
	}
	if _, err := orders.Get(ctx, "o2"); !errors.Is(err, store.ErrNotFound) {
		t.Fatal("refused create left an object behind")
	}
	if _, err := orders.LookupID(ctx, "m1/B"); !errors.Is(err, store.ErrNotFound) {
		t.Fatal("refused create left a key behind")
	}
	if err := orders.Create(ctx, "o1", order{}); !errors.Is(err, store.ErrExists) {
		t.Fatalf("duplicate id accepted: %v", err)
	}
	got, err := orders.Lookup(ctx, "m1/trans/1")
	if err != nil || got.ID != "o1" {
		t.Fatalf("%+v %v", got, err)
	}
	if err := orders.Claim(ctx, "o1", "refund/R1"); err != nil {
		t.Fatal(err)
	}
	orders.Create(ctx, "o3", order{ID: "o3"})
	if err := orders.Claim(ctx, "o3", "refund/R1"); !errors.Is(err, store.ErrExists) {
		t.Fatalf("claimed a taken key: %v", err)
	}
}

func TestConcurrentCreateOfOneKeyHasOneWinner(t *testing.T) {
	orders := store.NewTable[order](store.NewMemory(), "order")
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins := 0
	for i := 0; i < 32; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			id := fmt.Sprint("o", i)
			if err := orders.Create(ctx, id, order{ID: id}, "merchant/1/order/SAME"); err == nil {
				mu.Lock()
				wins++
				mu.Unlock()
			}
		}(i)
	}
	wg.Wait()
	if wins != 1 {
		t.Fatalf("%d creates won the same unique key", wins)
	}
}

func TestConcurrentUpdatesAreSerialisedPerObject(t *testing.T) {
	orders := store.NewTable[order](store.NewMemory(), "order")
	orders.Create(ctx, "o1", order{ID: "o1"})
	var wg sync.WaitGroup
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			orders.Update(ctx, "o1", func(o *order) error { o.Amount++; return nil })
		}()
	}
	wg.Wait()
	if o, _ := orders.Get(ctx, "o1"); o.Amount != 50 {
		t.Fatalf("lost updates: %d of 50", o.Amount)
	}
}

func TestListInCreationOrderAndReset(t *testing.T) {
	s := store.NewMemory()
	orders := store.NewTable[order](s, "order")
	for _, id := range []string{"c", "a", "b"} {
		orders.Create(ctx, id, order{ID: id, Amount: int64(len(id))})
	}
	all, _ := orders.List(ctx, nil)
	if len(all) != 3 || all[0].ID != "c" || all[2].ID != "b" {
		t.Fatalf("%+v", all)
	}
	some, _ := orders.List(ctx, func(o *order) bool { return o.ID != "a" })
	if len(some) != 2 {
		t.Fatalf("%+v", some)
	}
	s.Reset(ctx)
	if all, _ := orders.List(ctx, nil); len(all) != 0 {
		t.Fatalf("reset left %+v", all)
	}
}

func BenchmarkUpdate(b *testing.B) {
	orders := store.NewTable[order](store.NewMemory(), "order")
	orders.Create(ctx, "o1", order{ID: "o1"})
	for b.Loop() {
		orders.Update(ctx, "o1", func(o *order) error { o.Amount++; return nil })
	}
}
