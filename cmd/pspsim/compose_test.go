package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/types"
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
	for _, want := range []string{"serve", "--addr=0.0.0.0:7357", "--clock=real", "--seed=1"} {
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
	// The health check runs a subcommand that exists.
	if !strings.Contains(usage, "pspsim health") {
		t.Error("the compose health check uses `pspsim health`, which the binary lacks")
	}

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
	// The Go version of the build stage is the one go.mod asks for.
	mod, _ := os.ReadFile("../../go.mod")
	goLine := regexp.MustCompile(`(?m)^go (\S+)`).FindStringSubmatch(string(mod))
	if goLine == nil || !strings.Contains(df, "golang:"+goLine[1]) {
		t.Errorf("Dockerfile's golang image does not match go.mod's go %v", goLine)
	}
}
