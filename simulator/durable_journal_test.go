package simulator_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pspsim/pspsim/simulator/journal"
	"github.com/pspsim/pspsim/simulator/simtest"
	"github.com/pspsim/pspsim/simulator/store/sqlstore/pgtest"
)

// eventKinds lists the kinds GET /_sim/events answers for a query.
func eventKinds(t *testing.T, h *simtest.Harness, query string) []string {
	t.Helper()
	r := h.Do("GET", "/_sim/events?"+query, nil)
	if r.Status != 200 {
		t.Fatalf("events: %d %s", r.Status, r.Body)
	}
	var out []string
	for _, e := range r.JSON()["events"].([]any) {
		out = append(out, e.(map[string]any)["kind"].(string))
	}
	return out
}

// TestJournalSurvivesARestart: with a durable store, GET /_sim/events after
// a restart shows what happened before it, numbered on from there; a reset
// empties it.
func TestJournalSurvivesARestart(t *testing.T) {
	for _, tc := range pgtest.Stores() {
		t.Run(tc.Name, func(t *testing.T) {
			url := tc.URL(t)
			db := openDB(t, url)
			first := simtest.New(t, onBackend(db))
			if r := first.Do("POST", "/vm/v1/auth/token", tokenBody); r.Status != 200 {
				t.Fatalf("token: %d %s", r.Status, r.Body)
			}
			before := first.Do("GET", "/_sim/events?system=vmgateway", nil).JSON()
			if len(before["events"].([]any)) == 0 {
				t.Fatalf("no gateway event recorded: %v", before)
			}
			first.Sim.Close()
			db.Close()

			second := simtest.New(t, onBackend(openDB(t, url)))
			after := second.Do("GET", "/_sim/events?system=vmgateway", nil).JSON()
			if fmt.Sprint(after["events"]) != fmt.Sprint(before["events"]) {
				t.Fatalf("after the restart the gateway's events are\n%v\nwere\n%v", after["events"], before["events"])
			}
			all := eventKinds(t, second, "after=0")
			if n := strings.Count(strings.Join(all, " "), "sim.started"); n != 2 {
				t.Fatalf("the journal after a restart shows %d starts; want 2: %v", n, all)
			}
			if r := second.Do("POST", "/_sim/reset", nil); r.Status != 200 {
				t.Fatalf("reset: %d %s", r.Status, r.Body)
			}
			if got := eventKinds(t, second, "system=vmgateway"); len(got) != 0 {
				t.Fatalf("after a reset the gateway's events remain: %v", got)
			}
			last, _ := second.Do("GET", "/_sim/events", nil).JSON()["lastSeq"].(json.Number).Int64()
			was, _ := before["lastSeq"].(json.Number).Int64()
			if last <= was {
				t.Fatalf("after a reset the numbering went back: lastSeq %d, was %d", last, was)
			}
		})
	}
}

// TestReplicasSeeEachOthersEvents: two replicas on one PostgreSQL database
// serve one journal: an event recorded on one is listed on the other, in
// one numbering, and streamed to the other's live subscribers.
func TestReplicasSeeEachOthersEvents(t *testing.T) {
	url := pgtest.URL(t)
	a := simtest.New(t, onBackend(openDB(t, url)))
	b := simtest.New(t, onBackend(openDB(t, url)))
	ch, cancel := b.Sim.Journal().Subscribe(journal.Filter{System: "vmgateway"}, 64)
	defer cancel()
	if r := a.Do("POST", "/vm/v1/auth/token", tokenBody); r.Status != 200 {
		t.Fatalf("token: %d %s", r.Status, r.Body)
	}
	// a's events reach the database within a flush; b reads them there.
	simtest.Eventually(t, "replica b lists a's gateway events", func() bool {
		return len(eventKinds(t, b, "system=vmgateway")) > 0
	})
	onA, onB := eventKinds(t, a, "after=0"), eventKinds(t, b, "after=0")
	if fmt.Sprint(onA) != fmt.Sprint(onB) {
		t.Fatalf("the replicas list different journals:\n%v\n%v", onA, onB)
	}
	select {
	case e := <-ch:
		if e.System != "vmgateway" {
			t.Fatalf("b's subscriber got %+v", e)
		}
	case <-time.After(simtest.Patience):
		t.Fatal("b's subscriber was not told of a's event")
	}
}

// TestConcurrentRuleInstallsOnTwoReplicas: rules added at once on two
// replicas all hold — the rules document is saved by compare-and-swap, and a
// replica that loses the swap takes in the other's rules and adds its own
// again.
func TestConcurrentRuleInstallsOnTwoReplicas(t *testing.T) {
	url := pgtest.URL(t)
	a := simtest.New(t, onBackend(openDB(t, url)))
	b := simtest.New(t, onBackend(openDB(t, url)))
	const each = 12
	var wg sync.WaitGroup
	for _, side := range []struct {
		name string
		h    *simtest.Harness
	}{{"a", a}, {"b", b}} {
		for i := range each {
			wg.Go(func() {
				rule := fmt.Sprintf(`{"id":"%s-%d","match":{"system":"codepay"},"action":{"type":"status","status":500},"after":"%dh"}`, side.name, i, i+1)
				if r := side.h.Do("POST", "/_sim/faults", rule); r.Status != 201 {
					t.Errorf("add %s-%d: %d %s", side.name, i, r.Status, r.Body)
				}
			})
		}
	}
	wg.Wait()
	for _, h := range []*simtest.Harness{a, b} {
		h.Do("GET", "/_sim/faults", nil) // takes in the newest saved list
		ids := map[string]bool{}
		for _, id := range h.Sim.Faults().Rules() {
			ids[id] = true
		}
		for _, side := range []string{"a", "b"} {
			for i := range each {
				if id := fmt.Sprintf("%s-%d", side, i); !ids[id] {
					t.Errorf("rule %s is lost (rules in force: %d)", id, len(ids))
				}
			}
		}
	}
}
