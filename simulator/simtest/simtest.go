// Package simtest starts isolated simulators for tests: each on its own
// httptest server with a simulated clock, a fixed seed, and every API
// response validated against its spec — a response that breaks the spec
// fails the test that provoked it.
package simtest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/pspsim/pspsim/simulator"
	"github.com/pspsim/pspsim/simulator/clock"
	"github.com/pspsim/pspsim/simulator/control"
	"github.com/pspsim/pspsim/simulator/host"
	"github.com/pspsim/pspsim/simulator/openapi"
	"github.com/pspsim/pspsim/specs"
)

// Start is where the simulated clock starts in tests.
var Start = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

// Harness is a running simulator under test.
type Harness struct {
	T      testing.TB
	Sim    *simulator.Simulator
	Clock  *clock.Sim
	Server *httptest.Server
	URL    string

	client *http.Client
}

// Option changes the simulator options before start.
type Option func(*simulator.Options)

// WithConfig passes a --config YAML document.
func WithConfig(yaml string) Option {
	return func(o *simulator.Options) { o.Config = []byte(yaml) }
}

// Strict starts the simulator in strict mode (pspsim serve --strict): every
// departure from the documented tables is refused.
func Strict() Option {
	return func(o *simulator.Options) { o.Strict = true }
}

// New starts a simulator with a simulated clock at Start, seed 1, and
// response validation that fails t.
func New(t testing.TB, opts ...Option) *Harness {
	t.Helper()
	h, _ := start(t, nil, opts...)
	return h
}

// NewHosted starts a default namespace as New does, behind a host
// (package host) that serves namespaces under /ns/{name}/: Do reaches the
// default namespace at the root paths and a namespace at /ns/{name}/….
// Namespaces get simulated clocks at Start and the same response checks;
// configure changes the host's options before it starts.
func NewHosted(t testing.TB, configure func(*host.Options), opts ...Option) (*Harness, *host.Host) {
	t.Helper()
	if configure == nil {
		configure = func(*host.Options) {}
	}
	return start(t, configure, opts...)
}

func start(t testing.TB, hosted func(*host.Options), opts ...Option) (*Harness, *host.Host) {
	c := clock.NewSim(Start)
	o := simulator.Options{
		Clock: c,
		Seed:  1,
		CheckResponses: func(r *http.Request, op string, status int, err error) {
			if err != nil {
				t.Errorf("response to %s %s (%s, HTTP %d) breaks the spec: %v", r.Method, r.URL.Path, op, status, err)
			}
		},
	}
	for _, opt := range opts {
		opt(&o)
	}
	if hosted != nil && o.Specs == nil {
		o.Specs = openapi.NewSpecs(specs.FS(), false)
	}
	h := &Harness{T: t, Clock: c}
	h.Server = httptest.NewUnstartedServer(nil)
	h.Server.Start()
	h.URL = h.Server.URL
	// The control API wants JSON state changes, body or not (package
	// control): Do sends as a well-behaved client does.
	h.client = &http.Client{Transport: control.Transport(h.Server.Client().Transport, "")}
	o.BaseURL = h.URL
	sim, err := simulator.New(context.Background(), o)
	if err != nil {
		h.Server.Close()
		t.Fatalf("simulator.New: %v", err)
	}
	h.Sim = sim
	h.Server.Config.Handler = sim.Handler()
	var hst *host.Host
	if hosted != nil {
		base := o
		base.Clock, base.IDs, base.Store = nil, nil, nil
		ho := host.Options{Default: sim, Base: base, SimClock: true, ClockStart: Start}
		hosted(&ho)
		hst, err = host.New(ho)
		if err != nil {
			h.Server.Close()
			sim.Close()
			t.Fatalf("host.New: %v", err)
		}
		h.Server.Config.Handler = hst
	}
	t.Cleanup(func() {
		h.Server.Close()
		if hst != nil {
			hst.Close()
		}
		sim.Close()
	})
	return h, hst
}

// Response is an HTTP answer with its body read.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body into a map (numbers as json.Number).
func (r Response) JSON() map[string]any {
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(r.Body))
	dec.UseNumber()
	dec.Decode(&m)
	return m
}

// Do sends a request; body may be nil, a string, []byte or a value to encode
// as JSON. headers are name/value pairs.
func (h *Harness) Do(method, path string, body any, headers ...string) Response {
	h.T.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			h.T.Fatalf("encode body: %v", err)
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, h.URL+path, rd)
	if err != nil {
		h.T.Fatalf("request: %v", err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := h.client.Do(req)
	if err != nil {
		h.T.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return Response{Status: res.StatusCode, Header: res.Header, Body: b}
}

// Advance moves the simulated clock through the admin API, so that the
// journal records it as a user's move would.
func (h *Harness) Advance(d time.Duration) {
	h.T.Helper()
	r := h.Do("POST", "/_sim/clock/advance", map[string]string{"by": d.String()})
	if r.Status != http.StatusOK {
		h.T.Fatalf("advance %s: %d %s", d, r.Status, r.Body)
	}
}

// GenstoreToken is the access token of the fixture installation of the demo
// payment app on shop 1001, with every scope.
const GenstoreToken = "gst_demo_0000000000000000000000000001"

// VMToken obtains a card-gateway access token for the fixture app in
// environment "sandbox" or "live".
func (h *Harness) VMToken(environment string) string {
	h.T.Helper()
	secret := "184E52CF5365D2D7EE8EDA************"
	if environment == "live" {
		secret = "184E52CF5365D2D7EE8EDA0000000002"
	}
	r := h.Do("POST", "/vm/v1/auth/token", map[string]string{"appId": "086666075137001", "secret": secret})
	if r.Status != http.StatusOK {
		h.T.Fatalf("access token: %d %s", r.Status, r.Body)
	}
	tok, _ := r.JSON()["accessToken"].(string)
	return tok
}
