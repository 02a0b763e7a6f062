package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/pspsim/pspsim/fixtures"
	"github.com/pspsim/pspsim/simulator/codepay"
	"github.com/pspsim/pspsim/simulator/store/sqlstore"
	"github.com/pspsim/pspsim/simulator/store/sqlstore/pgtest"
)

// envChild makes the test binary run `pspsim ARGS…` instead of the tests:
// the crash tests kill a real process with SIGKILL, and the test binary is
// one that needs no build.
const envChild = "PSPSIM_TEST_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(envChild) == "1" {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		code := run(ctx, os.Args[1:], os.Stdout, os.Stderr, nil)
		stop()
		os.Exit(code)
	}
	os.Exit(m.Run())
}

// child is `pspsim serve` in a process of its own.
type child struct {
	cmd  *exec.Cmd
	base string
	errb *strings.Builder
}

// startChild runs `pspsim serve --addr 127.0.0.1:0 args…` in a new process
// and returns once it listens.
func startChild(t *testing.T, args ...string) *child {
	t.Helper()
	cmd := exec.Command(os.Args[0], append([]string{"serve", "--addr", "127.0.0.1:0", "--log-level", "warn"}, args...)...)
	cmd.Env = append(os.Environ(), envChild+"=1")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	errb := &strings.Builder{}
	cmd.Stderr = errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &child{cmd: cmd, errb: errb}
	t.Cleanup(func() { c.kill() })
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if i := strings.Index(sc.Text(), "http://"); i >= 0 {
				lines <- strings.Fields(sc.Text()[i:])[0]
			}
		}
		io.Copy(io.Discard, out)
	}()
	select {
	case c.base = <-lines:
	case <-time.After(patience):
		c.kill()
		t.Fatalf("serve %v did not start: %s", args, errb)
	}
	return c
}

// kill ends the process with SIGKILL: nothing is flushed or closed.
func (c *child) kill() {
	if c.cmd.ProcessState == nil {
		c.cmd.Process.Signal(syscall.SIGKILL)
		c.cmd.Wait()
	}
}

func (c *child) do(t *testing.T, method, path, body string, headers ...string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, c.base+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s %s: %d %s", method, path, res.StatusCode, b)
	}
	return res.StatusCode, m
}

// status sends a request and returns only its status (a fault's answer
// need not be JSON).
func (c *child) status(t *testing.T, method, path, body string, headers ...string) int {
	t.Helper()
	req, err := http.NewRequest(method, c.base+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res.StatusCode
}

func (c *child) vmToken(t *testing.T) string {
	t.Helper()
	return c.vmTokenAt(t, "")
}

// vmTokenAt obtains a gateway token in the namespace at prefix ("" or
// "/ns/NAME").
func (c *child) vmTokenAt(t *testing.T, prefix string) string {
	t.Helper()
	code, m := c.do(t, "POST", prefix+"/vm/v1/auth/token", `{"appId":"086666075137001","secret":"184E52CF5365D2D7EE8EDA************"}`)
	tok, _ := m["accessToken"].(string)
	if code != 200 || tok == "" {
		t.Fatalf("token: %d %v", code, m)
	}
	return tok
}

// codepay signs a CodePay request with the demo app's key and sends it.
func (c *child) codepay(t *testing.T, fields map[string]any) map[string]any {
	t.Helper()
	keyPEM, err := fixtures.Read("keys/codepay-app-demo.pem")
	if err != nil {
		t.Fatal(err)
	}
	key, err := codepay.ParsePrivateKey(keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]any{"app_id": "wz9f2a175d0e0ef632", "merchant_no": "302100041048", "charset": "UTF-8", "format": "JSON",
		"sign_type": "RSA2", "version": "1.0", "timestamp": strconv.FormatInt(time.Now().UnixMilli(), 10)}
	for k, v := range fields {
		m[k] = v
	}
	b, _ := json.Marshal(m)
	if m["sign"], err = codepay.Sign(key, b); err != nil {
		t.Fatal(err)
	}
	b, _ = json.Marshal(m)
	code, out := c.do(t, "POST", "/codepay/api/entry", string(b))
	if code != 200 {
		t.Fatalf("codepay %v: %d %v", fields["method"], code, out)
	}
	return out
}

// hookSink is a webhook receiver that refuses the first request (HTTP 500)
// and acknowledges the others, keeping each one's event id.
type hookSink struct {
	mu  sync.Mutex
	ids []string
	srv *httptest.Server
}

func newHookSink(t *testing.T) *hookSink {
	h := &hookSink{}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		h.mu.Lock()
		h.ids = append(h.ids, r.Header.Get("X-VM-Event-Id"))
		first := len(h.ids) == 1
		h.mu.Unlock()
		if first {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *hookSink) events() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.ids...)
}

