package threeds_test

import (
	"context"
	"net/http/httptest"
	"slices"
	"sort"
	"testing"

	"github.com/pspsim/pspsim/simulator/clock"
	"github.com/pspsim/pspsim/simulator/ids"
	"github.com/pspsim/pspsim/simulator/jobs"
	"github.com/pspsim/pspsim/simulator/journal"
	"github.com/pspsim/pspsim/simulator/store"
	"github.com/pspsim/pspsim/simulator/threeds"
)

// TestPendingAuthenticationsEndByJobs: a challenge and a decoupled
// authentication each leave one job on the scheduler they are given, named
// by kind and threeDSServerTransID and due when they end; the job ends them
// inside a "timer" context (InTimer); and a job that fires after the
// cardholder or the admin action ended its authentication changes nothing
// (no second OnComplete, no event, the result stands).
func TestPendingAuthenticationsEndByJobs(t *testing.T) {
	c := clock.NewSim(start)
	jr := journal.New(c, 0)
	sched := jobs.NewMemory(c)
	srv := httptest.NewServer(nil)
	t.Cleanup(srv.Close)
	svc, err := threeds.New(threeds.Options{Clock: c, Store: store.NewMemory(), Journal: jr, IDs: ids.New(7), BaseURL: func() string { return srv.URL }, Jobs: sched})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	type call struct {
		r       threeds.Result
		inTimer bool
	}
	var calls []call
	auth := func(card string) threeds.Result {
		r := req(card)
		r.OnComplete = func(ctx context.Context, res threeds.Result) { calls = append(calls, call{res, threeds.InTimer(ctx)}) }
		res, err := svc.Authenticate(ctx, r)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	ch := auth("4000123456000068")  // challenge
	dc := auth("5100123456000130")  // decoupled, 30 s
	dc2 := auth("5100123456000130") // decoupled, left to its job

	var got []string
	for _, j := range sched.Jobs() {
		if !slices.Contains(threeds.JobKinds(), j.Kind) {
			t.Errorf("job kind %s is not among threeds.JobKinds", j.Kind)
		}
		got = append(got, j.Kind+" "+j.Key+" +"+j.Due.Sub(start).String())
	}
	sort.Strings(got)
	want := []string{
		"threeds.challenge.expire " + ch.ThreeDSServerTransID + " +10m0s",
		"threeds.decoupled.resolve " + dc.ThreeDSServerTransID + " +30s",
		"threeds.decoupled.resolve " + dc2.ThreeDSServerTransID + " +30s",
	}
	sort.Strings(want)
	if !slices.Equal(got, want) {
		t.Fatalf("pending jobs:\n%v\nwant\n%v", got, want)
	}

	for _, id := range []string{ch.ACSTransID, dc.ACSTransID} {
		if _, err := svc.Complete(ctx, id, threeds.Completion{Action: "result", Result: "fail"}); err != nil {
			t.Fatal(err)
		}
	}
	events := jr.Len()
	c.Advance(threeds.DefaultChallengeTimeout)
	if len(calls) != 3 || calls[2].r.ThreeDSServerTransID != dc2.ThreeDSServerTransID || calls[2].r.TransStatus != "Y" || !calls[2].inTimer || calls[0].inTimer {
		t.Fatalf("callbacks: %+v", calls)
	}
	if jr.Len() != events+1 { // dc2's completion, nothing for the two already final
		t.Fatalf("%d events after the jobs fired, want 1", jr.Len()-events)
	}
	for _, id := range []string{ch.ThreeDSServerTransID, dc.ThreeDSServerTransID} {
		if r, _ := svc.Get(ctx, id); r.TransStatus != "N" {
			t.Fatalf("%s: %s after its job fired late", id, r.TransStatus)
		}
	}
	if sched.Len() != 0 {
		t.Fatalf("%d jobs left", sched.Len())
	}
}
