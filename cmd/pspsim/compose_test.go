package main

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/types"

	"github.com/pspsim/pspsim/conformance"
	"github.com/pspsim/pspsim/simulator/genstore"
	"github.com/pspsim/pspsim/simulator/simtest"
)

// TestComposeFileIsValid loads docker-compose.yml with the Compose
// specification's own loader, which validates it against the Compose schema
// (no Docker engine runs in CI), and checks that it runs the sandbox the way
// the README says.
func TestComposeFileIsValid(t *testing.T) {
	root, _ := filepath.Abs("../..")
	raw, err := os.ReadFile(filepath.Join(root, "docker-compose.yml"))
	if err != nil {
		t.Fatal(err)
	}
	project, err := loader.LoadWithContext(context.Background(), types.ConfigDetails{
		WorkingDir:  root,
		ConfigFiles: []types.ConfigFile{{Filename: filepath.Join(root, "docker-compose.yml"), Content: raw}},
		Environment: types.Mapping{},
	}, func(o *loader.Options) { o.SetProjectName("pspsim", true) })
	if err != nil {
		t.Fatalf("compose file does not load: %v", err)
	}
	svc, ok := project.Services["pspsim"]
	if !ok {
		t.Fatalf("no pspsim service: %v", project.ServiceNames())
	}
	if svc.Build == nil || svc.Build.Dockerfile != "Dockerfile" {
		t.Fatalf("build: %+v", svc.Build)
	}
	if _, err := os.Stat(filepath.Join(root, svc.Build.Dockerfile)); err != nil {
		t.Fatalf("Dockerfile: %v", err)
	}
	cmd := strings.Join(svc.Command, " ")
	for _, want := range []string{"serve", "--addr=0.0.0.0:7357", "--clock=real", "--seed=1", "--config=/etc/pspsim/paymentapp.yaml"} {
		if !strings.Contains(cmd, want) {
			t.Errorf("command %q lacks %s", cmd, want)
		}
	}
	if len(svc.Ports) != 1 || svc.Ports[0].Target != 7357 || svc.Ports[0].Published != "7357" || svc.Ports[0].HostIP != "127.0.0.1" {
		t.Errorf("ports: %+v", svc.Ports)
	}
	if svc.HealthCheck == nil || !strings.Contains(strings.Join(svc.HealthCheck.Test, " "), "health") {
		t.Errorf("healthcheck: %+v", svc.HealthCheck)
	}
	// The admin token passes through to serve and to the health check,
	// which read it from the environment.
	if _, ok := svc.Environment["PSPSIM_ADMIN_TOKEN"]; !ok {
		t.Errorf("environment: %v lacks PSPSIM_ADMIN_TOKEN", svc.Environment)
	}
	// The health check runs a subcommand that exists.
	if !strings.Contains(usage, "pspsim health") {
		t.Error("the compose health check uses `pspsim health`, which the binary lacks")
	}

	checkPaymentAppService(t, root, project)

	// When a Docker client with the compose plugin is present, it must agree.
	if out, err := exec.Command("docker", "compose", "version").CombinedOutput(); err == nil {
		cmd := exec.Command("docker", "compose", "-f", filepath.Join(root, "docker-compose.yml"), "config", "--quiet")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("docker compose config: %v\n%s", err, out)
		}
	} else {
		t.Logf("docker compose not available (%s): checked with compose-go only", strings.TrimSpace(firstLine(string(out))))
	}
}

