package journal_test

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"runtime"
	"strconv"
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

// TestIndexedQueriesAgreeWithAScan records a random journal and checks that
// every filter, answered from the indexes, gives what matching every event
// one by one gives — before and after the oldest events are dropped.
func TestIndexedQueriesAgreeWithAScan(t *testing.T) {
	c := clock.NewSim(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	j := journal.New(c, 3000)
	rnd := rand.New(rand.NewPCG(1, 2))
	systems := []string{"genstore", "codepay", "vmgateway", "sim"}
	kinds := []string{"delivery.attempt", "delivery.scheduled", "delivery", "payment.created", "fault.fired.latency", "api.refused"}
	var all []journal.Event // everything ever recorded, as the brute force sees it
	for i := range 5000 {
		ids := map[string]string{}
		for _, name := range []string{"shopId", "paymentId", "orderNo", "trans_no"} {
			if rnd.IntN(2) == 0 {
				ids[name] = fmt.Sprint("v", rnd.IntN(40))
			}
		}
		e := journal.Event{System: systems[rnd.IntN(len(systems))], Kind: kinds[rnd.IntN(len(kinds))], IDs: ids, Message: fmt.Sprint("event ", i)}
		rec := j.Record(e)
		e.Seq, e.Time = rec.Seq, rec.Time
		all = append(all, e)
		if rnd.IntN(10) == 0 {
			c.Advance(time.Second)
		}
	}
	oldest := all[len(all)-j.Len()].Seq
	filters := []journal.Filter{
		{}, {System: "codepay"}, {Kind: "delivery"}, {Kind: "fault.fired"}, {Kind: "delivery.attempt", System: "genstore"},
		{IDs: map[string]string{"shopId": "v3"}}, {IDs: map[string]string{"shopId": "v3", "orderNo": "v7"}}, {AnyID: "v5"},
		{AnyID: "v5", Kind: "payment"}, {AfterSeq: 4500}, {AfterSeq: 4000, BeforeSeq: 4100, System: "sim"},
		{Since: all[4200].Time}, {Since: all[4200].Time, AnyID: "v1"}, {IDs: map[string]string{"nothing": "v1"}},
	}
	for i, f := range filters {
		var want []int64
		for _, e := range all {
			if e.Seq >= oldest && f.Match(e) {
				want = append(want, e.Seq)
			}
		}
		var got []int64
		for _, e := range j.Query(f) {
			got = append(got, e.Seq)
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("filter %d %+v: got %d events, want %d", i, f, len(got), len(want))
		}
		// The same through pages, forward and backward.
		var fwd []int64
		for after := f.AfterSeq; ; {
			g := f
			g.AfterSeq = after
			p := j.Page(g, true, 37)
			for _, raw := range p.Events {
				var e journal.Event
				json.Unmarshal(raw, &e)
				fwd = append(fwd, e.Seq)
			}
			if !p.HasMore {
				break
			}
			after = p.Last
		}
		if fmt.Sprint(fwd) != fmt.Sprint(want) {
			t.Errorf("filter %d, paged forward: got %d events, want %d", i, len(fwd), len(want))
		}
		var back []int64
		for before := f.BeforeSeq; ; {
			g := f
			g.BeforeSeq = before
			p := j.Page(g, false, 41)
			var page []int64
			for _, raw := range p.Events {
				var e journal.Event
				json.Unmarshal(raw, &e)
				page = append(page, e.Seq)
			}
			back = append(page, back...)
			if !p.HasMore {
				break
			}
			before = p.First
		}
		if fmt.Sprint(back) != fmt.Sprint(want) {
			t.Errorf("filter %d, paged backward: got %d events, want %d", i, len(back), len(want))
		}
	}
}

func TestPagesHoldTheEventsAsJSONEncodesThem(t *testing.T) {
	j := journal.New(clock.NewSim(time.Date(2026, 1, 2, 3, 4, 5, 600, time.UTC)), 0)
	type card struct {
		Note   string `json:"note"`
		Holder string `json:"holder"`
	}
	j.Record(journal.Event{System: "vmgateway", Kind: "payment.created", IDs: map[string]string{"orderNo": "A<1>", "cardNo": "4000123456000019"},
		Message: "line\nbreak & \"quotes\" \u2028 é",
		Data: map[string]any{"n": 3, "f": 2.5, "ok": true, "nil": nil, "at": time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
			"list": []any{"4000123456000019", 1}, "strings": []string{"5100123456000015"}, "ids": map[string]string{"pan": "4000123456000019"},
			"card": card{Note: "declined 4000123456000019 1230 7319", Holder: "Ada"}, "cvv": "123", "d": 90 * time.Second}})
	p := j.Page(journal.Filter{}, true, 10)
	got := string(p.Events[0])
	e := j.Query(journal.Filter{})[0]
	want, _ := json.Marshal(e)
	if got != string(want) {
		t.Fatalf("page JSON differs from encoding/json's:\n%s\n%s", got, want)
	}
	for _, leak := range []string{"4000123456000019", "5100123456000015", `"123"`} {
		if strings.Contains(got, leak) {
			t.Fatalf("%s leaked: %s", leak, got)
		}
	}
	if !strings.Contains(got, `"holder":"Ada"`) || !strings.Contains(got, `"note":"declined 400012******0019 1230 7319"`) {
		t.Fatalf("a struct's strings are not masked one by one: %s", got)
	}
}

func TestRetentionDropsTheOldestAndTheirIndexEntries(t *testing.T) {
	j := journal.New(clock.NewSim(time.Unix(0, 0)), 1000)
	for i := range 5000 {
		j.Record(journal.Event{System: "sim", Kind: "tick", IDs: map[string]string{"n": fmt.Sprint(i)}})
	}
	if n := j.Len(); n < 900 || n > 1000 {
		t.Fatalf("kept %d events; max 1000, dropping a tenth at a time", n)
	}
	if ev := j.Query(journal.Filter{AnyID: "10"}); len(ev) != 0 {
		t.Fatalf("a dropped event is still found by its id: %+v", ev)
	}
	if ev := j.Query(journal.Filter{AnyID: "4999"}); len(ev) != 1 || ev[0].Seq != 5000 {
		t.Fatalf("the newest event by its id: %+v", ev)
	}
	p := j.Page(journal.Filter{}, true, 5)
	if p.OldestSeq != int64(5000-j.Len()+1) || p.LastSeq != 5000 {
		t.Fatalf("oldest %d, last %d", p.OldestSeq, p.LastSeq)
	}
	j.Reset()
	j.Record(journal.Event{System: "sim", Kind: "tick"})
	if p := j.Page(journal.Filter{}, true, 5); len(p.Events) != 1 || p.First != 5001 {
		t.Fatalf("after a reset: %+v", p)
	}
}

func TestTimesNeverGoBackwards(t *testing.T) {
	c := &settable{now: time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)}
	j := journal.New(c, 0)
	j.Record(journal.Event{System: "sim", Kind: "a"})
	c.now = c.now.Add(-time.Hour) // the wall clock stepped back
	e := j.Record(journal.Event{System: "sim", Kind: "b"})
	if !e.Time.Equal(time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)) {
		t.Fatalf("the second event is stamped %v, before the first", e.Time)
	}
}

