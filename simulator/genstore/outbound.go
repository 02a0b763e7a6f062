package genstore

import (
	"context"
	"crypto/hmac"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/pspsim/pspsim/simulator/apierr"
	"github.com/pspsim/pspsim/simulator/delivery"
	"github.com/pspsim/pspsim/simulator/openapi"
	"github.com/pspsim/pspsim/simulator/pan"
)

// classify judges one attempt of a request to an app (CONTRACT.md §2): a 2xx
// is received; a 5xx, 408, 429, no answer in time or a broken connection is
// retried; anything else (another 4xx, or a redirect) is final.
func classify(resp *delivery.Response, err error) delivery.Outcome {
	if err != nil || resp == nil {
		return delivery.Retry
	}
	switch {
	case resp.Status >= 200 && resp.Status < 300:
		return delivery.Delivered
	case resp.Status >= 500, resp.Status == http.StatusRequestTimeout, resp.Status == http.StatusTooManyRequests:
		return delivery.Retry
	}
	return delivery.Final
}

// outboundOf returns where a payment or operation keeps its delivery
// summary and acknowledgement, and whether it has a final result.
func (p *Payment) outboundOf(kind, id string) (*Outbound, **Ack, bool) {
	if kind == KindPayment {
		return &p.Request, &p.Ack, p.Result != nil
	}
	if op := p.op(kind, id); op != nil {
		return &op.Request, &op.Ack, op.Result != nil
	}
	return nil, nil, false
}

// prepareRequest builds one request to an app, with the kind's retry
// schedule, and prepares its delivery (delivery.Sender.Prepare): with a
// durable store its row is written now, before the payment or operation it
// is about is stored, so that a crash between the two never leaves an
// operation waiting for a request nobody will send. Every attempt is signed
// afresh (timestamp and hmac); the body is byte-identical. The request is
// resumable (resumeRequestDelivery): what it needs beyond its data is
// rebuilt from the store. Discard it if the operation is not stored;
// deliver it once it is.
func (s *System) prepareRequest(p Payment, shop Shop, app App, kind, id, rawURL string, body []byte) *delivery.Delivery {
	header := http.Header{"Content-Type": {"application/json"}, "User-Agent": {"pspsim-genstore"}}
	if *s.settings.BodyHMACHeader {
		header.Set("X-Genstore-Hmac-Sha256", BodyHMAC(app.ClientSecret, body))
	}
	if *s.settings.IdempotencyKeyHeader {
		header.Set("Idempotency-Key", id)
	}
	first, err := signURL(rawURL, app.ClientSecret, shop, s.env.Stamps.Now())
	if err != nil {
		first = rawURL
	}
	rd := resumeData{Kind: kind, ShopID: p.ShopID, PaymentID: p.PaymentID, ID: id, URL: rawURL}
	data, _ := json.Marshal(rd) // strings only: it cannot fail
	req := delivery.Request{
		System: Name, Kind: kind, Method: http.MethodPost, URL: first, Header: header, Body: body, IDs: p.ids(kind, id),
		Tags:   map[string]string{openapi.TagShop: shop.ShopID, openapi.TagApp: app.ClientID, openapi.TagEnvironment: shop.Environment()},
		Resume: resumeRequest, ResumeData: data,
	}
	s.requestHooks(&req, shop, app, rd)
	return s.env.Sender.Prepare(req, s.requestPolicy(rd), s.requestDone(rd))
}

// deliver sends a prepared request (prepareRequest) about a stored payment
// or operation: the first attempt runs now, in the caller's goroutine (so
// an admin action answers with the acknowledgement); later attempts run on
// the clock.
func (s *System) deliver(p Payment, shopID, kind, id, rawURL string, d *delivery.Delivery) {
	req := d.Request()
	schedule := s.requestSchedule(kind)
	s.record(kind+".request", fmt.Sprintf("%s %s → %s (%d bytes, %d attempts at most)", kind, id, rawURL, len(req.Body), len(schedule)+1), req.IDs,
		map[string]any{"url": rawURL, "idempotencyKey": id, "bytes": len(req.Body), "schedule": durationsText(schedule)})
	key := opKey(kind, shopID, id)
	d.Go()
	s.live.track(key, d)
	// A callback that came during the first attempt found no delivery to
	// stop; look again now that it is tracked.
	if cur, err := s.payments.Get(context.Background(), paymentKey(p.ShopID, p.PaymentID)); err == nil {
		if _, _, final := cur.outboundOf(kind, id); final {
			s.live.stopDelivery(key)
		}
	}
}

