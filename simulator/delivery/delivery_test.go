package delivery_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pspsim/pspsim/simulator/clock"
	"github.com/pspsim/pspsim/simulator/delivery"
	"github.com/pspsim/pspsim/simulator/journal"
)

var t0 = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)

type receiver struct {
	mu     sync.Mutex
	bodies []string
	keys   []string
	at     []time.Time
	answer func(n int) int
	clock  clock.Clock
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	rc.bodies = append(rc.bodies, string(b))
	rc.keys = append(rc.keys, r.Header.Get("Idempotency-Key"))
	rc.at = append(rc.at, rc.clock.Now())
	n := len(rc.bodies)
	rc.mu.Unlock()
	w.WriteHeader(rc.answer(n))
}

func TestRetriesFollowTheScheduleOnTheClockWithIdenticalBodies(t *testing.T) {
	c := clock.NewSim(t0)
	j := journal.New(c, 0)
	rc := &receiver{clock: c, answer: func(n int) int {
		if n < 4 {
			return 503
		}
		return 200
	}}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	s := delivery.NewSender(c, j, srv.Client())
	defer s.Close()
	schedule := []time.Duration{30 * time.Second, 2 * time.Minute, 10 * time.Minute, 30 * time.Minute}
	var doneState delivery.State
	d := s.Send(delivery.Request{System: "genstore", Kind: "capture", URL: srv.URL, Body: []byte(`{"captureId":"C1","amount":"1.00"}`),
		Header: http.Header{"Idempotency-Key": {"C1"}}, IDs: map[string]string{"captureId": "C1"}},
		delivery.Policy{Schedule: schedule}, func(d *delivery.Delivery) { doneState = d.State() })
	if d.State() != delivery.Pending || len(rc.bodies) != 1 {
		t.Fatalf("after first attempt: %s, %d requests", d.State(), len(rc.bodies))
	}
	c.Advance(29 * time.Second)
	if len(rc.bodies) != 1 {
		t.Fatal("retried before its time")
	}
	c.Advance(time.Hour)
	if d.State() != delivery.Done || doneState != delivery.Done {
		t.Fatalf("state %s / %s", d.State(), doneState)
	}
	wantAt := []time.Duration{0, 30 * time.Second, 150 * time.Second, 750 * time.Second}
	if len(rc.at) != 4 {
		t.Fatalf("%d attempts", len(rc.at))
	}
	for i, w := range wantAt {
		if got := rc.at[i].Sub(t0); got != w {
			t.Errorf("attempt %d at +%v, want +%v", i+1, got, w)
		}
		if rc.bodies[i] != rc.bodies[0] || rc.keys[i] != "C1" {
			t.Errorf("attempt %d differs: %q %q", i+1, rc.bodies[i], rc.keys[i])
		}
	}
	if c.Pending() != 0 {
		t.Fatal("timers left after delivery")
	}
	ev := j.Query(journal.Filter{Kind: "delivery.attempt", IDs: map[string]string{"captureId": "C1"}})
	if len(ev) != 4 || ev[3].Data["outcome"] != "delivered" || ev[0].Data["status"] != float64(503) {
		t.Fatalf("journal: %+v", ev)
	}
}

func TestFinalAnswerIsNotRetriedAndExhaustionFails(t *testing.T) {
	c := clock.NewSim(t0)
	rc := &receiver{clock: c, answer: func(int) int { return 400 }}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	s := delivery.NewSender(c, nil, srv.Client())
	defer s.Close()
	classify := func(r *delivery.Response, err error) delivery.Outcome {
		switch {
		case err != nil:
			return delivery.Retry
		case r.Status == 200:
			return delivery.Delivered
		case r.Status >= 400 && r.Status < 500 && r.Status != 408 && r.Status != 429:
			return delivery.Final
		}
		return delivery.Retry
	}
	d := s.Send(delivery.Request{URL: srv.URL}, delivery.Policy{Schedule: []time.Duration{time.Second}, Classify: classify}, nil)
	if d.State() != delivery.Failed || c.Pending() != 0 {
		t.Fatalf("400: %s, %d timers", d.State(), c.Pending())
	}
	rc.answer = func(int) int { return 429 }
	d = s.Send(delivery.Request{URL: srv.URL}, delivery.Policy{Schedule: []time.Duration{time.Second, 3 * time.Second}, Classify: classify}, nil)
	c.Advance(time.Minute)
	if d.State() != delivery.Failed || len(d.Attempts()) != 3 {
		t.Fatalf("429: %s after %d attempts", d.State(), len(d.Attempts()))
	}
}

