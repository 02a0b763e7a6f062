package main

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pspsim/pspsim/conformance"
	"github.com/pspsim/pspsim/examples/paymentapp"
	"github.com/pspsim/pspsim/simulator/store/sqlstore/pgtest"
)

// crashShop is the shop the reference app is installed on in the crash test.
const crashShop = "7301"

// crashGenstoreConfig shortens Genstore's retries of refunds (30 s by
// default) so that a refund whose first attempt failed is retried within the
// test's patience, after the restart; and its reconciliation polls (5 min
// first by default), so that a payment the app acknowledged but whose result
// callback died with the process (the app gives up retrying it while pspsim
// is down) is settled by the new process's query to the app.
const crashGenstoreConfig = "genstore:\n  settings:\n    paymentRetries: [1s, 2s, 4s, 8s]\n    operationRetries: [1s, 2s, 4s, 8s]\n    reconciliation: [2s, 4s, 8s, 16s]\n"

// TestRefAppLoadSurvivesSIGKILL is issue 14's crash test through the
// reference app: Genstore payments, and refunds of completed ones, made from
// a few goroutines through the admin API while the reference app (in this
// process, charging cards at pspsim's card gateway) answers them; pspsim is
// killed with SIGKILL while requests are in flight, and restarted on the
// same store and address. Shortly before the kill the app refuses Genstore's
// requests (503): the payments and refunds acknowledged then have their
// retry pending at the kill, and only the new process can send it. After the
// restart every acknowledged payment and refund exists, and every payment
// and refund of the shop — acknowledged or cut off by the kill — reaches a
// final state: none lost, none stuck pending.
func TestRefAppLoadSurvivesSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("runs pspsim processes")
	}
	for _, tc := range pgtest.Stores() {
		t.Run(tc.Name, func(t *testing.T) {
			crashRefApp(t, tc.URL(t))
		})
	}
}

