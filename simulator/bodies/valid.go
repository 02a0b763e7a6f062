package bodies

// maxDepth is encoding/json's nesting limit: json.Valid refuses deeper.
const maxDepth = 10000

// validJSON reports what json.Valid(s) reports — s is exactly one JSON
// value with surrounding whitespace, nested at most maxDepth deep — in one
// direct pass: encoding/json's scanner steps through a state function per
// byte, and checking the request and the answer of every journaled call
// with it was an eighth of an inquiry's cost. FuzzValidJSONIsJSONValid holds
// the two to the same answers.
func validJSON(s []byte) bool {
	v := validator{s: s}
	v.space()
	if !v.value(0) {
		return false
	}
	v.space()
	return v.i == len(v.s)
}

type validator struct {
	s []byte
	i int
}

func (v *validator) space() {
	for v.i < len(v.s) {
		switch v.s[v.i] {
		case ' ', '\t', '\n', '\r':
			v.i++
		default:
			return
		}
	}
}

func (v *validator) value(depth int) bool {
	if v.i >= len(v.s) {
		return false
	}
	switch c := v.s[v.i]; {
	case c == '{' || c == '[':
		if depth+1 > maxDepth {
			return false
		}
		return v.container(c, depth+1)
	case c == '"':
		return v.str()
	case c == 't':
		return v.lit("true")
	case c == 'f':
		return v.lit("false")
	case c == 'n':
		return v.lit("null")
	case c == '-' || isDigit(c):
		return v.number()
	}
	return false
}

func (v *validator) container(open byte, depth int) bool {
	closing := byte('}')
	if open == '[' {
		closing = ']'
	}
	v.i++ // the opening bracket
	v.space()
	if v.i < len(v.s) && v.s[v.i] == closing {
		v.i++
		return true
	}
	for {
		if open == '{' {
			if v.i >= len(v.s) || v.s[v.i] != '"' || !v.str() {
				return false
			}
			v.space()
			if v.i >= len(v.s) || v.s[v.i] != ':' {
				return false
			}
			v.i++
			v.space()
		}
		if !v.value(depth) {
			return false
		}
		v.space()
		if v.i >= len(v.s) {
			return false
		}
		switch v.s[v.i] {
		case ',':
			v.i++
			v.space()
		case closing:
			v.i++
			return true
		default:
			return false
		}
	}
}

func (v *validator) str() bool {
	v.i++ // the opening quote
	for v.i < len(v.s) {
		c := v.s[v.i]
		switch {
		case c == '"':
			v.i++
			return true
		case c < 0x20:
			return false
		case c == '\\':
			v.i++
			if v.i >= len(v.s) {
				return false
			}
			switch v.s[v.i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				v.i++
			case 'u':
				if v.i+4 >= len(v.s) {
					return false
				}
				for _, h := range v.s[v.i+1 : v.i+5] {
					if !isHex(h) {
						return false
					}
				}
				v.i += 5
			default:
				return false
			}
		default:
			v.i++
		}
	}
	return false
}

func (v *validator) lit(word string) bool {
	if len(v.s)-v.i < len(word) || string(v.s[v.i:v.i+len(word)]) != word {
		return false
	}
	v.i += len(word)
	return true
}

// number reads -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?.
func (v *validator) number() bool {
	if v.s[v.i] == '-' {
		v.i++
	}
	switch {
	case v.i < len(v.s) && v.s[v.i] == '0':
		v.i++
	case v.i < len(v.s) && isDigit(v.s[v.i]):
		v.digits()
	default:
		return false
	}
	if v.i < len(v.s) && v.s[v.i] == '.' {
		v.i++
		if v.i >= len(v.s) || !isDigit(v.s[v.i]) {
			return false
		}
		v.digits()
	}
	if v.i < len(v.s) && (v.s[v.i] == 'e' || v.s[v.i] == 'E') {
		v.i++
		if v.i < len(v.s) && (v.s[v.i] == '+' || v.s[v.i] == '-') {
			v.i++
		}
		if v.i >= len(v.s) || !isDigit(v.s[v.i]) {
			return false
		}
		v.digits()
	}
	return true
}

func (v *validator) digits() {
	for v.i < len(v.s) && isDigit(v.s[v.i]) {
		v.i++
	}
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isHex(c byte) bool { return isDigit(c) || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' }
