package conformance_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/pspsim/pspsim/conformance"
	"github.com/pspsim/pspsim/examples/queueapp"
)

// TestSecondAppConforms runs the whole suite against examples/queueapp, a correct app
// of another design than the reference app: it answers 503 while its PSP fails, works
// captures, voids and refunds from a queue after acknowledging them, reports refunds
// only once settled, and learns late outcomes by asking the PSP instead of taking its
// webhooks. A suite that fails it raises a false alarm.
func TestSecondAppConforms(t *testing.T) {
	t.Parallel()
	yaml, err := conformance.LoadAppConfig("../examples/queueapp/app.yaml")
	if err != nil {
		t.Fatal(err)
	}
	sb := startSandbox(t, 11)
	srv := httptest.NewServer(nil)
	t.Cleanup(srv.Close)
	logs := &syncBuffer{}
	env := yaml.Start.Env
	app, err := queueapp.New(queueapp.Config{
		GenstoreURL: sb.URL + "/genstore", GatewayURL: sb.URL + "/vm", PublicURL: srv.URL,
		ClientID: yaml.ClientID, ClientSecret: yaml.ClientSecret, ECIESPrivateKey: env["QUEUEAPP_ECIES_PRIVATE_KEY"],
		SandboxAppID: yaml.PSP.Sandbox.AppID, SandboxSecret: yaml.PSP.Sandbox.Secret, LiveAppID: yaml.PSP.Live.AppID, LiveSecret: yaml.PSP.Live.Secret,
		Logger: slog.New(slog.NewTextHandler(logs, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(app.Close)
	srv.Config.Handler = app.Handler()
	h, err := conformance.NewHarness(sb.URL, servedAt(yaml, srv.URL), testTiming)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := h.Prepare(ctx); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	start := time.Now()
	rep := h.Run(ctx, conformance.SuiteOptions{Tags: os.Getenv("PSPSIM_CONFORMANCE_TAGS"), Output: &out, TestingT: t, Format: "progress"})
	t.Logf("%d scenarios in %s", len(rep.Scenarios), time.Since(start).Round(time.Millisecond))
	if rep.Status != 0 {
		for _, s := range rep.Failed() {
			t.Errorf("%s: %s\n%s", s.Feature, s.Name, s.Err)
		}
		t.Errorf("the second correct app failed the suite:\n%s\napp log:\n%s", out.String(), tail(logs.String(), 4000))
	}
}
