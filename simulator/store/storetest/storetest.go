// Package storetest is the behaviour every store.Store must have, as one
// table of tests that each backend (memory, SQLite, PostgreSQL) runs: a
// backend that passes it can stand in for any other.
package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pspsim/pspsim/simulator/store"
)

// Opener returns a store of the scope, empty unless a store of the same
// namespace was opened before in the same test (the namespaces test opens
// two). Stores of one Opener share one backend (one database).
type Opener func(t *testing.T, sc store.Scope) store.Store

type order struct {
	ID     string `json:"id"`
	Amount int64  `json:"amount"`
	Status string `json:"status"`
	Ref    string `json:"ref,omitempty"`
}

var seq atomic.Int64

// scope gives each test a namespace of its own, so that tests sharing one
// database never see each other's rows.
func scope(t *testing.T) store.Scope {
	return store.Scope{Namespace: fmt.Sprintf("t%d-%s", seq.Add(1), t.Name())}
}

// Case is one behaviour.
type Case struct {
	Name string
	Test func(t *testing.T, open Opener)
}

// Cases are the behaviours, by name.
var Cases = []Case{
	{"CreateGetUpdate", createGetUpdate},
	{"FailedUpdateChangesNothing", failedUpdate},
	{"IDTakenAndKeyExists", idTakenAndKeyExists},
	{"ClaimAddsKeysAtomically", claimKeys},
	{"ConcurrentCreateOfOneKeyHasOneWinner", concurrentCreate},
	{"ConcurrentUpdatesLoseNothing", concurrentUpdates},
	{"ListInCreationOrderAndListIDsAgree", listOrder},
	{"ResetDropsOnlyItsNamespace", resetNamespace},
	{"NamespacesAreIsolated", namespacesIsolated},
	{"RetentionEvictsOldestFinalObjectsOnly", retentionByCount},
	{"RetentionByAge", retentionByAge},
	{"FindFollowsUpdatesAndEviction", findFollows},
	{"UpdateInsideAnotherUpdate", nestedUpdates},
}

// Run runs every case against the stores open makes.
func Run(t *testing.T, open Opener) {
	for _, c := range Cases {
		t.Run(c.Name, func(t *testing.T) { c.Test(t, open) })
	}
}

var ctx = context.Background()

func createGetUpdate(t *testing.T, open Opener) {
	s := open(t, scope(t))
	orders := store.NewTable[order](s, "order")
	if err := orders.Create(ctx, "o1", order{ID: "o1", Amount: 100, Status: "created"}); err != nil {
		t.Fatal(err)
	}
	got, err := orders.Get(ctx, "o1")
	if err != nil || got.Amount != 100 || got.Status != "created" {
		t.Fatalf("Get = %+v, %v", got, err)
	}
	up, err := orders.Update(ctx, "o1", func(o *order) error { o.Status = "paid"; return nil })
	if err != nil || up.Status != "paid" {
		t.Fatalf("Update = %+v, %v", up, err)
	}
	if got, _ := orders.Get(ctx, "o1"); got.Status != "paid" {
		t.Fatalf("after Update, Get = %+v", got)
	}
	if _, err := orders.Get(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Get of a missing id: %v", err)
	}
	if _, err := orders.Update(ctx, "nope", func(*order) error { return nil }); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Update of a missing id: %v", err)
	}
	// The raw documents round-trip byte for byte.
	doc := []byte(`{"id":"raw","amount":7,"status":"x"}`)
	if err := s.Create(ctx, "order", "raw", doc); err != nil {
		t.Fatal(err)
	}
	back, err := s.Get(ctx, "order", "raw")
	if err != nil {
		t.Fatal(err)
	}
	var o order
	if err := json.Unmarshal(back, &o); err != nil || o.Amount != 7 {
		t.Fatalf("raw document came back as %s (%v)", back, err)
	}
}

