package sqlstore_test

import (
	"sync"
	"testing"
	"time"

	"github.com/pspsim/pspsim/simulator/jobs"
	"github.com/pspsim/pspsim/simulator/store"
	"github.com/pspsim/pspsim/simulator/store/sqlstore/pgtest"
)

var jobT0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// TestJobTable runs the job table's behaviours on SQLite and PostgreSQL:
// upsert replaces and moves the version, a claim wins only on the version
// it read and only once, delete-by-version spares a row written again,
// leases are renewed by their owner and taken over when expired (by one
// taker only, when many take at once), Due lists what is due and not
// running in due order, and the namespace's reset empties it.
func TestJobTable(t *testing.T) {
	for _, tc := range pgtest.Stores() {
		t.Run(tc.Name, func(t *testing.T) {
			db := open(t, tc.URL(t))
			tb := db.JobTable("a")
			other := db.JobTable("b")
			must := func(err error) {
				t.Helper()
				if err != nil {
					t.Fatal(err)
				}
			}
			now := time.Now()
			live, dead := now.Add(time.Hour), now.Add(-time.Second)
			job := func(k string, due time.Duration, payload string) jobs.Job {
				return jobs.Job{Kind: "test.step", Key: k, Due: jobT0.Add(due), Payload: []byte(payload)}
			}

			v1, err := tb.Upsert(ctx, job("x", time.Hour, "one"), "r1", live, false)
			must(err)
			v2, err := tb.Upsert(ctx, job("x", 2*time.Hour, "two"), "r1", live, false)
			must(err)
			if v2 == v1 {
				t.Fatalf("a replacing upsert kept version %d", v1)
			}
			r, ok, err := tb.Get(ctx, "test.step", "x")
			must(err)
			if !ok || string(r.Payload) != "two" || !r.Due.Equal(jobT0.Add(2*time.Hour)) || r.Version != v2 || r.Owner != "r1" || r.Running {
				t.Fatalf("get: %+v %v; want payload two, due +2h, v%d, r1, not running", r, ok, v2)
			}
			if _, ok, _ := other.Get(ctx, "test.step", "x"); ok {
				t.Fatal("namespace b sees a's job")
			}
			// Mentions: a needle in a payload of the kind, in the namespace.
			for _, m := range []struct {
				ns     jobs.Table
				kind   string
				needle string
				want   bool
			}{
				{tb, "test.step", "tw", true},
				{tb, "test.step", "two", true},
				{tb, "test.step", "one", false}, // replaced
				{tb, "test.other", "two", false},
				{other, "test.step", "two", false},
			} {
				got, err := m.ns.Mentions(ctx, m.kind, []byte(m.needle))
				must(err)
				if got != m.want {
					t.Fatalf("Mentions(%s, %q) = %v, want %v", m.kind, m.needle, got, m.want)
				}
			}

			// Claims: a stale version loses, the current one wins once.
			if _, won, err := tb.Claim(ctx, "test.step", "x", v1, "r2", live); err != nil || won {
				t.Fatalf("claim with a stale version: won %v, %v", won, err)
			}
			cv, won, err := tb.Claim(ctx, "test.step", "x", v2, "r2", live)
			if err != nil || !won {
				t.Fatalf("claim with the current version: won %v, %v", won, err)
			}
			if _, won, _ := tb.Claim(ctx, "test.step", "x", cv, "r3", live); won {
				t.Fatal("a running row was claimed again")
			}
			if r, _, _ := tb.Get(ctx, "test.step", "x"); !r.Running || r.Owner != "r2" {
				t.Fatalf("claimed row: %+v; want running, owned by r2", r)
			}
			// The handler schedules the same key again: deleting the
			// claimed version spares the new row.
			v3, err := tb.Upsert(ctx, job("x", 3*time.Hour, "three"), "r2", live, false)
			must(err)
			must(tb.DeleteVersion(ctx, "test.step", "x", cv))
			if r, ok, _ := tb.Get(ctx, "test.step", "x"); !ok || r.Version != v3 {
				t.Fatalf("after deleting the claimed version: %+v %v; want the rescheduled row v%d", r, ok, v3)
			}
			must(tb.DeleteVersion(ctx, "test.step", "x", v3))
			if _, ok, _ := tb.Get(ctx, "test.step", "x"); ok {
				t.Fatal("delete by the current version left the row")
			}

			// Due: in due order, not running, whoever owns them.
			_, err = tb.Upsert(ctx, job("late", 3*time.Hour, ""), "r1", live, false)
			must(err)
			_, err = tb.Upsert(ctx, job("b", 2*time.Hour, ""), "r2", live, false)
			must(err)
			_, err = tb.Upsert(ctx, job("a", time.Hour, ""), "r1", live, false)
			must(err)
			_, err = tb.Upsert(ctx, job("kept", time.Hour, ""), "r1", live, true)
			must(err)
			due, err := tb.Due(ctx, jobT0.Add(2*time.Hour), 10)
			must(err)
			if got := keys(due); got != "a,b" {
				t.Fatalf("due by +2h: %s; want a,b", got)
			}
			if n, _ := tb.Count(ctx); n != 4 {
				t.Fatalf("count %d, want 4", n)
			}

			// Leases: r1 dies (its lease ends), r2 renews. A takeover
			// takes r1's rows, the kept one included, and no longer running.
			_, err = tb.Upsert(ctx, job("a", time.Hour, ""), "r1", dead, false)
			must(err)
			_, err = tb.Upsert(ctx, job("late", 3*time.Hour, ""), "r1", dead, false)
			must(err)
			_, err = tb.Upsert(ctx, job("kept", time.Hour, ""), "r1", dead, true)
			must(err)
			must(tb.Renew(ctx, "r2", live))
			var (
				wg    sync.WaitGroup
				mu    sync.Mutex
				taken = map[string]string{}
			)
			for _, taker := range []string{"t1", "t2", "t3", "t4"} {
				wg.Go(func() {
					rows, err := tb.TakeOver(ctx, taker, time.Now(), live, 10)
					if err != nil {
						t.Error(err)
						return
					}
					mu.Lock()
					defer mu.Unlock()
					for _, r := range rows {
						if prev, dup := taken[r.Key]; dup {
							t.Errorf("%s taken by %s and %s", r.Key, prev, taker)
						}
						taken[r.Key] = taker
						if r.Running || r.Owner != taker {
							t.Errorf("taken row %+v: want owned by %s, not running", r, taker)
						}
					}
				})
			}
			wg.Wait()
			if len(taken) != 3 || taken["a"] == "" || taken["late"] == "" || taken["kept"] == "" {
				t.Fatalf("taken over: %v; want a, late and kept (r1's), not b (r2 renewed)", taken)
			}
			if rows, _ := tb.TakeOver(ctx, "t9", time.Now(), live, 10); len(rows) != 0 {
				t.Fatalf("live leases taken over: %v", keys(rows))
			}
			// A zero now takes every row (a lone process starting).
			all, err := tb.TakeOver(ctx, "solo", time.Time{}, live, 10)
			must(err)
			if got := keys(all); got != "a,kept,b,late" {
				t.Fatalf("take all: %s; want a,kept,b,late (in due order)", got)
			}

			// Cancel, then the namespace's reset.
			must(tb.Delete(ctx, "test.step", "late"))
			if _, ok, _ := tb.Get(ctx, "test.step", "late"); ok {
				t.Fatal("a cancelled row stays")
			}
			_, err = other.Upsert(ctx, job("y", time.Hour, ""), "r1", live, false)
			must(err)
			must(db.Namespace(store.Scope{Namespace: "a"}).Reset(ctx))
			if n, _ := tb.Count(ctx); n != 0 {
				t.Fatalf("a reset kept %d jobs", n)
			}
			if n, _ := other.Count(ctx); n != 1 {
				t.Fatalf("a's reset touched b's jobs (%d left, want 1)", n)
			}
			must(other.DeleteAll(ctx))
			if n, _ := other.Count(ctx); n != 0 {
				t.Fatalf("DeleteAll kept %d", n)
			}
		})
	}
}

func keys(rows []jobs.Row) string {
	s := ""
	for i, r := range rows {
		if i > 0 {
			s += ","
		}
		s += r.Key
	}
	return s
}
