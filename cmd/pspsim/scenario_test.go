package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pspsim/pspsim/scenario"
	"github.com/pspsim/pspsim/simulator/control"
)

const passing = `@smoke
Feature: smoke
  Scenario: health
    When I send GET "/_sim/health"
    Then the response status is 200

  @faults
  Scenario: a fault
    Given the vmgateway operation "createAccessToken" answers HTTP 503 once
    When I send POST "/vm/v1/auth/token" with JSON:
      """
      {"appId": "086666075137001", "secret": "184E52CF5365D2D7EE8EDA************"}
      """
    Then the response status is 503
`

const failing = `Feature: broken
  Scenario: wrong status
    When I send GET "/_sim/health"
    Then the response status is 418
`

func writeFeature(t *testing.T, dir, name, text string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestScenarioRunsFeaturesInProcess(t *testing.T) {
	dir := t.TempDir()
	ok := writeFeature(t, dir, "ok.feature", passing)
	bad := writeFeature(t, dir, "bad.feature", failing)
	junit := filepath.Join(dir, "out.xml")
	cases := []struct {
		name string
		args []string
		code int
		out  string
	}{
		{"passes", []string{ok}, 0, "2 scenarios (2 passed)"},
		{"fails", []string{bad}, 1, "1 failed"},
		{"tags", []string{"--tags", "@faults", ok}, 0, "1 scenarios (1 passed)"},
		{"junit", []string{"--format", "progress,junit:" + junit, ok}, 0, "2 passed"},
		{"no path", nil, 2, ""},
		{"missing path", []string{filepath.Join(dir, "nope.feature")}, 2, ""},
		{"remote with in-process flags", []string{"--target", "http://127.0.0.1:1", "--concurrency", "2", ok}, 2, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := run(context.Background(), append([]string{"scenario"}, c.args...), &out, &errb, nil)
			if code != c.code || !strings.Contains(out.String(), c.out) {
				t.Fatalf("exit %d (want %d)\nout: %s\nerr: %s", code, c.code, out.String(), errb.String())
			}
		})
	}
	x, err := os.ReadFile(junit)
	if err != nil || !bytes.Contains(x, []byte("<testsuites")) || !bytes.Contains(x, []byte(`name="a fault"`)) {
		t.Fatalf("junit report: %v %s", err, x)
	}
}

// TestScenarioAgainstARunningServer: `pspsim serve --faults F` then
// `pspsim scenario --target`: each scenario starts from a reset simulator
// that still has the file's rules.
func TestScenarioAgainstARunningServer(t *testing.T) {
	dir := t.TempDir()
	rules := writeFeature(t, dir, "faults.yaml", "rules:\n  - id: health-teapot\n    match: {system: vmgateway, operation: inquirePayment}\n    action: {type: status, status: 418}\n")
	srv := startServe(t, "--clock", "sim", "--clock-start", "2026-11-22T10:00:00Z", "--seed", "3", "--faults", rules, "--admin-token", "sc3nario")
	addr := srv.addr
	req, _ := http.NewRequest("GET", "http://"+addr+"/_sim/faults/health-teapot", nil)
	req.Header.Set("Authorization", "Bearer sc3nario")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var st map[string]any
	json.NewDecoder(res.Body).Decode(&st)
	res.Body.Close()
	if st["source"] != "file" {
		t.Fatalf("the --faults rule is not installed: %v", st)
	}
	feature := writeFeature(t, dir, "remote.feature", `Feature: remote
  Scenario: one
    Given the vmgateway operation "createAccessToken" answers HTTP 503
    When the clock advances by "1h"
    And I send POST "/vm/v1/auth/token" with JSON:
      """
      {"appId": "086666075137001", "secret": "184E52CF5365D2D7EE8EDA************"}
      """
    Then the response status is 503

  Scenario: two starts from a reset simulator
    When I send POST "/vm/v1/auth/token" with JSON:
      """
      {"appId": "086666075137001", "secret": "184E52CF5365D2D7EE8EDA************"}
      """
    Then the response status is 200
    And the journal has 1 event of kind "auth.token_issued"
    And the journal has no event of kind "fault.fired"
`)
	var out, errb bytes.Buffer
	// The server wants its admin token: without it no scenario can start
	// (each begins with a reset); with it, every step's /_sim request has it.
	if code := run(context.Background(), []string{"scenario", "--target", "http://" + addr, feature}, &out, &errb, nil); code == 0 || !strings.Contains(out.String()+errb.String(), "admin token") {
		t.Fatalf("without the token: exit %d\n%s\n%s", code, out.String(), errb.String())
	}
	out.Reset()
	errb.Reset()
	if code := run(context.Background(), []string{"scenario", "--target", "http://" + addr, "--admin-token", "sc3nario", feature}, &out, &errb, nil); code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out.String(), errb.String())
	}
	if !strings.Contains(out.String(), "2 scenarios (2 passed)") {
		t.Fatalf("%s", out.String())
	}
	srv.stop(t)
}

