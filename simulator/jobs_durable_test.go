package simulator_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pspsim/pspsim/simulator"
	"github.com/pspsim/pspsim/simulator/clock"
	"github.com/pspsim/pspsim/simulator/journal"
	"github.com/pspsim/pspsim/simulator/simtest"
	"github.com/pspsim/pspsim/simulator/store/sqlstore"
	"github.com/pspsim/pspsim/simulator/store/sqlstore/pgtest"
	"github.com/pspsim/pspsim/simulator/vmgateway"
)

// hook is one webhook a sink received and what it answered.
type hook struct {
	eventID string
	status  int
}

// sink is a webhook receiver whose answer to the i-th request (from 0)
// answer decides; it may block (until the request is cancelled).
type sink struct {
	mu     sync.Mutex
	got    []hook
	srv    *httptest.Server
	answer func(i int, r *http.Request) int
}

func newSink(t *testing.T, answer func(i int, r *http.Request) int) *sink {
	t.Helper()
	s := &sink{answer: answer}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		s.mu.Lock()
		i := len(s.got)
		s.got = append(s.got, hook{eventID: r.Header.Get(vmgateway.HeaderEventID)})
		s.mu.Unlock()
		st := s.answer(i, r)
		s.mu.Lock()
		s.got[i].status = st
		s.mu.Unlock()
		w.WriteHeader(st)
	}))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *sink) hooks() []hook {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]hook(nil), s.got...)
}

// delivered counts the 2xx answers per event.
func (s *sink) delivered() map[string]int {
	out := map[string]int{}
	for _, h := range s.hooks() {
		if h.status >= 200 && h.status < 300 {
			out[h.eventID]++
		}
	}
	return out
}

// failFirst answers 500 to the first n requests, then 200.
func failFirst(n int) func(int, *http.Request) int {
	return func(i int, _ *http.Request) int {
		if i < n {
			return 500
		}
		return 200
	}
}

// subscribeAndPay subscribes url to the fixture merchant's sandbox events
// and makes a captured card payment (card: a TESTCARDS number).
func subscribeAndPay(t *testing.T, h *simtest.Harness, url, orderNo, card string) {
	t.Helper()
	tok := h.VMToken("sandbox")
	if r := h.Do("POST", "/vm/v1/webhooks/subscriptions", map[string]any{"apiVersion": "20250703", "signMethod": "sha256", "subscribeUrl": url},
		"Authorization", "Bearer "+tok); r.Status != 200 {
		t.Fatalf("subscribe: %d %s", r.Status, r.Body)
	}
	pay(t, h, orderNo, card)
}

func pay(t *testing.T, h *simtest.Harness, orderNo, card string) {
	t.Helper()
	body := strings.Replace(vmPayment(orderNo), "4000123456000019", card, 1)
	if r := h.Do("POST", "/vm/v1/payments", body, "Authorization", "Bearer "+h.VMToken("sandbox")); r.Status != 200 {
		t.Fatalf("payment: %d %s", r.Status, r.Body)
	}
}

// lateCard is TESTCARDS row 12: approved, its webhook 60 s late.
const lateCard = "4000123456000126"

// waitForRetry waits until the namespace's table holds a delivery's next
// attempt (a row not running), due by `by`.
func waitForRetry(t *testing.T, db *sqlstore.DB, by time.Time, n int) {
	t.Helper()
	tb := db.JobTable(simulator.DefaultNamespace)
	simtest.Eventually(t, "the pending attempts stored", func() bool {
		rows, err := tb.Due(context.Background(), by, 100)
		return err == nil && len(rows) >= n
	})
}

