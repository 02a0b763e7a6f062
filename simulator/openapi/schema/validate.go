package schema

import (
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
	"unsafe"
)

// Violation is one broken rule, named as kin-openapi names it: the field as
// a dotted path with array indexes, the schema keyword, and the reason.
type Violation struct {
	Field  string
	Rule   string
	Reason string
	// Lenient is the class of the spec's x-pspsim-lenient that tolerates
	// this violation ("" when none does), Why the spec's reason.
	Lenient string
	Why     string
	fix     fix
}

// Validate checks the root of doc against s and appends what it breaks to
// out, in kin-openapi's order (callers sort by field and rule).
func (s *Schema) Validate(doc *Doc, out []Violation) []Violation {
	return s.validate(doc, out, false)
}

// ValidateLenient is Validate for a caller that will tolerate what the spec
// tolerates: where a value matches none of a oneOf's alternatives but
// breaks only tolerated rules of exactly one (an enumerated string in
// another case, where a string or a boolean is allowed), that
// alternative's tolerated violations are reported instead of the oneOf's
// own, so that the departure can be normalised. Everything else is
// reported as Validate reports it.
func (s *Schema) ValidateLenient(doc *Doc, out []Violation) []Violation {
	return s.validate(doc, out, true)
}

func (s *Schema) validate(doc *Doc, out []Violation, lenient bool) []Violation {
	// The validator's scratch space lives in the Doc, which callers recycle.
	v := &doc.v
	v.doc, v.out, v.lenient = doc, out, lenient
	v.path, v.seen, v.nodes = v.path[:0], v.seen[:0], v.nodes[:0]
	v.visit(s, doc.Root())
	out, v.out, v.doc = v.out, nil, nil
	return out
}

// ValidateString checks a string that is not JSON text (a path or query
// parameter) against s.
func (s *Schema) ValidateString(raw string, out []Violation) []Violation {
	return s.ValidateScalar(String, raw, out)
}

// ValidateScalar checks a parameter value already converted to a JSON kind:
// text is the string itself (String) or the number or boolean literal.
//
// Its one-node document is recycled (the compiler's pool): every path parameter of
// every request is checked here, and the document, its text and its node
// were three allocations each time. Violations copy what they name (Doc.text
// copies), so nothing returned refers to the recycled document.
func (s *Schema) ValidateScalar(k Kind, text string, out []Violation) []Violation {
	var d *Doc
	if s.scalars != nil {
		d, _ = s.scalars.Get().(*Doc)
	}
	if d == nil {
		d = new(Doc)
	}
	d.src = d.src[:0]
	if k == String {
		d.src = append(append(append(d.src, '"'), text...), '"')
	} else {
		d.src = append(d.src, text...)
	}
	d.nodes = append(d.nodes[:0], Node{Kind: k, End: int32(len(d.src)), KeyStart: -1, KeyEnd: -1, First: -1, Next: -1})
	out = s.Validate(d, out)
	if s.scalars != nil && cap(d.src) <= 4<<10 {
		s.scalars.Put(d)
	}
	return out
}

type step struct {
	member int32 // the member node whose key this step is, or -1
	index  int32 // the array index, or -1
}

type segment struct {
	key        string
	start, end int
}

type validator struct {
	lenient bool // see ValidateLenient
	doc     *Doc
	out     []Violation
	path    []step
	seen    []bool  // per-object scratch: which properties are present
	nodes   []int32 // per-object scratch: the members, in order
}

func (v *validator) field(extra string) string {
	ptr := make([]string, 0, len(v.path)+1)
	for _, st := range v.path {
		if st.index >= 0 {
			ptr = append(ptr, strconv.Itoa(int(st.index)))
		} else {
			ptr = append(ptr, v.doc.Key(st.member))
		}
	}
	if extra != "" {
		ptr = append(ptr, extra)
	}
	return FieldPath(ptr)
}

func (v *validator) add(rule, reason string) {
	v.out = append(v.out, Violation{Field: v.field(""), Rule: rule, Reason: reason})
}

func (v *validator) addAt(key, rule, reason string) {
	v.out = append(v.out, Violation{Field: v.field(key), Rule: rule, Reason: reason})
}

