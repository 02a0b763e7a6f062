package store

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"
	"unsafe"
)

// Memory is the in-memory Store. It is safe for concurrent use.
//
// Objects of a kind a Table configured (every kind pspsim uses) are kept in
// a compact encoding of their value (see codec), not JSON: reading one is a
// decode of a few hundred bytes into a fresh value, as cheap as the deep
// copy it replaced, at half the memory (a type the encoding cannot carry, one
// with an interface field, is kept as a Go value and deep-copied). That is a
// property of this backend only — a durable one stores the documents and
// serves every read from them, so nothing can be served stale across
// processes. Memory also answers the tables' secondary indexes from maps,
// and applies retention: once a kind holds more objects than its limit (or
// older than its age limit), the oldest ones its table says may go (final,
// with nothing pending) are dropped.
type Memory struct {
	opts MemoryOptions

	mu      sync.RWMutex
	kinds   map[string]*kindTable
	configs map[string]*kindConfig
	seq     uint64
	// scanAll makes every eviction round by count scan all its candidates
	// (none stops at a run it may not evict: see evict), as they all did
	// once: the reference the tests hold the rounds to.
	scanAll bool
}

// MemoryOptions configure a Memory store.
type MemoryOptions struct {
	// Now is the clock of ages (the simulator's clock); nil: never evict by age.
	Now func() time.Time
	// Retention bounds the kinds whose table allows eviction.
	Retention Retention
}

// Retention says how much a store keeps of the kinds that may shed objects
// (payments, orders, refunds, sessions, 3-D Secure transactions, tokens…;
// never apps, shops or merchants).
type Retention struct {
	// MaxObjects is the most objects of one kind kept; 0: no limit.
	MaxObjects int
	// MaxAge is how long (on the store's clock) an object is kept at least
	// once it may go; 0: no age limit.
	MaxAge time.Duration
	// Kinds overrides MaxObjects per kind ("vm.payment": 50000).
	Kinds map[string]int
}

// kindConfig is what a Table tells the memory store about its kind.
type kindConfig struct {
	decode    func([]byte) (any, error) // a document into the table's value
	encode    func(any) ([]byte, error) // the value back into a document
	pack      func(any) ([]byte, error) // the value into its compact encoding; nil: values are kept
	unpack    func([]byte) (any, error) // a compact encoding into a fresh value
	keep      func(any) any             // a copy of a value to keep as one (pack nil)
	typ       reflect.Type              // the table's value type (T of *T)
	plan      *cplan                    // the codec of pack and unpack (nil: none)
	indexes   []string                  // index names, sorted
	keys      []func(any) string        // each index's key of a value ("": not indexed)
	evictable func(any, Peek) bool      // nil: never evicted
	// evictPacked is evictable of the value a compact encoding made with
	// plan holds, decoded into a value kept for it (nil: decode, then
	// evictable). Only eviction calls it, under the store's lock.
	evictPacked func(b []byte, peek Peek) (bool, error)
}

// posting lists the objects of one index key in creation order. Entries
// are dropped lazily: an entry is current while its object is live and
// still has the key; stale counts the others.
type posting struct {
	objs  []*object
	stale int
}

// An index maps its keys to their objects. A key of one object (a
// payment's order number: most keys) maps to it in one, without a posting
// (−40 B a payment); a key of more maps to their posting in many. An
// object is in one only while it has the key: it goes at once.
type index struct {
	one  map[string]*object
	many map[string]*posting
}

type kindTable struct {
	cfg *kindConfig
	// keys lists the objects by id and by the unique keys they claimed;
	// count is how many objects there are.
	keys  keyTable
	count int
	order []*object // creation order; removed objects are marked and compacted away
	dead  int       // removed objects still in order
	// ixmu guards indexes and the objects' ix: updates change index keys
	// under the object's lock, without the store's.
	ixmu    sync.Mutex
	indexes []index // per index (cfg.indexes): key → objects

	limit     int       // the most objects kept (m.limit, fixed with cfg); 0: unlimited
	evictAt   int       // size at which the next eviction runs
	kept      int       // size the last eviction round by count left (see evict)
	lastSweep time.Time // last age sweep
}

