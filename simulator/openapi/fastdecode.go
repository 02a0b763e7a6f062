package openapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/getkin/kin-openapi/openapi3"
)

// Decoding a spec is most of pspsim's cold start, and nearly all of that is
// kin-openapi's decoder doing the same work many times over: every type's
// UnmarshalJSON decodes its whole object twice (into the struct, then into
// a map for the extensions), the reference types decode it a third time,
// and Paths and Responses decode theirs into maps and encode each entry
// again — so every nested object is scanned and allocated once per level
// above it, a dozen levels deep for a request body's field.
//
// decodeSpec gives the same document for a fraction of that: each object
// is decoded once, at its own level. For kin-openapi's plain types (an
// alias decode plus an extensions map: schemas, operations, parameters,
// media types...) it does what their UnmarshalJSON does, member by member
// — the member into the field of its JSON name, and into Extensions when
// the type keeps it there, which it asks of the type itself (probe); the
// reference types, Paths, Responses and Callback likewise; anything else
// (a $ref with siblings, a type it does not know) goes to kin-openapi's
// own UnmarshalJSON, with the nested kin-openapi objects replaced by empty
// ones that it then decodes apart and puts in place. It refuses what could
// make a part decode otherwise than inside the whole — a key given twice,
// a key with an escape or not UTF-8, a number that float64 may not hold
// exactly (Paths and Responses pass their entries through float64), a key
// that matches a field only case-insensitively — and Load falls back to
// kin-openapi's decoder.
//
// TestDecodeSpecMatchesKinOpenAPI holds the result to kin-openapi's, every
// unexported field included, for every embedded spec — the only input the
// server gives it; FuzzDecodeSpecMatchesKinOpenAPI for any input it
// accepts.
func decodeSpec(raw []byte) (*openapi3.T, error) {
	d := &specDecoder{plans: map[reflect.Type]*decodePlan{}, doc: raw, closeAt: make([]int32, len(raw))}
	if err := d.check(); err != nil {
		return nil, err
	}
	doc := &openapi3.T{}
	if err := d.decode(reflect.ValueOf(doc), raw); err != nil {
		return nil, err
	}
	return doc, nil
}

var (
	typesType       = reflect.TypeFor[*openapi3.Types]()
	boolSchemaType  = reflect.TypeFor[openapi3.BoolSchema]()
	uint64PtrType   = reflect.TypeFor[*uint64]()
	stringsType     = reflect.TypeFor[[]string]()
	anysType        = reflect.TypeFor[[]any]()
	float64PtrType  = reflect.TypeFor[*float64]()
	kinPackage      = reflect.TypeFor[openapi3.T]().PkgPath()
	unmarshalerType = reflect.TypeFor[json.Unmarshaler]()
)

type specDecoder struct {
	plans map[reflect.Type]*decodePlan
	doc   []byte
	// closeAt[i] is the index after the object or array opening at doc[i],
	// so that splitting an object into its members does not scan its
	// members' contents again (they are split in their turn).
	closeAt []int32
}

// A decodePlan says, for one kin-openapi type, which of its members are
// decoded apart from it.
type decodePlan struct {
	maplike bool         // Paths, Responses, Callback: every non-x- member is an entry
	entry   reflect.Type // maplike: the entry's struct type
	ref     bool         // a reference type: its members are its Value's
	value   *decodePlan  // ref: the plan of its Value's struct
	nested  map[string]nestedField
	folded  map[string]string // lower-case name of a nested field → its name
	ext     bool              // the struct has Extensions map[string]any
	extAt   []int             // ext: the index of Extensions
	refAt   []int             // ref: the indexes of Ref and Value
	valueAt []int

	// direct: the type's UnmarshalJSON is kin-openapi's usual one — decode
	// the members into the fields, keep some in Extensions — so decodeSpec
	// does that itself, member by member, asking the type (probe) which
	// members it keeps as extensions.
	direct   bool
	fields   map[string]reflect.StructField // by JSON name
	keeps    map[string]bool                // member name → kept in Extensions
	emptyNil bool                           // no extensions: Extensions is nil (else empty)
}

