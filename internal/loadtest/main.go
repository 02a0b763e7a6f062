// Command loadtest measures pspsim the way issue #11 states its targets, all
// in one run on one machine, and prints ratios:
//
//   - server CPU per request (user+system time from /proc, over a wrk run)
//     of the card gateway's createPayment and inquirePayment and Genstore's
//     pay-transaction GET, against a bare net/http handler (this program,
//     re-executed) that decodes the same request body and encodes an answer
//     of the same size;
//
//   - throughput against stripe-mock, when its binary is given;
//
//   - cold start: exec of `pspsim serve` to its first answered request (a
//     validated card-gateway operation, POST /vm/v1/auth/token), median of
//     many starts.
//
//     go build -o /tmp/pspsim ./cmd/pspsim
//     go run ./internal/loadtest -pspsim /tmp/pspsim [-stripe-mock /tmp/bin/stripe-mock] [-duration 10s]
//
// It needs wrk (Debian package wrk) on PATH and listens on 127.0.0.1 ports
// from -port (three consecutive ones). `loadtest profile ADDR FILE` serves a
// simulator with its CPU profiled, to drive with wrk by hand.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

func main() {
	if len(os.Args) > 3 && os.Args[1] == "bare" {
		os.Exit(serveBare(os.Args[2], os.Args[3]))
	}
	if len(os.Args) > 3 && os.Args[1] == "profile" {
		os.Exit(serveProfiled(os.Args[2], os.Args[3]))
	}
	pspsim := flag.String("pspsim", "", "the pspsim binary (required)")
	stripeMock := flag.String("stripe-mock", "", "the stripe-mock binary, for the throughput comparison (optional)")
	duration := flag.Duration("duration", 10*time.Second, "how long each wrk run lasts")
	port := flag.Int("port", 18100, "first of three loopback ports to listen on")
	threads := flag.Int("threads", 2, "wrk threads")
	conns := flag.Int("connections", 32, "wrk connections")
	starts := flag.Int("starts", 20, "cold starts to take the median of (0: skip)")
	coldOnly := flag.Bool("cold-start-only", false, "measure the cold start only (no wrk)")
	coldBaseline := flag.String("cold-start-baseline", "", "with -cold-start-only: another pspsim binary, started alternately with -pspsim, for the ratio of their medians in one run")
	stores := flag.String("stores", "", "comma-separated --store values (memory,sqlite:PATH,postgres://…): compare the gateway's create and inquiry on each instead")
	flag.Parse()
	if *pspsim == "" {
		flag.Usage()
		os.Exit(2)
	}
	if _, err := exec.LookPath("wrk"); err != nil && !*coldOnly {
		fail("wrk is not on PATH (apt-get install wrk)")
	}
	lt := &loadTest{pspsim: *pspsim, duration: *duration, threads: *threads, conns: *conns, dir: must(os.MkdirTemp("", "pspsim-loadtest"))}
	defer os.RemoveAll(lt.dir)
	if *coldOnly {
		addr := fmt.Sprintf("127.0.0.1:%d", *port)
		if *coldBaseline != "" {
			lt.coldStartVersus(max(*starts, 1), addr, *coldBaseline)
			return
		}
		lt.coldStart(max(*starts, 1), addr)
		return
	}
	if *stores != "" {
		lt.compareStores(*port, splitStores(*stores))
		return
	}
	lt.run(*port, *stripeMock, *starts)
}

type loadTest struct {
	pspsim          string
	duration        time.Duration
	threads, conns  int
	dir             string
	token           string
	samples         map[string][]byte // answers of pspsim, for the bare server
	pspsimURL, bare string
	runs            int
	inquiryGen      int
}

type result struct {
	requests float64 // per second
	cpu      float64 // server CPU seconds per request
	errors   int
	p99      float64 // seconds
}

