package vmgateway

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/pspsim/pspsim/simulator/apierr"
	"github.com/pspsim/pspsim/simulator/delivery"
	"github.com/pspsim/pspsim/simulator/openapi"
	"github.com/pspsim/pspsim/simulator/store"
)

// APIVersion is the webhook API version (the seed's sample).
const APIVersion = "20250703"

// Webhook headers (specs/vmgateway.yaml components/parameters).
const (
	HeaderEventID   = "X-VM-Event-Id"
	HeaderTimestamp = "X-VM-Timestamp"
	HeaderSignature = "X-VM-Signature"
)

// RetrySchedule is the wait before each retry of an unacknowledged webhook:
// 30 s, then 1 to 256 minutes doubling (10 retries, about 8.5 h).
var RetrySchedule = func() []time.Duration {
	out := []time.Duration{30 * time.Second}
	for m := 1; m <= 256; m *= 2 {
		out = append(out, time.Duration(m)*time.Minute)
	}
	return out
}()

// WebhookTimeout is how long one delivery attempt waits for an answer.
const WebhookTimeout = 10 * time.Second

// Sign returns the X-VM-Signature of a delivery: lowercase hex
// HMAC-SHA256, keyed with the secret's bytes, over timestamp + "." + body.
func Sign(secret, timestamp string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(timestamp))
	m.Write([]byte("."))
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// Verify checks a delivery's signature in constant time.
func Verify(secret, timestamp string, body []byte, signature string) bool {
	want := Sign(secret, timestamp, body)
	return hmac.Equal([]byte(want), []byte(signature))
}

// webhookEvent is the spec's WebhookEvent.
type webhookEvent struct {
	EventID    string `json:"eventId"`
	EventType  string `json:"eventType"`
	APIVersion string `json:"apiVersion"`
	CreatedAt  string `json:"createdAt"`
	Data       any    `json:"data"`
}

// createWebhookSubscription subscribes a URL to the merchant's events in the
// token's environment. A second subscription of the same URL replaces the
// first (a new id and secret): that rotates the secret.
func (s *System) createWebhookSubscription(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		APIVersion   string `json:"apiVersion"`
		SignMethod   string `json:"signMethod"`
		SubscribeURL string `json:"subscribeUrl"`
	}
	tok, _, err := s.request(r, &in)
	if err != nil {
		return err
	}
	ctx := r.Context()
	now := s.now()
	sub := Subscription{
		MerchantID: tok.MerchantID, Environment: tok.Environment, APIVersion: in.APIVersion,
		SignMethod: in.SignMethod, SubscribeURL: in.SubscribeURL, Secret: "whsec_" + s.env.IDs.Hex(16), CreatedAt: now,
	}
	// One subscription per URL: a second one replaces the first (a new id
	// and secret). The subscriptionId is claimed as a unique key of the
	// subscription that holds it.
	id := scopeKey(tok.MerchantID, tok.Environment, "subscription", in.SubscribeURL)
	replaced := false
	_, err = store.NewID(func(int) string { return "ws_" + s.env.IDs.Hex(8) }, func(subID string) error {
		sub.SubscriptionID = subID
		key := "id/" + subID
		err := s.subs.Create(ctx, id, sub, key)
		if errors.Is(err, store.ErrIDTaken) { // this URL's subscription: replace it
			if err = s.subs.Claim(ctx, id, key); err == nil {
				_, err = s.subs.Update(ctx, id, func(cur *Subscription) error { *cur = sub; return nil })
				replaced = err == nil
			}
		}
		return store.DrawnKeys(err) // the subscriptionId is another's: draw again
	})
	if err != nil {
		return fmt.Errorf("store subscription: %w", err)
	}
	msg := "webhook subscription created for " + in.SubscribeURL
	if replaced {
		msg = "webhook subscription replaced (new secret) for " + in.SubscribeURL
	}
	s.env.Record(Name, "webhook.subscribed", msg, map[string]string{"subscriptionId": sub.SubscriptionID, "merchant": tok.MerchantID},
		map[string]any{"environment": tok.Environment, "replaced": replaced, "url": in.SubscribeURL})
	WriteJSON(w, http.StatusOK, map[string]any{
		"subscriptionId": sub.SubscriptionID, "apiVersion": sub.APIVersion, "signMethod": sub.SignMethod,
		"subscribeUrl": sub.SubscribeURL, "secret": sub.Secret, "createdAt": ts(sub.CreatedAt),
	})
	return nil
}