// crashRefApp runs the crash test on the store at url.
func crashRefApp(t *testing.T, url string) {
	cfgFile := filepath.Join(t.TempDir(), "pspsim.yaml")
	if err := os.WriteFile(cfgFile, []byte(crashGenstoreConfig), 0o644); err != nil {
		t.Fatal(err)
	}
	// One address for both processes: the app keeps pspsim's URL, as an app
	// in front of a restarted sandbox does.
	addr := freeAddr(t)
	// On PostgreSQL the new process takes the killed one's jobs when their
	// lease expires: a short lease keeps the test short.
	args := []string{"--store", url, "--config", cfgFile, "--addr", addr, "--job-lease", "2s"}
	first := startChild(t, args...)
	gate := startCrashRefApp(t, first.base)

	// The load: each worker pays, and refunds part of its previous payment.
	type refundAck struct{ paymentID, refundID string }
	var (
		mu        sync.Mutex
		payments  []string
		refunds   []refundAck
		cutOff    atomic.Int64 // requests that got no answer: in flight at the kill
		refused   atomic.Int64 // answers other than 201
		stop      = make(chan struct{})
		wg        sync.WaitGroup
		shopAdmin = "/_sim/genstore/shops/" + crashShop + "/payments"
	)
	for range 4 {
		wg.Go(func() {
			prev := ""
			for {
				select {
				case <-stop:
					return
				default:
				}
				code, m, err := crashCall(first.base, "POST", shopAdmin, `{"amount":"12.34","card":{"number":"4000123456000019"}}`)
				if err != nil {
					cutOff.Add(1)
					return
				}
				id, _ := m["paymentId"].(string)
				if code != http.StatusCreated || id == "" {
					refused.Add(1)
					continue
				}
				mu.Lock()
				payments = append(payments, id)
				mu.Unlock()
				if prev != "" {
					code, m, err := crashCall(first.base, "POST", shopAdmin+"/"+prev+"/refunds", `{"amount":"1.00"}`)
					if err != nil {
						cutOff.Add(1)
						return
					}
					if rid := refundID(m); code == http.StatusCreated && rid != "" {
						mu.Lock()
						refunds = append(refunds, refundAck{prev, rid})
						mu.Unlock()
					} else {
						refused.Add(1)
					}
				}
				prev = id
			}
		})
	}
	// wall time: the load runs for a wall-time while, and the kill is a
	// wall-time event.
	time.Sleep(1500 * time.Millisecond)
	gate.Store(true) // from now on the app refuses Genstore's requests: their retries are pending
	time.Sleep(500 * time.Millisecond)
	first.kill()
	close(stop)
	wg.Wait()
	gate.Store(false)
	mu.Lock()
	t.Logf("acknowledged before the kill: %d payments, %d refunds; %d requests cut off by the kill, %d refused", len(payments), len(refunds), cutOff.Load(), refused.Load())
	if len(payments) == 0 || len(refunds) == 0 {
		t.Fatalf("the load acknowledged %d payments and %d refunds: nothing to check", len(payments), len(refunds))
	}
	if cutOff.Load() == 0 {
		t.Errorf("no request was in flight at the kill: the process was not killed mid-load")
	}
	mu.Unlock()

	restart := time.Now() // wall time: a measurement
	second := startChild(t, args...)
	t.Logf("the new process listened %s after the restart", time.Since(restart).Round(time.Millisecond))
	// Every acknowledged payment and refund exists.
	views := map[string]map[string]any{}
	for _, id := range payments {
		code, m, err := crashCall(second.base, "GET", shopAdmin+"/"+id, "")
		if err != nil || code != http.StatusOK || m["paymentId"] != id {
			t.Errorf("after the crash, acknowledged payment %s: %d %v %v", id, code, m, err)
			continue
		}
		views[id] = m
	}
	for _, r := range refunds {
		if m := views[r.paymentID]; m != nil && operation(m, r.refundID) == nil {
			t.Errorf("after the crash, acknowledged refund %s of payment %s is missing: %v", r.refundID, r.paymentID, m["operations"])
		}
	}
	if t.Failed() {
		t.FailNow()
	}
	// Pending at the restart: what the new process (and the app's retried
	// callbacks) must finish.
	// Every payment and operation still waiting for its final result —
	// acknowledged or not, including one whose creating request the kill
	// cut off before its first attempt (its request's row was written
	// before it was stored) — must reach one.
	pending := func() (ids []string) {
		code, m, err := crashCall(second.base, "GET", shopAdmin, "")
		list, _ := m["payments"].([]any)
		if err != nil || code != http.StatusOK {
			t.Fatalf("list the shop's payments: %d %v %v", code, m, err)
		}
		for _, p := range list {
			p, _ := p.(map[string]any)
			if p["statusName"] == "process" {
				ids = append(ids, fmt.Sprint(p["paymentId"]))
			}
			ops, _ := p["operations"].([]any)
			for _, o := range ops {
				if o, _ := o.(map[string]any); o["status"] == "processing" {
					ids = append(ids, fmt.Sprint(p["paymentId"], "/", o["id"]))
				}
			}
		}
		return ids
	}
	atRestart := pending()
	t.Logf("pending at the restart: %d payments and refunds", len(atRestart))
	if len(atRestart) == 0 {
		t.Errorf("nothing was pending at the restart: the kill cut off no delivery")
	}
	// wall time: the deliveries and timers resumed run on the real clock.
	for deadline := time.Now().Add(patience); ; time.Sleep(100 * time.Millisecond) {
		left := pending()
		if len(left) == 0 {
			t.Logf("all final %s after the restart", time.Since(restart).Round(time.Millisecond))
			break
		}
		if time.Now().After(deadline) {
			_, m, _ := crashCall(second.base, "GET", shopAdmin+"/"+strings.Split(left[0], "/")[0], "")
			b, _ := json.Marshal(m)
			t.Logf("the first one still pending: %s", b)
			logJournal(t, second.base, strings.Split(left[0], "/")[0])
			t.Fatalf("%s after the restart, %d of the %d payments and refunds pending then are still pending, e.g. %v", patience, len(left), len(atRestart), left[:min(5, len(left))])
		}
	}
	// Every acknowledged payment is final and kept its acknowledged refunds.
	for _, id := range payments {
		code, m, err := crashCall(second.base, "GET", shopAdmin+"/"+id, "")
		if err != nil || code != http.StatusOK || (m["statusName"] != "success" && m["statusName"] != "failure") {
			t.Errorf("after the crash, payment %s: %d %v %v", id, code, m["statusName"], err)
		}
	}
	for _, r := range refunds {
		_, m, _ := crashCall(second.base, "GET", shopAdmin+"/"+r.paymentID, "")
		if o := operation(m, r.refundID); o == nil || (o["status"] != "succeeded" && o["status"] != "failed") {
			t.Errorf("after the crash, refund %s of payment %s: %v", r.refundID, r.paymentID, o)
		}
	}
}

