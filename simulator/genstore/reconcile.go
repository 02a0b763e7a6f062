package genstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/pspsim/pspsim/simulator/apierr"
	"github.com/pspsim/pspsim/simulator/delivery"
	"github.com/pspsim/pspsim/simulator/openapi"
	"github.com/pspsim/pspsim/simulator/pan"
	"github.com/pspsim/pspsim/simulator/store"
)

// Query statuses an app's query endpoints answer (CONTRACT.md §2).
const (
	QueryProcessing = "PROCESSING"
	QuerySuccess    = "SUCCESS"
	QueryFailure    = "FAILURE"
)

// followUp schedules what follows an acknowledgement (CONTRACT.md §2, §4):
// for a payment or a refund, a poll of the app's query endpoint at each
// reconciliation offset (5m, 30m, 2h, 24h) unless a final result came
// before; for a payment, its expiry (24h), which runs after a poll due at
// the same moment. Captures and voids have no query endpoint to poll.
func (s *System) followUp(p Payment, kind, id string) {
	ctx := context.Background()
	o := opJob{ShopID: p.ShopID, PaymentID: p.PaymentID, ID: id}
	if polled(kind) {
		for i, d := range s.settings.Reconciliation {
			o.Poll = i + 1
			s.later(ctx, pollKind(kind), jobKey(p.ShopID, id, strconv.Itoa(o.Poll)), d.Std(), o)
		}
		o.Poll = 0
	}
	if kind == KindPayment {
		s.later(ctx, expireKind, jobKey(p.ShopID, id, ""), s.settings.PaymentExpiry.Std(), o)
	}
}

// errFinal skips a scheduled poll: the final result already came.
var errFinal = errors.New("genstore: the operation already has its final result")

// reconcile asks the app's query endpoint about a payment or refund and
// applies a final answer as the callback would have been applied. why says
// what triggered it ("scheduled poll 1 of 4", "admin"); a scheduled poll of
// an operation that already has its result does nothing (errFinal).
func (s *System) reconcile(ctx context.Context, shopID, paymentID, kind, id, why string) (Poll, error) {
	p, err := s.payments.Get(ctx, paymentKey(shopID, paymentID))
	if err != nil {
		return Poll{}, err
	}
	out, _, final := p.outboundOf(kind, id)
	if out == nil {
		// A job naming an operation the payment does not have (another
		// version's, or a stale one): nothing to ask about.
		return Poll{}, fmt.Errorf("%s %s of payment %s: %w", kind, id, paymentID, store.ErrNotFound)
	}
	if final && why != "admin" {
		return Poll{}, errFinal
	}
	app, err := s.apps.Get(ctx, p.ClientID)
	if err != nil {
		return Poll{}, fmt.Errorf("app %s: %w", p.ClientID, err)
	}
	shop, err := s.shops.Get(ctx, p.ShopID)
	if err != nil {
		return Poll{}, fmt.Errorf("shop %s: %w", p.ShopID, err)
	}
	now := s.env.Clock.Now()
	poll := Poll{At: now}
	queryURL := app.Endpoints.PaymentQueryURL
	if kind == KindRefund {
		queryURL = app.Endpoints.RefundQueryURL
	}
	ids := p.ids(kind, id)
	if queryURL == "" {
		poll.Error = fmt.Sprintf("the app registered no %sQueryUrl", kind)
		s.record(kind+".reconciliation", fmt.Sprintf("%s %s: %s, not polled (%s)", kind, id, poll.Error, why), ids, map[string]any{"trigger": why})
		return poll, s.savePoll(ctx, p, kind, id, poll)
	}
	req := delivery.Request{
		System: Name, Kind: kind + "_query", Method: http.MethodGet,
		Header: http.Header{"User-Agent": {"pspsim-genstore"}, "Accept": {"application/json"}}, IDs: ids,
		Tags:   map[string]string{openapi.TagShop: shop.ShopID, openapi.TagApp: app.ClientID, openapi.TagEnvironment: shop.Environment()},
		Resume: resumeQuery,
	}
	rd := resumeData{Kind: kind, ShopID: p.ShopID, PaymentID: p.PaymentID, ID: id, URL: queryURL, Trigger: why}
	if req.ResumeData, err = json.Marshal(rd); err != nil {
		return Poll{}, fmt.Errorf("%s %s: query: %w", kind, id, err)
	}
	if req.URL, err = signURL(queryURL, app.ClientSecret, shop, s.env.Stamps.Now(), idName(kind), id); err != nil {
		return Poll{}, err
	}
	s.queryHooks(&req, shop, app, rd)
	// One attempt: the next poll is the retry. Its answer is applied here,
	// where the admin action waits for it; a query resumed after a restart
	// applies it in its onDone instead (resumeQueryDelivery).
	d := s.env.Sender.Send(req, s.queryPolicy(), nil)
	last, _ := d.Last()
	return s.applyPoll(ctx, p, kind, id, why, now, last)
}

