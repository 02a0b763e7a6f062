package codepay

import (
	"context"
	"encoding/json"

	"github.com/pspsim/pspsim/simulator/jobs"
)

// What CodePay does later on its own, as jobs (package jobs), so that a
// durable backend keeps them across a restart:
//
//	codepay.order.expire        key trans_no               closes an order its expires ran out on
//	codepay.terminal.autopilot  key terminal sn/trans_no   payload {sn, transNo}: the autopilot acts
//
// (Notifications are the delivery package's and notify.go's.) Each handler
// re-reads the order or terminal and does nothing when it has moved on.
const (
	expireKind = Name + ".order.expire"
	pilotKind  = Name + ".terminal.autopilot"
)

// JobKinds lists every kind of job CodePay's terminals and orders schedule.
func JobKinds() []string { return []string{expireKind, pilotKind} }

// pilotJob is an autopilot job's payload: the terminal and the order it
// showed when the autopilot was armed.
type pilotJob struct {
	SN      string `json:"sn"`
	TransNo string `json:"transNo"`
}

// registerJobs registers the handler of every kind in JobKinds.
func (s *System) registerJobs() {
	s.env.Jobs.Handle(expireKind, func(_ context.Context, j jobs.Job) { s.expire(j.Key) })
	s.env.Jobs.Handle(pilotKind, func(_ context.Context, j jobs.Job) {
		var p pilotJob
		if err := json.Unmarshal(j.Payload, &p); err != nil || p.SN == "" || p.TransNo == "" {
			s.env.Log.Warn("codepay: an autopilot job's payload names no terminal and order; dropped", "key", j.Key, "error", err)
			return
		}
		s.runPilot(p.SN, p.TransNo, true)
	})
}

// schedule adds a job, logging a scheduler's refusal (a durable store that
// fails): the order goes on without that step.
func (s *System) schedule(j jobs.Job) {
	if err := s.env.Jobs.Schedule(context.Background(), j); err != nil {
		s.env.Log.Error("codepay: cannot schedule a job", "kind", j.Kind, "key", j.Key, "error", err)
	}
}
