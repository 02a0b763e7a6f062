package ids_test

import (
	"regexp"
	"testing"
	"time"

	"github.com/pspsim/pspsim/simulator/ids"
)

func draw(g *ids.Generator) []string {
	return []string{g.Digits(12), g.Alnum(10), g.UUID(), g.Hex(4), g.Prefixed("PI", 19)}
}

func TestSameSeedSameIDs(t *testing.T) {
	a, b := draw(ids.New(42)), draw(ids.New(42))
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("seed 42 gave %q then %q", a[i], b[i])
		}
	}
	c := draw(ids.New(43))
	if c[0] == a[0] && c[2] == a[2] {
		t.Fatal("seeds 42 and 43 gave the same ids")
	}
}

func TestDeriveIsIndependentOfParentDraws(t *testing.T) {
	g1 := ids.New(7)
	g1.Digits(30) // drawing from the parent must not shift the derived stream
	g2 := ids.New(7)
	f1, f2 := g1.Derive("faults"), g2.Derive("faults")
	for i := 0; i < 20; i++ {
		if f1.Float64() != f2.Float64() {
			t.Fatal("derived stream depends on parent draws")
		}
	}
	if ids.New(7).Derive("faults").Uint64() == ids.New(7).Derive("fakedata").Uint64() {
		t.Fatal("different labels gave the same stream")
	}
}

func TestFormats(t *testing.T) {
	g := ids.New(1)
	uuid := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	for i := 0; i < 100; i++ {
		if u := g.UUID(); !uuid.MatchString(u) {
			t.Fatalf("bad uuid %q", u)
		}
		if d := g.Digits(8); len(d) != 8 || d[0] == '0' {
			t.Fatalf("bad digits %q", d)
		}
	}
	if h := g.Hex(16); len(h) != 32 {
		t.Fatalf("hex %q", h)
	}
}

func TestStampedMovesItsStampOnlyWhenDrawsKeepClashing(t *testing.T) {
	at := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	g := ids.New(1)
	re := regexp.MustCompile(`^PI00(\d{14})[1-9]\d{4}$`)
	for _, c := range []struct {
		attempt int
		stamp   string
	}{{0, "20261122100000"}, {7, "20261122100000"}, {8, "20261122100001"}, {9, "20261122100004"}, {10, "20261122100009"}, {63, "20261122105216"}} {
		id := g.Stamped("PI00", at, 5, c.attempt)
		m := re.FindStringSubmatch(id)
		if m == nil || m[1] != c.stamp {
			t.Errorf("attempt %d: %q, want the stamp %s", c.attempt, id, c.stamp)
		}
	}
}

func TestEchoHandsOutEveryIDTwice(t *testing.T) {
	g := ids.NewEcho(3)
	for _, draw := range []func() string{
		func() string { return g.Digits(6) }, func() string { return g.Hex(8) },
		func() string { return g.UUID() }, func() string { return g.Alnum(5) },
	} {
		a, b, c, d := draw(), draw(), draw(), draw()
		if a != b || c != d || a == c {
			t.Fatalf("%q %q %q %q: want each id twice, then a new one", a, b, c, d)
		}
	}
	// Shapes echo apart: a 6-digit draw does not repeat a 5-digit one.
	if x, y := g.Digits(5), g.Digits(6); len(x) != 5 || len(y) != 6 {
		t.Fatalf("%q %q", x, y)
	}
	d := g.Derive("threeds")
	if a, b := d.UUID(), d.UUID(); a != b {
		t.Fatal("a derived generator of an echoing one does not echo")
	}
	if p := ids.New(3); p.Digits(6) == p.Digits(6) {
		t.Fatal("a plain generator echoes")
	}
}

// TestPrefixedUUIDIsPrefixAndUUID: PrefixedUUID draws what UUID would, in
// the same sequence, echoing generators included.
func TestPrefixedUUIDIsPrefixAndUUID(t *testing.T) {
	for _, mk := range []func() *ids.Generator{func() *ids.Generator { return ids.New(5) }, func() *ids.Generator { return ids.NewEcho(5) }} {
		a, b := mk(), mk()
		for i := range 50 {
			prefix := []string{"ds/", "acs/", ""}[i%3]
			want := prefix + a.UUID()
			if got := b.PrefixedUUID(prefix); got != want {
				t.Fatalf("draw %d: %q, want %q", i, got, want)
			}
			if i%4 == 0 {
				a.Digits(6) // other shapes in between
				b.Digits(6)
			}
		}
	}
	g := ids.New(1)
	if n := testing.AllocsPerRun(100, func() { g.PrefixedUUID("acs/") }); n != 1 {
		t.Fatalf("%.0f allocations, want 1", n)
	}
}