func TestTimeoutAndConnectionErrorsAreRetried(t *testing.T) {
	c := clock.NewSim(t0)
	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer slow.Close()
	defer close(release)
	s := delivery.NewSender(c, nil, nil)
	defer s.Close()
	d := s.Send(delivery.Request{URL: slow.URL}, delivery.Policy{Schedule: []time.Duration{time.Second}, Timeout: 50 * time.Millisecond}, nil)
	a, _ := d.Last()
	if a.Error == "" || a.Outcome != "retry" || d.State() != delivery.Pending {
		t.Fatalf("timeout attempt: %+v %s", a, d.State())
	}
	dead := httptest.NewServer(http.NotFoundHandler())
	url := dead.URL
	dead.Close()
	d2 := s.Send(delivery.Request{URL: url}, delivery.Policy{Schedule: []time.Duration{time.Second}}, nil)
	if a, _ := d2.Last(); a.Error == "" || a.Outcome != "retry" {
		t.Fatalf("refused connection: %+v", a)
	}
}

func TestStopCancelsRemainingAttempts(t *testing.T) {
	c := clock.NewSim(t0)
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1); w.WriteHeader(500) }))
	defer srv.Close()
	s := delivery.NewSender(c, nil, srv.Client())
	defer s.Close()
	d := s.Send(delivery.Request{URL: srv.URL}, delivery.Policy{Schedule: []time.Duration{time.Minute, time.Minute}}, nil)
	if !d.Stop() || d.Stop() {
		t.Fatal("Stop should succeed once")
	}
	c.Advance(time.Hour)
	if hits.Load() != 1 || d.State() != delivery.Stopped || s.Pending() != 0 {
		t.Fatalf("hits %d state %s pending %d", hits.Load(), d.State(), s.Pending())
	}
	if err := d.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestHookWrapsEveryAttempt(t *testing.T) {
	c := clock.NewSim(t0)
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if r.Header.Get("X-Tampered") != "" {
			w.WriteHeader(401)
			return
		}
		w.WriteHeader(200)
	}))
	defer srv.Close()
	s := delivery.NewSender(c, nil, srv.Client())
	defer s.Close()
	// A hook that tampers the first attempt and sends every attempt twice.
	s.SetHook(func(ctx context.Context, req *delivery.Request, n int, send delivery.SendFunc) (*delivery.Response, error) {
		if n == 1 {
			req.Header.Set("X-Tampered", "1")
		}
		send(ctx, req, n)
		return send(ctx, req, n)
	})
	d := s.Send(delivery.Request{URL: srv.URL, Header: http.Header{}}, delivery.Policy{Schedule: []time.Duration{time.Second}}, nil)
	c.Advance(time.Second)
	if d.State() != delivery.Done || hits.Load() != 4 {
		t.Fatalf("state %s hits %d", d.State(), hits.Load())
	}
	if d.Request().Header.Get("X-Tampered") != "" {
		t.Fatal("hook changed the delivery's own request")
	}
}

// TestAnsweredHearsEveryAnswerCopiesIncluded: a hook that sends an attempt
// three times returns one answer to be judged, but the message's Answered
// hears all three, as sent (the tampered header visible), and an attempt
// that got no answer is heard as an error.
func TestAnsweredHearsEveryAnswerCopiesIncluded(t *testing.T) {
	c := clock.NewSim(t0)
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch n.Add(1) {
		case 1:
			w.WriteHeader(200)
			io.WriteString(w, `{"ok":true}`)
		case 2:
			w.WriteHeader(409)
		default:
			w.WriteHeader(200)
		}
	}))
	s := delivery.NewSender(c, nil, srv.Client())
	defer s.Close()
	s.SetHook(func(ctx context.Context, req *delivery.Request, attempt int, send delivery.SendFunc) (*delivery.Response, error) {
		req.Header.Set("X-Copy", "yes")
		resp, err := send(ctx, req, attempt)
		send(ctx, req, attempt)
		send(ctx, req, attempt)
		return resp, err
	})
	var mu sync.Mutex
	var heard []string
	req := delivery.Request{URL: srv.URL, Header: http.Header{}, Answered: func(r *delivery.Request, resp *delivery.Response, err error) {
		mu.Lock()
		defer mu.Unlock()
		switch {
		case err != nil:
			heard = append(heard, "error")
		default:
			heard = append(heard, fmt.Sprintf("%d %s %s", resp.Status, r.Header.Get("X-Copy"), resp.Body))
		}
	}}
	d := s.Send(req, delivery.Policy{Schedule: []time.Duration{time.Second}}, nil)
	if d.State() != delivery.Done {
		t.Fatalf("the first answer (200) is the one judged: state %s", d.State())
	}
	want := []string{`200 yes {"ok":true}`, "409 yes ", "200 yes "}
	if fmt.Sprint(heard) != fmt.Sprint(want) {
		t.Fatalf("Answered heard %q, want %q", heard, want)
	}
	srv.Close() // the next message gets no answer at all
	heard = nil
	s.Send(req, delivery.Policy{}, nil)
	if len(heard) != 3 || heard[0] != "error" {
		t.Fatalf("without a receiver Answered heard %q", heard)
	}
}