// An object is 64 B (TestObjectIsSmall): there is one per stored object,
// so its size counts in every stored payment three times over.
type object struct {
	id      string
	seq     uint64
	created int64 // UnixNano on the store's clock, for ages

	mu sync.Mutex
	// data is what the object holds, as form says: the bytes of its
	// compact encoding or of its document (n of them), or its value, a *T
	// of the kind's kindConfig.typ owned by the store. An encoding is never
	// written once stored: decoded strings are views of it.
	data unsafe.Pointer
	// strs and nstrs are the object's key in each index of its kind (the
	// first len(kindConfig.indexes); guarded by the table's ixmu, and
	// changed in place), then the unique keys it claimed (guarded by the
	// store's lock): a slice kept as its first element and its length
	// (see list), 8 B less than a slice header.
	strs    *string
	n       uint32
	nstrs   uint16
	form    uint8
	removed bool
}

// maxStrs bounds an object's index and unique keys (nstrs).
const maxStrs = math.MaxUint16

// list returns the object's index keys, then its unique keys.
func (o *object) list() []string {
	if o.strs == nil {
		return nil
	}
	return unsafe.Slice(o.strs, o.nstrs)
}

// setList makes l the object's keys; len(l) <= maxStrs.
func (o *object) setList(l []string) {
	o.strs, o.nstrs = unsafe.SliceData(l), uint16(len(l))
}

// What an object's data holds.
const (
	formDoc    uint8 = iota // the document (a kind no table configured, or not decoded yet)
	formPacked              // the compact encoding of the value (kindConfig.pack)
	formValue               // the value itself (a kind the codec cannot carry)
)

// bytes returns the encoding or document the object holds.
func (o *object) bytes() []byte {
	if o.data == nil || o.form == formValue {
		return nil
	}
	return unsafe.Slice((*byte)(o.data), o.n)
}

// setBytes makes b what the object holds, as form.
func (o *object) setBytes(b []byte, form uint8) error {
	if uint64(len(b)) > math.MaxUint32 {
		return fmt.Errorf("%d bytes: too large for the memory store", len(b))
	}
	o.data, o.n, o.form = unsafe.Pointer(unsafe.SliceData(b)), uint32(len(b)), form
	return nil
}

// val returns the value the object holds as one (form formValue).
func (o *object) val(cfg *kindConfig) any {
	return reflect.NewAt(cfg.typ, o.data).Interface()
}

// ix returns the object's keys in its kind's indexes. The caller holds the
// table's ixmu.
func (o *object) ix(t *kindTable) []string {
	l := o.list()
	return l[:min(len(l), len(t.indexes))]
}

// keys returns the unique keys the object claimed. The caller holds the
// store's lock.
func (o *object) keys(t *kindTable) []string {
	l := o.list()
	return l[min(len(l), len(t.indexes)):]
}

// NewMemory returns an empty in-memory store without retention.
func NewMemory() *Memory { return NewMemoryWith(MemoryOptions{}) }

// NewMemoryWith returns an empty in-memory store.
func NewMemoryWith(o MemoryOptions) *Memory {
	return &Memory{opts: o, kinds: map[string]*kindTable{}, configs: map[string]*kindConfig{}}
}

func (m *Memory) configure(kind string, cfg *kindConfig) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.configs[kind] = cfg
	if t := m.kinds[kind]; t != nil && t.count == 0 {
		delete(m.kinds, kind) // rebuilt with the configuration on first use
	} else if t != nil {
		t.limit = m.limit(kind) // it follows the kind's configuration, as m.limit does
		t.kept = t.limit
	}
}

func (m *Memory) table(kind string, create bool) *kindTable {
	if t := m.kinds[kind]; t != nil || !create {
		return t
	}
	t := &kindTable{cfg: m.configs[kind], keys: newKeyTable()}
	if t.cfg != nil && len(t.cfg.indexes) > 0 {
		t.indexes = make([]index, len(t.cfg.indexes))
		for i := range t.indexes {
			t.indexes[i] = index{one: map[string]*object{}, many: map[string]*posting{}}
		}
	}
	t.limit = m.limit(kind)
	t.evictAt, t.kept = t.limit, t.limit
	m.kinds[kind] = t
	return t
}

// limit is the most objects of kind kept (0: unlimited).
func (m *Memory) limit(kind string) int {
	if cfg := m.configs[kind]; cfg == nil || cfg.evictable == nil {
		return 0
	}
	if n, ok := m.opts.Retention.Kinds[kind]; ok {
		return n
	}
	return m.opts.Retention.MaxObjects
}