// target is one place an event goes, with the key that signs it there.
type target struct {
	url, secret, subscriptionID string
}

// targets looks up where an event about merchant's object goes: the
// merchant's subscriptions in environment, and the app's notificationUrl
// when the payment named one. A store that does not answer is asked again
// (store.Retry): an event must not go unsent because one connection was
// refused; if it still does not answer, the error says so.
func (s *System) targets(ctx context.Context, merchant, environment, appID, notificationURL string) ([]target, error) {
	out, err := s.lookupTargets(ctx, merchant, environment, appID, notificationURL)
	if errors.Is(err, store.ErrUnavailable) {
		err = store.Retry(ctx, func() error {
			out, err = s.lookupTargets(ctx, merchant, environment, appID, notificationURL)
			return err
		})
	}
	return out, err
}

func (s *System) lookupTargets(ctx context.Context, merchant, environment, appID, notificationURL string) ([]target, error) {
	var out []target
	subs, err := s.subs.Find(ctx, "merchant", merchant+"/"+environment, nil)
	if err != nil {
		return nil, fmt.Errorf("webhook subscriptions of %s: %w", merchant, err)
	}
	for _, sub := range subs {
		out = append(out, target{url: sub.SubscribeURL, secret: sub.Secret, subscriptionID: sub.SubscriptionID})
	}
	if notificationURL != "" {
		app, err := s.apps.Get(ctx, appID)
		switch {
		case err == nil:
			out = append(out, target{url: notificationURL, secret: app.secret(environment)})
		case !errors.Is(err, store.ErrNotFound):
			return nil, fmt.Errorf("app %s of a notificationUrl: %w", appID, err)
		}
	}
	return out, nil
}

// unsent says that an event could not be sent: where it goes could not be
// looked up.
func (s *System) unsent(eventType string, ids map[string]string, err error) {
	s.env.Log.Error("vmgateway: an event was not sent", "eventType", eventType, "err", err)
	s.env.Record(Name, "webhook.unsent", eventType+" was not sent: where it goes could not be looked up ("+apierr.Wrap(err).Message+")",
		ids, map[string]any{"eventType": eventType})
}

// publishPayment sends payment.status_changed for p's current status. Most
// payments have no one to notify: the targets are looked up first, so that
// the event's view, ids and closures are built only for those that do.
func (s *System) publishPayment(ctx context.Context, p *Payment) {
	targets, err := s.targets(ctx, p.MerchantID, p.Environment, p.AppID, p.NotificationURL)
	if err != nil {
		s.unsent("payment.status_changed", s.paymentIDs(*p), err)
		return
	}
	if len(targets) > 0 {
		s.publishPaymentTo(ctx, targets, *p)
	}
}

func (s *System) publishPaymentTo(ctx context.Context, targets []target, p Payment) {
	s.publish(ctx, targets, "payment.status_changed", viewPayment(p), paymentOpposite(p), webhookAbout{"payment", p.TradeNo}, p.AppID, p.MerchantID, p.Environment, s.paymentIDs(p), p.NotificationDelay)
}

// paymentOpposite builds the contradicting view of p (a fault's
// "contradicting result"), or false when p's status has none.
func paymentOpposite(p Payment) func() (any, bool) {
	return func() (any, bool) {
		q := p
		switch p.Status {
		case StatusAuthorized, StatusCaptured, StatusPartiallyRefunded, StatusRefunded:
			q.Status, q.Authorized, q.Captured, q.Refunded = StatusFailed, 0, 0, 0
			q.FailureCode, q.FailureMessage = FailDoNotHonor, failureMessages[FailDoNotHonor]
			q.TransactionIdentifier, q.AuthorizationExpiresAt = "", nil
		case StatusFailed, StatusCancelled, StatusExpired:
			q.Status, q.Authorized, q.FailureCode, q.FailureMessage = StatusCaptured, p.Amount, "", ""
			q.Captured = p.Amount
			if p.CaptureMethod == "manual" {
				q.Status, q.Captured = StatusAuthorized, 0
			}
		default:
			return nil, false
		}
		return viewPayment(q), true
	}
}

