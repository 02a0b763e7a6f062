package storetest

import (
	"reflect"
	"strings"
)

// OnlyFields returns v (a struct) with every field zero but those named as
// store.EvictableReading names them ("Outer.Inner": a field of a struct
// field): what the memory store's eviction gives such a function. A test
// holds the function to its answer on the whole value with it, so that a
// field it reads and does not name fails there, not in production.
func OnlyFields[T any](v T, fields ...string) T {
	var out T
	src, dst := reflect.ValueOf(&v).Elem(), reflect.ValueOf(&out).Elem()
	for _, name := range fields {
		s, d := src, dst
		for part := range strings.SplitSeq(name, ".") {
			s, d = s.FieldByName(part), d.FieldByName(part)
		}
		d.Set(s)
	}
	return out
}