// waitFor polls cond (wall time) until it holds, failing after patience.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(patience)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", patience, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

const crashPayment = `{"orderNo":"%s","amount":"19.99","currency":"USD","paymentMethodType":"card","description":"crash test","threeDsMode":"auto",` +
	`"card":{"cardNo":"4000123456000019","expiryMonth":"12","expiryYear":"2030","cvc":"123","captureMethod":"auto"},` +
	`"deviceInfo":{"clientIp":"10.1.1.1","language":"en-US","browser":{"acceptHeader":"text/html","userAgent":"Mozilla/5.0 (crash)","javascriptEnable":true,` +
	`"colorDepth":"24","screenHeight":"800","screenWidth":"1200","timeZone":"0"}}}`

// lossWindow bounds the journal's loss in a crash: the events recorded in
// the last sqlstore.FlushEvery before it, and slack for a busy machine's
// writer and commit.
const lossWindow = sqlstore.FlushEvery + 2*time.Second

// TestAcknowledgedWritesSurviveSIGKILL is the crash test of the durable
// stores: a gateway payment, a Genstore payment and a CodePay order are
// made and acknowledged, a first:1 fault rule fires, a canary is sighted and
// a namespace's simulated clock is advanced, the process is killed with SIGKILL, and a new process on the same store
// finds every one and answers its queries — a second gateway payment with
// the same order number is still a duplicate, the inquiry the rule failed
// once now passes, the canary keeps its sighting, and the namespace exists
// with its seed and its clock where it was moved. A gateway webhook whose
// first attempt failed in that namespace has its retry pending at the
// kill: the new process finds it, and when the namespace's clock reaches
// the retry it reaches the sink.
func TestAcknowledgedWritesSurviveSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("runs pspsim processes")
	}
	for _, tc := range pgtest.Stores() {
		t.Run(tc.Name, func(t *testing.T) {
			url := tc.URL(t)
			first := startChild(t, "--store", url)
			tok := first.vmToken(t)
			auth := []string{"Authorization", "Bearer " + tok}
			const orders = 5
			trades := map[string]string{}
			for i := range orders {
				orderNo := fmt.Sprintf("CRASH%d", i)
				code, m := first.do(t, "POST", "/vm/v1/payments", fmt.Sprintf(crashPayment, orderNo), auth...)
				if code != 200 || m["status"] != "CAPTURED" {
					t.Fatalf("gateway payment: %d %v", code, m)
				}
				trades[orderNo] = m["tradeNo"].(string)
			}
			// The app is down (a closed port): the payment is stored with
			// its first attempt failed and retries pending.
			if code, m := first.do(t, "PATCH", "/_sim/genstore/apps/demo-payment-app", `{"endpoints":{"paymentUrl":"http://127.0.0.1:18599/pay"},"publicKey":"MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEYP7UuiVanTHJYet0xjVtaMBJuJI7Yfps5mliLmDyn7Z5A/4QCLi8maQa6elWKLxk8vGyDC1+n1F3o8KU1EYimQ=="}`); code != 200 {
				t.Fatalf("point the app: %d %v", code, m)
			}
			code, gs := first.do(t, "POST", "/_sim/genstore/shops/1001/payments", `{"amount":"12.34"}`)
			paymentID, _ := gs["paymentId"].(string)
			if code != 201 || paymentID == "" {
				t.Fatalf("genstore payment: %d %v", code, gs)
			}
			cp := first.codepay(t, map[string]any{"method": "wisehub.cloud.pay.order", "merchant_order_no": "CRASHCP1", "order_amount": 12.5,
				"price_currency": "USD", "trans_type": 1, "terminal_sn": "WPYB001234567890", "pay_scenario": "SWIPE_CARD",
				"description": "crash test", "reject_trade_when_terminal_offline": false, "expires": 300,
				"api_version": "2.0", "message_receiving_application": "CodePay Register"})
			if cp["code"] != "0" {
				t.Fatalf("codepay order: %v", cp)
			}
			// Fault rules and canaries: a first:1 rule that has fired, and a
			// canary sighted once.
			if code, m := first.do(t, "POST", "/_sim/faults", `{"id":"crash-once","match":{"system":"vmgateway","operation":"inquirePayment"},"action":{"type":"status","status":503},"frequency":{"first":1}}`); code != 201 {
				t.Fatalf("fault rule: %d %v", code, m)
			}
			if code := first.status(t, "POST", "/vm/v1/payments/inquiry", `{"orderNo":"CRASH0"}`, auth...); code != 503 {
				t.Fatalf("the fault rule did not fire: %d", code)
			}
			if code, m := first.do(t, "POST", "/_sim/canaries", `{"numbers":["4917610000003418"],"label":"crash"}`); code != 201 {
				t.Fatalf("canary: %d %v", code, m)
			}
			leak := strings.Replace(fmt.Sprintf(crashPayment, "CRASHLEAK"), `"description":"crash test"`, `"description":"card 4917610000003418"`, 1)
			if code, m := first.do(t, "POST", "/vm/v1/payments", leak, auth...); code != 200 {
				t.Fatalf("leaking payment: %d %v", code, m)
			}
			// A namespace with a simulated clock moved forward.
			if code, m := first.do(t, "POST", "/_sim/namespaces", `{"name":"crash-ns","seed":7,"clock":"sim","clockStart":"2027-03-01T00:00:00Z"}`); code != 201 {
				t.Fatalf("namespace: %d %v", code, m)
			}
			if code, m := first.do(t, "POST", "/ns/crash-ns/_sim/clock/advance", `{"by":"2h"}`); code != 200 {
				t.Fatalf("advance: %d %v", code, m)
			}
			// A webhook in the namespace, refused once: its retry is due
			// 30 s later on the namespace's clock.
			hooks := newHookSink(t)
			nsTok := first.vmTokenAt(t, "/ns/crash-ns")
			nsAuth := []string{"Authorization", "Bearer " + nsTok}
			if code, m := first.do(t, "POST", "/ns/crash-ns/vm/v1/webhooks/subscriptions", `{"apiVersion":"20250703","signMethod":"sha256","subscribeUrl":"`+hooks.srv.URL+`"}`, nsAuth...); code != 200 {
				t.Fatalf("subscribe: %d %v", code, m)
			}
			if code, m := first.do(t, "POST", "/ns/crash-ns/vm/v1/payments", fmt.Sprintf(crashPayment, "CRASHHOOK"), nsAuth...); code != 200 {
				t.Fatalf("namespace payment: %d %v", code, m)
			}
			waitFor(t, "the webhook's retry to be scheduled", func() bool {
				_, m := first.do(t, "GET", "/ns/crash-ns/_sim/events?kind=delivery.scheduled", "")
				evs, _ := m["events"].([]any)
				return len(evs) == 1
			})
			// The journal goes to the database in batches (sqlstore.FlushEvery):
			// a crash may lose the last, unwritten one. Payments are made up to
			// the kill, for longer than lossWindow, so that the first ones'
			// events must have been written.
			type ack struct {
				orderNo string
				at      time.Time // wall time: the crash is a wall-time event
			}
			var acks []ack
			for i := 0; len(acks) == 0 || time.Since(acks[0].at) < lossWindow+time.Second; i++ {
				orderNo := fmt.Sprintf("JOURNAL%d", i)
				if code, m := first.do(t, "POST", "/vm/v1/payments", fmt.Sprintf(crashPayment, orderNo), auth...); code != 200 {
					t.Fatalf("payment %s: %d %v", orderNo, code, m)
				}
				acks = append(acks, ack{orderNo, time.Now()})
			}
			killed := time.Now()
			first.kill()

			second := startChild(t, "--store", url)
			lost := 0
			for _, a := range acks {
				code, m := second.do(t, "GET", "/_sim/events?system=vmgateway&orderNo="+a.orderNo, "")
				if list, _ := m["events"].([]any); code == 200 && len(list) > 0 {
					continue
				}
				lost++
				if before := killed.Sub(a.at); before > lossWindow {
					t.Errorf("after the crash, payment %s (acknowledged %s before the kill) has no journal event: %d %v", a.orderNo, before, code, m)
				}
			}
			t.Logf("the journal lost the events of %d of %d payments, the last ones before the kill", lost, len(acks))
			if code, m := second.do(t, "GET", "/_sim/events?system=vmgateway&orderNo=CRASH0", ""); code != 200 || len(m["events"].([]any)) == 0 {
				t.Errorf("after the crash, the journal lacks payment CRASH0's events: %d %v", code, m)
			}
			if code, m := second.do(t, "GET", "/ns/crash-ns/_sim/clock", ""); code != 200 || m["now"] != "2027-03-01T02:00:00Z" {
				t.Fatalf("after the crash, the namespace's clock: %d %v; want 2027-03-01T02:00:00Z", code, m)
			}
			if code, m := second.do(t, "GET", "/_sim/namespaces/crash-ns", ""); code != 200 || fmt.Sprint(m["seed"]) != "7" {
				t.Fatalf("after the crash, the namespace: %d %v; want seed 7", code, m)
			}
			code, rule := second.do(t, "GET", "/_sim/faults/crash-once", "")
			if code != 200 || fmt.Sprint(rule["hits"]) != "1" || fmt.Sprint(rule["matched"]) != "1" {
				t.Fatalf("after the crash, the fault rule: %d %v; want hits 1, matched 1", code, rule)
			}
			code, canaries := second.do(t, "GET", "/_sim/canaries", "")
			if list, _ := canaries["canaries"].([]any); code != 200 || len(list) != 1 || fmt.Sprint(list[0].(map[string]any)["sightings"]) != "1" {
				t.Fatalf("after the crash, the canaries: %d %v; want one, sighted once", code, canaries)
			}
			// The access token was stored too.
			for orderNo, tradeNo := range trades {
				code, m := second.do(t, "POST", "/vm/v1/payments/inquiry", `{"orderNo":"`+orderNo+`"}`, auth...)
				if code != 200 || m["tradeNo"] != tradeNo || m["status"] != "CAPTURED" {
					t.Fatalf("after the crash, inquiry of %s: %d %v; want %s CAPTURED", orderNo, code, m, tradeNo)
				}
			}
			code, m := second.do(t, "POST", "/vm/v1/payments", fmt.Sprintf(crashPayment, "CRASH0"), auth...)
			if code == 200 {
				t.Fatalf("after the crash, a payment reusing order CRASH0 was accepted: %v", m)
			}
			code, m = second.do(t, "GET", "/_sim/genstore/shops/1001/payments/"+paymentID, "")
			if code != 200 || m["paymentId"] != paymentID {
				t.Fatalf("after the crash, the Genstore payment: %d %v", code, m)
			}
			code, m = second.do(t, "GET", "/genstore/api/202412/payment/"+paymentID, "", "X-Genstore-Access-Token", "gst_demo_0000000000000000000000000001")
			if code != 200 {
				t.Fatalf("after the crash, the app's query of the Genstore payment: %d %v", code, m)
			}
			q := second.codepay(t, map[string]any{"method": "order.query", "merchant_order_no": "CRASHCP1"})
			if q["code"] != "0" || !strings.Contains(fmt.Sprint(q["data"]), "CRASHCP1") {
				t.Fatalf("after the crash, the CodePay order query: %v", q)
			}
			// The pending webhook: nothing until its retry is due, then
			// the same event, acknowledged.
			if n := len(hooks.events()); n != 1 {
				t.Fatalf("before the retry was due the sink got %d requests, want 1", n)
			}
			if code, m := second.do(t, "POST", "/ns/crash-ns/_sim/clock/advance", `{"by":"31s"}`); code != 200 {
				t.Fatalf("advance: %d %v", code, m)
			}
			waitFor(t, "the webhook's retry after the crash", func() bool { return len(hooks.events()) == 2 })
			if ev := hooks.events(); ev[1] != ev[0] || ev[0] == "" {
				t.Fatalf("the retry after the crash sent event %q, the first attempt %q", ev[1], ev[0])
			}
		})
	}
}

