package store

import (
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"
)

// onlyFields returns a copy of *v with every field zero but those the
// names select (as selectFields reads them: "Outer.Inner" a field of a
// struct field).
func onlyFields(v reflect.Value, names []string) reflect.Value {
	out := reflect.New(v.Type().Elem())
	for _, name := range names {
		src, dst := v.Elem(), out.Elem()
		for part := range strings.SplitSeq(name, ".") {
			src, dst = src.FieldByName(part), dst.FieldByName(part)
		}
		dst.Set(src)
	}
	return out
}

// everyFields are names selectFields takes of every: whole fields of each
// kind, fields of a struct field, a field named twice or with its own.
var everyFields = []string{
	"B", "I", "I64", "U8", "F32", "F64", "S", "Bs", "Named", "D", "T", "TP", "Ts", "P", "Ps",
	"L", "Ls", "A", "AL", "M", "MP", "MS", "MT", "Dash", "Omit",
	"L.Name", "L.At", "L.N", "L.Inner", "L.Tags",
}

// TestDecodeFieldsIsTheFullDecodeOfThem holds the partial decode that
// eviction asks its question of (EvictableReading) to the full decode:
// the fields selected as it decodes them, every other one zero, whatever
// it skipped on the way (times the later ones are relative to, strings the
// later ones refer back to).
func TestDecodeFieldsIsTheFullDecodeOfThem(t *testing.T) {
	c := newCodec[every]()
	r := rand.New(rand.NewPCG(5, 6))
	for i := range 3000 {
		var names []string
		for range r.IntN(5) {
			names = append(names, everyFields[r.IntN(len(everyFields))])
		}
		sel, err := selectFields(c.plan, names)
		if err != nil {
			t.Fatalf("%q: %v", names, err)
		}
		v := Random(reflect.TypeFor[every](), r)
		if i%3 == 0 {
			// Strings written twice (back references) and times close to
			// the first (relative seconds), in fields skipped and not.
			e := v.Interface().(*every)
			e.S, e.Omit, e.L.Name = "a string written twice", "a string written twice", "a string written twice"
			e.T, e.L.At = time.Unix(1.7e9, 5).UTC(), time.Unix(1.7e9+60, 0).UTC()
		}
		b := c.encode(v.Interface().(*every))
		full, err := c.decode(b)
		if err != nil {
			t.Fatal(err)
		}
		var got every
		if err := c.decodeFields(b, &got, sel); err != nil {
			t.Fatalf("%q: %v", names, err)
		}
		want := onlyFields(reflect.ValueOf(full), names).Interface().(*every)
		if !reflect.DeepEqual(&got, want) {
			t.Fatalf("fields %q:\n got %#v\nwant %#v", names, got, *want)
		}
	}
}

func TestDecodeFieldsOfCorruptBytesIsAnError(t *testing.T) {
	c := newCodec[every]()
	sel, err := selectFields(c.plan, []string{"S", "L.At"})
	if err != nil {
		t.Fatal(err)
	}
	eachCorruptEncoding(c, rand.New(rand.NewPCG(7, 8)), 2000, func(b []byte) {
		var got every
		c.decodeFields(b, &got, sel) // must not panic; an error or some value
	})
	var got every
	if err := c.decodeFields([]byte{0x7f}, &got, sel); err == nil {
		t.Fatal("a field past the struct's last decoded without an error")
	}
}

func TestSelectFieldsRefusesWhatIsNoStoredField(t *testing.T) {
	c := newCodec[every]()
	for _, tc := range []struct {
		names []string
		ok    bool
	}{
		{[]string{"S", "L.Tags"}, true},
		{[]string{"L", "L.Name"}, true},
		{[]string{"Nope"}, false},
		{[]string{"Skip"}, false},   // json:"-": never stored
		{[]string{"P.S"}, false},    // through a pointer
		{[]string{"T.wall"}, false}, // a time is no struct of fields
		{[]string{"S.x"}, false},
		{[]string{"L.Nope"}, false},
	} {
		if _, err := selectFields(c.plan, tc.names); (err == nil) != tc.ok {
			t.Errorf("%q: error %v, want ok %v", tc.names, err, tc.ok)
		}
	}
}
