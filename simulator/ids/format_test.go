package ids

import (
	"encoding/hex"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestUUIDFormatIsTheDashedHex holds formatUUID to the formula it replaced.
func TestUUIDFormatIsTheDashedHex(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for range 10_000 {
		var b [16]byte
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		h := hex.EncodeToString(b[:])
		if got, want := formatUUID(&b), h[0:8]+"-"+h[8:12]+"-"+h[12:16]+"-"+h[16:20]+"-"+h[20:]; got != want {
			t.Fatalf("formatUUID(%x) = %s, want %s", b, got, want)
		}
	}
}

// digitsBefore is Digits as it was written before its fast path: the
// reference it is held to.
func digitsBefore(g *Generator, n int) string {
	return g.draw("digits/"+strconv.Itoa(n), func() string {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte('0' + g.r.IntN(10))
		}
		if n > 0 && b[0] == '0' {
			b[0] = byte('1' + g.r.IntN(9))
		}
		return string(b)
	})
}

// TestDigitsAndStampedDrawAsBefore: Digits and Stamped give, draw after
// draw, what they gave before they were written into one buffer.
func TestDigitsAndStampedDrawAsBefore(t *testing.T) {
	a, b := New(7), New(7)
	at := time.Date(2026, 12, 6, 9, 30, 0, 0, time.FixedZone("X", 3600))
	for i := range 2000 {
		n := i % 70
		if got, want := a.Digits(n), digitsBefore(b, n); got != want {
			t.Fatalf("Digits(%d): %q, want %q", n, got, want)
		}
		prefix := []string{"", "T", "PI00", strings.Repeat("p", 80)}[i%4]
		attempt := i % 12
		stamp := at
		if k := attempt - stampedAtFirst + 1; k > 0 {
			stamp = stamp.Add(time.Duration(k*k) * time.Second)
		}
		want := prefix + stamp.UTC().Format(StampLayout) + digitsBefore(b, n)
		if got := a.Stamped(prefix, at, n, attempt); got != want {
			t.Fatalf("Stamped(%q, %d, %d): %q, want %q", prefix, n, attempt, got, want)
		}
	}
	g := New(1)
	if n := testing.AllocsPerRun(100, func() { g.Stamped("", at, 6, 0) }); n != 1 {
		t.Fatalf("Stamped: %.0f allocations, want 1", n)
	}
	if n := testing.AllocsPerRun(100, func() { g.Digits(6) }); n != 1 {
		t.Fatalf("Digits: %.0f allocations, want 1", n)
	}
}
