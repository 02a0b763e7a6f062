package genstore

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/pspsim/pspsim/simulator/jobs"
)

// What Genstore does later on its own, as jobs (package jobs): the deadline
// of a final result, the reconciliation polls and a payment's expiry. A job
// names its operation by kind (in the job's kind), shop and id (in its key,
// with the step), and carries what the closure it replaces captured
// (opJob). Each handler re-reads the payment and does nothing when the
// operation has moved on (a final result came), so a job that fires late —
// after a restart, or twice — changes nothing.
//
//	genstore.<kind>.deadline  key shop/id/first|return  (kind: payment, capture, void, refund)
//	genstore.<kind>.poll      key shop/id/<n>           (kind: payment, refund; n from 1)
//	genstore.payment.expire   key shop/id

// The steps of a deadline: counted from the first attempt, or from the
// buyer's return.
const (
	stepFirst  = "first"
	stepReturn = "return"
)

// expireKind is the job that fails an acknowledged payment with no result.
const expireKind = Name + ".payment.expire"

func deadlineKind(kind string) string { return Name + "." + kind + ".deadline" }
func pollKind(kind string) string     { return Name + "." + kind + ".poll" }

// operationKinds are the kinds of requests Genstore sends apps.
var operationKinds = []string{KindPayment, KindCapture, KindVoid, KindRefund}

// polled reports whether an operation kind has a query endpoint to poll.
func polled(kind string) bool { return kind == KindPayment || kind == KindRefund }

// JobKinds lists every kind of job Genstore schedules.
func JobKinds() []string {
	var out []string
	for _, k := range operationKinds {
		out = append(out, deadlineKind(k))
		if polled(k) {
			out = append(out, pollKind(k))
		}
	}
	return append(out, expireKind)
}

// jobKey names an operation's job: shop, operation id and step ("" when
// the kind has one step).
func jobKey(shopID, id, step string) string {
	if step == "" {
		return shopID + "/" + id
	}
	return shopID + "/" + id + "/" + step
}

// opJob is a Genstore job's payload.
type opJob struct {
	ShopID    string `json:"shopId"`
	PaymentID string `json:"paymentId"`
	// ID is the operation's id (the payment's for a payment).
	ID string `json:"id"`
	// AfterReturn: a deadline counted from the buyer's return.
	AfterReturn bool `json:"afterReturn,omitempty"`
	// Poll is a reconciliation poll's number (from 1).
	Poll int `json:"poll,omitempty"`
}

// registerJobs registers the handler of every kind in JobKinds.
func (s *System) registerJobs() {
	for _, k := range operationKinds {
		kind := k
		s.env.Jobs.Handle(deadlineKind(kind), s.jobHandler(func(ctx context.Context, o opJob) { s.deadline(ctx, kind, o) }))
		if polled(kind) {
			s.env.Jobs.Handle(pollKind(kind), s.jobHandler(func(ctx context.Context, o opJob) {
				s.reconcile(ctx, o.ShopID, o.PaymentID, kind, o.ID, fmt.Sprintf("scheduled poll %d of %d", o.Poll, len(s.settings.Reconciliation)))
			}))
		}
	}
	s.env.Jobs.Handle(expireKind, s.jobHandler(func(ctx context.Context, o opJob) { s.expire(ctx, o.ShopID, o.PaymentID) }))
}

// jobHandler decodes a job's payload for f. A payload that does not decode
// (written by another version) is logged and the job dropped.
func (s *System) jobHandler(f func(context.Context, opJob)) jobs.Handler {
	return func(ctx context.Context, j jobs.Job) {
		var o opJob
		if err := json.Unmarshal(j.Payload, &o); err != nil || o.ShopID == "" || o.PaymentID == "" || o.ID == "" {
			s.env.Log.Warn("genstore: a job's payload does not name its operation; dropped", "kind", j.Kind, "key", j.Key, "error", err)
			return
		}
		f(ctx, o)
	}
}

// later schedules an operation's job due after d. A scheduler that refuses
// it (a durable store that fails) is logged: the operation goes on, without
// that step.
func (s *System) later(ctx context.Context, kind, key string, d time.Duration, o opJob) {
	payload, err := json.Marshal(o)
	if err == nil {
		err = s.env.Jobs.Schedule(ctx, jobs.Job{Kind: kind, Key: key, Due: s.env.Clock.Now().Add(d), Payload: payload})
	}
	if err != nil {
		s.env.Log.Error("genstore: cannot schedule a job", "kind", kind, "key", key, "error", err)
	}
}

// stopOperation stops an operation's delivery and jobs (its final result came).
func (s *System) stopOperation(ctx context.Context, kind, shopID, id string) {
	if err := s.live.stop(ctx, kind, shopID, id); err != nil {
		s.env.Log.Error("genstore: cannot cancel an operation's jobs", "kind", kind, "id", id, "error", err)
	}
}
