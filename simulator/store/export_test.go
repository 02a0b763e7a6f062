package store

import (
	"math/rand/v2"
	"reflect"
	"sync"
)

// KindTypes returns the value type of each kind m's tables configured, and
// which of them m keeps compactly (the others as Go values or documents).
func KindTypes(m *Memory) (types map[string]reflect.Type, compact map[string]bool) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	types, compact = map[string]reflect.Type{}, map[string]bool{}
	for kind, cfg := range m.configs {
		types[kind], compact[kind] = cfg.typ, cfg.pack != nil
	}
	return types, compact
}

// RoundTrip encodes *v with the codec of its type and decodes it (got), and
// deep-copies it with the cloner (want): the two must be equal. ok is false
// when the type has no codec.
// The plan (with its dictionaries) of a type is made once, so that
// recurring strings go through the dictionaries as in a table.
func RoundTrip(v reflect.Value) (got, want any, ok bool, err error) {
	typ := v.Type().Elem()
	plansMu.Lock()
	cp, ok := plans[typ]
	if !ok {
		cp, ok = cplanFor(typ, map[reflect.Type]*cplan{})
		plans[typ] = cp
	}
	plansMu.Unlock()
	if cp == nil {
		return nil, nil, false, nil
	}
	b := encodeValue(nil, &strtab{}, v.UnsafePointer(), cp)
	out := reflect.New(typ)
	d := decoder{b: b}
	d.value(out.UnsafePointer(), cp)
	if d.err == nil && d.i != len(b) {
		d.err = errCorrupt
	}
	c := reflect.New(typ)
	c.Elem().Set(v.Elem())
	if p, ok := planFor(typ, map[reflect.Type]*plan{}); ok {
		deep(c.Elem(), p)
	}
	return out.Interface(), c.Interface(), true, d.err
}

var (
	plansMu sync.Mutex
	plans   = map[reflect.Type]*cplan{}
)

// Random returns a pointer to a random value of typ (see fill).
func Random(typ reflect.Type, r *rand.Rand) reflect.Value {
	v := reflect.New(typ)
	fill(v.Elem(), r, 0)
	return v
}
