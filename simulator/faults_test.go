package simulator_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/pspsim/pspsim/simulator"
	"github.com/pspsim/pspsim/simulator/delivery"
	"github.com/pspsim/pspsim/simulator/faults"
	"github.com/pspsim/pspsim/simulator/journal"
	"github.com/pspsim/pspsim/simulator/simtest"
	"github.com/pspsim/pspsim/simulator/store"
	"github.com/pspsim/pspsim/simulator/vmgateway"
)

func adminError(r simtest.Response) (code, field, message string) {
	e, _ := r.JSON()["error"].(map[string]any)
	code, _ = e["code"].(string)
	field, _ = e["field"].(string)
	message, _ = e["message"].(string)
	return
}

func TestFaultRulesThroughTheAdminAPI(t *testing.T) {
	h := simtest.New(t)
	r := h.Do("POST", "/_sim/faults", `{"id":"busy","match":{"system":"vmgateway","operation":"createAccessToken"},"action":{"type":"status","status":503},"frequency":{"first":1}}`)
	if r.Status != 201 || r.Header.Get("Location") != "/_sim/faults/busy" || r.JSON()["does"] != "answers HTTP 503" {
		t.Fatalf("create: %d %s", r.Status, r.Body)
	}
	if r := h.Do("POST", "/vm/v1/auth/token", map[string]string{"appId": "086666075137001", "secret": "184E52CF5365D2D7EE8EDA************"}); r.Status != 503 || r.Header.Get("X-Pspsim-Fault") != "busy" {
		t.Fatalf("the rule did not fire: %d %s", r.Status, r.Body)
	}
	h.VMToken("sandbox") // first: 1 — the second call passes
	r = h.Do("GET", "/_sim/faults/busy", nil)
	if r.Status != 200 || r.JSON()["hits"].(json.Number).String() != "1" || r.JSON()["matched"].(json.Number).String() != "2" {
		t.Fatalf("get: %d %s", r.Status, r.Body)
	}
	r = h.Do("GET", "/_sim/faults", nil)
	var list struct {
		Rules []struct {
			ID, Source string
		}
	}
	json.Unmarshal(r.Body, &list)
	if len(list.Rules) < 2 || list.Rules[0].ID != "busy" || list.Rules[0].Source != "api" || list.Rules[len(list.Rules)-1].Source != "magic" {
		t.Fatalf("list: %s", r.Body)
	}
	if r := h.Do("DELETE", "/_sim/faults/busy", nil); r.Status != 200 {
		t.Fatalf("delete: %d %s", r.Status, r.Body)
	}
	if r := h.Do("GET", "/_sim/faults/busy", nil); r.Status != 404 {
		t.Fatalf("deleted rule still there: %d", r.Status)
	}
	// Replace is all or nothing, and names the rule and field that failed.
	r = h.Do("PUT", "/_sim/faults", `{"rules":[{"action":"reset"},{"action":{"type":"status","status":42}}]}`)
	if code, field, msg := adminError(r); r.Status != 400 || code != "invalid" || field != "rules[1].action.status" || !strings.Contains(msg, "fault rule rules[1]") {
		t.Fatalf("replace: %d %s", r.Status, r.Body)
	}
	r = h.Do("PUT", "/_sim/faults", `{"rules":[{"action":"reset","match":{"system":"genstore"}},{"id":"x","action":"drop"}]}`)
	if r.Status != 200 {
		t.Fatalf("replace: %d %s", r.Status, r.Body)
	}
	if r := h.Do("DELETE", "/_sim/faults", nil); r.Status != 200 || r.JSON()["cleared"].(json.Number).String() != "2" {
		t.Fatalf("clear: %d %s", r.Status, r.Body)
	}
	r = h.Do("GET", "/_sim/fault-actions", nil)
	if r.Status != 200 || !strings.Contains(string(r.Body), `"name":"lost"`) || !strings.Contains(string(r.Body), `"target":"delivery"`) {
		t.Fatalf("actions: %d %s", r.Status, r.Body)
	}
	if ev := h.Sim.Journal().Query(journal.Filter{System: "faults", Kind: "fault.fired.status"}); len(ev) != 1 || ev[0].IDs["rule"] != "busy" {
		t.Fatalf("journal: %+v", ev)
	}
}

