package store_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pspsim/pspsim/simulator/store"
)

// plain is payment without its interface field: the memory store keeps it
// compactly (payment, with one, as a Go value), as it keeps every table of
// the simulator.
type plain struct {
	ID        string            `json:"id"`
	Amount    int64             `json:"amount"`
	Status    string            `json:"status"`
	Merchant  string            `json:"merchant"`
	ThreeDS   *threeDS          `json:"threeDs,omitempty"`
	History   []transition      `json:"history"`
	Tags      map[string]string `json:"tags,omitempty"`
	CreatedAt time.Time         `json:"createdAt"`
	ExpiresAt *time.Time        `json:"expiresAt,omitempty"`
	Scratch   string            `json:"-"`
}

func samplePlain(id string) plain {
	p := samplePayment(id)
	return plain{ID: p.ID, Amount: p.Amount, Status: p.Status, Merchant: p.Merchant, ThreeDS: p.ThreeDS, History: p.History,
		Tags: p.Tags, CreatedAt: p.CreatedAt, ExpiresAt: p.ExpiresAt, Scratch: p.Scratch}
}

func plainTable(s store.Store) store.Table[plain] {
	return store.NewTable[plain](s, "plain",
		store.Index("merchant", func(p *plain) string { return p.Merchant }),
		store.Index("status", func(p *plain) string { return p.Status }),
		store.Evictable(func(p *plain, _ store.Peek) bool { return p.Status == "CAPTURED" }))
}

func TestCompactKindsAreKeptCompactly(t *testing.T) {
	m := store.NewMemory()
	plainTable(m)
	finalPayments(m)
	if _, compact := store.KindTypes(m); !compact["plain"] || compact["payment"] {
		t.Fatalf("compact: %v (plain compactly, payment, with an interface field, as values)", compact)
	}
}

// TestCompactValuesReadBackAsJSONWouldGiveThem: what a compact kind gives
// back is what a JSON store gives back.
func TestCompactValuesReadBackAsJSONWouldGiveThem(t *testing.T) {
	viaCompact, viaJSON := plainTable(store.NewMemory()), plainTable(jsonOnly{store.NewMemory()})
	p := samplePlain("p1")
	at := time.Now().In(time.FixedZone("", 3600))
	for _, tb := range []store.Table[plain]{viaCompact, viaJSON} {
		if err := tb.Create(ctx, "p1", p); err != nil {
			t.Fatal(err)
		}
		if _, err := tb.Update(ctx, "p1", func(p *plain) error { p.History = append(p.History, transition{To: "X", At: at}); return nil }); err != nil {
			t.Fatal(err)
		}
	}
	a, _ := viaCompact.Get(ctx, "p1")
	b, _ := viaJSON.Get(ctx, "p1")
	if !reflect.DeepEqual(a, b) {
		t.Fatalf("compact and JSON differ:\n%+v\n%+v", a, b)
	}
	if a.Scratch != "" || a.CreatedAt == p.CreatedAt {
		t.Fatalf("a json:\"-\" field or a monotonic reading was kept: %+v", a)
	}
}

