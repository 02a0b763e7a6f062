package schema

import (
	"bytes"
	"encoding"
	"encoding/json"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"
	"unsafe"
)

// Decoding a parsed body into a handler's struct. A handler used to
// json.Unmarshal the body the validator had just parsed: a second parse of
// every request (~9 % of a card payment). Decode walks the Doc's nodes
// instead, for the plain types request structs are made of (strings, bools,
// numbers, pointers, slices, structs with json tags). It gives exactly what
// json.Unmarshal gives, or declines: whenever encoding/json would do
// something it does not model — a key matched only case-insensitively, a
// key given twice, a value of the wrong JSON type (an error json.Unmarshal
// reports after filling the rest), a custom unmarshaler, a map, an
// interface — it reports false before writing anything, and the caller
// decodes with json.Unmarshal. TestDecodeMatchesUnmarshal and
// FuzzDecodeMatchesUnmarshal hold it to encoding/json's answers.

// Decode stores the document in the value v points to, exactly as
// json.Unmarshal(src, v) would, and reports true; or, when it cannot be sure
// to, leaves v untouched and reports false.
func (d *Doc) Decode(v any) bool {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() || len(d.nodes) == 0 {
		return false
	}
	p := planOf(rv.Type().Elem())
	if p == nil {
		return false
	}
	e := rv.Elem()
	if p.zero != nil && bytes.Equal(unsafe.Slice((*byte)(rv.UnsafePointer()), len(p.zero)), p.zero) {
		// A zero value (a handler's fresh struct) holds nothing a decode
		// reuses or keeps: one pass checks and writes, and a decline sets
		// it back to zero. The checking pass walked every node a second
		// time (a fifth of the instructions of BenchmarkDecode).
		if !d.fill(p, 0, e) {
			e.SetZero()
			return false
		}
		return true
	}
	return d.twoPasses(p, e)
}

// twoPasses decodes the document into e, which may hold data.
func (d *Doc) twoPasses(p *plan, e reflect.Value) bool {
	if cap(d.fieldOf) < len(d.nodes) {
		d.fieldOf = make([]int32, len(d.nodes))
	}
	d.fieldOf = d.fieldOf[:len(d.nodes)]
	// Two passes: the first only checks (and reads v, for the state a
	// decode into existing values depends on), so that declining never
	// leaves v half written.
	if !d.decode(p, 0, e, false) {
		return false
	}
	d.decode(p, 0, e, true)
	return true
}

type planKind uint8

const (
	planString planKind = iota
	planBool
	planInt
	planUint
	planFloat
	planPointer
	planSlice
	planStruct
)

// plan is how a Go type is decoded.
type plan struct {
	kind   planKind
	typ    reflect.Type
	elem   *plan          // pointer and slice
	fields []planField    // struct
	byName map[string]int // struct: json name → index in fields
	quick  *quickNames    // byName's names, found without hashing (nil: none)
	// zero is the type's zero value in memory, to tell a zero struct by
	// (nil: a type not decoded by the one pass of fill).
	zero []byte
}

// maxFillSize bounds the zero value a plan keeps: a larger struct takes the
// two passes.
const maxFillSize = 4096

type planField struct {
	name  string
	index int // the struct field's index
	plan  *plan
}

// plans caches the plan of each type (nil: not supported). Like
// encoding/json's own cache of type encoders, it holds a pure function of a
// type, shared by every simulator of the process.
var plans sync.Map // reflect.Type → *plan

func planOf(t reflect.Type) *plan {
	if p, ok := plans.Load(t); ok {
		return p.(*plan)
	}
	p := buildPlan(t, map[reflect.Type]*plan{})
	plans.Store(t, p)
	return p
}

var (
	unmarshalerType     = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()
	numberType          = reflect.TypeFor[json.Number]() // a string checked as a number
)

