package simulator_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pspsim/pspsim/simulator/host"
	"github.com/pspsim/pspsim/simulator/simtest"
	"github.com/pspsim/pspsim/simulator/store/sqlstore"
	"github.com/pspsim/pspsim/simulator/store/sqlstore/pgtest"
)

const (
	durableCanary = "4917610000003418"
	onceRule      = `{"id":"once","match":{"system":"vmgateway","operation":"createAccessToken"},"action":{"type":"status","status":503},"frequency":{"first":1}}`
	tokenBody     = `{"appId":"086666075137001","secret":"184E52CF5365D2D7EE8EDA************"}`
)

func openDB(t *testing.T, url string) *sqlstore.DB { return simtest.OpenDB(t, url) }

func onBackend(db *sqlstore.DB) simtest.Option { return simtest.OnBackend(db) }

func ruleCounts(t *testing.T, h *simtest.Harness, id string) (matched, hits string) {
	t.Helper()
	r := h.Do("GET", "/_sim/faults/"+id, nil)
	if r.Status != 200 {
		t.Fatalf("rule %s: %d %s", id, r.Status, r.Body)
	}
	return r.JSON()["matched"].(json.Number).String(), r.JSON()["hits"].(json.Number).String()
}

// leakCanary puts the canary where no card belongs (a gateway payment's
// description): one sighting.
func leakCanary(t *testing.T, h *simtest.Harness, orderNo string) {
	t.Helper()
	pay := map[string]any{"orderNo": orderNo, "amount": "10.00", "currency": "USD", "paymentMethodType": "card", "threeDsMode": "no",
		"description": "card " + durableCanary,
		"card":        map[string]any{"cardNo": "4000123456000019", "expiryMonth": "12", "expiryYear": "2030"}, "deviceInfo": map[string]any{"clientIp": "10.1.1.1"}}
	if r := h.Do("POST", "/vm/v1/payments", pay, "Authorization", "Bearer "+h.VMToken("sandbox")); r.Status != 200 {
		t.Fatalf("payment: %d %s", r.Status, r.Body)
	}
}

func clockNow(t *testing.T, h *simtest.Harness) time.Time {
	t.Helper()
	r := h.Do("GET", "/_sim/clock", nil)
	now, err := time.Parse(time.RFC3339Nano, fmt.Sprint(r.JSON()["now"]))
	if r.Status != 200 || err != nil {
		t.Fatalf("clock: %d %s", r.Status, r.Body)
	}
	return now
}

func sightings(t *testing.T, h *simtest.Harness) string {
	t.Helper()
	r := h.Do("GET", "/_sim/canaries", nil)
	if strings.Contains(string(r.Body), durableCanary) {
		t.Fatalf("the canary listed in full: %s", r.Body)
	}
	cs, _ := r.JSON()["canaries"].([]any)
	if len(cs) != 1 {
		return "none"
	}
	return cs[0].(map[string]any)["sightings"].(json.Number).String()
}

