package genstore_test

import (
	"bytes"
	"context"
	"errors"
	"maps"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pspsim/pspsim/simulator/delivery"
	"github.com/pspsim/pspsim/simulator/genstore"
	"github.com/pspsim/pspsim/simulator/genstore/genstoretest"
	"github.com/pspsim/pspsim/simulator/simtest"
)

// stored is what a durable sender keeps of a delivery's message: its data,
// without the functions (Prepare, Tamper, Answered, Contradict) that only
// the sending system can rebuild.
func stored(r delivery.Request) delivery.Request {
	return delivery.Request{System: r.System, Kind: r.Kind, Method: r.Method, URL: r.URL, Header: r.Header.Clone(), Body: bytes.Clone(r.Body),
		IDs: maps.Clone(r.IDs), Tags: maps.Clone(r.Tags), Resume: r.Resume, ResumeData: bytes.Clone(r.ResumeData)}
}

// sentLog keeps every attempt's message as the simulator's sender sent it.
type sentLog struct {
	mu   sync.Mutex
	reqs []delivery.Request
}

// capture hooks the simulator's sender (in place of the fault engine, which
// these tests do not use) to keep every attempt's message.
func capture(e *env) *sentLog {
	l := &sentLog{}
	e.h.Sim.Env().Sender.SetHook(func(ctx context.Context, req *delivery.Request, attempt int, send delivery.SendFunc) (*delivery.Response, error) {
		l.mu.Lock()
		l.reqs = append(l.reqs, *req)
		l.mu.Unlock()
		return send(ctx, req, attempt)
	})
	return l
}

// of returns the messages of one delivery kind ("payment", "payment_query"...).
func (l *sentLog) of(kind string) []delivery.Request {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []delivery.Request
	for _, r := range l.reqs {
		if r.Kind == kind {
			out = append(out, r)
		}
	}
	return out
}

// query returns a URL's query.
func query(t *testing.T, raw string) url.Values {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u.Query()
}

// resumeOf resumes a stored message with the resumer it names.
func resumeOf(t *testing.T, e *env, msg delivery.Request) (delivery.Request, delivery.Policy, func(*delivery.Delivery), bool, error) {
	t.Helper()
	r := e.h.Sim.System(genstore.Name).(*genstore.System).Resumer(msg.Resume)
	if r == nil {
		t.Fatalf("no resumer named %q", msg.Resume)
	}
	return r(context.Background(), msg)
}

// pendingPayment creates a payment whose request the app answered 503 at
// its first attempt, so that its retry is pending, and returns its id and
// the stored message.
func pendingPayment(t *testing.T, e *env, log *sentLog) (string, delivery.Request) {
	t.Helper()
	e.app.Queue(genstore.KindPayment, genstoretest.Reply{Status: http.StatusServiceUnavailable})
	v := e.pay(map[string]any{"amount": "10.00"})
	id := str(v["paymentId"])
	if simtest.Field(v, "request.state") != "pending" {
		t.Fatalf("the payment's request is not pending after a 503: %v", v["request"])
	}
	var msg delivery.Request
	for _, r := range log.of(genstore.KindPayment) {
		if r.IDs["paymentId"] == id {
			msg = stored(r)
		}
	}
	if msg.Resume == "" || len(msg.ResumeData) == 0 {
		t.Fatalf("the payment request is not resumable: %+v", msg)
	}
	return id, msg
}