// directTypes are the kin-openapi types whose UnmarshalJSON decodes the
// object into an alias of the type, decodes it again into Extensions,
// deletes some names from those, and sets an empty Extensions to nil — and
// nothing else, but for the exception decodeDirect declines (Operation's
// null responses). kin-openapi v0.152.0; TestDecodeSpecMatchesKinOpenAPI
// checks every spec pspsim embeds against the real thing.
var directTypes = map[string]bool{
	"T": true, "Components": true, "Contact": true, "Discriminator": true, "Encoding": true, "Example": true,
	"ExternalDocs": true, "Header": true, "Info": true, "License": true, "Link": true, "MediaType": true,
	"Operation": true, "Parameter": true, "PathItem": true, "RequestBody": true, "Response": true,
	"SecurityScheme": true, "OAuthFlows": true, "OAuthFlow": true, "Server": true, "ServerVariable": true,
	"Tag": true, "XML": true, "Schema": true,
}

type nestedField struct {
	index []int
	kind  reflect.Kind // Pointer, Slice or Map
	elem  reflect.Type // the kin-openapi struct pointed to
}

// kinStruct reports whether t is a kin-openapi struct with its own
// UnmarshalJSON: the objects decodeSpec decodes apart.
func kinStruct(t reflect.Type) bool {
	return t.Kind() == reflect.Struct && t.PkgPath() == kinPackage && reflect.PointerTo(t).Implements(unmarshalerType)
}

func (d *specDecoder) plan(t reflect.Type) *decodePlan {
	if p := d.plans[t]; p != nil {
		return p
	}
	p := &decodePlan{}
	d.plans[t] = p
	pt := reflect.PointerTo(t)
	if m, ok := pt.MethodByName("Value"); ok && m.Type.NumIn() == 2 && m.Type.In(1).Kind() == reflect.String &&
		m.Type.NumOut() == 1 && m.Type.Out(0).Kind() == reflect.Pointer && kinStruct(m.Type.Out(0).Elem()) {
		if _, ok := pt.MethodByName("Set"); ok {
			p.maplike, p.entry = true, m.Type.Out(0).Elem()
			return p
		}
	}
	if v, ok := t.FieldByName("Value"); ok && strings.HasSuffix(t.Name(), "Ref") && v.Type.Kind() == reflect.Pointer && kinStruct(v.Type.Elem()) {
		if r, ok := t.FieldByName("Ref"); ok && r.Type.Kind() == reflect.String {
			p.ref, p.value, p.refAt, p.valueAt = true, d.plan(v.Type.Elem()), r.Index, v.Index
			return p
		}
	}
	if e, ok := t.FieldByName("Extensions"); ok && e.Type == reflect.TypeFor[map[string]any]() {
		p.ext, p.extAt = true, e.Index
	}
	p.nested, p.folded, p.fields = map[string]nestedField{}, map[string]string{}, map[string]reflect.StructField{}
	p.direct = p.ext && directTypes[t.Name()]
	if p.direct {
		p.keeps = map[string]bool{}
		probe := reflect.New(t)
		if err := probe.Interface().(json.Unmarshaler).UnmarshalJSON([]byte("{}")); err != nil {
			p.direct = false
		}
		p.emptyNil = probe.Elem().FieldByIndex(p.extAt).IsNil()
	}
	for _, f := range reflect.VisibleFields(t) {
		if f.Anonymous || !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		p.fields[name] = f
		p.folded[strings.ToLower(name)] = name
		ft := f.Type
		var nf nestedField
		switch {
		case ft.Kind() == reflect.Pointer && kinStruct(ft.Elem()):
			nf = nestedField{kind: reflect.Pointer, elem: ft.Elem()}
		case ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.Pointer && kinStruct(ft.Elem().Elem()):
			nf = nestedField{kind: reflect.Slice, elem: ft.Elem().Elem()}
		case ft.Kind() == reflect.Map && ft.Key().Kind() == reflect.String && ft.Elem().Kind() == reflect.Pointer && kinStruct(ft.Elem().Elem()):
			nf = nestedField{kind: reflect.Map, elem: ft.Elem().Elem()}
		default:
			continue
		}
		nf.index = f.Index
		p.nested[name] = nf
	}
	return p
}

