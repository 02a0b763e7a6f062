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