// TestTwoReplicasShareOnePostgres: two `pspsim serve` processes on one
// PostgreSQL database, the test alternating between them, behind no
// balancer. A payment made on one is captured on the other; 2,000 duplicate
// refunds (one refundNumber), 64 at a time split across both, make exactly
// one refund; an order number taken on one is taken on the other.
func TestTwoReplicasShareOnePostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("runs pspsim processes")
	}
	url := pgtest.URL(t)
	a := startChild(t, "--store", url)
	b := startChild(t, "--store", url)
	replicas := []*child{a, b}
	auth := []string{"Authorization", "Bearer " + a.vmToken(t)}

	manual := strings.Replace(fmt.Sprintf(crashPayment, "REPLICA1"), `"captureMethod":"auto"`, `"captureMethod":"manual"`, 1)
	code, m := a.do(t, "POST", "/vm/v1/payments", manual, auth...)
	if code != 200 || m["status"] != "AUTHORIZED" {
		t.Fatalf("payment on replica a: %d %v", code, m)
	}
	if code, m := b.do(t, "POST", "/vm/v1/payments", manual, auth...); code == 200 {
		t.Fatalf("replica b accepted order REPLICA1 again: %v", m)
	}
	code, m = b.do(t, "POST", "/vm/v1/payments/capture", `{"orderNo":"REPLICA1","captureAmount":"19.99"}`, auth...)
	if code != 200 || m["status"] != "CAPTURED" {
		t.Fatalf("capture on replica b: %d %v", code, m)
	}

	const total, parallel = 2000, 64
	refund := `{"orderNo":"REPLICA1","amount":"5.00","refundNumber":"DUP-1","clientIp":"10.1.1.1","reason":"duplicate storm"}`
	type answer struct {
		code int
		id   string
		body map[string]any
	}
	answers := make(chan answer, total)
	work := make(chan int, total)
	for i := range total {
		work <- i
	}
	close(work)
	var wg sync.WaitGroup
	for w := range parallel {
		r := replicas[w%2]
		wg.Go(func() {
			for range work {
				code, m := r.do(t, "POST", "/vm/v1/refunds", refund, auth...)
				id, _ := m["refundId"].(string)
				answers <- answer{code, id, m}
			}
		})
	}
	wg.Wait()
	close(answers)
	ids := map[string]int{}
	failed := false
	for an := range answers {
		if an.code != 200 {
			t.Errorf("a duplicate refund answered %d: %v", an.code, an.body)
			failed = true
			continue
		}
		ids[an.id]++
	}
	if failed {
		for name, r := range map[string]*child{"a": a, "b": b} {
			r.kill() // its log is complete, and no longer written
			t.Logf("replica %s's log:\n%s", name, r.errb)
		}
		t.FailNow()
	}
	if len(ids) != 1 || ids[""] > 0 {
		t.Fatalf("%d duplicate refunds made %d refunds: %v", total, len(ids), ids)
	}
	code, m = a.do(t, "POST", "/vm/v1/refunds/inquiry", `{"orderNo":"REPLICA1"}`, auth...)
	if refunds, _ := m["refunds"].([]any); code != 200 || len(refunds) != 1 {
		t.Fatalf("refund inquiry on replica a: %d %v; want one refund", code, m)
	}
}