func failedUpdate(t *testing.T, open Opener) {
	orders := store.NewTable[order](open(t, scope(t)), "order")
	if err := orders.Create(ctx, "o1", order{ID: "o1", Status: "created"}); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("illegal transition")
	got, err := orders.Update(ctx, "o1", func(o *order) error { o.Status = "half-done"; return boom })
	if !errors.Is(err, boom) || got.Status != "created" {
		t.Fatalf("Update = %+v, %v; want the error and the old value", got, err)
	}
	if o, _ := orders.Get(ctx, "o1"); o.Status != "created" {
		t.Fatalf("a failed update stored %q", o.Status)
	}
}

func idTakenAndKeyExists(t *testing.T, open Opener) {
	s := open(t, scope(t))
	orders := store.NewTable[order](s, "order")
	if err := orders.Create(ctx, "o1", order{ID: "o1"}, "m1/A", "m1/trans/1"); err != nil {
		t.Fatal(err)
	}
	err := orders.Create(ctx, "o2", order{ID: "o2"}, "m1/B", "m1/A")
	if !errors.Is(err, store.ErrExists) || errors.Is(err, store.ErrIDTaken) {
		t.Fatalf("a taken key: %v; want ErrExists, not ErrIDTaken", err)
	}
	if _, err := orders.Get(ctx, "o2"); !errors.Is(err, store.ErrNotFound) {
		t.Fatal("a refused create left its object behind")
	}
	if _, err := orders.LookupID(ctx, "m1/B"); !errors.Is(err, store.ErrNotFound) {
		t.Fatal("a refused create left a key behind")
	}
	if err := orders.Create(ctx, "o1", order{}, "m1/C"); !errors.Is(err, store.ErrIDTaken) {
		t.Fatalf("a taken id: %v; want ErrIDTaken", err)
	}
	if _, err := orders.LookupID(ctx, "m1/C"); !errors.Is(err, store.ErrNotFound) {
		t.Fatal("a create refused for its id left a key behind")
	}
	if id, err := orders.LookupID(ctx, "m1/trans/1"); err != nil || id != "o1" {
		t.Fatalf("Lookup = %q, %v", id, err)
	}
	if got, err := orders.Lookup(ctx, "m1/A"); err != nil || got.ID != "o1" {
		t.Fatalf("Lookup = %+v, %v", got, err)
	}
	// A key repeated in one call is claimed once.
	if err := orders.Create(ctx, "o3", order{ID: "o3"}, "m1/D", "m1/D"); err != nil {
		t.Fatalf("a key repeated in one create: %v", err)
	}
	// Keys belong to a kind: another kind may use the same key.
	others := store.NewTable[order](s, "refund")
	if err := others.Create(ctx, "r1", order{ID: "r1"}, "m1/A"); err != nil {
		t.Fatalf("the same key in another kind: %v", err)
	}
}

func claimKeys(t *testing.T, open Opener) {
	s := open(t, scope(t))
	orders := store.NewTable[order](s, "order")
	for _, id := range []string{"o1", "o2"} {
		if err := orders.Create(ctx, id, order{ID: id}, id+"/own"); err != nil {
			t.Fatal(err)
		}
	}
	if err := orders.Claim(ctx, "o1", "tradeNo/1", "o1/own"); err != nil {
		t.Fatalf("claiming a free key and one's own: %v", err)
	}
	if err := orders.Claim(ctx, "o2", "tradeNo/2", "tradeNo/1"); !errors.Is(err, store.ErrExists) {
		t.Fatalf("claiming another's key: %v; want ErrExists", err)
	}
	if _, err := orders.LookupID(ctx, "tradeNo/2"); !errors.Is(err, store.ErrNotFound) {
		t.Fatal("a refused claim took some of its keys")
	}
	if err := orders.Claim(ctx, "nope", "tradeNo/3"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("claiming for a missing object: %v", err)
	}
	if id, _ := orders.LookupID(ctx, "tradeNo/1"); id != "o1" {
		t.Fatalf("tradeNo/1 belongs to %q", id)
	}
	// ClaimNew draws again when the drawn key is taken.
	drawn, err := orders.ClaimNew(ctx, "o2", func(a int) string { return []string{"1", "9"}[min(a, 1)] },
		func(d string) string { return "tradeNo/" + d })
	if err != nil || drawn != "9" {
		t.Fatalf("ClaimNew = %q, %v; want 9 after the clash on 1", drawn, err)
	}
}

