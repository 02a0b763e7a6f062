package store

import (
	"encoding/json"
	"reflect"
	"strings"
	"time"
)

// A cloner deep-copies values of one type, so that the memory store can keep
// objects as Go values instead of JSON documents and still never share
// state with a caller: what Get returns, what Update's function changes and
// what Update returns are all copies.
//
// It copies what JSON would carry and nothing else, so that a value read
// back is the value a JSON store would give: exported fields (a field tagged
// `json:"-"` is left zero), pointers, slices, maps and interfaces followed
// all the way down; time.Time and strings are immutable and shared. A type
// it cannot copy faithfully (an unexported field, a channel, a function)
// makes the table keep JSON documents instead.
type cloner[T any] struct {
	plan *plan // nil: T is copied by assignment alone
	ok   bool  // false: use JSON
}

// plan says how to finish a copy made by assignment.
type plan struct {
	kind   reflect.Kind
	time   bool        // a time.Time: as JSON gives it back (see asJSON)
	fields []fieldPlan // structs: fields needing more than assignment
	elem   *plan       // pointers, slices, maps (values); nil when assignment suffices
	zero   []int       // structs: field indexes to clear (json:"-")
}

type fieldPlan struct {
	index int
	plan  *plan
}

var timeType = reflect.TypeFor[time.Time]()

var timePlan = &plan{kind: reflect.Struct, time: true}

func newCloner[T any]() cloner[T] {
	p, ok := planFor(reflect.TypeFor[T](), map[reflect.Type]*plan{})
	return cloner[T]{plan: p, ok: ok}
}

// planFor returns nil when assignment copies t completely.
func planFor(t reflect.Type, seen map[reflect.Type]*plan) (*plan, bool) {
	if t == timeType {
		return timePlan, true
	}
	if p, ok := seen[t]; ok {
		return p, true // recursive type: the plan being built
	}
	switch t.Kind() {
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64, reflect.String:
		return nil, true
	case reflect.Pointer, reflect.Slice, reflect.Map:
		p := &plan{kind: t.Kind()}
		seen[t] = p
		var ok bool
		if p.elem, ok = planFor(t.Elem(), seen); !ok {
			return nil, false
		}
		if t.Kind() == reflect.Map {
			if kp, ok := planFor(t.Key(), seen); !ok || kp != nil {
				return nil, false
			}
		}
		return p, true
	case reflect.Array:
		p := &plan{kind: reflect.Array}
		seen[t] = p
		var ok bool
		if p.elem, ok = planFor(t.Elem(), seen); !ok {
			return nil, false
		}
		if p.elem == nil {
			return nil, true
		}
		return p, true
	case reflect.Interface:
		return &plan{kind: reflect.Interface}, true
	case reflect.Struct:
		p := &plan{kind: reflect.Struct}
		seen[t] = p
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			if !f.IsExported() {
				// JSON drops it (or, embedded, promotes its fields): a copy by
				// plan could do neither faithfully.
				return nil, false
			}
			if name, _, _ := strings.Cut(f.Tag.Get("json"), ","); name == "-" && !strings.HasPrefix(f.Tag.Get("json"), "-,") {
				p.zero = append(p.zero, i)
				continue
			}
			fp, ok := planFor(f.Type, seen)
			if !ok {
				return nil, false
			}
			if fp != nil {
				p.fields = append(p.fields, fieldPlan{index: i, plan: fp})
			}
		}
		if len(p.fields) == 0 && len(p.zero) == 0 {
			delete(seen, t)
			return nil, true
		}
		return p, true
	}
	return nil, false // chan, func, unsafe pointer, complex
}

// clone returns a deep copy of v.
func (c cloner[T]) clone(v T) T {
	if c.plan == nil {
		return v
	}
	out := v
	deep(reflect.ValueOf(&out).Elem(), c.plan)
	return out
}

// deep finishes the copy of v (already a shallow copy) in place.
func deep(v reflect.Value, p *plan) {
	if p == nil {
		return
	}
	switch p.kind {
	case reflect.Struct:
		if p.time {
			t := (*time.Time)(v.Addr().UnsafePointer())
			*t = asJSON(*t)
			return
		}
		for _, i := range p.zero {
			v.Field(i).SetZero()
		}
		for _, f := range p.fields {
			deep(v.Field(f.index), f.plan)
		}
	case reflect.Pointer:
		if v.IsNil() {
			return
		}
		n := reflect.New(v.Type().Elem())
		n.Elem().Set(v.Elem())
		deep(n.Elem(), p.elem)
		v.Set(n)
	case reflect.Slice:
		if v.IsNil() {
			return
		}
		n := reflect.MakeSlice(v.Type(), v.Len(), v.Len())
		reflect.Copy(n, v)
		if p.elem != nil {
			for i := 0; i < n.Len(); i++ {
				deep(n.Index(i), p.elem)
			}
		}
		v.Set(n)
	case reflect.Array:
		for i := 0; i < v.Len(); i++ {
			deep(v.Index(i), p.elem)
		}
	case reflect.Map:
		if v.IsNil() {
			return
		}
		n := reflect.MakeMapWithSize(v.Type(), v.Len())
		it := v.MapRange()
		for it.Next() {
			e := it.Value()
			if p.elem != nil {
				c := reflect.New(e.Type()).Elem()
				c.Set(e)
				deep(c, p.elem)
				e = c
			}
			n.SetMapIndex(it.Key(), e)
		}
		v.Set(n)
	case reflect.Interface:
		if v.IsNil() {
			return
		}
		dyn := v.Elem()
		dp, ok := planFor(dyn.Type(), map[reflect.Type]*plan{})
		if !ok {
			// Not copyable by plan: copy through JSON, as a JSON store would.
			b, _ := json.Marshal(dyn.Interface())
			var x any
			json.Unmarshal(b, &x)
			v.Set(reflect.ValueOf(&x).Elem())
			return
		}
		if dp == nil {
			return
		}
		c := reflect.New(dyn.Type()).Elem()
		c.Set(dyn)
		deep(c, dp)
		v.Set(c)
	}
}

// asJSON returns t as decoding its JSON would: no monotonic reading, and the
// location time.Parse picks for its offset (UTC for "Z", Local when Local
// has that offset then, a fixed zone otherwise).
func asJSON(t time.Time) time.Time {
	t = t.Round(0)
	_, off := t.Zone()
	if off == 0 {
		return t.UTC()
	}
	local := t.In(time.Local)
	if _, loff := local.Zone(); loff == off {
		return local
	}
	return t.In(time.FixedZone("", off))
}
