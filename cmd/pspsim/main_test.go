package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestSubcommands(t *testing.T) {
	cases := []struct {
		args []string
		code int
		out  string
	}{
		{[]string{"version"}, 0, "pspsim 0.1.0"},
		{[]string{"specs"}, 0, "codepay.yaml\n"},
		{[]string{"specs", "vmgateway"}, 0, "openapi: 3.0.3"},
		{[]string{"specs", "nothing"}, 1, ""},
		{[]string{"fixtures"}, 0, "4000123456000019"},
		{[]string{"frobnicate"}, 2, ""},
		{nil, 2, ""},
		{[]string{"serve", "--clock", "sundial"}, 2, ""},
		{[]string{"serve", "--seed", "-3"}, 2, ""},
		{[]string{"serve", "--config", "/nonexistent.yaml"}, 2, ""},
	}
	for _, c := range cases {
		var out, errb bytes.Buffer
		code := run(context.Background(), c.args, &out, &errb, nil)
		if code != c.code || !strings.Contains(out.String(), c.out) {
			t.Errorf("pspsim %v: exit %d (want %d), out %q, err %q", c.args, code, c.code, clip(out.String()), errb.String())
		}
	}
}

func clip(s string) string {
	if len(s) > 200 {
		return s[:200] + "…"
	}
	return s
}

func TestServeAnswersAndShutsDownGracefully(t *testing.T) {
	s := startServe(t, "--clock", "sim", "--clock-start", "2026-11-22T10:00:00Z", "--seed", "7")
	addr := s.addr
	res, err := http.Get("http://" + addr + "/_sim/health")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !strings.Contains(string(body), `"seed":7`) || !strings.Contains(string(body), `"now":"2026-11-22T10:00:00Z"`) {
		t.Fatalf("health: %d %s", res.StatusCode, body)
	}
	var hout, herr bytes.Buffer
	if code := run(context.Background(), []string{"health", "--url", "http://" + addr}, &hout, &herr, nil); code != 0 || !strings.Contains(hout.String(), `"status":"ok"`) {
		t.Fatalf("health: %d %s %s", code, hout.String(), herr.String())
	}
	if code := s.stop(t); code != 0 {
		t.Fatalf("shutdown exit %d: %s", code, s.errb.String())
	}
	hout.Reset()
	if code := run(context.Background(), []string{"health", "--url", "http://" + addr}, &hout, &herr, nil); code == 0 {
		t.Fatalf("health succeeded against a stopped server: %s", hout.String())
	}
	if !strings.Contains(s.errb.String(), "shutting down") {
		t.Errorf("no shutdown log: %s", s.errb.String())
	}
}

func TestServeRefusesABadConfig(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "bad.yaml")
	os.WriteFile(cfg, []byte("shops: []\n"), 0o644)
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"serve", "--addr", "127.0.0.1:0", "--config", cfg}, &out, &errb, nil); code != 1 || !strings.Contains(errb.String(), "unknown section") {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
}

// TestColdStart builds the binary and measures the time from exec to the first
// answered request. The target is 100 ms; the test fails only above 2 s, so
// that a loaded CI machine does not turn noise into a red build — the figure
// is logged (go test -v -run TestColdStart ./cmd/pspsim).
func TestColdStart(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := filepath.Join(t.TempDir(), "pspsim")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	best := time.Hour
	for i := 0; i < 5; i++ {
		d := coldStart(t, bin)
		if d < best {
			best = d
		}
	}
	t.Logf("cold start to first answered request: best of 5 = %v (target 100ms)", best)
	if best > 2*time.Second {
		t.Fatalf("cold start took %v", best)
	}
}

func coldStart(t *testing.T, bin string) time.Duration {
	t.Helper()
	start := time.Now()
	cmd := exec.Command(bin, "serve", "--addr", "127.0.0.1:0", "--seed", "1")
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	buf := make([]byte, 256)
	n, _ := stdout.Read(buf)
	line := string(buf[:n])
	i := strings.Index(line, "http://")
	if i < 0 {
		t.Fatalf("no address in %q", line)
	}
	url := strings.Fields(line[i:])[0]
	for time.Since(start) < 10*time.Second {
		res, err := http.Get(url + "/_sim/health")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				return time.Since(start)
			}
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatal("no answer within 10s")
	return 0
}