// TestMalformedRulesGetAnAdminErrorNamingTheField: never a 500, never a
// panic; the spec's checks and the engine's both answer in the admin dialect.
func TestMalformedRulesGetAnAdminErrorNamingTheField(t *testing.T) {
	h := simtest.New(t)
	cases := []struct{ body, field, inMessage string }{
		{`{"id":"r1","action":{"type":"status","status":700}}`, "action.status", "fault rule r1"},
		{`{"id":"r1","action":{"type":"teleport"}}`, "action.type", "fault rule r1"},
		{`{"id":"r1","match":{"operation":"createPaymnet"},"action":"reset"}`, "match.operation", "createPaymnet"},
		{`{"id":"r1","match":{"system":"vmgateway","operation":"wisehub.cloud.pay.order"},"action":"reset"}`, "match.operation", "vmgateway has no operation"},
		{`{"id":"r1","match":{"card":"4000123456000019x"},"action":"reset"}`, "match.card", "fault rule r1"},
		{`{"id":"r1","match":{"amount":"ten"},"action":"reset"}`, "match.amount", "fault rule r1"},
		{`{"id":"r1","match":{"merchnat":"M1"},"action":"reset"}`, "match.merchnat", ""},
		{`{"id":"r1","frequency":{"probability":2},"action":"reset"}`, "frequency.probability", ""},
		{`{"id":"r1","action":{"type":"timeout","hold":"forever"}}`, "action.hold", "fault rule r1"},
		{`{"match":{}}`, "action", ""},
		{`{"id":"r1","action":"reset","after":"soon"}`, "after", ""},
	}
	for _, c := range cases {
		r := h.Do("POST", "/_sim/faults", c.body)
		code, field, msg := adminError(r)
		if r.Status != 400 || (code != "invalid" && code != "missing") || field != c.field || !strings.Contains(msg, c.inMessage) {
			t.Errorf("%s: %d %s", c.body, r.Status, r.Body)
		}
		if strings.Contains(string(r.Body), "4000123456000019") {
			t.Errorf("%s: the error echoes the card number", c.body)
		}
	}
	if r := h.Do("POST", "/_sim/faults", `{"id":`); r.Status != 400 {
		t.Errorf("broken JSON: %d %s", r.Status, r.Body)
	}
}

func TestErrorActionSpeaksEachSystemsDialect(t *testing.T) {
	h := simtest.New(t)
	h.Do("PUT", "/_sim/faults", `{"rules":[{"match":{"system":"genstore"},"action":"error"},{"match":{"system":"vmgateway","operation":"inquirePayment"},"action":{"type":"error","code":"SYSTEM_BUSY","status":503}}]}`)
	r := h.Do("PUT", "/genstore/api/202412/app/payment/PI00202510281513381",
		`{"pay":{"result":"true","paymentId":"PI00202510281513381","channelPaymentId":"2025102815"}}`, "X-Genstore-Access-Token", simtest.GenstoreToken)
	if m := r.JSON(); r.Status != 503 || m["errors"] != "service temporarily unavailable" {
		t.Fatalf("genstore: %d %s", r.Status, r.Body)
	}
	r = h.Do("POST", "/vm/v1/payments/inquiry", map[string]string{"orderNo": "20220828000002"}, "Authorization", "Bearer "+h.VMToken("sandbox"))
	if m := r.JSON(); r.Status != 503 || m["code"] != "SYSTEM_BUSY" || m["traceId"] == nil {
		t.Fatalf("vmgateway: %d %s", r.Status, r.Body)
	}
}

