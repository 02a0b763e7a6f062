package journal_test

import (
	"strings"
	"testing"
	"time"

	"github.com/pspsim/pspsim/simulator/clock"
	"github.com/pspsim/pspsim/simulator/journal"
)

func TestRecordRedactsAndStamps(t *testing.T) {
	c := clock.NewSim(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	j := journal.New(c, 0)
	e := j.Record(journal.Event{
		System: "genstore", Kind: "payment.request",
		IDs:     map[string]string{"paymentId": "PI1"},
		Message: "sent card 4000123456000019",
		Data:    map[string]any{"card": map[string]any{"number": "5100123456000015", "cvv": "123"}},
	})
	if e.Seq != 1 || !e.Time.Equal(c.Now()) {
		t.Fatalf("stamp %d %v", e.Seq, e.Time)
	}
	all := j.Query(journal.Filter{})
	got := all[0]
	if strings.Contains(got.Message, "4000123456000019") || !strings.Contains(got.Message, "400012******0019") {
		t.Fatalf("message %q", got.Message)
	}
	card := got.Data["card"].(map[string]any)
	if card["number"] != "510012******0015" || card["cvv"] != "***" {
		t.Fatalf("data %v", got.Data)
	}
}

func TestQueryFilters(t *testing.T) {
	j := journal.New(clock.NewSim(time.Unix(0, 0)), 0)
	j.Record(journal.Event{System: "genstore", Kind: "delivery.attempt", IDs: map[string]string{"shopId": "s1", "paymentId": "p1"}})
	j.Record(journal.Event{System: "genstore", Kind: "delivery", IDs: map[string]string{"shopId": "s2", "paymentId": "p2"}})
	j.Record(journal.Event{System: "genstore", Kind: "deliveryx", IDs: map[string]string{"shopId": "s1"}})
	j.Record(journal.Event{System: "codepay", Kind: "order.created", IDs: map[string]string{"trans_no": "p1"}})
	cases := []struct {
		name string
		f    journal.Filter
		want []int64
	}{
		{"all", journal.Filter{}, []int64{1, 2, 3, 4}},
		{"system", journal.Filter{System: "codepay"}, []int64{4}},
		{"kind prefix stops at dots", journal.Filter{Kind: "delivery"}, []int64{1, 2}},
		{"ids", journal.Filter{IDs: map[string]string{"shopId": "s1"}}, []int64{1, 3}},
		{"any id", journal.Filter{AnyID: "p1"}, []int64{1, 4}},
		{"after", journal.Filter{AfterSeq: 2}, []int64{3, 4}},
		{"limit keeps newest", journal.Filter{Limit: 2}, []int64{3, 4}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := j.Query(c.f)
			if len(got) != len(c.want) {
				t.Fatalf("got %d events, want %v", len(got), c.want)
			}
			for i := range got {
				if got[i].Seq != c.want[i] {
					t.Fatalf("seq %d, want %v", got[i].Seq, c.want)
				}
			}
		})
	}
}

func TestBoundedAndSubscribed(t *testing.T) {
	j := journal.New(clock.NewReal(), 100)
	ch, cancel := j.Subscribe(journal.Filter{Kind: "tick"}, 1000)
	for i := 0; i < 250; i++ {
		j.Record(journal.Event{System: "sim", Kind: "tick"})
	}
	if n := len(j.Query(journal.Filter{})); n > 100 {
		t.Fatalf("kept %d events, max 100", n)
	}
	if j.LastSeq() != 250 {
		t.Fatalf("last seq %d", j.LastSeq())
	}
	cancel()
	n := 0
	for range ch {
		n++
	}
	if n != 250 {
		t.Fatalf("subscriber got %d of 250", n)
	}
	cancel() // idempotent
}