func TestStepsPrintsTheCatalogue(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"steps"}, &out, &errb, nil); code != 0 || !bytes.Equal(out.Bytes(), scenario.Catalogue()) {
		t.Fatalf("exit %d, %d bytes", code, out.Len())
	}
}

func TestServeRefusesAMalformedFaultsFile(t *testing.T) {
	dir := t.TempDir()
	bad := writeFeature(t, dir, "bad.yaml", "- id: r1\n  action: {type: status, status: 42}\n")
	var out, errb bytes.Buffer
	code := run(context.Background(), []string{"serve", "--addr", "127.0.0.1:0", "--faults", bad}, &out, &errb, nil)
	if code != 1 || !strings.Contains(errb.String(), "fault rule r1: action.status") {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if code := run(context.Background(), []string{"serve", "--faults", filepath.Join(dir, "none.yaml")}, io.Discard, &errb, nil); code != 2 {
		t.Fatalf("missing file: exit %d", code)
	}
}

// TestScenarioRunsTheSimulatorsOwnFeatures: what go test runs, the command
// runs too, from another directory, with the same seeds.
func TestScenarioRunsTheSimulatorsOwnFeatures(t *testing.T) {
	if testing.Short() {
		t.Skip("runs every feature")
	}
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"scenario", "--concurrency", "2", "../../features/simulator"}, &out, &errb, nil); code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out.String(), errb.String())
	}
	if !strings.Contains(out.String(), " passed)") || strings.Contains(out.String(), "failed") {
		t.Fatalf("%s", out.String())
	}
}

// Against a shared server: --namespace auto gives each scenario a fresh
// namespace (so scenarios may run at once), deleted afterwards; the
// server's default namespace is neither reset nor moved. --namespace NAME
// creates NAME once and resets only it before each scenario.
func TestScenarioInNamespaces(t *testing.T) {
	dir := t.TempDir()
	srv := startServe(t, "--clock", "sim", "--clock-start", "2026-11-22T10:00:00Z", "--seed", "3")
	base := "http://" + srv.addr
	c := &http.Client{Transport: control.Transport(nil, "")}
	res, err := c.Post(base+"/_sim/genstore/shops", "application/json", strings.NewReader(`{"shopId":"8801","shop":"bystander"}`))
	if err != nil || res.StatusCode != 201 {
		t.Fatalf("shop: %v %v", res, err)
	}
	res.Body.Close()
	feature := writeFeature(t, dir, "ns.feature", `Feature: namespaces
  Scenario: one moves its own clock
    When the clock advances by "5h"
    And I send GET "/_sim/genstore/shops/8801"
    Then the response status is 404

  Scenario: two starts fresh
    When I send POST "/vm/v1/auth/token" with JSON:
      """
      {"appId": "086666075137001", "secret": "184E52CF5365D2D7EE8EDA************"}
      """
    Then the response status is 200
    And the journal has 1 event of kind "auth.token_issued"
`)
	for _, args := range [][]string{{"--namespace", "auto", "--concurrency", "2"}, {"--namespace", "team-a"}, {"--namespace", "team-a"}} {
		var out, errb bytes.Buffer
		if code := run(context.Background(), append([]string{"scenario", "--target", base, "--format", "progress"}, append(args, feature)...), &out, &errb, nil); code != 0 || !strings.Contains(out.String(), "2 scenarios (2 passed)") {
			t.Fatalf("%v: exit %d\n%s\n%s", args, code, out.String(), errb.String())
		}
	}
	var list struct{ Namespaces []struct{ Name string } }
	res, err = c.Get(base + "/_sim/namespaces")
	if err != nil {
		t.Fatal(err)
	}
	json.NewDecoder(res.Body).Decode(&list)
	res.Body.Close()
	if len(list.Namespaces) != 2 || list.Namespaces[1].Name != "team-a" {
		t.Fatalf("namespaces after the runs: %+v (want default and team-a)", list)
	}
	var clk map[string]any
	res, _ = c.Get(base + "/_sim/clock")
	json.NewDecoder(res.Body).Decode(&clk)
	res.Body.Close()
	if clk["now"] != "2026-11-22T10:00:00Z" {
		t.Fatalf("the default namespace's clock moved: %v", clk)
	}
	if res, _ := c.Get(base + "/_sim/genstore/shops/8801"); res.StatusCode != 200 {
		t.Fatalf("the default namespace was reset: %d", res.StatusCode)
	}
}