// TestLostAnswerLeavesTheTokenIssuedAndUsable: "processed, answer lost" on
// the gateway's access token: the client sees a reset connection, the token
// exists and works.
func TestLostAnswerLeavesTheTokenIssuedAndUsable(t *testing.T) {
	h := simtest.New(t)
	if r := h.Do("POST", "/_sim/faults", `{"match":{"operation":"createAccessToken"},"action":"lost","frequency":{"first":1}}`); r.Status != 201 {
		t.Fatal(string(r.Body))
	}
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	res, err := client.Post(h.URL+"/vm/v1/auth/token", "application/json",
		strings.NewReader(`{"appId":"086666075137001","secret":"184E52CF5365D2D7EE8EDA************"}`))
	if err == nil {
		res.Body.Close()
		t.Fatalf("the client got an answer: %d", res.StatusCode)
	}
	if !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("want a reset, got %v", err)
	}
	tokens, err := store.NewTable[vmgateway.Token](h.Sim.Env().Store, "vm.token").List(context.Background(), nil)
	if err != nil || len(tokens) != 1 {
		t.Fatalf("tokens: %v %v", tokens, err)
	}
	r := h.Do("POST", "/vm/v1/payments/inquiry", map[string]string{"orderNo": "20220828000002"}, "Authorization", "Bearer "+tokens[0].Token)
	if r.Status == 401 {
		t.Fatalf("the committed token does not work: %s", r.Body)
	}
}

// createPaymentBody is the spec's own request example of createPayment with
// another amount.
func createPaymentBody(t *testing.T, h *simtest.Harness, amount string) []byte {
	t.Helper()
	ex := h.Sim.Mount("vmgateway").Doc().Paths.Value("/v1/payments").Post.RequestBody.Value.Content.Get("application/json").Example
	m, _ := ex.(map[string]any)
	cp := map[string]any{}
	for k, v := range m {
		cp[k] = v
	}
	cp["amount"] = amount
	b, err := json.Marshal(cp)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestMagicAmountsTriggerFaultsFromAnAppsOwnUI: a payment of x.51 times
// out, x.52 resets, x.54 fails in the gateway's dialect, and other amounts
// are left alone.
func TestMagicAmountsTriggerFaultsFromAnAppsOwnUI(t *testing.T) {
	h := simtest.New(t)
	tok := h.VMToken("sandbox")
	pay := func(amount string, timeout time.Duration) (*http.Response, []byte, error) {
		req, _ := http.NewRequest("POST", h.URL+"/vm/v1/payments", strings.NewReader(string(createPaymentBody(t, h, amount))))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+tok)
		res, err := (&http.Client{Timeout: timeout, Transport: &http.Transport{DisableKeepAlives: true}}).Do(req)
		if err != nil {
			return nil, nil, err
		}
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		return res, b, err
	}
	if _, _, err := pay("10.51", 300*time.Millisecond); err == nil || !strings.Contains(err.Error(), "Timeout") {
		t.Fatalf("10.51: %v", err)
	}
	if _, _, err := pay("10.52", 5*time.Second); !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("10.52: %v", err)
	}
	res, body, err := pay("10.54", 5*time.Second)
	if err != nil || res.StatusCode != 503 || !strings.Contains(string(body), `"code":"INTERNAL_ERROR"`) || res.Header.Get("X-Pspsim-Fault") != "magic-54-error" {
		t.Fatalf("10.54: %v %v %s", err, res, body)
	}
	res, _, err = pay("10.50", 5*time.Second)
	if err != nil || res.Header.Get("X-Pspsim-Fault") != "" {
		t.Fatalf("10.50 was faulted: %v %v", err, res)
	}
	st, _ := h.Sim.Faults().Get("magic-51-timeout")
	if st.Hits != 1 || st.Source != faults.SourceMagic {
		t.Fatalf("%+v", st)
	}
}

func withFaults(yaml string) simtest.Option {
	return func(o *simulator.Options) { o.Faults = []byte(yaml) }
}

