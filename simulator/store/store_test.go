package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pspsim/pspsim/simulator/store"
	"github.com/pspsim/pspsim/simulator/store/storetest"
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

// payment is shaped like the systems' stored objects: pointers, slices of
// structs, maps, times, a field JSON never carries.
type payment struct {
	ID        string            `json:"id"`
	Amount    int64             `json:"amount"`
	Status    string            `json:"status"`
	Merchant  string            `json:"merchant"`
	ThreeDS   *threeDS          `json:"threeDs,omitempty"`
	History   []transition      `json:"history"`
	Tags      map[string]string `json:"tags,omitempty"`
	Extra     map[string]any    `json:"extra,omitempty"`
	CreatedAt time.Time         `json:"createdAt"`
	ExpiresAt *time.Time        `json:"expiresAt,omitempty"`
	Scratch   string            `json:"-"`
}

type threeDS struct {
	ECI   string   `json:"eci"`
	Steps []string `json:"steps"`
}

type transition struct {
	To string    `json:"to"`
	At time.Time `json:"at"`
}

func samplePayment(id string) payment {
	at := time.Now() // with a monotonic reading, which JSON drops
	exp := at.Add(time.Hour)
	return payment{ID: id, Amount: 1000, Status: "AUTHORIZED", Merchant: "M1", ThreeDS: &threeDS{ECI: "05", Steps: []string{"a"}},
		History: []transition{{To: "AUTHORIZED", At: at}}, Tags: map[string]string{"k": "v"},
		Extra: map[string]any{"n": 1, "list": []any{"x", map[string]any{"y": true}}}, CreatedAt: at, ExpiresAt: &exp, Scratch: "not stored"}
}

// jsonOnly hides the memory store behind the bare Store interface, so that
// a table treats it as any other backend (JSON documents).
type jsonOnly struct{ store.Store }

func TestValuesReadBackAsJSONWouldGiveThem(t *testing.T) {
	viaValues := store.NewTable[payment](store.NewMemory(), "payment")
	viaJSON := store.NewTable[payment](jsonOnly{store.NewMemory()}, "payment")
	p := samplePayment("p1")
	for _, tb := range []store.Table[payment]{viaValues, viaJSON} {
		if err := tb.Create(ctx, "p1", p); err != nil {
			t.Fatal(err)
		}
	}
	a, _ := viaValues.Get(ctx, "p1")
	b, _ := viaJSON.Get(ctx, "p1")
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	if string(ja) != string(jb) {
		t.Fatalf("values and JSON differ:\n%s\n%s", ja, jb)
	}
	if a.Scratch != "" || b.Scratch != "" {
		t.Fatalf("a json:\"-\" field was kept: %q %q", a.Scratch, b.Scratch)
	}
	if a.CreatedAt != b.CreatedAt || !a.History[0].At.Equal(p.History[0].At) || a.CreatedAt == p.CreatedAt {
		t.Fatalf("times: values %v, JSON %v (the monotonic reading must go, as with JSON)", a.CreatedAt, b.CreatedAt)
	}
	// A number under an interface is what JSON makes of it.
	if _, ok := b.Extra["n"].(float64); !ok {
		t.Fatalf("JSON gave %T", b.Extra["n"])
	}
}