// buildPlan returns t's plan, or nil when a part of t is decoded by rules
// Decode does not model. building holds the plans under construction, for
// recursive types.
func buildPlan(t reflect.Type, building map[reflect.Type]*plan) *plan {
	if p, ok := building[t]; ok {
		return p
	}
	if t == numberType || t.Implements(unmarshalerType) || reflect.PointerTo(t).Implements(unmarshalerType) ||
		t.Implements(textUnmarshalerType) || reflect.PointerTo(t).Implements(textUnmarshalerType) {
		return nil
	}
	p := &plan{typ: t}
	switch t.Kind() {
	case reflect.String:
		p.kind = planString
	case reflect.Bool:
		p.kind = planBool
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		p.kind = planInt
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		p.kind = planUint
	case reflect.Float32, reflect.Float64:
		p.kind = planFloat
	case reflect.Pointer:
		p.kind = planPointer
		building[t] = p
		if p.elem = buildPlan(t.Elem(), building); p.elem == nil {
			return nil
		}
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			return nil // []byte is base64 to encoding/json
		}
		p.kind = planSlice
		building[t] = p
		if p.elem = buildPlan(t.Elem(), building); p.elem == nil {
			return nil
		}
	case reflect.Struct:
		p.kind = planStruct
		building[t] = p
		p.byName = map[string]int{}
		for i := range t.NumField() {
			f := t.Field(i)
			if f.Anonymous {
				return nil // embedding: encoding/json's promotion rules
			}
			if !f.IsExported() {
				continue
			}
			name, ok := fieldName(f)
			if !ok {
				return nil
			}
			if name == "-" && f.Tag.Get("json") == "-" {
				continue
			}
			if _, dup := p.byName[name]; dup {
				return nil // encoding/json drops both
			}
			fp := buildPlan(f.Type, building)
			if fp == nil {
				return nil
			}
			p.byName[name] = len(p.fields)
			p.fields = append(p.fields, planField{name: name, index: i, plan: fp})
		}
		if len(p.fields) > 64 {
			return nil // duplicate keys are tracked in 64 bits
		}
		names := make([]string, len(p.fields))
		for i, f := range p.fields {
			names[i] = f.name
		}
		p.quick = newQuickNames(names)
		if t.Size() > 0 && t.Size() <= maxFillSize {
			p.zero = make([]byte, t.Size())
		}
	default:
		return nil // maps, interfaces, arrays, channels, functions, complex numbers
	}
	return p
}

// fieldName returns the JSON name of a struct field, false when its tag
// asks for what Decode does not model (",string"), or when its name is not
// plain ASCII (encoding/json's rules for other names and its Unicode case
// folding are not modelled).
func fieldName(f reflect.StructField) (string, bool) {
	tag, hasTag := f.Tag.Lookup("json")
	name, opts, _ := strings.Cut(tag, ",")
	for _, opt := range strings.Split(opts, ",") {
		if opt == "string" {
			return "", false
		}
	}
	if !hasTag || name == "" {
		name = f.Name
	} else if name == "-" {
		return name, true
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.' || c == '$') {
			return "", false
		}
	}
	return name, true
}

// decode checks (write false) or stores (write true) node i in v. In the
// checking pass v may be invalid: a value that does not exist yet, zero.
func (d *Doc) decode(p *plan, i int32, v reflect.Value, write bool) bool {
	n := &d.nodes[i]
	if n.Kind == Null {
		// null leaves a value as it is, and empties a pointer or a slice.
		if write && (p.kind == planPointer || p.kind == planSlice) {
			v.SetZero()
		}
		return true
	}
	switch p.kind {
	case planString:
		if n.Kind != String {
			return false
		}
		if write {
			v.SetString(d.Text(i))
		}
	case planBool:
		if n.Kind != Bool {
			return false
		}
		if write {
			v.SetBool(d.src[n.Start] == 't')
		}
	case planInt:
		if n.Kind != Number {
			return false
		}
		x, err := strconv.ParseInt(string(d.Raw(i)), 10, 64)
		if err != nil || reflect.Zero(p.typ).OverflowInt(x) {
			return false
		}
		if write {
			v.SetInt(x)
		}
	case planUint:
		if n.Kind != Number {
			return false
		}
		x, err := strconv.ParseUint(string(d.Raw(i)), 10, 64)
		if err != nil || reflect.Zero(p.typ).OverflowUint(x) {
			return false
		}
		if write {
			v.SetUint(x)
		}
	case planFloat:
		if n.Kind != Number {
			return false
		}
		x, err := strconv.ParseFloat(string(d.Raw(i)), p.typ.Bits())
		if err != nil || reflect.Zero(p.typ).OverflowFloat(x) {
			return false
		}
		if write {
			v.SetFloat(x)
		}
	case planPointer:
		switch {
		case write && v.IsNil():
			v.Set(reflect.New(p.typ.Elem()))
			return d.decode(p.elem, i, v.Elem(), true)
		case write:
			return d.decode(p.elem, i, v.Elem(), true)
		case v.IsValid() && !v.IsNil():
			return d.decode(p.elem, i, v.Elem(), false)
		default:
			return d.decode(p.elem, i, reflect.Value{}, false)
		}
	case planSlice:
		if n.Kind != Array {
			return false
		}
		// encoding/json reuses a slice's backing array, elements and all;
		// Decode only fills slices that start empty.
		if !write {
			if v.IsValid() && v.Cap() > 0 {
				return false
			}
			for c := n.First; c >= 0; c = d.nodes[c].Next {
				if !d.decode(p.elem, c, reflect.Value{}, false) {
					return false
				}
			}
			return true
		}
		s := reflect.MakeSlice(p.typ, int(n.Len), int(n.Len))
		k := 0
		for c := n.First; c >= 0; c = d.nodes[c].Next {
			d.decode(p.elem, c, s.Index(k), true)
			k++
		}
		v.Set(s)
	case planStruct:
		if n.Kind != Object {
			return false
		}
		var seen uint64
		for c := n.First; c >= 0; c = d.nodes[c].Next {
			var f int
			if write {
				// The checking pass found it (the same plan, the same
				// member: each node is checked once, against one plan).
				f = int(d.fieldOf[c])
			} else {
				var ok bool
				if f, ok = d.field(p, c); !ok {
					return false
				}
				d.fieldOf[c] = int32(f)
			}
			if f < 0 {
				continue // encoding/json ignores unknown keys
			}
			if !write {
				if seen&(1<<f) != 0 {
					return false // the last one wins, merged into the first: not modelled
				}
				seen |= 1 << f
				var fv reflect.Value
				if v.IsValid() {
					fv = v.Field(p.fields[f].index)
				}
				if !d.decode(p.fields[f].plan, c, fv, false) {
					return false
				}
				continue
			}
			d.decode(p.fields[f].plan, c, v.Field(p.fields[f].index), true)
		}
	}
	return true
}

