package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/maphash"
	"math"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"
)

// A codec keeps values of one type as a compact encoding, so that the
// memory store holds a stored object as one []byte instead of a Go value
// with its pointers (a card payment: ≈220 B instead of ≈1 KB).
//
// The encoding carries exactly what the cloner copies (and so what JSON
// would carry): exported fields, a field tagged `json:"-"` left zero, times
// as asJSON gives them back, nil and empty slices and maps told apart. A
// struct is a bitmap of its non-zero fields (a bit each) and their values;
// integers are varints,
// slices their length and contents inline; a string is an index into its
// field's dictionary when it recurs across objects (see strdict), a back
// reference when the encoding already holds it (see strtab), else its
// length and bytes.
//
// Decoding makes a fresh value whose strings are views of the encoded
// bytes (unsafe.String): the store never writes to a buffer once encode has
// returned it (an update stores a new buffer), so the views stay valid and
// immutable as long as anything refers to them. A type it cannot encode
// exactly (an interface field, whose dynamic type the bytes would lose; and
// whatever the cloner cannot copy) is kept as Go values instead.
type codec[T any] struct {
	plan    *cplan     // nil: T cannot be encoded
	scratch *sync.Pool // *scratch to encode into before the exact copy is made
}

// cplan says how to encode and decode one type.
type cplan struct {
	kind   reflect.Kind
	typ    reflect.Type
	time   bool
	fields []cfield // structs: the fields JSON carries, in order
	elem   *cplan   // pointers, slices, arrays, maps (values)
	key    *cplan   // maps
	size   uintptr  // elements' size (slices, arrays)
	n      int      // arrays: length; structs: the presence bitmap's bytes
	dict   *strdict // strings: the ones that recur
	// arrays are slices' backing array types by length, for the short
	// ones: reflect.New of one is a slice's contents in one allocation,
	// where reflect.MakeSlice makes a second one for the slice header it
	// returns (and takes half as long again).
	arrays []reflect.Type
}

// shortSlices is how many lengths of slices (from 1) get their backing
// array types made with their plan.
const shortSlices = 8

type cfield struct {
	off  uintptr
	plan *cplan
	name string // the Go field's name (see selectFields)
}

func newCodec[T any]() codec[T] {
	p, ok := cplanFor(reflect.TypeFor[T](), map[reflect.Type]*cplan{})
	if !ok {
		return codec[T]{}
	}
	return codec[T]{plan: p, scratch: &sync.Pool{New: func() any { return &scratch{b: make([]byte, 0, 512)} }}}
}

// cplanFor returns false for a type the codec cannot carry exactly.
func cplanFor(t reflect.Type, seen map[reflect.Type]*cplan) (*cplan, bool) {
	if p, ok := seen[t]; ok {
		return p, true // recursive type: the plan being built
	}
	p := &cplan{kind: t.Kind(), typ: t}
	if t == timeType {
		p.time = true
		return p, true
	}
	switch t.Kind() {
	case reflect.String:
		p.dict = &strdict{seed: maphash.MakeSeed()}
		return p, true
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64:
		return p, true
	case reflect.Pointer, reflect.Slice, reflect.Array, reflect.Map:
		seen[t] = p
		var ok bool
		if p.elem, ok = cplanFor(t.Elem(), seen); !ok {
			return nil, false
		}
		p.size = t.Elem().Size()
		if t.Kind() == reflect.Array {
			p.n = t.Len()
		}
		if t.Kind() == reflect.Slice {
			p.arrays = make([]reflect.Type, shortSlices+1)
			for n := 1; n <= shortSlices; n++ {
				p.arrays[n] = reflect.ArrayOf(n, t.Elem())
			}
		}
		if t.Kind() == reflect.Map {
			if p.key, ok = cplanFor(t.Key(), seen); !ok || !basic(t.Key().Kind()) {
				return nil, false
			}
		}
		return p, true
	case reflect.Struct:
		seen[t] = p
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			if !f.IsExported() {
				return nil, false // as the cloner: JSON drops or promotes it
			}
			if name, _, _ := strings.Cut(f.Tag.Get("json"), ","); name == "-" && !strings.HasPrefix(f.Tag.Get("json"), "-,") {
				continue // left zero, as the cloner leaves it
			}
			fp, ok := cplanFor(f.Type, seen)
			if !ok {
				return nil, false
			}
			p.fields = append(p.fields, cfield{off: f.Offset, plan: fp, name: f.Name})
		}
		p.n = (len(p.fields) + 7) / 8 // the presence bitmap's bytes
		return p, true
	}
	return nil, false // interface, chan, func, unsafe pointer, complex
}

