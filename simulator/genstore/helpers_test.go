package genstore_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pspsim/pspsim/simulator/genstore"
	"github.com/pspsim/pspsim/simulator/genstore/genstoretest"
	"github.com/pspsim/pspsim/simulator/journal"
	"github.com/pspsim/pspsim/simulator/simtest"
)

// testShop is the shop every test installs its app on: test mode, 2.90 % +
// 0.30, UTC.
const testShop = "7001"

// env is one test's simulator, shop and installed app.
type env struct {
	t   *testing.T
	h   *simtest.Harness
	app *genstoretest.App
}

// setup starts a simulator, creates the test shop, registers a scripted app
// and installs it by the OAuth flow (the app exchanges the code and reports
// ready on the onboarding redirect). config is an extra `genstore:` section.
func setup(t *testing.T, config ...string) *env {
	t.Helper()
	var opts []simtest.Option
	if len(config) > 0 {
		opts = append(opts, simtest.WithConfig(config[0]))
	}
	h := simtest.New(t, opts...)
	app, err := genstoretest.New("test-app", "test-app-secret-0001", h.URL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(app.Close)
	app.Now = h.Clock.Now
	e := &env{t: t, h: h, app: app}
	e.admin("POST", "/_sim/genstore/shops", map[string]any{"shopId": testShop, "shop": "test-shop", "name": "Test Shop", "currency": "USD",
		"testMode": true, "feePlan": map[string]any{"percentBasisPoints": 290, "fixedMinor": 30}}, 201)
	e.admin("POST", "/_sim/genstore/apps", app.Registration(), 201)
	r := e.admin("POST", "/_sim/genstore/shops/"+testShop+"/installations", map[string]any{"clientId": app.ClientID}, 201)
	if errs := app.Errors(); len(errs) > 0 || app.Token() == "" {
		t.Fatalf("installation failed: %v %s", errs, r)
	}
	return e
}

// admin calls the admin API and checks the status.
func (e *env) admin(method, path string, body any, want int) map[string]any {
	e.t.Helper()
	r := e.h.Do(method, path, body)
	if r.Status != want {
		e.t.Fatalf("%s %s: %d %s (want %d)", method, path, r.Status, r.Body, want)
	}
	var m map[string]any
	json.Unmarshal(r.Body, &m)
	return m
}

// pay creates a payment on the test shop and returns the admin view.
func (e *env) pay(body map[string]any) map[string]any {
	e.t.Helper()
	if body["clientId"] == nil {
		body["clientId"] = e.app.ClientID
	}
	return e.admin("POST", "/_sim/genstore/shops/"+testShop+"/payments", body, 201)
}

// payment reads the admin view of a payment.
func (e *env) payment(id string) map[string]any {
	e.t.Helper()
	return e.admin("GET", "/_sim/genstore/shops/"+testShop+"/payments/"+id, nil, 200)
}

// operate starts a capture, void or refund ("captures", "voids", "refunds").
func (e *env) operate(paymentID, what string, body any, want int) map[string]any {
	e.t.Helper()
	return e.admin("POST", "/_sim/genstore/shops/"+testShop+"/payments/"+paymentID+"/"+what, body, want)
}

// report sends a callback as the app and returns Genstore's answer.
func (e *env) report(kind, id string, ok bool, reason, channel string) genstoretest.Response {
	e.t.Helper()
	r, err := e.app.Report(context.Background(), kind, id, genstoretest.Result{OK: ok, Reason: reason, ChannelID: channel})
	if err != nil {
		e.t.Fatal(err)
	}
	return r
}

// advance moves the simulated clock.
func (e *env) advance(d time.Duration) { e.t.Helper(); e.h.Advance(d) }

// events returns the genstore journal events of a kind about a payment.
func (e *env) events(kind, paymentID string) []journal.Event {
	f := journal.Filter{System: genstore.Name, Kind: kind}
	if paymentID != "" {
		f.IDs = map[string]string{"paymentId": paymentID}
	}
	return e.h.Sim.Journal().Query(f)
}

func str(v any) string { return fmt.Sprint(v) }

// errorsOf reads Genstore's {"errors": ...} message.
func errorsOf(r genstoretest.Response) string {
	var m struct{ Errors string }
	json.Unmarshal(r.Body, &m)
	return m.Errors
}

// want checks a callback answer's status (and that an error names a text).
func want(t *testing.T, r genstoretest.Response, status int, contains string) {
	t.Helper()
	if r.Status != status {
		t.Fatalf("answer %s, want %d", r, status)
	}
	if contains != "" && !strings.Contains(errorsOf(r), contains) {
		t.Fatalf("answer %s does not mention %q", r, contains)
	}
	if status == http.StatusOK && string(r.Body) != "{}" {
		t.Fatalf("a 200 answer must be {}, got %s", r.Body)
	}
}

func journalFilter(kind string) journal.Filter {
	return journal.Filter{System: genstore.Name, Kind: kind}
}