// requestHooks sets what a request to an app needs beyond its data: each
// attempt signs the app's URL afresh (Prepare), a tamper fault breaks the
// hmac, and every answer is judged (Answered).
func (s *System) requestHooks(req *delivery.Request, shop Shop, app App, rd resumeData) {
	ids := req.IDs
	req.Prepare = func(r *delivery.Request, _ int) {
		if u, err := signURL(rd.URL, app.ClientSecret, shop, s.env.Stamps.Now()); err == nil {
			r.URL = u
		}
	}
	req.Tamper = func(r delivery.Request) delivery.Request {
		r.URL = tamperURL(r.URL)
		return r
	}
	req.Answered = func(r *delivery.Request, resp *delivery.Response, err error) {
		s.judgeAnswer(ids, rd.Kind, rd.ID, app.ClientSecret, r, resp, err)
	}
}

// requestPolicy is the retry schedule and judgement of a request to an app:
// each attempt's outcome is recorded on the payment (onAttempt).
func (s *System) requestPolicy(rd resumeData) delivery.Policy {
	return delivery.Policy{
		Schedule: s.requestSchedule(rd.Kind),
		Timeout:  s.settings.RequestTimeout.Std(),
		Classify: func(resp *delivery.Response, err error) delivery.Outcome {
			o := classify(resp, err)
			s.onAttempt(rd.ShopID, rd.PaymentID, rd.Kind, rd.ID, o, resp, err)
			return o
		},
	}
}

// requestSchedule is the retry schedule of a kind of request to an app.
func (s *System) requestSchedule(kind string) []time.Duration {
	if kind == KindPayment {
		return s.settings.paymentSchedule()
	}
	return s.settings.operationSchedule()
}

// requestDone is a request's onDone.
func (s *System) requestDone(rd resumeData) func(*delivery.Delivery) {
	return func(d *delivery.Delivery) { s.onDeliveryDone(rd.ShopID, rd.PaymentID, rd.Kind, rd.ID, d) }
}

func durationsText(ds []time.Duration) []string {
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = d.String()
	}
	return out
}

// onAttempt records one attempt's outcome on the payment: the delivery
// summary, the acknowledgement of a 2xx (the first one counts), and the
// failure of the operation on a final answer.
func (s *System) onAttempt(shopID, paymentID, kind, id string, o delivery.Outcome, resp *delivery.Response, err error) {
	ctx := context.Background()
	now := s.env.Clock.Now()
	var ack *Ack
	firstAck := false
	p, uerr := s.payments.Update(ctx, paymentKey(shopID, paymentID), func(p *Payment) error {
		out, ackp, _ := p.outboundOf(kind, id)
		if out == nil {
			return errUnchanged
		}
		out.Attempts++
		if out.FirstAttemptAt == nil {
			out.FirstAttemptAt = &now
		}
		out.LastAttemptAt = &now
		out.LastStatus, out.LastError = 0, ""
		if err != nil {
			out.LastError = err.Error()
		} else if resp != nil {
			out.LastStatus = resp.Status
		}
		switch o {
		case delivery.Delivered:
			out.State = DeliveryDelivered
			a := parseAck(kind, resp, now)
			ack = &a
			if *ackp == nil {
				*ackp = &a
				firstAck = true
			}
		case delivery.Final:
			out.State = DeliveryFailed
		}
		return nil
	})
	if uerr != nil {
		return
	}
	ids := p.ids(kind, id)
	switch o {
	case delivery.Delivered:
		data := map[string]any{channelIDName(kind): ack.ChannelID, "error": ack.Error}
		msg := fmt.Sprintf("%s %s acknowledged by the app", kind, id)
		if ack.ChannelID != "" {
			msg += fmt.Sprintf(" (%s %s)", channelIDName(kind), ack.ChannelID)
		}
		if ack.RedirectURL != "" {
			data["redirectUrl"] = ack.RedirectURL
			msg += "; the buyer is to go to " + ack.RedirectURL
		}
		if ack.Error != "" {
			msg += "; message for the merchant: " + ack.Error
		}
		if ack.Malformed != "" {
			data["malformed"] = ack.Malformed
			msg += "; the answer is not the acknowledgement JSON: " + ack.Malformed
		}
		if !firstAck {
			data["duplicate"] = true
			msg += " (again: the first acknowledgement stands)"
		}
		s.record(kind+".acknowledged", msg, ids, data)
		// Reconciliation and expiry wait for a result; one that came
		// during the attempt (a synchronous callback) needs neither.
		if _, _, final := p.outboundOf(kind, id); firstAck && !final {
			s.followUp(p, kind, id)
		}
	case delivery.Final:
		status := 0
		var text string
		if resp != nil {
			status = resp.Status
			text = appError(resp.Body)
		}
		reason := fmt.Sprintf("the app refused the %s request with HTTP %d", kind, status)
		if text != "" {
			reason += ": " + text
		}
		// The delivery ends by itself with this final answer: forget it
		// rather than stop it, so the journal says it failed.
		s.live.untrack(opKey(kind, p.ShopID, id))
		s.fail(p, kind, id, reason, SourceDelivery)
	}
}