// TestFaultsCanariesAndClockSurviveARestart: on a durable store the rules in
// force, their counters (a first:1 rule that fired does not fire again) and
// the canaries with their sightings are found by the next process, whose
// simulated clock resumes where the first left it; a reset empties the
// rules and canaries there too and leaves the clock where it is.
func TestFaultsCanariesAndClockSurviveARestart(t *testing.T) {
	for _, tc := range pgtest.Stores() {
		t.Run(tc.Name, func(t *testing.T) {
			url := tc.URL(t)
			db := openDB(t, url)
			first := simtest.New(t, onBackend(db))
			if r := first.Do("POST", "/_sim/faults", onceRule); r.Status != 201 {
				t.Fatalf("add: %d %s", r.Status, r.Body)
			}
			if r := first.Do("POST", "/_sim/faults", `{"id":"later","match":{"system":"codepay"},"action":{"type":"status","status":500},"after":"1h","for":"2h"}`); r.Status != 201 {
				t.Fatalf("add: %d %s", r.Status, r.Body)
			}
			if r := first.Do("POST", "/vm/v1/auth/token", tokenBody); r.Status != 503 {
				t.Fatalf("the rule did not fire: %d %s", r.Status, r.Body)
			}
			if r := first.Do("POST", "/_sim/canaries", map[string]any{"numbers": []string{durableCanary}, "label": "durable"}); r.Status != 201 {
				t.Fatalf("canary: %d %s", r.Status, r.Body)
			}
			leakCanary(t, first, "DURABLE1")
			later := first.Do("GET", "/_sim/faults/later", nil).JSON()
			first.Advance(30 * time.Minute)
			first.Sim.Close()
			db.Close()

			second := simtest.New(t, onBackend(openDB(t, url)))
			if now := clockNow(t, second); !now.Equal(simtest.Start.Add(30 * time.Minute)) {
				t.Fatalf("after the restart the clock is at %s; want %s", now, simtest.Start.Add(30*time.Minute))
			}
			// Matched twice: the 503, and the token leakCanary took.
			if m, h := ruleCounts(t, second, "once"); m != "2" || h != "1" {
				t.Fatalf("after the restart rule once matched %s, hit %s; want 2, 1", m, h)
			}
			if r := second.Do("POST", "/vm/v1/auth/token", tokenBody); r.Status != 200 {
				t.Fatalf("after the restart a first:1 rule fired again: %d %s", r.Status, r.Body)
			}
			if m, h := ruleCounts(t, second, "once"); m != "3" || h != "1" {
				t.Fatalf("rule once matched %s, hit %s; want 3, 1", m, h)
			}
			got := second.Do("GET", "/_sim/faults/later", nil).JSON()
			if got["activeFrom"] != later["activeFrom"] || got["activeUntil"] != later["activeUntil"] || got["active"] != false {
				t.Fatalf("the window moved over the restart: %v, was %v", got, later)
			}
			if r := second.Do("GET", "/_sim/faults", nil); !strings.Contains(string(r.Body), `"source":"magic"`) {
				t.Fatalf("the magic rules were lost: %s", r.Body)
			}
			if s := sightings(t, second); s != "1" {
				t.Fatalf("after the restart the canary has %s sightings; want 1", s)
			}
			leakCanary(t, second, "DURABLE2")
			if s := sightings(t, second); s != "2" {
				t.Fatalf("the canary has %s sightings; want 2", s)
			}
			if r := second.Do("POST", "/_sim/reset", nil); r.Status != 200 {
				t.Fatalf("reset: %d %s", r.Status, r.Body)
			}
			if now := clockNow(t, second); !now.Equal(simtest.Start.Add(30 * time.Minute)) {
				t.Fatalf("a reset moved the clock to %s", now)
			}
			if r := second.Do("GET", "/_sim/faults/once", nil); r.Status != 404 {
				t.Fatalf("a reset kept the run-time rule: %d %s", r.Status, r.Body)
			}
			if s := sightings(t, second); s != "none" {
				t.Fatalf("a reset kept the canary (%s sightings)", s)
			}
		})
	}
}

// TestReplicasShareFaultsCanariesAndClock: two simulators on one PostgreSQL
// database, as two replicas are. A rule added on one fires on the other; a
// first:1 rule fires once across both under concurrent calls; a canary
// registered on one is sighted on the other and counted for both; an
// advance of the clock on one is the time of both.
func TestReplicasShareFaultsCanariesAndClock(t *testing.T) {
	url := pgtest.URL(t)
	a := simtest.New(t, onBackend(openDB(t, url)))
	b := simtest.New(t, onBackend(openDB(t, url)))
	if r := a.Do("POST", "/_sim/faults", onceRule); r.Status != 201 {
		t.Fatalf("add: %d %s", r.Status, r.Body)
	}
	simtest.Eventually(t, "replica b takes in the rule", func() bool {
		for _, id := range b.Sim.Faults().Rules() {
			if id == "once" {
				return true
			}
		}
		return false
	})
	const calls = 40
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		got  = map[int]int{}
		both = []*simtest.Harness{a, b}
	)
	for i := range calls {
		h := both[i%2]
		wg.Go(func() {
			r := h.Do("POST", "/vm/v1/auth/token", tokenBody)
			mu.Lock()
			got[r.Status]++
			mu.Unlock()
		})
	}
	wg.Wait()
	if got[503] != 1 || got[200] != calls-1 {
		t.Fatalf("%d calls split across two replicas answered %v; want one 503", calls, got)
	}
	if m, h := ruleCounts(t, b, "once"); m != "40" || h != "1" {
		t.Fatalf("replica b counts matched %s, hit %s; want 40, 1", m, h)
	}
	if r := b.Do("DELETE", "/_sim/faults/once", nil); r.Status != 200 {
		t.Fatalf("delete on b: %d %s", r.Status, r.Body)
	}
	if r := a.Do("GET", "/_sim/faults/once", nil); r.Status != 404 {
		t.Fatalf("a rule deleted on b is still on a: %d %s", r.Status, r.Body)
	}

	if r := b.Do("POST", "/_sim/canaries", map[string]any{"numbers": []string{durableCanary}}); r.Status != 201 {
		t.Fatalf("canary: %d %s", r.Status, r.Body)
	}
	// The clock: an advance on one is the time of both, and advances on
	// both add up.
	a.Advance(2 * time.Hour)
	if now := clockNow(t, b); !now.Equal(simtest.Start.Add(2 * time.Hour)) {
		t.Fatalf("replica b's clock is at %s after a advanced 2h; want %s", now, simtest.Start.Add(2*time.Hour))
	}
	b.Advance(time.Hour)
	if now := clockNow(t, a); !now.Equal(simtest.Start.Add(3 * time.Hour)) {
		t.Fatalf("replica a's clock is at %s after b advanced 1h more; want %s", now, simtest.Start.Add(3*time.Hour))
	}

	simtest.Eventually(t, "replica a takes in the canary", func() bool { return !a.Sim.Canaries().Empty() })
	leakCanary(t, a, "REPLICA1")
	if s := sightings(t, b); s != "1" {
		t.Fatalf("replica b counts %s sightings of a leak seen on a; want 1", s)
	}
}

