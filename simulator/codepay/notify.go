package codepay

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/pspsim/pspsim/simulator/delivery"
	"github.com/pspsim/pspsim/simulator/openapi"
)

// NotificationSchedule is the wait before each retry of a notification the
// merchant did not acknowledge: 5 s, 10 s, 15 s, 30 s, 60 s, 3 min, 10 min,
// 15 min, 30 min ×3, 3 h ×3 (14 retries after the first attempt).
var NotificationSchedule = []time.Duration{
	5 * time.Second, 10 * time.Second, 15 * time.Second, 30 * time.Second, 60 * time.Second,
	3 * time.Minute, 10 * time.Minute, 15 * time.Minute,
	30 * time.Minute, 30 * time.Minute, 30 * time.Minute,
	3 * time.Hour, 3 * time.Hour, 3 * time.Hour,
}

// acknowledged delivers only on HTTP 200 with the body `success`
// (surrounding whitespace ignored); anything else is retried.
func acknowledged(resp *delivery.Response, err error) delivery.Outcome {
	if err == nil && resp.Status == http.StatusOK && strings.TrimSpace(string(resp.Body)) == "success" {
		return delivery.Delivered
	}
	return delivery.Retry
}

// notificationBody builds the signed notification of a transaction at a
// status (normally its own; the opposite one for a contradiction).
func (s *System) notificationBody(t *Txn, status Status) ([]byte, error) {
	f := orderFields(t)
	f["trans_status"] = int(status)
	f["app_id"] = t.AppID
	f["merchant_no"] = t.MerchantNo
	f["format"] = "JSON"
	f["charset"] = "UTF-8"
	f["sign_type"] = "RSA2"
	f["version"] = "1.0"
	f["timestamp"] = strconv.FormatInt(s.env.Stamps.Now().UnixMilli(), 10)
	raw := map[string]json.RawMessage{}
	for k, v := range f {
		b, err := marshal(v)
		if err != nil {
			return nil, fmt.Errorf("notification %s: %w", k, err)
		}
		raw[k] = b
	}
	text, err := stringToSign(raw)
	if err != nil {
		return nil, err
	}
	sign, err := SignString(s.key(), text)
	if err != nil {
		return nil, err
	}
	raw["sign"], _ = marshal(sign)
	return marshal(raw)
}

// opposite is the contradicting final status a fault may send instead.
func opposite(st Status) Status {
	if st == StatusSuccess {
		return StatusFailed
	}
	return StatusSuccess
}

// resumeNotification is the resumer of CodePay's notifications
// (delivery.Request.Resume).
const resumeNotification = "codepay.notification"

// notificationPolicy is every notification's: NotificationSchedule,
// acknowledged by `success`.
var notificationPolicy = delivery.Policy{Schedule: NotificationSchedule, Timeout: 10 * time.Second, Classify: acknowledged}

// ResumeNotifications registers the resumer of stored notifications, so
// that a durable store's pending notifications resume after a restart or
// on another replica. The simulator calls it when it builds the system.
func (s *System) ResumeNotifications() {
	s.env.Sender.OnResume(resumeNotification, s.resumeNotification)
}

// resumeNotification rebuilds a stored notification's hooks: the
// contradiction (the transaction's opposite status, signed) and the
// tampering. The message itself is sent as stored.
func (s *System) resumeNotification(ctx context.Context, req delivery.Request) (delivery.Request, delivery.Policy, func(*delivery.Delivery), bool, error) {
	full := req
	t, err := s.txns.Get(context.WithoutCancel(ctx), req.IDs["trans_no"])
	switch {
	case err == nil:
		s.notificationHooks(&full, t)
	case isNotFound(err):
		full.Tamper = tamperSign
	default:
		// The store did not answer now: the contradiction (only a fault
		// asks for it) looks the transaction up when it is asked for.
		s.notificationHooks(&full, Txn{})
		full.Contradict = func() (delivery.Request, bool) {
			t, err := s.txns.Get(context.Background(), req.IDs["trans_no"])
			if err != nil {
				return delivery.Request{}, false
			}
			h := req
			s.notificationHooks(&h, t)
			return h.Contradict()
		}
	}
	return full, notificationPolicy, nil, true, nil
}

