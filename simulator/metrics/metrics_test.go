package metrics

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestScopesShareSeriesAndLabelTheNamespace(t *testing.T) {
	m := New()
	a, b := m.Scope(""), m.Scope("")
	a.Request("vmgateway", "createPayment", 200, time.Millisecond)
	b.Request("vmgateway", "createPayment", 200, time.Millisecond)
	m.Scope("team-b").Request("vmgateway", "createPayment", 0, time.Millisecond)
	if got := testutil.ToFloat64(m.requests.WithLabelValues("default", "vmgateway", "createPayment", "200")); got != 2 {
		t.Errorf("default namespace: %v requests, want 2 (two scopes, one series)", got)
	}
	if got := testutil.ToFloat64(m.requests.WithLabelValues("team-b", "vmgateway", "createPayment", "none")); got != 1 {
		t.Errorf("a cut connection: %v, want 1 with status none", got)
	}
}

// A nil scope (a simulator built without metrics) takes every call without
// panicking — a panic fails the test — and its Watch gives a stop function.
func TestNilScopeIsSafeToUse(t *testing.T) {
	var s *Scope
	s.Request("a", "b", 200, 0)
	s.Delivery("a", "b", "retry")
	s.Fault("r", "drop")
	stop := s.Watch(Source{})
	if stop == nil {
		t.Fatal("Watch on a nil scope returned no stop function")
	}
	stop()
}

func TestWatchReadsAtScrapeTimeUntilStopped(t *testing.T) {
	m := New()
	n := 3
	stop := m.Scope("ns1").Watch(Source{Objects: func() map[string]int { return map[string]int{"vm.payment": n} }, Events: func() int { return 10 }})
	m.Scope("ns1").Watch(Source{Events: func() int { return 5 }}) // a second simulator of the namespace adds up
	n = 4
	want := `
# HELP pspsim_journal_events Events the journal holds, by namespace (read at scrape time).
# TYPE pspsim_journal_events gauge
pspsim_journal_events{namespace="ns1"} 15
# HELP pspsim_objects Objects the store holds, by namespace and kind (read at scrape time).
# TYPE pspsim_objects gauge
pspsim_objects{kind="vm.payment",namespace="ns1"} 4
`
	if err := testutil.GatherAndCompare(m.Registry(), strings.NewReader(want), "pspsim_objects", "pspsim_journal_events"); err != nil {
		t.Error(err)
	}
	stop()
	if c, _ := testutil.GatherAndCount(m.Registry(), "pspsim_objects"); c != 0 {
		t.Errorf("%d object series after the simulator closed", c)
	}
}

// BenchmarkNew: what a simulator built without Options.Metrics pays for a
// private set of collectors.
func BenchmarkNew(b *testing.B) {
	for b.Loop() {
		New()
	}
}