func TestCompactNothingReadOrWrittenAliasesStoredValues(t *testing.T) {
	payments := plainTable(store.NewMemory())
	p := samplePlain("p1")
	payments.Create(ctx, "p1", p)
	p.ThreeDS.ECI, p.History[0].To, p.Tags["k"] = "xx", "xx", "xx"
	got, _ := payments.Get(ctx, "p1")
	if got.ThreeDS.ECI != "05" || got.History[0].To != "AUTHORIZED" || got.Tags["k"] != "v" {
		t.Fatalf("changing the created value changed the store: %+v", got)
	}
	got.ThreeDS.Steps[0], got.Tags["k"] = "changed", "changed"
	got.History = append(got.History, transition{To: "X"})
	if again, _ := payments.Get(ctx, "p1"); again.ThreeDS.Steps[0] != "a" || again.Tags["k"] != "v" || len(again.History) != 1 {
		t.Fatalf("changing a read value changed the store: %+v", again)
	}
	var kept *plain
	shared := []transition{{To: "CAPTURED"}}
	out, err := payments.Update(ctx, "p1", func(p *plain) error {
		kept = p
		p.History = shared
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	kept.Status, shared[0].To, out.ThreeDS.ECI = "MEDDLED", "MEDDLED", "MEDDLED"
	if final, _ := payments.Get(ctx, "p1"); final.Status != "AUTHORIZED" || final.History[0].To != "CAPTURED" || final.ThreeDS.ECI != "05" {
		t.Fatalf("the stored value is shared: %+v", final)
	}
	// A failed update changes nothing and returns the value as it was,
	// though its function changed the value it was given.
	boom := errors.New("boom")
	was, err := payments.Update(ctx, "p1", func(p *plain) error {
		p.Status, p.ThreeDS.ECI, p.Tags["k"] = "FAILED", "07", "failed"
		return boom
	})
	if !errors.Is(err, boom) || was.Status != "AUTHORIZED" || was.ThreeDS.ECI != "05" || was.Tags["k"] != "v" {
		t.Fatalf("a failed update returned %+v, %v", was, err)
	}
	if final, _ := payments.Get(ctx, "p1"); final.Status != "AUTHORIZED" || final.ThreeDS.ECI != "05" || final.Tags["k"] != "v" {
		t.Fatalf("a failed update changed the store: %+v", final)
	}
	for _, list := range [][]plain{must(payments.List(ctx, nil)), must(payments.Find(ctx, "merchant", "M1", nil))} {
		list[0].Tags["k"], list[0].ThreeDS.ECI = "listed", "listed"
		if final, _ := payments.Get(ctx, "p1"); final.Tags["k"] != "v" || final.ThreeDS.ECI != "05" {
			t.Fatal("changing a listed or found value changed the store")
		}
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// TestCompactIndexesFollowUpdatesAndDocuments: index keys are computed when
// an object is written, through the table or as a document.
func TestCompactIndexesFollowUpdatesAndDocuments(t *testing.T) {
	m := store.NewMemory()
	payments := plainTable(m)
	for i, merchant := range []string{"M1", "M2", "M1"} {
		p := samplePlain(fmt.Sprint("p", i))
		p.Merchant = merchant
		payments.Create(ctx, p.ID, p)
	}
	ids := func(list []plain) string {
		var out []string
		for _, p := range list {
			out = append(out, p.ID)
		}
		return strings.Join(out, ",")
	}
	payments.Update(ctx, "p2", func(p *plain) error { p.Status = "CAPTURED"; return nil })
	if got := ids(must(payments.Find(ctx, "status", "CAPTURED", nil))); got != "p2" {
		t.Fatalf("CAPTURED: %s", got)
	}
	if got := ids(must(payments.Find(ctx, "status", "AUTHORIZED", nil))); got != "p0,p1" {
		t.Fatalf("AUTHORIZED: %s", got)
	}
	err := m.Update(ctx, "plain", "p0", func(cur []byte) ([]byte, error) {
		if !strings.Contains(string(cur), `"merchant":"M1"`) {
			return nil, fmt.Errorf("document: %s", cur)
		}
		return []byte(strings.Replace(string(cur), `"merchant":"M1"`, `"merchant":"M9"`, 1)), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	m.Create(ctx, "plain", "p3", []byte(`{"id":"p3","merchant":"M9","status":"CAPTURED"}`))
	if got := ids(must(payments.Find(ctx, "merchant", "M9", nil))); got != "p0,p3" {
		t.Fatalf("M9 after documents: %s", got)
	}
	if got := ids(must(payments.Find(ctx, "merchant", "M1", nil))); got != "p2" {
		t.Fatalf("M1 after documents: %s", got)
	}
}

// TestCompactConcurrentUseWithEviction: run with -race.
func TestCompactConcurrentUseWithEviction(t *testing.T) {
	m := store.NewMemoryWith(store.MemoryOptions{Retention: store.Retention{MaxObjects: 50}})
	payments := plainTable(m)
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 300 {
				id := fmt.Sprint("w", w, "-", i)
				payments.Create(ctx, id, samplePlain(id), "key/"+id)
				payments.Update(ctx, id, func(p *plain) error {
					p.Status = "CAPTURED"
					if i > 0 {
						payments.Get(ctx, fmt.Sprint("w", w, "-", i/2))
					}
					return nil
				})
				m.Claim(ctx, "plain", id, "more/"+id)
				payments.Find(ctx, "status", "CAPTURED", nil)
				payments.List(ctx, func(p *plain) bool { return p.Amount > 0 })
			}
		}()
	}
	wg.Wait()
	if n := m.Count("plain"); n > 56 {
		t.Fatalf("%d payments kept; limit 50", n)
	}
	// What was evicted let go of its unique keys; what is kept has them.
	kept := 0
	for w := range 4 {
		for i := range 300 {
			id := fmt.Sprint("w", w, "-", i)
			_, err := payments.Get(ctx, id)
			for _, key := range []string{"key/" + id, "more/" + id} {
				got, kerr := payments.LookupID(ctx, key)
				if (err == nil) != (kerr == nil) || (err == nil && got != id) {
					t.Fatalf("%s: %q %v (object: %v)", key, got, kerr, err)
				}
			}
			if err == nil {
				kept++
			}
		}
	}
	if kept == 0 || kept != m.Count("plain") {
		t.Fatalf("%d kept, %d counted", kept, m.Count("plain"))
	}
}

// TestFindAgreesWithListUnderRandomChanges: the index (a key of one object
// held without a posting, of more with one) answers Find as filtering List
// would, through random creates, key changes and evictions.
func TestFindAgreesWithListUnderRandomChanges(t *testing.T) {
	m := store.NewMemoryWith(store.MemoryOptions{Retention: store.Retention{MaxObjects: 40}})
	payments := plainTable(m)
	r := rand.New(rand.NewPCG(5, 6))
	merchants := []string{"M0", "M1", "M2", "M3", "M4", "M5", "M6", "M7"}
	n := 0
	for step := range 3000 {
		switch op := r.IntN(10); {
		case op < 3 || n == 0:
			p := samplePlain(fmt.Sprint("p", n))
			p.Merchant = merchants[r.IntN(len(merchants))]
			if r.IntN(3) == 0 {
				p.Status = "CAPTURED"
			}
			payments.Create(ctx, p.ID, p)
			n++
		default:
			payments.Update(ctx, fmt.Sprint("p", r.IntN(n)), func(p *plain) error {
				p.Merchant = merchants[r.IntN(len(merchants))]
				if r.IntN(3) == 0 {
					p.Status = "CAPTURED"
				}
				return nil
			})
		}
		all := must(payments.List(ctx, nil))
		for _, merchant := range merchants {
			var want, got []string
			for _, p := range all {
				if p.Merchant == merchant {
					want = append(want, p.ID)
				}
			}
			for _, p := range must(payments.Find(ctx, "merchant", merchant, nil)) {
				got = append(got, p.ID)
			}
			if !slices.Equal(got, want) {
				t.Fatalf("step %d, %s: Find %v, List %v", step, merchant, got, want)
			}
		}
	}
}

// TestReadsAllocateAsCopiesDid: a read decodes into the value it returns,
// so that it allocates what the deep copy did — nothing for a value of
// strings alone (an order number's claim), one block per pointer or slice
// otherwise.
func TestReadsAllocateAsCopiesDid(t *testing.T) {
	type claim struct {
		Kind string `json:"kind"`
		Ref  string `json:"ref"`
	}
	claims := store.NewTable[claim](store.NewMemory(), "claim")
	claims.Create(ctx, "c1", claim{Kind: "payment", Ref: "20261122100000334578"})
	if n := testing.AllocsPerRun(100, func() { claims.Get(ctx, "c1") }); n != 0 {
		t.Fatalf("a claim's read allocates %v times", n)
	}
	// A payment: no more than its copy (payment, with an interface field,
	// is still kept as a value and copied on reads).
	payments := plainTable(store.NewMemory())
	p := samplePlain("p1")
	payments.Create(ctx, "p1", p)
	copied := finalPayments(store.NewMemory())
	q := samplePayment("p1")
	q.Extra = nil
	copied.Create(ctx, "p1", q)
	decode := testing.AllocsPerRun(100, func() { payments.Get(ctx, "p1") })
	clone := testing.AllocsPerRun(100, func() { copied.Get(ctx, "p1") })
	if decode > clone || decode == 0 {
		t.Fatalf("a payment's read allocates %v times, its copy %v", decode, clone)
	}
}
