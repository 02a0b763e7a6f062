package faults

import (
	"fmt"
	"net/http"
	"time"

	"github.com/pspsim/pspsim/simulator/gate"
)

func init() {
	builtin(Kind{
		Name:   "latency",
		Target: API,
		Doc:    "Adds latency before the operation runs, fixed (delay) or drawn from a range (min, max) by the run's seed. Wall time: it is network latency, which a client measures with its own clock. A client that gives up during the delay never reaches the operation.",
		Params: []Param{
			{Name: "delay", Type: "duration", Doc: "fixed latency, e.g. 2s"},
			{Name: "min", Type: "duration", Doc: "lower bound of a range (with max)"},
			{Name: "max", Type: "duration", Doc: "upper bound of a range (with min)"},
		},
		Build: func(p *Params) (Action, error) {
			a := latency{}
			limit := 10 * time.Minute
			switch {
			case p.Has("delay"):
				a.min = p.Duration("delay", 0, 0, limit)
				a.max = a.min
				if p.Has("min") || p.Has("max") {
					p.Fail("min", "oneOf", "give either delay, or min and max")
				}
			case p.Has("min") && p.Has("max"):
				a.min = p.Duration("min", 0, 0, limit)
				a.max = p.Duration("max", 0, 0, limit)
				if a.max < a.min {
					p.Fail("max", "minimum", "must not be below min")
				}
			default:
				p.Fail("delay", "required", "is required (or min and max)")
			}
			return a, p.Err()
		},
	})
}

type latency struct{ min, max time.Duration }

func (a latency) Describe() string {
	if a.min == a.max {
		return fmt.Sprintf("latency %s", a.min)
	}
	return fmt.Sprintf("latency %s to %s", a.min, a.max)
}

func (a latency) Serve(f *Fire, w http.ResponseWriter, r *http.Request, next http.Handler) {
	d := f.Between(a.min, a.max, "latency")
	// The request waits out of the simulator's gate and free of the
	// server's deadlines; the operation runs in the world it finds after
	// (a reset meanwhile is as if the request arrived after it).
	back := gate.Hold(w, r)
	t := time.NewTimer(d) // wall time: network latency
	defer t.Stop()
	select {
	case <-t.C:
	case <-r.Context().Done():
		if back() {
			f.Record(fmt.Sprintf("the client gave up during %s of latency; the operation did not run", d), map[string]any{"latencyMs": d.Milliseconds()})
		}
		return
	case <-f.Done():
		return
	}
	back()
	next.ServeHTTP(w, r)
}
