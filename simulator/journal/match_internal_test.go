package journal

import (
	"math/rand/v2"
	"testing"
	"time"
)

// matchable is the event without its data, enough for Filter.Match: what
// the subscribers were matched on before matchEvent.
func (r *record) matchable() Event {
	e := Event{Seq: r.seq, Time: r.time, System: r.system, Kind: r.kind}
	if len(r.ids) > 0 {
		e.IDs = make(map[string]string, len(r.ids))
		for _, p := range r.ids {
			e.IDs[p.name] = p.value
		}
	}
	return e
}

// TestMatchEventIsMatch holds matchEvent to Filter.Match of the event, on
// random records and filters (ids asked for "", absent, other values).
func TestMatchEventIsMatch(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	names := []string{"orderNo", "tradeNo", "merchant"}
	values := []string{"", "A1", "T1", "M1"}
	systems := []string{"", "vmgateway", "threeds"}
	kinds := []string{"", "payment", "payment.created", "payment.created.x", "api.request", "pay"}
	t0 := time.Unix(1000, 0)
	for range 100_000 {
		r := record{seq: rng.Int64N(10), time: t0.Add(time.Duration(rng.IntN(5)) * time.Second),
			system: systems[1+rng.IntN(2)], kind: kinds[1+rng.IntN(len(kinds)-1)]}
		for _, n := range names {
			if rng.IntN(2) == 0 {
				r.ids = append(r.ids, idPair{n, values[rng.IntN(len(values))]})
			}
		}
		f := Filter{System: systems[rng.IntN(len(systems))], Kind: kinds[rng.IntN(len(kinds))], AfterSeq: rng.Int64N(4), BeforeSeq: rng.Int64N(12)}
		if rng.IntN(3) == 0 {
			f.AnyID = values[rng.IntN(len(values))]
		}
		if rng.IntN(3) == 0 {
			f.Since = t0.Add(time.Duration(rng.IntN(5)) * time.Second)
		}
		if rng.IntN(2) == 0 {
			f.IDs = map[string]string{}
			for range 1 + rng.IntN(2) {
				f.IDs[names[rng.IntN(len(names))]] = values[rng.IntN(len(values))]
			}
		}
		if got, want := r.matchEvent(&f), f.Match(r.matchable()); got != want {
			t.Fatalf("matchEvent(%+v) of %+v = %v, Match gives %v", f, r, got, want)
		}
	}
}