// tolerate marks the last violation as tolerated by class, with its fix.
func (v *validator) tolerate(class, why string, f fix) {
	last := &v.out[len(v.out)-1]
	last.Lenient, last.Why, last.fix = class, why, f
}

// visit is kin-openapi's visitJSON: null, empty schema, oneOf/anyOf/allOf,
// enum, then the rules of the value's type.
func (v *validator) visit(s *Schema, n int32) {
	node := v.doc.Node(n)
	if node.Kind == Null && s.nullable {
		return
	}
	if s.empty {
		if node.Kind == Null {
			v.add("nullable", "Value is not nullable")
		}
		return
	}
	if !v.xof(s, n) {
		return
	}
	if len(s.enum) > 0 && !v.inEnum(s, n) {
		v.add("enum", s.enumReason)
		if node.Kind == String {
			if why := s.tolerates(EnumCase); why != "" {
				if canon, ok := s.enumFold(v.doc.Text(n)); ok {
					v.tolerate(EnumCase, why, fix{op: fixReplace, node: n, text: strconv.Quote(canon)})
				}
			}
		}
		return
	}
	switch node.Kind {
	case Null:
		v.add("nullable", "Value is not nullable")
	case Bool:
		if s.types != 0 && s.types&tBoolean == 0 {
			v.add("type", s.typeMsg)
		}
	case Number:
		v.number(s, n)
	case String:
		v.str(s, n)
	case Array:
		v.array(s, n)
	case Object:
		v.object(s, n)
	}
}

// choose resolves a discriminator: the index of the alternative the value
// names, -1 when the value is not an object (every alternative is tried),
// or false when the discriminator itself is broken (reported).
func (v *validator) choose(s *Schema, n int32) (int, bool) {
	if s.disc == nil || v.doc.Node(n).Kind != Object {
		return -1, true
	}
	prop := s.disc.property
	m := v.doc.Member(n, prop)
	switch {
	case m < 0:
		v.addAt(prop, "discriminator", fmt.Sprintf("input does not contain the discriminator property %q", prop))
		return -1, false
	case v.doc.Node(m).Kind != String:
		v.addAt(prop, "discriminator", fmt.Sprintf("value of discriminator property %q is not a string", prop))
		return -1, false
	}
	idx, ok := s.disc.choice[v.doc.Text(m)]
	if !ok {
		v.addAt(prop, "discriminator", fmt.Sprintf("discriminator property %q has invalid value", prop))
		return -1, false
	}
	return idx, true
}

// xof runs oneOf, anyOf and allOf; it reports whether the value's own rules
// are to be checked next.
func (v *validator) xof(s *Schema, n int32) bool {
	visited := false
	if len(s.oneOf) > 0 {
		choice, ok := v.choose(s, n)
		if !ok {
			return false
		}
		start := len(v.out)
		matched, failed := 0, 0
		tolerable, tolStart, tolEnd := 0, 0, 0
		for i, alt := range s.oneOf {
			if choice >= 0 && i != choice {
				continue
			}
			mark := len(v.out)
			v.visit(alt, n)
			if len(v.out) > mark {
				failed++
				if v.lenient && allTolerated(v.out[mark:]) {
					tolerable, tolStart, tolEnd = tolerable+1, mark, len(v.out)
				}
				continue
			}
			matched++
		}
		if matched == 0 && failed > 1 && tolerable == 1 {
			// Exactly one alternative is broken only in ways the spec
			// tolerates: its violations are the answer (see ValidateLenient).
			kept := append([]Violation(nil), v.out[tolStart:tolEnd]...)
			v.out = append(v.out[:start], kept...)
			return false
		}
		switch {
		case matched > 1:
			// kin-openapi reports this without a field, as a bare error.
			v.out = append(v.out[:start], Violation{Rule: "invalid", Reason: "input matches more than one oneOf schemas"})
			return false
		case matched == 0 && failed == 1:
			// One alternative was tried (a discriminator chose it): its own
			// violations are the answer.
			return false
		case matched == 0:
			// Several forms are allowed: name the field and say what each wanted.
			reasons := make([]string, 0, len(v.out)-start)
			for _, vi := range v.out[start:] {
				reasons = append(reasons, vi.Reason)
			}
			reason := "does not match any allowed form"
			if len(reasons) > 0 {
				reason = strings.Join(reasons, ", or ")
			}
			v.out = v.out[:start]
			v.add("oneOf", reason)
			return false
		}
		v.out = v.out[:start] // what the other alternatives broke does not matter
		visited = true
	}
	if len(s.anyOf) > 0 {
		choice, ok := v.choose(s, n)
		if !ok {
			return false
		}
		matched := false
		for i, alt := range s.anyOf {
			if choice >= 0 && i != choice {
				continue
			}
			mark := len(v.out)
			v.visit(alt, n)
			if len(v.out) == mark {
				matched = true
				break
			}
			v.out = v.out[:mark]
		}
		if !matched {
			v.add("anyOf", `doesn't match any schema from "anyOf"`)
			return false
		}
		visited = true
	}
	if len(s.allOf) > 0 {
		start := len(v.out)
		for _, part := range s.allOf {
			v.visit(part, n)
		}
		if len(v.out) > start {
			return false // every failing part's violations, flattened
		}
		visited = true
	}
	return !(visited && v.doc.Node(n).Kind == Null)
}

