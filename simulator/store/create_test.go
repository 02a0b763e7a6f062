package store

import (
	"context"
	"errors"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// keyed is a compact type with indexes and unique keys, to hold Create's
// fast path (the value encoded and keyed by its table before the store's
// lock: createEncoded) to the general one (the value handed to the store,
// which encodes and keys it: createPacked).
type keyed struct {
	ID       string
	Merchant string
	Status   string
	Tags     map[string]string
	N        *int64
	Every    every
}

func keyedTable(m *Memory) Table[keyed] {
	return NewTable(m, "keyed",
		Index("merchant", func(k *keyed) string { return k.Merchant }),
		Index("status", func(k *keyed) string { return k.Status }),
		Evictable(func(k *keyed, _ Peek) bool { return k.Status != "" }))
}

// TestCreateEncodedIsCreateOfTheValue: an object Create stores on its fast
// path is the object the general path stores — the same index
// keys, unique keys, value (Get) and answers to Find, and errors for a taken id or
// key — for random values, recurring strings (the dictionaries) included,
// under retention.
func TestCreateEncodedIsCreateOfTheValue(t *testing.T) {
	ctx := context.Background()
	opts := MemoryOptions{Retention: Retention{MaxObjects: 50}}
	fast, slow := NewMemoryWith(opts), NewMemoryWith(opts)
	ft, st := keyedTable(fast), keyedTable(slow)
	r := rand.New(rand.NewPCG(11, 12))
	ids := []string{}
	for i := range 400 {
		v := Random(reflect.TypeFor[keyed](), r).Interface().(*keyed)
		id := []string{"a", "b", "c", "d"}[r.IntN(4)] + string(rune('0'+i%10)) + v.ID[:min(len(v.ID), 3)]
		var unique []string
		for range r.IntN(4) {
			unique = append(unique, "u/"+[]string{"x", "y", "z", v.Status}[r.IntN(4)]+string(rune('0'+r.IntN(30))))
		}
		errFast := ft.Create(ctx, id, *v, unique...)
		errSlow := st.createPacked(id, *v, unique)
		if (errFast == nil) != (errSlow == nil) || errFast != nil && (errFast.Error() != errSlow.Error() ||
			errors.Is(errFast, ErrIDTaken) != errors.Is(errSlow, ErrIDTaken) || errors.Is(errFast, ErrExists) != errors.Is(errSlow, ErrExists)) {
			t.Fatalf("create %q %q: fast %v, slow %v", id, unique, errFast, errSlow)
		}
		ids = append(ids, id)
	}
	if fast.Count("keyed") != slow.Count("keyed") || fast.Count("keyed") == 0 {
		t.Fatalf("%d objects on the fast path, %d on the slow one", fast.Count("keyed"), slow.Count("keyed"))
	}
	ftab, stab := fast.kinds["keyed"], slow.kinds["keyed"]
	if !reflect.DeepEqual(slices.Sorted(slices.Values(uniqueKeys(ftab))), slices.Sorted(slices.Values(uniqueKeys(stab)))) {
		t.Fatal("the unique keys differ")
	}
	for _, id := range ids {
		fo, so := ftab.get(id), stab.get(id)
		if (fo == nil) != (so == nil) {
			t.Fatalf("%q kept on one path only", id)
		}
		if fo == nil {
			continue
		}
		// The encodings themselves may differ: a map's entries go in the
		// order of its iteration, and the fast path encodes before it knows
		// whether the id is free (what the dictionaries learn may differ).
		if fo.form != formPacked || so.form != formPacked {
			t.Fatalf("%q: not kept compactly", id)
		}
		if !slices.Equal(fo.list(), so.list()) {
			t.Fatalf("%q: keys %q, want %q", id, fo.list(), so.list())
		}
		got, err1 := ft.Get(ctx, id)
		want, err2 := st.Get(ctx, id)
		if err1 != nil || err2 != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("%q: Get %+v %v, want %+v %v", id, got, err1, want, err2)
		}
		for _, ix := range []struct{ name, key string }{{"merchant", got.Merchant}, {"status", got.Status}} {
			f, _ := ft.Find(ctx, ix.name, ix.key, nil)
			s, _ := st.Find(ctx, ix.name, ix.key, nil)
			if !reflect.DeepEqual(f, s) {
				t.Fatalf("Find %s %q: %d objects on the fast path, %d on the slow one", ix.name, ix.key, len(f), len(s))
			}
		}
	}
}

// TestCreateOfAKindAnotherTableConfigured: a table whose codec is no longer
// the kind's (another table of the kind was made since) stores through the
// kind's, as it did before the fast path.
func TestCreateOfAKindAnotherTableConfigured(t *testing.T) {
	ctx := context.Background()
	m := NewMemory()
	first := keyedTable(m)
	second := keyedTable(m)
	n := int64(7)
	v := keyed{ID: "k1", Merchant: "M1", Status: "S", Tags: map[string]string{"a": "b"}, N: &n}
	if err := first.Create(ctx, "k1", v, "u/1"); err != nil {
		t.Fatal(err)
	}
	o := m.kinds["keyed"].get("k1")
	if o.form != formPacked || !slices.Equal(o.list(), []string{"M1", "S", "u/1"}) {
		t.Fatalf("stored as %d with keys %q", o.form, o.list())
	}
	for _, tab := range []Table[keyed]{first, second} {
		got, err := tab.Get(ctx, "k1")
		if err != nil || !reflect.DeepEqual(got, v) {
			t.Fatalf("%+v %v", got, err)
		}
		if f, _ := tab.Find(ctx, "merchant", "M1", nil); len(f) != 1 {
			t.Fatalf("find: %+v", f)
		}
	}
	if err := first.Create(ctx, "k2", v, "u/1"); !errors.Is(err, ErrExists) {
		t.Fatalf("a taken key: %v", err)
	}
}

