package faults

import (
	"context"
	"fmt"
	"time"

	"github.com/pspsim/pspsim/simulator/delivery"
)

func init() {
	builtin(Kind{
		Name:   "delay",
		Target: Delivery,
		Doc:    "Delays the attempt on the simulator's clock: the message leaves when the clock has moved by `by` (with --clock=sim, during POST /_sim/clock/advance). The sender does not wait meanwhile.",
		Params: []Param{
			{Name: "by", Type: "duration", Default: "1m", Doc: "how late the message leaves (at most 72h)"},
		},
		Build: func(p *Params) (Action, error) {
			return delay{by: p.Duration("by", time.Minute, time.Millisecond, 72*time.Hour)}, p.Err()
		},
	})
}

type delay struct{ by time.Duration }

func (a delay) Describe() string { return fmt.Sprintf("message delayed by %s", a.by) }

func (a delay) Deliver(ctx context.Context, f *Fire, req *delivery.Request, attempt int, send delivery.SendFunc) (*delivery.Response, error) {
	return nil, &delivery.Deferred{
		Reason: fmt.Sprintf("delayed %s by fault rule %s", a.by, f.Rule.ID),
		Schedule: func(run func()) {
			f.Clock().AfterFunc(a.by, func() {
				f.Record(fmt.Sprintf("delayed message leaves after %s", a.by), nil)
				run()
			})
		},
	}
}
