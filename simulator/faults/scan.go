package faults

import (
	"bytes"
	"path"
)

// pathMatch is path.Match; a variable so the intent (glob on URL paths) reads
// at the call site.
var pathMatch = path.Match

// maxJSONDepth bounds how deep walkJSON looks: the well-known fields sit at
// the top or one or two objects down, and a bound keeps a hostile body from
// recursing deeply.
const maxJSONDepth = 8

// walkJSON walks a JSON document without decoding it and calls visit for
// every object member whose value is a string, number or literal, with the
// name of the object's own member (parent, nil at the top), the member's name,
// its raw value (a string's contents without quotes, escapes left as they
// are; a number's text) and its depth (1 for the top object's members). It
// stops when visit returns false, below maxJSONDepth, or at a syntax error:
// the mount has validated the body already, and a fault engine must never
// fail a request because of what it could not read. It does not allocate, so
// that matching on amounts costs little on every request.
func walkJSON(b []byte, visit func(parent, key, val []byte, depth int) bool) {
	w := jwalk{b: b, fn: visit}
	w.value(nil, nil, 0)
}

// jwalk walks one document. The searches on the hot path (amount, card) are
// built in rather than passed as closures, so that reading a body's amount
// allocates nothing.
type jwalk struct {
	b    []byte
	i    int
	mode int // walkFunc, walkAmount, walkCard
	fn   func(parent, key, val []byte, depth int) bool

	best, bestDepth int    // walkAmount: the best field so far
	found           []byte // walkAmount: its value (inside b)
	card            string // walkCard: the card's digits
	// exhaustive walks the whole body even when the best field possible
	// is found (tests: the reference the early stop is held to).
	exhaustive bool
}

const (
	walkFunc = iota
	walkAmount
	walkCard
)

func (w *jwalk) visit(parent, key, val []byte, depth int) bool {
	switch w.mode {
	case walkAmount:
		i := rank(amountRank, key)
		if i < 0 && string(key) == "value" {
			if i = rank(amountRank, parent); i >= 0 {
				depth--
			}
		}
		if i >= 0 && (i < w.best || (i == w.best && depth < w.bestDepth)) {
			w.best, w.bestDepth, w.found = i, depth, val
		}
		// The most telling field at the top (depth 1, the least there is)
		// cannot be bettered, only tied, and a tie keeps the first: the rest
		// of the body need not be read (a card payment names its amount
		// second, and its body is a kilobyte).
		return w.exhaustive || w.best != 0 || w.bestDepth != 1
	case walkCard:
		if rank(cardField, key) < 0 && !(string(key) == "number" && rank(cardParent, parent) >= 0) {
			return true
		}
		var digits [19]byte
		n := 0
		for _, c := range val {
			switch {
			case c >= '0' && c <= '9':
				if n == len(digits) {
					return true // too long for a card number
				}
				digits[n] = c
				n++
			case c == ' ' || c == '-':
			default:
				return true // not a plain number (encrypted, masked): keep looking
			}
		}
		if n >= 12 {
			w.card = string(digits[:n])
			return false
		}
		return true
	}
	return w.fn(parent, key, val, depth)
}

func (w *jwalk) ws() {
	for w.i < len(w.b) {
		switch w.b[w.i] {
		case ' ', '\t', '\n', '\r':
			w.i++
		default:
			return
		}
	}
}

// str reads the string starting at w.i (on its quote) and returns its raw
// contents.
func (w *jwalk) str() ([]byte, bool) {
	start := w.i + 1
	from := start
	for {
		j := bytes.IndexByte(w.b[from:], '"')
		if j < 0 {
			return nil, false
		}
		j += from
		// A quote preceded by an odd number of backslashes is escaped.
		bs := 0
		for k := j - 1; k >= start && w.b[k] == '\\'; k-- {
			bs++
		}
		if bs%2 == 0 {
			w.i = j + 1
			return w.b[start:j], true
		}
		from = j + 1
	}
}

// frame is an open object or array.
type frame struct {
	array       bool
	key, parent []byte // the container's own name and its parent's
	depth       int    // the container's depth (an object's members are one deeper)
}

// value walks the document iteratively, with a fixed stack of open
// containers: no recursion, so the walker stays on the caller's stack and a
// deeply nested body cannot grow it.
func (w *jwalk) value(parent, key []byte, depth int) {
	var stack [maxJSONDepth]frame
	sp := 0
	for {
		// Read one value sitting under key (in the object named parent).
		w.ws()
		if w.i >= len(w.b) {
			return
		}
		switch c := w.b[w.i]; c {
		case '{', '[':
			if sp == len(stack) {
				return
			}
			w.i++
			stack[sp] = frame{array: c == '[', key: key, parent: parent, depth: depth}
			sp++
			w.ws()
			if w.i < len(w.b) && (w.b[w.i] == '}' || w.b[w.i] == ']') {
				w.i++
				sp--
				break // an empty container: on to what follows it
			}
			if c == '[' {
				continue // the first item sits under the array's own name
			}
			if !w.member(&parent, &key, &depth, stack[sp-1]) {
				return
			}
			continue
		case '"':
			s, ok := w.str()
			if !ok || (key != nil && !w.visit(parent, key, s, depth)) {
				return
			}
		default:
			start := w.i
		scalar:
			for w.i < len(w.b) {
				switch w.b[w.i] {
				case ',', '}', ']', ' ', '\t', '\n', '\r':
					break scalar
				}
				w.i++
			}
			if w.i == start || (key != nil && !w.visit(parent, key, w.b[start:w.i], depth)) {
				return
			}
		}
		// After a value: the next member or item, or the end of containers.
		for {
			if sp == 0 {
				return
			}
			w.ws()
			if w.i >= len(w.b) {
				return
			}
			top := stack[sp-1]
			c := w.b[w.i]
			w.i++
			if c == ',' {
				if top.array {
					parent, key, depth = top.parent, top.key, top.depth
				} else if !w.member(&parent, &key, &depth, top) {
					return
				}
				break
			}
			if (top.array && c == ']') || (!top.array && c == '}') {
				sp--
				continue
			}
			return
		}
	}
}

// member reads an object member's name and colon; the member's value then
// sits under that name, inside the object.
func (w *jwalk) member(parent, key *[]byte, depth *int, obj frame) bool {
	w.ws()
	if w.i >= len(w.b) || w.b[w.i] != '"' {
		return false
	}
	k, ok := w.str()
	if !ok {
		return false
	}
	w.ws()
	if w.i >= len(w.b) || w.b[w.i] != ':' {
		return false
	}
	w.i++
	*parent, *key, *depth = obj.key, k, obj.depth+1
	return true
}