// decode decodes raw into ptr, a pointer to a kin-openapi struct, as its
// UnmarshalJSON would.
func (d *specDecoder) decode(ptr reflect.Value, raw []byte) error {
	u := ptr.Interface().(json.Unmarshaler)
	if len(raw) == 0 || raw[0] != '{' {
		return u.UnmarshalJSON(raw)
	}
	members := d.objectMembers(raw)
	p := d.plan(ptr.Type().Elem())
	if p.maplike {
		return d.decodeMaplike(ptr, u, p, raw, members)
	}
	ref := p.ref
	if ref {
		for _, m := range members {
			if strings.EqualFold(m.key, "$ref") {
				if len(members) == 1 && m.key == "$ref" && plainString(m.value) && len(m.value) > 2 {
					// What the reference types' UnmarshalJSON sets for a
					// lone $ref: Ref, and nil for the rest.
					ptr.Elem().FieldByIndex(p.refAt).SetString(string(m.value[1 : len(m.value)-1]))
					return nil
				}
				return u.UnmarshalJSON(raw) // a reference with siblings: decoded whole
			}
		}
		valueAt := p.valueAt
		p = p.value
		if p.maplike || p.direct {
			// The reference types' UnmarshalJSON of an object without
			// $ref: the Value decoded from it, and nothing else.
			v := reflect.New(ptr.Type().Elem().FieldByIndex(valueAt).Type.Elem())
			var err error
			if p.maplike {
				err = d.decode(v, raw)
			} else {
				err = d.decodeDirect(v.Elem(), p, members)
			}
			if err != nil {
				return err
			}
			ptr.Elem().FieldByIndex(valueAt).Set(v)
			return nil
		}
	} else if p.direct {
		ptr.Elem().SetZero()
		return d.decodeDirect(ptr.Elem(), p, members)
	}
	var apart []int // indexes into members
	for i, m := range members {
		nf, ok := p.nested[m.key]
		if !ok {
			if name, ok := p.folded[strings.ToLower(m.key)]; (ok && name != m.key) || !isASCII(m.key) {
				return fmt.Errorf("spec: key %q may match field %q only case-insensitively", m.key, name)
			}
			continue
		}
		if c := m.value[0]; (nf.kind == reflect.Slice && c == '[') || (nf.kind != reflect.Slice && c == '{') {
			apart = append(apart, i)
		}
	}
	if len(apart) == 0 {
		return u.UnmarshalJSON(raw)
	}
	if err := u.UnmarshalJSON(shallow(members, apart, nil)); err != nil {
		return err
	}
	target := ptr.Elem()
	if ref {
		target = target.FieldByName("Value")
		if target.IsNil() {
			return errors.New("spec: a reference type decoded no value")
		}
		target = target.Elem()
	}
	for _, i := range apart {
		m := members[i]
		if err := d.fill(target.FieldByIndex(p.nested[m.key].index), p.nested[m.key], m.value); err != nil {
			return err
		}
	}
	if p.ext {
		// A type that keeps unknown members as extensions kept the
		// placeholder of a member it has no rule for: give it the value.
		ext := target.FieldByIndex(p.extAt).Interface().(map[string]any)
		for _, i := range apart {
			m := members[i]
			if _, ok := ext[m.key]; ok {
				var v any
				if err := json.Unmarshal(m.value, &v); err != nil {
					return err
				}
				ext[m.key] = v
			}
		}
	}
	return nil
}

