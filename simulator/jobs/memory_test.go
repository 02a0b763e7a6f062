package jobs_test

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/pspsim/pspsim/simulator/clock"
	"github.com/pspsim/pspsim/simulator/jobs"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// ran collects the jobs a handler ran, in order.
type ran []string

func newMemory(t *testing.T) (*jobs.Memory, *clock.Sim, *ran) {
	t.Helper()
	c := clock.NewSim(t0)
	m := jobs.NewMemory(c)
	var r ran
	m.Handle("test.step", func(_ context.Context, j jobs.Job) { r = append(r, j.Key+":"+string(j.Payload)) })
	return m, c, &r
}

func TestMemoryRunsJobsWhenDueInOrder(t *testing.T) {
	m, c, r := newMemory(t)
	ctx := context.Background()
	for _, j := range []jobs.Job{
		{Kind: "test.step", Key: "b", Due: t0.Add(2 * time.Hour), Payload: []byte("2")},
		{Kind: "test.step", Key: "a", Due: t0.Add(time.Hour), Payload: []byte("1")},
		{Kind: "test.step", Key: "c", Due: t0.Add(3 * time.Hour)},
	} {
		if err := m.Schedule(ctx, j); err != nil {
			t.Fatal(err)
		}
	}
	if m.Len() != 3 || !m.Pending("test.step", "a") {
		t.Fatalf("Len = %d, Pending(a) = %v; want 3, true", m.Len(), m.Pending("test.step", "a"))
	}
	if _, err := c.Advance(90 * time.Minute); err != nil {
		t.Fatal(err)
	}
	if want := (ran{"a:1"}); !reflect.DeepEqual(*r, want) {
		t.Fatalf("after 90m ran %v, want %v", *r, want)
	}
	if m.Pending("test.step", "a") {
		t.Fatal("a job that ran is still pending")
	}
	if _, err := c.Advance(2 * time.Hour); err != nil {
		t.Fatal(err)
	}
	if want := (ran{"a:1", "b:2", "c:"}); !reflect.DeepEqual(*r, want) {
		t.Fatalf("ran %v, want %v", *r, want)
	}
	if m.Len() != 0 {
		t.Fatalf("Len = %d after every job ran", m.Len())
	}
}

func TestMemoryScheduleReplacesAndCancelForgets(t *testing.T) {
	m, c, r := newMemory(t)
	ctx := context.Background()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(m.Schedule(ctx, jobs.Job{Kind: "test.step", Key: "x", Due: t0.Add(time.Hour), Payload: []byte("old")}))
	must(m.Schedule(ctx, jobs.Job{Kind: "test.step", Key: "x", Due: t0.Add(2 * time.Hour), Payload: []byte("new")}))
	must(m.Schedule(ctx, jobs.Job{Kind: "test.step", Key: "y", Due: t0.Add(time.Hour)}))
	must(m.Cancel(ctx, "test.step", "y"))
	must(m.Cancel(ctx, "test.step", "never-scheduled"))
	if m.Len() != 1 {
		t.Fatalf("Len = %d, want 1 (x replaced, y cancelled)", m.Len())
	}
	if _, err := c.Advance(3 * time.Hour); err != nil {
		t.Fatal(err)
	}
	if want := (ran{"x:new"}); !reflect.DeepEqual(*r, want) {
		t.Fatalf("ran %v, want %v", *r, want)
	}
}

func TestMemoryResetStopsEveryJob(t *testing.T) {
	m, c, r := newMemory(t)
	ctx := context.Background()
	for _, k := range []string{"a", "b"} {
		if err := m.Schedule(ctx, jobs.Job{Kind: "test.step", Key: k, Due: t0.Add(time.Minute)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := m.Reset(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Advance(time.Hour); err != nil {
		t.Fatal(err)
	}
	if len(*r) != 0 || m.Len() != 0 {
		t.Fatalf("after a reset ran %v and %d pending, want none", *r, m.Len())
	}
}

func TestMemoryRefusesBadJobs(t *testing.T) {
	m, _, _ := newMemory(t)
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		job  jobs.Job
		is   error
	}{
		{"unknown kind", jobs.Job{Kind: "test.nobody", Key: "k", Due: t0}, jobs.ErrNoHandler},
		{"no key", jobs.Job{Kind: "test.step", Due: t0}, nil},
		{"no kind", jobs.Job{Key: "k", Due: t0}, nil},
		{"no due time", jobs.Job{Kind: "test.step", Key: "k"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := m.Schedule(ctx, tc.job)
			if err == nil {
				t.Fatal("accepted")
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Fatalf("err = %v, want %v", err, tc.is)
			}
		})
	}
	if m.Len() != 0 {
		t.Fatalf("a refused job is pending (%d)", m.Len())
	}
}

func TestMemoryJobDueInThePastRunsAtTheNextMove(t *testing.T) {
	m, c, r := newMemory(t)
	if err := m.Schedule(context.Background(), jobs.Job{Kind: "test.step", Key: "late", Due: t0.Add(-time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Advance(time.Nanosecond); err != nil {
		t.Fatal(err)
	}
	if want := (ran{"late:"}); !reflect.DeepEqual(*r, want) {
		t.Fatalf("ran %v, want %v", *r, want)
	}
}