// object finds an object and its table. Lock order: the store's lock is
// never held while waiting for an object's (eviction only tries it), and an
// object's lock is never held while waiting for the store's.
func (m *Memory) object(kind, id string) (*object, *kindTable, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if t := m.kinds[kind]; t != nil {
		if o := t.get(id); o != nil {
			return o, t, nil
		}
	}
	return nil, nil, fmt.Errorf("%s %q: %w", kind, id, ErrNotFound)
}

// value returns the object's value, decoding (and keeping, as a value or
// compactly) its document when it has none yet. fresh says the value is the
// caller's (decoded from the compact encoding just now); otherwise it is the
// store's own, which the caller must neither keep nor change. The caller
// holds o.mu.
func (o *object) value(cfg *kindConfig) (v any, fresh bool, err error) {
	switch {
	case o.form == formPacked:
		v, err := cfg.unpack(o.bytes())
		return v, true, err
	case o.form == formValue:
		return o.val(cfg), false, nil
	case cfg == nil:
		return nil, false, nil
	}
	v, err = cfg.decode(o.bytes())
	if err != nil {
		return nil, false, err
	}
	if err := o.store(cfg, v, true); err != nil {
		return nil, false, err
	}
	return v, o.form == formPacked, nil
}

// document returns the object's document. The caller holds o.mu.
func (o *object) document(cfg *kindConfig) ([]byte, error) {
	switch o.form {
	case formPacked:
		v, err := cfg.unpack(o.bytes())
		if err != nil {
			return nil, err
		}
		return cfg.encode(v)
	case formValue:
		return cfg.encode(o.val(cfg))
	}
	return o.bytes(), nil
}

// store keeps v as the object's value: its compact encoding when the kind
// has one, else v itself when owned, or a copy (cfg.keep) the caller does
// not share. The caller holds o.mu, or o is not yet shared.
func (o *object) store(cfg *kindConfig, v any, owned bool) error {
	if cfg == nil {
		b, err := json.Marshal(v)
		if err != nil {
			return err
		}
		return o.setBytes(b, formDoc)
	}
	if cfg.pack != nil {
		b, err := cfg.pack(v)
		if err != nil {
			return err
		}
		return o.setBytes(b, formPacked)
	}
	if rv := reflect.ValueOf(v); !owned || rv.Type() != reflect.PointerTo(cfg.typ) {
		v = cfg.keep(v) // a copy, and a *T even when another table's type wrote it
	}
	o.data, o.n, o.form = reflect.ValueOf(v).UnsafePointer(), 0, formValue
	return nil
}