func (lt *loadTest) run(port int, stripeMock string, starts int) {
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	lt.pspsimURL = "http://" + addr
	sim := start(lt.pspsim, "serve", "--addr", addr, "--clock", "sim", "--seed", "1", "--log-level", "error")
	defer stop(sim)
	waitReady(lt.pspsimURL + "/_sim/health")
	lt.prepare()

	bareAddr := fmt.Sprintf("127.0.0.1:%d", port+1)
	lt.bare = "http://" + bareAddr
	samples := filepath.Join(lt.dir, "samples.json")
	must0(os.WriteFile(samples, must(json.Marshal(lt.samples)), 0o600))
	self := must(os.Executable())
	bare := start(self, "bare", bareAddr, samples)
	defer stop(bare)
	waitReady(lt.bare + "/health")

	fmt.Printf("wrk -t%d -c%d -d%s, one after the other; CPU of the server process from /proc\n\n", lt.threads, lt.conns, lt.duration)
	fmt.Printf("%-28s %12s %12s %14s %14s %8s\n", "operation", "pspsim rps", "bare rps", "pspsim µs CPU", "bare µs CPU", "× bare")
	for _, op := range lt.operations() {
		p := lt.wrk(sim, lt.pspsimURL, op)
		b := lt.wrk(bare, lt.bare, op)
		fmt.Printf("%-28s %12.0f %12.0f %14.1f %14.1f %8.2f", op.name, p.requests, b.requests, p.cpu*1e6, b.cpu*1e6, p.cpu/b.cpu)
		if p.errors > 0 || b.errors > 0 {
			fmt.Printf("   (non-2xx: pspsim %d, bare %d)", p.errors, b.errors)
		}
		fmt.Println()
	}

	fmt.Printf("pspsim's peak resident memory (VmHWM): %s\n", peakRSS(sim.Process.Pid))

	if stripeMock != "" {
		lt.versusStripeMock(sim, stripeMock, port+2)
	}
	if starts > 0 {
		stop(sim)
		lt.coldStart(starts, addr)
	}
}

type operation struct {
	name   string
	method string
	path   string
	header []string
	lua    string // a wrk script, when the request changes
	before func() // run before each wrk run against pspsim
}

func (lt *loadTest) operations() []operation {
	auth := "Authorization: Bearer " + lt.token
	return []operation{
		{name: "vmgateway createPayment", path: "/vm/v1/payments", header: []string{auth, "Content-Type: application/json"}, lua: createLua},
		{name: "vmgateway inquirePayment", path: "/vm/v1/payments/inquiry", header: []string{auth, "Content-Type: application/json"}, lua: inquiryLua,
			before: lt.createInquiryOrders},
		{name: "genstore getPayment", method: "GET", path: "/genstore/api/202412/payment/PI0020241010151755224",
			header: []string{"X-Genstore-Access-Token: gst_demo_0000000000000000000000000001"}},
	}
}

// paymentBody is a frictionless card payment that captures at once; wrk's
// scripts build the same body with their own order numbers.
const paymentBody = `{"orderNo":"%s","amount":"19.99","currency":"USD","paymentMethodType":"card","description":"load test","threeDsMode":"auto",` +
	`"card":{"cardNo":"4000123456000019","expiryMonth":"12","expiryYear":"2030","cvc":"123","captureMethod":"auto"},` +
	`"deviceInfo":{"clientIp":"10.1.1.1","language":"en-US","browser":{"acceptHeader":"text/html","userAgent":"Mozilla/5.0 (load)","javascriptEnable":true,` +
	`"colorDepth":"24","screenHeight":"800","screenWidth":"1200","timeZone":"0"}}}`

var threadSetup = `
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end
`

// createLua's order numbers start with RUN, replaced by a prefix of its
// own for every wrk run (orders are unique per merchant).
var createLua = threadSetup + `
local n = 0
request = function()
  n = n + 1
  local body = string.format(` + strconv.Quote(strings.ReplaceAll(paymentBody, `"%s"`, `"RUN%d%09d"`)) + `, tid, n)
  return wrk.format("POST", nil, nil, body)
end
`

const inquiryOrders = 1000

var inquiryLua = threadSetup + `
local n = 0
request = function()
  n = n + 1
  return wrk.format("POST", nil, nil, string.format('{"orderNo":"QPFX%06d"}', n % ` + strconv.Itoa(inquiryOrders) + `))
end
`

