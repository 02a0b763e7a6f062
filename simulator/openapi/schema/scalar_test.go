package schema

import (
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/getkin/kin-openapi/openapi3"
)

// validateScalarFresh is ValidateScalar as it was before its documents were
// recycled: a new document each call.
func validateScalarFresh(s *Schema, k Kind, text string, out []Violation) []Violation {
	var d Doc
	if k == String {
		d.src = append(append(append(make([]byte, 0, len(text)+2), '"'), text...), '"')
	} else {
		d.src = []byte(text)
	}
	d.nodes = []Node{{Kind: k, End: int32(len(d.src)), KeyStart: -1, KeyEnd: -1, First: -1, Next: -1}}
	return s.Validate(&d, out)
}

// TestValidateScalarRecycledIsFresh: the recycled document gives the same
// violations as a fresh one, and the violations of one call are not changed
// by the calls after it (nothing returned refers to the document).
func TestValidateScalarRecycledIsFresh(t *testing.T) {
	min, max := uint64(2), uint64(12)
	lo, hi := 1.0, 1000.0
	schemas := map[Kind]*openapi3.Schema{
		String: {Type: &openapi3.Types{"string"}, Pattern: `^PI[0-9]{3,}$`, MinLength: min, MaxLength: &max,
			Enum: nil},
		Number: {Type: &openapi3.Types{"number"}, Min: &lo, Max: &hi},
		Bool:   {Type: &openapi3.Types{"boolean"}},
	}
	texts := map[Kind][]string{
		String: {"", "PI", "PI123", "PI0020241010151755224", "pi123", "PI12x", "é中", strings.Repeat("Z", 5000), `"quoted"`},
		Number: {"0", "1", "1000", "1000.5", "-3", "1e3", "2.5"},
		Bool:   {"true", "false"},
	}
	compiled := map[Kind]*Schema{}
	for k, s := range schemas {
		c, err := Compile(s, nil)
		if err != nil {
			t.Fatal(err)
		}
		compiled[k] = c
	}
	type kept struct {
		got, want []Violation
	}
	var all []kept
	rng := rand.New(rand.NewPCG(7, 8))
	kinds := []Kind{String, Number, Bool}
	for range 3000 {
		k := kinds[rng.IntN(len(kinds))]
		text := texts[k][rng.IntN(len(texts[k]))]
		got := compiled[k].ValidateScalar(k, text, nil)
		want := validateScalarFresh(compiled[k], k, text, nil)
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%q: recycled %+v, fresh %+v", text, got, want)
		}
		all = append(all, kept{got, want})
	}
	refused := 0
	for _, k := range all {
		if len(k.got) > 0 {
			refused++
		}
	}
	if refused < 500 {
		t.Fatalf("only %d of the calls were refused: the test proves little", refused)
	}
	for i, k := range all {
		if !reflect.DeepEqual(k.got, k.want) {
			t.Fatalf("call %d's violations changed after later calls: %+v, want %+v", i, k.got, k.want)
		}
	}
}

// TestValidateScalarRecyclesItsDocument: a compiled schema checks a valid
// parameter without allocating (its compiler's pool, which replaced a
// package-level one, recycles the one-node document); a schema without a
// pool still answers.
func TestValidateScalarRecyclesItsDocument(t *testing.T) {
	max := uint64(40)
	s, err := NewCompiler(nil).Compile(&openapi3.Schema{Type: &openapi3.Types{"string"}, Pattern: `^PI[0-9]{3,}$`, MaxLength: &max})
	if err != nil {
		t.Fatal(err)
	}
	if s.scalars == nil {
		t.Fatal("a compiled schema has no pool")
	}
	if !raceOn {
		if n := testing.AllocsPerRun(100, func() { s.ValidateString("PI0020241010151755224", nil) }); n != 0 {
			t.Errorf("ValidateString allocates %v times", n)
		}
	}
	bare := *s
	bare.scalars = nil
	if got := bare.ValidateString("pi1", nil); len(got) != 1 || got[0].Rule != "pattern" {
		t.Errorf("without a pool: %+v", got)
	}
}

// TestUTF16LenIsRuneCount: the word-at-a-time count of an ASCII string is
// the rune count, wherever a non-ASCII character falls (or none does).
func TestUTF16LenIsRuneCount(t *testing.T) {
	for _, s := range []string{"", "a", "1234567", "12345678", "123456789", "0123456789abcdefX",
		"é", "1234567é", "12345678é", "é12345678", "0123456789abcdeé", "0123456789abcdefé", "€uro sign: 12345678", "😀 in the middle of a long ASCII string"} {
		if got, want := utf16Len([]byte(s)), int64(utf8.RuneCountInString(s)); got != want {
			t.Errorf("utf16Len(%q) = %d, want %d", s, got, want)
		}
	}
}