// TestResumedPaymentRequestIsTheOriginal resumes a payment request waiting
// for its retry from its stored message: the rebuilt request carries the
// same body and headers, signs its query as the original did (the same URL
// at the same moment, an hmac the app verifies), its tamper hook breaks that
// hmac, its policy is the payment schedule; sent, the app receives it, and
// its callback completes the payment. Resumed again, it is declined.
func TestResumedPaymentRequestIsTheOriginal(t *testing.T) {
	e := setup(t)
	log := capture(e)
	id, msg := pendingPayment(t, e, log)
	original := log.of(genstore.KindPayment)[0]

	full, policy, onDone, ok, err := resumeOf(t, e, msg)
	if err != nil || !ok {
		t.Fatalf("resume: ok %t, %v", ok, err)
	}
	if !bytes.Equal(full.Body, original.Body) || !reflect.DeepEqual(full.Header, original.Header) || !reflect.DeepEqual(full.IDs, original.IDs) || !reflect.DeepEqual(full.Tags, original.Tags) {
		t.Fatalf("the rebuilt message differs from the original")
	}
	if full.Prepare == nil || full.Tamper == nil || full.Answered == nil || onDone == nil {
		t.Fatalf("hooks not rebuilt: prepare %t, tamper %t, answered %t, onDone %t", full.Prepare != nil, full.Tamper != nil, full.Answered != nil, onDone != nil)
	}
	attempt := full
	attempt.URL = "http://stale.invalid/"
	full.Prepare(&attempt, 3)
	if attempt.URL != original.URL {
		t.Fatalf("prepared at the same moment, the URL differs:\n%s\n%s", attempt.URL, original.URL)
	}
	q := query(t, attempt.URL)
	if err := genstore.VerifyQuery(e.app.ClientSecret, q, e.h.Clock.Now(), 300*time.Second); err != nil {
		t.Fatalf("the resumed attempt's signature: %v", err)
	}
	if err := genstore.VerifyQuery(e.app.ClientSecret, query(t, full.Tamper(attempt).URL), e.h.Clock.Now(), 300*time.Second); err == nil {
		t.Fatal("the tampered URL still verifies")
	}
	if want := []time.Duration{time.Second, 3 * time.Second, 10 * time.Second}; !reflect.DeepEqual(policy.Schedule, want) {
		t.Fatalf("schedule %v, want the payment's %v", policy.Schedule, want)
	}

	// The process that sent the first attempt is gone; this one sends the
	// rest. The app reports the result during the attempt.
	e.app.Queue(genstore.KindPayment, genstoretest.Reply{Callback: &genstoretest.Result{OK: true, ChannelID: "psp_resumed"}})
	d := e.h.Sim.Env().Sender.Send(full, policy, onDone)
	if d.State() != delivery.Done {
		t.Fatalf("the resumed delivery: %s %+v", d.State(), d.Attempts())
	}
	v := e.payment(id)
	if v["status"] != "2" || simtest.Field(v, "result.source") != "callback" || simtest.Field(v, "request.state") != "delivered" || simtest.Field(v, "ack.channelId") != "ch_"+id {
		t.Fatalf("the payment after the resumed attempt: %v", v)
	}
	var bodies [][]byte
	for _, r := range e.app.Requests(genstore.KindPayment) {
		if r.ID != id {
			continue
		}
		if r.SignatureErr != "" || !r.BodyHMACOK {
			t.Fatalf("the app refused a signature: %q, body hmac %t", r.SignatureErr, r.BodyHMACOK)
		}
		bodies = append(bodies, r.Body)
	}
	if len(bodies) != 2 || !bytes.Equal(bodies[0], bodies[1]) {
		t.Fatalf("the app received %d payment requests, identical: %t", len(bodies), len(bodies) == 2 && bytes.Equal(bodies[0], bodies[1]))
	}
	if _, _, _, ok, err := resumeOf(t, e, msg); ok || err != nil {
		t.Fatalf("the request of a final payment resumed again: ok %t, %v", ok, err)
	}
}