// decodeDirect decodes an object's members into s, a struct of a direct
// type, as its UnmarshalJSON would: each member into the field of its exact
// name, and into Extensions when the type keeps it there.
func (d *specDecoder) decodeDirect(s reflect.Value, p *decodePlan, members []member) error {
	var ext map[string]any
	for _, m := range members {
		f, ok := p.fields[m.key]
		if !ok {
			if name, ok := p.folded[strings.ToLower(m.key)]; ok || !isASCII(m.key) {
				return fmt.Errorf("spec: key %q may match field %q only case-insensitively", m.key, name)
			}
		}
		if ok {
			if m.key == "responses" && string(m.value) == "null" && s.Type().Name() == "Operation" {
				return errors.New("spec: an operation's responses are null") // Operation's UnmarshalJSON makes something of it
			}
			fv := s.FieldByIndex(f.Index)
			if nf, nested := p.nested[m.key]; nested && ((nf.kind == reflect.Slice && m.value[0] == '[') || (nf.kind != reflect.Slice && m.value[0] == '{')) {
				if err := d.fill(fv, nf, m.value); err != nil {
					return err
				}
			} else if err := d.setValue(fv, m.value); err != nil {
				return err
			}
		}
		keep, probed := p.keeps[m.key]
		if !probed {
			probe := reflect.New(s.Type())
			var err error
			if err = probe.Interface().(json.Unmarshaler).UnmarshalJSON([]byte("{" + string(m.rawKey) + ":null}")); err == nil {
				keep = probe.Elem().FieldByIndex(p.extAt).MapIndex(reflect.ValueOf(m.key)).IsValid()
			}
			if err != nil {
				return fmt.Errorf("spec: probing %s for %q: %w", s.Type(), m.key, err)
			}
			p.keeps[m.key] = keep
		}
		if keep {
			if ext == nil {
				ext = map[string]any{}
			}
			v, err := d.anyValue(m.value)
			if err != nil {
				return err
			}
			ext[m.key] = v
		}
	}
	if ext == nil && !p.emptyNil {
		ext = map[string]any{}
	}
	s.FieldByIndex(p.extAt).Set(reflect.ValueOf(ext))
	return nil
}

// plainString reports whether v is a JSON string that is its own text
// between the quotes: no escape, nothing but ASCII.
func plainString(v []byte) bool {
	if len(v) < 2 || v[0] != '"' {
		return false
	}
	for _, c := range v[1 : len(v)-1] {
		if c == '\\' || c >= 0x80 {
			return false
		}
	}
	return true
}

// setValue decodes one member's value into its field as encoding/json
// does; the common scalars without a call into encoding/json.
func (d *specDecoder) setValue(f reflect.Value, v []byte) error {
	switch f.Kind() {
	case reflect.String:
		if plainString(v) {
			f.SetString(string(v[1 : len(v)-1]))
			return nil
		}
	case reflect.Bool:
		switch string(v) {
		case "true":
			f.SetBool(true)
			return nil
		case "false":
			f.SetBool(false)
			return nil
		}
	case reflect.Uint64:
		if n, err := strconv.ParseUint(string(v), 10, 64); err == nil {
			f.SetUint(n)
			return nil
		}
	case reflect.Pointer:
		if string(v) == "null" {
			break
		}
		switch f.Type() {
		case typesType:
			// Types.UnmarshalJSON of one type name.
			if plainString(v) {
				t := openapi3.Types{string(v[1 : len(v)-1])}
				f.Set(reflect.ValueOf(&t))
				return nil
			}
		case uint64PtrType:
			if n, err := strconv.ParseUint(string(v), 10, 64); err == nil {
				f.Set(reflect.ValueOf(&n))
				return nil
			}
		case float64PtrType:
			if v[0] == '-' || v[0] >= '0' && v[0] <= '9' {
				if n, err := strconv.ParseFloat(string(v), 64); err == nil {
					f.Set(reflect.ValueOf(&n))
					return nil
				}
			}
		}
	case reflect.Slice:
		if f.Type() == anysType && v[0] == '[' {
			a, err := d.anyValue(v)
			if err != nil {
				return err
			}
			f.Set(reflect.ValueOf(a))
			return nil
		}
		if f.Type() == stringsType && v[0] == '[' {
			elems := d.arrayElems(v)
			ss := make([]string, len(elems))
			plain := true
			for i, e := range elems {
				if plain = plainString(e); !plain {
					break
				}
				ss[i] = string(e[1 : len(e)-1])
			}
			if plain {
				f.Set(reflect.ValueOf(ss))
				return nil
			}
		}
	case reflect.Struct:
		if f.Type() == boolSchemaType && v[0] == '{' {
			// BoolSchema.UnmarshalJSON of an object: an empty schema for
			// {}, else the object decoded as a SchemaRef (from its
			// re-encoding, which changes nothing check accepts).
			ref := &openapi3.SchemaRef{Value: &openapi3.Schema{}}
			if len(d.objectMembers(v)) > 0 {
				ref = &openapi3.SchemaRef{}
				if err := d.decode(reflect.ValueOf(ref), v); err != nil {
					return err
				}
			}
			f.Set(reflect.ValueOf(openapi3.BoolSchema{Schema: ref}))
			return nil
		}
	case reflect.Interface:
		if f.NumMethod() == 0 {
			a, err := d.anyValue(v)
			if err != nil {
				return err
			}
			if a != nil {
				f.Set(reflect.ValueOf(a))
			} else {
				f.SetZero()
			}
			return nil
		}
	}
	return json.Unmarshal(v, f.Addr().Interface())
}

