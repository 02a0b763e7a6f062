package journal

import (
	"testing"
	"time"

	"github.com/pspsim/pspsim/simulator/clock"
	"github.com/pspsim/pspsim/simulator/pan"
)

// TestNoCardNumberIsKeptForTheNextEvent: the ids an event was given are
// kept for the next one (maskIDs) only when masking changed none of them,
// so that the journal holds no card number, even where nothing reads it.
func TestNoCardNumberIsKeptForTheNextEvent(t *testing.T) {
	j := New(clock.NewSim(time.Unix(0, 0)), 0)
	data := []Field{Int("n", 1)}
	j.RecordFields(Event{System: "s", Kind: "k"}, []ID{{Name: "orderNo", Value: "A1"}}, data)
	if len(j.lastRaw) != 1 || j.lastRaw[0].value != "A1" {
		t.Fatalf("ids kept for the next event: %v", j.lastRaw)
	}
	for _, ids := range [][]ID{
		{{Name: "orderNo", Value: "A1"}, {Name: "cardNo", Value: "4000123456000019"}},
		{{Name: "ref", Value: "card 4000 1234 5600 0019"}},
		{{Name: "cvv", Value: "123"}},
	} {
		j.RecordFields(Event{System: "s", Kind: "k"}, ids, data)
		for _, p := range j.lastRaw {
			if pan.Value(p.name, p.value) != p.value {
				t.Fatalf("after %v, kept for the next event: %v", ids, j.lastRaw)
			}
		}
	}
}