// fill decodes node i into v, a zero value, checking and writing in the
// same pass: nothing in v is reused (every
// pointer is nil, every slice empty), so what Decode checks before writing
// into a value that holds data is checked here as it goes. It reports false
// as decode does, leaving v partly written: the caller zeroes it.
func (d *Doc) fill(p *plan, i int32, v reflect.Value) bool {
	n := &d.nodes[i]
	if n.Kind == Null {
		return true // null leaves a zero value as it is
	}
	switch p.kind {
	case planPointer:
		e := reflect.New(p.typ.Elem())
		v.Set(e)
		return d.fill(p.elem, i, e.Elem())
	case planSlice:
		if n.Kind != Array {
			return false
		}
		s := reflect.MakeSlice(p.typ, int(n.Len), int(n.Len))
		k := 0
		for c := n.First; c >= 0; c = d.nodes[c].Next {
			if !d.fill(p.elem, c, s.Index(k)) {
				return false
			}
			k++
		}
		v.Set(s)
		return true
	case planStruct:
		if n.Kind != Object {
			return false
		}
		var seen uint64
		for c := n.First; c >= 0; c = d.nodes[c].Next {
			f, ok := d.field(p, c)
			if !ok {
				return false
			}
			if f < 0 {
				continue // encoding/json ignores unknown keys
			}
			if seen&(1<<f) != 0 {
				return false // the last one wins, merged into the first: not modelled
			}
			seen |= 1 << f
			if !d.fill(p.fields[f].plan, c, v.Field(p.fields[f].index)) {
				return false
			}
		}
		return true
	default:
		// A scalar's writing pass checks its node as the checking pass does.
		return d.decode(p, i, v, true)
	}
}

// field finds the struct field member c's key names: its index, -1 for a
// key encoding/json ignores, false when encoding/json would match it in a
// way Decode does not model (case-insensitively, or after unescaping).
func (d *Doc) field(p *plan, c int32) (int, bool) {
	key, ok := d.keyBytes(c)
	if !ok {
		return 0, false
	}
	if p.quick != nil {
		if f, ok := p.quick.find(key); ok {
			return f, true
		}
	}
	if f, ok := p.byName[string(key)]; ok {
		return f, true
	}
	for _, b := range key {
		if b >= utf8.RuneSelf {
			return 0, false // Unicode case folding (K, ſ, ...)
		}
	}
	for _, f := range p.fields {
		if equalFoldASCII(f.name, key) {
			return 0, false
		}
	}
	return -1, true
}

func equalFoldASCII(name string, key []byte) bool {
	if len(name) != len(key) {
		return false
	}
	for i := range len(name) {
		a, b := name[i], key[i]
		if 'A' <= a && a <= 'Z' {
			a += 'a' - 'A'
		}
		if 'A' <= b && b <= 'Z' {
			b += 'a' - 'A'
		}
		if a != b {
			return false
		}
	}
	return true
}
