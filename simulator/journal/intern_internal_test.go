package journal

import (
	"math/rand/v2"
	"strconv"
	"testing"
	"time"
	"unsafe"

	"github.com/pspsim/pspsim/simulator/clock"
)

// TestInternStringKeepsOneCopy: whichever order kinds come in, and however
// many (more than the ring of recent ones holds), every event that names a
// kind holds the same copy of it, the first one seen — until the journal is
// cleared, after which the next one seen is kept.
func TestInternStringKeepsOneCopy(t *testing.T) {
	j := New(clock.NewSim(time.Unix(0, 0)), 0)
	rng := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{1, 3, 8, 9, 40} {
		j.mu.Lock()
		j.clear()
		first := map[string]*byte{}
		for range 2000 {
			// A new string each time, equal to one of n kinds.
			s := "payment." + strconv.Itoa(rng.IntN(n))
			got := j.internString(s)
			if got != s {
				t.Fatalf("%d kinds: internString(%q) = %q", n, s, got)
			}
			if p, ok := first[s]; !ok {
				first[s] = unsafe.StringData(got)
			} else if unsafe.StringData(got) != p {
				t.Fatalf("%d kinds: %q interned as a second copy", n, s)
			}
		}
		j.mu.Unlock()
	}
}
