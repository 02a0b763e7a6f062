package main

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestServeMetricsAndAccessLog: `pspsim serve` answers GET /metrics in the
// Prometheus text format with the requests it served, and writes one JSON
// access-log line per request with --log-json.
func TestServeMetricsAndAccessLog(t *testing.T) {
	s := startServe(t, "--clock", "sim", "--seed", "3", "--log-json")
	base := "http://" + s.addr
	for range 2 {
		res, err := http.Get(base + "/_sim/health")
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
	}
	res, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/plain") {
		t.Fatalf("/metrics: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	for _, want := range []string{
		`pspsim_http_requests_total{namespace="default",operation="getHealth",status="200",system="admin"} 2`,
		`# TYPE pspsim_http_request_duration_seconds histogram`,
		`pspsim_journal_events{namespace="default"}`,
		`go_memstats_heap_alloc_bytes `,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if code := s.stop(t); code != 0 {
		t.Fatalf("exit %d", code)
	}
	lines := 0
	for _, l := range strings.Split(s.errb.String(), "\n") {
		var rec map[string]any
		if json.Unmarshal([]byte(l), &rec) != nil || rec["msg"] != "request" {
			continue
		}
		lines++
		if rec["operation"] != "getHealth" || rec["status"] != float64(200) || rec["namespace"] != "default" || rec["level"] != "INFO" {
			t.Errorf("access-log line: %s", l)
		}
	}
	if lines != 2 {
		t.Errorf("%d access-log lines for 2 requests (the /metrics scrape is not one):\n%s", lines, s.errb.String())
	}
}
