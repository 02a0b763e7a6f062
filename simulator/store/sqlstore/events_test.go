package sqlstore_test

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pspsim/pspsim/simulator/clock"
	"github.com/pspsim/pspsim/simulator/journal"
	"github.com/pspsim/pspsim/simulator/simtest"
	"github.com/pspsim/pspsim/simulator/store"
	"github.com/pspsim/pspsim/simulator/store/sqlstore"
	"github.com/pspsim/pspsim/simulator/store/sqlstore/pgtest"
)

// durableJournal is a namespace's journal on db, as the simulator builds it.
func durableJournal(db *sqlstore.DB, ns string, max int) *journal.Journal {
	j := journal.New(clock.NewSim(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)), max)
	j.SetNamespace(ns)
	j.SetLog(db.Events(ns, max))
	return j
}

func record(j *journal.Journal, i int) {
	system := []string{"genstore", "vmgateway"}[i%2]
	j.Record(journal.Event{System: system, Kind: "payment.created", Message: fmt.Sprintf("payment %d", i),
		IDs:  map[string]string{"paymentId": fmt.Sprintf("P%d", i), "cardNo": "4111111111111111"},
		Data: map[string]any{"amount": i, "card": map[string]any{"cardNo": "4111111111111111"}}})
}

// TestJournalOnTheDatabase: events recorded in a durable journal are read
// back from the database — numbered 1…n, filtered by system, kind and id
// as the memory journal filters them, masked — and survive the process (a
// new handle on the database reads them), within the namespace's
// retention; a reset empties the namespace's events (not another's) and
// the numbering goes on.
func TestJournalOnTheDatabase(t *testing.T) {
	for _, tc := range pgtest.Stores() {
		t.Run(tc.Name, func(t *testing.T) {
			url := tc.URL(t)
			db, err := sqlstore.Open(ctx, url)
			if err != nil {
				t.Fatal(err)
			}
			j := durableJournal(db, "a", 1000)
			other := durableJournal(db, "b", 1000)
			const n = 40
			for i := 1; i <= n; i++ {
				record(j, i)
			}
			record(other, 1)
			all := j.Query(journal.Filter{})
			if len(all) != n || all[0].Seq != 1 || all[n-1].Seq != n {
				t.Fatalf("%d events, seqs %d…%d; want %d, 1…%d", len(all), all[0].Seq, all[len(all)-1].Seq, n, n)
			}
			if e := all[4]; e.Namespace != "a" || e.IDs["paymentId"] != "P5" || e.Message != "payment 5" || e.Data["amount"] != float64(5) {
				t.Fatalf("event 5 read back as %+v", e)
			}
			if got := fmt.Sprint(all[0].IDs["cardNo"], all[0].Data["card"]); strings.Contains(got, "4111111111111111") {
				t.Fatalf("a card number is stored in clear: %s", got)
			}
			for _, c := range []struct {
				f    journal.Filter
				want int
			}{
				{journal.Filter{System: "genstore"}, n / 2},
				{journal.Filter{Kind: "payment"}, n},
				{journal.Filter{Kind: "pay"}, 0},
				{journal.Filter{AnyID: "P7"}, 1},
				{journal.Filter{IDs: map[string]string{"paymentId": "P7"}}, 1},
				{journal.Filter{IDs: map[string]string{"orderNo": "P7"}}, 0},
				{journal.Filter{AnyID: "P_"}, 0}, // LIKE's wildcard is a character here
				{journal.Filter{AfterSeq: 30}, n - 30},
				{journal.Filter{AfterSeq: 10, BeforeSeq: 15}, 4},
				{journal.Filter{Limit: 3}, 3},
			} {
				if got := j.Query(c.f); len(got) != c.want {
					t.Errorf("Query(%+v): %d events, want %d", c.f, len(got), c.want)
				}
			}
			p := j.Page(journal.Filter{System: "vmgateway"}, false, 5)
			if len(p.Events) != 5 || !p.HasMore || p.Last != n-1 || p.LastSeq != n || p.OldestSeq != 1 {
				t.Fatalf("newest page: %d events, more %v, last %d, lastSeq %d, oldest %d", len(p.Events), p.HasMore, p.Last, p.LastSeq, p.OldestSeq)
			}
			mem := journal.New(clock.NewSim(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)), 0)
			mem.SetNamespace("a")
			for i := 1; i <= n; i++ {
				record(mem, i)
			}
			if want := mem.Page(journal.Filter{System: "vmgateway"}, false, 5); fmt.Sprintf("%s", want.Events) != fmt.Sprintf("%s", p.Events) {
				t.Fatalf("the database's page differs from the memory journal's:\n%s\n%s", p.Events, want.Events)
			}

			// A restart: what was recorded is read by the next process.
			if err := j.Close(); err != nil {
				t.Fatal(err)
			}
			other.Close()
			db.Close()
			db = open(t, url)
			j = durableJournal(db, "a", 1000)
			if got := j.Query(journal.Filter{}); len(got) != n {
				t.Fatalf("after a restart, %d events; want %d", len(got), n)
			}
			record(j, n+1)
			if got := j.LastSeq(); got != n+1 {
				t.Fatalf("after a restart the next event is %d; want %d", got, n+1)
			}

			if err := j.ResetContext(ctx); err != nil {
				t.Fatal(err)
			}
			if got := j.Len(); got != 0 {
				t.Fatalf("after a reset, %d events", got)
			}
			record(j, 1)
			if got := j.Query(journal.Filter{}); len(got) != 1 || got[0].Seq != n+2 {
				t.Fatalf("after a reset: %+v; want one event numbered %d", got, n+2)
			}
			if got := durableJournal(db, "b", 1000).Len(); got != 1 {
				t.Fatalf("namespace b kept %d events after a's reset; want 1", got)
			}
			// A namespace's store reset (and deletion) takes its events too.
			if err := db.Namespace(store.Scope{Namespace: "b"}).Reset(ctx); err != nil {
				t.Fatal(err)
			}
			if got := durableJournal(db, "b", 1000).Len(); got != 0 {
				t.Fatalf("namespace b deleted: %d events remain", got)
			}
		})
	}
}

