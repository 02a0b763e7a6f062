package main

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pspsim/pspsim/simulator/control"
)

// pspsim serve with --namespaces-auto and --namespaces-max: the first
// request to /ns/{name}/… creates it, one more than the limit is refused
// (429), and every log line of a namespace names it, as its events do.
func TestServeNamespaces(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "config.yaml")
	os.WriteFile(cfg, []byte("namespaces:\n  max: 5\n  retention: {events: 300}\n"), 0o644)
	srv := startServe(t, "--clock", "sim", "--log-level", "debug", "--config", cfg, "--namespaces-auto", "--namespaces-max", "1")
	base := "http://" + srv.addr
	c := &http.Client{Transport: control.Transport(nil, "")}
	get := func(path string) (int, map[string]any) {
		res, err := c.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var m map[string]any
		json.NewDecoder(res.Body).Decode(&m)
		return res.StatusCode, m
	}
	if code, m := get("/ns/first/_sim/health"); code != 200 {
		t.Fatalf("first use: %d %v", code, m)
	}
	if code, m := get("/ns/second/_sim/health"); code != http.StatusTooManyRequests {
		t.Fatalf("over --namespaces-max 1: %d %v", code, m)
	}
	code, m := get("/_sim/namespaces")
	ns, _ := m["namespaces"].([]any)
	if code != 200 || m["max"] != float64(1) || m["auto"] != true || len(ns) != 2 {
		t.Fatalf("list: %d %v", code, m)
	}
	if r := ns[1].(map[string]any)["retention"].(map[string]any); r["events"] != float64(300) {
		t.Fatalf("the config's namespace retention: %v", r)
	}
	code, m = get("/ns/first/_sim/events?limit=1")
	if evs, _ := m["events"].([]any); code != 200 || len(evs) != 1 || evs[0].(map[string]any)["namespace"] != "first" {
		t.Fatalf("events: %d %v", code, m)
	}
	srv.stop(t)
	logs := srv.errb.String()
	var seen bool
	for _, line := range strings.Split(logs, "\n") {
		if strings.Contains(line, "path=/_sim/events") {
			seen = true
			if !strings.Contains(line, "namespace=first") {
				t.Errorf("a namespace's log line without its name: %s", line)
			}
		}
		if strings.Contains(line, "path=/_sim/namespaces") && !strings.Contains(line, "namespace=default") {
			t.Errorf("the default namespace's log line without its name: %s", line)
		}
	}
	if !seen || !strings.Contains(logs, "namespace created") {
		t.Fatalf("logs:\n%s", logs)
	}
}