// queryHooks sets what a reconciliation query needs beyond its data: each
// attempt signs the app's query URL afresh; a tamper fault breaks the hmac.
func (s *System) queryHooks(req *delivery.Request, shop Shop, app App, rd resumeData) {
	req.Prepare = func(r *delivery.Request, _ int) {
		if u, err := signURL(rd.URL, app.ClientSecret, shop, s.env.Stamps.Now(), idName(rd.Kind), rd.ID); err == nil {
			r.URL = u
		}
	}
	req.Tamper = func(r delivery.Request) delivery.Request { r.URL = tamperURL(r.URL); return r }
}

// queryPolicy is a reconciliation query's: one attempt, a 2xx answers.
func (s *System) queryPolicy() delivery.Policy {
	return delivery.Policy{Timeout: s.settings.RequestTimeout.Std(), Classify: func(resp *delivery.Response, err error) delivery.Outcome {
		if err == nil && resp != nil && resp.Status/100 == 2 {
			return delivery.Delivered
		}
		return delivery.Final
	}}
}

// applyPoll reads a query's answer (the attempt last) and applies a final
// one as the callback would have been applied, then journals and keeps the
// poll on the payment or operation.
func (s *System) applyPoll(ctx context.Context, p Payment, kind, id, why string, at time.Time, last delivery.Attempt) (Poll, error) {
	poll := Poll{At: at}
	ids := p.ids(kind, id)
	channelID := parseQueryAnswer(kind, last, &poll)
	if poll.Status == QuerySuccess || poll.Status == QueryFailure {
		res := Result{Result: poll.Status == QuerySuccess, ChannelID: channelID, At: at, Source: SourceReconciliation}
		if !res.Result {
			res.Reason = poll.Error
			if res.Reason == "" {
				res.Reason = "the app's query endpoint reports FAILURE"
			}
		}
		st, err := s.settle(ctx, p.ShopID, p.PaymentID, kind, id, res, nil)
		var ae *apierr.Error
		switch {
		case errors.As(err, &ae):
			// The app's query contradicts the recorded final result: the
			// first result stands; the contradiction is what the journal is for.
			poll.Error = "contradicts the recorded result: " + ae.Message
			s.record(kind+".reconciliation_mismatch", fmt.Sprintf("%s %s: the app's query answers %s, which %s", kind, id, poll.Status, poll.Error), ids,
				map[string]any{"status": poll.Status, "trigger": why})
		case err != nil:
			return poll, err
		default:
			poll.Applied = !st.Repeat
			if poll.Applied || st.Filled {
				s.afterSettle(kind, id, st, res)
			}
		}
	}
	s.record(kind+".reconciliation", fmt.Sprintf("%s %s polled (%s): %s", kind, id, why, describePoll(poll)), ids,
		map[string]any{"trigger": why, "status": poll.Status, "http": poll.HTTP, "error": poll.Error, "applied": poll.Applied, channelIDName(kind): channelID})
	return poll, s.savePoll(ctx, p, kind, id, poll)
}

func describePoll(p Poll) string {
	switch {
	case p.Status != "" && p.Applied:
		return p.Status + ", applied"
	case p.Status != "" && p.Error != "":
		return p.Status + ", " + p.Error
	case p.Status != "":
		return p.Status
	}
	return p.Error
}

