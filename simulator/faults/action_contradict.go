package faults

import (
	"context"
	"fmt"

	"github.com/pspsim/pspsim/simulator/delivery"
)

func init() {
	builtin(Kind{
		Name:   "contradict",
		Target: Delivery,
		Doc:    "Sends the message and also its contradiction — the opposite result for the same order, signed like a genuine message (a success notified, then a failure). The receiver must keep the first final result. Messages whose system offers no contradiction are sent as they are.",
		Params: []Param{
			{Name: "order", Type: "after|before", Default: "after", Doc: "whether the contradiction comes after or before the genuine message"},
		},
		Build: func(p *Params) (Action, error) {
			return contradict{before: p.Enum("order", "after", "after", "before") == "before"}, p.Err()
		},
	})
}

type contradict struct{ before bool }

func (a contradict) Describe() string {
	if a.before {
		return "a contradicting result, then the genuine message"
	}
	return "the genuine message, then a contradicting result"
}

func (a contradict) Deliver(ctx context.Context, f *Fire, req *delivery.Request, attempt int, send delivery.SendFunc) (*delivery.Response, error) {
	if req.Contradict == nil {
		f.Record("this message has no contradiction: sent as it is", nil)
		return send(ctx, req, attempt)
	}
	c, ok := req.Contradict()
	if !ok {
		f.Record("this message has no contradiction: sent as it is", nil)
		return send(ctx, req, attempt)
	}
	if c.Header == nil {
		c.Header = req.Header.Clone()
	}
	if c.URL == "" {
		c.URL = req.URL
	}
	if c.Method == "" {
		c.Method = req.Method
	}
	var resp *delivery.Response
	var err error
	var other sent
	if a.before {
		r2, e2 := send(ctx, &c, attempt)
		other = sent{r2, e2}
		resp, err = send(ctx, req, attempt)
	} else {
		resp, err = send(ctx, req, attempt)
		r2, e2 := send(ctx, &c, attempt)
		other = sent{r2, e2}
	}
	f.Record(fmt.Sprintf("contradicting result sent (%s): %s", map[bool]string{true: "before", false: "after"}[a.before], other), map[string]any{"answer": other.String()})
	return resp, err
}