// TestResumedPaymentRequestJudgesAnswersAsTheOriginal feeds the rebuilt
// policy each kind of answer, each on a payment of its own waiting for its
// retry: it classifies as Genstore does (CONTRACT.md §2) and records the
// attempt on the payment as the original delivery would.
func TestResumedPaymentRequestJudgesAnswersAsTheOriginal(t *testing.T) {
	e := setup(t)
	log := capture(e)
	ack := []byte(`{"channelPaymentId":"psp_1","error":""}`)
	cases := []struct {
		name    string
		resp    *delivery.Response
		err     error
		want    delivery.Outcome
		state   string // the request's state afterwards
		status  string // the payment's
		attempt float64
	}{
		{"503 is retried", &delivery.Response{Status: 503}, nil, delivery.Retry, "pending", "1", 2},
		{"408 is retried", &delivery.Response{Status: 408}, nil, delivery.Retry, "pending", "1", 2},
		{"429 is retried", &delivery.Response{Status: 429}, nil, delivery.Retry, "pending", "1", 2},
		{"no answer is retried", nil, errors.New("no answer within 10s"), delivery.Retry, "pending", "1", 2},
		{"400 is final", &delivery.Response{Status: 400, Body: []byte(`{"error":"bad"}`)}, nil, delivery.Final, "failed", "9", 2},
		{"a redirect is final", &delivery.Response{Status: 302}, nil, delivery.Final, "failed", "9", 2},
		{"200 acknowledges", &delivery.Response{Status: 200, Body: ack}, nil, delivery.Delivered, "delivered", "1", 2},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e.t = t
			id, msg := pendingPayment(t, e, log)
			_, policy, _, ok, err := resumeOf(t, e, msg)
			if err != nil || !ok {
				t.Fatalf("resume: ok %t, %v", ok, err)
			}
			if got := policy.Classify(c.resp, c.err); got != c.want {
				t.Fatalf("classified %s, want %s", got, c.want)
			}
			v := e.payment(id)
			if simtest.Field(v, "request.state") != c.state || v["status"] != c.status || simtest.Field(v, "request.attempts") != c.attempt {
				t.Fatalf("payment after the answer: status %v, request %v", v["status"], v["request"])
			}
		})
	}
}

// TestResumedPaymentRequestThatRunsOutFailsThePayment resumes a request at
// its last attempt (no wait left in its schedule): the app's 503 ends it, and
// its onDone fails the payment as the original's would.
func TestResumedPaymentRequestThatRunsOutFailsThePayment(t *testing.T) {
	e := setup(t)
	log := capture(e)
	id, msg := pendingPayment(t, e, log)
	full, policy, onDone, ok, err := resumeOf(t, e, msg)
	if err != nil || !ok {
		t.Fatalf("resume: ok %t, %v", ok, err)
	}
	policy.Schedule = nil // resumed at attempt 4 of 4
	e.app.Queue(genstore.KindPayment, genstoretest.Reply{Status: http.StatusServiceUnavailable})
	if d := e.h.Sim.Env().Sender.Send(full, policy, onDone); d.State() != delivery.Failed {
		t.Fatalf("the resumed delivery: %s", d.State())
	}
	v := e.payment(id)
	if v["status"] != "9" || simtest.Field(v, "result.source") != genstore.SourceDelivery ||
		!strings.Contains(str(simtest.Field(v, "result.reason")), "no acknowledgement") || simtest.Field(v, "request.state") != "failed" {
		t.Fatalf("the payment after the last attempt: %v %v", v["result"], v["request"])
	}
}

// TestResumersDeclineWhatNoLongerWaits: a stored delivery is not resumed
// when its operation has its final result, its request has been
// acknowledged, or its payment is gone; resume data that names nothing is an
// error.
func TestResumersDeclineWhatNoLongerWaits(t *testing.T) {
	e := setup(t)
	log := capture(e)
	finalID, final := pendingPayment(t, e, log)
	want(t, e.report(genstore.KindPayment, finalID, true, "", "psp_f"), http.StatusOK, "")
	_, acked := pendingPayment(t, e, log)
	e.app.Queue(genstore.KindPayment, genstoretest.Reply{})
	e.advance(time.Second) // the retry is acknowledged: the request is done, the payment waits for its result
	gone := stored(final)
	gone.ResumeData = bytes.Replace(gone.ResumeData, []byte(finalID), []byte("PI00000000000000000000"), -1)
	garbage := stored(final)
	garbage.ResumeData = []byte(`{"kind":`)
	asQuery := stored(final)
	asQuery.Resume = "genstore.query"
	cases := []struct {
		name    string
		msg     delivery.Request
		wantErr bool
	}{
		{"the payment has its result", final, false},
		{"the request was acknowledged", acked, false},
		{"the payment is gone", gone, false},
		{"a query about a final payment", asQuery, false},
		{"resume data that does not decode", garbage, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, _, _, ok, err := resumeOf(t, e, c.msg)
			if ok || (err != nil) != c.wantErr {
				t.Fatalf("ok %t, error %v (want an error: %t)", ok, err, c.wantErr)
			}
		})
	}
}