func allTolerated(vs []Violation) bool {
	for _, v := range vs {
		if v.Lenient == "" {
			return false
		}
	}
	return true
}

func (v *validator) inEnum(s *Schema, n int32) bool {
	node := v.doc.Node(n)
	for _, e := range s.enum {
		if e.kind != node.Kind {
			continue
		}
		switch node.Kind {
		case Null:
			return true
		case Bool:
			if e.b == (v.doc.src[node.Start] == 't') {
				return true
			}
		case Number:
			if f, err := parseFloat(v.doc.Raw(n)); err == nil && f == e.num {
				return true
			}
		case String:
			if b, ok := v.doc.strBytes(n); ok {
				if string(b) == e.str {
					return true
				}
			} else if v.doc.Text(n) == e.str {
				return true
			}
		}
	}
	return false
}

func parseFloat(b []byte) (float64, error) {
	return strconv.ParseFloat(unsafe.String(unsafe.SliceData(b), len(b)), 64)
}

func (v *validator) number(s *Schema, n int32) {
	f, err := parseFloat(v.doc.Raw(n))
	if err != nil {
		v.add("type", "cannot convert json.Number to float64")
		return
	}
	requireInt := s.types != 0 && s.types&tInteger != 0 && s.types&tNumber == 0
	switch {
	case requireInt:
		if math.IsInf(f, 0) || f != math.Trunc(f) {
			v.add("type", "value must be an integer")
		}
	case s.types != 0 && s.types&(tInteger|tNumber) == 0:
		v.add("type", s.typeMsg)
		return
	}
	if requireInt && s.intFormat != nil {
		var err error
		switch {
		case f == float64(math.MaxInt64):
			err = s.intFormat.Validate(math.MaxInt64)
		case f >= float64(math.MinInt64) && f < float64(math.MaxInt64):
			err = s.intFormat.Validate(int64(f))
		default:
			err = fmt.Errorf("value should be between %v and %v", int64(math.MinInt64), int64(math.MaxInt64))
		}
		if err != nil {
			v.add("format", fmt.Sprintf("integer doesn't match the format %q (%v)", s.format, err))
		}
	}
	if s.exclMin && !(f > *s.minimum) {
		v.add("exclusiveMinimum", fmt.Sprintf("number must be more than %g", *s.minimum))
	}
	if s.exclMax && !(f < *s.maximum) {
		v.add("exclusiveMaximum", fmt.Sprintf("number must be less than %g", *s.maximum))
	}
	if s.minimum != nil && !(*s.minimum <= f) {
		v.add("minimum", fmt.Sprintf("number must be at least %g", *s.minimum))
	}
	if s.maximum != nil && !(*s.maximum >= f) {
		v.add("maximum", fmt.Sprintf("number must be at most %g", *s.maximum))
	}
}

