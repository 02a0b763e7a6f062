package pan

import (
	"math/rand/v2"
	"strings"
	"testing"
)

// scrubSlow is Scrub without its fast path: every text written through
// eachRun, masked or not.
func scrubSlow(s string) string {
	var out strings.Builder
	eachRun(s, &out)
	return out.String()
}

var scrubSamples = []string{
	"", "x", "card 4000123456000019 declined", "card 4000 1234 5600 0019 declined", "4000-1234-5600-0019.",
	"ts 1709106082819", "order 20220828000002", "trans 5021000010210602000003", "declined card 4571736012345674 1230 7319",
	"ref 12 4000 1234 5600 0019 exp 12-30", "40000456000019 1", "4000123456000019-5100123456000015", "visa 4222 2222 22222 ok",
	"twelve 4222-2222-2222", "x1 4000123456000019", "1 - 4000 1234 5600 0019", "a-4000123456000019", "12 34 56 78 90 12 34",
	"payment 20261122100000305936: new → CAPTURED", "2d4aa6de-f700-4655-bfd5-1fe4fe647bae",
	"0019 4000 1234 5600 0019 4000", "4000123456000019x4000123456000019", " 4000123456000019 ", "--4000--1234--5600--0019",
}

// TestScrubIsItsSlowPath holds Scrub, which skips the texts without a long
// run of digits and looks into runs of 13 digits or more only, to writing
// every text through eachRun: the samples, then random texts of digits,
// separators and letters.
func TestScrubIsItsSlowPath(t *testing.T) {
	for _, s := range scrubSamples {
		if got, want := Scrub(s), scrubSlow(s); got != want {
			t.Fatalf("Scrub(%q) = %q, the slow path gives %q", s, got, want)
		}
	}
	rng := rand.New(rand.NewPCG(3, 4))
	const alphabet = "0123456789012345678901234567894 - x*"
	pans := []string{"4000123456000019", "5100123456000015", "4222222222222", "4571736012345674"}
	for range 200_000 {
		var b strings.Builder
		for range rng.IntN(60) {
			if rng.IntN(20) == 0 {
				b.WriteString(pans[rng.IntN(len(pans))])
				continue
			}
			b.WriteByte(alphabet[rng.IntN(len(alphabet))])
		}
		s := b.String()
		if got, want := Scrub(s), scrubSlow(s); got != want {
			t.Fatalf("Scrub(%q) = %q, the slow path gives %q", s, got, want)
		}
	}
}

func FuzzScrubIsItsSlowPath(f *testing.F) {
	for _, s := range scrubSamples {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := Scrub(s), scrubSlow(s); got != want {
			t.Fatalf("Scrub(%q) = %q, the slow path gives %q", s, got, want)
		}
	})
}

// maskAsConcatenated is Mask as it was written before it wrote into one
// allocation.
func maskAsConcatenated(pan string) string {
	n := len(pan)
	switch {
	case n >= 13:
		return pan[:6] + strings.Repeat("*", n-10) + pan[n-4:]
	case n > 4:
		return strings.Repeat("*", n-4) + pan[n-4:]
	default:
		return strings.Repeat("*", n)
	}
}

// onlyDigitsAsBuilt is onlyDigits as it was before it returned a text of
// digits as it is.
func onlyDigitsAsBuilt(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if isDigit(s[i]) {
			b.WriteByte(s[i])
		} else if s[i] != ' ' && s[i] != '-' {
			return ""
		}
	}
	return b.String()
}

func TestMaskAndOnlyDigitsAreAsBefore(t *testing.T) {
	const digits = "40001234560000190123456789"
	for n := range len(digits) + 1 {
		if got, want := Mask(digits[:n]), maskAsConcatenated(digits[:n]); got != want {
			t.Errorf("Mask(%q) = %q, want %q", digits[:n], got, want)
		}
	}
	for _, s := range []string{"", "4000123456000019", "4000 1234 5600 0019", "4000-1234-5600-0019", "-4000", "4000 ", "12a4", "a", " ", "x4000123456000019", "4000123456000019x"} {
		if got, want := onlyDigits(s), onlyDigitsAsBuilt(s); got != want {
			t.Errorf("onlyDigits(%q) = %q, want %q", s, got, want)
		}
	}
}

func FuzzMaskAndOnlyDigitsAreAsBefore(f *testing.F) {
	f.Add("4000123456000019")
	f.Add("4000 1234-5600 0019")
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := Mask(s), maskAsConcatenated(s); got != want {
			t.Fatalf("Mask(%q) = %q, want %q", s, got, want)
		}
		if got, want := onlyDigits(s), onlyDigitsAsBuilt(s); got != want {
			t.Fatalf("onlyDigits(%q) = %q, want %q", s, got, want)
		}
	})
}
