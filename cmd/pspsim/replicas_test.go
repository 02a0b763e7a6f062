package main

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pspsim/pspsim/simulator"
	"github.com/pspsim/pspsim/simulator/store/sqlstore/pgtest"
	"github.com/pspsim/pspsim/simulator/vmgateway"
)

// replicaLease is the --job-lease of the replica tests: short, so that a
// dead replica's deliveries pass to the other within seconds, yet four
// renewals long (the lease loop ticks every lease/4), so that a live
// replica's lease does not lapse on a busy machine.
const replicaLease = 2 * time.Second

// sinkHook is one webhook a replicaSink received and what it answered.
type sinkHook struct {
	eventID string
	status  int
}

// replicaSink is a webhook receiver whose answer to the i-th request (from
// 0) answer decides; answer may block, e.g. until the sender goes away.
type replicaSink struct {
	mu     sync.Mutex
	got    []sinkHook
	srv    *httptest.Server
	answer func(i int, r *http.Request) int
}

func newReplicaSink(t *testing.T, answer func(i int, r *http.Request) int) *replicaSink {
	t.Helper()
	s := &replicaSink{answer: answer}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		s.mu.Lock()
		i := len(s.got)
		s.got = append(s.got, sinkHook{eventID: r.Header.Get(vmgateway.HeaderEventID)})
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

func (s *replicaSink) hooks() []sinkHook {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]sinkHook(nil), s.got...)
}

// delivered counts the 2xx answers per event id.
func (s *replicaSink) delivered() map[string]int {
	out := map[string]int{}
	for _, h := range s.hooks() {
		if h.status >= 200 && h.status < 300 {
			out[h.eventID]++
		}
	}
	return out
}

// deliveryRow is a pending delivery's row in the jobs table (migration
// 00004): which replica owns it and whether an attempt is in flight.
type deliveryRow struct {
	owner   string
	running bool
}

// deliveryRows reads the default namespace's pending deliveries straight
// from the database the replicas share: the test sees what neither process
// says over HTTP (whose row it is, and that none is left).
func deliveryRows(t *testing.T, db *sql.DB) []deliveryRow {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	rows, err := db.QueryContext(ctx, `SELECT owner, running FROM jobs WHERE namespace = $1 AND kind = 'delivery.attempt' ORDER BY due`, simulator.DefaultNamespace)
	if err != nil {
		t.Fatalf("read the delivery rows: %v", err)
	}
	defer rows.Close()
	var out []deliveryRow
	for rows.Next() {
		var r deliveryRow
		var running int
		if err := rows.Scan(&r.owner, &running); err != nil {
			t.Fatalf("read the delivery rows: %v", err)
		}
		r.running = running != 0
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("read the delivery rows: %v", err)
	}
	return out
}

func openPG(t *testing.T, url string) *sql.DB {
	t.Helper()
	db, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// settle waits until no delivery is pending in the database, then for
// two more leases: long enough for a replica's timer, its lease loop
// (every lease/4) or a takeover of an expired lease to send a duplicate if
// the claims let one through. The extra wait is a floor, not a bound: a
// slow machine only makes it longer in effect, never makes the test fail.
func settle(t *testing.T, db *sql.DB) {
	t.Helper()
	waitFor(t, "no pending delivery in the database", func() bool { return len(deliveryRows(t, db)) == 0 })
	time.Sleep(2 * replicaLease)
}

// assertOnceEach fails unless the sink got want requests and acknowledged
// each event exactly once.
func assertOnceEach(t *testing.T, s *replicaSink, want, events int) {
	t.Helper()
	got := s.hooks()
	if len(got) != want {
		t.Fatalf("the sink got %d requests %v; want %d", len(got), got, want)
	}
	d := s.delivered()
	if len(d) != events {
		t.Fatalf("delivered %v; want %d events, once each", d, events)
	}
	for ev, n := range d {
		if ev == "" || n != 1 {
			t.Fatalf("event %q delivered %d times; want once (all: %v)", ev, n, d)
		}
	}
}

// subscribe points the fixture merchant's webhooks at url through c.
func subscribe(t *testing.T, c *child, url string, auth []string) {
	t.Helper()
	if code, m := c.do(t, "POST", "/vm/v1/webhooks/subscriptions", `{"apiVersion":"20250703","signMethod":"sha256","subscribeUrl":"`+url+`"}`, auth...); code != 200 {
		t.Fatalf("subscribe: %d %v", code, m)
	}
}

// payOn makes a captured card payment through c with the TESTCARDS number
// card.
func payOn(t *testing.T, c *child, orderNo, card string, auth []string) {
	t.Helper()
	body := strings.Replace(fmt.Sprintf(crashPayment, orderNo), "4000123456000019", card, 1)
	if code, m := c.do(t, "POST", "/vm/v1/payments", body, auth...); code != 200 || m["status"] != "CAPTURED" {
		t.Fatalf("payment %s: %d %v", orderNo, code, m)
	}
}

// advance moves the shared simulated clock through c.
func advance(t *testing.T, c *child, by string) {
	t.Helper()
	if code, m := c.do(t, "POST", "/_sim/clock/advance", `{"by":"`+by+`"}`); code != 200 {
		t.Fatalf("advance %s: %d %v", by, code, m)
	}
}

const (
	// approvedCard is TESTCARDS row 1: approved, its webhook sent at once.
	approvedCard = "4000123456000019"
	// lateCard is TESTCARDS row 12: approved, its webhook 60 s late.
	lateCard = "4000123456000126"
)

// TestReplicaProcessesSendADueWebhookOnce: two `pspsim serve` processes on
// one PostgreSQL database and one simulated clock, both running
// throughout. The webhook is subscribed on A; a payment on B has its first
// attempt refused, so its retry is pending on B, and a payment on A has its
// webhook held back 60 s, pending on A. A moves the clock past B's retry
// and B past A's held-back webhook: each is sent by the replica that moved
// the clock, and the owner's own timer then loses its claim. After both
// move the clock on by hours and the leases have had time to expire and be
// renewed, the sink has seen each event acknowledged exactly once.
func TestReplicaProcessesSendADueWebhookOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("runs pspsim processes")
	}
	url := pgtest.URL(t)
	db := openPG(t, url)
	args := []string{"--store", url, "--clock", "sim", "--clock-start", "2027-01-01T00:00:00Z", "--job-lease", replicaLease.String()}
	rc := newReplicaSink(t, func(i int, _ *http.Request) int {
		if i == 0 {
			return http.StatusInternalServerError
		}
		return http.StatusOK
	})
	a := startChild(t, append(args, "--replica", "a")...)
	b := startChild(t, append(args, "--replica", "b")...)
	auth := []string{"Authorization", "Bearer " + a.vmToken(t)}

	subscribe(t, a, rc.srv.URL, auth)
	payOn(t, b, "DUEPROC1", approvedCard, auth)
	waitFor(t, "B's first attempt", func() bool { return len(rc.hooks()) == 1 })
	payOn(t, a, "DUEPROC2", lateCard, auth)
	waitFor(t, "both deliveries pending, one on each replica", func() bool {
		rows := deliveryRows(t, db)
		owners := map[string]int{}
		for _, r := range rows {
			if !r.running {
				owners[r.owner]++
			}
		}
		return len(rows) == 2 && owners["a"] == 1 && owners["b"] == 1
	})

	advance(t, a, "31s") // A runs B's retry (due at 30 s)
	waitFor(t, "the retry", func() bool { return len(rc.hooks()) >= 2 })
	advance(t, b, "30s") // B runs A's held-back webhook (due at 60 s)
	waitFor(t, "the held-back webhook", func() bool { return len(rc.delivered()) >= 2 })
	for range 3 {
		advance(t, a, "1h")
		advance(t, b, "1h")
	}
	settle(t, db)

	assertOnceEach(t, rc, 3, 2)
	if got := rc.hooks(); got[1].eventID != got[0].eventID {
		t.Fatalf("the retry sent event %q, the refused first attempt %q", got[1].eventID, got[0].eventID)
	}
}

