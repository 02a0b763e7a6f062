package store

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"
	"unsafe"
)

// every is a type with every kind the codec carries, so that the
// round-trip tests reach all of its paths (the tables' own types are
// checked in compact_kinds_test.go).
type every struct {
	B     bool
	I     int
	I8    int8
	I16   int16
	I32   int32
	I64   int64
	U     uint
	U8    uint8
	U16   uint16
	U32   uint32
	U64   uint64
	UP    uintptr
	F32   float32
	F64   float64
	S     string
	Bs    []byte
	Named named
	D     time.Duration
	T     time.Time
	TP    *time.Time
	Ts    []time.Time
	P     *every // recursive
	Ps    []*leaf
	L     leaf
	Ls    []leaf
	A     [3]string
	AL    [2]leaf
	M     map[string]int
	MP    map[int64]*leaf
	MS    map[string][]string
	MT    map[bool]time.Time
	Skip  string `json:"-"`
	Dash  string `json:"-,"`
	Omit  string `json:"omit,omitempty"`
}

type named string

type leaf struct {
	Name  string    `json:"name"`
	At    time.Time `json:"at"`
	N     int64     `json:"n,omitempty"`
	Inner *leaf     `json:"inner,omitempty"`
	Tags  []string  `json:"tags"`
}

var zones = []*time.Location{time.UTC, time.Local, time.FixedZone("", 2*3600), time.FixedZone("CEST", 2*3600), time.FixedZone("", -5*3600-1800), time.FixedZone("Z0", 0)}

// fill sets v (settable, zero) to a random value: zero, empty and nil
// as often as not, times in several zones and with a monotonic reading.
func fill(v reflect.Value, r *rand.Rand, depth int) {
	if r.IntN(4) == 0 {
		return // zero
	}
	if v.Type() == timeType {
		var t time.Time
		switch r.IntN(4) {
		case 0:
			t = time.Now().Add(time.Duration(r.Int64N(1e15)))
		case 1:
			t = time.Unix(r.Int64N(1<<40)-1<<39, r.Int64N(1e9))
		default:
			t = time.Unix(1.7e9+r.Int64N(1e9), r.Int64N(1e9))
		}
		v.Set(reflect.ValueOf(t.In(zones[r.IntN(len(zones))])))
		return
	}
	switch v.Kind() {
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n := []int64{1, -1, math.MaxInt64, math.MinInt64, r.Int64N(300) - 150, r.Int64()}[r.IntN(6)]
		v.SetInt(n) // truncated to the kind
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		v.SetUint([]uint64{1, math.MaxUint64, r.Uint64N(300), r.Uint64()}[r.IntN(4)])
	case reflect.Float32, reflect.Float64:
		v.SetFloat([]float64{1.5, -0.0 * -1, math.Inf(1), math.MaxFloat64, r.NormFloat64()}[r.IntN(5)])
	case reflect.String:
		if r.IntN(2) == 0 {
			// Recurring values, which go through the dictionaries.
			v.SetString([]string{"CAPTURED", "USD", "M086666075137", "approved by the issuer and captured", "\x00\xff"}[r.IntN(5)])
			return
		}
		b := make([]byte, r.IntN(200))
		for i := range b {
			b[i] = byte(r.IntN(256))
		}
		if r.IntN(2) == 0 {
			b = b[:min(len(b), 12)]
		}
		v.SetString(string(b))
	case reflect.Pointer:
		if depth > 3 {
			return
		}
		p := reflect.New(v.Type().Elem())
		fill(p.Elem(), r, depth+1)
		v.Set(p)
	case reflect.Slice:
		if depth > 3 {
			return
		}
		n := r.IntN(4)
		if v.Type().Elem().Kind() == reflect.Uint8 {
			n = r.IntN(300)
		}
		s := reflect.MakeSlice(v.Type(), n, n) // n == 0: empty, not nil
		for i := range n {
			fill(s.Index(i), r, depth+1)
		}
		v.Set(s)
	case reflect.Array:
		for i := range v.Len() {
			fill(v.Index(i), r, depth+1)
		}
	case reflect.Map:
		if depth > 3 {
			return
		}
		n := r.IntN(4)
		m := reflect.MakeMapWithSize(v.Type(), n)
		for range n {
			k := reflect.New(v.Type().Key()).Elem()
			fill(k, r, depth+1)
			e := reflect.New(v.Type().Elem()).Elem()
			fill(e, r, depth+1)
			m.SetMapIndex(k, e)
		}
		v.Set(m)
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				fill(v.Field(i), r, depth+1)
			}
		}
	}
}

