package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pspsim/pspsim/conformance"
	"github.com/pspsim/pspsim/examples/paymentapp"
)

func TestConformanceUsage(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("clientId: x\n"), 0o644)
	for _, c := range []struct {
		name string
		args []string
		want string
	}{
		{"no app", nil, "--app app.yaml is required"},
		{"missing file", []string{"--app", filepath.Join(dir, "none.yaml")}, "no such file"},
		{"broken app.yaml", []string{"--app", bad}, "clientSecret: is required"},
		{"extra argument", []string{"--app", bad, "features/"}, "nothing else"},
		{"bad app-env", []string{"--app", bad, "--app-env", "NOEQUALS"}, "NAME=VALUE"},
	} {
		var out, errb bytes.Buffer
		if code := run(context.Background(), append([]string{"conformance"}, c.args...), &out, &errb, nil); code != 2 || !strings.Contains(errb.String(), c.want) {
			t.Errorf("%s: exit %d, stderr %q (want 2 and %q)", c.name, code, errb.String(), c.want)
		}
	}
}

// inProcessApp runs the reference app (with bugs) against a sandbox and
// writes an app.yaml without a start section for it.
func inProcessApp(t *testing.T, bugs ...paymentapp.Bug) (target, appFile string) {
	t.Helper()
	return protectedApp(t, "", bugs...)
}

// protectedApp is inProcessApp with a sandbox whose control API wants the
// admin token (none when token is empty).
func protectedApp(t *testing.T, token string, bugs ...paymentapp.Bug) (target, appFile string) {
	t.Helper()
	ref, err := conformance.LoadAppConfig("../../examples/paymentapp/app.yaml")
	if err != nil {
		t.Fatal(err)
	}
	sb, err := conformance.StartSandbox(context.Background(), conformance.SandboxOptions{AdminToken: token})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sb.Close)
	srv := httptest.NewServer(nil)
	t.Cleanup(srv.Close)
	app, err := paymentapp.New(paymentapp.Config{
		GenstoreURL: sb.URL + "/genstore", GatewayURL: sb.URL + "/vm", PublicURL: srv.URL,
		ClientID: ref.ClientID, ClientSecret: ref.ClientSecret, ECIESPrivateKey: ref.Start.Env["PAYMENTAPP_ECIES_PRIVATE_KEY"],
		Sandbox: paymentapp.Credentials{AppID: ref.PSP.Sandbox.AppID, Secret: ref.PSP.Sandbox.Secret},
		Live:    paymentapp.Credentials{AppID: ref.PSP.Live.AppID, Secret: ref.PSP.Live.Secret},
		Logger:  slog.New(slog.NewTextHandler(io.Discard, nil)), Bugs: bugs,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { app.Close() })
	srv.Config.Handler = app.Handler()
	raw, _ := os.ReadFile("../../examples/paymentapp/app.yaml")
	y := string(raw)
	y = y[:strings.Index(y, "\nstart:")] + "\n"
	y = strings.ReplaceAll(y, "http://127.0.0.1:7401", srv.URL)
	appFile = filepath.Join(t.TempDir(), "app.yaml")
	if err := os.WriteFile(appFile, []byte(y+"suite: {resultWait: 3s, quiet: 200ms}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return sb.URL, appFile
}

// Against a running pspsim (--target): the correct app passes and the JUnit
// file names each scenario; an app with a bug fails with the verdict's code
// and exit status 1.
func TestConformanceAgainstATarget(t *testing.T) {
	// The target's control API wants a token: the runner passes --admin-token
	// (or PSPSIM_ADMIN_TOKEN) on every /_sim request, and cannot run without.
	target, appFile := protectedApp(t, "c0nformance")
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"conformance", "--app", appFile, "--target", target, "--tags", "@payment"}, &out, &errb, nil); code != 3 || !strings.Contains(errb.String(), "401") {
		t.Fatalf("without the token: exit %d\n%s", code, errb.String())
	}
	t.Setenv("PSPSIM_ADMIN_TOKEN", "c0nformance")
	junit := filepath.Join(t.TempDir(), "out.xml")
	out.Reset()
	errb.Reset()
	code := run(context.Background(), []string{"conformance", "--app", appFile, "--target", target, "--tags", "@payment", "--format", "progress,junit:" + junit}, &out, &errb, nil)
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out.String(), errb.String())
	}
	x, err := os.ReadFile(junit)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{`testcase name="An approved sale is acknowledged, charged once and reported by payment/"`, `testcase name="A declined card (row 20, insufficient funds) is reported as failed, with a reason"`} {
		if !strings.Contains(string(x), name) {
			t.Errorf("the JUnit report lacks %s", name)
		}
	}
	if !strings.Contains(out.String(), "all 8 scenarios passed") {
		t.Errorf("summary:\n%s", out.String())
	}

	target, appFile = inProcessApp(t, paymentapp.BugIgnoreHMAC)
	out.Reset()
	code = run(context.Background(), []string{"conformance", "--app", appFile, "--target", target, "--tags", "@signature && ~@install"}, &out, &errb, nil)
	if code != 1 || !strings.Contains(out.String(), "SIGNATURE_NOT_ENFORCED") || !strings.Contains(out.String(), "docs/CONTRACT.md §2.2") {
		t.Errorf("an app ignoring hmac: exit %d\n%s", code, out.String())
	}
}

// A target on the real clock cannot be judged: exit 3, saying why.
func TestConformanceNeedsASimulatedClock(t *testing.T) {
	addr := startServe(t).addr
	_, appFile := inProcessApp(t)
	var errb bytes.Buffer
	if code := run(context.Background(), []string{"conformance", "--app", appFile, "--target", "http://" + addr}, io.Discard, &errb, nil); code != 3 || !strings.Contains(errb.String(), "--clock=sim") {
		t.Errorf("exit %d: %s", code, errb.String())
	}
}

// From a clone, as README says: the runner starts the app of app.yaml (go
// run), with the sandbox's URLs in its environment, and stops it.
func TestConformanceStartsTheApp(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles and starts the reference app")
	}
	var out, errb bytes.Buffer
	code := run(context.Background(), []string{"conformance", "--app", "../../examples/paymentapp/app.yaml", "--tags", "@install"}, &out, &errb, nil)
	if code != 0 || !strings.Contains(out.String(), "all 3 scenarios passed") {
		t.Fatalf("exit %d\n%s\n%s", code, out.String(), errb.String())
	}
}
