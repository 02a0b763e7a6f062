package schema

import (
	"regexp"
	"regexp/syntax"
)

// pattern is a compiled pattern keyword. Most of the specs' patterns are an
// anchored run of ASCII classes (`^[A-Za-z0-9][A-Za-z0-9_-]*$`,
// `^[A-Z]{3}$`, `^[0-9a-fA-F]{64}$`): those are matched by classRun, a
// scan of the bytes, which gives regexp's answer (TestClassRunIsRegexp,
// FuzzClassRunIsRegexp) at a fraction of its cost — a path parameter's
// pattern was 7 % of a Genstore GET. Any other pattern is left to regexp.
type pattern struct {
	re  *regexp.Regexp
	run *classRun // nil: use dfa
	dfa *dfa      // nil: use re
}

func newPattern(re *regexp.Regexp) *pattern {
	p := &pattern{re: re, run: compileClassRun(re.String())}
	if p.run == nil {
		p.dfa = compileDFA(re.String())
	}
	return p
}

// Match reports whether b matches, as re.Match(b) does.
func (p *pattern) Match(b []byte) bool {
	switch {
	case p.run != nil:
		return p.run.match(b)
	case p.dfa != nil:
		return p.dfa.match(b)
	}
	return p.re.Match(b)
}

// classRun is `^item item ... item$` where each item is a set of ASCII
// bytes repeated min to max times (max < 0: unbounded). It is built only
// when a greedy scan is exact: an item of variable length shares no byte
// with any item after it, so that what it leaves can only be matched by
// what follows, and what it takes could not have been.
type classRun struct {
	items []runItem
}

type runItem struct {
	set      [2]uint64 // bytes 0–127
	min, max int
}

func (it *runItem) has(c byte) bool { return c < 128 && it.set[c>>6]&(1<<(c&63)) != 0 }

func (r *classRun) match(b []byte) bool {
	i := 0
	for k := range r.items {
		it := &r.items[k]
		n := 0
		for i < len(b) && (it.max < 0 || n < it.max) && it.has(b[i]) {
			i++
			n++
		}
		if n < it.min {
			return false
		}
	}
	return i == len(b)
}

// compileClassRun returns the classRun of expr, or nil when expr is not
// one (or not one a greedy scan matches exactly).
func compileClassRun(expr string) *classRun {
	re, err := syntax.Parse(expr, syntax.Perl)
	if err != nil || re.Op != syntax.OpConcat || len(re.Sub) < 3 {
		return nil
	}
	subs := re.Sub
	if subs[0].Op != syntax.OpBeginText || subs[len(subs)-1].Op != syntax.OpEndText {
		return nil
	}
	var run classRun
	for _, s := range subs[1 : len(subs)-1] {
		min, max := 1, 1
		switch s.Op {
		case syntax.OpStar:
			min, max, s = 0, -1, s.Sub[0]
		case syntax.OpPlus:
			min, max, s = 1, -1, s.Sub[0]
		case syntax.OpQuest:
			min, max, s = 0, 1, s.Sub[0]
		case syntax.OpRepeat:
			min, max, s = s.Min, s.Max, s.Sub[0]
		}
		if s.Flags&syntax.NonGreedy != 0 && min != max {
			return nil // a lazy repeat still matches the same strings, but keep to the plain case
		}
		switch s.Op {
		case syntax.OpLiteral:
			if s.Flags&syntax.FoldCase != 0 {
				return nil
			}
			if len(s.Rune) != 1 && (min != 1 || max != 1) {
				return nil
			}
			for _, c := range s.Rune {
				it := runItem{min: min, max: max}
				if !it.add(c, c) {
					return nil
				}
				run.items = append(run.items, it)
			}
		case syntax.OpCharClass:
			it := runItem{min: min, max: max}
			for i := 0; i+1 < len(s.Rune); i += 2 {
				if !it.add(s.Rune[i], s.Rune[i+1]) {
					return nil
				}
			}
			run.items = append(run.items, it)
		default:
			return nil
		}
	}
	// Greedy is exact only if no variable item shares a byte with any later one.
	for k := range run.items {
		it := &run.items[k]
		if it.min == it.max {
			continue
		}
		for l := k + 1; l < len(run.items); l++ {
			if it.set[0]&run.items[l].set[0] != 0 || it.set[1]&run.items[l].set[1] != 0 {
				return nil
			}
		}
	}
	return &run
}

// add puts the runes lo..hi in the set; false when one is not ASCII.
func (it *runItem) add(lo, hi rune) bool {
	if lo < 0 || hi >= 128 || lo > hi {
		return false
	}
	for c := lo; c <= hi; c++ {
		it.set[c>>6] |= 1 << (c & 63)
	}
	return true
}
