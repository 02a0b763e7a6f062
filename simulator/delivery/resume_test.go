package delivery_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
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
	mu      sync.Mutex
	resumed []delivery.Request
}

// Resumed returns the requests the sender's resumer was asked to rebuild.
func (ds *durableSender) Resumed() []delivery.Request {
	ds.mu.Lock()
	defer ds.mu.Unlock()
	return append([]delivery.Request(nil), ds.resumed...)
}

func newDurableSender(t *testing.T, tb jobs.Table, owner string, client *http.Client, p delivery.Policy) *durableSender {
	t.Helper()
	return newDurableSenderWith(t, jobs.DurableOptions{Table: tb, Owner: owner}, client, p)
}

// newDurableSenderWith is newDurableSender with o's options (its clock is
// the sender's own).
func newDurableSenderWith(t *testing.T, o jobs.DurableOptions, client *http.Client, p delivery.Policy) *durableSender {
	t.Helper()
	c := clock.NewSim(t0)
	o.Clock = c
	d := jobs.NewDurable(o)
	c.BeforeMove(d.BeforeMove)
	s := delivery.NewSender(c, journal.New(c, 0), client)
	ds := &durableSender{Sender: s, jobs: d, clock: c}
	s.SetJobs(d)
	s.OnResume("test", func(_ context.Context, req delivery.Request) (delivery.Request, delivery.Policy, func(*delivery.Delivery), bool, error) {
		ds.mu.Lock()
		ds.resumed = append(ds.resumed, req)
		ds.mu.Unlock()
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

// TestPreparedDeliveryIsStoredBeforeItsObject: a prepared delivery is a row
// before anything is sent, so that the object it is about can be stored
// after it: discarded (the object was not stored), its row goes with no
// attempt and no onDone; left by a crash before its first attempt, the next
// process sends it when its resumer finds the object, and drops it when
// the resumer finds none.
func TestPreparedDeliveryIsStoredBeforeItsObject(t *testing.T) {
	db, err := sqlstore.Open(context.Background(), "sqlite:"+filepath.Join(t.TempDir(), "jobs.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	tb := db.JobTable("ns")
	rc := &receiver{answer: func(int) int { return 200 }}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	p := delivery.Policy{Schedule: []time.Duration{time.Minute}}
	a := newDurableSender(t, tb, "A", srv.Client(), p)
	rc.clock = a.clock
	msg := func(id, data string) delivery.Request {
		return delivery.Request{System: "test", Kind: "hook", URL: srv.URL, Body: []byte(`{"id":"` + id + `"}`), IDs: map[string]string{"id": id},
			Resume: "test", ResumeData: []byte(data)}
	}
	count := func() int {
		n, err := tb.Count(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return n
	}

	done := 0
	d := a.Prepare(msg("P1", "data"), p, func(*delivery.Delivery) { done++ })
	if count() != 1 || len(rc.bodies) != 0 || !a.Busy("test", "P1") {
		t.Fatalf("prepared: %d rows, %d requests, busy %v; want 1 row, nothing sent, busy", count(), len(rc.bodies), a.Busy("test", "P1"))
	}
	d.Discard()
	d.Go() // a discarded delivery is never sent
	if count() != 0 || len(rc.bodies) != 0 || done != 0 || a.Busy("test", "P1") || a.Pending() != 0 {
		t.Fatalf("discarded: %d rows, %d requests, onDone %d, busy %v, %d pending; want nothing left", count(), len(rc.bodies), done, a.Busy("test", "P1"), a.Pending())
	}
	d = a.Prepare(msg("P2", "data"), p, func(*delivery.Delivery) { done++ })
	d.Go()
	d.Go() // the first attempt is made once
	if count() != 0 || len(rc.bodies) != 1 || done != 1 || d.State() != delivery.Done {
		t.Fatalf("sent: %d rows, %d requests, onDone %d, %s; want one request, delivered, no row", count(), len(rc.bodies), done, d.State())
	}

	// A crash after Prepare: one delivery's object was stored, the other's
	// was not (its resumer answers "unwanted": no object).
	a.Prepare(msg("P3", "data"), p, nil)
	a.Prepare(msg("P4", "unwanted"), p, nil)
	a.jobs.Close() // the rows stay, as after a SIGKILL
	b := newDurableSenderWith(t, jobs.DurableOptions{Table: tb, Owner: "B", TakeAll: true}, srv.Client(), p)
	// The taken-over rows are due: they run when the clock moves.
	if _, err := b.clock.Advance(time.Second); err != nil {
		t.Fatal(err)
	}
	// wall time: a bound on waiting for the resumed attempts.
	for deadline := time.Now().Add(10 * time.Second); len(b.Resumed()) != 2 || count() != 0; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("after the restart: %d resumed, %d rows; want both resumed, no row left", len(b.Resumed()), count())
		}
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if len(rc.bodies) != 2 || rc.bodies[1] != `{"id":"P3"}` {
		t.Fatalf("after the restart the requests are %q; want P3's only (P4's object was never stored)", rc.bodies)
	}
}