// TestRulesFromFileAndConfigAndReset: --faults and the config's faults
// section install rules in that order (magic off here); reset clears the
// run-time rules and reinstalls these with fresh counters.
func TestRulesFromFileAndConfigAndReset(t *testing.T) {
	h := simtest.New(t,
		withFaults("rules:\n  - id: from-file\n    match: {system: vmgateway, operation: inquirePayment}\n    action: {type: status, status: 503}\n"),
		simtest.WithConfig("faults:\n  magic: false\n  rules:\n    - id: from-config\n      match: {system: genstore}\n      action: reset\n"))
	h.Do("POST", "/_sim/faults", `{"id":"runtime","action":"reset","match":{"system":"codepay"}}`)
	h.Do("POST", "/vm/v1/payments/inquiry", map[string]string{"orderNo": "20220828000002"}, "Authorization", "Bearer "+h.VMToken("sandbox"))
	if got := strings.Join(h.Sim.Faults().Rules(), ","); got != "runtime,from-file,from-config" {
		t.Fatalf("rules %s", got)
	}
	if st, _ := h.Sim.Faults().Get("from-file"); st.Hits != 1 || st.Source != "file" {
		t.Fatalf("%+v", st)
	}
	h.Do("DELETE", "/_sim/faults/from-config", nil)
	if r := h.Do("POST", "/_sim/reset", nil); r.Status != 200 {
		t.Fatal(string(r.Body))
	}
	if got := strings.Join(h.Sim.Faults().Rules(), ","); got != "from-file,from-config" {
		t.Fatalf("after reset: %s", got)
	}
	if st, _ := h.Sim.Faults().Get("from-file"); st.Hits != 0 {
		t.Fatalf("counters survived reset: %+v", st)
	}
}

func TestMalformedRulesFileStopsTheStart(t *testing.T) {
	_, err := simulator.New(context.Background(), simulator.Options{Faults: []byte("- id: bad\n  action: {type: status, status: 9000}\n")})
	if err == nil || !strings.Contains(err.Error(), "fault rule bad: action.status") {
		t.Fatalf("%v", err)
	}
	_, err = simulator.New(context.Background(), simulator.Options{Config: []byte("faults: {rules: [{action: boom}]}\n")})
	if err == nil || !strings.Contains(err.Error(), "action.type") {
		t.Fatalf("%v", err)
	}
}

// TestEventStreamReplaysThenFollows: the live stream first replays what the
// journal holds after `after`, then every new event as it is recorded.
func TestEventStreamReplaysThenFollows(t *testing.T) {
	h := simtest.New(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", h.URL+"/_sim/events/stream?after=0&system=sim", nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("%d %s", res.StatusCode, res.Header)
	}
	events := make(chan string, 10)
	go func() {
		sc := bufio.NewScanner(res.Body)
		for sc.Scan() {
			if line := sc.Text(); strings.HasPrefix(line, "event: ") {
				events <- strings.TrimPrefix(line, "event: ")
			}
		}
		close(events)
	}()
	next := func() string {
		select {
		case e := <-events:
			return e
		case <-time.After(simtest.Patience):
			t.Fatal("no event")
			return ""
		}
	}
	if e := next(); e != "sim.started" {
		t.Fatalf("replay: %s", e)
	}
	h.Advance(time.Hour)
	h.VMToken("sandbox") // another system: filtered out
	h.Advance(time.Hour)
	if a, b := next(), next(); a != "clock.moved" || b != "clock.moved" {
		t.Fatalf("live: %s %s", a, b)
	}
	if r := h.Do("GET", "/_sim/events/stream?after=x", nil); r.Status != 400 {
		t.Fatalf("bad after: %d", r.Status)
	}
}

// receiver records test deliveries and checks their signature.
type receiver struct {
	mu     sync.Mutex
	bodies []string
	valid  []bool
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	rc.bodies = append(rc.bodies, string(b))
	rc.valid = append(rc.valid, r.Header.Get(faults.SignatureHeader) == faults.Sign("s3cret", b))
	rc.mu.Unlock()
	w.WriteHeader(200)
}