func basic(k reflect.Kind) bool {
	switch k {
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64, reflect.String:
		return true
	}
	return false
}

// encode returns v's encoding. The store never writes to it afterwards:
// decoded strings are views of it.
func (c codec[T]) encode(v *T) []byte {
	s := c.scratch.Get().(*scratch)
	s.st = strtab{}
	b := encodeValue(s.b[:0], &s.st, unsafe.Pointer(v), c.plan)
	// Keep exactly what was written: the slack of a grown buffer would be
	// kept with it for the object's life.
	out := append(make([]byte, 0, len(b)), b...)
	if cap(b) <= 64<<10 {
		s.b = b
		c.scratch.Put(s)
	}
	return out
}

// decode returns a fresh value from b, which must never change afterwards.
func (c codec[T]) decode(b []byte) (*T, error) {
	v := new(T)
	if err := c.decodeInto(b, v); err != nil {
		return nil, err
	}
	return v, nil
}

// decodeInto decodes b into *v, which is zero. v does not escape: a value
// read by Table.Get costs no allocation of its own, as its copy by
// assignment did not.
func (c codec[T]) decodeInto(b []byte, v *T) error {
	d := decoder{b: b}
	d.value(unsafe.Pointer(v), c.plan)
	if d.err == nil && d.i != len(b) {
		d.err = errCorrupt
	}
	if d.err != nil {
		return fmt.Errorf("compact %v: %w", c.plan.typ, d.err)
	}
	return nil
}

var errCorrupt = errors.New("corrupt encoding")

type sliceHeader struct {
	data     unsafe.Pointer
	len, cap int
}

// zero reports whether the value at p may be left out of its struct.
func zero(p unsafe.Pointer, pl *cplan) bool {
	switch pl.kind {
	case reflect.Bool:
		return !*(*bool)(p)
	case reflect.Int, reflect.Uint, reflect.Uintptr:
		return *(*uint)(p) == 0
	case reflect.Int64, reflect.Uint64, reflect.Float64:
		return *(*uint64)(p) == 0
	case reflect.Int32, reflect.Uint32, reflect.Float32:
		return *(*uint32)(p) == 0
	case reflect.Int16, reflect.Uint16:
		return *(*uint16)(p) == 0
	case reflect.Int8, reflect.Uint8:
		return *(*uint8)(p) == 0
	case reflect.String:
		return len(*(*string)(p)) == 0
	case reflect.Pointer, reflect.Map:
		return *(*unsafe.Pointer)(p) == nil
	case reflect.Slice:
		return (*sliceHeader)(p).data == nil
	}
	return false // structs, times, arrays: written, then dropped if they wrote nothing
}

