package store

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"
)

// Table is a typed view of one kind of document. A value read from the table
// never aliases stored state: changing it changes nothing until it goes
// through Update.
//
// On any Store the values travel as JSON documents. On the memory store they
// are kept in a compact encoding (codec) and decoded on reads, or, for a type
// it cannot carry, kept as values and copied (deep, by a plan made once per
// type): either is several times cheaper than encoding and decoding JSON,
// and carries exactly what JSON would, so the stores behave alike.
type Table[T any] struct {
	s       Store
	mem     *Memory // s, when it keeps values
	kind    string
	c       cloner[T]
	cd      codec[T] // the memory store keeps T compactly when cd.plan is set
	indexes map[string]func(*T) string
	// ixKeys are the indexes' key functions in name order (the memory
	// store's); vals holds *T to call them on (see keysOf).
	ixKeys []func(*T) string
	vals   *sync.Pool
	shared *sharedValues[T] // GetShared's values (memory store, compact kinds)
}

// Option configures a table.
type Option[T any] func(*tableOptions[T])

type tableOptions[T any] struct {
	names     []string
	keys      []func(*T) string
	evictable func(*T, Peek) bool
	reads     []string // the fields evictable reads (EvictableReading); nil: all
}

// Peek lets an Evictable function look at other kinds: whether the object
// another one refers to is still there (an order number's claim may go with
// its payment).
type Peek interface {
	Exists(kind, id string) bool
}

// Index declares a secondary index: key returns an object's key in it (""
// for none). Find answers from it; the memory store keeps it in a map, other
// stores may scan.
func Index[T any](name string, key func(*T) string) Option[T] {
	return func(o *tableOptions[T]) {
		o.names = append(o.names, name)
		o.keys = append(o.keys, key)
	}
}

// Evictable lets the store drop objects of this kind under its retention
// limits, oldest first, when ok says an object may go: final, with no
// delivery or timer pending. ok runs under the store's lock: it must be
// quick, must not call the store (peek is there for that) and may take only
// locks nothing holds while calling the store. v is lent for the call: the
// memory store decodes every candidate into the same value, so ok must
// neither keep nor change it.
func Evictable[T any](ok func(v *T, peek Peek) bool) Option[T] {
	return func(o *tableOptions[T]) { o.evictable, o.reads = ok, nil }
}

// EvictableReading is Evictable for an ok that reads only these fields of
// T, named by their Go names (a field of a struct field as "Outer.Inner":
// "Result.Final" for a field of an embedded Result). The memory store then
// decodes only them for ok, the others left zero: a candidate costs no
// allocation for the pointers, slices and maps it holds, at every eviction
// (one per object created, once the store is full). ok must read nothing
// else: its tests should hold it to its answer on the whole value
// (storetest.OnlyFields). NewTable panics on a name that is no field the
// store keeps of T.
func EvictableReading[T any](fields []string, ok func(v *T, peek Peek) bool) Option[T] {
	return func(o *tableOptions[T]) {
		o.evictable = ok
		o.reads = append([]string{}, fields...)
	}
}

