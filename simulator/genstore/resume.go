package genstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/pspsim/pspsim/simulator/delivery"
	"github.com/pspsim/pspsim/simulator/store"
)

// Resumable deliveries (delivery.Request.Resume): a durable sender keeps a
// pending request to an app, or a reconciliation query, as its message and
// resumeData, and after a restart (or on another replica) asks the resumer
// registered here to rebuild the rest — the signing of each attempt, the
// tamper fault's hook, the judging of answers, the retry policy and onDone —
// from the message and the store, exactly as deliver and reconcile built it.
// A delivery whose operation has its final result, or no longer waits for
// this request, is not resumed.

// The resumers' names.
const (
	resumeRequest = Name + ".request" // payments, captures, voids, refunds sent to an app
	resumeQuery   = Name + ".query"   // reconciliation queries
)

// resumeData is a Genstore delivery's ResumeData: the operation it is about
// and the app's URL as registered (each attempt signs it afresh).
type resumeData struct {
	Kind      string `json:"kind"`
	ShopID    string `json:"shopId"`
	PaymentID string `json:"paymentId"`
	ID        string `json:"id"`
	URL       string `json:"url"`
	// Trigger is a query's reason ("scheduled poll 2 of 4", "admin").
	Trigger string `json:"trigger,omitempty"`
}

// resumers are Genstore's resumers by name.
func (s *System) resumers() map[string]delivery.Resumer {
	return map[string]delivery.Resumer{resumeRequest: s.resumeRequestDelivery, resumeQuery: s.resumeQueryDelivery}
}

// registerResumers registers Genstore's resumers with the sender.
func (s *System) registerResumers() {
	for name, r := range s.resumers() {
		s.env.Sender.OnResume(name, r)
	}
}

// resumed reads what a stored delivery is about: its data, payment, shop and
// app. ok false: the payment is gone (a reset, retention) or the operation
// has its final result.
func (s *System) resumed(ctx context.Context, req delivery.Request) (rd resumeData, p Payment, shop Shop, app App, ok bool, err error) {
	if err := json.Unmarshal(req.ResumeData, &rd); err != nil {
		return rd, p, shop, app, false, fmt.Errorf("genstore: resume %s %s: resume data: %w", req.Kind, req.URL, err)
	}
	if rd.Kind == "" || rd.ShopID == "" || rd.PaymentID == "" || rd.ID == "" || rd.URL == "" {
		return rd, p, shop, app, false, fmt.Errorf("genstore: resume %s: resume data names no operation", req.Kind)
	}
	p, err = s.payments.Get(ctx, paymentKey(rd.ShopID, rd.PaymentID))
	if errors.Is(err, store.ErrNotFound) {
		return rd, p, shop, app, false, nil
	}
	if err != nil {
		return rd, p, shop, app, false, fmt.Errorf("genstore: resume %s %s: %w", rd.Kind, rd.ID, err)
	}
	if out, _, final := p.outboundOf(rd.Kind, rd.ID); out == nil || final {
		return rd, p, shop, app, false, nil
	}
	if shop, err = s.shops.Get(ctx, p.ShopID); err != nil {
		return rd, p, shop, app, false, fmt.Errorf("genstore: resume %s %s: shop %s: %w", rd.Kind, rd.ID, p.ShopID, err)
	}
	if app, err = s.apps.Get(ctx, p.ClientID); err != nil {
		return rd, p, shop, app, false, fmt.Errorf("genstore: resume %s %s: app %s: %w", rd.Kind, rd.ID, p.ClientID, err)
	}
	return rd, p, shop, app, true, nil
}

// resumeRequestDelivery is the resumer of a request to an app (deliver). It
// is not resumed once the request has its answer: acknowledged, refused
// (final), given up or stopped.
func (s *System) resumeRequestDelivery(ctx context.Context, req delivery.Request) (delivery.Request, delivery.Policy, func(*delivery.Delivery), bool, error) {
	rd, p, shop, app, ok, err := s.resumed(ctx, req)
	if !ok || err != nil {
		return req, delivery.Policy{}, nil, false, err
	}
	if out, _, _ := p.outboundOf(rd.Kind, rd.ID); out.State != DeliveryPending {
		return req, delivery.Policy{}, nil, false, nil
	}
	full := req
	s.requestHooks(&full, shop, app, rd)
	policy := s.requestPolicy(rd)
	classify := policy.Classify
	policy.Classify = func(resp *delivery.Response, err error) delivery.Outcome {
		o := classify(resp, err)
		if o == delivery.Retry && s.settled(rd) {
			// A resumed delivery has no handle in live that a final result
			// (a callback) could stop: it stops itself at its next answer,
			// as the original would have been stopped.
			s.markStopped(rd)
			return delivery.Final
		}
		return o
	}
	return full, policy, s.requestDone(rd), true, nil
}

// settled reports whether the operation has its final result.
func (s *System) settled(rd resumeData) bool {
	p, err := s.payments.Get(context.Background(), paymentKey(rd.ShopID, rd.PaymentID))
	if err != nil {
		return errors.Is(err, store.ErrNotFound)
	}
	_, _, final := p.outboundOf(rd.Kind, rd.ID)
	return final
}

// markStopped records a pending request as stopped (onDeliveryDone's record
// of a stopped delivery).
func (s *System) markStopped(rd resumeData) {
	s.payments.Update(context.Background(), paymentKey(rd.ShopID, rd.PaymentID), func(p *Payment) error {
		if out, _, _ := p.outboundOf(rd.Kind, rd.ID); out != nil && out.State == DeliveryPending {
			out.State = DeliveryStopped
			return nil
		}
		return errUnchanged
	})
}

// resumeQueryDelivery is the resumer of a reconciliation query: its onDone
// applies the answer, as reconcile does after the attempt.
func (s *System) resumeQueryDelivery(ctx context.Context, req delivery.Request) (delivery.Request, delivery.Policy, func(*delivery.Delivery), bool, error) {
	rd, p, shop, app, ok, err := s.resumed(ctx, req)
	if !ok || err != nil || !polled(rd.Kind) {
		return req, delivery.Policy{}, nil, false, err
	}
	full := req
	s.queryHooks(&full, shop, app, rd)
	why := rd.Trigger
	if why == "" {
		why = "resumed"
	}
	onDone := func(d *delivery.Delivery) {
		last, ok := d.Last()
		if !ok {
			return // stopped before it was sent (a reset)
		}
		if _, err := s.applyPoll(context.Background(), p, rd.Kind, rd.ID, why, last.At, last); err != nil {
			s.env.Log.Error("genstore: a resumed reconciliation query's answer was not applied", "kind", rd.Kind, "id", rd.ID, "error", err)
		}
	}
	return full, s.queryPolicy(), onDone, true, nil
}
