package simulator_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/pspsim/pspsim/simulator/codepay"
	"github.com/pspsim/pspsim/simulator/genstore"
	"github.com/pspsim/pspsim/simulator/jobs"
	"github.com/pspsim/pspsim/simulator/journal"
	"github.com/pspsim/pspsim/simulator/simtest"
	"github.com/pspsim/pspsim/simulator/threeds"
)

// TestEveryJobKindHasAHandler schedules every kind of job Genstore, CodePay
// and the 3-D Secure service schedule on a fresh simulator: each has its
// handler registered when the simulator is built (a kind without one is
// refused with jobs.ErrNoHandler, as the last row shows). Fired with
// payloads that name nothing the store holds, none changes anything: no
// object, no event. The same holds on a durable store, whose scheduler
// keeps rows.
func TestEveryJobKindHasAHandler(t *testing.T) {
	t.Run("memory", func(t *testing.T) { everyJobKindHasAHandler(t, simtest.New(t)) })
	t.Run("sqlite", func(t *testing.T) {
		everyJobKindHasAHandler(t, simtest.New(t, onBackend(openDB(t, "sqlite:"+filepath.Join(t.TempDir(), "jobs.db")))))
	})
}

func everyJobKindHasAHandler(t *testing.T, h *simtest.Harness) {
	sched := h.Sim.Env().Jobs
	ctx := context.Background()
	type row struct {
		system string
		kind   string
	}
	var rows []row
	for system, kinds := range map[string][]string{genstore.Name: genstore.JobKinds(), codepay.Name: codepay.JobKinds(), threeds.Name: threeds.JobKinds()} {
		for _, k := range kinds {
			rows = append(rows, row{system, k})
		}
	}
	if len(rows) != 11 {
		t.Fatalf("%d job kinds; the table below expects 7 of Genstore, 2 of CodePay, 2 of 3-D Secure", len(rows))
	}
	counts := func() map[string]int {
		if c, ok := h.Sim.Env().Store.(interface{ Counts() map[string]int }); ok {
			return c.Counts()
		}
		return nil // a durable store: the journal says what changed
	}
	objects, events := counts(), h.Sim.Journal().Len()
	due := h.Clock.Now().Add(time.Hour)
	for _, r := range rows {
		t.Run(r.kind, func(t *testing.T) {
			for i, payload := range [][]byte{nil, []byte(`{}`), []byte(`{"shopId":"1001","paymentId":"PI0000","id":"PI0000","sn":"T0","transNo":"0"}`)} {
				if err := sched.Schedule(ctx, jobs.Job{Kind: r.kind, Key: fmt.Sprintf("nothing/%d", i), Due: due, Payload: payload}); err != nil {
					t.Fatalf("%s (%s): %v", r.kind, r.system, err)
				}
			}
		})
	}
	if err := sched.Schedule(ctx, jobs.Job{Kind: "genstore.payment.unheard_of", Key: "k", Due: due}); !errors.Is(err, jobs.ErrNoHandler) {
		t.Fatalf("a kind nobody handles: %v, want ErrNoHandler", err)
	}
	h.Advance(time.Hour)
	for _, r := range rows {
		for i := 0; i < 3; i++ {
			if sched.Pending(r.kind, fmt.Sprintf("nothing/%d", i)) {
				t.Errorf("%s nothing/%d did not run", r.kind, i)
			}
		}
	}
	after := counts()
	for k, n := range after {
		if objects[k] != n {
			t.Errorf("%s: %d objects, %d before the jobs ran", k, n, objects[k])
		}
	}
	for _, ev := range h.Sim.Journal().Query(journal.Filter{})[events:] {
		if ev.System != "sim" {
			t.Errorf("a job journaled %s %s: %s", ev.System, ev.Kind, ev.Message)
		}
	}
}