// TestCreateDoesNotAllocateItsValue: Create on the fast path moves neither
// the value nor its copy to the heap: the encoding, the object with its
// keys, and the store's maps are what it allocates.
func TestCreateDoesNotAllocateItsValue(t *testing.T) {
	ctx := context.Background()
	m := NewMemory()
	tab := NewTable[every](m, "every")
	v := every{S: "a string", I: 3}
	ids := make([]string, 1000)
	for i := range ids {
		ids[i] = "id" + string(rune('a'+i%26)) + string(rune('a'+i/26%26)) + string(rune('a'+i/676))
	}
	i := 0
	allocs := testing.AllocsPerRun(200, func() {
		tab.Create(ctx, ids[i], v)
		i++
	})
	// The encoding and the object; the maps' growth comes on top, rarely.
	if allocs > 2.5 {
		t.Fatalf("%.1f allocations a Create, want 2 (the encoding and the object)", allocs)
	}
}

// TestShortSlicesDecodeInOneAllocation: a decoded slice, short (its backing
// array made by its type) or long (reflect.MakeSlice), holds what was
// encoded with its length for capacity, and a short one costs one
// allocation.
func TestShortSlicesDecodeInOneAllocation(t *testing.T) {
	type row struct {
		S []string
		P []*int64
		B []byte
	}
	c := newCodec[row]()
	for n := range 2 * shortSlices {
		v := row{S: make([]string, n), P: make([]*int64, n), B: make([]byte, n)}
		for i := range n {
			x := int64(i)
			v.S[i], v.P[i], v.B[i] = strings.Repeat("x", i), &x, byte(i)
		}
		b := c.encode(&v)
		var got row
		if err := c.decodeInto(b, &got); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, v) || cap(got.S) != n || cap(got.P) != n || cap(got.B) != n {
			t.Fatalf("length %d: %+v (caps %d %d %d), want %+v", n, got, cap(got.S), cap(got.P), cap(got.B), v)
		}
	}
	one := row{S: []string{"a", "b", "c"}}
	b := c.encode(&one)
	if n := testing.AllocsPerRun(100, func() {
		var got row
		c.decodeInto(b, &got)
	}); n != 1 {
		t.Fatalf("%.0f allocations to decode a slice of three strings, want 1", n)
	}
}

// TestEvictionDecodesIntoItsOwnValueAsItWouldAFreshOne: eviction asking of
// a compact value decoded into the value it keeps (evictPacked) evicts what
// asking of a freshly decoded value evicts, for random values and a
// predicate that reads them, pointers and slices included.
func TestEvictionDecodesIntoItsOwnValueAsItWouldAFreshOne(t *testing.T) {
	ctx := context.Background()
	ok := func(k *keyed, _ Peek) bool {
		return len(k.Status)%2 == 0 && (k.N == nil || *k.N%3 != 0) && len(k.Every.Ls)%2 == 0 && (k.Every.P == nil || k.Every.P.I%2 == 0)
	}
	mk := func(packed bool) (*Memory, Table[keyed]) {
		m := NewMemoryWith(MemoryOptions{Retention: Retention{MaxObjects: 40}})
		tab := NewTable(m, "keyed", Index("merchant", func(k *keyed) string { return k.Merchant }), Evictable(ok))
		if !packed {
			m.configs["keyed"].evictPacked = nil
		} else if m.configs["keyed"].evictPacked == nil {
			t.Fatal("no evictPacked for a compact kind")
		}
		return m, tab
	}
	fast, ft := mk(true)
	slow, st := mk(false)
	r := rand.New(rand.NewPCG(3, 4))
	asked := 0
	for i := range 600 {
		v := Random(reflect.TypeFor[keyed](), r).Interface().(*keyed)
		id := "k" + string(rune('A'+i%26)) + string(rune('A'+i/26%26)) + string(rune('A'+i/676))
		if ok(v, nil) {
			asked++
		}
		if err1, err2 := ft.Create(ctx, id, *v), st.Create(ctx, id, *v); err1 != nil || err2 != nil {
			t.Fatal(err1, err2)
		}
	}
	if asked == 0 || asked == 600 {
		t.Fatalf("the predicate held of %d values of 600", asked)
	}
	var ids1, ids2 []string
	fast.ListIDs(ctx, "keyed", func(id string) bool { ids1 = append(ids1, id); return true })
	slow.ListIDs(ctx, "keyed", func(id string) bool { ids2 = append(ids2, id); return true })
	if !slices.Equal(ids1, ids2) || len(ids1) >= 600 {
		t.Fatalf("kept %d objects one way, %d the other (of 600)", len(ids1), len(ids2))
	}
}
