package jobs_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/pspsim/pspsim/simulator/clock"
	"github.com/pspsim/pspsim/simulator/jobs"
	"github.com/pspsim/pspsim/simulator/simtest"
	"github.com/pspsim/pspsim/simulator/store/sqlstore"
)

// log collects what replicas ran, in order, across replicas.
type log struct {
	mu  sync.Mutex
	ran []string
}

func (l *log) add(s string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.ran = append(l.ran, s)
}

func (l *log) get() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.ran...)
}

// replica is one Durable scheduler on its own simulated clock over the
// shared table, as a simulator's would be.
type replica struct {
	*jobs.Durable
	clock *clock.Sim
}

func sqliteTable(t *testing.T) jobs.Table {
	t.Helper()
	db, err := sqlstore.Open(context.Background(), "sqlite:"+filepath.Join(t.TempDir(), "jobs.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db.JobTable("ns")
}

func newReplica(t *testing.T, tb jobs.Table, name string, l *log, o jobs.DurableOptions, handle func(d *jobs.Durable) jobs.Handler) *replica {
	t.Helper()
	c := clock.NewSim(t0)
	o.Clock, o.Table, o.Owner = c, tb, name
	d := jobs.NewDurable(o)
	h := func(_ context.Context, j jobs.Job) { l.add(name + ":" + j.Key) }
	if handle != nil {
		h = handle(d)
	}
	d.Handle("test.step", h)
	c.BeforeMove(d.BeforeMove)
	t.Cleanup(d.Close)
	return &replica{Durable: d, clock: c}
}

// flakyTable fails the next n claims, as a database that does not answer.
type flakyTable struct {
	jobs.Table
	mu sync.Mutex
	n  int
}

func (f *flakyTable) failClaims(n int) { f.mu.Lock(); f.n = n; f.mu.Unlock() }

func (f *flakyTable) Claim(ctx context.Context, kind, key string, version int64, owner string, leaseUntil time.Time) (int64, bool, error) {
	f.mu.Lock()
	fail := f.n > 0
	if fail {
		f.n--
	}
	f.mu.Unlock()
	if fail {
		return 0, false, errors.New("connection refused")
	}
	return f.Table.Claim(ctx, kind, key, version, owner, leaseUntil)
}

func TestDurableRules(t *testing.T) {
	ctx := context.Background()
	at := func(d time.Duration, k string) jobs.Job { return jobs.Job{Kind: "test.step", Key: k, Due: t0.Add(d)} }
	must := func(t *testing.T, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}

	t.Run("the mover runs every replica's due jobs in due order; the owners' timers lose their claims", func(t *testing.T) {
		tb, l := sqliteTable(t), &log{}
		a := newReplica(t, tb, "A", l, jobs.DurableOptions{}, nil)
		b := newReplica(t, tb, "B", l, jobs.DurableOptions{}, nil)
		must(t, a.Schedule(ctx, at(time.Hour, "1")))
		must(t, b.Schedule(ctx, at(2*time.Hour, "2")))
		must(t, a.Schedule(ctx, at(3*time.Hour, "3")))
		must(t, a.Schedule(ctx, at(5*time.Hour, "later")))
		if _, err := b.clock.Advance(4 * time.Hour); err != nil {
			t.Fatal(err)
		}
		if want := []string{"B:1", "B:2", "B:3"}; !reflect.DeepEqual(l.get(), want) {
			t.Fatalf("after B's move ran %v, want %v", l.get(), want)
		}
		// A catches up: its own timers for 1 and 3 fire and lose.
		a.clock.SyncTo(t0.Add(4 * time.Hour))
		if want := []string{"B:1", "B:2", "B:3"}; !reflect.DeepEqual(l.get(), want) {
			t.Fatalf("after A caught up ran %v, want %v (each once)", l.get(), want)
		}
		if n := a.Len(); n != 1 {
			t.Fatalf("%d jobs left, want 1 (later)", n)
		}
		a.clock.SyncTo(t0.Add(6 * time.Hour))
		if got := l.get(); got[len(got)-1] != "A:later" {
			t.Fatalf("ran %v; want A to run its own later job when it catches up", got)
		}
	})

	t.Run("a cancelled or replaced job's timer loses its claim", func(t *testing.T) {
		tb, l := sqliteTable(t), &log{}
		a := newReplica(t, tb, "A", l, jobs.DurableOptions{}, nil)
		b := newReplica(t, tb, "B", l, jobs.DurableOptions{}, nil)
		must(t, a.Schedule(ctx, at(time.Hour, "x")))
		must(t, b.Cancel(ctx, "test.step", "x")) // on another replica
		must(t, a.Schedule(ctx, at(time.Hour, "y")))
		must(t, b.Schedule(ctx, at(3*time.Hour, "y"))) // replaced elsewhere
		a.clock.SyncTo(t0.Add(2 * time.Hour))
		if got := l.get(); len(got) != 0 {
			t.Fatalf("ran %v; want nothing (x cancelled, y moved to +3h by B)", got)
		}
		b.clock.SyncTo(t0.Add(4 * time.Hour))
		if want := []string{"B:y"}; !reflect.DeepEqual(l.get(), want) {
			t.Fatalf("ran %v, want %v", l.get(), want)
		}
	})

	t.Run("a handler that schedules its own key again keeps the new row", func(t *testing.T) {
		tb, l := sqliteTable(t), &log{}
		a := newReplica(t, tb, "A", l, jobs.DurableOptions{}, func(d *jobs.Durable) jobs.Handler {
			return func(ctx context.Context, j jobs.Job) {
				l.add(j.Key + "@" + j.Due.Sub(t0).String())
				if j.Due.Sub(t0) < 3*time.Hour {
					if err := d.Schedule(ctx, jobs.Job{Kind: j.Kind, Key: j.Key, Due: j.Due.Add(time.Hour)}); err != nil {
						t.Error(err)
					}
				}
			}
		})
		must(t, a.Schedule(ctx, at(time.Hour, "r")))
		if _, err := a.clock.Advance(90 * time.Minute); err != nil {
			t.Fatal(err)
		}
		if !a.Pending("test.step", "r") {
			t.Fatal("the rescheduled row was deleted with the one that ran")
		}
		if _, err := a.clock.Advance(5 * time.Hour); err != nil {
			t.Fatal(err)
		}
		if want := []string{"r@1h0m0s", "r@2h0m0s", "r@3h0m0s"}; !reflect.DeepEqual(l.get(), want) {
			t.Fatalf("ran %v, want %v", l.get(), want)
		}
		if a.Len() != 0 {
			t.Fatalf("%d rows left", a.Len())
		}
	})

	t.Run("a dead replica's jobs are taken over once its lease expires", func(t *testing.T) {
		tb, l := sqliteTable(t), &log{}
		const lease = 400 * time.Millisecond
		a := newReplica(t, tb, "A", l, jobs.DurableOptions{Lease: lease, Every: 50 * time.Millisecond}, nil)
		b := newReplica(t, tb, "B", l, jobs.DurableOptions{Lease: lease, Every: 50 * time.Millisecond}, nil)
		must(t, a.Start(ctx))
		must(t, b.Start(ctx))
		must(t, a.Schedule(ctx, at(time.Hour, "orphan")))
		must(t, a.Keep(ctx, at(time.Minute, "in-flight")))
		// A lives: its leases are renewed, B takes nothing.
		time.Sleep(2 * lease)
		if n := b.Local(); n != 0 {
			t.Fatalf("B took %d jobs of a live replica", n)
		}
		a.Close() // dies: no more renewals
		simtest.Eventually(t, "B to take over A's two jobs", func() bool { return b.Local() == 2 })
		// Catching up (not moving) runs only what B owns: now both.
		b.clock.SyncTo(t0.Add(2 * time.Hour))
		if want := []string{"B:in-flight", "B:orphan"}; !reflect.DeepEqual(l.get(), want) {
			t.Fatalf("ran %v, want %v", l.get(), want)
		}
		if n := b.Len(); n != 0 {
			t.Fatalf("%d rows left", n)
		}
	})

	t.Run("a lone process takes every row at start", func(t *testing.T) {
		tb, l := sqliteTable(t), &log{}
		a := newReplica(t, tb, "A", l, jobs.DurableOptions{}, nil)
		must(t, a.Schedule(ctx, at(time.Hour, "kept")))
		a.Close()
		b := newReplica(t, tb, "B", l, jobs.DurableOptions{TakeAll: true}, nil)
		must(t, b.Start(ctx))
		if b.Local() != 1 {
			t.Fatalf("B took %d rows at start, want 1", b.Local())
		}
		b.clock.SyncTo(t0.Add(2 * time.Hour))
		if want := []string{"B:kept"}; !reflect.DeepEqual(l.get(), want) {
			t.Fatalf("ran %v, want %v", l.get(), want)
		}
	})

	t.Run("a lone process with more rows than one batch starts", func(t *testing.T) {
		// TakeOver works in batches of 256: taking "every row" again after
		// the first batch took the same rows forever, and the start never
		// returned.
		tb, l := sqliteTable(t), &log{}
		a := newReplica(t, tb, "A", l, jobs.DurableOptions{}, nil)
		const rows = 600
		for i := range rows {
			must(t, a.Schedule(ctx, at(time.Hour, fmt.Sprint("k", i))))
		}
		a.Close()
		b := newReplica(t, tb, "B", l, jobs.DurableOptions{TakeAll: true}, nil)
		bounded, cancel := context.WithTimeout(ctx, simtest.Patience)
		defer cancel()
		if err := b.Start(bounded); err != nil {
			t.Fatalf("the start with %d rows did not end within %s: %v", rows, simtest.Patience, err)
		}
		if b.Local() != rows {
			t.Fatalf("B took %d rows at start, want %d", b.Local(), rows)
		}
		b.clock.SyncTo(t0.Add(2 * time.Hour))
		if n := len(l.get()); n != rows {
			t.Fatalf("ran %d jobs, want %d", n, rows)
		}
	})

	t.Run("a claim the database refuses is tried again", func(t *testing.T) {
		tb, l := &flakyTable{Table: sqliteTable(t)}, &log{}
		a := newReplica(t, tb, "A", l, jobs.DurableOptions{Every: time.Minute}, nil)
		must(t, a.Schedule(ctx, at(time.Hour, "x")))
		tb.failClaims(1)
		if _, err := a.clock.Advance(time.Hour); err != nil {
			t.Fatal(err)
		}
		if got := l.get(); len(got) != 0 {
			t.Fatalf("ran %v although the claim failed", got)
		}
		if _, err := a.clock.Advance(time.Minute); err != nil {
			t.Fatal(err)
		}
		if want := []string{"A:x"}; !reflect.DeepEqual(l.get(), want) {
			t.Fatalf("ran %v, want %v (the claim tried again a tick later)", l.get(), want)
		}
	})

	t.Run("reset forgets every replica's jobs; a closed replica writes nothing", func(t *testing.T) {
		tb, l := sqliteTable(t), &log{}
		a := newReplica(t, tb, "A", l, jobs.DurableOptions{}, nil)
		b := newReplica(t, tb, "B", l, jobs.DurableOptions{}, nil)
		must(t, a.Schedule(ctx, at(time.Hour, "x")))
		must(t, b.Schedule(ctx, at(time.Hour, "y")))
		must(t, b.Reset(ctx))
		a.clock.SyncTo(t0.Add(2 * time.Hour))
		b.clock.SyncTo(t0.Add(2 * time.Hour))
		if got := l.get(); len(got) != 0 || a.Len() != 0 {
			t.Fatalf("after a reset ran %v, %d rows left", got, a.Len())
		}
		b.Close()
		if err := b.Schedule(ctx, at(time.Hour, "z")); err == nil || a.Len() != 0 {
			t.Fatalf("a closed replica scheduled: %v, %d rows", err, a.Len())
		}
	})
}