// judgeAnswer journals what is wrong with one answer an app gave to one
// delivery of a request — every copy of a duplicated delivery included,
// whose answers onAttempt never sees (CONTRACT.md §2.4, §2.5):
//
//   - answer.malformed: a 2xx whose body is not the acknowledgement JSON;
//   - answer.final: another 4xx or a 3xx — which Genstore takes as final —
//     to a request whose signature verifies (a 401 to a forged one is right).
//
// A 5xx, 408, 429 or no answer is Genstore's to retry: nothing to say. The
// attempt Genstore judges is still judged by onAttempt; these events are what
// the conformance suite reads to judge every answer alike.
func (s *System) judgeAnswer(ids map[string]string, kind, id, secret string, r *delivery.Request, resp *delivery.Response, err error) {
	if err != nil || resp == nil {
		return
	}
	where := stripSignature(r.URL)
	switch o := classify(resp, nil); {
	case o == delivery.Delivered:
		if a := parseAck(kind, resp, s.env.Clock.Now()); a.Malformed != "" {
			s.record("answer.malformed", fmt.Sprintf("%s %s: the app answered a delivery %d with a body that is not the acknowledgement JSON: %s", kind, id, resp.Status, a.Malformed), ids,
				map[string]any{"requestKind": kind, "status": resp.Status, "malformed": a.Malformed, "url": where})
		}
	case o == delivery.Final && signedByGenstore(r.URL, secret):
		msg := appError(resp.Body)
		s.record("answer.final", fmt.Sprintf("%s %s: the app answered a delivery whose signature verifies with HTTP %d, which is final: %s", kind, id, resp.Status, msg), ids,
			map[string]any{"requestKind": kind, "status": resp.Status, "error": msg, "url": where})
	}
}

// signedByGenstore reports whether a request URL's hmac verifies (the fault
// engine may have tampered it); its timestamp is Genstore's own.
func signedByGenstore(raw, secret string) bool {
	u, err := url.Parse(raw)
	if err != nil {
		return false
	}
	q := u.Query()
	return hmac.Equal([]byte(q.Get("hmac")), []byte(QueryHMAC(secret, q)))
}

// stripSignature drops the query (shop, timestamp, hmac) of a URL for the journal.
func stripSignature(raw string) string {
	if i := strings.IndexByte(raw, '?'); i >= 0 {
		return raw[:i]
	}
	return raw
}