// TestDeferredAttemptRunsWhenTheHookSaysSo: a hook postpones an attempt on
// the clock without blocking the sender; the attempt then sends the request
// as the hook left it and is judged like any other. A delivery stopped while
// it waits sends nothing.
func TestDeferredAttemptRunsWhenTheHookSaysSo(t *testing.T) {
	c := clock.NewSim(t0)
	j := journal.New(c, 0)
	rc := &receiver{clock: c, answer: func(int) int { return 200 }}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	s := delivery.NewSender(c, j, srv.Client())
	defer s.Close()
	s.SetHook(func(ctx context.Context, req *delivery.Request, n int, send delivery.SendFunc) (*delivery.Response, error) {
		req.Header.Set("Idempotency-Key", "changed-by-hook")
		return nil, &delivery.Deferred{Reason: "held for a minute", Schedule: func(run func()) { c.AfterFunc(time.Minute, run) }}
	})
	d := s.Send(delivery.Request{URL: srv.URL, Header: http.Header{}, Body: []byte(`{"n":1}`)}, delivery.Policy{}, nil)
	stopped := s.Send(delivery.Request{URL: srv.URL, Header: http.Header{}, Body: []byte(`{"n":2}`)}, delivery.Policy{}, nil)
	stopped.Stop()
	if d.State() != delivery.Pending || len(rc.bodies) != 0 || len(d.Attempts()) != 0 {
		t.Fatalf("sent before its time: %s %v", d.State(), rc.bodies)
	}
	if ev := j.Query(journal.Filter{Kind: "delivery.deferred"}); len(ev) != 2 || ev[0].Data["reason"] != "held for a minute" {
		t.Fatalf("journal: %+v", ev)
	}
	c.Advance(59 * time.Second)
	if len(rc.bodies) != 0 {
		t.Fatal("sent early")
	}
	c.Advance(time.Second)
	if d.State() != delivery.Done || len(rc.bodies) != 1 || rc.bodies[0] != `{"n":1}` || rc.keys[0] != "changed-by-hook" {
		t.Fatalf("after the wait: %s %v %v", d.State(), rc.bodies, rc.keys)
	}
	if !rc.at[0].Equal(t0.Add(time.Minute)) {
		t.Fatalf("sent at %v", rc.at[0])
	}
}

func TestBusyCountsPendingDeliveriesAndHolds(t *testing.T) {
	c := clock.NewSim(t0)
	rc := &receiver{clock: c, answer: func(n int) int {
		if n < 3 {
			return 503
		}
		return 200
	}}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	s := delivery.NewSender(c, journal.New(c, 0), srv.Client())
	defer s.Close()
	ids := map[string]string{"tradeNo": "T1", "orderNo": "O1"}
	s.Send(delivery.Request{System: "vmgateway", Kind: "webhook", URL: srv.URL, IDs: ids}, delivery.Policy{Schedule: []time.Duration{time.Minute, time.Minute}}, nil)
	ids["tradeNo"] = "changed after sending" // the sender kept its own copy
	if !s.Busy("vmgateway", "T1") || !s.Busy("vmgateway", "O1") || s.Busy("codepay", "T1") {
		t.Fatal("a delivery waiting for its retry is not busy for its ids (or busy for another system)")
	}
	release := s.Hold("vmgateway", map[string]string{"tradeNo": "T2"})
	if !s.Busy("vmgateway", "T2") {
		t.Fatal("a held message is not busy")
	}
	release()
	release() // idempotent
	if s.Busy("vmgateway", "T2") {
		t.Fatal("a released hold is still busy")
	}
	c.Advance(2 * time.Minute)
	if s.Busy("vmgateway", "T1") || s.Busy("vmgateway", "O1") {
		t.Fatal("a delivered message is still busy")
	}
}