// TestResumedReconciliationQueryAppliesTheAnswer resumes a scheduled
// reconciliation query from its stored message: it signs as the original
// did, and its onDone applies the app's SUCCESS as the poll would have.
func TestResumedReconciliationQueryAppliesTheAnswer(t *testing.T) {
	e := setup(t)
	log := capture(e)
	v := e.pay(map[string]any{"amount": "12.00"})
	id := str(v["paymentId"])
	e.app.Answer(id, genstoretest.QueryAnswer{Status: genstore.QueryProcessing})
	e.advance(5 * time.Minute) // poll 1 of 4: still processing
	queries := log.of("payment_query")
	if len(queries) != 1 {
		t.Fatalf("%d queries after 5 minutes", len(queries))
	}
	msg := stored(queries[0])
	full, policy, onDone, ok, err := resumeOf(t, e, msg)
	if err != nil || !ok {
		t.Fatalf("resume: ok %t, %v", ok, err)
	}
	attempt := full
	full.Prepare(&attempt, 1)
	if attempt.URL != queries[0].URL || full.Method != http.MethodGet || len(policy.Schedule) != 0 {
		t.Fatalf("the rebuilt query: %s %s, schedule %v (want %s, one attempt)", full.Method, attempt.URL, policy.Schedule, queries[0].URL)
	}
	e.app.Answer(id, genstoretest.QueryAnswer{Status: genstore.QuerySuccess, ChannelID: "psp_q"})
	e.h.Sim.Env().Sender.Send(full, policy, onDone)
	v = e.payment(id)
	if v["status"] != "2" || simtest.Field(v, "result.source") != genstore.SourceReconciliation || v["channelTrxNo"] != "psp_q" || len(v["reconciliation"].([]any)) != 2 {
		t.Fatalf("the payment after the resumed query: %v %v %v", v["status"], v["result"], v["reconciliation"])
	}
	evs := e.events("payment.reconciliation", id)
	if len(evs) != 2 || evs[1].Data["trigger"] != "scheduled poll 1 of 4" || evs[1].Data["applied"] != true {
		t.Fatalf("reconciliation events: %+v", evs)
	}
	if _, _, _, ok, err := resumeOf(t, e, msg); ok || err != nil {
		t.Fatalf("a query about a final payment resumed: ok %t, %v", ok, err)
	}
}

// TestResumedRequestStopsOnceTheResultCame: a delivery resumed after a
// restart has no handle the result could stop; when the result comes by
// callback while it waits, its next answer that would be retried ends it
// instead — the payment keeps its result, the request is recorded stopped.
func TestResumedRequestStopsOnceTheResultCame(t *testing.T) {
	e := setup(t)
	log := capture(e)
	id, msg := pendingPayment(t, e, log)
	full, policy, onDone, ok, err := resumeOf(t, e, msg)
	if err != nil || !ok {
		t.Fatalf("resume: ok %t, %v", ok, err)
	}
	want(t, e.report(genstore.KindPayment, id, true, "", "psp_cb"), http.StatusOK, "")
	e.app.Queue(genstore.KindPayment, genstoretest.Reply{Status: http.StatusServiceUnavailable})
	d := e.h.Sim.Env().Sender.Send(full, policy, onDone)
	if d.State() != delivery.Failed || len(d.Attempts()) != 1 {
		t.Fatalf("the resumed delivery after the result: %s, %d attempts (want it ended, not retried)", d.State(), len(d.Attempts()))
	}
	v := e.payment(id)
	if v["status"] != "2" || simtest.Field(v, "result.source") != "callback" || simtest.Field(v, "request.state") != "stopped" {
		t.Fatalf("the payment: %v %v %v", v["status"], v["result"], v["request"])
	}
	if evs := e.events("payment.failure_ignored", id); len(evs) != 0 {
		t.Fatalf("the resumed delivery tried to fail a paid payment: %+v", evs)
	}
}
