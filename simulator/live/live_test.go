package live

import (
	"bufio"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/pspsim/pspsim/simulator/clock"
	"github.com/pspsim/pspsim/simulator/journal"
)

// TestStreamSaysWhatChangedAndNothingMore: a matching event becomes a
// change event with its sequence number and kind only; others are not sent.
func TestStreamSaysWhatChangedAndNothingMore(t *testing.T) {
	j := journal.New(clock.NewSim(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)), 0)
	done := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		Stream(w, r, j, journal.Filter{IDs: map[string]string{"terminal_sn": "T1"}}, done)
	}))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL, nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if ct := res.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("content type %q", ct)
	}
	rd := bufio.NewReader(res.Body)
	if line, _ := rd.ReadString('\n'); !strings.HasPrefix(line, "retry:") {
		t.Fatalf("first line %q", line)
	}
	j.Record(journal.Event{System: "codepay", Kind: "order.created", IDs: map[string]string{"terminal_sn": "T2"}})
	j.Record(journal.Event{System: "codepay", Kind: "order.pushed", IDs: map[string]string{"terminal_sn": "T1", "card": "4000123456000001"},
		Data: map[string]any{"secret": "x"}})
	var got []string
	for len(got) < 3 {
		line, err := rd.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(line, "id:") || strings.HasPrefix(line, "event:") || strings.HasPrefix(line, "data:") {
			got = append(got, strings.TrimSpace(line))
		}
	}
	want := []string{"id: 2", "event: change", `data: {"seq":2,"system":"codepay","kind":"order.pushed"}`}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("got %q, want %q", got, want)
		}
	}
	close(done)
	if _, err := rd.ReadString('\n'); err == nil {
		for {
			if _, err := rd.ReadString('\n'); err != nil {
				break
			}
		}
	}
}