// Get implements Store.
func (m *Memory) Get(_ context.Context, kind, id string) ([]byte, error) {
	o, t, err := m.object(kind, id)
	if err != nil {
		return nil, err
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.document(t.cfg)
}

// Create implements Store.
func (m *Memory) Create(ctx context.Context, kind, id string, doc []byte, unique ...string) error {
	return m.create(kind, id, doc, nil, false, unique)
}

func (m *Memory) create(kind, id string, doc []byte, val any, owned bool, unique []string) error {
	now := m.now()
	m.mu.Lock()
	defer m.mu.Unlock()
	t := m.table(kind, true)
	var buf [8]uint32
	hs, err := t.free(kind, id, unique, buf[:0])
	if err != nil {
		return err
	}
	if val == nil && t.cfg != nil {
		v, err := t.cfg.decode(doc)
		if err != nil {
			return fmt.Errorf("decode %s %q: %w", kind, id, err)
		}
		val, doc, owned = v, nil, true
	}
	o, err := newObject(kind, id, now, len(t.indexes), unique)
	if err != nil {
		return err
	}
	if val != nil {
		if err := o.store(t.cfg, val, owned); err != nil {
			return fmt.Errorf("encode %s %q: %w", kind, id, err)
		}
	} else if err := o.setBytes(doc, formDoc); err != nil {
		return fmt.Errorf("%s %q: %w", kind, id, err)
	}
	if t.indexes != nil {
		keys := o.list()[:len(t.indexes)]
		for i, key := range t.cfg.keys {
			keys[i] = key(val)
			if o.form == formPacked {
				// val is not kept: its strings may be views of another
				// object's encoding, which the index would keep alive.
				keys[i] = strings.Clone(keys[i])
			}
		}
	}
	m.add(kind, t, o, hs, now)
	return nil
}

// createPacked stores the compact encoding b of a new object, made by its
// table with plan before the store's lock, and its index keys ix (owned: no
// views of another object's encoding). It is Create of the value b encodes,
// without the value: the table encodes and keys it without its escaping to
// the heap. done is false, with nothing stored, when the kind's codec is
// not plan (another table's type configured the kind since): the caller
// then stores the value.
func (m *Memory) createPacked(kind, id string, b []byte, plan *cplan, ix, unique []string) (done bool, err error) {
	now := m.now()
	m.mu.Lock()
	defer m.mu.Unlock()
	t := m.table(kind, true)
	if t.cfg == nil || t.cfg.plan != plan || len(ix) != len(t.indexes) {
		return false, nil
	}
	var buf [8]uint32
	hs, err := t.free(kind, id, unique, buf[:0])
	if err != nil {
		return true, err
	}
	o, err := newObject(kind, id, now, len(t.indexes), unique)
	if err != nil {
		return true, err
	}
	if err := o.setBytes(b, formPacked); err != nil {
		return true, fmt.Errorf("encode %s %q: %w", kind, id, err)
	}
	copy(o.list(), ix)
	m.add(kind, t, o, hs, now)
	return true, nil
}

// now is the time of a new object: the store's clock when it evicts by
// age, the only use of an object's time (the zero time otherwise, without
// asking the clock).
func (m *Memory) now() time.Time {
	if m.opts.Now == nil || m.opts.Retention.MaxAge <= 0 {
		return time.Time{}
	}
	return m.opts.Now()
}

// free checks that id and the unique keys are free, and appends their
// hashes to hs (add lists them with these). The caller holds m.mu.
func (t *kindTable) free(kind, id string, unique []string, hs []uint32) ([]uint32, error) {
	h := t.keys.hash(id)
	if t.keys.find(h, id, false) != nil {
		return nil, fmt.Errorf("%s %q: %w", kind, id, ErrIDTaken)
	}
	hs = append(hs, h)
	for _, k := range unique {
		h := t.keys.hash(k)
		if t.keys.find(h, k, true) != nil {
			return nil, fmt.Errorf("%s key %q: %w", kind, k, ErrExists)
		}
		hs = append(hs, h)
	}
	return hs, nil
}

// get returns the object id; nil if none. The caller holds m.mu.
func (t *kindTable) get(id string) *object {
	return t.keys.find(t.keys.hash(id), id, false)
}

// newObject makes the object id with room for its keys in nix indexes
// (left "") and its unique keys: for a few keys, the object and its keys
// are one allocation instead of two (three objects per card payment).
func newObject(kind, id string, now time.Time, nix int, unique []string) (*object, error) {
	n := nix + len(unique)
	if n > maxStrs {
		return nil, fmt.Errorf("%s %q: %d unique keys: too many", kind, id, len(unique))
	}
	var o *object
	var l []string
	switch n {
	case 0:
		o = new(object)
	case 1:
		x := new(struct {
			o object
			l [1]string
		})
		o, l = &x.o, x.l[:]
	case 2:
		x := new(struct {
			o object
			l [2]string
		})
		o, l = &x.o, x.l[:]
	case 3:
		x := new(struct {
			o object
			l [3]string
		})
		o, l = &x.o, x.l[:]
	case 4:
		x := new(struct {
			o object
			l [4]string
		})
		o, l = &x.o, x.l[:]
	default:
		o, l = new(object), make([]string, n)
	}
	o.id, o.created = id, now.UnixNano()
	if n > 0 {
		copy(l[nix:], unique)
		o.setList(l)
	}
	return o, nil
}

// add lists a new object o, its keys in place (o.list()), under its id and
// its unique keys (of hashes hs, from free) and its index keys, and applies
// the kind's retention. The caller holds m.mu.
func (m *Memory) add(kind string, t *kindTable, o *object, hs []uint32, now time.Time) {
	m.seq++
	o.seq = m.seq
	t.keys.insert(hs[0], o, keyID)
	t.count++
	t.order = append(t.order, o)
	for j, h := range hs[1:] {
		t.keys.insert(h, o, int32(len(t.indexes)+j))
	}
	if t.indexes != nil {
		t.ixmu.Lock()
		t.indexAdd(o, o.list()[:len(t.indexes)])
		t.ixmu.Unlock()
	}
	m.retain(kind, t, now)
}

// keysOf computes a value's key in each index.
func (t *kindTable) keysOf(val any) []string {
	keys := make([]string, len(t.cfg.keys))
	for i, key := range t.cfg.keys {
		keys[i] = key(val)
	}
	return keys
}

// indexAdd lists o under its keys. The caller holds ixmu.
func (t *kindTable) indexAdd(o *object, keys []string) {
	for i, k := range keys {
		if k == "" {
			continue
		}
		ix := &t.indexes[i]
		p := ix.many[k]
		if p == nil {
			first, ok := ix.one[k]
			if !ok {
				ix.one[k] = o
				continue
			}
			if first == o {
				continue
			}
			delete(ix.one, k)
			p = &posting{objs: []*object{first}}
			ix.many[k] = p
		}
		// Creation order: o goes last, unless an update moves an older object
		// here; an entry it left behind here is current again.
		j := len(p.objs)
		for j > 0 && p.objs[j-1].seq > o.seq {
			j--
		}
		if j > 0 && p.objs[j-1] == o {
			p.stale--
			continue
		}
		p.objs = slices.Insert(p.objs, j, o)
	}
}

// indexRemove unlists o from its keys (lazily). The caller holds ixmu.
func (t *kindTable) indexRemove(o *object, keys []string) {
	for i, k := range keys {
		if k == "" {
			continue
		}
		ix := &t.indexes[i]
		p := ix.many[k]
		if p == nil {
			if ix.one[k] == o {
				delete(ix.one, k)
			}
			continue
		}
		p.stale++
		if p.stale*2 > len(p.objs) {
			t.compact(i, k, p)
		}
	}
}

// current reports whether o is listed under key k of index i. The caller
// holds ixmu.
func current(o *object, i int, k string) bool {
	return !o.removed && i < int(o.nstrs) && o.list()[i] == k
}

func (t *kindTable) compact(i int, k string, p *posting) {
	live := p.objs[:0]
	for _, o := range p.objs {
		if current(o, i, k) {
			live = append(live, o)
		}
	}
	clear(p.objs[len(live):])
	p.objs, p.stale = live, 0
	switch len(live) {
	case 0:
		delete(t.indexes[i].many, k)
	case 1:
		delete(t.indexes[i].many, k)
		t.indexes[i].one[k] = live[0]
	}
}

// Update implements Store.
func (m *Memory) Update(ctx context.Context, kind, id string, fn func(cur []byte) ([]byte, error)) error {
	return m.update(kind, id, func(o *object, t *kindTable) error {
		cur, err := o.document(t.cfg)
		if err != nil {
			return err
		}
		next, err := fn(cur)
		if err != nil {
			return err
		}
		if t.cfg == nil {
			return o.setBytes(next, formDoc)
		}
		v, err := t.cfg.decode(next)
		if err != nil {
			return fmt.Errorf("decode %s %q: %w", kind, id, err)
		}
		return t.setValue(o, v, true)
	})
}

// update runs fn on the object under its lock.
func (m *Memory) update(kind, id string, fn func(o *object, t *kindTable) error) error {
	o, t, err := m.object(kind, id)
	if err != nil {
		return err
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	return fn(o, t)
}

// setValue replaces an object's value (the caller holds o.mu; see store
// for owned) and moves it in the indexes whose keys changed.
func (t *kindTable) setValue(o *object, v any, owned bool) error {
	if err := o.store(t.cfg, v, owned); err != nil {
		return err
	}
	if t.indexes == nil {
		return nil
	}
	keys := t.keysOf(v)
	t.ixmu.Lock()
	defer t.ixmu.Unlock()
	if slices.Equal(keys, o.ix(t)) || o.removed {
		return nil
	}
	old := slices.Clone(o.ix(t))
	changed := make([]string, len(keys))
	for i := range keys {
		if keys[i] != old[i] {
			changed[i] = old[i]
			if o.form == formPacked {
				keys[i] = strings.Clone(keys[i]) // v is not kept (see create)
			}
			o.list()[i] = keys[i]
		}
	}
	t.indexRemove(o, changed)
	for i := range keys {
		if keys[i] == old[i] {
			changed[i] = ""
		} else {
			changed[i] = keys[i]
		}
	}
	t.indexAdd(o, changed)
	return nil
}

// Claim implements Store.
func (m *Memory) Claim(_ context.Context, kind, id string, unique ...string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	t := m.table(kind, false)
	var o *object
	if t != nil {
		o = t.get(id)
	}
	if o == nil {
		return fmt.Errorf("%s %q: %w", kind, id, ErrNotFound)
	}
	for _, k := range unique {
		if owner := t.keys.find(t.keys.hash(k), k, true); owner != nil && owner != o {
			return fmt.Errorf("%s key %q: %w", kind, k, ErrExists)
		}
	}
	if int(o.nstrs)+len(unique) > maxStrs {
		return fmt.Errorf("%s %q: %d more unique keys: too many", kind, id, len(unique))
	}
	for _, k := range unique {
		if h := t.keys.hash(k); t.keys.find(h, k, true) == nil {
			// Under ixmu too: the index keys share the slice.
			t.ixmu.Lock()
			o.setList(append(slices.Clip(o.list()), k))
			t.ixmu.Unlock()
			t.keys.insert(h, o, int32(o.nstrs)-1)
		}
	}
	return nil
}

// Lookup implements Store.
func (m *Memory) Lookup(_ context.Context, kind, key string) (string, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if t := m.table(kind, false); t != nil {
		if o := t.keys.find(t.keys.hash(key), key, true); o != nil {
			return o.id, nil
		}
	}
	return "", fmt.Errorf("%s key %q: %w", kind, key, ErrNotFound)
}

// List implements Store.
func (m *Memory) List(ctx context.Context, kind string, fn func(id string, doc []byte) bool) error {
	var failed error
	err := m.each(kind, func(o *object, cfg *kindConfig) bool {
		o.mu.Lock()
		doc, err := o.document(cfg)
		o.mu.Unlock()
		if err != nil {
			failed = err
			return false
		}
		return fn(o.id, doc)
	})
	if err != nil {
		return err
	}
	return failed
}

// ListIDs implements IDLister: ids only, no document encoded.
func (m *Memory) ListIDs(_ context.Context, kind string, fn func(id string) bool) error {
	return m.each(kind, func(o *object, _ *kindConfig) bool { return fn(o.id) })
}

// each calls fn on every object of kind in creation order, outside the
// store's lock.
func (m *Memory) each(kind string, fn func(o *object, cfg *kindConfig) bool) error {
	m.mu.RLock()
	t := m.table(kind, false)
	if t == nil {
		m.mu.RUnlock()
		return nil
	}
	objs := make([]*object, 0, t.count)
	for _, o := range t.order {
		if !o.removed {
			objs = append(objs, o)
		}
	}
	m.mu.RUnlock()
	for _, o := range objs {
		if !fn(o, t.cfg) {
			return nil
		}
	}
	return nil
}

// Reset implements Store. Everything is dropped at once, so that the memory
// it held is free for the garbage collector.
func (m *Memory) Reset(context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.kinds = map[string]*kindTable{}
	return nil
}

// ---------------------------------------------------------------- values

// getValue returns the object's value; fresh: the caller's own (see
// object.value).
func (m *Memory) getValue(kind, id string) (v any, fresh bool, err error) {
	o, t, err := m.object(kind, id)
	if err != nil {
		return nil, false, err
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	v, fresh, err = o.value(t.cfg)
	if err != nil {
		return nil, false, fmt.Errorf("decode %s %q: %w", kind, id, err)
	}
	return v, fresh, nil
}

// packed returns the compact encoding of an object and the plan of the
// codec that made it; nil and nil when the object is not kept compactly
// (getValue then). The bytes never change: the caller decodes them
// without the object's lock.
func (m *Memory) packed(kind, id string) ([]byte, *cplan, error) {
	o, t, err := m.object(kind, id)
	if err != nil {
		return nil, nil, err
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.form != formPacked {
		return nil, nil, nil
	}
	return o.bytes(), t.cfg.plan, nil
}

// createValue stores v: its encoding, or, when the kind keeps values, v
// itself if owned (the caller gives it up), else a copy.
func (m *Memory) createValue(kind, id string, v any, owned bool, unique []string) error {
	return m.create(kind, id, nil, v, owned, unique)
}

// updateValue runs fn on the current value under the object's lock and
// keeps what it returns (its encoding or a copy, as createValue). fresh
// says cur is fn's own; packed is then the encoding it was decoded from
// (to decode anew when fn changed it and failed, say).
func (m *Memory) updateValue(kind, id string, fn func(cur any, fresh bool, packed []byte) (any, error)) error {
	return m.update(kind, id, func(o *object, t *kindTable) error {
		cur, fresh, err := o.value(t.cfg)
		if err != nil {
			return fmt.Errorf("decode %s %q: %w", kind, id, err)
		}
		var packed []byte
		if o.form == formPacked {
			packed = o.bytes()
		}
		next, err := fn(cur, fresh, packed)
		if err != nil {
			return err
		}
		if err := t.setValue(o, next, false); err != nil {
			return fmt.Errorf("encode %s %q: %w", kind, id, err)
		}
		return nil
	})
}

// eachValue calls fn on every value of kind in creation order. fn must not
// keep or change the value unless fresh (see object.value).
func (m *Memory) eachValue(kind string, fn func(id string, v any, fresh bool) bool) error {
	var failed error
	err := m.each(kind, func(o *object, cfg *kindConfig) bool {
		o.mu.Lock()
		v, fresh, err := o.value(cfg)
		o.mu.Unlock()
		if err != nil {
			failed = fmt.Errorf("decode %s %q: %w", kind, o.id, err)
			return false
		}
		return fn(o.id, v, fresh)
	})
	if err != nil {
		return err
	}
	return failed
}

// findValues calls fn on the values listed under key in index, in creation
// order; ok is false when the kind has no such index.
func (m *Memory) findValues(kind, index, key string, fn func(id string, v any, fresh bool) bool) (ok bool, err error) {
	m.mu.RLock()
	t := m.table(kind, false)
	cfg := m.configs[kind]
	if cfg == nil || !slices.Contains(cfg.indexes, index) {
		m.mu.RUnlock()
		return false, nil
	}
	if t == nil || t.indexes == nil {
		m.mu.RUnlock()
		return true, nil
	}
	i := slices.Index(cfg.indexes, index)
	var objs []*object
	t.ixmu.Lock()
	if p := t.indexes[i].many[key]; p != nil {
		objs = make([]*object, 0, len(p.objs)-p.stale)
		for _, o := range p.objs {
			if current(o, i, key) {
				objs = append(objs, o)
			}
		}
	} else if o := t.indexes[i].one[key]; o != nil && current(o, i, key) {
		objs = []*object{o}
	}
	t.ixmu.Unlock()
	m.mu.RUnlock()
	for _, o := range objs {
		o.mu.Lock()
		v, fresh, err := o.value(cfg)
		o.mu.Unlock()
		if err != nil {
			return true, fmt.Errorf("decode %s %q: %w", kind, o.id, err)
		}
		if !fn(o.id, v, fresh) {
			break
		}
	}
	return true, nil
}

// ---------------------------------------------------------------- retention

// retain evicts what the kind's limits say must go. The caller holds m.mu.
func (m *Memory) retain(kind string, t *kindTable, now time.Time) {
	if t.cfg == nil || t.cfg.evictable == nil {
		return
	}
	if limit := t.limit; limit > 0 && t.count > t.evictAt {
		// Evict down to the limit, then let it grow a tenth over before the
		// next round, so that eviction costs O(1) per object created. The
		// newest half of the limit is never evicted by count: an object just
		// created may be waiting for the one it refers to (an order number's
		// claim is stored before its payment).
		slack, gap := max(limit/10, 1), max(limit/10, 1)
		if m.scanAll {
			gap = 0
		}
		m.evict(t, t.count-limit, time.Time{}, len(t.order)-limit/2, max(t.kept, limit), gap)
		t.kept = t.count
		t.evictAt = max(t.count, limit) + slack
	}
	if age := m.opts.Retention.MaxAge; age > 0 && m.opts.Now != nil && now.Sub(t.lastSweep) >= max(age/16, time.Second) {
		t.lastSweep = now
		m.evict(t, -1, now.Add(-age), len(t.order), 0, 0)
	}
}

// evict removes up to n evictable objects (all of those created before
// before, when n < 0), oldest first, among the first upto of the creation
// order. The caller holds m.mu.
//
// A round by count (n >= 0) that has brought the kind back to keep objects
// (what the last round left, or the limit) stops at a run of gap objects in
// a row it may not evict, short of n: what it would still find behind them
// is what the last round could not find either. That is the case of an
// order number's claim, which goes once its payment has: the payments go
// in their own rounds, the claims are stored first and the newest one's
// payment is not stored yet, so a claims' round is always short of the
// limit by at least one; scanning on to the newest half, it would ask of
// every claim whose payment is kept (9 000 of them at the default limit,
// for 1 500 evicted, at every round, a map lookup each) to evict none of
// them. Stopping there, the kind never holds more, after a round, than
// after the last one or than a full scan would have left.
func (m *Memory) evict(t *kindTable, n int, before time.Time, upto, keep, gap int) {
	removed, miss := 0, 0
	order := t.order[:max(0, min(upto, len(t.order)))]
	// kept counts the objects the round walked and left (not evictable, or
	// busy), moved to the front of order as it goes: at the end they go
	// right before the first object it did not walk, and everything it
	// walked before them (what it removed, now or in an earlier round) is
	// dropped from t.order, so that no round walks a removed object again.
	// (Dropping only the removed objects before the first one left, as
	// once, left every object removed behind a payment that waits — one
	// authorized, one whose webhook is retried — to be walked by every
	// round until half of t.order was dead: 5 objects walked, a cache miss
	// each, for every one evicted.)
	kept := 0
	// The indexes' lock is held for the round, not taken for each object
	// evicted: it is never awaited while holding what an Evictable takes
	// (an update takes it under its object's lock, which eviction only
	// tries).
	t.ixmu.Lock()
	defer t.ixmu.Unlock()
	i := 0
	for ; i < len(order); i++ {
		if n >= 0 && (removed >= n || miss >= gap && gap > 0 && t.count <= keep) {
			break
		}
		o := order[i]
		if o.removed {
			continue
		}
		if n < 0 && o.created >= before.UnixNano() {
			break
		}
		// An object being changed right now is busy: it is not waited for
		// (its lock is never awaited under the store's).
		ok := o.mu.TryLock()
		if ok {
			if o.form == formPacked && t.cfg.evictPacked != nil {
				evict, err := t.cfg.evictPacked(o.bytes(), peek{m})
				ok = err == nil && evict
			} else {
				v, _, err := o.value(t.cfg)
				ok = err == nil && t.cfg.evictable(v, peek{m})
			}
			if ok {
				o.removed = true
				if t.indexes != nil {
					t.indexRemove(o, o.ix(t))
				}
			}
			o.mu.Unlock()
		}
		if !ok {
			order[kept] = o
			kept++
			miss++
			continue
		}
		t.keys.remove(t.keys.hash(o.id), o, keyID)
		t.count--
		// Every unique key o lists is o's: Create and Claim list a key only
		// as they give it to o, and only eviction takes one back.
		for j, k := range o.keys(t) {
			t.keys.remove(t.keys.hash(k), o, int32(len(o.ix(t))+j))
		}
		t.dead++
		removed, miss = removed+1, 0
	}
	if drop := i - kept; drop > 0 {
		copy(t.order[drop:i], t.order[:kept]) // in creation order, as they were
		clear(t.order[:drop])
		t.order, t.dead = t.order[drop:], t.dead-drop
	}
	if t.dead > len(t.order)/2 {
		live := make([]*object, 0, t.count)
		for _, o := range t.order {
			if !o.removed {
				live = append(live, o)
			}
		}
		t.order, t.dead = live, 0
	}
}

// peek answers Evictable functions while the store's lock is held.
type peek struct{ m *Memory }

func (p peek) Exists(kind, id string) bool {
	t := p.m.kinds[kind]
	return t != nil && t.get(id) != nil
}

// Count returns how many objects of kind the store holds.
func (m *Memory) Count(kind string) int {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if t := m.kinds[kind]; t != nil {
		return t.count
	}
	return 0
}

// Counts returns how many objects the store holds of each kind that has
// any (the metrics read it at scrape time).
func (m *Memory) Counts() map[string]int {
	m.mu.RLock()
	defer m.mu.RUnlock()
	out := make(map[string]int, len(m.kinds))
	for kind, t := range m.kinds {
		if n := t.count; n > 0 {
			out[kind] = n
		}
	}
	return out
}
