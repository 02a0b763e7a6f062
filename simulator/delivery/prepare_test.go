package delivery_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/pspsim/pspsim/simulator/clock"
	"github.com/pspsim/pspsim/simulator/delivery"
	"github.com/pspsim/pspsim/simulator/journal"
)

// TestPrepareResignsEachAttemptButKeepsTheBody checks the per-attempt hook
// Genstore uses for fresh signed timestamps: every attempt gets its own URL,
// and the body stays byte-identical even if Prepare tried to change it.
func TestPrepareResignsEachAttemptButKeepsTheBody(t *testing.T) {
	c := clock.NewSim(t0)
	var mu sync.Mutex
	var queries, bodies []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		queries = append(queries, r.URL.RawQuery)
		bodies = append(bodies, string(b))
		n := len(bodies)
		mu.Unlock()
		if n < 3 {
			w.WriteHeader(503)
		}
	}))
	defer srv.Close()
	s := delivery.NewSender(c, journal.New(c, 0), srv.Client())
	defer s.Close()
	d := s.Send(delivery.Request{System: "genstore", Kind: "refund", URL: srv.URL, Body: []byte(`{"refundId":"R1"}`),
		Prepare: func(r *delivery.Request, attempt int) {
			r.URL = fmt.Sprintf("%s?timestamp=%d&attempt=%d", r.URL, c.Now().Unix(), attempt)
			r.Body = []byte("changed")
		}}, delivery.Policy{Schedule: []time.Duration{time.Minute, time.Minute}}, nil)
	c.Advance(2 * time.Minute)
	if d.State() != delivery.Done {
		t.Fatalf("state %s", d.State())
	}
	want := []string{
		fmt.Sprintf("timestamp=%d&attempt=1", t0.Unix()),
		fmt.Sprintf("timestamp=%d&attempt=2", t0.Add(time.Minute).Unix()),
		fmt.Sprintf("timestamp=%d&attempt=3", t0.Add(2*time.Minute).Unix()),
	}
	if fmt.Sprint(queries) != fmt.Sprint(want) {
		t.Fatalf("queries %v, want %v", queries, want)
	}
	for _, b := range bodies {
		if b != `{"refundId":"R1"}` {
			t.Fatalf("body changed: %q", b)
		}
	}
}
