package codepay_test

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pspsim/pspsim/simulator/codepay"
	"github.com/pspsim/pspsim/simulator/jobs"
	"github.com/pspsim/pspsim/simulator/journal"
)

// TestOrderJobsAreDataAndLateOnesChangeNothing: an order pushed to a
// terminal with an autopilot leaves its expiry and the autopilot's run as
// jobs (kind, key, due, payload naming terminal and order); once the
// autopilot has paid it, an expiry or autopilot job that fires for it — its
// own expiry, or one fired again — changes nothing and journals nothing.
func TestOrderJobsAreDataAndLateOnesChangeNothing(t *testing.T) {
	c := newCP(t)
	sched, ok := c.h.Sim.Env().Jobs.(*jobs.Memory)
	if !ok {
		t.Fatalf("the simulator's scheduler is a %T", c.h.Sim.Env().Jobs)
	}
	if st, _ := c.admin("PUT", "/codepay/terminals/"+termA+"/autopilot", map[string]any{"card": visaOK, "delay": "5s"}); st != 200 {
		t.Fatalf("autopilot: %d", st)
	}
	transNo := c.order("JB-1", nil) // expires in 300 s
	now := c.h.Clock.Now()
	got := map[string]jobs.Job{}
	for _, j := range sched.Jobs() {
		if !strings.HasPrefix(j.Kind, codepay.Name+".") {
			continue // the gateway's fixtures have jobs of their own
		}
		if !slices.Contains(codepay.JobKinds(), j.Kind) {
			t.Errorf("job kind %s is not among codepay.JobKinds", j.Kind)
		}
		got[j.Kind] = j
	}
	exp, pilot := got["codepay.order.expire"], got["codepay.terminal.autopilot"]
	var p struct{ SN, TransNo string }
	json.Unmarshal(pilot.Payload, &p)
	if len(got) != 2 || exp.Key != transNo || !exp.Due.Equal(now.Add(300*time.Second)) ||
		pilot.Key != termA+"/"+transNo || !pilot.Due.Equal(now.Add(5*time.Second)) || p.SN != termA || p.TransNo != transNo {
		t.Fatalf("pending jobs: %+v", got)
	}
	c.advance(5 * time.Second)
	if st := c.statusOf("JB-1"); st != "2" {
		t.Fatalf("JB-1 after the autopilot: %s", st)
	}
	events := c.h.Sim.Journal().Len()
	for _, j := range []jobs.Job{
		{Kind: "codepay.order.expire", Key: transNo, Due: c.h.Clock.Now()}, // early, and for a paid order
		{Kind: "codepay.terminal.autopilot", Key: termA + "/" + transNo, Due: c.h.Clock.Now(), Payload: pilot.Payload},
		{Kind: "codepay.order.expire", Key: "no-such-order", Due: c.h.Clock.Now()},
		{Kind: "codepay.terminal.autopilot", Key: "x", Due: c.h.Clock.Now(), Payload: []byte(`{}`)},
	} {
		if err := sched.Schedule(context.Background(), j); err != nil {
			t.Fatal(err)
		}
	}
	c.advance(300 * time.Second) // past JB-1's own expiry too
	if st := c.statusOf("JB-1"); st != "2" {
		t.Fatalf("JB-1 after late jobs: %s", st)
	}
	for _, ev := range c.h.Sim.Journal().Query(journal.Filter{})[events:] {
		if ev.System == codepay.Name && ev.Kind != "request.answered" { // the order.query above is journaled
			t.Errorf("a late job journaled %s: %s", ev.Kind, ev.Message)
		}
	}
	for _, j := range sched.Jobs() {
		if strings.HasPrefix(j.Kind, codepay.Name+".") {
			t.Fatalf("job left: %s %s", j.Kind, j.Key)
		}
	}
}
