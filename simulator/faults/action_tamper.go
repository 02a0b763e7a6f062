package faults

import (
	"context"

	"github.com/pspsim/pspsim/simulator/delivery"
)

func init() {
	builtin(Kind{
		Name:   "tamper",
		Target: Delivery,
		Doc:    "Sends the message with a signature that does not verify (the sending system knows where its signature lives). The receiver must refuse it and do nothing. Messages whose system offers no tampering are sent as they are.",
		Build: func(p *Params) (Action, error) {
			return tamper{}, p.Err()
		},
	})
}

type tamper struct{}

func (tamper) Describe() string { return "signature tampered" }

func (tamper) Deliver(ctx context.Context, f *Fire, req *delivery.Request, attempt int, send delivery.SendFunc) (*delivery.Response, error) {
	if req.Tamper == nil {
		f.Record("this message has no signature to tamper: sent as it is", nil)
		return send(ctx, req, attempt)
	}
	t := req.Tamper(*req)
	if t.Header == nil {
		t.Header = req.Header
	}
	return send(ctx, &t, attempt)
}
