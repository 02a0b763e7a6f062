package journal_test

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pspsim/pspsim/simulator/clock"
	"github.com/pspsim/pspsim/simulator/journal"
	"github.com/pspsim/pspsim/simulator/simtest"
)

// memLog is a journal.Log in memory, answering LogQuery as a database
// would (the ids prefilter by substring, as sqlstore's LIKE does).
type memLog struct {
	mu     sync.Mutex
	rows   []journal.Row
	reads  int
	closed bool
}

func (l *memLog) Append(r journal.Row) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.closed {
		r.Seq = int64(len(l.rows) + 1)
		l.rows = append(l.rows, r)
	}
}
func (l *memLog) Flush(context.Context) error { return nil }
func (l *memLog) Close() error                { l.mu.Lock(); l.closed = true; l.mu.Unlock(); return nil }
func (l *memLog) Reset(context.Context) error { return nil }
func (l *memLog) Bounds(context.Context) (int64, int64, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return 1, int64(len(l.rows)), nil
}
func (l *memLog) Read(_ context.Context, q journal.LogQuery) ([]journal.Row, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.reads++
	var out []journal.Row
	for _, r := range l.rows {
		if r.Seq <= q.After || (q.Before > 0 && r.Seq >= q.Before) || (q.UpTo > 0 && r.Seq > q.UpTo) ||
			(q.System != "" && r.System != q.System) || (q.Kind != "" && r.Kind != q.Kind && !strings.HasPrefix(r.Kind, q.Kind+".")) {
			continue
		}
		if slices.ContainsFunc(q.IDValues, func(v string) bool { return !bytes.Contains(r.IDs, []byte(`"`+v+`"`)) }) {
			continue
		}
		out = append(out, r)
	}
	if q.Backward {
		slices.Reverse(out)
	}
	if q.Limit > 0 && len(out) > q.Limit {
		out = out[:q.Limit]
	}
	return out, nil
}

// TestDurablePagesCheckIDsExactly: an id filter is a prefilter for the Log
// (any id holding the value) and exact here (that name): a page reads on
// through batches of rows that pass the prefilter only, and says there is
// more only when there is.
func TestDurablePagesCheckIDsExactly(t *testing.T) {
	l := &memLog{}
	j := journal.New(clock.NewSim(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)), 0)
	j.SetLog(l)
	for i := range 1500 {
		ids := map[string]string{"paymentId": "X"} // passes the prefilter, not the filter
		if i == 10 || i == 700 || i == 1400 {
			ids = map[string]string{"orderNo": "X"}
		}
		j.Record(journal.Event{System: "vmgateway", Kind: "payment.created", IDs: ids})
	}
	f := journal.Filter{IDs: map[string]string{"orderNo": "X"}}
	p := j.Page(f, false, 2)
	if len(p.Events) != 2 || p.First != 701 || p.Last != 1401 || !p.HasMore {
		t.Fatalf("newest two: %d events %d…%d, more %v; want 701…1401 and more", len(p.Events), p.First, p.Last, p.HasMore)
	}
	p = j.Page(f, true, 3)
	if len(p.Events) != 3 || p.First != 11 || p.HasMore {
		t.Fatalf("oldest three: %d events from %d, more %v; want three from 11, no more", len(p.Events), p.First, p.HasMore)
	}
	if got := j.Query(journal.Filter{AnyID: "X", Limit: 5}); len(got) != 5 || got[4].Seq != 1500 {
		t.Fatalf("AnyID with a limit: %d events", len(got))
	}
	if got := j.Len(); got != 1500 {
		t.Fatalf("Len %d; want 1500", got)
	}
}

// TestDurableSubscribersAreFedFromTheLog: a subscriber of a durable journal
// is told of what reaches the Log (this process's events and, in a
// database, other replicas'), with the Log's numbers, filtered.
func TestDurableSubscribersAreFedFromTheLog(t *testing.T) {
	l := &memLog{}
	j := journal.New(clock.NewSim(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)), 0)
	j.SetLog(l)
	defer j.Close()
	j.Record(journal.Event{System: "genstore", Kind: "before"})
	ch, cancel := j.Subscribe(journal.Filter{System: "vmgateway"}, 16)
	defer cancel()
	j.Record(journal.Event{System: "genstore", Kind: "other"})
	// Another replica's event, as the database would hold it.
	l.Append(journal.Row{Time: time.Now(), System: "vmgateway", Kind: "elsewhere", IDs: []byte(`{}`), Body: []byte(`{"message":"from b"}`)})
	select {
	case e := <-ch:
		if e.Seq != 3 || e.Kind != "elsewhere" || e.Message != "from b" {
			t.Fatalf("the subscriber got %+v; want event 3, elsewhere, from b", e)
		}
	case <-time.After(simtest.Patience):
		t.Fatal("the subscriber was not told")
	}
}