// publishRefund sends refund.status_changed for rf's current status.
func (s *System) publishRefund(ctx context.Context, rf Refund) {
	targets, err := s.targets(ctx, rf.MerchantID, rf.Environment, rf.AppID, rf.NotificationURL)
	if err != nil {
		s.unsent("refund.status_changed", map[string]string{"refundNumber": rf.RefundNumber, "tradeNo": rf.TradeNo, "merchant": rf.MerchantID}, err)
		return
	}
	if len(targets) > 0 {
		s.publishRefundTo(ctx, targets, rf)
	}
}

func (s *System) publishRefundTo(ctx context.Context, targets []target, rf Refund) {
	ids := map[string]string{"refundNumber": rf.RefundNumber, "tradeNo": rf.TradeNo, "orderNo": rf.OrderNo, "merchant": rf.MerchantID, "appId": rf.AppID}
	s.publish(ctx, targets, "refund.status_changed", viewRefund(rf), refundOpposite(rf), webhookAbout{"refund", rf.RefundID}, rf.AppID, rf.MerchantID, rf.Environment, ids, 0)
}

// refundOpposite builds the contradicting view of rf.
func refundOpposite(rf Refund) func() (any, bool) {
	return func() (any, bool) {
		q := rf
		switch rf.Status {
		case RefundSucceeded:
			q.Status, q.FailureCode, q.FailureMessage = RefundFailed, "REFUND_DECLINED", "the refund was declined"
		case RefundFailed:
			q.Status, q.FailureCode, q.FailureMessage = RefundSucceeded, "", ""
		default:
			return nil, false
		}
		return viewRefund(q), true
	}
}

// webhookAbout names the object an event is about, so that a resumed
// webhook (Request.Resume) can build its contradiction from the object.
type webhookAbout struct{ kind, id string }

// resumeWebhook is the resumer of the gateway's webhooks (Request.Resume).
const resumeWebhook = "vmgateway.webhook"

// webhookResume is a webhook's Request.ResumeData: what its hooks need
// beyond the message. The signing secret is there because Prepare signs
// every attempt afresh; it is stored in the database beside the
// subscription that holds it anyway.
type webhookResume struct {
	Secret         string `json:"secret"`
	SubscriptionID string `json:"subscriptionId,omitempty"`
	EventType      string `json:"eventType"`
	CreatedAt      string `json:"createdAt"`
	AboutKind      string `json:"aboutKind"`
	AboutID        string `json:"aboutId"`
}

// resume rebuilds a stored webhook's hooks (delivery.Resumer): a fresh
// signature on every attempt, the tampering, and the contradiction — built
// from the object as it is now, since the view it was sent with is gone.
func (s *System) resume(ctx context.Context, req delivery.Request) (delivery.Request, delivery.Policy, func(*delivery.Delivery), bool, error) {
	var rd webhookResume
	if err := json.Unmarshal(req.ResumeData, &rd); err != nil {
		return delivery.Request{}, delivery.Policy{}, nil, false, fmt.Errorf("vmgateway: webhook resume data: %w", err)
	}
	t := target{url: req.URL, secret: rd.Secret, subscriptionID: rd.SubscriptionID}
	stamp := req.Header.Get(HeaderTimestamp)
	full := s.webhookRequest(t, req.Header.Get(HeaderEventID), stamp, req.Body, req.IDs, req.Tags)
	opposite := func() (any, bool) {
		switch rd.AboutKind {
		case "payment":
			if p, err := s.payments.Get(context.WithoutCancel(ctx), rd.AboutID); err == nil {
				return paymentOpposite(p)()
			}
		case "refund":
			if rf, err := s.refunds.Get(context.WithoutCancel(ctx), rd.AboutID); err == nil {
				return refundOpposite(rf)()
			}
		}
		return nil, false
	}
	s.hook(&full, t, rd.EventType, rd.CreatedAt, stamp, req.IDs, req.Tags, opposite)
	return full, webhookPolicy, nil, true, nil
}

// webhookPolicy is every webhook's: RetrySchedule, acknowledged by any 2xx.
var webhookPolicy = delivery.Policy{Schedule: RetrySchedule, Timeout: WebhookTimeout, Classify: delivery.Is2xx}

