package scenario

import (
	"context"
	"hash/fnv"
	"net/http"
	"net/http/httptest"
	"path"
	"path/filepath"
	"strings"

	"github.com/pspsim/pspsim/internal/godog"

	"github.com/pspsim/pspsim/simulator"
	"github.com/pspsim/pspsim/simulator/clock"
	"github.com/pspsim/pspsim/simulator/control"
	"github.com/pspsim/pspsim/simulator/host"
	"github.com/pspsim/pspsim/simulator/simtest"
)

// newClient is a scenario's HTTP client. It opens a connection per request:
// net/http silently retries some requests on a reused connection that
// breaks, which would hide the very faults a scenario provokes.
// Requests to the control API carry the admin token, when there is one, and
// a JSON Content-Type on state changes (package control).
func newClient(adminToken string) *http.Client {
	return &http.Client{Transport: control.Transport(&http.Transport{DisableKeepAlives: true, Proxy: http.ProxyFromEnvironment}, adminToken)}
}

// InProcess builds a fresh simulator for every scenario, on its own loopback
// port, with a simulated clock at simtest.Start and a seed derived from the
// feature file's name and the scenario's (so a scenario replays identically,
// whether go test or pspsim scenario runs it, from whatever directory). check, when not nil,
// receives every response that breaks its spec. opts, when not nil, adjusts
// the simulator's options (a rules file, a config).
func InProcess(check func(r *http.Request, op string, status int, err error), opts ...func(*simulator.Options)) Factory {
	return func(ctx context.Context, s *godog.Scenario) (*World, func(), error) {
		h := fnv.New64a()
		h.Write([]byte(path.Base(filepath.ToSlash(s.Uri)) + "/" + s.Name))
		srv := httptest.NewServer(nil)
		o := simulator.Options{Clock: clock.NewSim(simtest.Start), Seed: h.Sum64() >> 1, BaseURL: srv.URL, CheckResponses: check}
		for _, f := range opts {
			f(&o)
		}
		sim, err := simulator.New(ctx, o)
		if err != nil {
			srv.Close()
			return nil, nil, err
		}
		srv.Config.Handler = sim.Handler()
		w := &World{Target: srv.URL, Client: newClient(""), Sim: sim, Headers: http.Header{}}
		// The simulator closes first: connections that faults hold are let
		// go, so that the server's Close does not wait for them.
		return w, func() { sim.Close(); srv.Close() }, nil
	}
}

// Remote runs scenarios against a running simulator (`pspsim serve`): each
// scenario starts with POST /_sim/reset. Scenarios against one simulator
// must not run concurrently. Steps that need the simulator's clock to be
// simulated fail against one started without --clock=sim. adminToken is the
// simulator's admin token (pspsim serve --admin-token), sent with every
// request to its control API; empty when it has none.
func Remote(target, adminToken string) Factory {
	target = strings.TrimRight(target, "/")
	return func(ctx context.Context, s *godog.Scenario) (*World, func(), error) {
		w := &World{Target: target, Client: newClient(adminToken), Headers: http.Header{}}
		if err := w.Reset(ctx); err != nil {
			return nil, nil, err
		}
		return w, func() {}, nil
	}
}

// RemoteNamespaces runs every scenario in a namespace of its own on a
// running pspsim (package host): created with a simulated clock before the
// scenario (POST /_sim/namespaces), deleted after it. Nothing else on the
// server is reset or moved, so scenarios may run concurrently and beside
// other users of the same server.
func RemoteNamespaces(target, adminToken string) Factory {
	target = strings.TrimRight(target, "/")
	return func(ctx context.Context, s *godog.Scenario) (*World, func(), error) {
		ns, err := host.CreateRemote(ctx, target, adminToken, host.RemoteSpec{Clock: "sim"})
		if err != nil {
			return nil, nil, err
		}
		w := &World{Target: ns.URL, Client: newClient(adminToken), Headers: http.Header{}}
		return w, func() { host.DeleteRemote(context.WithoutCancel(ctx), target, adminToken, ns.Name) }, nil
	}
}
