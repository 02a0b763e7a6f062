package delivery_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/pspsim/pspsim/simulator/clock"
	"github.com/pspsim/pspsim/simulator/delivery"
	"github.com/pspsim/pspsim/simulator/jobs"
	"github.com/pspsim/pspsim/simulator/journal"
	"github.com/pspsim/pspsim/simulator/store/sqlstore"
)

// durableSender is a sender whose resumable deliveries are jobs of a
// Durable scheduler named owner over tb, on its own simulated clock.
type durableSender struct {
	*delivery.Sender
	jobs    *jobs.Durable
	clock   *clock.Sim
	resumed []delivery.Request
}

func newDurableSender(t *testing.T, tb jobs.Table, owner string, client *http.Client, p delivery.Policy) *durableSender {
	t.Helper()
	c := clock.NewSim(t0)
	d := jobs.NewDurable(jobs.DurableOptions{Clock: c, Table: tb, Owner: owner})
	c.BeforeMove(d.BeforeMove)
	s := delivery.NewSender(c, journal.New(c, 0), client)
	ds := &durableSender{Sender: s, jobs: d, clock: c}
	s.SetJobs(d)
	s.OnResume("test", func(_ context.Context, req delivery.Request) (delivery.Request, delivery.Policy, func(*delivery.Delivery), bool, error) {
		ds.resumed = append(ds.resumed, req)
		return req, p, nil, string(req.ResumeData) != "unwanted", nil
	})
	if err := d.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close(); s.Close() })
	return ds
}

func attemptRows(t *testing.T, tb jobs.Table) []jobs.Row {
	t.Helper()
	due, err := tb.Due(context.Background(), t0.Add(1000*time.Hour), 100)
	if err != nil {
		t.Fatal(err)
	}
	return due
}

// TestResumableDeliveryIsAJob: with a durable scheduler, a resumable
// delivery's next attempt is a row (rescheduled at each retry, deleted when
// it is delivered); a replica without the live delivery resumes it from
// the row through its resumer, at the stored attempt, byte-identical; a
// non-resumable delivery stays in memory.
func TestResumableDeliveryIsAJob(t *testing.T) {
	db, err := sqlstore.Open(context.Background(), "sqlite:"+filepath.Join(t.TempDir(), "jobs.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	tb := db.JobTable("ns")
	rc := &receiver{answer: func(n int) int {
		if n < 3 {
			return 503
		}
		return 200
	}}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	p := delivery.Policy{Schedule: []time.Duration{time.Minute, time.Hour}}
	a := newDurableSender(t, tb, "A", srv.Client(), p)
	b := newDurableSender(t, tb, "B", srv.Client(), p)
	rc.clock = a.clock

	d := a.Send(delivery.Request{System: "test", Kind: "hook", URL: srv.URL, Body: []byte(`{"n":1}`), IDs: map[string]string{"id": "X1"},
		Resume: "test", ResumeData: []byte("data")}, p, nil)
	rows := attemptRows(t, tb)
	if len(rows) != 1 || !rows[0].Due.Equal(t0.Add(time.Minute)) || rows[0].Owner != "A" {
		t.Fatalf("after a failed first attempt the rows are %+v; want one, A's, due in a minute", rows)
	}
	// B moves the clock: it runs A's retry from the row (A keeps its copy
	// until its own timer loses the claim).
	if _, err := b.clock.Advance(2 * time.Minute); err != nil {
		t.Fatal(err)
	}
	if len(b.resumed) != 1 || string(b.resumed[0].ResumeData) != "data" || string(b.resumed[0].Body) != `{"n":1}` || b.resumed[0].IDs["id"] != "X1" {
		t.Fatalf("B resumed %+v; want the stored message", b.resumed)
	}
	if len(rc.bodies) != 2 || !b.Busy("test", "X1") {
		t.Fatalf("%d requests, B busy %v; want 2, true (its retry is pending)", len(rc.bodies), b.Busy("test", "X1"))
	}
	rows = attemptRows(t, tb)
	if len(rows) != 1 || !rows[0].Due.Equal(t0.Add(time.Minute+time.Hour)) {
		t.Fatalf("after B's attempt 2 the rows are %+v; want attempt 3 due an hour after attempt 2 (at 1m)", rows)
	}
	// A catches up: its timer loses, and it lets go of its copy — yet its
	// retention still sees X1 busy, as B holds the delivery's row.
	a.clock.SyncTo(t0.Add(2 * time.Minute))
	if d.State() != delivery.Stopped || a.Pending() != 0 {
		t.Fatalf("A's copy: %s, %d pending; want it handed over", d.State(), a.Pending())
	}
	if !a.Busy("test", "X1") || a.Busy("test", "X") || a.Busy("test", "X11") {
		t.Fatalf("A busy X1 %v, X %v, X11 %v; want X1 only (B's pending delivery is about X1)",
			a.Busy("test", "X1"), a.Busy("test", "X"), a.Busy("test", "X11"))
	}
	if _, err := b.clock.Advance(2 * time.Hour); err != nil {
		t.Fatal(err)
	}
	if len(rc.bodies) != 3 || rc.bodies[2] != `{"n":1}` || b.Pending() != 0 || b.Busy("test", "X1") || a.Busy("test", "X1") {
		t.Fatalf("%d requests, B pending %d; want 3 and the delivery done", len(rc.bodies), b.Pending())
	}
	if rows := attemptRows(t, tb); len(rows) != 0 {
		t.Fatalf("a delivered delivery leaves rows: %+v", rows)
	}

	// Not resumable: no row.
	a.Send(delivery.Request{System: "test", Kind: "hook", URL: srv.URL + "/volatile"}, p, nil)
	if n, _ := tb.Count(context.Background()); n != 0 {
		t.Fatalf("a delivery without Resume made %d rows", n)
	}
}
