package journal

import (
	"slices"
	"strconv"
	"strings"

	"github.com/pspsim/pspsim/simulator/pan"
)

// Field is one entry of an event's data given as a list (Event.Fields)
// instead of a map. A request records several events, and a map of a dozen
// entries, each value boxed into an interface, costs a dozen allocations and
// more before the journal encodes it and throws it away; a list of fields
// built on the caller's stack costs none. The journal keeps exactly what the
// map of the same entries would give (TestFieldsEncodeAsTheirMap).
type Field struct {
	key  string
	kind fieldKind
	str  string
	num  int64
	val  any
}

type fieldKind uint8

const (
	fieldString fieldKind = iota
	fieldInt
	fieldBool
	fieldAny
)

// String is a string entry (masked like any string of an event's data).
func String(key, v string) Field { return Field{key: key, kind: fieldString, str: v} }

// Int is an integer entry.
func Int(key string, v int64) Field { return Field{key: key, kind: fieldInt, num: v} }

// Bool is a boolean entry.
func Bool(key string, v bool) Field {
	f := Field{key: key, kind: fieldBool}
	if v {
		f.num = 1
	}
	return f
}

// Any is an entry of any other value, encoded as Data's values are (a body
// view that is RedactedJSON appended as it is).
func Any(key string, v any) Field { return Field{key: key, kind: fieldAny, val: v} }

// Key returns the field's key.
func (f Field) Key() string { return f.key }

// value is the field as a Data value.
func (f Field) value() any {
	switch f.kind {
	case fieldString:
		return f.str
	case fieldInt:
		return f.num
	case fieldBool:
		return f.num != 0
	}
	return f.val
}

// appendFields appends the JSON object of fields as appendRedacted writes the
// map of the same entries: keys sorted, a key given twice kept once with its
// last value.
func appendFields(b []byte, fields []Field) []byte {
	var buf [24]int
	order := buf[:0]
	for i := range fields {
		order = append(order, i)
	}
	// Stable: of the fields of one key, the last stays last.
	slices.SortStableFunc(order, func(x, y int) int { return strings.Compare(fields[x].key, fields[y].key) })
	b = append(b, '{')
	first := true
	for n, i := range order {
		f := &fields[i]
		if n+1 < len(order) && fields[order[n+1]].key == f.key {
			continue // a later value of the same key wins, as in a map
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		b = appendString(b, f.key)
		b = append(b, ':')
		switch f.kind {
		case fieldString:
			b = appendString(b, pan.Value(f.key, f.str))
		case fieldInt:
			b = strconv.AppendInt(b, f.num, 10)
		case fieldBool:
			b = strconv.AppendBool(b, f.num != 0)
		default:
			b = appendRedacted(b, f.key, f.val)
		}
	}
	return append(b, '}')
}

// dataJSON appends what Record keeps of e's data: Data, Fields, or both merged (a key in
// both takes the field's value).
func (e *Event) dataJSON(b []byte) ([]byte, bool) {
	switch {
	case e.Data != nil && len(e.Fields) > 0:
		m := make(map[string]any, len(e.Data)+len(e.Fields))
		for k, v := range e.Data {
			m[k] = v
		}
		for _, f := range e.Fields {
			m[f.key] = f.value()
		}
		return appendRedacted(b, "", m), true
	case e.Data != nil:
		return appendRedacted(b, "", e.Data), true
	case e.Fields != nil:
		return appendFields(b, e.Fields), true
	}
	return b, false
}

// ID is one of an event's ids given as a list (Event.IDList) instead of a
// map, for the same reason as Field.
type ID struct {
	Name, Value string
}

// idsOf returns the sorted, masked id pairs of e's IDs and IDList (a name in
// both takes the list's value), or nil.
func (e *Event) idsOf() []idPair {
	n := len(e.IDs) + len(e.IDList)
	if n == 0 {
		return nil
	}
	ids := make([]idPair, 0, n)
	for k, v := range e.IDs {
		ids = append(ids, idPair{k, v})
	}
	for _, p := range e.IDList {
		if i := slices.IndexFunc(ids, func(q idPair) bool { return q.name == p.Name }); i >= 0 {
			ids[i].value = p.Value
			continue
		}
		ids = append(ids, idPair{p.Name, p.Value})
	}
	for i := range ids {
		ids[i].value = pan.Value(ids[i].name, ids[i].value)
	}
	slices.SortFunc(ids, func(a, b idPair) int { return strings.Compare(a.name, b.name) })
	return ids
}
