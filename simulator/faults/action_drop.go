package faults

import (
	"context"
	"fmt"

	"github.com/pspsim/pspsim/simulator/delivery"
)

func init() {
	builtin(Kind{
		Name:   "drop",
		Target: Delivery,
		Doc:    "Drops the attempt: the message never reaches the receiver, and the sender, seeing no answer, retries on its schedule. Combine with match.attempt or a frequency to lose only some attempts.",
		Build: func(p *Params) (Action, error) {
			return drop{}, p.Err()
		},
	})
}

type drop struct{}

func (drop) Describe() string { return "message dropped" }

func (drop) Deliver(ctx context.Context, f *Fire, req *delivery.Request, attempt int, send delivery.SendFunc) (*delivery.Response, error) {
	return nil, fmt.Errorf("no answer: the message was dropped by fault rule %s", f.Rule.ID)
}