func TestTestDeliveriesGoThroughTheDeliveryFaults(t *testing.T) {
	h := simtest.New(t)
	rc := &receiver{}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	h.Do("PUT", "/_sim/faults", `{"rules":[
		{"id":"c","match":{"system":"codepay","operation":"notification","merchant":"M1"},"action":"contradict"},
		{"id":"t","match":{"system":"codepay","operation":"notification","merchant":"M2"},"action":"tamper"}]}`)
	send := func(merchant string) simtest.Response {
		return h.Do("POST", "/_sim/deliveries/test", `{"url":"`+srv.URL+`/notify","system":"codepay","kind":"notification",
			"body":{"orderNo":"A1","status":"SUCCESS","order_amount":10.00},"ids":{"orderNo":"A1"},"tags":{"merchant":"`+merchant+`"},
			"secret":"s3cret","contradict":{"status":"FAILED"},"retry":["30s"]}`)
	}
	if r := send("M1"); r.Status != 200 || r.JSON()["state"] != "delivered" {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
	if len(rc.bodies) != 2 || !strings.Contains(rc.bodies[0], "SUCCESS") || !strings.Contains(rc.bodies[1], "FAILED") || !rc.valid[0] || !rc.valid[1] {
		t.Fatalf("contradict: %q %v", rc.bodies, rc.valid)
	}
	send("M2")
	if len(rc.bodies) != 3 || rc.valid[2] {
		t.Fatalf("tamper: %q %v", rc.bodies, rc.valid)
	}
	if r := h.Do("POST", "/_sim/deliveries/test", `{"url":"ftp://x/","body":{}}`); r.Status != 400 {
		t.Fatalf("bad url: %d %s", r.Status, r.Body)
	}
	if r := h.Do("POST", "/_sim/deliveries/test", `{"url":"`+h.URL+`/_sim/deliveries/test","body":{}}`); r.Status != 400 {
		t.Fatalf("a message to itself: %d %s", r.Status, r.Body)
	}
	// A magic amount works on test deliveries too: x.61 drops the first attempt.
	h.Do("DELETE", "/_sim/faults", nil)
	r := h.Do("POST", "/_sim/deliveries/test", `{"url":"`+srv.URL+`","body":{"amount":"10.61"},"retry":["30s"]}`)
	if r.Status != 200 || r.JSON()["state"] != "pending" || len(rc.bodies) != 3 {
		t.Fatalf("x.61: %d %s", r.Status, r.Body)
	}
	h.Advance(30 * time.Second)
	if len(rc.bodies) != 4 {
		t.Fatalf("the retry did not arrive: %d", len(rc.bodies))
	}
}

// TestClockRunsA48hRetryScheduleAndA24hExpiryInOrder: CONTRACT.md's retry
// schedule for captures (30 s … every 8 h up to 48 h) and a fault rule that
// expires after 24 h, replayed by one POST /_sim/clock/advance in
// milliseconds, every attempt at its due time, the journal in time order.
func TestClockRunsA48hRetryScheduleAndA24hExpiryInOrder(t *testing.T) {
	h := simtest.New(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(503) }))
	defer srv.Close()
	schedule := []time.Duration{30 * time.Second, 2 * time.Minute, 10 * time.Minute, 30 * time.Minute, time.Hour, 2 * time.Hour, 4 * time.Hour, 8 * time.Hour}
	var total time.Duration
	for _, d := range schedule {
		total += d
	}
	for total+8*time.Hour <= 48*time.Hour {
		schedule = append(schedule, 8*time.Hour)
		total += 8 * time.Hour
	}
	if r := h.Do("POST", "/_sim/faults", `{"id":"day-outage","match":{"system":"vmgateway"},"action":"reset","for":"24h"}`); r.Status != 201 {
		t.Fatal(string(r.Body))
	}
	d := h.Sim.Env().Sender.Send(delivery.Request{System: "genstore", Kind: "capture", URL: srv.URL, Body: []byte(`{"captureId":"C1"}`),
		IDs: map[string]string{"captureId": "C1"}}, delivery.Policy{Schedule: schedule, Timeout: time.Second}, nil)
	start := time.Now()
	h.Advance(48 * time.Hour)
	took := time.Since(start)
	t.Logf("48 simulated hours, %d attempts, in %s", len(d.Attempts()), took)
	if took > 3*time.Second {
		t.Fatalf("48h took %s of wall time", took)
	}
	if d.State() != delivery.Failed || len(d.Attempts()) != len(schedule)+1 {
		t.Fatalf("%s after %d attempts", d.State(), len(d.Attempts()))
	}
	due := simtest.Start
	for i, a := range d.Attempts() {
		if !a.At.Equal(due) {
			t.Fatalf("attempt %d at +%s, due +%s", i+1, a.At.Sub(simtest.Start), due.Sub(simtest.Start))
		}
		if i < len(schedule) {
			due = due.Add(schedule[i])
		}
	}
	var last time.Time
	expired := false
	for _, e := range h.Sim.Journal().Query(journal.Filter{}) {
		if e.Time.Before(last) {
			t.Fatalf("journal out of order at %d %s", e.Seq, e.Kind)
		}
		last = e.Time
		if e.Kind == "fault.rule.expired" {
			expired = e.Time.Equal(simtest.Start.Add(24 * time.Hour))
		}
	}
	if !expired {
		t.Fatal("the 24 h rule did not expire at +24h")
	}
}

