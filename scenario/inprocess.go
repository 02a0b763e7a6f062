package scenario

import (
	"context"
	"hash/fnv"
	"net/http"
	"net/http/httptest"

	"github.com/cucumber/godog"

	"github.com/pspsim/pspsim/simulator"
	"github.com/pspsim/pspsim/simulator/clock"
	"github.com/pspsim/pspsim/simulator/simtest"
)

// InProcess builds a fresh simulator for every scenario, on its own loopback
// port, with a simulated clock at simtest.Start and a seed derived from the
// scenario's name (so a scenario replays identically). check, when not nil,
// receives every response that breaks its spec.
func InProcess(check func(r *http.Request, op string, status int, err error)) Factory {
	return func(ctx context.Context, s *godog.Scenario) (*World, func(), error) {
		h := fnv.New64a()
		h.Write([]byte(s.Uri + "/" + s.Name))
		srv := httptest.NewServer(nil)
		sim, err := simulator.New(ctx, simulator.Options{
			Clock: clock.NewSim(simtest.Start), Seed: h.Sum64() >> 1, BaseURL: srv.URL, CheckResponses: check,
		})
		if err != nil {
			srv.Close()
			return nil, nil, err
		}
		srv.Config.Handler = sim.Handler()
		w := &World{Target: srv.URL, Client: srv.Client(), Sim: sim, Headers: http.Header{}}
		return w, func() { srv.Close(); sim.Close() }, nil
	}
}