// checkPaymentAppService checks the reference app beside the sandbox: built
// from the Dockerfile's paymentapp stage, wired to the pspsim service, with
// the credentials and key of examples/paymentapp/app.yaml, healthy before use;
// and the sandbox's config registering it at the address it has in the
// compose network, so that `docker compose up` gives a working pair.
func checkPaymentAppService(t *testing.T, root string, project *types.Project) {
	t.Helper()
	svc, ok := project.Services["paymentapp"]
	if !ok {
		t.Fatalf("no paymentapp service: %v", project.ServiceNames())
	}
	if svc.Build == nil || svc.Build.Dockerfile != "Dockerfile" || svc.Build.Target != "paymentapp" {
		t.Errorf("paymentapp build: %+v", svc.Build)
	}
	df, _ := os.ReadFile(filepath.Join(root, "Dockerfile"))
	if !regexp.MustCompile(`(?m)^FROM \S+ AS paymentapp$`).Match(df) || !strings.Contains(string(df), "./examples/paymentapp/cmd/paymentapp") {
		t.Error("the Dockerfile has no paymentapp stage building ./examples/paymentapp/cmd/paymentapp")
	}
	app, err := conformance.LoadAppConfig(filepath.Join(root, "examples/paymentapp/app.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	env := func(k string) string {
		if v := svc.Environment[k]; v != nil {
			return *v
		}
		return ""
	}
	want := map[string]string{
		"PAYMENTAPP_ADDR": "0.0.0.0:7401", "PAYMENTAPP_PUBLIC_URL": "http://paymentapp:7401",
		"GENSTORE_URL": "http://pspsim:7357/genstore", "VMGATEWAY_URL": "http://pspsim:7357/vm",
	}
	for _, k := range []string{"PAYMENTAPP_CLIENT_ID", "PAYMENTAPP_CLIENT_SECRET", "PAYMENTAPP_ECIES_PRIVATE_KEY", "VM_SANDBOX_APP_ID", "VM_SANDBOX_SECRET", "VM_LIVE_APP_ID", "VM_LIVE_SECRET"} {
		want[k] = app.Start.Env[k]
	}
	for k, v := range want {
		if env(k) != v {
			t.Errorf("paymentapp environment %s = %q, want %q", k, env(k), v)
		}
	}
	if d, ok := svc.DependsOn["pspsim"]; !ok || d.Condition != types.ServiceConditionHealthy {
		t.Errorf("paymentapp depends_on: %+v (want pspsim healthy: the app subscribes to the gateway's webhooks at start)", svc.DependsOn)
	}
	if len(svc.Ports) != 1 || svc.Ports[0].Target != 7401 || svc.Ports[0].HostIP != "127.0.0.1" {
		t.Errorf("paymentapp ports: %+v", svc.Ports)
	}
	if svc.HealthCheck == nil || strings.Join(svc.HealthCheck.Test, " ") != "CMD /usr/local/bin/paymentapp health" {
		t.Errorf("paymentapp healthcheck: %+v", svc.HealthCheck)
	}

	// The sandbox's config loads, and registers the app as app.yaml does, at
	// the paymentapp service's address.
	cfg, err := os.ReadFile(filepath.Join(root, "examples/paymentapp/compose/pspsim.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(df), "COPY examples/paymentapp/compose/pspsim.yaml /etc/pspsim/paymentapp.yaml") {
		t.Error("the pspsim image does not carry the compose config at /etc/pspsim/paymentapp.yaml")
	}
	h := simtest.New(t, simtest.WithConfig(string(cfg)))
	var got struct {
		ClientID  string             `json:"clientId"`
		PublicKey string             `json:"publicKey"`
		Scopes    []string           `json:"scopes"`
		Endpoints genstore.Endpoints `json:"endpoints"`
	}
	res := h.Do("GET", "/_sim/genstore/apps/"+app.ClientID, nil)
	if res.Status != 200 {
		t.Fatalf("the compose config does not register %s: %d %s", app.ClientID, res.Status, res.Body)
	}
	if err := json.Unmarshal(res.Body, &got); err != nil {
		t.Fatal(err)
	}
	if got.PublicKey != app.ECIESPublicKey || len(got.Scopes) != len(app.Scopes) {
		t.Errorf("the compose registration differs from app.yaml: %+v", got)
	}
	for name, u := range map[string]string{"onboardingUrl": got.Endpoints.OnboardingURL, "paymentUrl": got.Endpoints.PaymentURL, "captureUrl": got.Endpoints.CaptureURL,
		"voidUrl": got.Endpoints.VoidURL, "refundUrl": got.Endpoints.RefundURL, "paymentQueryUrl": got.Endpoints.PaymentQueryURL, "refundQueryUrl": got.Endpoints.RefundQueryURL} {
		if !strings.HasPrefix(u, env("PAYMENTAPP_PUBLIC_URL")+"/") {
			t.Errorf("compose registration %s = %q, not on the paymentapp service", name, u)
		}
	}
}

// TestComposeTeamProfile loads docker-compose.yml with the team profile:
// PostgreSQL with a volume and a health check, published nowhere, and two
// pspsim replicas sharing one PSPSIM_STORE on it, each waiting for it to be
// healthy and published on loopback at a port of its own. Without the
// profile none of them runs.
func TestComposeTeamProfile(t *testing.T) {
	root, _ := filepath.Abs("../..")
	raw, err := os.ReadFile(filepath.Join(root, "docker-compose.yml"))
	if err != nil {
		t.Fatal(err)
	}
	load := func(profiles ...string) *types.Project {
		p, err := loader.LoadWithContext(context.Background(), types.ConfigDetails{
			WorkingDir:  root,
			ConfigFiles: []types.ConfigFile{{Filename: filepath.Join(root, "docker-compose.yml"), Content: raw}},
			Environment: types.Mapping{},
		}, func(o *loader.Options) { o.SetProjectName("pspsim", true); o.Profiles = profiles })
		if err != nil {
			t.Fatalf("compose file does not load with profiles %v: %v", profiles, err)
		}
		return p
	}
	for _, name := range []string{"postgres", "pspsim-a", "pspsim-b"} {
		if _, ok := load().Services[name]; ok {
			t.Errorf("%s runs without the team profile", name)
		}
	}
	project := load("team")
	db, ok := project.Services["postgres"]
	if !ok {
		t.Fatalf("no postgres service in the team profile: %v", project.ServiceNames())
	}
	if !strings.HasPrefix(db.Image, "postgres:") || len(db.Ports) != 0 || db.HealthCheck == nil || len(db.Volumes) != 1 ||
		db.Volumes[0].Target != "/var/lib/postgresql/data" || db.Volumes[0].Type != types.VolumeTypeVolume {
		t.Errorf("postgres: image %s, ports %+v, healthcheck %+v, volumes %+v (want a volume, a health check, no published port)", db.Image, db.Ports, db.HealthCheck, db.Volumes)
	}
	stores := map[string]bool{}
	published := map[string]bool{}
	for _, name := range []string{"pspsim-a", "pspsim-b"} {
		svc, ok := project.Services[name]
		if !ok {
			t.Fatalf("no %s service in the team profile: %v", name, project.ServiceNames())
		}
		st := svc.Environment["PSPSIM_STORE"]
		if st == nil || !strings.HasPrefix(*st, "postgres://") || !strings.Contains(*st, "@postgres:5432/") {
			t.Errorf("%s PSPSIM_STORE = %v, want postgres://…@postgres:5432/…", name, st)
		} else {
			stores[*st] = true
		}
		if d, ok := svc.DependsOn["postgres"]; !ok || d.Condition != types.ServiceConditionHealthy {
			t.Errorf("%s depends_on: %+v (want postgres healthy)", name, svc.DependsOn)
		}
		if len(svc.Ports) != 1 || svc.Ports[0].Target != 7357 || svc.Ports[0].HostIP != "127.0.0.1" {
			t.Errorf("%s ports: %+v", name, svc.Ports)
		} else {
			published[svc.Ports[0].Published] = true
		}
		cmd := strings.Join(svc.Command, " ")
		if !strings.Contains(cmd, "serve") || !strings.Contains(cmd, "--addr=0.0.0.0:7357") || strings.Contains(cmd, "--seed") {
			t.Errorf("%s command %q: want serve on 0.0.0.0:7357 without a shared --seed", name, cmd)
		}
		if svc.HealthCheck == nil {
			t.Errorf("%s has no health check", name)
		}
	}
	if len(stores) != 1 {
		t.Errorf("the replicas do not share one store: %v", stores)
	}
	if len(published) != 2 {
		t.Errorf("the replicas do not publish a port each: %v", published)
	}
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// TestDockerfileIsMultiStageAndStatic checks what the image promises: a build
// stage, a static binary (no cgo), a minimal runtime stage running pspsim serve.
func TestDockerfileIsMultiStageAndStatic(t *testing.T) {
	raw, err := os.ReadFile("../../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	df := string(raw)
	froms := regexp.MustCompile(`(?m)^FROM `).FindAllString(df, -1)
	if len(froms) < 2 {
		t.Errorf("%d FROM lines: not multi-stage", len(froms))
	}
	for _, want := range []string{"CGO_ENABLED=0", "./cmd/pspsim", "COPY --from=build", `"serve"`, "EXPOSE 7357"} {
		if !strings.Contains(df, want) {
			t.Errorf("Dockerfile lacks %s", want)
		}
	}
	// The sandbox's stage (the last) runs as a non-root user on a static
	// base and checks its own health.
	last := df[strings.LastIndex(df, "\nFROM "):]
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`^\nFROM gcr\.io/distroless/static\S*:nonroot\n`),
		regexp.MustCompile(`(?m)^USER nonroot`),
		regexp.MustCompile(`(?m)^HEALTHCHECK .*\\\n\s+CMD \["/usr/local/bin/pspsim", "health"`),
	} {
		if !want.MatchString(last) {
			t.Errorf("the sandbox stage does not match %s:\n%s", want, last)
		}
	}
	// The Go version of the build stage is the one go.mod asks for.
	mod, _ := os.ReadFile("../../go.mod")
	goLine := regexp.MustCompile(`(?m)^go (\S+)`).FindStringSubmatch(string(mod))
	if goLine == nil || !strings.Contains(df, "golang:"+goLine[1]) {
		t.Errorf("Dockerfile's golang image does not match go.mod's go %v", goLine)
	}
}
