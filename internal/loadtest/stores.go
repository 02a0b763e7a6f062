package main

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// compareStores runs the card gateway's createPayment and inquirePayment
// against one pspsim per store (`pspsim serve --store S`), one after the
// other in this run, and prints throughput and p99 latency side by side
// with each store's ratio to the first (memory, by convention).
//
//	go run ./internal/loadtest -pspsim /tmp/pspsim -stores memory,sqlite:/tmp/lt.db,postgres://postgres@127.0.0.1/lt
func (lt *loadTest) compareStores(port int, stores []string) {
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	lt.pspsimURL = "http://" + addr
	type row struct{ rps, p99 [2]float64 }
	rows := make([]row, len(stores))
	fmt.Printf("wrk -t%d -c%d -d%s --latency per operation, one store after the other\n\n", lt.threads, lt.conns, lt.duration)
	for i, st := range stores {
		sim := start(lt.pspsim, "serve", "--addr", addr, "--clock", "sim", "--seed", "1", "--log-level", "error", "--store", st)
		waitReady(lt.pspsimURL + "/_sim/health")
		lt.prepare()
		for j, op := range lt.operations()[:2] {
			r := lt.wrk(sim, lt.pspsimURL, op)
			rows[i].rps[j], rows[i].p99[j] = r.requests, r.p99
			if r.errors > 0 {
				fmt.Printf("  (%s %s: %d non-2xx)\n", st, op.name, r.errors)
			}
		}
		stop(sim)
	}
	fmt.Printf("%-10s %12s %10s %12s %10s %10s %10s\n", "store", "create rps", "create p99", "inquiry rps", "inq. p99", "create ×", "inquiry ×")
	for i, st := range stores {
		r := rows[i]
		fmt.Printf("%-10s %12.0f %10s %12.0f %10s %10.2f %10.2f\n", label(st), r.rps[0], ms(r.p99[0]), r.rps[1], ms(r.p99[1]),
			rows[0].rps[0]/r.rps[0], rows[0].rps[1]/r.rps[1])
	}
}

func ms(seconds float64) string {
	return time.Duration(seconds * float64(time.Second)).Round(10 * time.Microsecond).String()
}

// label names a --store value by its kind (a URL may carry a password).
func label(s string) string {
	if i := strings.IndexByte(s, ':'); i > 0 {
		return s[:i]
	}
	return s
}

// p99RE reads wrk --latency's 99th percentile ("     99%    3.21ms").
var p99RE = regexp.MustCompile(`(?m)^\s+99%\s+([0-9.]+)(us|ms|s)\b`)

// p99Of returns wrk's 99th percentile latency in seconds (0: none printed).
func p99Of(out []byte) float64 {
	m := p99RE.FindSubmatch(out)
	if m == nil {
		return 0
	}
	v, _ := strconv.ParseFloat(string(m[1]), 64)
	switch string(m[2]) {
	case "us":
		return v / 1e6
	case "ms":
		return v / 1e3
	}
	return v
}

func splitStores(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
