package conformance_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pspsim/pspsim/conformance"
	"github.com/pspsim/pspsim/examples/paymentapp"
	"github.com/pspsim/pspsim/simulator/clock"
	"github.com/pspsim/pspsim/simulator/host"
	"github.com/pspsim/pspsim/simulator/simtest"
)

// nsApp starts the reference app in process, talking to the namespace name
// of the server at target, and returns its app.yaml.
func nsApp(t *testing.T, target, name string) conformance.AppConfig {
	t.Helper()
	yaml, err := conformance.LoadAppConfig("../examples/paymentapp/app.yaml")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(nil)
	t.Cleanup(srv.Close)
	base := target + host.PathPrefix + name
	app, err := paymentapp.New(paymentapp.Config{
		GenstoreURL: base + "/genstore", GatewayURL: base + "/vm", PublicURL: srv.URL,
		ClientID: yaml.ClientID, ClientSecret: yaml.ClientSecret, ECIESPrivateKey: yaml.Start.Env["PAYMENTAPP_ECIES_PRIVATE_KEY"],
		Sandbox:         paymentapp.Credentials{AppID: yaml.PSP.Sandbox.AppID, Secret: yaml.PSP.Sandbox.Secret},
		Live:            paymentapp.Credentials{AppID: yaml.PSP.Live.AppID, Secret: yaml.PSP.Live.Secret},
		Logger:          slog.New(slog.NewTextHandler(io.Discard, nil)),
		CallbackBackoff: []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond, time.Second},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { app.Close() })
	srv.Config.Handler = app.Handler()
	return servedAt(yaml, srv.URL)
}

