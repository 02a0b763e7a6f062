package schema

import (
	"regexp/syntax"
	"unicode/utf8"
)

// dfa matches a pattern classRun cannot take — alternations, optional
// groups: `^(0|[1-9][0-9]*)(\.[0-9]+)?$` (every amount of the card
// gateway), `^(0[1-9]|1[0-2])$` — with a table of states built once from
// regexp's own program, one lookup per byte, instead of regexp's
// backtracking matcher (most of a card payment's pattern checks). It gives
// regexp's answer (TestClassRunIsRegexp, FuzzClassRunIsRegexp cover it
// with classRun) for the programs it accepts: anchored at the start, at
// most 63 instructions, matching `^` and `$` of the whole text only, no
// case folding, and classes that hold either every rune above ASCII or
// none (so that any such rune is one symbol, nonASCII). It reads the text
// as regexp does: a rune at a time, an invalid byte being one rune
// (U+FFFD, above ASCII).
type dfa struct {
	next       [][nonASCII + 1]int16 // state × symbol → state, -1: no match possible
	matchNow   []bool                // the program has matched: whatever follows
	matchAtEnd []bool                // it matches if the text ends here
}

const (
	nonASCII  = 128 // the symbol of every rune above ASCII
	maxStates = 256
)

// compileDFA returns expr's dfa, or nil when its program is not one the
// dfa models.
func compileDFA(expr string) *dfa {
	re, err := syntax.Parse(expr, syntax.Perl)
	if err != nil {
		return nil
	}
	prog, err := syntax.Compile(re.Simplify())
	if err != nil || len(prog.Inst) > 63 || prog.StartCond()&syntax.EmptyBeginText == 0 {
		return nil
	}
	for i := range prog.Inst {
		in := &prog.Inst[i]
		switch in.Op {
		case syntax.InstEmptyWidth:
			if syntax.EmptyOp(in.Arg)&^(syntax.EmptyBeginText|syntax.EmptyEndText) != 0 {
				return nil // lines and word boundaries
			}
		case syntax.InstRune, syntax.InstRune1:
			if syntax.Flags(in.Arg)&syntax.FoldCase != 0 || !uniformAboveASCII(in.Rune) {
				return nil
			}
		}
	}
	b := dfaBuilder{prog: prog, index: map[uint64]int16{}}
	b.state(b.closure(1<<uint(prog.Start), true), true)
	for k := 0; k < len(b.states); k++ {
		s := b.states[k]
		var row [nonASCII + 1]int16
		for c := 0; c <= nonASCII; c++ {
			var to uint64
			for pc := 0; pc < len(prog.Inst); pc++ {
				if s&(1<<uint(pc)) != 0 && b.consumes(pc, c) {
					to |= b.closure(1<<uint(prog.Inst[pc].Out), false)
				}
			}
			if to == 0 {
				row[c] = -1
				continue
			}
			n := b.state(to, false)
			if n < 0 {
				return nil // too many states
			}
			row[c] = n
		}
		b.d.next = append(b.d.next, row)
	}
	return &b.d
}

// uniformAboveASCII reports whether a class (pairs of rune ranges) holds
// every rune above ASCII or none.
func uniformAboveASCII(ranges []rune) bool {
	if len(ranges) == 1 { // InstRune1
		return ranges[0] < utf8.RuneSelf
	}
	covered := 0
	for i := 0; i+1 < len(ranges); i += 2 {
		lo, hi := max(ranges[i], utf8.RuneSelf), ranges[i+1]
		if lo <= hi {
			covered += int(hi - lo + 1)
		}
	}
	return covered == 0 || covered == utf8.MaxRune-utf8.RuneSelf+1
}

type dfaBuilder struct {
	prog   *syntax.Prog
	states []uint64 // each a set of instructions, closed over the empty moves
	index  map[uint64]int16
	d      dfa
}

// state returns the number of the state of set s (the start state when
// start), adding it; -1 when there would be too many. The start state is
// never shared: at the start of the text, `^` holds.
func (b *dfaBuilder) state(s uint64, start bool) int16 {
	key := s
	if start {
		key |= startBit
	}
	if n, ok := b.index[key]; ok {
		return n
	}
	if len(b.states) == maxStates {
		return -1
	}
	n := int16(len(b.states))
	b.index[key] = n
	b.states = append(b.states, s)
	b.d.matchNow = append(b.d.matchNow, s&b.matches() != 0)
	b.d.matchAtEnd = append(b.d.matchAtEnd, b.close(s, start, true)&b.matches() != 0)
	return n
}

// startBit marks the start state's key (programs have at most 63
// instructions).
const startBit = 1 << 63

// matches is the set of the program's match instructions.
func (b *dfaBuilder) matches() uint64 {
	var m uint64
	for pc := range b.prog.Inst {
		if b.prog.Inst[pc].Op == syntax.InstMatch {
			m |= 1 << uint(pc)
		}
	}
	return m
}

// closure adds to s what the empty moves reach from it, at the start of
// the text or not; `$` is not crossed (close with atEnd crosses it, for
// matchAtEnd).
func (b *dfaBuilder) closure(s uint64, atStart bool) uint64 {
	return b.close(s, atStart, false)
}

func (b *dfaBuilder) close(s uint64, atStart, atEnd bool) uint64 {
	stack := make([]int, 0, 64)
	for pc := 0; pc < len(b.prog.Inst); pc++ {
		if s&(1<<uint(pc)) != 0 {
			stack = append(stack, pc)
		}
	}
	add := func(pc uint32) {
		if s&(1<<uint(pc)) == 0 {
			s |= 1 << uint(pc)
			stack = append(stack, int(pc))
		}
	}
	for len(stack) > 0 {
		pc := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		in := &b.prog.Inst[pc]
		switch in.Op {
		case syntax.InstAlt, syntax.InstAltMatch:
			add(in.Out)
			add(in.Arg)
		case syntax.InstCapture, syntax.InstNop:
			add(in.Out)
		case syntax.InstEmptyWidth:
			op := syntax.EmptyOp(in.Arg)
			if (op&syntax.EmptyBeginText == 0 || atStart) && (op&syntax.EmptyEndText == 0 || atEnd) {
				add(in.Out)
			}
		}
	}
	return s
}

// consumes reports whether instruction pc takes symbol c.
func (b *dfaBuilder) consumes(pc, c int) bool {
	in := &b.prog.Inst[pc]
	r := rune(c)
	if c == nonASCII {
		r = utf8.RuneSelf // any rune above ASCII stands for all of them
	}
	switch in.Op {
	case syntax.InstRune, syntax.InstRune1:
		return in.MatchRune(r)
	case syntax.InstRuneAny:
		return true
	case syntax.InstRuneAnyNotNL:
		return r != '\n'
	}
	return false
}

// match reports whether b matches, as regexp's Match does.
func (d *dfa) match(b []byte) bool {
	s := int16(0)
	for i := 0; i < len(b); {
		if d.matchNow[s] {
			return true
		}
		c := int(b[i])
		if c < utf8.RuneSelf {
			i++
		} else {
			_, w := utf8.DecodeRune(b[i:])
			i += w
			c = nonASCII
		}
		if s = d.next[s][c]; s < 0 {
			return false
		}
	}
	return d.matchAtEnd[s]
}