// TestReplicasSendADueWebhookOnce: two replicas on one PostgreSQL database
// and one simulated clock. A webhook's retry pending on replica A and a
// webhook held back on replica B are each sent once, by whichever replica
// moves the clock past them; the other's own timer then loses its claim
// and lets go of its copy. Both replicas run throughout.
func TestReplicasSendADueWebhookOnce(t *testing.T) {
	url := pgtest.URL(t)
	db := openDB(t, url)
	a := simtest.New(t, onBackend(db))
	b := simtest.New(t, onBackend(openDB(t, url)))
	rc := newSink(t, failFirst(1))
	subscribeAndPay(t, a, rc.srv.URL, "DUE00001", "4000123456000019")
	simtest.Eventually(t, "the first attempt", func() bool { return len(rc.hooks()) == 1 })
	pay(t, b, "DUE00002", lateCard)
	waitForRetry(t, db, simtest.Start.Add(time.Minute), 2)

	b.Advance(31 * time.Second) // B runs A's retry
	simtest.Eventually(t, "the retry", func() bool { return len(rc.hooks()) == 2 })
	a.Advance(30 * time.Second) // A runs B's held-back webhook (due at 60 s)
	simtest.Eventually(t, "the held-back webhook", func() bool { return len(rc.hooks()) == 3 })
	// Both catch up and move on: their own timers lose their claims.
	for range 3 {
		a.Advance(time.Hour)
		b.Advance(time.Hour)
	}
	got := rc.hooks()
	if len(got) != 3 {
		t.Fatalf("the sink got %d requests %v; want 3 (a failed attempt and its retry, one held-back webhook)", len(got), got)
	}
	d := rc.delivered()
	if len(d) != 2 {
		t.Fatalf("delivered %v; want two events, once each", d)
	}
	for ev, n := range d {
		if n != 1 {
			t.Fatalf("event %s delivered %d times", ev, n)
		}
	}
	for name, h := range map[string]*simtest.Harness{"a": a, "b": b} {
		simtest.Eventually(t, "replica "+name+" to let go of its deliveries", func() bool { return h.Sim.Env().Sender.Pending() == 0 })
	}
	if n, _ := db.JobTable(simulator.DefaultNamespace).Count(context.Background()); n > 2 {
		// The fixtures' own jobs may remain (authorization releases…);
		// no delivery does.
		rows, _ := db.JobTable(simulator.DefaultNamespace).Due(context.Background(), simtest.Start.Add(1000*time.Hour), 100)
		for _, r := range rows {
			if r.Kind == "delivery.attempt" {
				t.Fatalf("a delivery's row stays: %+v", r)
			}
		}
	}
}

// TestReplicaKilledMidDeliveryLeavesItToTheOther: on the real clock, a
// webhook's first attempt is in flight on replica A when A goes away
// without finishing it; once A's lease expires, replica B takes the
// delivery over, rebuilds it and sends it.
func TestReplicaKilledMidDeliveryLeavesItToTheOther(t *testing.T) {
	url := pgtest.URL(t)
	realClock := func(o *simulator.Options) { o.Clock = clock.NewReal(); o.JobLease = 500 * time.Millisecond }
	a := simtest.New(t, onBackend(openDB(t, url)), realClock)
	b := simtest.New(t, onBackend(openDB(t, url)), realClock)
	rc := newSink(t, func(i int, r *http.Request) int {
		if i == 0 {
			<-r.Context().Done() // A's attempt hangs until A goes away
			return 500
		}
		return 200
	})
	subscribeAndPay(t, a, rc.srv.URL, "KILL0001", "4000123456000019")
	simtest.Eventually(t, "A's attempt in flight", func() bool { return len(rc.hooks()) == 1 })
	a.Sim.Close()
	simtest.Eventually(t, "B to deliver the webhook", func() bool { return len(rc.delivered()) == 1 })
	got := rc.hooks()
	if got[len(got)-1].eventID != got[0].eventID {
		t.Fatalf("B sent %s, A was sending %s", got[len(got)-1].eventID, got[0].eventID)
	}
	if ev := b.Sim.Journal().Query(journal.Filter{Kind: "delivery.resumed"}); len(ev) != 1 {
		t.Fatalf("B journaled %d resumed deliveries, want 1", len(ev))
	}
	simtest.Eventually(t, "B's delivery to finish", func() bool { return b.Sim.Env().Sender.Pending() == 0 })
}

// TestPendingWebhooksSurviveARestart: a webhook whose retry is pending and
// one held back by its test card survive closing the simulator; the next
// process on the same database sends both when their time comes.
func TestPendingWebhooksSurviveARestart(t *testing.T) {
	for _, tc := range pgtest.Stores() {
		t.Run(tc.Name, func(t *testing.T) {
			url := tc.URL(t)
			db := openDB(t, url)
			first := simtest.New(t, onBackend(db))
			rc := newSink(t, failFirst(1))
			subscribeAndPay(t, first, rc.srv.URL, "RST00001", "4000123456000019")
			simtest.Eventually(t, "the first attempt", func() bool { return len(rc.hooks()) == 1 })
			pay(t, first, "RST00002", lateCard)
			waitForRetry(t, db, simtest.Start.Add(time.Minute), 2)
			first.Sim.Close()
			db.Close()

			second := simtest.New(t, onBackend(openDB(t, url)))
			if n := len(rc.hooks()); n != 1 {
				t.Fatalf("%d requests before the clock moved, want 1", n)
			}
			second.Advance(2 * time.Minute)
			simtest.Eventually(t, "both webhooks delivered", func() bool { return len(rc.delivered()) == 2 })
			second.Advance(24 * time.Hour)
			if got := rc.hooks(); len(got) != 3 {
				t.Fatalf("the sink got %v; want 3 requests (a failed attempt, its retry, the held-back one)", got)
			}
			if ev := second.Sim.Journal().Query(journal.Filter{Kind: "delivery.resumed"}); len(ev) != 2 {
				t.Fatalf("journaled %d resumed deliveries, want 2", len(ev))
			}
		})
	}
}