// hostedOn starts a host whose namespaces live in db, as `pspsim serve
// --store` does.
func hostedOn(t *testing.T, db *sqlstore.DB) *simtest.Harness {
	t.Helper()
	h, _ := simtest.NewHosted(t, func(o *host.Options) {
		reg, err := db.State(context.Background(), host.RegistryNamespace)
		if err != nil {
			t.Fatal(err)
		}
		o.Registry = reg
	}, onBackend(db))
	return h
}

// TestNamespacesRegistryIsDurableAndShared: a namespace created on one
// replica is served by the other with the same seed and clock, and by the
// next process after a restart with its rules and time; deleted on one, it
// is gone from the other.
func TestNamespacesRegistryIsDurableAndShared(t *testing.T) {
	for _, tc := range pgtest.Stores() {
		t.Run(tc.Name, func(t *testing.T) {
			url := tc.URL(t)
			db := openDB(t, url)
			a := hostedOn(t, db)
			r := a.Do("POST", "/_sim/namespaces", `{"name":"team-a","seed":42,"clock":"sim","clockStart":"2027-01-01T00:00:00Z"}`)
			if r.Status != 201 {
				t.Fatalf("create: %d %s", r.Status, r.Body)
			}
			if r := a.Do("POST", "/ns/team-a/_sim/faults", onceRule); r.Status != 201 {
				t.Fatalf("rule in the namespace: %d %s", r.Status, r.Body)
			}
			if r := a.Do("POST", "/ns/team-a/_sim/clock/advance", `{"by":"1h"}`); r.Status != 200 {
				t.Fatalf("advance: %d %s", r.Status, r.Body)
			}
			if r := a.Do("POST", "/_sim/namespaces", `{"name":"team-a"}`); r.Status != 409 {
				t.Fatalf("a second team-a: %d %s", r.Status, r.Body)
			}
			check := func(h *simtest.Harness, when string) {
				t.Helper()
				r := h.Do("GET", "/_sim/namespaces/team-a", nil)
				if r.Status != 200 || r.JSON()["seed"].(json.Number).String() != "42" {
					t.Fatalf("%s: namespace team-a: %d %s", when, r.Status, r.Body)
				}
				r = h.Do("GET", "/ns/team-a/_sim/clock", nil)
				if r.Status != 200 || r.JSON()["now"] != "2027-01-01T01:00:00Z" || r.JSON()["mode"] != "sim" {
					t.Fatalf("%s: team-a's clock: %d %s", when, r.Status, r.Body)
				}
				if r := h.Do("GET", "/ns/team-a/_sim/faults/once", nil); r.Status != 200 {
					t.Fatalf("%s: team-a's fault rule: %d %s", when, r.Status, r.Body)
				}
				if r := h.Do("GET", "/_sim/faults/once", nil); r.Status != 404 {
					t.Fatalf("%s: team-a's rule leaked into the default namespace: %d", when, r.Status)
				}
			}
			if tc.Name == "postgres" {
				b := hostedOn(t, openDB(t, url))
				check(b, "on replica b")
				if r := b.Do("GET", "/_sim/namespaces", nil); !strings.Contains(string(r.Body), `"name":"team-a"`) {
					t.Fatalf("replica b's list: %s", r.Body)
				}
				if r := b.Do("POST", "/_sim/namespaces", `{"name":"team-b"}`); r.Status != 201 {
					t.Fatalf("create on b: %d %s", r.Status, r.Body)
				}
				if r := b.Do("DELETE", "/_sim/namespaces/team-b", nil); r.Status != 200 {
					t.Fatalf("delete on b: %d %s", r.Status, r.Body)
				}
				if r := a.Do("POST", "/_sim/namespaces", `{"name":"scratch"}`); r.Status != 201 {
					t.Fatalf("create scratch on a: %d %s", r.Status, r.Body)
				}
				if r := b.Do("DELETE", "/_sim/namespaces/scratch", nil); r.Status != 200 {
					t.Fatalf("delete on b of a namespace b never served: %d %s", r.Status, r.Body)
				}
				simtest.Eventually(t, "replica a lets go of scratch", func() bool {
					return a.Do("GET", "/ns/scratch/_sim/clock", nil).Status == 404
				})
			}
			a.Sim.Close()
			db.Close()
			check(hostedOn(t, openDB(t, url)), "after a restart")
		})
	}
}