// parseQueryAnswer fills poll from the query's answer and returns the
// reported channel id.
func parseQueryAnswer(kind string, a delivery.Attempt, poll *Poll) string {
	poll.HTTP = a.Status
	if a.Error != "" || a.Response == nil {
		poll.Error = a.Error
		if poll.Error == "" {
			poll.Error = "no answer"
		}
		return ""
	}
	if a.Response.Status/100 != 2 {
		poll.Error = fmt.Sprintf("HTTP %d", a.Response.Status)
		if t := appError(a.Response.Body); t != "" {
			poll.Error += ": " + t
		}
		return ""
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(a.Response.Body, &m); err != nil || m == nil {
		poll.Error = "the answer is not a JSON object"
		return ""
	}
	var status, channelID, msg string
	if json.Unmarshal(m["status"], &status) != nil {
		poll.Error = "status: missing or not a string"
		return ""
	}
	json.Unmarshal(m[channelIDName(kind)], &channelID)
	json.Unmarshal(m["error"], &msg)
	switch status {
	case QueryProcessing, QuerySuccess, QueryFailure:
		poll.Status = status
		poll.ChannelID = channelID
		poll.Error = clip(pan.Scrub(msg), 200)
	default:
		poll.Error = fmt.Sprintf("status: %q is not PROCESSING, SUCCESS or FAILURE", clip(status, 40))
	}
	return channelID
}

// savePoll appends a poll to the payment or operation it was about.
func (s *System) savePoll(ctx context.Context, p Payment, kind, id string, poll Poll) error {
	_, err := s.payments.Update(ctx, paymentKey(p.ShopID, p.PaymentID), func(p *Payment) error {
		if kind == KindPayment {
			p.Reconciliation = append(p.Reconciliation, poll)
			return nil
		}
		if op := p.op(kind, id); op != nil {
			op.Reconciliation = append(op.Reconciliation, poll)
			return nil
		}
		return errUnchanged
	})
	if errors.Is(err, errUnchanged) {
		return nil
	}
	return err
}

// expire fails an acknowledged payment that has no final result when its
// expiry falls due (CONTRACT.md §4: 24h).
func (s *System) expire(ctx context.Context, shopID, paymentID string) {
	reason := fmt.Sprintf("expired: no final result within %s of the acknowledgement", s.settings.PaymentExpiry.Std())
	res := Result{Result: false, Reason: reason, At: s.env.Clock.Now(), Source: SourceExpiry}
	st, err := s.settle(ctx, shopID, paymentID, KindPayment, paymentID, res, func(p *Payment) *apierr.Error {
		if p.Result == nil {
			p.Expired = true
		}
		return nil
	})
	if err != nil || st.Repeat {
		return // a final result came first
	}
	s.record("payment.expired", fmt.Sprintf("payment %s %s", paymentID, reason), st.Payment.ids(KindPayment, paymentID), map[string]any{"after": s.settings.PaymentExpiry.Std().String()})
	s.afterSettle(KindPayment, paymentID, st, res)
}

// scheduleDeadline journals a final result that is late (CONTRACT.md §4: 30s
// after the first attempt, or after the buyer's return when the payment
// needs the buyer). It changes nothing else: Genstore keeps waiting, and the
// conformance suite reads the journal.
func (s *System) scheduleDeadline(p Payment, kind, id string, afterReturn bool) {
	d := s.settings.ResultDeadline.Std()
	if d <= 0 {
		return
	}
	step := stepFirst
	if afterReturn {
		step = stepReturn
	}
	s.later(context.Background(), deadlineKind(kind), jobKey(p.ShopID, id, step), d,
		opJob{ShopID: p.ShopID, PaymentID: p.PaymentID, ID: id, AfterReturn: afterReturn})
}

// deadline runs a deadline job: it marks the operation's deadline missed
// and journals it, unless its final result has come (or, counted from the
// first attempt, the payment sent the buyer away: it is due after the return).
func (s *System) deadline(ctx context.Context, kind string, o opJob) {
	d := s.settings.ResultDeadline.Std()
	var missed bool
	cur, err := s.payments.Update(ctx, paymentKey(o.ShopID, o.PaymentID), func(cur *Payment) error {
		out, ack, final := cur.outboundOf(kind, o.ID)
		if out == nil || final {
			return errUnchanged
		}
		if kind == KindPayment {
			// A payment that sent the buyer away is due after the return.
			if !o.AfterReturn && *ack != nil && (*ack).RedirectURL != "" {
				return errUnchanged
			}
			cur.DeadlineMissed = true
		} else if op := cur.op(kind, o.ID); op != nil {
			op.DeadlineMissed = true
		}
		missed = true
		return nil
	})
	if err != nil || !missed {
		return
	}
	from := "the first attempt"
	if o.AfterReturn {
		from = "the buyer's return"
	}
	s.record(kind+".deadline_missed", fmt.Sprintf("%s %s: no final result within %s of %s", kind, o.ID, d, from), cur.ids(kind, o.ID),
		map[string]any{"deadline": d.String(), "from": from, "at": s.env.Clock.Now()})
}
