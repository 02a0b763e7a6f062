package store_test

import (
	"errors"
	"fmt"
	"reflect"
	"testing"

	"github.com/pspsim/pspsim/simulator/store"
)

// TestGetSharedIsGetAfterEveryChange holds GetShared to Get through
// creates, updates (a changed list, a changed string), a failed update,
// an eviction, a Reset and a create anew, on the memory store and on one
// that keeps documents (where it is Get).
func TestGetSharedIsGetAfterEveryChange(t *testing.T) {
	for _, c := range []struct {
		name string
		s    store.Store
	}{{"memory", store.NewMemoryWith(store.MemoryOptions{Retention: store.Retention{MaxObjects: 3}})}, {"documents", jsonOnly{store.NewMemory()}}} {
		t.Run(c.name, func(t *testing.T) {
			tb := plainTable(c.s)
			same := func(step, id string) {
				t.Helper()
				want, werr := tb.Get(ctx, id)
				for range 2 { // decoded, then kept
					got, err := tb.GetShared(ctx, id)
					if !errors.Is(err, werr) && (err == nil || werr == nil || err.Error() != werr.Error()) {
						t.Fatalf("%s: %s: error %v, Get's %v", step, id, err, werr)
					}
					if !reflect.DeepEqual(got, want) {
						t.Fatalf("%s: %s:\n got %+v\nwant %+v", step, id, got, want)
					}
				}
			}
			p1, p2 := samplePlain("p1"), samplePlain("p2")
			p1.Status, p2.Status = "PENDING", "PENDING"
			tb.Create(ctx, "p1", p1)
			tb.Create(ctx, "p2", p2)
			same("created", "p1")
			same("created", "p2")
			tb.Update(ctx, "p1", func(p *plain) error {
				p.History = append(p.History, transition{To: "AUTHORIZED"})
				p.Tags = map[string]string{"k": "v"}
				return nil
			})
			same("list changed", "p1")
			tb.Update(ctx, "p1", func(p *plain) error { p.Status = "CAPTURED"; return nil })
			same("string changed", "p1")
			tb.Update(ctx, "p2", func(p *plain) error { p.Status = "X"; return errors.New("refused") })
			same("update failed", "p2")
			for _, id := range []string{"p3", "p4", "p5", "p6"} {
				tb.Create(ctx, id, samplePlain(id))
			}
			same("evicted", "p1")
			same("kept", "p2")
			c.s.Reset(ctx)
			same("reset", "p2")
			p2.Amount = 777
			tb.Create(ctx, "p2", p2)
			same("created anew", "p2")
		})
	}
}

// TestGetSharedAllocatesNothingOnceDecoded: the point of it.
func TestGetSharedAllocatesNothingOnceDecoded(t *testing.T) {
	tb := plainTable(store.NewMemory())
	tb.Create(ctx, "p1", samplePlain("p1"))
	if n := testing.AllocsPerRun(100, func() { tb.GetShared(ctx, "p1") }); n != 0 {
		t.Fatalf("a shared read allocates %v times", n)
	}
	if n := testing.AllocsPerRun(100, func() { tb.Get(ctx, "p1") }); n == 0 {
		t.Fatal("Get allocates nothing either: the test's value has no list")
	}
}

// TestGetSharedUnderConcurrentUpdates: readers never see a value that was
// never stored, nor an older one once a newer one was read (run with -race).
func TestGetSharedUnderConcurrentUpdates(t *testing.T) {
	tb := plainTable(store.NewMemory())
	p := samplePlain("p1")
	p.Amount = 0
	tb.Create(ctx, "p1", p)
	done := make(chan struct{})
	errs := make(chan error, 4)
	for range 3 {
		go func() {
			last := int64(-1)
			for {
				select {
				case <-done:
					errs <- nil
					return
				default:
				}
				got, err := tb.GetShared(ctx, "p1")
				if err != nil || got.Amount < last || len(got.History) != len(p.History)+int(got.Amount) {
					errs <- fmt.Errorf("read amount %d after %d, %d transitions: %v", got.Amount, last, len(got.History), err)
					return
				}
				last = got.Amount
			}
		}()
	}
	for range 300 {
		tb.Update(ctx, "p1", func(q *plain) error {
			q.Amount++
			q.History = append(q.History, transition{To: "X"})
			return nil
		})
	}
	close(done)
	for range 3 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}
