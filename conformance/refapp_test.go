package conformance_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/pspsim/pspsim/conformance"
	"github.com/pspsim/pspsim/examples/paymentapp"
	"github.com/pspsim/pspsim/simulator/codepay"
	"github.com/pspsim/pspsim/simulator/simtest"
)

// refApp is the reference payment app running in process against a sandbox.
type refApp struct {
	sandbox *conformance.Sandbox
	app     *paymentapp.App
	srv     *httptest.Server
	config  conformance.AppConfig
	logs    *syncBuffer
}

// syncBuffer is a bytes.Buffer safe for the app's concurrent log writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// testTiming is the suite's patience in go test: the reference app answers
// in milliseconds, so a missing callback is judged after a few seconds.
var testTiming = conformance.Timing{ResultWait: 4 * time.Second, Quiet: 300 * time.Millisecond}

// refAppYAML is the reference app's app.yaml for each PSP.
var refAppYAML = map[string]string{"vmgateway": "../examples/paymentapp/app.yaml", "codepay": "../examples/paymentapp/app-codepay.yaml"}

// startRefApp starts a sandbox and the reference app wired to it, charging
// cards with the card gateway, with the given bug switches.
func startRefApp(t testing.TB, bugs ...paymentapp.Bug) *refApp {
	t.Helper()
	return startRefAppOn(t, "vmgateway", bugs...)
}

// startRefAppOn starts a sandbox and the reference app wired to it, charging
// cards with psp (vmgateway or codepay), with the given bug switches.
func startRefAppOn(t testing.TB, psp string, bugs ...paymentapp.Bug) *refApp {
	t.Helper()
	yaml, err := conformance.LoadAppConfig(refAppYAML[psp])
	if err != nil {
		t.Fatal(err)
	}
	sb := startSandbox(t, 7)
	ra := &refApp{sandbox: sb, logs: &syncBuffer{}}
	ra.srv = httptest.NewServer(nil)
	t.Cleanup(ra.srv.Close)
	env := yaml.Start.Env
	cfg := paymentapp.Config{
		PSP: psp, GenstoreURL: sb.URL + "/genstore", GatewayURL: sb.URL + "/vm", PublicURL: ra.srv.URL,
		ClientID: yaml.ClientID, ClientSecret: yaml.ClientSecret, ECIESPrivateKey: env["PAYMENTAPP_ECIES_PRIVATE_KEY"],
		Sandbox: paymentapp.Credentials{AppID: yaml.PSP.Sandbox.AppID, Secret: yaml.PSP.Sandbox.Secret},
		Live:    paymentapp.Credentials{AppID: yaml.PSP.Live.AppID, Secret: yaml.PSP.Live.Secret},
		Logger:  slog.New(slog.NewTextHandler(ra.logs, nil)), Bugs: bugs,
		CallbackBackoff: []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond, time.Second},
	}
	if psp == "codepay" {
		cfg.CodePay = paymentapp.CodePayConfig{URL: sb.URL + "/codepay", AppID: env["CODEPAY_APP_ID"], MerchantNo: env["CODEPAY_MERCHANT_NO"],
			SandboxKey: readFile(t, "../"+env["CODEPAY_SANDBOX_KEY_FILE"]), LiveKey: readFile(t, "../"+env["CODEPAY_LIVE_KEY_FILE"]),
			GatewayKey: string(sb.Sim.System("codepay").(*codepay.System).GatewayPublicKeyPEM())}
	}
	ra.app, err = paymentapp.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ra.app.Close() })
	ra.srv.Config.Handler = ra.app.Handler()
	ra.config = servedAt(yaml, ra.srv.URL)
	return ra
}

// startSandbox starts an in-process sandbox whose every answer is checked
// against its spec.
func startSandbox(t testing.TB, seed uint64) *conformance.Sandbox {
	t.Helper()
	sb, err := conformance.StartSandbox(context.Background(), conformance.SandboxOptions{Start: simtest.Start, Seed: seed, RequestTimeout: conformance.DefaultTiming.RequestTimeout,
		CheckResponses: func(r *http.Request, op string, status int, err error) {
			if err != nil {
				t.Errorf("the simulator's answer to %s %s (%s, %d) breaks its spec: %v", r.Method, r.URL.Path, op, status, err)
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sb.Close)
	return sb
}

// servedAt is an app.yaml whose app runs in the test at base (/onboarding,
// /payment, ...), started by nobody.
func servedAt(cfg conformance.AppConfig, base string) conformance.AppConfig {
	cfg.Start = nil
	e := &cfg.Endpoints
	e.OnboardingURL, e.PaymentURL, e.CaptureURL = base+"/onboarding", base+"/payment", base+"/capture"
	e.VoidURL, e.RefundURL = base+"/void", base+"/refund"
	e.PaymentQueryURL, e.RefundQueryURL = base+"/payment_query", base+"/refund_query"
	return cfg
}

// run runs the suite (or the scenarios tags selects) against the app.
func (ra *refApp) run(t testing.TB, tags string, out io.Writer, tt *testing.T) conformance.Report {
	t.Helper()
	return ra.runWith(t, conformance.SuiteOptions{Tags: tags, Output: out, TestingT: tt, Format: "progress"})
}

// runWith runs the suite with options against the app.
func (ra *refApp) runWith(t testing.TB, o conformance.SuiteOptions) conformance.Report {
	t.Helper()
	h, err := conformance.NewHarness(ra.sandbox.URL, ra.config, testTiming)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := h.Prepare(ctx); err != nil {
		t.Fatal(err)
	}
	return h.Run(ctx, o)
}

// TestReferenceAppConforms runs the whole suite against the correct
// reference app: every scenario must pass, each as a subtest.
func TestReferenceAppConforms(t *testing.T) {
	for _, psp := range conformance.PSPs {
		t.Run(psp, func(t *testing.T) {
			t.Parallel()
			referenceAppConforms(t, psp)
		})
	}
}

// referenceAppConforms runs the suite against the correct reference app
// charging cards with psp.
func referenceAppConforms(t *testing.T, psp string) {
	ra := startRefAppOn(t, psp)
	var out bytes.Buffer
	start := time.Now()
	rep := ra.run(t, os.Getenv("PSPSIM_CONFORMANCE_TAGS"), &out, t)
	t.Logf("%s: %d scenarios in %s", psp, len(rep.Scenarios), time.Since(start).Round(time.Millisecond))
	for _, s := range rep.Scenarios {
		if len(s.Unfired) > 0 {
			t.Errorf("%s: %q set up fault rules %v that never fired: the scenario did not test what it says", s.Feature, s.Name, s.Unfired)
		}
	}
	if rep.Status != 0 {
		for _, s := range rep.Failed() {
			t.Errorf("%s: %s\n%s", s.Feature, s.Name, s.Err)
		}
		t.Errorf("the correct reference app failed the suite:\n%s\napp log:\n%s", out.String(), tail(ra.logs.String(), 4000))
	}
}

func readFile(t testing.TB, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}