// prepare gets a token, creates the orders the inquiries ask for, and keeps
// one answer of each operation for the bare server to send.
func (lt *loadTest) prepare() {
	var tok struct{ AccessToken string }
	post(lt.pspsimURL+"/vm/v1/auth/token", "", `{"appId":"086666075137001","secret":"184E52CF5365D2D7EE8EDA************"}`, &tok)
	lt.token = tok.AccessToken
	lt.samples = map[string][]byte{}
	lt.samples["/vm/v1/payments"] = post(lt.pspsimURL+"/vm/v1/payments", lt.token, fmt.Sprintf(paymentBody, "SAMPLE1"), nil)
	lt.createInquiryOrders()
	lt.samples["/vm/v1/payments/inquiry"] = post(lt.pspsimURL+"/vm/v1/payments/inquiry", lt.token, `{"orderNo":"`+lt.inquiryPrefix()+`000001"}`, nil)
	req := must(http.NewRequest("GET", lt.pspsimURL+"/genstore/api/202412/payment/PI0020241010151755224", nil))
	req.Header.Set("X-Genstore-Access-Token", "gst_demo_0000000000000000000000000001")
	res := must(http.DefaultClient.Do(req))
	lt.samples["/genstore/api/202412/payment/PI0020241010151755224"] = must(io.ReadAll(res.Body))
	res.Body.Close()
}

// createInquiryOrders creates afresh the orders the inquiries ask for
// (QPFX in the script: I and a generation): a load of payments since may
// have pushed the previous ones out under the retention limits.
func (lt *loadTest) createInquiryOrders() {
	lt.inquiryGen++
	for i := range inquiryOrders {
		post(lt.pspsimURL+"/vm/v1/payments", lt.token, fmt.Sprintf(paymentBody, fmt.Sprintf("%s%06d", lt.inquiryPrefix(), i)), nil)
	}
}

func (lt *loadTest) inquiryPrefix() string { return fmt.Sprintf("I%02d", lt.inquiryGen) }

func post(url, token, body string, out any) []byte {
	req := must(http.NewRequest("POST", url, strings.NewReader(body)))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res := must(http.DefaultClient.Do(req))
	defer res.Body.Close()
	b := must(io.ReadAll(res.Body))
	if res.StatusCode != 200 {
		fail(fmt.Sprintf("POST %s: %d %s", url, res.StatusCode, b))
	}
	if out != nil {
		must0(json.Unmarshal(b, out))
	}
	return b
}

