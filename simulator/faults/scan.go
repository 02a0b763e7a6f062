package faults

import "path"

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
	w := jwalk{b: b, visit: visit}
	w.value(nil, nil, 0)
}

type jwalk struct {
	b     []byte
	i     int
	visit func(parent, key, val []byte, depth int) bool
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
	for j := start; j < len(w.b); j++ {
		switch w.b[j] {
		case '\\':
			j++
		case '"':
			w.i = j + 1
			return w.b[start:j], true
		}
	}
	return nil, false
}

// value reads one value sitting under key (inside the object named parent)
// and reports whether to go on.
func (w *jwalk) value(parent, key []byte, depth int) bool {
	w.ws()
	if w.i >= len(w.b) {
		return false
	}
	switch w.b[w.i] {
	case '{':
		if depth >= maxJSONDepth {
			return false
		}
		w.i++
		w.ws()
		if w.i < len(w.b) && w.b[w.i] == '}' {
			w.i++
			return true
		}
		for {
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
			if !w.value(key, k, depth+1) {
				return false
			}
			w.ws()
			if w.i >= len(w.b) {
				return false
			}
			switch w.b[w.i] {
			case ',':
				w.i++
			case '}':
				w.i++
				return true
			default:
				return false
			}
		}
	case '[':
		if depth >= maxJSONDepth {
			return false
		}
		w.i++
		w.ws()
		if w.i < len(w.b) && w.b[w.i] == ']' {
			w.i++
			return true
		}
		for {
			// Items sit under the array's own name: items[0].amount has parent "items".
			if !w.value(parent, key, depth) {
				return false
			}
			w.ws()
			if w.i >= len(w.b) {
				return false
			}
			switch w.b[w.i] {
			case ',':
				w.i++
			case ']':
				w.i++
				return true
			default:
				return false
			}
		}
	case '"':
		s, ok := w.str()
		if !ok {
			return false
		}
		return key == nil || w.visit(parent, key, s, depth)
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
		if w.i == start {
			return false
		}
		return key == nil || w.visit(parent, key, w.b[start:w.i], depth)
	}
}