// onDeliveryDone handles a delivery that ran out of attempts.
func (s *System) onDeliveryDone(shopID, paymentID, kind, id string, d *delivery.Delivery) {
	last, ok := d.Last()
	switch {
	case d.State() == delivery.Failed && ok && last.Outcome == delivery.Retry.String():
		p, err := s.payments.Update(context.Background(), paymentKey(shopID, paymentID), func(p *Payment) error {
			if out, _, _ := p.outboundOf(kind, id); out != nil {
				out.State = DeliveryFailed
			}
			return nil
		})
		if err != nil {
			return
		}
		what := last.Error
		if what == "" {
			what = fmt.Sprintf("HTTP %d", last.Status)
		}
		s.fail(p, kind, id, fmt.Sprintf("no acknowledgement from the app after %d attempts (last: %s)", last.N, what), SourceDelivery)
	case d.State() == delivery.Stopped:
		// Stopped by its operation's final result. A request stopped
		// before that was stopped by the process closing: with a durable
		// store it stays pending, for the restart (or another replica) to
		// resume (resumeRequestDelivery).
		s.payments.Update(context.Background(), paymentKey(shopID, paymentID), func(p *Payment) error {
			if out, _, final := p.outboundOf(kind, id); out != nil && out.State == DeliveryPending && final {
				out.State = DeliveryStopped
				return nil
			}
			return errUnchanged
		})
	}
}

// fail records Genstore's own final failure of an operation (a final 4xx, no
// acknowledgement, expiry) unless a final result is already there.
func (s *System) fail(p Payment, kind, id, reason, source string) {
	res := Result{Result: false, Reason: reason, At: s.env.Clock.Now(), Source: source}
	st, err := s.settle(context.Background(), p.ShopID, p.PaymentID, kind, id, res, nil)
	var ae *apierr.Error
	switch {
	case errors.As(err, &ae) && ae.Kind == apierr.Conflict:
		// A final result came first (a callback during the last attempt): it stands.
		s.record(kind+".failure_ignored", fmt.Sprintf("%s %s: not failed (%s): a final result is already recorded", kind, id, reason), p.ids(kind, id), map[string]any{"reason": reason})
	case err != nil:
		s.record(kind+".failure_ignored", fmt.Sprintf("%s %s: could not record the failure: %v", kind, id, err), p.ids(kind, id), nil)
	case st.Repeat:
	default:
		s.afterSettle(kind, id, st, res)
	}
}

// parseAck reads an app's 200 body: {"channel<X>Id", "error"} and, for a
// payment, "redirectUrl". A body that is not that JSON still counts as
// received; what is wrong with it is kept for the merchant and the journal.
func parseAck(kind string, resp *delivery.Response, now time.Time) Ack {
	a := Ack{At: now}
	if resp == nil {
		return a
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(resp.Body, &m); err != nil || m == nil {
		a.Malformed = "the body is not a JSON object"
		return a
	}
	var bad []string
	str := func(field string) string {
		raw, ok := m[field]
		if !ok {
			return ""
		}
		var v string
		if err := json.Unmarshal(raw, &v); err != nil {
			bad = append(bad, field+" is not a string")
		}
		return v
	}
	a.ChannelID = str(channelIDName(kind))
	// What an app writes is shown to the merchant and journaled: a card
	// number an app leaks into it is kept masked (the canary registry has
	// already seen the raw bytes).
	a.Error = pan.Scrub(str("error"))
	if kind == KindPayment {
		a.RedirectURL = str("redirectUrl")
		if a.RedirectURL != "" && checkURL(strings.SplitN(a.RedirectURL, "?", 2)[0]) != nil {
			bad = append(bad, "redirectUrl is not an absolute http(s) URL")
			a.RedirectURL = ""
		}
	}
	if _, ok := m[channelIDName(kind)]; !ok {
		bad = append(bad, channelIDName(kind)+" is missing")
	}
	if _, ok := m["error"]; !ok {
		bad = append(bad, "error is missing")
	}
	a.Malformed = strings.Join(bad, "; ")
	return a
}

// appError extracts a message from an app's error answer ({"error": "..."}),
// or a clipped text body.
func appError(body []byte) string {
	var m struct {
		Error string `json:"error"`
	}
	if json.Unmarshal(body, &m) == nil && m.Error != "" {
		return clip(pan.Scrub(m.Error), 200)
	}
	return clip(pan.Scrub(strings.TrimSpace(string(body))), 200)
}

func clip(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