// notificationHooks sets a notification's fault hooks.
func (s *System) notificationHooks(req *delivery.Request, t Txn) {
	r := *req
	req.Contradict = func() (delivery.Request, bool) {
		b, err := s.notificationBody(&t, opposite(t.Status))
		if err != nil {
			return delivery.Request{}, false
		}
		c := r
		c.Body, c.Contradict, c.Tamper, c.Resume, c.ResumeData = b, nil, nil, "", nil
		return c, true
	}
	req.Tamper = tamperSign
}

// sendNotification posts a transaction's final status to its notify_url,
// signed with the gateway's key, retried on the schedule until the merchant
// answers `success`. inTimer sends the first attempt in the caller's
// goroutine (a clock timer); otherwise in a new one. A notification held
// back (a test card's NotifyDelay) is pending from now, its first attempt
// due after the delay; it is signed now, as every retry of a notification
// carries the body (and timestamp) of its first attempt.
func (s *System) sendNotification(t Txn, inTimer bool) {
	body, err := s.notificationBody(&t, t.Status)
	if err != nil {
		s.record("notification.failed", fmt.Sprintf("notification of %s could not be built: %v", t.MerchantOrderNo, err), &t, nil)
		return
	}
	req := delivery.Request{
		System: Name, Kind: "notification", URL: t.NotifyURL, Body: body,
		Header: http.Header{"Content-Type": {"application/json;charset=UTF-8"}, "User-Agent": {"pspsim-codepay/1.0"}},
		IDs:    map[string]string{"trans_no": t.TransNo, "merchant_order_no": t.MerchantOrderNo, "merchant_no": t.MerchantNo},
		Tags:   map[string]string{openapi.TagApp: t.AppID, openapi.TagMerchant: t.MerchantNo, openapi.TagEnvironment: t.Environment},
		Resume: resumeNotification,
	}
	if t.TerminalSN != "" {
		req.IDs["terminal_sn"] = t.TerminalSN
		req.Tags[openapi.TagTerminal] = t.TerminalSN
	}
	if t.StoreNo != "" {
		req.Tags[openapi.TagStore] = t.StoreNo
	}
	s.notificationHooks(&req, t)
	if t.NotifyDelay > 0 {
		s.record("notification.delayed", fmt.Sprintf("notification of %s held back %s (test card)", t.MerchantOrderNo, t.NotifyDelay), &t, nil)
	}
	s.record("notification.queued", fmt.Sprintf("notification of %s (trans_status %d) to %s", t.MerchantOrderNo, t.Status, t.NotifyURL), &t,
		map[string]any{"url": t.NotifyURL, "trans_status": int(t.Status)})
	switch {
	case t.NotifyDelay > 0:
		// Held back on the clock, pending from now: the transaction stays
		// busy (retention keeps it), and a durable store keeps it.
		s.env.Sender.StartAt(s.env.Clock.Now().Add(t.NotifyDelay), req, notificationPolicy, nil)
	case inTimer:
		s.env.Sender.Send(req, notificationPolicy, nil)
	default:
		s.env.Sender.Start(req, notificationPolicy, nil)
	}
}

// tamperSign returns a copy of a notification whose signature no longer
// verifies: one bit of the signature flipped, still valid base64.
func tamperSign(r delivery.Request) delivery.Request {
	var f map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(r.Body))
	dec.UseNumber()
	if dec.Decode(&f) != nil {
		return r
	}
	var sign string
	json.Unmarshal(f["sign"], &sign)
	sig, err := base64.StdEncoding.DecodeString(sign)
	if err != nil || len(sig) == 0 {
		return r
	}
	sig[len(sig)/2] ^= 0x01
	f["sign"], _ = marshal(base64.StdEncoding.EncodeToString(sig))
	out := r
	out.Body, _ = marshal(f)
	out.Header = r.Header.Clone()
	return out
}

// VerifyNotification checks a notification the way a merchant must: its
// signature with the gateway's public key.
func (s *System) VerifyNotification(body []byte) error {
	return Verify(s.GatewayPublicKey(), body)
}