// TestReplicaProcessKilledMidDeliveryLeavesItToTheOther: two `pspsim
// serve` processes on one PostgreSQL database, on the real clock, with a
// short --job-lease. The webhook is subscribed on B and a payment made on
// A; A's first attempt hangs at the sink, its row running and owned by A,
// and B leaves it alone for two leases while A lives; then A is killed
// with SIGKILL. Once A's lease expires B takes the delivery
// over and sends it — the same event id — and it is acknowledged once.
func TestReplicaProcessKilledMidDeliveryLeavesItToTheOther(t *testing.T) {
	if testing.Short() {
		t.Skip("runs pspsim processes")
	}
	url := pgtest.URL(t)
	db := openPG(t, url)
	args := []string{"--store", url, "--job-lease", replicaLease.String()}
	// The sink first: its Close, which waits for a hung request, then
	// runs after the processes are killed.
	rc := newReplicaSink(t, func(i int, r *http.Request) int {
		if i == 0 {
			// A's attempt hangs until A dies and its connection closes
			// (bounded, so that a failing test still ends).
			select {
			case <-r.Context().Done():
			case <-time.After(patience):
			}
			return http.StatusInternalServerError
		}
		return http.StatusOK
	})
	a := startChild(t, append(args, "--replica", "a")...)
	b := startChild(t, append(args, "--replica", "b")...)
	auth := []string{"Authorization", "Bearer " + b.vmToken(t)}

	subscribe(t, b, rc.srv.URL, auth)
	payOn(t, a, "KILLPROC1", approvedCard, auth)
	waitFor(t, "A's attempt in flight", func() bool { return len(rc.hooks()) == 1 })
	// While A lives its lease holds, renewed: for two leases B leaves
	// the delivery alone (A's attempt times out only after
	// vmgateway.WebhookTimeout, 10 s).
	time.Sleep(2 * replicaLease)
	if got := rc.hooks(); len(got) != 1 {
		t.Fatalf("while A lived and its attempt hung, the sink got %v; want A's attempt alone", got)
	}
	if rows := deliveryRows(t, db); len(rows) != 1 || rows[0] != (deliveryRow{owner: "a", running: true}) {
		t.Fatalf("while A's attempt hangs, the delivery rows are %+v; want one, A's, running", rows)
	}
	a.kill()

	waitFor(t, "B to deliver the webhook", func() bool { return len(rc.delivered()) == 1 })
	got := rc.hooks()
	if last := got[len(got)-1]; last.eventID != got[0].eventID {
		t.Fatalf("B sent event %q, A was sending %q", last.eventID, got[0].eventID)
	}
	code, m := b.do(t, "GET", "/_sim/events?kind=delivery.resumed", "")
	if evs, _ := m["events"].([]any); code != 200 || len(evs) != 1 {
		_, all := b.do(t, "GET", "/_sim/events?limit=200", "")
		list, _ := all["events"].([]any)
		for _, e := range list {
			e, _ := e.(map[string]any)
			t.Logf("B's journal: %v %v %v: %v", e["seq"], e["system"], e["kind"], e["message"])
		}
		t.Fatalf("B's journal of resumed deliveries: %d %v; want one", code, m)
	}
	settle(t, db)
	assertOnceEach(t, rc, 2, 1)
}