func concurrentCreate(t *testing.T, open Opener) {
	s := open(t, scope(t))
	orders := store.NewTable[order](s, "order")
	const n = 24
	var wins, exists atomic.Int32
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			err := orders.Create(ctx, "o"+strconv.Itoa(i), order{ID: strconv.Itoa(i)}, "merchant/1/order/A")
			switch {
			case err == nil:
				wins.Add(1)
			case errors.Is(err, store.ErrExists):
				exists.Add(1)
			default:
				t.Errorf("create %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	if wins.Load() != 1 || exists.Load() != n-1 {
		t.Fatalf("%d created, %d refused; want 1 and %d", wins.Load(), exists.Load(), n-1)
	}
	var live int
	if err := s.List(ctx, "order", func(string, []byte) bool { live++; return true }); err != nil {
		t.Fatal(err)
	}
	if live != 1 {
		t.Fatalf("%d objects stored, want 1", live)
	}
}

func concurrentUpdates(t *testing.T, open Opener) {
	orders := store.NewTable[order](open(t, scope(t)), "order")
	if err := orders.Create(ctx, "o1", order{ID: "o1"}); err != nil {
		t.Fatal(err)
	}
	if err := orders.Create(ctx, "o2", order{ID: "o2"}); err != nil {
		t.Fatal(err)
	}
	const writers, each = 8, 25
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for range each {
				id := []string{"o1", "o2"}[w%2]
				if _, err := orders.Update(ctx, id, func(o *order) error { o.Amount++; return nil }); err != nil {
					t.Errorf("update: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
	for _, id := range []string{"o1", "o2"} {
		if o, _ := orders.Get(ctx, id); o.Amount != writers/2*each {
			t.Fatalf("%s: amount %d after %d increments: updates were lost", id, o.Amount, writers/2*each)
		}
	}
}

func listOrder(t *testing.T, open Opener) {
	s := open(t, scope(t))
	orders := store.NewTable[order](s, "order")
	// Ids that sort otherwise than they are created.
	want := []string{"z", "b", "y", "a", "m"}
	for i, id := range want {
		if err := orders.Create(ctx, id, order{ID: id, Amount: int64(i)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := orders.Update(ctx, "z", func(o *order) error { o.Status = "moved?"; return nil }); err != nil {
		t.Fatal(err)
	}
	all, err := orders.List(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, o := range all {
		got = append(got, o.ID)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("List order %v, want creation order %v", got, want)
	}
	some, _ := orders.List(ctx, func(o *order) bool { return o.Amount%2 == 0 })
	if len(some) != 3 {
		t.Fatalf("List with keep: %d, want 3", len(some))
	}
	var raw []string
	if err := s.List(ctx, "order", func(id string, _ []byte) bool { raw = append(raw, id); return len(raw) < 2 }); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(raw, want[:2]) {
		t.Fatalf("List stopping after 2: %v", raw)
	}
	l, ok := s.(store.IDLister)
	if !ok {
		t.Fatalf("%T does not list ids", s)
	}
	var ids []string
	if err := l.ListIDs(ctx, "order", func(id string) bool { ids = append(ids, id); return true }); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ids, want) {
		t.Fatalf("ListIDs %v, want %v", ids, want)
	}
	if err := l.ListIDs(ctx, "nothing", func(string) bool { t.Fatal("an empty kind listed"); return true }); err != nil {
		t.Fatal(err)
	}
}

func resetNamespace(t *testing.T, open Opener) {
	a, b := scope(t), scope(t)
	sa, sb := open(t, a), open(t, b)
	for _, s := range []store.Store{sa, sb} {
		if err := s.Create(ctx, "order", "o1", []byte(`{"id":"o1"}`), "key/1"); err != nil {
			t.Fatal(err)
		}
	}
	if err := sa.Reset(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := sa.Get(ctx, "order", "o1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("after Reset, Get: %v", err)
	}
	if _, err := sa.Lookup(ctx, "order", "key/1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("after Reset, Lookup: %v", err)
	}
	if err := sa.Create(ctx, "order", "o1", []byte(`{"id":"o1"}`), "key/1"); err != nil {
		t.Fatalf("after Reset the id and key are free again: %v", err)
	}
	if _, err := sb.Get(ctx, "order", "o1"); err != nil {
		t.Fatalf("Reset of one namespace dropped another's object: %v", err)
	}
}

func namespacesIsolated(t *testing.T, open Opener) {
	a, b := scope(t), scope(t)
	sa, sb := open(t, a), open(t, b)
	if err := sa.Create(ctx, "order", "o1", []byte(`{"id":"o1","amount":1}`), "key/1"); err != nil {
		t.Fatal(err)
	}
	if _, err := sb.Get(ctx, "order", "o1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("another namespace sees the object: %v", err)
	}
	if err := sb.Create(ctx, "order", "o1", []byte(`{"id":"o1","amount":2}`), "key/1"); err != nil {
		t.Fatalf("the same id and key in another namespace: %v", err)
	}
	doc, _ := sa.Get(ctx, "order", "o1")
	var o order
	_ = json.Unmarshal(doc, &o)
	if o.Amount != 1 {
		t.Fatalf("namespace a's object changed: %s", doc)
	}
}

// final is the retention rule of the tests: a paid order may go; one whose
// Ref names an order not stored (yet) must stay.
func final(s store.Store) store.Table[order] {
	return store.NewTable(s, "order", store.Evictable(func(o *order, peek store.Peek) bool {
		if o.Ref != "" && !peek.Exists("order", o.Ref) {
			return false
		}
		return o.Status == "paid"
	}))
}

func retentionByCount(t *testing.T, open Opener) {
	sc := scope(t)
	sc.Retention = store.Retention{MaxObjects: 10}
	orders := final(open(t, sc))
	for i := range 40 {
		status := "paid"
		if i%4 == 0 {
			status = "pending"
		}
		id := fmt.Sprintf("o%02d", i)
		if err := orders.Create(ctx, id, order{ID: id, Status: status}, "key/"+id); err != nil {
			t.Fatal(err)
		}
	}
	all, err := orders.List(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	var pending int
	for _, o := range all {
		if o.Status == "pending" {
			pending++
		}
	}
	if pending != 10 {
		t.Fatalf("%d pending orders kept, want all 10: a pending object was evicted", pending)
	}
	if len(all) > 10+11 {
		t.Fatalf("%d orders kept with a limit of 10 (and 10 pending)", len(all))
	}
	// The newest survive; the oldest paid ones went, with their keys.
	if _, err := orders.Get(ctx, "o39"); err != nil {
		t.Fatalf("the newest order went: %v", err)
	}
	if _, err := orders.Get(ctx, "o01"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the oldest paid order stayed: %v", err)
	}
	if _, err := orders.LookupID(ctx, "key/o01"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("an evicted order's key stayed: %v", err)
	}
}

func retentionByAge(t *testing.T, open Opener) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	sc := scope(t)
	sc.Now = func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	sc.Retention = store.Retention{MaxAge: time.Hour}
	orders := final(open(t, sc))
	for i := range 4 {
		status := map[bool]string{true: "paid", false: "pending"}[i != 1]
		id := fmt.Sprintf("old%d", i)
		if err := orders.Create(ctx, id, order{ID: id, Status: status}); err != nil {
			t.Fatal(err)
		}
	}
	mu.Lock()
	now = now.Add(2 * time.Hour)
	mu.Unlock()
	if err := orders.Create(ctx, "new", order{ID: "new", Status: "paid"}); err != nil {
		t.Fatal(err)
	}
	all, _ := orders.List(ctx, nil)
	var ids []string
	for _, o := range all {
		ids = append(ids, o.ID)
	}
	if !slices.Equal(ids, []string{"old1", "new"}) {
		t.Fatalf("after two hours kept %v, want the pending old1 and new", ids)
	}
}

func findFollows(t *testing.T, open Opener) {
	sc := scope(t)
	sc.Retention = store.Retention{MaxObjects: 4}
	s := open(t, sc)
	orders := store.NewTable(s, "order",
		store.Index("status", func(o *order) string { return o.Status }),
		store.Evictable(func(o *order, _ store.Peek) bool { return o.Status == "paid" }))
	for i, st := range []string{"created", "paid", "created", "failed"} {
		id := fmt.Sprintf("o%d", i)
		if err := orders.Create(ctx, id, order{ID: id, Status: st}); err != nil {
			t.Fatal(err)
		}
	}
	ids := func(status string) []string {
		t.Helper()
		list, err := orders.Find(ctx, "status", status, nil)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, o := range list {
			out = append(out, o.ID)
		}
		return out
	}
	if got := ids("created"); !slices.Equal(got, []string{"o0", "o2"}) {
		t.Fatalf("Find created = %v", got)
	}
	if _, err := orders.Update(ctx, "o0", func(o *order) error { o.Status = "failed"; return nil }); err != nil {
		t.Fatal(err)
	}
	if got := ids("created"); !slices.Equal(got, []string{"o2"}) {
		t.Fatalf("after an update, Find created = %v", got)
	}
	if got := ids("failed"); !slices.Equal(got, []string{"o0", "o3"}) {
		t.Fatalf("after an update, Find failed = %v (creation order)", got)
	}
	// A failed update moves nothing.
	_, _ = orders.Update(ctx, "o2", func(o *order) error { o.Status = "paid"; return errors.New("no") })
	if got := ids("created"); !slices.Equal(got, []string{"o2"}) {
		t.Fatalf("after a failed update, Find created = %v", got)
	}
	// Past the limit, the paid o1 is evicted: the index forgets it.
	for i := 4; i < 12; i++ {
		id := fmt.Sprintf("o%d", i)
		if err := orders.Create(ctx, id, order{ID: id, Status: "created"}); err != nil {
			t.Fatal(err)
		}
	}
	if got := ids("paid"); len(got) != 0 {
		t.Fatalf("evicted objects still found: %v", got)
	}
	if _, err := orders.Find(ctx, "nope", "x", nil); err == nil {
		t.Fatal("Find on an undeclared index succeeded")
	}
}

// nestedUpdates: domain code updates one object inside the update of
// another (a gateway payment binds its 3-D Secure transaction). Many at once,
// all inner updates on one object: nothing deadlocks, nothing is lost.
func nestedUpdates(t *testing.T, open Opener) {
	s := open(t, scope(t))
	orders := store.NewTable[order](s, "order")
	const n = 48
	for i := range n {
		if err := orders.Create(ctx, fmt.Sprintf("outer%d", i), order{}); err != nil {
			t.Fatal(err)
		}
	}
	if err := orders.Create(ctx, "inner", order{}); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			_, err := orders.Update(ctx, fmt.Sprintf("outer%d", i), func(o *order) error {
				o.Amount++
				_, err := orders.Update(ctx, "inner", func(in *order) error { in.Amount++; return nil })
				return err
			})
			if err != nil {
				t.Errorf("nested update: %v", err)
			}
		})
	}
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		t.Fatal("updates inside updates deadlocked")
	}
	if in, _ := orders.Get(ctx, "inner"); in.Amount != n {
		t.Fatalf("inner amount %d, want %d", in.Amount, n)
	}
}
