package journal

import (
	"slices"
	"strconv"
	"strings"

	"github.com/pspsim/pspsim/simulator/pan"
)

// Field is one entry of an event's data given as a list (Journal.RecordFields)
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
		if len(fields) > len(buf) {
			continue // sorted below
		}
		// Insertion sort of the indexes by key, stable (of the fields of one
		// key, the last stays last): an event has a dozen fields, where the
		// calls of slices.SortStableFunc's closure cost more than the sort.
		for k := len(order) - 1; k > 0 && less(fields[order[k]].key, fields[order[k-1]].key); k-- {
			order[k], order[k-1] = order[k-1], order[k]
		}
	}
	if len(fields) > len(buf) {
		slices.SortStableFunc(order, func(x, y int) int { return strings.Compare(fields[x].key, fields[y].key) })
	}
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
			b = AppendValue(b, f.key, f.str)
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

// dataJSON appends the JSON object of data and fields merged (a key in both
// takes the field's value); data is nil or fields non-nil.
func dataJSON(b []byte, data map[string]any, fields []Field) []byte {
	switch {
	case data != nil && len(fields) > 0:
		m := make(map[string]any, len(data)+len(fields))
		for k, v := range data {
			m[k] = v
		}
		for _, f := range fields {
			m[f.key] = f.value()
		}
		return appendRedacted(b, "", m)
	case data != nil:
		return appendRedacted(b, "", data)
	}
	return appendFields(b, fields)
}

// ID is one of an event's ids given as a list (Journal.RecordFields)
// instead of a map, for the same reason as Field.
type ID struct {
	Name, Value string
}

// idsOf appends to ids (empty: scratch space) the sorted id pairs of m and
// list (a name in both takes the list's value, a name given twice in the
// list its last), not masked yet (maskIDs).
func idsOf(ids []idPair, m map[string]string, list []ID) []idPair {
	for k, v := range m {
		ids = append(ids, idPair{k, v})
	}
	// Loops, not slices.IndexFunc and SortFunc: an event names a handful of
	// ids, and the calls through their closures were most of the time
	// spent here (a card payment records four events of four to six ids).
next:
	for _, p := range list {
		for i := range ids {
			if ids[i].name == p.Name {
				ids[i].value = p.Value
				continue next
			}
		}
		ids = append(ids, idPair{p.Name, p.Value})
	}
	for i := range ids {
		// Insertion sort by name (the names are distinct).
		for k := i; k > 0 && less(ids[k].name, ids[k-1].name); k-- {
			ids[k], ids[k-1] = ids[k-1], ids[k]
		}
	}
	return ids
}

// maskIDs masks the values of ids (sorted by name) as pan.Value does, and
// reports whether it changed one. An id that the previous event named with
// the same value (known: raw, sorted, masked as masked) takes its masked
// value from there: the events of a request follow one another naming the
// same objects (a card payment's four events name seven, twenty-one times),
// and masking looks into each value for card numbers
// (TestMaskIDsIsPanValue).
func maskIDs(ids, raw, masked []idPair) bool {
	changed := false
	k := 0
	for i := range ids {
		p := &ids[i]
		for k < len(raw) && less(raw[k].name, p.name) {
			k++
		}
		v := p.value
		if k < len(raw) && raw[k].name == p.name && raw[k].value == v {
			p.value = masked[k].value
		} else {
			p.value = pan.Value(p.name, v)
		}
		changed = changed || p.value != v
	}
	return changed
}

// less is a < b, told by the first bytes when they differ: the names of an
// event's fields and ids nearly all do, and the runtime's comparison of
// strings, a call, was a fifth of sorting them (TestLessIsCompare).
func less(a, b string) bool {
	if len(a) > 0 && len(b) > 0 && a[0] != b[0] {
		return a[0] < b[0]
	}
	return a < b
}