// publish signs an event for every target (s.targets) and hands it to the
// sender: the first attempt now (or after delay, TESTCARDS.md 12), retries
// on RetrySchedule, on the clock, byte-identical.
func (s *System) publish(ctx context.Context, targets []target, eventType string, data any, opposite func() (any, bool), about webhookAbout, appID, merchant, environment string, ids map[string]string, delay time.Duration) {
	now := s.now()
	ev := webhookEvent{EventID: "evt_" + s.env.IDs.Hex(8), EventType: eventType, APIVersion: APIVersion, CreatedAt: ts(now), Data: data}
	body, err := json.Marshal(ev)
	if err != nil {
		s.env.Log.Error("vmgateway: encode webhook event", "err", err)
		return
	}
	stamp := strconv.FormatInt(s.env.Stamps.Now().Unix(), 10)
	tags := map[string]string{openapi.TagApp: appID, openapi.TagMerchant: merchant, openapi.TagEnvironment: environment}
	for _, t := range targets {
		req := s.webhookRequest(t, ev.EventID, stamp, body, ids, tags)
		s.hook(&req, t, eventType, ev.CreatedAt, stamp, ids, tags, opposite)
		req.Resume = resumeWebhook
		req.ResumeData, _ = json.Marshal(webhookResume{Secret: t.secret, SubscriptionID: t.subscriptionID, EventType: eventType,
			CreatedAt: ev.CreatedAt, AboutKind: about.kind, AboutID: about.id})
		if delay > 0 {
			s.env.Record(Name, "webhook.delayed", fmt.Sprintf("%s %s to %s held back %s", eventType, ev.EventID, t.url, delay), req.IDs, map[string]any{"delay": delay.String()})
			// Held back on the clock, pending from now: the payment stays
			// busy (retention keeps it), and a durable store keeps it.
			s.env.Sender.StartAt(now.Add(delay), req, webhookPolicy, nil)
			continue
		}
		if inTimer(ctx) {
			s.env.Sender.Send(req, webhookPolicy, nil)
		} else {
			s.env.Sender.Start(req, webhookPolicy, nil)
		}
	}
}

// hook sets a webhook's fault hooks: the contradiction (the opposite
// result, as a new event signed like a genuine one) and the tampering.
func (s *System) hook(req *delivery.Request, t target, eventType, createdAt, stamp string, ids, tags map[string]string, opposite func() (any, bool)) {
	req.Contradict = func() (delivery.Request, bool) {
		data, ok := opposite()
		if !ok {
			return delivery.Request{}, false
		}
		x := webhookEvent{EventID: "evt_" + s.env.IDs.Hex(8), EventType: eventType, APIVersion: APIVersion, CreatedAt: createdAt, Data: data}
		b, err := json.Marshal(x)
		if err != nil {
			return delivery.Request{}, false
		}
		return s.webhookRequest(t, x.EventID, stamp, b, ids, tags), true
	}
	req.Tamper = tamper
}

func (s *System) webhookRequest(t target, eventID, stamp string, body []byte, ids map[string]string, tags map[string]string) delivery.Request {
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set("User-Agent", "pspsim-vmgateway-webhooks/"+APIVersion)
	h.Set(HeaderEventID, eventID)
	h.Set(HeaderTimestamp, stamp)
	h.Set(HeaderSignature, Sign(t.secret, stamp, body))
	jids := map[string]string{"eventId": eventID}
	for k, v := range ids {
		jids[k] = v
	}
	if t.subscriptionID != "" {
		jids["subscriptionId"] = t.subscriptionID
	}
	return delivery.Request{System: Name, Kind: "webhook", URL: t.url, Header: h, Body: body, IDs: jids, Tags: tags,
		// Every attempt is signed with a fresh timestamp over the same body,
		// so a receiver that refuses stale events accepts a late retry.
		Prepare: func(r *delivery.Request, _ int) {
			stamp := strconv.FormatInt(s.env.Stamps.Now().Unix(), 10)
			r.Header.Set(HeaderTimestamp, stamp)
			r.Header.Set(HeaderSignature, Sign(t.secret, stamp, body))
		},
	}
}

// tamper returns a copy of a delivery whose signature no longer verifies.
func tamper(r delivery.Request) delivery.Request {
	c := r
	c.Header = r.Header.Clone()
	sig := []byte(c.Header.Get(HeaderSignature))
	for i := range sig {
		if sig[i] == '0' {
			sig[i] = '1'
		} else {
			sig[i] = '0'
		}
	}
	c.Header.Set(HeaderSignature, string(sig))
	return c
}