// NewTable returns the table of kind in s.
func NewTable[T any](s Store, kind string, opts ...Option[T]) Table[T] {
	var o tableOptions[T]
	for _, opt := range opts {
		opt(&o)
	}
	t := Table[T]{s: s, kind: kind, c: newCloner[T](), indexes: map[string]func(*T) string{}}
	if err := fieldsExist(reflect.TypeFor[T](), o.reads); err != nil {
		// Whatever the store: a misnamed field fails on every backend.
		panic(fmt.Sprintf("store: table %s: EvictableReading: %v", kind, err))
	}
	if t.c.ok {
		t.cd = newCodec[T]()
	}
	for i, name := range o.names {
		t.indexes[name] = o.keys[i]
	}
	if sorted := slices.Sorted(maps.Keys(t.indexes)); len(sorted) > 0 {
		for _, name := range sorted {
			t.ixKeys = append(t.ixKeys, t.indexes[name])
		}
		t.vals = &sync.Pool{New: func() any { return new(T) }}
	}
	if m, ok := s.(*Memory); ok {
		cfg := &kindConfig{
			decode: func(b []byte) (any, error) {
				v := new(T)
				if err := json.Unmarshal(b, v); err != nil {
					return nil, err
				}
				return v, nil
			},
			encode: func(v any) ([]byte, error) { return json.Marshal(v) },
			typ:    reflect.TypeFor[T](),
			keep: func(v any) any {
				if p, ok := v.(*T); ok {
					c := new(T)
					*c = t.c.clone(*p)
					return c
				}
				// Another table type's value: a *T through JSON.
				c := new(T)
				if b, err := json.Marshal(v); err == nil {
					json.Unmarshal(b, c)
				}
				return c
			},
		}
		if t.cd.plan != nil {
			cfg.pack = func(v any) ([]byte, error) {
				p, ok := v.(*T)
				if !ok {
					// Another table type wrote this kind: go through JSON.
					p = new(T)
					b, err := json.Marshal(v)
					if err == nil {
						err = json.Unmarshal(b, p)
					}
					if err != nil {
						return nil, err
					}
				}
				return t.cd.encode(p), nil
			}
			cfg.unpack = func(b []byte) (any, error) { return t.cd.decode(b) }
			cfg.plan = t.cd.plan
		}
		names := append([]string(nil), o.names...)
		sort.Strings(names)
		for _, name := range names {
			key := t.indexes[name]
			cfg.indexes = append(cfg.indexes, name)
			cfg.keys = append(cfg.keys, func(v any) string {
				if p, ok := v.(*T); ok {
					return key(p)
				}
				return ""
			})
		}
		if ok := o.evictable; ok != nil {
			cfg.evictable = func(v any, peek Peek) bool {
				p, isT := v.(*T)
				return isT && ok(p, peek)
			}
			if t.cd.plan != nil {
				// Eviction asks of every candidate, oldest first, and may ask
				// of the same one round after round (an order's claim waits
				// for its payment to go): decoded into one value kept for it
				// (eviction runs under the store's lock, one at a time), the
				// question costs no copy of its own.
				scratch, cd := new(T), t.cd
				var sel *selection
				if o.reads != nil {
					var err error
					if sel, err = selectFields(cd.plan, o.reads); err != nil {
						panic(fmt.Sprintf("store: table %s: EvictableReading: %v", kind, err))
					}
				}
				cfg.evictPacked = func(b []byte, peek Peek) (bool, error) {
					var zero T
					*scratch = zero
					var err error
					if sel != nil {
						err = cd.decodeFields(b, scratch, sel)
					} else {
						err = cd.decodeInto(b, scratch)
					}
					if err != nil {
						return false, err
					}
					evict := ok(scratch, peek)
					*scratch = zero // keeps nothing of b alive
					return evict, nil
				}
			}
		}
		m.configure(kind, cfg)
		if t.c.ok {
			t.mem = m
		}
		if t.cd.plan != nil {
			t.shared = &sharedValues[T]{m: map[string]sharedValue[T]{}}
		}
	} else if c, ok := s.(Configurable); ok {
		cfg := KindConfig{Decode: func(b []byte) (any, error) {
			v := new(T)
			if err := json.Unmarshal(b, v); err != nil {
				return nil, err
			}
			return v, nil
		}}
		if ok := o.evictable; ok != nil {
			cfg.Evictable = func(v any, peek Peek) bool {
				p, isT := v.(*T)
				return isT && ok(p, peek)
			}
		}
		names := append([]string(nil), o.names...)
		sort.Strings(names)
		for _, name := range names {
			key := t.indexes[name]
			cfg.Indexes = append(cfg.Indexes, KindIndex{Name: name, Key: func(v any) string {
				if p, ok := v.(*T); ok {
					return key(p)
				}
				return ""
			}})
		}
		c.ConfigureKind(kind, cfg)
	}
	return t
}

// fieldsExist checks that each name is a field of t, "Outer.Inner" a field
// of a struct field.
func fieldsExist(t reflect.Type, names []string) error {
	for _, name := range names {
		typ := t
		for part := range strings.SplitSeq(name, ".") {
			if typ.Kind() != reflect.Struct {
				return fmt.Errorf("%v has no field %q", typ, part)
			}
			f, ok := typ.FieldByName(part)
			if !ok || len(f.Index) != 1 {
				return fmt.Errorf("%v has no field %q", typ, part)
			}
			typ = f.Type
		}
	}
	return nil
}