func (v *validator) str(s *Schema, n int32) {
	if s.types != 0 && s.types&tString == 0 {
		v.add("type", s.typeMsg)
		v.stringAsOther(s, n)
		return
	}
	raw, plain := v.doc.strBytes(n)
	var text string
	if !plain {
		text = v.doc.Text(n)
		raw = unsafe.Slice(unsafe.StringData(text), len(text))
	}
	if s.minLength != 0 || s.maxLength >= 0 {
		length := utf16Len(raw)
		if s.minLength != 0 && length < s.minLength {
			v.add("minLength", fmt.Sprintf("minimum string length is %d", s.minLength))
		}
		if s.maxLength >= 0 && length > s.maxLength {
			v.add("maxLength", fmt.Sprintf("maximum string length is %d", s.maxLength))
		}
	}
	if s.pattern != nil && !s.pattern.Match(raw) {
		v.add("pattern", s.patternReason)
		if why := s.tolerates(Pattern); why != "" {
			v.tolerate(Pattern, why, fix{})
		}
	}
	if s.stringFormat != nil {
		if plain {
			text = string(raw)
		}
		if err := s.stringFormat.Validate(text); err != nil {
			v.add("format", fmt.Sprintf("string doesn't match the format %q (%v)", s.format, err))
			if why := s.tolerates(Format); why != "" {
				v.tolerate(Format, why, fix{})
			}
		}
	}
}

// stringAsOther tolerates a string where the schema wants a number or an
// object, when the spec says so: "30.05" becomes 30.05; a JSON object's text
// becomes the object, any other text (a placeholder) drops the member.
func (v *validator) stringAsOther(s *Schema, n int32) {
	text := v.doc.Text(n)
	if s.types&(tNumber|tInteger) != 0 {
		if why := s.tolerates(NumberAsString); why != "" {
			integer := s.types&tNumber == 0
			if num, ok := numberText(text, integer); ok {
				v.tolerate(NumberAsString, why, fix{op: fixReplace, node: n, text: num})
			}
		}
		return
	}
	if s.types&tObject != 0 {
		if why := s.tolerates(ObjectAsString); why != "" {
			var d Doc
			if d.Parse([]byte(text)) == nil && d.Node(d.Root()).Kind == Object {
				v.tolerate(ObjectAsString, why, fix{op: fixReplace, node: n, text: text})
			} else if v.doc.Node(n).KeyStart >= 0 {
				v.tolerate(ObjectAsString, why, fix{op: fixDrop, node: n})
			}
		}
	}
}

// enumFold finds the enumerated string equal to text under Unicode case
// folding, when exactly one is.
func (s *Schema) enumFold(text string) (string, bool) {
	found, n := "", 0
	for _, e := range s.enum {
		if e.kind == String && strings.EqualFold(e.str, text) {
			found = e.str
			n++
		}
	}
	return found, n == 1
}

// utf16Len is a string's length as kin-openapi counts it for minLength and
// maxLength: one per rune (it adds two for a rune that is itself a UTF-16
// surrogate, which valid UTF-8 — all the parser accepts — never holds).
func utf16Len(b []byte) int64 {
	// Eight bytes at a time while they are ASCII (most strings are): the
	// length is then the count of bytes.
	rest := b
	for len(rest) >= 8 {
		if binary.LittleEndian.Uint64(rest)&0x8080808080808080 != 0 {
			return int64(utf8.RuneCount(b))
		}
		rest = rest[8:]
	}
	for _, c := range rest {
		if c >= utf8.RuneSelf {
			return int64(utf8.RuneCount(b))
		}
	}
	return int64(len(b))
}

func (v *validator) array(s *Schema, n int32) {
	if s.types != 0 && s.types&tArray == 0 {
		v.add("type", s.typeMsg)
		return
	}
	node := v.doc.Node(n)
	count := int64(node.Len)
	if s.minItems != 0 && count < s.minItems {
		v.add("minItems", fmt.Sprintf("minimum number of items is %d", s.minItems))
	}
	if s.maxItems >= 0 && count > s.maxItems {
		v.add("maxItems", fmt.Sprintf("maximum number of items is %d", s.maxItems))
	}
	if s.unique && !v.uniqueItems(n) {
		v.add("uniqueItems", "duplicate items found")
	}
	if s.items == nil {
		return
	}
	i := int32(0)
	for c := node.First; c >= 0; c = v.doc.Node(c).Next {
		v.path = append(v.path, step{member: -1, index: i})
		v.visit(s.items, c)
		v.path = v.path[:len(v.path)-1]
		i++
	}
}

