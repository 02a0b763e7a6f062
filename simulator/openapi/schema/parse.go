package schema

import (
	"encoding/binary"
	"fmt"
	"math/bits"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// MaxDepth is how deeply a JSON document may nest objects and arrays. It is
// encoding/json's own limit, which every handler decodes with: a deeper body
// could never be served, so it is refused up front, with that reason.
const MaxDepth = 10000

// Kind is the JSON type of a node.
type Kind uint8

// JSON types.
const (
	Null Kind = iota
	Bool
	Number
	String
	Object
	Array
)

func (k Kind) String() string {
	return [...]string{"null", "boolean", "number", "string", "object", "array"}[k]
}

// Node is one JSON value of a Doc. Strings and numbers are not copied out of
// the source: they are spans of it, decoded only when a rule needs them.
type Node struct {
	Kind Kind
	// esc marks a string (or key) holding escapes: its text is not its span.
	esc, keyEsc bool
	// Start and End are the raw value's span in the source (a string's
	// includes its quotes).
	Start, End int32
	// KeyStart and KeyEnd span an object member's key, quotes included.
	KeyStart, KeyEnd int32
	// First is the first child (member or element), Next the next sibling;
	// -1 for none. Len counts the children.
	First, Next, Len int32
}

// Doc is a parsed JSON document: a flat slice of nodes, the root first.
// Parsing allocates nothing per value; a Doc is reused through Parser.
type Doc struct {
	src   []byte
	nodes []Node
	v     validator // scratch space of Validate, reused with the Doc
	// path is the parser's stack of open containers, kept for the next
	// Parse: growing it anew cost an allocation per nesting depth doubled
	// (three for a card payment's body).
	path []frame
	// fieldOf is Decode's scratch: the struct field each object member
	// names (-1: none), found by its checking pass and read by its writing
	// pass, which looked each key up again (a fifth of decoding a card
	// payment's body).
	fieldOf []int32
}

// Root returns the index of the root value.
func (d *Doc) Root() int32 { return 0 }

// Node returns node i.
func (d *Doc) Node(i int32) *Node { return &d.nodes[i] }

// Raw returns the raw bytes of node i.
func (d *Doc) Raw(i int32) []byte { n := &d.nodes[i]; return d.src[n.Start:n.End] }

// Text returns the text of string node i (escapes decoded).
func (d *Doc) Text(i int32) string {
	n := &d.nodes[i]
	return d.text(n.Start, n.End, n.esc)
}

// Key returns the key of member i.
func (d *Doc) Key(i int32) string {
	n := &d.nodes[i]
	return d.text(n.KeyStart, n.KeyEnd, n.keyEsc)
}

// keyBytes returns the raw key of member i without its quotes when it has no
// escapes (the common case), for allocation-free lookups.
func (d *Doc) keyBytes(i int32) ([]byte, bool) {
	n := &d.nodes[i]
	if n.keyEsc {
		return nil, false
	}
	return d.src[n.KeyStart+1 : n.KeyEnd-1], true
}

// strBytes returns the content of string node i when it has no escapes.
func (d *Doc) strBytes(i int32) ([]byte, bool) {
	n := &d.nodes[i]
	if n.esc {
		return nil, false
	}
	return d.src[n.Start+1 : n.End-1], true
}

func (d *Doc) text(start, end int32, esc bool) string {
	raw := d.src[start+1 : end-1]
	if !esc {
		return string(raw)
	}
	return unescape(raw)
}

// Member returns the child of object node i whose key is name (the last one
// when a key repeats, as encoding/json decides), or -1.
func (d *Doc) Member(i int32, name string) int32 {
	found := int32(-1)
	for c := d.nodes[i].First; c >= 0; c = d.nodes[c].Next {
		if k, ok := d.keyBytes(c); ok {
			if string(k) == name {
				found = c
			}
		} else if d.Key(c) == name {
			found = c
		}
	}
	return found
}

// SyntaxError says why a body is not JSON pspsim can serve, and where.
type SyntaxError struct {
	// Rule is "parse" (not JSON, or nested too deeply) or "encoding" (a
	// string is not valid UTF-8 or holds a lone UTF-16 surrogate).
	Rule string
	// Field is the dotted path of the value at fault ("" for the body).
	Field  string
	Offset int
	Reason string
}

func (e *SyntaxError) Error() string {
	if e.Field != "" {
		return e.Field + ": " + e.Reason
	}
	return e.Reason
}

// Parse parses src into d (reusing d's storage). It accepts exactly one JSON
// value (RFC 8259) with surrounding whitespace; strings must be valid UTF-8
// without lone surrogates, so that no text is ever silently replaced.
func (d *Doc) Parse(src []byte) error {
	d.src = src
	d.nodes = d.nodes[:0]
	p := parser{d: d, src: src, path: d.path[:0]}
	err := p.parse()
	d.path = p.path[:0]
	return err
}

// parse parses the whole of p.src into p.d.
func (p *parser) parse() error {
	src := p.src
	p.skipSpace()
	if p.pos >= len(src) {
		return p.fail("parse", "the body is empty or only whitespace")
	}
	if _, err := p.value(0); err != nil {
		return err
	}
	p.skipSpace()
	if p.pos < len(src) {
		return p.fail("parse", fmt.Sprintf("unexpected %s after the JSON value at offset %d", p.describe(), p.pos))
	}
	return nil
}

type frame struct {
	keyStart, keyEnd int32
	keyEsc           bool
	index            int32 // array element index, or -1 in an object
}

type parser struct {
	d    *Doc
	src  []byte
	pos  int
	path []frame
}

func (p *parser) newNode(k Kind) int32 {
	p.d.nodes = append(p.d.nodes, Node{Kind: k, Start: int32(p.pos), KeyStart: -1, KeyEnd: -1, First: -1, Next: -1})
	return int32(len(p.d.nodes) - 1)
}

func (p *parser) skipSpace() {
	for p.pos < len(p.src) {
		switch p.src[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return
		}
	}
}

func (p *parser) describe() string {
	if p.pos >= len(p.src) {
		return "end of the body"
	}
	c := p.src[p.pos]
	if c >= 0x20 && c < 0x7f {
		return "character " + strconv.QuoteRune(rune(c))
	}
	return fmt.Sprintf("byte 0x%02x", c)
}

func (p *parser) fail(rule, reason string) *SyntaxError {
	return &SyntaxError{Rule: rule, Field: p.field(), Offset: p.pos, Reason: reason}
}

func (p *parser) unexpected(what string) *SyntaxError {
	if p.pos >= len(p.src) {
		return p.fail("parse", "the body ends before the JSON value does ("+what+")")
	}
	return p.fail("parse", fmt.Sprintf("unexpected %s at offset %d, %s", p.describe(), p.pos, what))
}

// field renders the current path the way violations name fields.
func (p *parser) field() string {
	ptr := make([]string, 0, len(p.path))
	for _, f := range p.path {
		switch {
		case f.index >= 0:
			ptr = append(ptr, strconv.Itoa(int(f.index)))
		case f.keyStart >= 0:
			ptr = append(ptr, p.d.text(f.keyStart, f.keyEnd, f.keyEsc))
		}
	}
	return FieldPath(ptr)
}

func (p *parser) value(depth int) (int32, *SyntaxError) {
	if p.pos >= len(p.src) {
		return -1, p.unexpected("expecting a value")
	}
	switch c := p.src[p.pos]; {
	case c == '{':
		return p.object(depth + 1)
	case c == '[':
		return p.array(depth + 1)
	case c == '"':
		i := p.newNode(String)
		esc, err := p.str()
		if err != nil {
			return -1, err
		}
		p.d.nodes[i].esc = esc
		p.d.nodes[i].End = int32(p.pos)
		return i, nil
	case c == '-' || (c >= '0' && c <= '9'):
		i := p.newNode(Number)
		if err := p.number(); err != nil {
			return -1, err
		}
		p.d.nodes[i].End = int32(p.pos)
		return i, nil
	case c == 't':
		return p.literal("true", Bool)
	case c == 'f':
		return p.literal("false", Bool)
	case c == 'n':
		return p.literal("null", Null)
	}
	return -1, p.unexpected("expecting a value")
}

func (p *parser) literal(word string, k Kind) (int32, *SyntaxError) {
	if len(p.src)-p.pos < len(word) || string(p.src[p.pos:p.pos+len(word)]) != word {
		return -1, p.unexpected("expecting " + word)
	}
	i := p.newNode(k)
	p.pos += len(word)
	p.d.nodes[i].End = int32(p.pos)
	return i, nil
}

func (p *parser) tooDeep() *SyntaxError {
	// No field: its path would be thousands of names long.
	return &SyntaxError{Rule: "parse", Offset: p.pos, Reason: fmt.Sprintf("the body nests objects and arrays more than %d levels deep (offset %d)", MaxDepth, p.pos)}
}

func (p *parser) object(depth int) (int32, *SyntaxError) {
	if depth > MaxDepth {
		return -1, p.tooDeep()
	}
	i := p.newNode(Object)
	p.pos++ // {
	p.path = append(p.path, frame{keyStart: -1, index: -1})
	top := len(p.path) - 1
	last := int32(-1)
	p.skipSpace()
	if p.pos < len(p.src) && p.src[p.pos] == '}' {
		p.pos++
		p.path = p.path[:top]
		p.d.nodes[i].End = int32(p.pos)
		return i, nil
	}
	for {
		p.skipSpace()
		if p.pos >= len(p.src) || p.src[p.pos] != '"' {
			return -1, p.unexpected("expecting a property name in double quotes")
		}
		keyStart := int32(p.pos)
		p.path[top].keyStart = -1 // an error inside the key names the object
		keyEsc, err := p.str()
		if err != nil {
			if err.Rule == "encoding" {
				err.Reason = "a property name " + err.Reason
			}
			return -1, err
		}
		keyEnd := int32(p.pos)
		p.path[top] = frame{keyStart: keyStart, keyEnd: keyEnd, keyEsc: keyEsc, index: -1}
		p.skipSpace()
		if p.pos >= len(p.src) || p.src[p.pos] != ':' {
			return -1, p.unexpected("expecting ':' after a property name")
		}
		p.pos++
		p.skipSpace()
		c, err := p.value(depth)
		if err != nil {
			return -1, err
		}
		n := &p.d.nodes[c]
		n.KeyStart, n.KeyEnd, n.keyEsc = keyStart, keyEnd, keyEsc
		p.link(i, &last, c)
		if more, err := p.another('}', "a property"); err != nil {
			return -1, err
		} else if !more {
			break
		}
	}
	p.path = p.path[:top]
	p.d.nodes[i].End = int32(p.pos)
	return i, nil
}

// link appends child c to container i, after last.
func (p *parser) link(i int32, last *int32, c int32) {
	if *last < 0 {
		p.d.nodes[i].First = c
	} else {
		p.d.nodes[*last].Next = c
	}
	*last = c
	p.d.nodes[i].Len++
}

// another reads what follows a member or element: ',' (another comes) or
// the container's closing character.
func (p *parser) another(closing byte, what string) (bool, *SyntaxError) {
	p.skipSpace()
	if p.pos < len(p.src) && p.src[p.pos] == ',' {
		p.pos++
		return true, nil
	}
	if p.pos < len(p.src) && p.src[p.pos] == closing {
		p.pos++
		return false, nil
	}
	return false, p.unexpected(fmt.Sprintf("expecting ',' or '%c' after %s", closing, what))
}

func (p *parser) array(depth int) (int32, *SyntaxError) {
	if depth > MaxDepth {
		return -1, p.tooDeep()
	}
	i := p.newNode(Array)
	p.pos++ // [
	p.path = append(p.path, frame{keyStart: -1, index: 0})
	top := len(p.path) - 1
	last := int32(-1)
	p.skipSpace()
	if p.pos < len(p.src) && p.src[p.pos] == ']' {
		p.pos++
		p.path = p.path[:top]
		p.d.nodes[i].End = int32(p.pos)
		return i, nil
	}
	for {
		p.skipSpace()
		p.path[top].index = p.d.nodes[i].Len
		c, err := p.value(depth)
		if err != nil {
			return -1, err
		}
		p.link(i, &last, c)
		if more, err := p.another(']', "an array element"); err != nil {
			return -1, err
		} else if !more {
			break
		}
	}
	p.path = p.path[:top]
	p.d.nodes[i].End = int32(p.pos)
	return i, nil
}

// str scans a string starting at its opening quote, reporting whether it
// holds escapes. Invalid UTF-8 and lone surrogates are refused: encoding/json
// would replace them with U+FFFD and the request would carry text its sender
// never wrote.
func (p *parser) str() (bool, *SyntaxError) {
	p.pos++ // "
	esc := false
	for {
		p.pos = plainRun(p.src, p.pos)
		if p.pos >= len(p.src) {
			return false, p.fail("parse", "the body ends inside a string")
		}
		c := p.src[p.pos]
		switch {
		case c == '"':
			p.pos++
			return esc, nil
		case c == '\\':
			esc = true
			if err := p.escape(); err != nil {
				return false, err
			}
		case c < 0x20:
			return false, p.fail("parse", fmt.Sprintf("a string holds the control character 0x%02x at offset %d; escape it", c, p.pos))
		case c < utf8.RuneSelf:
			p.pos++
		default:
			r, size := utf8.DecodeRune(p.src[p.pos:])
			if r == utf8.RuneError && size <= 1 {
				return false, p.fail("encoding", fmt.Sprintf("is not valid UTF-8 (byte 0x%02x at offset %d)", c, p.pos))
			}
			p.pos += size
		}
	}
}

// plainRun returns where the run of plain bytes in a string starting at
// pos ends: printable ASCII but for '"' and '\\', the bytes the loop of str
// passes one by one with nothing else to do (most of a body). It reads
// eight bytes at a time and returns the first other byte's offset, or,
// when fewer than eight bytes are left, where it stopped short of them
// (TestPlainRunStopsAtWhatStrReads).
func plainRun(src []byte, pos int) int {
	const (
		ones  = 0x0101010101010101
		highs = 0x8080808080808080
	)
	for pos+8 <= len(src) {
		x := binary.LittleEndian.Uint64(src[pos:])
		// A byte's high bit is set when it is below 0x20, '"', '\\' or
		// 0x80 and above. Only a byte after such a byte can be set
		// without being one (a borrow): the lowest set is the first.
		q := x ^ ('"' * ones)
		b := x ^ ('\\' * ones)
		if m := ((x - 0x20*ones) | (q - ones) | (b - ones) | x) & highs; m != 0 {
			return pos + bits.TrailingZeros64(m)/8
		}
		pos += 8
	}
	return pos
}

func (p *parser) escape() *SyntaxError {
	if p.pos+1 >= len(p.src) {
		return p.fail("parse", "the body ends inside an escape sequence")
	}
	switch p.src[p.pos+1] {
	case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
		p.pos += 2
		return nil
	case 'u':
		r, ok := hex4(p.src, p.pos+2)
		if !ok {
			return p.fail("parse", fmt.Sprintf("invalid \\u escape at offset %d", p.pos))
		}
		switch {
		case utf16.IsSurrogate(r) && r < 0xdc00:
			// A high surrogate must be followed by a low one.
			if p.pos+11 < len(p.src) && p.src[p.pos+6] == '\\' && p.src[p.pos+7] == 'u' {
				if lo, ok := hex4(p.src, p.pos+8); ok && lo >= 0xdc00 && lo <= 0xdfff {
					p.pos += 12
					return nil
				}
			}
			return p.fail("encoding", fmt.Sprintf("is not valid Unicode (a lone UTF-16 surrogate \\u%04x at offset %d)", r, p.pos))
		case utf16.IsSurrogate(r):
			return p.fail("encoding", fmt.Sprintf("is not valid Unicode (a lone UTF-16 surrogate \\u%04x at offset %d)", r, p.pos))
		}
		p.pos += 6
		return nil
	}
	return p.fail("parse", fmt.Sprintf("invalid escape sequence at offset %d", p.pos))
}

func hex4(b []byte, at int) (rune, bool) {
	if at+4 > len(b) {
		return 0, false
	}
	var r rune
	for _, c := range b[at : at+4] {
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	return r, true
}

func (p *parser) number() *SyntaxError {
	start := p.pos
	if p.src[p.pos] == '-' {
		p.pos++
	}
	digits := func() int {
		n := 0
		for p.pos < len(p.src) && p.src[p.pos] >= '0' && p.src[p.pos] <= '9' {
			p.pos++
			n++
		}
		return n
	}
	switch {
	case p.pos < len(p.src) && p.src[p.pos] == '0':
		p.pos++
	case digits() == 0:
		return p.badNumber(start)
	}
	if p.pos < len(p.src) && p.src[p.pos] == '.' {
		p.pos++
		if digits() == 0 {
			return p.badNumber(start)
		}
	}
	if p.pos < len(p.src) && (p.src[p.pos] == 'e' || p.src[p.pos] == 'E') {
		p.pos++
		if p.pos < len(p.src) && (p.src[p.pos] == '+' || p.src[p.pos] == '-') {
			p.pos++
		}
		if digits() == 0 {
			return p.badNumber(start)
		}
	}
	return nil
}

func (p *parser) badNumber(start int) *SyntaxError {
	return p.fail("parse", fmt.Sprintf("invalid number at offset %d", start))
}

// unescape decodes the escapes of a string the parser accepted.
func unescape(raw []byte) string {
	var b strings.Builder
	b.Grow(len(raw))
	for i := 0; i < len(raw); {
		c := raw[i]
		if c != '\\' {
			b.WriteByte(c)
			i++
			continue
		}
		switch raw[i+1] {
		case '"', '\\', '/':
			b.WriteByte(raw[i+1])
		case 'b':
			b.WriteByte('\b')
		case 'f':
			b.WriteByte('\f')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 't':
			b.WriteByte('\t')
		case 'u':
			r, _ := hex4(raw, i+2)
			if utf16.IsSurrogate(r) {
				lo, _ := hex4(raw, i+8)
				b.WriteRune(utf16.DecodeRune(r, lo))
				i += 12
				continue
			}
			b.WriteRune(r)
			i += 6
			continue
		}
		i += 2
	}
	return b.String()
}