// anyValue decodes v as encoding/json decodes into an any.
func (d *specDecoder) anyValue(v []byte) (any, error) {
	switch {
	case plainString(v):
		return string(v[1 : len(v)-1]), nil
	case string(v) == "true":
		return true, nil
	case string(v) == "false":
		return false, nil
	case string(v) == "null":
		return nil, nil
	case v[0] == '{':
		members := d.objectMembers(v)
		m := make(map[string]any, len(members))
		for _, mb := range members {
			a, err := d.anyValue(mb.value)
			if err != nil {
				return nil, err
			}
			m[mb.key] = a
		}
		return m, nil
	case v[0] == '[':
		elems := d.arrayElems(v)
		s := make([]any, len(elems))
		for i, e := range elems {
			a, err := d.anyValue(e)
			if err != nil {
				return nil, err
			}
			s[i] = a
		}
		return s, nil
	case v[0] == '-' || v[0] >= '0' && v[0] <= '9':
		if f, err := strconv.ParseFloat(string(v), 64); err == nil {
			return f, nil
		}
	}
	var a any
	err := json.Unmarshal(v, &a)
	return a, err
}

func isASCII(s string) bool {
	for i := range len(s) {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

func (d *specDecoder) decodeMaplike(ptr reflect.Value, u json.Unmarshaler, p *decodePlan, raw []byte, members []member) error {
	if err := d.maplikeDirect(ptr, p, members); err != errDeclined {
		return err
	}
	var apart []int
	for i, m := range members {
		if !strings.HasPrefix(m.key, "x-") && m.value[0] == '{' {
			apart = append(apart, i)
		}
	}
	if len(apart) == 0 {
		return u.UnmarshalJSON(raw)
	}
	if err := u.UnmarshalJSON(shallow(members, apart, nil)); err != nil {
		return err
	}
	value := ptr.MethodByName("Value")
	for _, i := range apart {
		m := members[i]
		entry := value.Call([]reflect.Value{reflect.ValueOf(m.key)})[0]
		if entry.IsNil() {
			return fmt.Errorf("spec: entry %q was not decoded", m.key)
		}
		fresh := reflect.New(p.entry)
		if err := d.decode(fresh, m.value); err != nil {
			return err
		}
		entry.Elem().Set(fresh.Elem())
	}
	return nil
}

var errDeclined = errors.New("spec: declined")

// maplikeDirect does what the UnmarshalJSON of Paths, Responses and
// Callback does: x- members into Extensions (a map, even empty), every other
// member an entry of its own type. It declines (errDeclined) an object
// without entries (their map is then empty, where Set leaves it nil) and
// an entry that is not an object.
func (d *specDecoder) maplikeDirect(ptr reflect.Value, p *decodePlan, members []member) error {
	entries := 0
	for _, m := range members {
		if strings.HasPrefix(m.key, "x-") {
			continue
		}
		if m.value[0] != '{' {
			return errDeclined
		}
		entries++
	}
	if entries == 0 {
		return errDeclined
	}
	ptr.Elem().SetZero()
	ext := map[string]any{}
	set := ptr.MethodByName("Set")
	for _, m := range members {
		if strings.HasPrefix(m.key, "x-") {
			v, err := d.anyValue(m.value)
			if err != nil {
				return err
			}
			ext[m.key] = v
			continue
		}
		e := reflect.New(p.entry)
		if err := d.decode(e, m.value); err != nil {
			return err
		}
		set.Call([]reflect.Value{reflect.ValueOf(m.key), e})
	}
	ptr.Elem().FieldByName("Extensions").Set(reflect.ValueOf(ext))
	return nil
}

// fill decodes raw into f, a field holding nested kin-openapi objects, as
// encoding/json would: a new object per pointer, null left nil.
func (d *specDecoder) fill(f reflect.Value, nf nestedField, raw []byte) error {
	switch nf.kind {
	case reflect.Pointer:
		n := reflect.New(nf.elem)
		if err := d.decode(n, raw); err != nil {
			return err
		}
		f.Set(n)
	case reflect.Slice:
		elems := d.arrayElems(raw)
		s := reflect.MakeSlice(f.Type(), len(elems), len(elems))
		for i, e := range elems {
			if string(e) == "null" {
				continue
			}
			n := reflect.New(nf.elem)
			if err := d.decode(n, e); err != nil {
				return err
			}
			s.Index(i).Set(n)
		}
		f.Set(s)
	case reflect.Map:
		members := d.objectMembers(raw)
		m := reflect.MakeMapWithSize(f.Type(), len(members))
		for _, mb := range members {
			v := reflect.Zero(f.Type().Elem())
			if string(mb.value) != "null" {
				n := reflect.New(nf.elem)
				if err := d.decode(n, mb.value); err != nil {
					return err
				}
				v = n
			}
			m.SetMapIndex(reflect.ValueOf(mb.key).Convert(f.Type().Key()), v)
		}
		f.Set(m)
	}
	return nil
}

// member is one member of a JSON object: its key as written (checkSpecJSON
// refused escapes in keys) and its value's bytes.
type member struct {
	rawKey []byte // with its quotes
	key    string
	value  []byte
}

// shallow writes the object of members with the values of apart replaced
// by an empty object or array.
func shallow(members []member, apart []int, buf []byte) []byte {
	buf = append(buf, '{')
	next := 0
	for i, m := range members {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = append(buf, m.rawKey...)
		buf = append(buf, ':')
		if next < len(apart) && apart[next] == i {
			next++
			if m.value[0] == '[' {
				buf = append(buf, "[]"...)
			} else {
				buf = append(buf, "{}"...)
			}
			continue
		}
		buf = append(buf, m.value...)
	}
	return append(buf, '}')
}

// objectMembers splits an object checkSpecJSON accepted into its members.
func (d *specDecoder) objectMembers(b []byte) []member {
	var ms []member
	i := skipSpace(b, 1)
	if b[i] == '}' {
		return ms
	}
	for {
		end := skipString(b, i)
		m := member{rawKey: b[i:end], key: string(b[i+1 : end-1])}
		i = skipSpace(b, end)
		i = skipSpace(b, i+1) // ':'
		end = d.skip(b, i)
		m.value = b[i:end]
		ms = append(ms, m)
		i = skipSpace(b, end)
		if b[i] == '}' {
			return ms
		}
		i = skipSpace(b, i+1) // ','
	}
}

// arrayElems splits an array checkSpecJSON accepted into its elements.
func (d *specDecoder) arrayElems(b []byte) [][]byte {
	var es [][]byte
	i := skipSpace(b, 1)
	if b[i] == ']' {
		return es
	}
	for {
		end := d.skip(b, i)
		es = append(es, b[i:end])
		i = skipSpace(b, end)
		if b[i] == ']' {
			return es
		}
		i = skipSpace(b, i+1)
	}
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// skipString returns the index after the string starting at b[i].
func skipString(b []byte, i int) int {
	for i++; b[i] != '"'; i++ {
		if b[i] == '\\' {
			i++
		}
	}
	return i + 1
}

// skip returns the index after the value starting at b[i], b being the
// document or a part of it cut from it (b[i:j], which keeps the capacity
// that tells where it starts in the document).
func (d *specDecoder) skip(b []byte, i int) int {
	if c := b[i]; c == '{' || c == '[' {
		off := cap(d.doc) - cap(b)
		if off >= 0 && off+i < len(d.closeAt) && d.closeAt[off+i] > 0 {
			return int(d.closeAt[off+i]) - off
		}
	}
	return skipValue(b, i)
}

// skipValue returns the index after the value starting at b[i], in JSON
// that check accepted.
func skipValue(b []byte, i int) int {
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for ; ; i++ {
			switch b[i] {
			case '"':
				i = skipString(b, i) - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
		}
	}
	for i < len(b) && !strings.ContainsRune(",}] \t\n\r", rune(b[i])) {
		i++
	}
	return i
}

// checkSpecJSON accepts one valid JSON object whose objects have no key
// twice and no key with an escape, and whose numbers have at most 15
// significant digits (float64 holds them exactly).
func (d *specDecoder) check() error {
	raw := d.doc
	if len(raw) >= 1<<31 {
		return errors.New("spec: too long")
	}
	if !json.Valid(raw) {
		return errors.New("spec: not valid JSON")
	}
	i := skipSpace(raw, 0)
	if i == len(raw) || raw[i] != '{' {
		return errors.New("spec: not a JSON object")
	}
	end, err := d.checkValue(raw, i)
	if err != nil {
		return err
	}
	if skipSpace(raw, end) != len(raw) {
		return errors.New("spec: text after the document")
	}
	return nil
}

// checkMember checks the array element or member value at i and returns
// where the next one starts (past its comma) or the closing bracket is.
func (d *specDecoder) checkMember(b []byte, i int) (int, error) {
	end, err := d.checkValue(b, i)
	if err != nil {
		return 0, err
	}
	if i = skipSpace(b, end); b[i] == ',' {
		i = skipSpace(b, i+1)
	}
	return i, nil
}

func (d *specDecoder) checkValue(b []byte, i int) (int, error) {
	start := i
	switch b[i] {
	case '"':
		return skipString(b, i), nil
	case '[':
		i = skipSpace(b, i+1)
		for b[i] != ']' {
			var err error
			if i, err = d.checkMember(b, i); err != nil {
				return 0, err
			}
		}
		d.closeAt[start] = int32(i + 1)
		return i + 1, nil
	case '{':
		var keys [][]byte
		var seen map[string]bool
		i = skipSpace(b, i+1)
		for b[i] != '}' {
			end := skipString(b, i)
			key := b[i+1 : end-1]
			if bytes.IndexByte(key, '\\') >= 0 || !utf8.Valid(key) {
				return 0, fmt.Errorf("spec: key %s has an escape or is not UTF-8", b[i:end])
			}
			twice := false
			if seen != nil {
				twice = seen[string(key)]
				seen[string(key)] = true
			} else {
				twice = slices.ContainsFunc(keys, func(k []byte) bool { return bytes.Equal(k, key) })
				if keys = append(keys, key); len(keys) > 8 {
					seen = map[string]bool{}
					for _, k := range keys {
						seen[string(k)] = true
					}
				}
			}
			if twice {
				return 0, fmt.Errorf("spec: key %q twice in one object", key)
			}
			var err error
			if i, err = d.checkMember(b, skipSpace(b, skipSpace(b, end)+1)); err != nil {
				return 0, err
			}
		}
		d.closeAt[start] = int32(i + 1)
		return i + 1, nil
	case 't', 'f', 'n':
		return skipValue(b, i), nil
	}
	end := skipValue(b, i)
	digits := 0
	for _, c := range b[i:end] {
		if c == 'e' || c == 'E' {
			break
		}
		if c >= '0' && c <= '9' {
			digits++
		}
	}
	if digits > 15 {
		return 0, fmt.Errorf("spec: number %s may not survive float64", b[i:end])
	}
	return end, nil
}