func (v *validator) uniqueItems(n int32) bool {
	seen := map[string]bool{}
	for c := v.doc.Node(n).First; c >= 0; c = v.doc.Node(c).Next {
		k := v.doc.canonical(c)
		if seen[k] {
			return false
		}
		seen[k] = true
	}
	return true
}

func (v *validator) object(s *Schema, n int32) {
	if s.types != 0 && s.types&tObject == 0 {
		v.add("type", s.typeMsg)
		return
	}
	node := v.doc.Node(n)
	// The members, last first: when a key repeats, the last one is the
	// value (encoding/json's rule, and kin-openapi's), so earlier
	// repetitions are skipped.
	base := len(v.nodes)
	for c := node.First; c >= 0; c = v.doc.Node(c).Next {
		v.nodes = append(v.nodes, c)
	}
	members := v.nodes[base:]
	seenBase := len(v.seen)
	for range s.propNames {
		v.seen = append(v.seen, false)
	}
	seen := v.seen[seenBase:]

	var unknown []string // keys not among the properties, for repeats and required
	distinct := int64(0)
	keepBase := len(v.nodes)
	for i := len(members) - 1; i >= 0; i-- {
		c := members[i]
		idx, known := v.propOf(s, c)
		if known {
			if seen[idx] {
				continue
			}
			seen[idx] = true
		} else {
			k := v.doc.Key(c)
			if contains(unknown, k) {
				continue
			}
			unknown = append(unknown, k)
			idx = -1
		}
		distinct++
		// Each kept member takes two slots: its node and its property index.
		v.nodes = append(v.nodes, c, int32(idx))
	}
	keep := v.nodes[keepBase:]
	if s.minProps != 0 && distinct < s.minProps {
		v.add("minProperties", fmt.Sprintf("there must be at least %d properties", s.minProps))
	}
	if s.maxProps >= 0 && distinct > s.maxProps {
		v.add("maxProperties", fmt.Sprintf("there must be at most %d properties", s.maxProps))
	}
	var segs []segment
	for i := len(keep) - 2; i >= 0; i -= 2 { // document order
		c, idx := keep[i], keep[i+1]
		mark := len(v.out)
		switch {
		case idx >= 0:
			v.path = append(v.path, step{member: c, index: -1})
			v.visit(s.propList[idx], c)
			v.path = v.path[:len(v.path)-1]
			if len(v.out) > mark {
				v.emptyAsAbsent(s, c, mark)
			}
		case s.addAllowed:
			if s.addSchema != nil {
				v.path = append(v.path, step{member: c, index: -1})
				v.visit(s.addSchema, c)
				v.path = v.path[:len(v.path)-1]
			}
		default:
			k := v.doc.Key(c)
			v.addAt(k, "additionalProperties", fmt.Sprintf("property %q is unsupported", k))
			v.unknownMember(s, c, k, seen)
		}
		if len(v.out) > mark {
			segs = append(segs, segment{key: v.doc.Key(c), start: mark, end: len(v.out)})
		}
	}
	if len(segs) > 1 {
		v.sortSegments(segs)
	}
	for i, k := range s.required {
		present := false
		if idx := s.requiredIndex[i]; idx >= 0 {
			present = seen[idx]
		} else {
			present = contains(unknown, k)
		}
		if !present {
			v.addAt(k, "required", fmt.Sprintf("property %q is missing", k))
			v.missingMember(s, k, unknown)
		}
	}
	v.nodes = v.nodes[:base]
	v.seen = v.seen[:seenBase]
}

// emptyAsAbsent tolerates the violations (from mark on) of member c when
// its value is "" and the object does not require it: an empty optional
// field is as good as an absent one.
func (v *validator) emptyAsAbsent(s *Schema, c int32, mark int) {
	node := v.doc.Node(c)
	if node.Kind != String || node.End-node.Start != 2 {
		return
	}
	why := s.tolerates(EmptyAsAbsent)
	if why == "" || slices.Contains(s.required, v.doc.Key(c)) {
		return
	}
	for i := mark; i < len(v.out); i++ {
		v.out[i].Lenient, v.out[i].Why, v.out[i].fix = EmptyAsAbsent, why, fix{op: fixDrop, node: c}
	}
}