// equalAsCloned fails t unless the codec's round trip of v is what the
// cloner makes of it.
func equalAsCloned(t *testing.T, v reflect.Value) {
	t.Helper()
	got, want, ok, err := RoundTrip(v)
	if !ok {
		t.Fatalf("%v has no codec", v.Type().Elem())
	}
	if err != nil {
		t.Fatalf("%v: %v", v.Type().Elem(), err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%v: round trip differs from the clone:\n got %#v\nwant %#v", v.Type().Elem(), got, want)
	}
}

func TestCompactRoundTripIsTheClone(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 3000 {
		equalAsCloned(t, Random(reflect.TypeFor[every](), r))
	}
	// Corner values, one at a time.
	loc := time.FixedZone("", 3600)
	for _, v := range []every{
		{},
		{Bs: []byte{}, Ps: []*leaf{}, Ls: []leaf{}, M: map[string]int{}, MS: map[string][]string{"": nil, "a": {}}},
		{Ps: []*leaf{nil, {}}, Ls: []leaf{{}, {Tags: []string{}}}, MP: map[int64]*leaf{0: nil, 1: {}}},
		{T: time.Time{}.In(loc), TP: &time.Time{}, Ts: []time.Time{{}, time.Unix(0, 0)}},
		{T: time.Now(), Skip: "not carried", Dash: "carried", L: leaf{At: time.Unix(1, 1).In(loc)}},
		{F64: math.Copysign(0, -1), F32: float32(math.Copysign(0, -1)), I8: -128, U64: math.MaxUint64},
	} {
		equalAsCloned(t, reflect.ValueOf(&v))
	}
}

// eachCorruptEncoding calls fn with n encodings of random values, each
// with one byte changed and half of them cut short.
func eachCorruptEncoding(c codec[every], r *rand.Rand, n int, fn func(b []byte)) {
	for range n {
		v := Random(reflect.TypeFor[every](), r).Interface().(*every)
		b := c.encode(v)
		if len(b) == 0 {
			continue
		}
		b[r.IntN(len(b))] ^= byte(1 + r.IntN(255))
		if n := r.IntN(len(b) + 1); r.IntN(2) == 0 {
			b = b[:n]
		}
		fn(b)
	}
}

func TestCompactDecodesCorruptBytesAsAnError(t *testing.T) {
	c := newCodec[every]()
	eachCorruptEncoding(c, rand.New(rand.NewPCG(3, 4)), 2000, func(b []byte) {
		c.decode(b) // must not panic; an error or some value
	})
	if _, err := c.decode([]byte{0x7f}); err == nil {
		t.Fatal("a field past the struct's last decoded without an error")
	}
}

// FuzzCompact draws values from the fuzzer's bytes: each must come back as
// the cloner copies it; and any bytes must decode without a panic.
func FuzzCompact(f *testing.F) {
	f.Add(uint64(1), uint64(2), []byte{})
	f.Add(uint64(7), uint64(0), []byte{3, 1, 0})
	c := newCodec[every]()
	sel, err := selectFields(c.plan, []string{"S", "T", "L.At", "Ls"})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, s1, s2 uint64, b []byte) {
		r := rand.New(rand.NewPCG(s1, s2))
		equalAsCloned(t, Random(reflect.TypeFor[every](), r))
		equalAsCloned(t, Random(reflect.TypeFor[leaf](), r))
		if v, err := c.decode(b); err == nil {
			// What decodes must encode back to what it decoded from.
			equalAsCloned(t, reflect.ValueOf(v))
		}
		// Eviction's partial decode (decodeFields) must not panic either.
		var some every
		c.decodeFields(b, &some, sel)
	})
}

func TestCompactLeavesOutInterfacesAndWhatTheClonerCannotCopy(t *testing.T) {
	type withAny struct{ V any }
	type withUnexported struct{ v int }
	type withFunc struct{ F func() }
	if newCodec[withAny]().plan != nil || newCodec[withUnexported]().plan != nil || newCodec[withFunc]().plan != nil {
		t.Fatal("a type the codec cannot carry exactly has a codec")
	}
	if newCodec[every]().plan == nil || newCodec[leaf]().plan == nil {
		t.Fatal("no codec for a type it carries")
	}
}

// TestObjectIsSmall holds the memory store's per-object bookkeeping to the
// 64 B size class (it was 144 B before the compact encoding): three objects
// are kept per card payment.
func TestObjectIsSmall(t *testing.T) {
	if n := unsafe.Sizeof(object{}); n > 64 {
		t.Fatalf("object is %d B, more than 64", n)
	}
}