// Kind returns the table's kind.
func (t Table[T]) Kind() string { return t.kind }

// value turns what the memory store holds into a copy the caller owns;
// fresh: v is already the caller's (see object.value).
func (t Table[T]) value(v any, fresh bool) (T, error) {
	if p, ok := v.(*T); ok {
		if fresh {
			return *p, nil
		}
		return t.c.clone(*p), nil
	}
	// Another table type wrote this kind: go through JSON.
	var out T
	b, err := json.Marshal(v)
	if err == nil {
		err = json.Unmarshal(b, &out)
	}
	return out, err
}

// Get loads one object.
func (t Table[T]) Get(ctx context.Context, id string) (T, error) {
	if t.mem == nil {
		return t.getDoc(ctx, id)
	}
	var zero T
	b, plan, err := t.mem.packed(t.kind, id)
	if err != nil {
		return zero, err
	}
	if plan != nil && plan == t.cd.plan {
		// This table's codec made it (its dictionaries): decoded in place,
		// with no allocation but the value's pointers' (out stays on the
		// stack).
		var out T
		if err := t.cd.decodeInto(b, &out); err != nil {
			return zero, fmt.Errorf("decode %s %q: %w", t.kind, id, err)
		}
		return out, nil
	}
	cur, fresh, err := t.mem.getValue(t.kind, id)
	if err != nil {
		return zero, err
	}
	return t.value(cur, fresh)
}

// GetShared is Get for a value every request reads and that seldom changes
// (a merchant): on the memory store the value decoded from an object's
// encoding is kept and given to every reader until the object changes, so
// that a read costs no decode and no allocation (a merchant's three lists:
// three allocations a request). Its slices and maps are shared with every
// other reader: the caller must not change what they hold (the struct is
// its own copy). The kept value is the object's encoding's own: any write
// stores a new encoding (the store never writes to one), so that a write,
// an eviction or a Reset is seen by the next read, as Get would see it; on
// another store GetShared is Get, as nothing there says whether another
// process changed the object since.
func (t Table[T]) GetShared(ctx context.Context, id string) (T, error) {
	if t.mem == nil || t.shared == nil {
		return t.Get(ctx, id)
	}
	b, plan, err := t.mem.packed(t.kind, id)
	if err != nil {
		var zero T
		return zero, err
	}
	if plan == nil || plan != t.cd.plan || len(b) == 0 {
		return t.Get(ctx, id)
	}
	return t.shared.get(t.kind, id, b, t.cd)
}

// sharedValues are GetShared's values by id, each with the encoding it was
// decoded from (kept alive by it, so that its address names it alone).
type sharedValues[T any] struct {
	mu sync.Mutex
	m  map[string]sharedValue[T]
}

type sharedValue[T any] struct {
	enc *byte // the encoding's first byte
	n   int
	v   T
}

// maxShared bounds the values kept: GetShared is for a few objects read
// over and over; past that many, the values are dropped and decoded anew.
const maxShared = 256

func (s *sharedValues[T]) get(kind, id string, b []byte, cd codec[T]) (T, error) {
	s.mu.Lock()
	e, ok := s.m[id]
	s.mu.Unlock()
	if ok && e.enc == &b[0] && e.n == len(b) {
		return e.v, nil
	}
	var v T
	if err := cd.decodeInto(b, &v); err != nil {
		var zero T
		return zero, fmt.Errorf("decode %s %q: %w", kind, id, err)
	}
	s.mu.Lock()
	if len(s.m) >= maxShared {
		clear(s.m)
	}
	s.m[id] = sharedValue[T]{enc: &b[0], n: len(b), v: v}
	s.mu.Unlock()
	return v, nil
}