func TestNothingReadOrWrittenAliasesStoredValues(t *testing.T) {
	payments := store.NewTable[payment](store.NewMemory(), "payment")
	p := samplePayment("p1")
	payments.Create(ctx, "p1", p)
	// The caller's value is not the stored one.
	p.ThreeDS.ECI, p.History[0].To, p.Tags["k"] = "xx", "xx", "xx"
	got, _ := payments.Get(ctx, "p1")
	if got.ThreeDS.ECI != "05" || got.History[0].To != "AUTHORIZED" || got.Tags["k"] != "v" {
		t.Fatalf("changing the created value changed the store: %+v", got)
	}
	// Nor is what Get returns.
	got.ThreeDS.Steps[0], got.Extra["list"].([]any)[1].(map[string]any)["y"] = "changed", false
	got.History = append(got.History, transition{To: "X"})
	again, _ := payments.Get(ctx, "p1")
	if again.ThreeDS.Steps[0] != "a" || again.Extra["list"].([]any)[1].(map[string]any)["y"] != true || len(again.History) != 1 {
		t.Fatalf("changing a read value changed the store: %+v", again)
	}
	// Nor what Update's function kept, nor what Update returns.
	var kept *payment
	shared := []transition{{To: "CAPTURED"}}
	out, err := payments.Update(ctx, "p1", func(p *payment) error {
		kept = p
		p.History = shared
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	kept.Status, shared[0].To, out.ThreeDS.ECI = "MEDDLED", "MEDDLED", "MEDDLED"
	final, _ := payments.Get(ctx, "p1")
	if final.Status != "AUTHORIZED" || final.History[0].To != "CAPTURED" || final.ThreeDS.ECI != "05" {
		t.Fatalf("the stored value is shared: %+v", final)
	}
	// Listing hands out copies too.
	list, _ := payments.List(ctx, nil)
	list[0].Tags["k"] = "listed"
	if final, _ := payments.Get(ctx, "p1"); final.Tags["k"] != "v" {
		t.Fatal("changing a listed value changed the store")
	}
}

func TestFindAnswersFromTheIndexAndFollowsUpdates(t *testing.T) {
	for name, s := range map[string]store.Store{"memory": store.NewMemory(), "any store": jsonOnly{store.NewMemory()}} {
		t.Run(name, func(t *testing.T) {
			payments := store.NewTable[payment](s, "payment",
				store.Index("merchant", func(p *payment) string { return p.Merchant }),
				store.Index("status", func(p *payment) string { return p.Status }))
			for i, m := range []string{"M1", "M2", "M1", "M3", "M1"} {
				p := samplePayment(fmt.Sprint("p", i))
				p.Merchant = m
				payments.Create(ctx, p.ID, p)
			}
			ids := func(list []payment) string {
				var out []string
				for _, p := range list {
					out = append(out, p.ID)
				}
				return strings.Join(out, ",")
			}
			if got, _ := payments.Find(ctx, "merchant", "M1", nil); ids(got) != "p0,p2,p4" {
				t.Fatalf("M1: %s", ids(got))
			}
			if got, _ := payments.Find(ctx, "merchant", "M1", func(p *payment) bool { return p.ID != "p2" }); ids(got) != "p0,p4" {
				t.Fatalf("M1 without p2: %s", ids(got))
			}
			// An update that changes a key moves the object, in creation order.
			payments.Update(ctx, "p2", func(p *payment) error { p.Status = "CAPTURED"; return nil })
			payments.Update(ctx, "p0", func(p *payment) error { p.Status = "CAPTURED"; return nil })
			if got, _ := payments.Find(ctx, "status", "CAPTURED", nil); ids(got) != "p0,p2" {
				t.Fatalf("CAPTURED: %s", ids(got))
			}
			if got, _ := payments.Find(ctx, "status", "AUTHORIZED", nil); ids(got) != "p1,p3,p4" {
				t.Fatalf("AUTHORIZED: %s", ids(got))
			}
			// ... and back.
			payments.Update(ctx, "p2", func(p *payment) error { p.Status = "AUTHORIZED"; return nil })
			if got, _ := payments.Find(ctx, "status", "AUTHORIZED", nil); ids(got) != "p1,p2,p3,p4" {
				t.Fatalf("AUTHORIZED again: %s", ids(got))
			}
			if got, _ := payments.Find(ctx, "merchant", "nobody", nil); len(got) != 0 {
				t.Fatalf("nobody: %s", ids(got))
			}
			if _, err := payments.Find(ctx, "colour", "red", nil); err == nil {
				t.Fatal("an undeclared index answered")
			}
		})
	}
}

// finalPayments evict payments that are CAPTURED.
func finalPayments(s store.Store) store.Table[payment] {
	return store.NewTable[payment](s, "payment",
		store.Index("merchant", func(p *payment) string { return p.Merchant }),
		store.Evictable(func(p *payment, _ store.Peek) bool { return p.Status == "CAPTURED" }))
}

func TestRetentionEvictsTheOldestFinalObjectsOnly(t *testing.T) {
	m := store.NewMemoryWith(store.MemoryOptions{Retention: store.Retention{MaxObjects: 100}})
	payments := finalPayments(m)
	apps := store.NewTable[order](m, "app") // no Evictable: never dropped
	for i := range 20 {
		apps.Create(ctx, fmt.Sprint("a", i), order{})
	}
	// p0..p9 stay pending (a timer, a delivery); the rest are final.
	for i := range 1000 {
		p := samplePayment(fmt.Sprint("p", i))
		if i >= 10 {
			p.Status = "CAPTURED"
		}
		if err := payments.Create(ctx, p.ID, p, "order/"+p.ID); err != nil {
			t.Fatal(err)
		}
	}
	if n := m.Count("payment"); n < 100 || n > 111 {
		t.Fatalf("%d payments kept; want the limit (100) plus at most a tenth", n)
	}
	for i := range 10 {
		if _, err := payments.Get(ctx, fmt.Sprint("p", i)); err != nil {
			t.Fatalf("pending payment p%d was evicted: %v", i, err)
		}
	}
	if _, err := payments.Get(ctx, "p10"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the oldest final payment is still there: %v", err)
	}
	if _, err := payments.Get(ctx, "p999"); err != nil {
		t.Fatalf("the newest payment was evicted: %v", err)
	}
	// What an evicted object claimed is free again, and its index entries are gone.
	if _, err := payments.LookupID(ctx, "order/p10"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("an evicted object's unique key still resolves: %v", err)
	}
	if err := payments.Create(ctx, "again", samplePayment("again"), "order/p10"); err != nil {
		t.Fatalf("an evicted object's unique key is still taken: %v", err)
	}
	all, _ := payments.Find(ctx, "merchant", "M1", nil)
	if len(all) != m.Count("payment") {
		t.Fatalf("the index lists %d payments, the store holds %d", len(all), m.Count("payment"))
	}
	if n := m.Count("app"); n != 20 {
		t.Fatalf("%d apps kept of 20: a kind without Evictable lost objects", n)
	}
}

// claim is what refers to a payment: it may go once its payment is gone,
// and it is stored before its payment is.
type claim struct {
	Ref string `json:"ref"`
}

func TestRetentionKeepsWhatRefersToObjectsNotYetStored(t *testing.T) {
	m := store.NewMemoryWith(store.MemoryOptions{Retention: store.Retention{MaxObjects: 50}})
	payments := finalPayments(m)
	claims := store.NewTable(m, "claim", store.Evictable(func(c *claim, peek store.Peek) bool { return !peek.Exists("payment", c.Ref) }))
	for i := range 500 {
		id := fmt.Sprint("p", i)
		if err := claims.Create(ctx, "order/"+id, claim{Ref: id}); err != nil {
			t.Fatal(err)
		}
		// Between the claim and its payment, the claims' eviction has run.
		p := samplePayment(id)
		p.Status = "CAPTURED"
		if err := payments.Create(ctx, id, p); err != nil {
			t.Fatal(err)
		}
		if _, err := claims.Get(ctx, "order/"+id); err != nil {
			t.Fatalf("the claim of the newest payment %s was evicted before its payment was stored: %v", id, err)
		}
	}
	// Claims of payments kept are kept; the others went with their payments.
	for i := range 500 {
		id := fmt.Sprint("p", i)
		_, perr := payments.Get(ctx, id)
		if _, cerr := claims.Get(ctx, "order/"+id); perr == nil && cerr != nil {
			t.Fatalf("payment %s is kept, its claim is not: %v", id, cerr)
		}
	}
	if n, kept := m.Count("claim"), m.Count("payment"); n > kept+10 {
		t.Fatalf("%d claims kept for %d payments: the others' payments are gone", n, kept)
	}
}

func TestRetentionByAge(t *testing.T) {
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	m := store.NewMemoryWith(store.MemoryOptions{Now: func() time.Time { return now }, Retention: store.Retention{MaxAge: time.Hour}})
	payments := finalPayments(m)
	for i := range 10 {
		p := samplePayment(fmt.Sprint("old", i))
		if i < 8 {
			p.Status = "CAPTURED"
		}
		payments.Create(ctx, p.ID, p)
	}
	now = now.Add(2 * time.Hour)
	p := samplePayment("new")
	p.Status = "CAPTURED"
	payments.Create(ctx, "new", p)
	if n := m.Count("payment"); n != 3 {
		t.Fatalf("%d payments kept; want the 2 pending old ones and the new one", n)
	}
}

func TestResetDropsEverythingButTheTablesConfiguration(t *testing.T) {
	m := store.NewMemory()
	payments := finalPayments(m)
	payments.Create(ctx, "p1", samplePayment("p1"), "k1")
	m.Reset(ctx)
	if _, err := payments.Get(ctx, "p1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("after reset: %v", err)
	}
	payments.Create(ctx, "p2", samplePayment("p2"), "k1")
	if got, _ := payments.Find(ctx, "merchant", "M1", nil); len(got) != 1 || got[0].ID != "p2" {
		t.Fatalf("the index after reset: %+v", got)
	}
}

func TestDocumentsAndValuesMix(t *testing.T) {
	// The Store interface still speaks documents on a kind a table keeps as
	// values, and the table sees what was written through it.
	m := store.NewMemory()
	payments := finalPayments(m)
	payments.Create(ctx, "p1", samplePayment("p1"))
	doc, err := m.Get(ctx, "payment", "p1")
	if err != nil || !strings.Contains(string(doc), `"status":"AUTHORIZED"`) {
		t.Fatalf("%s %v", doc, err)
	}
	err = m.Update(ctx, "payment", "p1", func(cur []byte) ([]byte, error) {
		return []byte(strings.Replace(string(cur), `"merchant":"M1"`, `"merchant":"M9"`, 1)), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := payments.Find(ctx, "merchant", "M9", nil); len(got) != 1 {
		t.Fatalf("a document update did not move the index: %+v", got)
	}
	m.Create(ctx, "payment", "p2", []byte(`{"id":"p2","merchant":"M9","status":"CAPTURED"}`))
	if got, _ := payments.Find(ctx, "merchant", "M9", nil); len(got) != 2 || got[1].ID != "p2" {
		t.Fatalf("a created document is not indexed: %+v", got)
	}
}

// TestConcurrentUseWithEviction runs creates, updates, reads and finds of
// one kind at once with eviction on; run it with -race.
func TestConcurrentUseWithEviction(t *testing.T) {
	m := store.NewMemoryWith(store.MemoryOptions{Retention: store.Retention{MaxObjects: 50}})
	payments := finalPayments(m)
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 300 {
				id := fmt.Sprint("w", w, "-", i)
				p := samplePayment(id)
				payments.Create(ctx, id, p, "key/"+id)
				payments.Update(ctx, id, func(p *payment) error {
					p.Status = "CAPTURED"
					// Reading another object inside an update must not deadlock
					// with eviction.
					if i > 0 {
						payments.Get(ctx, fmt.Sprint("w", w, "-", i/2))
					}
					return nil
				})
				payments.Find(ctx, "merchant", "M1", nil)
				payments.List(ctx, func(p *payment) bool { return p.Amount > 0 })
			}
		}()
	}
	wg.Wait()
	if n := m.Count("payment"); n > 56 {
		t.Fatalf("%d payments kept; limit 50", n)
	}
}

// BenchmarkTable compares, in one run, the memory store with the same store
// behind the bare interface (JSON documents, as every other backend), for a
// payment-like object: created, read, updated. payment has an interface
// field, so the memory store keeps it as a Go value ("values" rows); plain,
// without one, is kept compactly, as every table of the simulator is
// ("plain-compact" rows).
func BenchmarkTable(b *testing.B) {
	p := samplePayment("p")
	p.Extra, p.Tags = nil, nil // like the gateway's payments: no maps, no interfaces
	benchTable(b, "", "values", p, func(p *payment) { p.Amount++ })
	pl := samplePlain("p")
	pl.Tags = nil
	benchTable(b, "plain-", "compact", pl, func(p *plain) { p.Amount++ })
}

// benchTable runs BenchmarkTable's create, get and update of sample, on the
// memory store (rows named prefix+memory) and behind the bare interface
// (prefix+"json").
func benchTable[T any](b *testing.B, prefix, memory string, sample T, bump func(*T)) {
	for _, c := range []struct {
		name string
		s    func() store.Store
	}{{memory, func() store.Store { return store.NewMemory() }}, {"json", func() store.Store { return jsonOnly{store.NewMemory()} }}} {
		b.Run("create/"+prefix+c.name, func(b *testing.B) {
			b.ReportAllocs()
			tb := store.NewTable[T](c.s(), "payment")
			n := 0
			for b.Loop() {
				n++
				tb.Create(ctx, strconv.Itoa(n), sample)
			}
		})
		b.Run("get/"+prefix+c.name, func(b *testing.B) {
			b.ReportAllocs()
			tb := store.NewTable[T](c.s(), "payment")
			tb.Create(ctx, "p", sample)
			for b.Loop() {
				tb.Get(ctx, "p")
			}
		})
		b.Run("update/"+prefix+c.name, func(b *testing.B) {
			b.ReportAllocs()
			tb := store.NewTable[T](c.s(), "payment")
			tb.Create(ctx, "p", sample)
			for b.Loop() {
				tb.Update(ctx, "p", func(v *T) error { bump(v); return nil })
			}
		})
	}
}

// ListIDs gives the same ids as List, in creation order, and stops when
// told to.
func TestListIDsAgreesWithList(t *testing.T) {
	ctx := context.Background()
	m := store.NewMemory()
	for _, id := range []string{"b", "a", "c"} {
		if err := m.Create(ctx, "k", id, []byte(`{"id":"`+id+`"}`)); err != nil {
			t.Fatal(err)
		}
	}
	var listed, ids []string
	m.List(ctx, "k", func(id string, _ []byte) bool { listed = append(listed, id); return true })
	m.ListIDs(ctx, "k", func(id string) bool { ids = append(ids, id); return true })
	if strings.Join(ids, ",") != "b,a,c" || strings.Join(ids, ",") != strings.Join(listed, ",") {
		t.Fatalf("ListIDs %v, List %v: want b,a,c from both", ids, listed)
	}
	ids = nil
	m.ListIDs(ctx, "k", func(id string) bool { ids = append(ids, id); return false })
	if len(ids) != 1 {
		t.Fatalf("ListIDs went on after false: %v", ids)
	}
}

// TestBehaviour runs the behaviour every backend shares (package storetest)
// on the memory store; package sqlstore runs it on SQLite and PostgreSQL.
func TestBehaviour(t *testing.T) {
	storetest.Run(t, func(t *testing.T, sc store.Scope) store.Store {
		s, err := store.MemoryBackend{}.Store(ctx, sc)
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}
