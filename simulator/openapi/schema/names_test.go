package schema

import (
	"math/rand/v2"
	"testing"
)

// TestQuickNamesAreTheMap: where the table answers, it answers what the
// map of the same names does; a key it does not answer for is left to the
// map, so that the two together are the map.
func TestQuickNamesAreTheMap(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	word := func() string {
		b := make([]byte, 1+rng.IntN(12))
		for i := range b {
			b[i] = "abcdeABCDE_-.0é"[rng.IntN(15)]
		}
		return string(b)
	}
	sets := [][]string{{"amount", "currency", "orderNo", "card", "cardNo", "cvc", "expiryMonth", "expiryYear", "deviceInfo", "browser"}, {}, {""}, {"a", "b"}}
	for range 200 {
		var names []string
		seen := map[string]bool{}
		for range rng.IntN(40) {
			if w := word(); !seen[w] {
				seen[w] = true
				names = append(names, w)
			}
		}
		sets = append(sets, names)
	}
	for _, names := range sets {
		m := map[string]int{}
		for i, n := range names {
			m[n] = i
		}
		q := newQuickNames(names)
		keys := append([]string{"", "amount ", "Amount"}, names...)
		for range 100 {
			keys = append(keys, word())
		}
		for _, k := range keys {
			want, wantOK := m[k]
			got, ok := q.find([]byte(k))
			if ok && (!wantOK || got != want) {
				t.Fatalf("%q in %q: table %d, map %d %v", k, names, got, want, wantOK)
			}
		}
	}
}