func encodeValue(b []byte, st *strtab, p unsafe.Pointer, pl *cplan) []byte {
	switch pl.kind {
	case reflect.Bool:
		if *(*bool)(p) {
			return append(b, 1)
		}
		return append(b, 0)
	case reflect.Int:
		return binary.AppendVarint(b, int64(*(*int)(p)))
	case reflect.Int64:
		return binary.AppendVarint(b, *(*int64)(p))
	case reflect.Int32:
		return binary.AppendVarint(b, int64(*(*int32)(p)))
	case reflect.Int16:
		return binary.AppendVarint(b, int64(*(*int16)(p)))
	case reflect.Int8:
		return binary.AppendVarint(b, int64(*(*int8)(p)))
	case reflect.Uint, reflect.Uintptr:
		return binary.AppendUvarint(b, uint64(*(*uint)(p)))
	case reflect.Uint64:
		return binary.AppendUvarint(b, *(*uint64)(p))
	case reflect.Uint32:
		return binary.AppendUvarint(b, uint64(*(*uint32)(p)))
	case reflect.Uint16:
		return binary.AppendUvarint(b, uint64(*(*uint16)(p)))
	case reflect.Uint8:
		return append(b, *(*uint8)(p))
	case reflect.Float64:
		return binary.LittleEndian.AppendUint64(b, math.Float64bits(*(*float64)(p)))
	case reflect.Float32:
		return binary.LittleEndian.AppendUint32(b, math.Float32bits(*(*float32)(p)))
	case reflect.String:
		// A recurring string is its index in the field's dictionary (odd);
		// one the encoding already holds, 0 and where (a back reference);
		// any other its length +1 (even) and its bytes.
		s := *(*string)(p)
		if i, ok := pl.dict.lookup(s); ok {
			return binary.AppendUvarint(b, i<<1|1)
		}
		if len(s) >= minBackRef {
			if at, ok := st.find(b, s); ok {
				b = append(b, 0)
				b = binary.AppendUvarint(b, uint64(at))
				return binary.AppendUvarint(b, uint64(len(s)))
			}
		}
		b = binary.AppendUvarint(b, uint64(len(s)+1)<<1)
		st.add(len(b), len(s))
		return append(b, s...)
	case reflect.Pointer:
		q := *(*unsafe.Pointer)(p)
		if q == nil {
			return append(b, 0)
		}
		return encodeValue(append(b, 1), st, q, pl.elem)
	case reflect.Slice:
		h := (*sliceHeader)(p)
		if h.data == nil {
			return append(b, 0)
		}
		b = binary.AppendUvarint(b, uint64(h.len)+1)
		if pl.elem.kind == reflect.Uint8 {
			return append(b, unsafe.Slice((*byte)(h.data), h.len)...)
		}
		for i := range h.len {
			b = encodeValue(b, st, unsafe.Add(h.data, uintptr(i)*pl.size), pl.elem)
		}
		return b
	case reflect.Array:
		for i := range pl.n {
			b = encodeValue(b, st, unsafe.Add(p, uintptr(i)*pl.size), pl.elem)
		}
		return b
	case reflect.Map:
		// The map is read through a copy of its pointer, not at p: p then
		// does not escape, nor does the value a table encodes before storing
		// it (Table.Create), for one small allocation per map encoded.
		mp := *(*unsafe.Pointer)(p)
		if mp == nil {
			return append(b, 0)
		}
		m := reflect.NewAt(pl.typ, unsafe.Pointer(&mp)).Elem()
		b = binary.AppendUvarint(b, uint64(m.Len())+1)
		k := reflect.New(pl.typ.Key()).Elem()
		e := reflect.New(pl.typ.Elem()).Elem()
		it := m.MapRange()
		for it.Next() {
			k.SetIterKey(it)
			e.SetIterValue(it)
			b = encodeValue(b, st, k.Addr().UnsafePointer(), pl.key)
			b = encodeValue(b, st, e.Addr().UnsafePointer(), pl.elem)
		}
		return b
	case reflect.Struct:
		if pl.time {
			return st.encodeTime(b, asJSON(*(*time.Time)(p)))
		}
		// A bitmap of the fields present, then their values.
		start := len(b)
		b = append(b, make([]byte, pl.n)...)
		for i := range pl.fields {
			f := &pl.fields[i]
			q := unsafe.Add(p, f.off)
			if zero(q, f.plan) {
				continue
			}
			mark := len(b)
			b = encodeValue(b, st, q, f.plan)
			if f.plan.kind == reflect.Struct && allZero(b[mark:], f.plan) {
				b = b[:mark] // an all-zero struct (or the zero time): left out
				continue
			}
			b[start+i/8] |= 1 << (i % 8)
		}
		return b
	}
	panic("store: compact: no encoding for " + pl.typ.String())
}