var (
	rpsRE    = regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`)
	totalRE  = regexp.MustCompile(`([0-9]+) requests in`)
	non2xxRE = regexp.MustCompile(`Non-2xx or 3xx responses: ([0-9]+)`)
)

// wrk runs one load against base and measures the server's CPU over it.
func (lt *loadTest) wrk(server *exec.Cmd, base string, op operation) result {
	args := []string{"-t", strconv.Itoa(lt.threads), "-c", strconv.Itoa(lt.conns), "-d", lt.duration.String(), "--latency"}
	for _, h := range op.header {
		args = append(args, "-H", h)
	}
	if op.before != nil && base == lt.pspsimURL {
		op.before()
	}
	if op.lua != "" {
		lt.runs++
		script := filepath.Join(lt.dir, fmt.Sprintf("%d.lua", lt.runs))
		lua := strings.ReplaceAll(op.lua, "RUN", fmt.Sprintf("W%02d", lt.runs))
		lua = strings.ReplaceAll(lua, "QPFX", lt.inquiryPrefix())
		must0(os.WriteFile(script, []byte(lua), 0o600))
		args = append(args, "-s", script)
	}
	args = append(args, base+op.path)
	before := cpuOf(server.Process.Pid)
	out, err := exec.Command("wrk", args...).CombinedOutput()
	after := cpuOf(server.Process.Pid)
	if err != nil {
		fail(fmt.Sprintf("wrk: %v\n%s", err, out))
	}
	var r result
	r.requests = atof(rpsRE, out)
	total := atof(totalRE, out)
	r.errors = int(atof(non2xxRE, out))
	r.p99 = p99Of(out)
	if total > 0 {
		r.cpu = (after - before) / total
	}
	return r
}

func atof(re *regexp.Regexp, out []byte) float64 {
	m := re.FindSubmatch(out)
	if m == nil {
		return 0
	}
	f, _ := strconv.ParseFloat(string(m[1]), 64)
	return f
}

// peakRSS returns a process's peak resident memory, as /proc says it.
func peakRSS(pid int) string {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return "?"
	}
	for line := range strings.Lines(string(raw)) {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			return strings.TrimSpace(v)
		}
	}
	return "?"
}

// cpuOf returns a process's user+system CPU seconds so far.
func cpuOf(pid int) float64 {
	raw := must(os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)))
	// The command name may hold spaces: the fields start after its ')'.
	fields := strings.Fields(string(raw[bytes.LastIndexByte(raw, ')')+2:]))
	utime := must(strconv.ParseFloat(fields[11], 64))
	stime := must(strconv.ParseFloat(fields[12], 64))
	return (utime + stime) / 100 // USER_HZ is 100 on Linux
}

// versusStripeMock compares throughput on stripe-mock's closest operations:
// creating and reading a PaymentIntent.
func (lt *loadTest) versusStripeMock(sim *exec.Cmd, bin string, port int) {
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	sm := start(bin, "-http-addr", addr)
	defer stop(sm)
	waitReady("http://" + addr + "/v1/payment_intents/pi_123")
	fmt.Printf("\nthroughput against stripe-mock (wrk -t%d -c%d -d%s)\n\n", lt.threads, lt.conns, lt.duration)
	fmt.Printf("%-28s %12s %16s %8s\n", "operation", "pspsim rps", "stripe-mock rps", "×")
	smAuth := "Authorization: Bearer sk_test_123"
	pairs := []struct {
		ours   operation
		theirs operation
	}{
		{lt.operations()[0], operation{name: "create", path: "/v1/payment_intents", header: []string{smAuth, "Content-Type: application/x-www-form-urlencoded"},
			lua: `wrk.method = "POST"; wrk.body = "amount=1999&currency=usd&payment_method_types[]=card&description=load+test"`}},
		{lt.operations()[1], operation{name: "retrieve", path: "/v1/payment_intents/pi_123", header: []string{smAuth}}},
	}
	for _, p := range pairs {
		ours := lt.wrk(sim, lt.pspsimURL, p.ours)
		theirs := lt.wrk(sm, "http://"+addr, p.theirs)
		fmt.Printf("%-28s %12.0f %16.0f %8.2f", p.ours.name, ours.requests, theirs.requests, ours.requests/theirs.requests)
		if ours.errors > 0 || theirs.errors > 0 {
			fmt.Printf("   (non-2xx: pspsim %d, stripe-mock %d)", ours.errors, theirs.errors)
		}
		fmt.Println()
	}
}

// coldStartRequest is the request a cold start waits for: a real operation
// of the card gateway, routed, validated against its spec and answered by
// its handler (an access token) — not a health ping, which a server could
// answer before its systems are built.
const coldStartRequest = `{"appId":"086666075137001","secret":"184E52CF5365D2D7EE8EDA************"}`

// coldStart execs `pspsim serve` n times and reports the median time to the
// first answered request.
func (lt *loadTest) coldStart(n int, addr string) {
	var times, cpus []time.Duration
	for range n {
		t, cpu := coldStartOnce(lt.pspsim, addr)
		times, cpus = append(times, t), append(cpus, cpu)
	}
	fmt.Printf("\ncold start (exec → first answered request), %d starts: %s; its CPU (user+system): %s\n", n, summary(times), summary(cpus))
}

// coldStartVersus alternates the starts of two binaries, so that both meet
// the same machine load, and reports the ratio of their medians.
func (lt *loadTest) coldStartVersus(n int, addr, baseline string) {
	var ours, theirs, oursCPU, theirsCPU []time.Duration
	for range n {
		t, cpu := coldStartOnce(baseline, addr)
		theirs, theirsCPU = append(theirs, t), append(theirsCPU, cpu)
		t, cpu = coldStartOnce(lt.pspsim, addr)
		ours, oursCPU = append(ours, t), append(oursCPU, cpu)
	}
	fmt.Printf("\ncold start (exec → first answered request), %d starts each, alternated:\n", n)
	fmt.Printf("  %-32s %s\n  %-32s %s\n", lt.pspsim, summary(ours), baseline, summary(theirs))
	fmt.Printf("  CPU of a start (user+system, to the answer):\n  %-32s %s\n  %-32s %s\n", lt.pspsim, summary(oursCPU), baseline, summary(theirsCPU))
	fmt.Printf("  median ratio: time %.2f, CPU %.2f\n", float64(median(ours))/float64(median(theirs)), float64(median(oursCPU))/float64(median(theirsCPU)))
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

func summary(ds []time.Duration) string {
	s := slices.Clone(ds)
	slices.Sort(s)
	return fmt.Sprintf("median %s, min %s, max %s", s[len(s)/2].Round(100*time.Microsecond), s[0].Round(100*time.Microsecond), s[len(s)-1].Round(100*time.Microsecond))
}

// coldStartOnce execs `bin serve` and times it to its first answer of
// coldStartRequest; it also returns the CPU the process had used by then
// (at USER_HZ resolution, 10 ms: a median over many starts).
func coldStartOnce(bin, addr string) (time.Duration, time.Duration) {
	// A fresh connection per attempt: none left over from the previous
	// process.
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	began := time.Now()
	cmd := start(bin, "serve", "--addr", addr, "--log-level", "error")
	defer stop(cmd)
	for {
		res, err := client.Post("http://"+addr+"/vm/v1/auth/token", "application/json", strings.NewReader(coldStartRequest))
		if err == nil {
			b, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != http.StatusOK || !bytes.Contains(b, []byte(`"accessToken"`)) {
				stop(cmd)
				fail(fmt.Sprintf("cold start: POST /vm/v1/auth/token: %d %s", res.StatusCode, b))
			}
			took := time.Since(began)
			return took, time.Duration(cpuOf(cmd.Process.Pid) * float64(time.Second))
		}
		time.Sleep(200 * time.Microsecond)
	}
}

func start(name string, args ...string) *exec.Cmd {
	cmd := exec.Command(name, args...)
	cmd.Stderr = os.Stderr
	must0(cmd.Start())
	return cmd
}

func stop(cmd *exec.Cmd) {
	if cmd.ProcessState != nil {
		return
	}
	cmd.Process.Signal(os.Interrupt)
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		cmd.Process.Kill()
		<-done
	}
}

func waitReady(url string) {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if res, err := http.Get(url); err == nil {
			res.Body.Close()
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	fail("nothing answered at " + url)
}

// serveBare is the yardstick: a plain net/http server that decodes each
// request's JSON body and answers the sample of its path (as pspsim
// answered it), decoded once and encoded on every request.
func serveBare(addr, samplesFile string) int {
	var samples map[string][]byte
	if err := json.Unmarshal(must(os.ReadFile(samplesFile)), &samples); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	answers := map[string]any{}
	for path, b := range samples {
		var v any
		json.Unmarshal(b, &v)
		answers[path] = v
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/health", func(w http.ResponseWriter, r *http.Request) {})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var in any
		if len(body) > 0 {
			if err := json.Unmarshal(body, &in); err != nil {
				http.Error(w, err.Error(), 400)
				return
			}
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(answers[r.URL.Path])
	})
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if err := http.Serve(ln, mux); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return 1
	}
	return 0
}

func must[T any](v T, err error) T {
	if err != nil {
		fail(err.Error())
	}
	return v
}

func must0(err error) {
	if err != nil {
		fail(err.Error())
	}
}

func fail(msg string) {
	fmt.Fprintln(os.Stderr, "loadtest:", msg)
	os.Exit(1)
}