// startCrashRefApp registers the reference app (in this process, its PSP
// pspsim's card gateway) with Genstore at base, installs it on crashShop and
// returns its gate: while set, the app answers Genstore's payment and refund
// requests 503, as an app being deployed does.
func startCrashRefApp(t *testing.T, base string) *atomic.Bool {
	t.Helper()
	ref, err := conformance.LoadAppConfig("../../examples/paymentapp/app.yaml")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(nil)
	t.Cleanup(srv.Close)
	app, err := paymentapp.New(paymentapp.Config{
		GenstoreURL: base + "/genstore", GatewayURL: base + "/vm", PublicURL: srv.URL,
		ClientID: ref.ClientID, ClientSecret: ref.ClientSecret, ECIESPrivateKey: ref.Start.Env["PAYMENTAPP_ECIES_PRIVATE_KEY"],
		Sandbox: paymentapp.Credentials{AppID: ref.PSP.Sandbox.AppID, Secret: ref.PSP.Sandbox.Secret},
		Live:    paymentapp.Credentials{AppID: ref.PSP.Live.AppID, Secret: ref.PSP.Live.Secret},
		Logger:  slog.New(slog.NewTextHandler(io.Discard, nil)),
		// Callbacks cut off by the kill are retried until the new process
		// answers.
		CallbackBackoff:  []time.Duration{200 * time.Millisecond, 500 * time.Millisecond},
		CallbackAttempts: int(patience / (500 * time.Millisecond)),
		ReconcileBackoff: []time.Duration{500 * time.Millisecond},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { app.Close() })
	gate := &atomic.Bool{}
	h := app.Handler()
	srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if gate.Load() && (r.URL.Path == "/payment" || r.URL.Path == "/refund") {
			http.Error(w, `{"error":"deploying"}`, http.StatusServiceUnavailable)
			return
		}
		h.ServeHTTP(w, r)
	})
	e := &ref.Endpoints
	e.OnboardingURL, e.PaymentURL, e.CaptureURL = srv.URL+"/onboarding", srv.URL+"/payment", srv.URL+"/capture"
	e.VoidURL, e.RefundURL = srv.URL+"/void", srv.URL+"/refund"
	e.PaymentQueryURL, e.RefundQueryURL = srv.URL+"/payment_query", srv.URL+"/refund_query"
	reg, _ := json.Marshal(ref.Registration())
	if code, m, err := crashCall(base, "POST", "/_sim/genstore/apps", string(reg)); err != nil || code != http.StatusCreated {
		t.Fatalf("register the app: %d %v %v", code, m, err)
	}
	if code, m, err := crashCall(base, "POST", "/_sim/genstore/shops", `{"shopId":"`+crashShop+`","shop":"crash-shop","testMode":true}`); err != nil || code != http.StatusCreated {
		t.Fatalf("create the shop: %d %v %v", code, m, err)
	}
	if code, m, err := crashCall(base, "POST", "/_sim/genstore/shops/"+crashShop+"/installations", `{"clientId":"`+ref.ClientID+`"}`); err != nil || code != http.StatusCreated {
		t.Fatalf("install the app: %d %v %v", code, m, err)
	}
	waitFor(t, "the app's installation to be ready", func() bool {
		_, m, _ := crashCall(base, "GET", "/_sim/genstore/shops/"+crashShop+"/installations", "")
		list, _ := m["installations"].([]any)
		for _, i := range list {
			if i, _ := i.(map[string]any); i["clientId"] == ref.ClientID && i["ready"] == true {
				return true
			}
		}
		return false
	})
	return gate
}

// crashCall sends a request and decodes its JSON answer; an error means no
// answer (the process is down), which the load expects at the kill.
func crashCall(base, method, path, body string) (int, map[string]any, error) {
	req, err := http.NewRequest(method, base+path, strings.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return res.StatusCode, nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return res.StatusCode, nil, fmt.Errorf("%s %s: %d %.200s: %w", method, path, res.StatusCode, b, err)
	}
	return res.StatusCode, m, nil
}

// logJournal logs the journal's events about a payment: what a stuck one's
// deliveries and jobs did, to tell a lost row from a lost answer.
func logJournal(t *testing.T, base, paymentID string) {
	t.Helper()
	_, m, err := crashCall(base, "GET", "/_sim/events?limit=200&paymentId="+paymentID, "")
	if err != nil {
		t.Logf("journal of %s: %v", paymentID, err)
		return
	}
	list, _ := m["events"].([]any)
	for _, e := range list {
		e, _ := e.(map[string]any)
		t.Logf("journal: %v %v %v: %v", e["seq"], e["system"], e["kind"], e["message"])
	}
}

// refundID is the id in the admin API's answer to a refund:
// {"operation":{"id":…},"payment":{…}}.
func refundID(m map[string]any) string {
	op, _ := m["operation"].(map[string]any)
	id, _ := op["id"].(string)
	return id
}

// operation finds the operation id among a payment view's operations.
func operation(payment map[string]any, id string) map[string]any {
	ops, _ := payment["operations"].([]any)
	for _, o := range ops {
		if o, _ := o.(map[string]any); o["id"] == id {
			return o
		}
	}
	return nil
}

// freeAddr returns a loopback address no one listens on now.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}