type settable struct{ now time.Time }

func (s *settable) Now() time.Time                              { return s.now }
func (s *settable) AfterFunc(time.Duration, func()) clock.Timer { return nil }
func (s *settable) Mode() string                                { return "sim" }

// BenchmarkRecord measures recording an event shaped like a payment's: a
// sentence, four ids, a data map with a nested card.
func BenchmarkRecord(b *testing.B) {
	j := journal.New(clock.NewSim(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)), 0)
	n := 0
	b.ReportAllocs()
	for b.Loop() {
		n++
		j.Record(paymentEvent(n))
	}
}

func paymentEvent(n int) journal.Event {
	id := strconv.Itoa(n)
	return journal.Event{System: "vmgateway", Kind: "payment.status_changed",
		IDs:     map[string]string{"tradeNo": "2026112210000" + id, "orderNo": "A" + id, "merchant": "M086666075137", "appId": "086666075137001"},
		Message: "payment 2026112210000" + id + " AUTHORIZED → CAPTURED: captured in full",
		Data:    map[string]any{"from": "AUTHORIZED", "to": "CAPTURED", "amount": "25.00", "currency": "USD", "card": map[string]any{"cardNo": "4000123456000019", "brand": "VISA"}}}
}

// TestHeapPerEvent holds the journal to its memory budget: at most 1.5 KB
// of live heap per event kept, indexes included, when every event names
// ids no other event names (the worst case; a payment's events share theirs).
func TestHeapPerEvent(t *testing.T) {
	heap := func() uint64 {
		runtime.GC()
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	const n = 100_000
	before := heap()
	j := journal.New(clock.NewSim(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)), 0)
	for i := range n {
		j.Record(paymentEvent(i))
	}
	j.Query(journal.Filter{AnyID: "A1"}) // the indexes are built by the first query
	per := float64(heap()-before) / n
	runtime.KeepAlive(j)
	t.Logf("%.0f bytes of live heap per event", per)
	if per > 1536 {
		t.Fatalf("%.0f bytes per event; the budget is 1536", per)
	}
}