// TestConformanceRunsInNamespacesOfOneServer is the proof in small:
// several conformance runs at once against one server, each in a namespace
// of its own (RunOptions.Namespace), all pass with the verdicts a run alone
// gives; the server's default namespace is neither reset nor moved, and the
// namespaces are gone afterwards. By default 3 runs of the @payment
// scenarios; PSPSIM_NS_FULL=1 runs the whole suite 8 times at once (what
// docs/PERFORMANCE.md reports).
func TestConformanceRunsInNamespacesOfOneServer(t *testing.T) {
	runs, tags := 3, "@payment"
	if os.Getenv("PSPSIM_NS_FULL") != "" {
		runs, tags = 8, ""
	}
	h, hst := simtest.NewHosted(t, func(o *host.Options) {
		o.Max = runs + 1
		// As pspsim serve stamps signatures: apps check freshness against real time.
		o.Base.StampClock = clock.NewReal()
	})
	// Something of the default namespace's own, which no run may touch.
	if r := h.Do("POST", "/_sim/genstore/shops", map[string]any{"shopId": "8800", "shop": "bystander"}); r.Status != 201 {
		t.Fatalf("shop: %d %s", r.Status, r.Body)
	}
	alone := func(name string) conformance.RunOptions {
		return conformance.RunOptions{App: nsApp(t, h.URL, name), Target: h.URL, Namespace: name, Tags: tags, Seed: 1,
			Timing: conformance.Timing{ResultWait: 4 * time.Second, Quiet: 300 * time.Millisecond}}
	}
	start := time.Now()
	var mu sync.Mutex
	reports := map[string]conformance.Report{}
	outs := map[string]*bytes.Buffer{}
	var wg sync.WaitGroup
	for i := range runs {
		name := fmt.Sprintf("run-%d", i+1)
		o := alone(name)
		out := &bytes.Buffer{}
		o.Stdout, o.Stderr = out, out
		outs[name] = out
		wg.Add(1)
		go func() {
			defer wg.Done()
			rep, err := conformance.Run(context.Background(), o)
			if err != nil {
				t.Errorf("%s: %v", name, err)
			}
			mu.Lock()
			reports[name] = rep
			mu.Unlock()
		}()
	}
	wg.Wait()
	t.Logf("%d runs at once (%s) in %s", runs, orAll(tags), time.Since(start).Round(time.Millisecond))
	var want []string
	for name, rep := range reports {
		var got []string
		for _, s := range rep.Scenarios {
			got = append(got, fmt.Sprintf("%s: passed=%t %v", s.Name, s.Passed, s.Codes))
		}
		slices.Sort(got)
		if rep.Status != 0 || len(rep.Scenarios) == 0 {
			t.Errorf("%s: status %d, %d scenarios\n%s", name, rep.Status, len(rep.Scenarios), outs[name])
		}
		if want == nil {
			want = got
		} else if !slices.Equal(got, want) {
			t.Errorf("%s's verdicts differ from the others':\n%s\nvs\n%s", name, strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	}
	if t.Failed() {
		return
	}
	// A run alone gives the same verdicts.
	o := alone("alone")
	o.Stdout, o.Stderr = io.Discard, io.Discard
	rep, err := conformance.Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range rep.Scenarios {
		got = append(got, fmt.Sprintf("%s: passed=%t %v", s.Name, s.Passed, s.Codes))
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("alone:\n%s\nat once:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if names := hst.Names(); len(names) != 0 {
		t.Errorf("namespaces left behind: %v", names)
	}
	if r := h.Do("GET", "/_sim/genstore/shops/8800", nil); r.Status != 200 {
		t.Errorf("the default namespace lost its shop: %d", r.Status)
	}
	if r := h.Do("GET", "/_sim/clock", nil); r.JSON()["now"] != simtest.Start.Format(time.RFC3339) {
		t.Errorf("the default namespace's clock moved: %s", r.Body)
	}
}

func orAll(tags string) string {
	if tags == "" {
		return "the whole suite"
	}
	return tags
}

// OnPort moves an app to another port everywhere app.yaml names it.
func TestAppOnPort(t *testing.T) {
	app, err := conformance.LoadAppConfig("../examples/paymentapp/app.yaml")
	if err != nil {
		t.Fatal(err)
	}
	moved, err := app.OnPort(7999)
	if err != nil {
		t.Fatal(err)
	}
	e := moved.Endpoints
	for _, u := range []string{e.OnboardingURL, e.PaymentURL, e.CaptureURL, e.VoidURL, e.RefundURL, e.PaymentQueryURL, e.RefundQueryURL, moved.Start.ReadyURL, moved.Start.Env["PAYMENTAPP_ADDR"], moved.Start.Env["PAYMENTAPP_PUBLIC_URL"]} {
		if !strings.Contains(u, "127.0.0.1:7999") {
			t.Errorf("%q was not moved", u)
		}
	}
	if app.Start.Env["PAYMENTAPP_ADDR"] != "127.0.0.1:7401" {
		t.Errorf("OnPort changed the original: %v", app.Start.Env)
	}
	noPort := app
	noPort.Endpoints.PaymentURL = "http://app.example/payment"
	if _, err := noPort.OnPort(1); err == nil {
		t.Error("an app without a port in paymentUrl moved")
	}
}

// Spread gives every scenario of the suite to exactly one worker, an
// outline's examples together.
func TestSpreadDealsEveryScenarioOnce(t *testing.T) {
	all, err := conformance.Scenarios()
	if err != nil {
		t.Fatal(err)
	}
	shares, err := conformance.Spread(4)
	if err != nil {
		t.Fatal(err)
	}
	path := map[string]string{}
	for _, s := range all {
		path[s.Name] = s.Path()
	}
	owner := map[string]int{}
	for w, names := range shares {
		if len(names) == 0 {
			t.Errorf("worker %d got nothing", w)
		}
		for _, n := range names {
			p := path[n]
			if prev, dup := owner[p]; dup {
				t.Errorf("%s goes to workers %d and %d", p, prev, w)
			}
			owner[p] = w
		}
	}
	for _, s := range all {
		if _, ok := owner[s.Path()]; !ok {
			t.Errorf("%s (%s) goes to no worker", s.Name, s.Path())
		}
	}
}
