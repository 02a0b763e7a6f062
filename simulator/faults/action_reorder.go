package faults

import (
	"context"
	"fmt"
	"time"

	"github.com/pspsim/pspsim/simulator/delivery"
)

func init() {
	builtin(Kind{
		Name:   "reorder",
		Target: Delivery,
		Doc:    "Holds the message until the next message of the same system has gone, then sends it: the receiver gets them in the wrong order. If no other message comes within maxHold (simulator clock), it leaves then.",
		Params: []Param{
			{Name: "maxHold", Type: "duration", Default: "5m", Doc: "the longest it waits for a next message (at most 72h)"},
		},
		Build: func(p *Params) (Action, error) {
			return reorder{max: p.Duration("maxHold", 5*time.Minute, time.Millisecond, 72*time.Hour)}, p.Err()
		},
	})
}

type reorder struct{ max time.Duration }

func (a reorder) Describe() string {
	return fmt.Sprintf("message held until the next one has gone (up to %s)", a.max)
}

func (a reorder) Deliver(ctx context.Context, f *Fire, req *delivery.Request, attempt int, send delivery.SendFunc) (*delivery.Response, error) {
	if f.Pairing() {
		// A message is already waiting for this one: this one goes first.
		return send(ctx, req, attempt)
	}
	system := req.System
	return nil, &delivery.Deferred{
		Reason: fmt.Sprintf("held by fault rule %s until the next %s message has gone", f.Rule.ID, system),
		Schedule: func(run func()) {
			f.Engine.hold(f, system, run, a.max)
		},
	}
}
