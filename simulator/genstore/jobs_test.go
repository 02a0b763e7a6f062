package genstore_test

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/pspsim/pspsim/simulator/genstore"
	"github.com/pspsim/pspsim/simulator/genstore/genstoretest"
	"github.com/pspsim/pspsim/simulator/jobs"
)

// pendingJobs lists the pending jobs of the test's simulator (memory
// scheduler) about a payment, as "kind key" sorted.
func pendingJobs(t *testing.T, e *env, paymentID string) []string {
	t.Helper()
	m, ok := e.h.Sim.Env().Jobs.(*jobs.Memory)
	if !ok {
		t.Fatalf("the simulator's scheduler is a %T", e.h.Sim.Env().Jobs)
	}
	var out []string
	for _, j := range m.Jobs() {
		var p struct{ PaymentID string }
		json.Unmarshal(j.Payload, &p)
		if p.PaymentID != paymentID {
			continue
		}
		if !slices.Contains(genstore.JobKinds(), j.Kind) {
			t.Errorf("job kind %s is not among genstore.JobKinds", j.Kind)
		}
		out = append(out, j.Kind+" "+j.Key)
	}
	sort.Strings(out)
	return out
}

// TestOperationJobsAreNamedAndStopByTheResult: an acknowledged payment has
// its deadline, its four polls and its expiry pending as jobs named by shop,
// id and step; its final result cancels every one; a refund has its own.
func TestOperationJobsAreNamedAndStopByTheResult(t *testing.T) {
	e := setup(t)
	id := str(e.pay(map[string]any{"amount": "20.00"})["paymentId"])
	k := testShop + "/" + id
	wantPayment := []string{
		"genstore.payment.deadline " + k + "/first",
		"genstore.payment.expire " + k,
		"genstore.payment.poll " + k + "/1", "genstore.payment.poll " + k + "/2",
		"genstore.payment.poll " + k + "/3", "genstore.payment.poll " + k + "/4",
	}
	if got := pendingJobs(t, e, id); !slices.Equal(got, wantPayment) {
		t.Fatalf("pending jobs of an acknowledged payment:\n%v\nwant\n%v", got, wantPayment)
	}
	want(t, e.report(genstore.KindPayment, id, true, "", "psp_2"), http.StatusOK, "")
	if got := pendingJobs(t, e, id); len(got) != 0 {
		t.Fatalf("jobs left after the final result: %v", got)
	}
	ref := str(e.operate(id, "refunds", map[string]any{"amount": "5.00"}, 201)["operation"].(map[string]any)["id"])
	rk := testShop + "/" + ref
	wantRefund := []string{
		"genstore.refund.deadline " + rk + "/first",
		"genstore.refund.poll " + rk + "/1", "genstore.refund.poll " + rk + "/2",
		"genstore.refund.poll " + rk + "/3", "genstore.refund.poll " + rk + "/4",
	}
	if got := pendingJobs(t, e, id); !slices.Equal(got, wantRefund) {
		t.Fatalf("pending jobs of an acknowledged refund:\n%v\nwant\n%v", got, wantRefund)
	}
}

// TestJobsAfterTheResultChangeNothing fires every kind of job of a payment
// that already has its final result (as a durable job may fire after a
// restart, or twice): no deadline is marked missed, no query is sent, the
// payment does not expire, nothing is journaled.
func TestJobsAfterTheResultChangeNothing(t *testing.T) {
	e := setup(t)
	e.app.Queue(genstore.KindPayment, genstoretest.Reply{Callback: &genstoretest.Result{OK: true, ChannelID: "psp_3"}})
	id := str(e.pay(map[string]any{"amount": "30.00"})["paymentId"])
	before := e.payment(id)
	if before["status"] != "2" {
		t.Fatalf("payment %v", before["status"])
	}
	payload, _ := json.Marshal(map[string]any{"shopId": testShop, "paymentId": id, "id": id, "poll": 1})
	returnPayload, _ := json.Marshal(map[string]any{"shopId": testShop, "paymentId": id, "id": id, "afterReturn": true})
	events := len(e.h.Sim.Journal().Query(journalFilter("")))
	due := e.h.Clock.Now().Add(time.Minute)
	for _, j := range []jobs.Job{
		{Kind: "genstore.payment.deadline", Key: testShop + "/" + id + "/first", Due: due, Payload: payload},
		{Kind: "genstore.payment.deadline", Key: testShop + "/" + id + "/return", Due: due, Payload: returnPayload},
		{Kind: "genstore.payment.poll", Key: testShop + "/" + id + "/1", Due: due, Payload: payload},
		{Kind: "genstore.payment.expire", Key: testShop + "/" + id, Due: due, Payload: payload},
		{Kind: "genstore.refund.poll", Key: testShop + "/RI00/1", Due: due, Payload: []byte(`{"shopId":"7001","paymentId":"` + id + `","id":"RI00","poll":1}`)}, // a refund the payment does not have
		{Kind: "genstore.capture.deadline", Key: testShop + "/CI00/first", Due: due, Payload: []byte(`{"shopId":"7001","paymentId":"` + id + `","id":"CI00"}`)},
		{Kind: "genstore.void.deadline", Key: "x", Due: due, Payload: []byte(`not json`)},
	} {
		if err := e.h.Sim.Env().Jobs.Schedule(context.Background(), j); err != nil {
			t.Fatalf("schedule %s: %v", j.Kind, err)
		}
	}
	e.advance(time.Minute)
	after := e.payment(id)
	if after["status"] != "2" || after["deadlineMissed"] != false || after["expired"] != false || len(after["reconciliation"].([]any)) != 0 {
		t.Fatalf("the payment changed: status %v, deadlineMissed %v, expired %v, reconciliation %v", after["status"], after["deadlineMissed"], after["expired"], after["reconciliation"])
	}
	if n := len(e.app.Requests("payment_query")) + len(e.app.Requests("refund_query")); n != 0 {
		t.Fatalf("%d queries sent about a final payment", n)
	}
	if got := len(e.h.Sim.Journal().Query(journalFilter(""))); got != events {
		t.Fatalf("%d events journaled by jobs that had nothing to do", got-events)
	}
}
