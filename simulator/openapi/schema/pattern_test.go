package schema

import (
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"
)

// morePatterns try what classRun must decline or get right: overlapping
// variable items, optional items before overlapping ones, lazy repeats,
// folded case, non-ASCII, negated classes, groups, alternations, bounds.
var morePatterns = []string{
	`^[a-z]*[0-9]?[a-z]$`, `^[a-z]{1,3}[0-9]$`, `^[a-z]+$`, `^[a-z]+?[0-9]$`, `^(?i)[a-z]{2}$`, `^(?i)ab$`, `^é[a-z]$`,
	`^[^a-z]{2}$`, `^(?:[a-z][0-9])$`, `^a|b$`, `^[a-z]{0}$`, `^[a-z]{2,}[0-9]*$`, `^$`, `[a-z]+`, `^[a-z]+`, `[a-z]+$`,
	`^abc$`, `^a*b*c*$`, `^[ab]*[bc]$`, `^\.[0-9]+$`, `^\x{41}+$`, `^[\x00-\x7f]*$`, `^.[a-z]$`, `^[a-z]?[a-z]$`,
	`^-?[0-9]+$`, `^[0-9]{2}:[0-9]{2}$`, `^[A-Z]{3}$`, `^[+-]?[0-9]{1,4}$`,
	// and what the dfa must decline or get right
	`^$|^a$`, `^(a|)$`, `^(?:ab|a)(c|bc)?$`, `^x(?:$|y)`, `^\S+$`, `^.*$`, `^(?s).$`, `^[^\n]+\z`, `^(a*)*$`, `^(?m)a$`, `^\ba`,
	`^[a-zé]+$`, `^[^é]+$`, `^(?i)k$`, `^(a|b|c|d){2,5}$`, `^[\x{80}-\x{10FFFF}]+$`, `^(x?)+y$`,
}

var patternAlphabet = []string{"a", "b", "c", "z", "A", "Z", "0", "1", "9", "-", "_", ".", ":", "+", "/", "=", "*", " ", "é", "µ", "\xff", "\x00", "\n", "ſ", "K"}

func randomInput(rng *rand.Rand) string {
	var b strings.Builder
	for range rng.IntN(12) {
		b.WriteString(patternAlphabet[rng.IntN(len(patternAlphabet))])
	}
	return b.String()
}

// TestClassRunIsRegexp: for every pattern of the specs and the ones above,
// pattern.Match answers as regexp does, on inputs drawn from an alphabet of
// the classes' bytes, neighbours, multi-byte runes and invalid UTF-8, and on
// inputs the pattern accepts (from regexp's own generator, below).
func TestClassRunIsRegexp(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	fast := 0
	for _, expr := range append(append([]string{}, specPatterns...), morePatterns...) {
		re := regexp.MustCompile(expr)
		p := newPattern(re)
		if p.run != nil || p.dfa != nil {
			fast++
		}
		inputs := []string{"", "PI0020241010151755224", "USD", "2026-12-06 10:00:00", strings.Repeat("a", 70), strings.Repeat("0", 64),
			"19.99", "0", "0.5", "01", "12", "13", "00", "https://x", "https://é", "http://a b", "ab", "abc", "abbc", "x", "xy", "y", "xxy", "aa"}
		for range 3000 {
			inputs = append(inputs, randomInput(rng))
		}
		for range 300 {
			inputs = append(inputs, matching(rng, p))
		}
		for _, in := range inputs {
			if got, want := p.Match([]byte(in)), re.MatchString(in); got != want {
				t.Fatalf("%s on %q: %v, regexp says %v (classRun: %v, dfa: %v)", expr, in, got, want, p.run != nil, p.dfa != nil)
			}
		}
	}
	if fast < 30 {
		t.Fatalf("only %d patterns take the fast path", fast)
	}
	// The card gateway's amounts and expiry months take the dfa.
	for _, expr := range []string{`^(0|[1-9][0-9]*)(\.[0-9]+)?$`, `^(0[1-9]|1[0-2])$`, `^https?://\S+$`} {
		if p := newPattern(regexp.MustCompile(expr)); p.run != nil || p.dfa == nil {
			t.Errorf("%s does not take the dfa", expr)
		}
	}
	for _, expr := range []string{`^[A-Za-z0-9][A-Za-z0-9_-]*$`, `^[A-Z]{3}$`, `^[0-9a-fA-F]{64}$`, `^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}$`} {
		if compileClassRun(expr) == nil {
			t.Errorf("%s does not take the fast path", expr)
		}
	}
	for _, expr := range []string{`^[a-z]*[0-9]?[a-z]$`, `^[ab]*[bc]$`, `^(?i)[a-z]{2}$`, `^[^a-z]{2}$`, `^a|b$`, `[a-z]+`, `^[a-z]?[a-z]$`} {
		if compileClassRun(expr) != nil {
			t.Errorf("%s takes the fast path, which cannot match it exactly", expr)
		}
	}
}

// matching builds a string p's classRun accepts (or a random one when p
// has none), so that matches are tested as well as refusals.
func matching(rng *rand.Rand, p *pattern) string {
	if p.run == nil {
		return randomInput(rng)
	}
	var b []byte
	for _, it := range p.run.items {
		n := it.min
		if it.max != it.min {
			hi := it.max
			if hi < 0 {
				hi = it.min + 5
			}
			n += rng.IntN(hi - it.min + 1)
		}
		var members []byte
		for c := byte(0); c < 128; c++ {
			if it.has(c) {
				members = append(members, c)
			}
		}
		for range n {
			b = append(b, members[rng.IntN(len(members))])
		}
	}
	if rng.IntN(4) == 0 && len(b) > 0 {
		b[rng.IntN(len(b))] = patternAlphabet[rng.IntN(len(patternAlphabet))][0] // a near miss
	}
	return string(b)
}

func FuzzClassRunIsRegexp(f *testing.F) {
	f.Add(uint8(0), "PI0020241010151755224")
	f.Add(uint8(3), "abc")
	all := append(append([]string{}, specPatterns...), morePatterns...)
	res := make([]*regexp.Regexp, len(all))
	ps := make([]*pattern, len(all))
	for i, expr := range all {
		res[i] = regexp.MustCompile(expr)
		ps[i] = newPattern(res[i])
	}
	f.Fuzz(func(t *testing.T, i uint8, in string) {
		k := int(i) % len(all)
		if got, want := ps[k].Match([]byte(in)), res[k].MatchString(in); got != want {
			t.Fatalf("%s on %q: %v, regexp says %v", all[k], in, got, want)
		}
	})
}

func BenchmarkPattern(b *testing.B) {
	re := regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]*$`)
	p, in := newPattern(re), []byte("PI0020241010151755224")
	b.Run("classRun", func(b *testing.B) {
		for b.Loop() {
			p.Match(in)
		}
	})
	b.Run("regexp", func(b *testing.B) {
		for b.Loop() {
			re.Match(in)
		}
	})
}

func BenchmarkPatternDFA(b *testing.B) {
	re := regexp.MustCompile(`^(0|[1-9][0-9]*)(\.[0-9]+)?$`)
	p, in := newPattern(re), []byte("19.99")
	b.Run("dfa", func(b *testing.B) {
		for b.Loop() {
			p.Match(in)
		}
	})
	b.Run("regexp", func(b *testing.B) {
		for b.Loop() {
			re.Match(in)
		}
	})
}
