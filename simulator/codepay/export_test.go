package codepay

import (
	"context"

	"github.com/pspsim/pspsim/simulator/delivery"
	"github.com/pspsim/pspsim/simulator/threeds"
)

// ResumeAuthentication runs the named 3-D Secure completion, as a process
// that does not hold the request's closure (after a restart, another
// replica) would.
func (s *System) ResumeAuthentication(ctx context.Context, transNo string, r threeds.Result) {
	s.resumeAuthentication(ctx, s.env.ThreeDS, transNo, r)
}

// ResumeNotification rebuilds a stored notification's hooks, as a process
// resuming it would.
func (s *System) ResumeNotification(ctx context.Context, req delivery.Request) delivery.Request {
	full, _, _, _, _ := s.resumeNotification(ctx, req)
	return full
}

// DSTransID is the dsTransID an order waits for ("" for none).
func (s *System) DSTransID(ctx context.Context, transNo string) string {
	t, err := s.txns.Get(ctx, transNo)
	if err != nil || t.ThreeDS == nil {
		return ""
	}
	return t.ThreeDS.DSTransID
}