// TestDictionaryKeepsRecurringStringsOnly: recurring values are encoded as
// an index (and decode to the same strings), unique ones inline, and the
// dictionary stays bounded.
func TestDictionaryKeepsRecurringStringsOnly(t *testing.T) {
	c := newCodec[leaf]()
	first := c.encode(&leaf{Name: "CAPTURED", Tags: []string{"a-unique-0"}})
	var last []byte
	for i := range 10 {
		last = c.encode(&leaf{Name: "CAPTURED", Tags: []string{fmt.Sprint("a-unique-", i+1)}})
	}
	if len(last) >= len(first) {
		t.Fatalf("a recurring string still inline: %q then %q", first, last)
	}
	for _, b := range [][]byte{first, last} {
		v, err := c.decode(b)
		if err != nil || v.Name != "CAPTURED" {
			t.Fatalf("%q: %+v %v", b, v, err)
		}
	}
	name, tags := c.plan.fields[0].plan.dict.snap.Load(), c.plan.fields[4].plan.elem.dict.snap.Load()
	if name == nil || len(name.strs) != 1 || tags != nil {
		t.Fatalf("dictionaries: name %+v, tags %+v", name, tags)
	}
	for i := range 3 * dictMax {
		s := fmt.Sprint("v", i)
		c.encode(&leaf{Name: s})
		c.encode(&leaf{Name: s})
	}
	if n := len(c.plan.fields[0].plan.dict.snap.Load().strs); n != dictMax {
		t.Fatalf("%d strings in a dictionary; at most %d", n, dictMax)
	}
	if _, err := c.decode(binary.AppendUvarint([]byte{1}, 2*dictMax+1)); err == nil {
		t.Fatal("an index past the dictionary decoded")
	}
}

// TestRepeatedStringsAreWrittenOnce: a string an encoding already holds
// (a 3-D Secure record's trade number, three times) is a back reference,
// and decodes to the same string.
func TestRepeatedStringsAreWrittenOnce(t *testing.T) {
	c := newCodec[leaf]()
	trade := "20261122100000334578"
	v := &leaf{Name: trade, Tags: []string{trade, "short", "short", "another long string", trade}}
	b := c.encode(v)
	if n := strings.Count(string(b), trade); n != 1 {
		t.Fatalf("%q holds the trade number %d times", b, n)
	}
	got, err := c.decode(b)
	if err != nil || !reflect.DeepEqual(got, v) {
		t.Fatalf("%+v %v", got, err)
	}
	// A reference past what precedes it is corrupt.
	if _, err := c.decode([]byte{1, 0, 5, 3, 0}); err == nil {
		t.Fatal("a reference forward decoded")
	}
}

// TestIndexesHoldOnlyWhatIsCurrent: an index key of one object goes as
// soon as the object loses the key or is evicted, so that the index keeps
// nothing alive that Find would not answer.
func TestIndexesHoldOnlyWhatIsCurrent(t *testing.T) {
	type item struct {
		Key  string `json:"key"`
		Done bool   `json:"done"`
	}
	m := NewMemoryWith(MemoryOptions{Retention: Retention{MaxObjects: 20}})
	items := NewTable[item](m, "item", Index("key", func(v *item) string { return v.Key }),
		Evictable(func(v *item, _ Peek) bool { return v.Done }))
	r := rand.New(rand.NewPCG(7, 8))
	ctx := context.Background()
	for i := range 500 {
		items.Create(ctx, fmt.Sprint(i), item{Key: fmt.Sprint("k", i)})
		items.Update(ctx, fmt.Sprint(r.IntN(i+1)), func(v *item) error {
			v.Key, v.Done = fmt.Sprint("k", r.IntN(1000)), r.IntN(2) == 0
			return nil
		})
	}
	tb := m.kinds["item"]
	tb.ixmu.Lock()
	defer tb.ixmu.Unlock()
	for k, o := range tb.indexes[0].one {
		if !current(o, 0, k) {
			t.Fatalf("key %q holds %s, which no longer has it", k, o.id)
		}
	}
	if n := len(tb.indexes[0].one) + len(tb.indexes[0].many); n > tb.count {
		t.Fatalf("%d index keys for %d objects", n, tb.count)
	}
}

// TestIdleDictionaryStillLearns: a field of unique values stops hashing
// most of its strings, yet a value that starts recurring still goes in.
func TestIdleDictionaryStillLearns(t *testing.T) {
	c := newCodec[leaf]()
	for i := range 2 * dictIdle {
		c.encode(&leaf{Name: fmt.Sprint("unique-", i)})
	}
	if c.plan.fields[0].plan.dict.snap.Load() != nil {
		t.Fatal("unique values went into the dictionary")
	}
	for range 4 * dictSample {
		c.encode(&leaf{Name: "CAPTURED"})
	}
	if d := c.plan.fields[0].plan.dict.snap.Load(); d == nil || d.strs[0] != "CAPTURED" {
		t.Fatalf("a recurring value did not go in: %+v", d)
	}
	v, err := c.decode(c.encode(&leaf{Name: "CAPTURED"}))
	if err != nil || v.Name != "CAPTURED" {
		t.Fatalf("%+v %v", v, err)
	}
}