// allZero reports whether b, a struct's encoding, says only that its
// fields are all zero (the zero time: 0).
func allZero(b []byte, pl *cplan) bool {
	want := pl.n
	if pl.time {
		want = 1
	}
	if len(b) != want {
		return false
	}
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// scratch is what an encoding is made in.
type scratch struct {
	b  []byte
	st strtab
}

// minBackRef is the shortest string written as a back reference (3-4
// bytes) when the encoding already holds it: a 3-D Secure record holds its
// payment's trade number three times.
const minBackRef = 8

// strtab remembers where an encoding holds its first strings of at least
// minBackRef bytes, and its first time's seconds (see encodeTime).
type strtab struct {
	at      [16]struct{ off, n uint32 }
	n       int
	base    int64
	hasBase bool
}

func (t *strtab) add(off, n int) {
	if n >= minBackRef && t.n < len(t.at) {
		t.at[t.n].off, t.at[t.n].n = uint32(off), uint32(n)
		t.n++
	}
}

// find returns where b holds s.
func (t *strtab) find(b []byte, s string) (int, bool) {
	for _, e := range t.at[:t.n] {
		if int(e.n) == len(s) && string(b[e.off:e.off+e.n]) == s {
			return int(e.off), true
		}
	}
	return 0, false
}

// encodeTime writes an asJSON time: 0 for the zero time, else its UTC
// offset in seconds (zigzag) ×2, +1 when the seconds are relative to the
// encoding's first time (an object's times are close: 1-2 bytes instead of
// 5), then +1; its Unix seconds (or their difference); its nanoseconds.
func (st *strtab) encodeTime(b []byte, t time.Time) []byte {
	if t == (time.Time{}) {
		return append(b, 0)
	}
	_, off := t.Zone()
	sec, rel := t.Unix(), uint64(0)
	if st.hasBase {
		sec, rel = sec-st.base, 1
	} else {
		st.base, st.hasBase = sec, true
	}
	b = binary.AppendUvarint(b, (zigzag(int64(off))<<1|rel)+1)
	b = binary.AppendVarint(b, sec)
	return binary.AppendUvarint(b, uint64(t.Nanosecond()))
}

func zigzag(v int64) uint64 { return uint64(v<<1) ^ uint64(v>>63) }

// decoder reads an encoding; the first error sticks and stops it.
type decoder struct {
	b       []byte
	i       int
	base    int64 // the first time's seconds (see encodeTime)
	hasBase bool
	err     error
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	if d.i < len(d.b) && d.b[d.i] < 0x80 {
		v := uint64(d.b[d.i])
		d.i++
		return v
	}
	v, n := binary.Uvarint(d.b[d.i:])
	if n <= 0 {
		d.err = errCorrupt
		return 0
	}
	d.i += n
	return v
}

func (d *decoder) varint() int64 {
	u := d.uvarint()
	return int64(u>>1) ^ -int64(u&1)
}

func (d *decoder) bytes(n uint64) []byte {
	if d.err != nil {
		return nil
	}
	if n > uint64(len(d.b)-d.i) {
		d.err = errCorrupt
		return nil
	}
	s := d.b[d.i : d.i+int(n) : d.i+int(n)]
	d.i += int(n)
	return s
}

// length reads a count of n-byte (at least 1) things that must fit in what
// is left, so that a corrupt count cannot make a huge allocation.
func (d *decoder) length(u uint64) int {
	if d.err == nil && u > uint64(len(d.b)-d.i) {
		d.err = errCorrupt
	}
	if d.err != nil {
		return 0
	}
	return int(u)
}

// value decodes into the zero value at p.
func (d *decoder) value(p unsafe.Pointer, pl *cplan) {
	if d.err != nil {
		return
	}
	switch pl.kind {
	case reflect.Bool:
		if b := d.bytes(1); b != nil {
			if b[0] > 1 {
				d.err = errCorrupt
			}
			*(*bool)(p) = b[0] == 1
		}
	case reflect.Int:
		*(*int)(p) = int(d.varint())
	case reflect.Int64:
		*(*int64)(p) = d.varint()
	case reflect.Int32:
		*(*int32)(p) = int32(d.varint())
	case reflect.Int16:
		*(*int16)(p) = int16(d.varint())
	case reflect.Int8:
		*(*int8)(p) = int8(d.varint())
	case reflect.Uint, reflect.Uintptr:
		*(*uint)(p) = uint(d.uvarint())
	case reflect.Uint64:
		*(*uint64)(p) = d.uvarint()
	case reflect.Uint32:
		*(*uint32)(p) = uint32(d.uvarint())
	case reflect.Uint16:
		*(*uint16)(p) = uint16(d.uvarint())
	case reflect.Uint8:
		if b := d.bytes(1); b != nil {
			*(*uint8)(p) = b[0]
		}
	case reflect.Float64:
		if b := d.bytes(8); b != nil {
			*(*float64)(p) = math.Float64frombits(binary.LittleEndian.Uint64(b))
		}
	case reflect.Float32:
		if b := d.bytes(4); b != nil {
			*(*float32)(p) = math.Float32frombits(binary.LittleEndian.Uint32(b))
		}
	case reflect.String:
		u := d.uvarint()
		if u&1 == 1 {
			s, ok := pl.dict.at(u >> 1)
			if !ok {
				d.err = errCorrupt
			}
			*(*string)(p) = s
			return
		}
		if u == 0 {
			at, n := d.uvarint(), d.uvarint()
			if d.err == nil && (at > uint64(d.i) || n > uint64(d.i)-at || n == 0) {
				d.err = errCorrupt
			}
			if d.err == nil {
				*(*string)(p) = unsafe.String(&d.b[at], int(n))
			}
			return
		}
		if b := d.bytes(u>>1 - 1); len(b) > 0 {
			// A view of the stored bytes, which are never written again.
			*(*string)(p) = unsafe.String(&b[0], len(b))
		}
	case reflect.Pointer:
		switch d.uvarint() {
		case 0:
		case 1:
			q := reflect.New(pl.typ.Elem()).UnsafePointer()
			d.value(q, pl.elem)
			*(*unsafe.Pointer)(p) = q
		default:
			d.err = errCorrupt
		}
	case reflect.Slice:
		u := d.uvarint()
		if u == 0 || d.err != nil {
			return
		}
		n := d.length(u - 1)
		if d.err != nil {
			return
		}
		var data unsafe.Pointer
		if n > 0 && n < len(pl.arrays) {
			data = reflect.New(pl.arrays[n]).UnsafePointer()
		} else {
			data = reflect.MakeSlice(pl.typ, n, n).UnsafePointer()
		}
		if pl.elem.kind == reflect.Uint8 {
			copy(unsafe.Slice((*byte)(data), n), d.bytes(uint64(n)))
		} else {
			for i := range n {
				d.value(unsafe.Add(data, uintptr(i)*pl.size), pl.elem)
			}
		}
		*(*sliceHeader)(p) = sliceHeader{data: data, len: n, cap: n}
	case reflect.Array:
		for i := range pl.n {
			d.value(unsafe.Add(p, uintptr(i)*pl.size), pl.elem)
		}
	case reflect.Map:
		u := d.uvarint()
		if u == 0 || d.err != nil {
			return
		}
		n := d.length(u - 1)
		m := reflect.MakeMapWithSize(pl.typ, n)
		k := reflect.New(pl.typ.Key()).Elem()
		for range n {
			k.SetZero()
			d.value(k.Addr().UnsafePointer(), pl.key)
			e := reflect.New(pl.typ.Elem())
			d.value(e.UnsafePointer(), pl.elem)
			if d.err != nil {
				return
			}
			m.SetMapIndex(k, e.Elem())
		}
		// A map is one pointer: written so, p does not escape (see
		// decodeInto).
		*(*unsafe.Pointer)(p) = m.UnsafePointer()
	case reflect.Struct:
		if pl.time {
			*(*time.Time)(p) = d.time()
			return
		}
		bits := d.bytes(uint64(pl.n))
		if d.err != nil {
			return
		}
		if n := len(pl.fields) % 8; n != 0 && bits[len(bits)-1]>>n != 0 {
			d.err = errCorrupt // a field past the struct's last
			return
		}
		for i := range pl.fields {
			if bits[i/8]&(1<<(i%8)) != 0 {
				f := &pl.fields[i]
				d.value(unsafe.Add(p, f.off), f.plan)
			}
		}
	}
}

func (d *decoder) time() time.Time {
	z := d.uvarint()
	if z == 0 || d.err != nil {
		return time.Time{}
	}
	z--
	rel := z&1 == 1
	z >>= 1
	off := int64(z>>1) ^ -int64(z&1)
	sec := d.varint()
	ns := d.uvarint()
	if ns >= 1e9 || off != int64(int32(off)) || rel != d.hasBase {
		d.err = errCorrupt
	}
	if d.err != nil {
		return time.Time{}
	}
	if rel {
		sec += d.base
	} else {
		d.base, d.hasBase = sec, true
	}
	t := time.Unix(sec, int64(ns))
	if off == 0 {
		return t.UTC()
	}
	return asJSON(t.In(time.FixedZone("", int(off))))
}

// A strdict keeps the values of one string field (or element) that recur
// across objects — a status, a currency, a merchant's id, a card's masked
// number — so that an encoding holds their index (a byte or two) instead
// of their bytes: ≈−190 B for a card payment. A string goes in once two of
// the last few strings the field encoded outside it are the same (by hash),
// so that fields of unique values (ids) leave it empty. It only grows
// (up to dictMax strings of at most dictLen bytes, copied so that they
// keep no encoding alive), so that an index, once written, means the same
// string for as long as the table lives; readers take a snapshot without a
// lock.
type strdict struct {
	seed   maphash.Seed
	mu     sync.Mutex // serialises additions
	snap   atomic.Pointer[dictSnap]
	recent [8]atomic.Uint64 // hashes of strings encoded outside the dictionary
	next   atomic.Uint32
	misses atomic.Uint32 // strings encoded outside it since it last grew
}

type dictSnap struct {
	index map[string]uint64
	strs  []string
}

const (
	dictMax = 256
	dictLen = 48
	// dictScan is the most strings looked up by comparing them all (a
	// status's few values), not by hashing.
	dictScan = 8
	// dictIdle is how many strings in a row the dictionary may miss before
	// only one in dictSample is hashed (a field of unique ids, whose hash
	// would cost every encoding for nothing).
	dictIdle   = 1024
	dictSample = 64
)

// lookup returns s's index, adding s when it recurs.
func (d *strdict) lookup(s string) (uint64, bool) {
	if len(s) > dictLen || s == "" {
		return 0, false
	}
	snap := d.snap.Load()
	if snap != nil {
		if len(snap.strs) <= dictScan {
			for i, v := range snap.strs {
				if v == s {
					return uint64(i), true
				}
			}
		} else if i, ok := snap.index[s]; ok {
			return i, true
		}
		if len(snap.strs) >= dictMax {
			return 0, false
		}
	}
	if n := d.misses.Add(1); n > dictIdle && n%dictSample != 0 {
		return 0, false
	}
	h := maphash.String(d.seed, s)
	for i := range d.recent {
		if d.recent[i].Load() == h {
			return d.add(s)
		}
	}
	d.recent[d.next.Add(1)%uint32(len(d.recent))].Store(h)
	return 0, false
}

func (d *strdict) add(s string) (uint64, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	old := d.snap.Load()
	next := &dictSnap{index: map[string]uint64{}}
	if old != nil {
		if i, ok := old.index[s]; ok {
			return i, true
		}
		if len(old.strs) >= dictMax {
			return 0, false
		}
		next.index = make(map[string]uint64, len(old.strs)+1)
		for k, v := range old.index {
			next.index[k] = v
		}
		next.strs = append(make([]string, 0, len(old.strs)+1), old.strs...)
	}
	s = strings.Clone(s)
	next.index[s] = uint64(len(next.strs))
	next.strs = append(next.strs, s)
	d.snap.Store(next)
	d.misses.Store(0)
	return next.index[s], true
}

// at returns the string at index i.
func (d *strdict) at(i uint64) (string, bool) {
	snap := d.snap.Load()
	if snap == nil || i >= uint64(len(snap.strs)) {
		return "", false
	}
	return snap.strs[i], true
}

// decodeFields decodes into *v, which is zero, only the fields sel
// selects, skipping the others without allocating: the rest of *v stays
// zero. Eviction asks its question of a value decoded so (see
// EvictionReads), where a full decode made the pointers, slices and maps of
// every candidate (≈300 B a card payment, at every create of a full store)
// only to drop them.
func (c codec[T]) decodeFields(b []byte, v *T, sel *selection) error {
	d := decoder{b: b}
	d.fields(unsafe.Pointer(v), c.plan, sel)
	if d.err == nil && d.i != len(b) {
		d.err = errCorrupt
	}
	if d.err != nil {
		return fmt.Errorf("compact %v: %w", c.plan.typ, d.err)
	}
	return nil
}

// A selection says which fields of a struct decodeFields decodes: a field
// whole (take), some of its own fields (sub: a struct's), or none.
type selection struct {
	take []bool
	sub  []*selection
}

// selectFields returns the selection of the fields named by their Go
// names, a field of a struct field (an embedded one, say) as "Outer.Inner".
// A name that is no field the codec carries of a struct (not a time) is an
// error.
func selectFields(pl *cplan, names []string) (*selection, error) {
	if pl == nil || pl.kind != reflect.Struct || pl.time {
		return nil, fmt.Errorf("store: fields of %v: not a struct", pl.typ)
	}
	sel := &selection{take: make([]bool, len(pl.fields)), sub: make([]*selection, len(pl.fields))}
	for _, name := range names {
		first, rest, nested := strings.Cut(name, ".")
		i := slices.IndexFunc(pl.fields, func(f cfield) bool { return f.name == first })
		if i < 0 {
			return nil, fmt.Errorf("store: %v has no field %q that it stores", pl.typ, first)
		}
		if !nested {
			sel.take[i] = true
			continue
		}
		sub, err := selectFields(pl.fields[i].plan, []string{rest})
		if err != nil {
			return nil, err
		}
		if sel.sub[i] != nil {
			sub = sel.sub[i].merge(sub)
		}
		sel.sub[i] = sub
	}
	for i := range sel.take {
		if sel.take[i] {
			sel.sub[i] = nil // the whole field: whatever else of it was named
		}
	}
	return sel, nil
}

// merge adds o's fields to s's.
func (s *selection) merge(o *selection) *selection {
	for i := range s.take {
		s.take[i] = s.take[i] || o.take[i]
		switch {
		case s.sub[i] == nil:
			s.sub[i] = o.sub[i]
		case o.sub[i] != nil:
			s.sub[i] = s.sub[i].merge(o.sub[i])
		}
	}
	return s
}

// fields is value of a struct (not a time) decoding only the fields sel
// selects.
func (d *decoder) fields(p unsafe.Pointer, pl *cplan, sel *selection) {
	bits := d.bytes(uint64(pl.n))
	if d.err != nil {
		return
	}
	if n := len(pl.fields) % 8; n != 0 && bits[len(bits)-1]>>n != 0 {
		d.err = errCorrupt
		return
	}
	for i := range pl.fields {
		if bits[i/8]&(1<<(i%8)) == 0 {
			continue
		}
		f := &pl.fields[i]
		switch {
		case sel.take[i]:
			d.value(unsafe.Add(p, f.off), f.plan)
		case sel.sub[i] != nil:
			d.fields(unsafe.Add(p, f.off), f.plan, sel.sub[i])
		default:
			d.skip(f.plan)
		}
	}
}

// skip reads past a value as value would decode it, keeping nothing but
// what a later value needs: the first time's seconds (see encodeTime). A
// string's back reference points into the bytes, not at what was decoded,
// so skipping the string it refers to changes nothing.
func (d *decoder) skip(pl *cplan) {
	if d.err != nil {
		return
	}
	switch pl.kind {
	case reflect.Bool, reflect.Uint8:
		d.bytes(1)
	case reflect.Int, reflect.Int64, reflect.Int32, reflect.Int16, reflect.Int8,
		reflect.Uint, reflect.Uintptr, reflect.Uint64, reflect.Uint32, reflect.Uint16:
		d.uvarint()
	case reflect.Float64:
		d.bytes(8)
	case reflect.Float32:
		d.bytes(4)
	case reflect.String:
		switch u := d.uvarint(); {
		case u&1 == 1: // a dictionary's index
		case u == 0: // a back reference
			d.uvarint()
			d.uvarint()
		default:
			d.bytes(u>>1 - 1)
		}
	case reflect.Pointer:
		switch d.uvarint() {
		case 0:
		case 1:
			d.skip(pl.elem)
		default:
			d.err = errCorrupt
		}
	case reflect.Slice:
		u := d.uvarint()
		if u == 0 || d.err != nil {
			return
		}
		n := d.length(u - 1)
		if pl.elem.kind == reflect.Uint8 {
			d.bytes(uint64(n))
			return
		}
		for range n {
			d.skip(pl.elem)
		}
	case reflect.Array:
		for range pl.n {
			d.skip(pl.elem)
		}
	case reflect.Map:
		u := d.uvarint()
		if u == 0 || d.err != nil {
			return
		}
		for range d.length(u - 1) {
			d.skip(pl.key)
			d.skip(pl.elem)
		}
	case reflect.Struct:
		if pl.time {
			d.skipTime()
			return
		}
		bits := d.bytes(uint64(pl.n))
		if d.err != nil {
			return
		}
		for i := range pl.fields {
			if bits[i/8]&(1<<(i%8)) != 0 {
				d.skip(pl.fields[i].plan)
			}
		}
	}
}

// skipTime is time without the time: it reads the first time's seconds,
// which the later ones are relative to.
func (d *decoder) skipTime() {
	z := d.uvarint()
	if z == 0 || d.err != nil {
		return
	}
	rel := (z-1)&1 == 1
	sec := d.varint()
	d.uvarint()
	if rel != d.hasBase {
		d.err = errCorrupt
		return
	}
	if !rel {
		d.base, d.hasBase = sec, true
	}
}
