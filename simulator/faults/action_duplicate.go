package faults

import (
	"context"
	"fmt"
	"sync"

	"github.com/pspsim/pspsim/simulator/delivery"
)

func init() {
	builtin(Kind{
		Name:   "duplicate",
		Target: Delivery,
		Doc:    "Sends the message more than once, byte-identical: one after the other, or all at the same moment (concurrent) — what a receiver's idempotency must absorb. The sender judges the first answer.",
		Params: []Param{
			{Name: "copies", Type: "integer", Default: "1", Doc: "extra copies, 1 to 10"},
			{Name: "concurrent", Type: "boolean", Default: "false", Doc: "send the original and its copies at the same moment"},
		},
		Build: func(p *Params) (Action, error) {
			return duplicate{copies: p.Int("copies", 1, 1, 10), concurrent: p.Bool("concurrent", false)}, p.Err()
		},
	})
}

type duplicate struct {
	copies     int
	concurrent bool
}

func (a duplicate) Describe() string {
	how := "one after the other"
	if a.concurrent {
		how = "concurrently"
	}
	return fmt.Sprintf("message sent %d times %s", a.copies+1, how)
}

type sent struct {
	resp *delivery.Response
	err  error
}

func (s sent) String() string {
	if s.err != nil {
		return s.err.Error()
	}
	return fmt.Sprintf("HTTP %d", s.resp.Status)
}

func (a duplicate) Deliver(ctx context.Context, f *Fire, req *delivery.Request, attempt int, send delivery.SendFunc) (*delivery.Response, error) {
	results := make([]sent, a.copies+1)
	if a.concurrent {
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range results {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start // line them up so they leave together
				r, err := send(ctx, req, attempt)
				results[i] = sent{r, err}
			}()
		}
		close(start)
		wg.Wait()
	} else {
		for i := range results {
			r, err := send(ctx, req, attempt)
			results[i] = sent{r, err}
		}
	}
	answers := make([]string, len(results))
	for i, s := range results {
		answers[i] = s.String()
	}
	f.Record(fmt.Sprintf("sent %d times: %v", len(results), answers), map[string]any{"answers": answers, "concurrent": a.concurrent})
	return results[0].resp, results[0].err
}
