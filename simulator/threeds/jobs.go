package threeds

import (
	"context"
	"fmt"

	"github.com/pspsim/pspsim/simulator/jobs"
)

// How a pending authentication ends on the clock, as jobs (package jobs),
// so that a durable backend keeps them across a restart:
//
//	threeds.challenge.expire   key threeDSServerTransID  a challenge nobody finished ends U (14)
//	threeds.decoupled.resolve  key threeDSServerTransID  a decoupled authentication ends as its card's row says
//
// Both re-read the transaction and do nothing once it is final (the
// cardholder, or the admin action, ended it first).
const (
	expireKind  = Name + ".challenge.expire"
	resolveKind = Name + ".decoupled.resolve"
)

// JobKinds lists every kind of job the service schedules.
func JobKinds() []string { return []string{expireKind, resolveKind} }

// registerJobs registers the handler of every kind in JobKinds.
func (s *Service) registerJobs() {
	s.opts.Jobs.Handle(expireKind, func(ctx context.Context, j jobs.Job) { s.expire(context.WithoutCancel(ctx), j.Key) })
	s.opts.Jobs.Handle(resolveKind, func(ctx context.Context, j jobs.Job) { s.resolveDecoupled(context.WithoutCancel(ctx), j.Key) })
}

// schedule adds a job. A scheduler that refuses it (a durable store that
// fails) is journaled: the authentication stays pending until the cardholder
// or the admin action ends it.
func (s *Service) schedule(ctx context.Context, j jobs.Job) {
	if err := s.opts.Jobs.Schedule(ctx, j); err != nil {
		t := Transaction{Result: Result{ThreeDSServerTransID: j.Key}}
		s.record("threeds.job_refused", fmt.Sprintf("%s %s could not be scheduled: %v", j.Kind, j.Key, err), &t)
	}
}