// getDoc loads one object from its document.
func (t Table[T]) getDoc(ctx context.Context, id string) (T, error) {
	var v T
	doc, err := t.s.Get(ctx, t.kind, id)
	if err != nil {
		return v, Failed(err)
	}
	if err := json.Unmarshal(doc, &v); err != nil {
		return v, fmt.Errorf("decode %s %q: %w", t.kind, id, err)
	}
	return v, nil
}

// Lookup loads the object that claimed a unique key.
func (t Table[T]) Lookup(ctx context.Context, key string) (T, error) {
	id, err := t.s.Lookup(ctx, t.kind, key)
	if err != nil {
		var zero T
		return zero, Failed(err)
	}
	return t.Get(ctx, id)
}

// LookupID resolves a unique key to an id.
func (t Table[T]) LookupID(ctx context.Context, key string) (string, error) {
	id, err := t.s.Lookup(ctx, t.kind, key)
	return id, Failed(err)
}

// Create stores a new object and claims its unique keys.
func (t Table[T]) Create(ctx context.Context, id string, v T, unique ...string) error {
	if t.mem != nil {
		if t.cd.plan == nil {
			// Kept as a value: the store keeps this copy.
			p := new(T)
			*p = t.c.clone(v)
			return t.mem.createValue(t.kind, id, p, true, unique)
		}
		if done, err := t.createEncoded(id, &v, unique); done {
			return err
		}
		return t.createPacked(id, v, unique)
	}
	doc, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %s %q: %w", t.kind, id, err)
	}
	return Failed(t.s.Create(ctx, t.kind, id, doc, unique...))
}

// createEncoded stores v's encoding, made and keyed here before the
// store's lock, without v escaping to the heap (a copy of a payment per
// payment stored, otherwise). done is false, with nothing stored, when the
// kind is kept with another table's codec (createPacked then).
func (t Table[T]) createEncoded(id string, v *T, unique []string) (done bool, err error) {
	b := t.cd.encode(v)
	var buf [4]string
	ix := t.keysOf(v, buf[:0])
	return t.mem.createPacked(t.kind, id, b, t.cd.plan, ix, unique)
}

// keysOf appends v's key in each index, in name order, to ix; owned copies
// (v's strings may be views of another object's encoding, which the index
// would keep alive). The key functions are called on a pooled copy of *v:
// a pointer given to a function value escapes, and v would go to the heap
// on every Create to be keyed.
func (t Table[T]) keysOf(v *T, ix []string) []string {
	if len(t.ixKeys) == 0 {
		return ix
	}
	c := t.vals.Get().(*T)
	*c = *v
	for _, key := range t.ixKeys {
		ix = append(ix, strings.Clone(key(c)))
	}
	var zero T
	*c = zero // keeps nothing of v alive
	t.vals.Put(c)
	return ix
}

// createPacked stores v encoded (a copy), or copied when another table's
// type made the kind one kept as values. Apart from Create, so that only
// this path moves its v to the heap.
func (t Table[T]) createPacked(id string, v T, unique []string) error {
	return t.mem.createValue(t.kind, id, &v, false, unique)
}

// Update changes one object under its lock: fn gets the current value and
// changes it in place; if fn returns an error nothing is stored. Update returns
// the value as stored (or as it was, on error).
func (t Table[T]) Update(ctx context.Context, id string, fn func(*T) error) (T, error) {
	var out T
	if t.mem != nil {
		err := t.mem.updateValue(t.kind, id, func(cur any, fresh bool, packed []byte) (any, error) {
			p, ok := cur.(*T)
			if !ok {
				return nil, fmt.Errorf("%s %q holds a %T", t.kind, id, cur)
			}
			next := p
			if !fresh {
				next = new(T)
				*next = t.c.clone(*p)
			}
			if err := fn(next); err != nil {
				if fresh {
					// fn may have changed cur: decode it anew.
					was, e := t.cd.decode(packed)
					if e != nil {
						return nil, e
					}
					out = *was
				} else {
					out = t.c.clone(*p)
				}
				return nil, err
			}
			// fn may have kept pointers into next, or put in it slices its
			// caller still holds: the store keeps an encoding or a copy of
			// its own (kindConfig.keep), and the caller gets next.
			out = *next
			return next, nil
		})
		return out, err
	}
	// own: the error is the callback's (fn's, or a document that does not
	// decode), not the store's, and goes back as it is.
	own := false
	err := t.s.Update(ctx, t.kind, id, func(cur []byte) ([]byte, error) {
		var v T
		if err := json.Unmarshal(cur, &v); err != nil {
			own = true
			return nil, fmt.Errorf("decode %s %q: %w", t.kind, id, err)
		}
		if err := fn(&v); err != nil {
			own = true
			if e := json.Unmarshal(cur, &out); e != nil {
				return nil, e
			}
			return nil, err
		}
		doc, err := json.Marshal(v)
		if err != nil {
			own = true
			return nil, fmt.Errorf("encode %s %q: %w", t.kind, id, err)
		}
		out = v
		return doc, nil
	})
	if own {
		return out, err
	}
	return out, Failed(err)
}

