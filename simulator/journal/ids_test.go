package journal_test

import (
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/pspsim/pspsim/simulator/clock"
	"github.com/pspsim/pspsim/simulator/journal"
	"github.com/pspsim/pspsim/simulator/pan"
)

// TestMaskIDsIsPanValue records events naming ids drawn from a few names
// (card number and secret fields among them) and values (card numbers,
// grouped or not, and ids), with and without data (only then are the
// previous event's ids looked at), from several goroutines at once: every
// event keeps each id masked as pan.Value masks it, whatever the events
// before it named.
func TestMaskIDsIsPanValue(t *testing.T) {
	names := []string{"cardNo", "pan", "cvv", "orderNo", "tradeNo", "x", "number"}
	values := []string{"A1", "4000123456000019", "4000 1234 5600 0019", "400012******0019", "5100123456000015", "T-1", "20261122100000305936", ""}
	j := journal.New(clock.NewSim(time.Unix(0, 0)), 1_000_000)
	const goroutines, each = 3, 3000
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(g), 17))
			var prev []journal.ID
			for i := range each {
				var list []journal.ID
				if rng.IntN(3) > 0 && prev != nil {
					// The previous event's ids, one of them changed or not.
					list = append(list, prev...)
					if k := rng.IntN(len(list) + 1); k < len(list) {
						list[k].Value = values[rng.IntN(len(values))]
					}
				} else {
					for range rng.IntN(5) {
						list = append(list, journal.ID{Name: names[rng.IntN(len(names))], Value: values[rng.IntN(len(values))]})
					}
				}
				prev = list
				var m map[string]string
				if rng.IntN(4) == 0 {
					m = map[string]string{names[rng.IntN(len(names))]: values[rng.IntN(len(values))]}
				}
				var fields []journal.Field
				if rng.IntN(5) > 0 {
					fields = []journal.Field{journal.Int("g", int64(g)), journal.Int("i", int64(i))}
				}
				want := map[string]string{}
				for k, v := range m {
					want[k] = v
				}
				for _, p := range list {
					want[p.Name] = p.Value
				}
				seq := j.RecordFields(journal.Event{System: "s", Kind: "k", IDs: m}, list, fields).Seq
				e := j.Query(journal.Filter{AfterSeq: seq - 1, BeforeSeq: seq + 1})
				if len(e) != 1 {
					t.Errorf("event %d: %d events", seq, len(e))
					return
				}
				if len(e[0].IDs) != len(want) {
					t.Errorf("event %d: ids %v, given %v", seq, e[0].IDs, want)
					return
				}
				for k, v := range want {
					if got := e[0].IDs[k]; got != pan.Value(k, v) {
						t.Errorf("event %d: %s=%q kept as %q, want %q", seq, k, v, got, pan.Value(k, v))
						return
					}
				}
			}
		}()
	}
	wg.Wait()
}