// TestOddRuleBodiesNeverMakeA500: whatever shape a client sends, the answer
// is a 201 or an admin-dialect 400 naming a field.
func TestOddRuleBodiesNeverMakeA500(t *testing.T) {
	h := simtest.New(t)
	bodies := []string{
		`{"action":{"type":"latency","delay":5}}`,
		`{"action":{"type":"status","status":"abc"}}`,
		`{"action":{"type":"status","status":200,"headers":{"a":1}}}`,
		`{"action":{"type":"status","status":200,"headers":"x"}}`,
		`{"action":{"type":"error","status":99}}`,
		`{"action":{"type":"duplicate","copies":1000}}`,
		`{"action":{"type":"lost","then":"explode"}}`,
		`{"action":{"type":"malformed","processed":"maybe"}}`,
		`{"action":{"type":null}}`,
		`{"action":42}`,
		`{"action":"reset","match":{"amount":{"cents":"x"}}}`,
		`{"action":"reset","match":{"amount":{}}}`,
		`{"action":"reset","match":{"amount":[1]}}`,
		`{"action":"reset","match":{"header":"x"}}`,
		`{"action":"reset","match":{"header":{"name":"A","other":1}}}`,
		`{"action":"reset","match":{"operation":[1,2]}}`,
		`{"action":"reset","match":{"operation":[]}}`,
		`{"action":"reset","match":{"nth":-1}}`,
		`{"action":"reset","match":{"card":12345}}`,
		`{"action":"reset","frequency":"sometimes"}`,
		`{"action":"reset","frequency":{"first":"two"}}`,
		`{"action":"reset","frequency":{}}`,
		`{"action":"reset","description":7}`,
		`{"action":"reset","for":"1h","after":"-5m"}`,
		`{"action":{"type":"status","status":200,"body":{"deep":[1,2,{"x":null}]}}}`,
		`{"id":"ok-1","action":{"type":"drop"},"match":{"system":"sim","operation":"test","attempt":2}}`,
	}
	for _, b := range bodies {
		r := h.Do("POST", "/_sim/faults", b)
		switch r.Status {
		case 201:
		case 400:
			if code, field, msg := adminError(r); code == "" || msg == "" || (field == "" && !strings.Contains(msg, "fault rule")) {
				t.Errorf("%s: %s", b, r.Body)
			}
		default:
			t.Errorf("%s: %d %s", b, r.Status, r.Body)
		}
	}
}