// TestJournalRetentionBoundsTheTable: a namespace keeps at most its limit
// of events and a tenth more between trims, the newest.
func TestJournalRetentionBoundsTheTable(t *testing.T) {
	for _, tc := range pgtest.Stores() {
		t.Run(tc.Name, func(t *testing.T) {
			db := open(t, tc.URL(t))
			const max = 100
			j := durableJournal(db, "a", max)
			for i := 1; i <= 1000; i++ {
				record(j, i)
				if i%37 == 0 {
					j.LastSeq() // flushes: batches of every size
				}
			}
			j.LastSeq()
			var rows int
			if err := db.SQL().QueryRowContext(ctx, `SELECT COUNT(*) FROM events WHERE namespace = 'a'`).Scan(&rows); err != nil {
				t.Fatal(err)
			}
			if rows < max || rows > max+max/10 {
				t.Fatalf("%d rows kept; want %d to %d", rows, max, max+max/10)
			}
			p := j.Page(journal.Filter{}, false, 1)
			if p.Last != 1000 || p.OldestSeq != int64(1000-rows+1) {
				t.Fatalf("newest %d, oldest %d; want 1000, %d", p.Last, p.OldestSeq, 1000-rows+1)
			}
		})
	}
}

// TestReplicasShareTheJournal: two handles on one PostgreSQL database (two
// replicas) record into one namespace at once: one numbering without gaps
// or repeats, each sees the other's events, and a subscriber on one is
// told of the other's.
func TestReplicasShareTheJournal(t *testing.T) {
	url := pgtest.URL(t)
	a, b := durableJournal(open(t, url), "ns", 10_000), durableJournal(open(t, url), "ns", 10_000)
	ch, cancel := a.Subscribe(journal.Filter{System: "vmgateway"}, 1024)
	defer cancel()
	const each = 300
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range each {
			record(b, 2*i+1) // vmgateway
		}
	}()
	for i := range each {
		record(a, 2*i)
	}
	<-done
	a.LastSeq() // a read on a writes its batch (as its writer does within FlushEvery)
	events := b.Query(journal.Filter{})
	if len(events) != 2*each {
		t.Fatalf("replica b reads %d events; want %d", len(events), 2*each)
	}
	for i, e := range events {
		if e.Seq != int64(i+1) {
			t.Fatalf("event %d is numbered %d: the numbering has a gap or a repeat", i, e.Seq)
		}
	}
	if got := len(a.Query(journal.Filter{System: "vmgateway"})); got != each {
		t.Fatalf("replica a reads %d of b's events; want %d", got, each)
	}
	seen := 0
	deadline := time.After(simtest.Patience)
	for seen < each {
		select {
		case e := <-ch:
			if e.System != "vmgateway" {
				t.Fatalf("the subscriber got %+v", e)
			}
			seen++
		case <-deadline:
			t.Fatalf("the subscriber on a was told of %d of b's %d events", seen, each)
		}
	}
}

// BenchmarkJournal is the journal's write cost on each backend (go test
// -run '^$' -bench Journal ./simulator/store/sqlstore): record, what a
// request pays (the event redacted, encoded and handed to the writer), and
// written, the same with every event also committed to the database
// (flushed once per FlushRows events, as the writer does under load) —
// the database's share per event.
func BenchmarkJournal(b *testing.B) {
	backends := []struct {
		name string
		log  func(b *testing.B) journal.Log
	}{
		{"memory", func(*testing.B) journal.Log { return nil }},
		{"sqlite", func(b *testing.B) journal.Log {
			return open(b, "sqlite:"+filepath.Join(b.TempDir(), "bench.db")).Events("bench", journal.DefaultMax)
		}},
		{"postgres", func(b *testing.B) journal.Log { return open(b, pgtest.URL(b)).Events("bench", journal.DefaultMax) }},
	}
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			l := be.log(b)
			j := journal.New(clock.NewSim(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)), 0)
			if l != nil {
				j.SetLog(l)
			}
			n := 0
			b.Run("record", func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					n++
					record(j, n)
				}
			})
			if l == nil {
				return
			}
			if err := l.Flush(ctx); err != nil { // what record left
				b.Fatal(err)
			}
			b.Run("written", func(b *testing.B) {
				for b.Loop() {
					n++
					record(j, n)
					if n%sqlstore.FlushRows == 0 {
						if err := l.Flush(ctx); err != nil {
							b.Fatal(err)
						}
					}
				}
				if err := l.Flush(ctx); err != nil {
					b.Fatal(err)
				}
			})
		})
	}
}
