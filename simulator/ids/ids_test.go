package ids_test

import (
	"regexp"
	"testing"

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