// unknownMember tolerates a member the object does not list: renamed when
// it is an alias of an absent listed member, dropped when the spec
// tolerates unknown fields.
func (v *validator) unknownMember(s *Schema, c int32, k string, seen []bool) {
	if s.lenient != nil {
		if a, ok := s.lenient.alias[k]; ok && !seen[s.propIndex[a.field]] {
			v.tolerate(Alias, a.why, fix{op: fixRename, node: c, text: a.field})
			return
		}
	}
	if why := s.tolerates(UnknownField); why != "" {
		v.tolerate(UnknownField, why, fix{op: fixDrop, node: c})
	}
}

// missingMember tolerates a missing required member the spec lists as
// optional, or one sent under an alias.
func (v *validator) missingMember(s *Schema, k string, unknown []string) {
	if s.lenient == nil {
		return
	}
	if why, ok := s.lenient.optional[k]; ok {
		v.tolerate(Optional, why, fix{})
		return
	}
	for name, a := range s.lenient.alias {
		if a.field == k && contains(unknown, name) {
			v.tolerate(Alias, a.why, fix{})
			return
		}
	}
}

// propOf returns the index of member c's key among s's properties.
func (v *validator) propOf(s *Schema, c int32) (int, bool) {
	if s.propIndex == nil {
		return 0, false
	}
	if k, ok := v.doc.keyBytes(c); ok {
		if s.propQuick != nil {
			if idx, found := s.propQuick.find(k); found {
				return idx, true
			}
		}
		idx, found := s.propIndex[string(k)]
		return idx, found
	}
	idx, found := s.propIndex[v.doc.Key(c)]
	return idx, found
}

// sortSegments puts the violations of an object's members in the order of
// their keys, as kin-openapi visits them.
func (v *validator) sortSegments(segs []segment) {
	start := segs[0].start
	sorted := append([]segment(nil), segs...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].key < sorted[j].key })
	tail := append([]Violation(nil), v.out[start:]...)
	out := v.out[:start]
	for _, sg := range sorted {
		out = append(out, tail[sg.start-start:sg.end-start]...)
	}
	v.out = out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// canonical renders node i as encoding/json would re-encode its decoded
// value (object keys sorted, strings re-escaped, numbers as written): what
// kin-openapi compares for uniqueItems.
func (d *Doc) canonical(i int32) string {
	var b strings.Builder
	d.writeCanonical(&b, i)
	return b.String()
}

func (d *Doc) writeCanonical(b *strings.Builder, i int32) {
	n := d.Node(i)
	switch n.Kind {
	case String:
		b.WriteString(strconv.Quote(d.Text(i)))
	case Array:
		b.WriteByte('[')
		for c := n.First; c >= 0; c = d.Node(c).Next {
			if c != n.First {
				b.WriteByte(',')
			}
			d.writeCanonical(b, c)
		}
		b.WriteByte(']')
	case Object:
		var keys []string
		byKey := map[string]int32{}
		for c := n.First; c >= 0; c = d.Node(c).Next {
			k := d.Key(c)
			if _, dup := byKey[k]; !dup {
				keys = append(keys, k)
			}
			byKey[k] = c
		}
		sort.Strings(keys)
		b.WriteByte('{')
		for j, k := range keys {
			if j > 0 {
				b.WriteByte(',')
			}
			b.WriteString(strconv.Quote(k) + ":")
			d.writeCanonical(b, byKey[k])
		}
		b.WriteByte('}')
	default:
		b.Write(d.Raw(i))
	}
}

// FieldPath turns a JSON pointer into a dotted path with array indexes:
// ["iterms","0","op"] → "iterms[0].op"; an index at the root of an array
// body stays bracketed: ["0","carrier"] → "[0].carrier".
func FieldPath(ptr []string) string {
	var b strings.Builder
	for _, p := range ptr {
		if _, err := strconv.Atoi(p); err == nil {
			b.WriteString("[" + p + "]")
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(p)
	}
	return b.String()
}