// Claim adds unique keys to an existing object.
func (t Table[T]) Claim(ctx context.Context, id string, unique ...string) error {
	return Failed(t.s.Claim(ctx, t.kind, id, unique...))
}

// List returns the objects for which keep returns true (all when keep is
// nil), in creation order. keep must not change the value it is given.
func (t Table[T]) List(ctx context.Context, keep func(*T) bool) ([]T, error) {
	var out []T
	if t.mem != nil {
		var failed error
		err := t.mem.eachValue(t.kind, func(id string, cur any, fresh bool) bool {
			return t.collect(&out, cur, fresh, keep, &failed)
		})
		if err == nil {
			err = failed
		}
		return out, err
	}
	var decodeErr error
	err := t.s.List(ctx, t.kind, func(id string, doc []byte) bool {
		var v T
		if err := json.Unmarshal(doc, &v); err != nil {
			decodeErr = fmt.Errorf("decode %s %q: %w", t.kind, id, err)
			return false
		}
		if keep == nil || keep(&v) {
			out = append(out, v)
		}
		return true
	})
	if err != nil {
		return nil, Failed(err)
	}
	return out, decodeErr
}

func (t Table[T]) collect(out *[]T, cur any, fresh bool, keep func(*T) bool, failed *error) bool {
	if p, ok := cur.(*T); ok {
		if keep == nil || keep(p) {
			if fresh {
				*out = append(*out, *p)
			} else {
				*out = append(*out, t.c.clone(*p))
			}
		}
		return true
	}
	v, err := t.value(cur, fresh)
	if err != nil {
		*failed = err
		return false
	}
	if keep == nil || keep(&v) {
		*out = append(*out, v)
	}
	return true
}

// Find returns the objects whose key in index is key, and among them those
// keep accepts (all when keep is nil), in creation order. The memory store
// answers from the index; another store lists the kind.
func (t Table[T]) Find(ctx context.Context, index, key string, keep func(*T) bool) ([]T, error) {
	keyOf, ok := t.indexes[index]
	if !ok {
		return nil, fmt.Errorf("%s has no index %q", t.kind, index)
	}
	if t.mem != nil {
		var out []T
		var failed error
		found, err := t.mem.findValues(t.kind, index, key, func(id string, cur any, fresh bool) bool {
			return t.collect(&out, cur, fresh, keep, &failed)
		})
		if err == nil {
			err = failed
		}
		if found {
			return out, err
		}
	}
	if f, ok := t.s.(Finder); ok && t.mem == nil {
		var out []T
		var decodeErr error
		found, err := f.Find(ctx, t.kind, index, key, func(id string, doc []byte) bool {
			var v T
			if err := json.Unmarshal(doc, &v); err != nil {
				decodeErr = fmt.Errorf("decode %s %q: %w", t.kind, id, err)
				return false
			}
			// The store's index may lag a key changed since by a write that
			// has not committed yet: the value decides.
			if keyOf(&v) == key && (keep == nil || keep(&v)) {
				out = append(out, v)
			}
			return true
		})
		err = Failed(err)
		if err == nil {
			err = decodeErr
		}
		if found || err != nil {
			return out, err
		}
	}
	return t.List(ctx, func(v *T) bool { return keyOf(v) == key && (keep == nil || keep(v)) })
}
