package genstore

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/pspsim/pspsim/simulator/apierr"
	"github.com/pspsim/pspsim/simulator/journal"
	"github.com/pspsim/pspsim/simulator/money"
	"github.com/pspsim/pspsim/simulator/openapi"
	"github.com/pspsim/pspsim/simulator/pan"
	"github.com/pspsim/pspsim/simulator/store"
)

// Callback is the decoded body of a result callback (seed 000):
// {"pay": {"result", "reason", "<kind>Id", "channel<Kind>Id"}}.
type Callback struct {
	Result    bool
	Reason    string
	ID        string
	ChannelID string
}

// DecodeCallback parses a callback body of a kind (payment, capture, void,
// refund) on its own, whatever the spec layer let through: result "true" /
// "false" or a JSON boolean, reason required (non-blank) when false, the
// kind's id required, the channel id optional, nothing else. Every refusal
// is a 422 naming the field and the rule; it never panics (FuzzDecodeCallback).
func DecodeCallback(kind string, body []byte) (Callback, *apierr.Error) {
	var cb Callback
	switch kind {
	case KindPayment, KindCapture, KindVoid, KindRefund:
	default:
		return cb, apierr.New(apierr.Invalid, "%q is not a kind of callback (payment, capture, void, refund)", clip(kind, 20))
	}
	var top map[string]json.RawMessage
	if err := strictObject(body, &top); err != nil {
		return cb, apierr.New(apierr.Malformed, "the body must be a JSON object {\"pay\": {...}}")
	}
	for k := range top {
		if k != "pay" {
			// The prefix stays: k is the caller's, and the message could
			// start with it.
			return cb, apierr.Field(apierr.Invalid, k, "additionalProperties", "%s: is not a field of the body (only pay)", k)
		}
	}
	rawPay, ok := top["pay"]
	if !ok {
		return cb, apierr.Required("pay")
	}
	var pay map[string]json.RawMessage
	if err := strictObject(rawPay, &pay); err != nil {
		return cb, apierr.Field(apierr.Invalid, "pay", "type", "must be an object")
	}
	idField, chField := idName(kind), channelIDName(kind)
	allowed := map[string]bool{"result": true, "reason": true, idField: true, chField: true}
	var extra []string
	for k := range pay {
		if !allowed[k] {
			extra = append(extra, k)
		}
	}
	if len(extra) > 0 {
		sort.Strings(extra)
		return cb, apierr.Field(apierr.Invalid, "pay."+extra[0], "additionalProperties", "is not a field of a %s callback (fields: result, reason, %s, %s)", kind, idField, chField)
	}
	raw, ok := pay["result"]
	if !ok {
		return cb, apierr.Required("pay.result")
	}
	switch strings.TrimSpace(string(raw)) {
	case `"true"`, `true`:
		cb.Result = true
	case `"false"`, `false`:
	default:
		return cb, apierr.Field(apierr.Invalid, "pay.result", "enum", "must be \"true\" or \"false\" (a JSON boolean is accepted too)")
	}
	str := func(field string, required bool, max int) (string, *apierr.Error) {
		raw, ok := pay[field]
		if !ok {
			if required {
				return "", apierr.Required("pay." + field)
			}
			return "", nil
		}
		var v string
		if err := json.Unmarshal(raw, &v); err != nil {
			return "", apierr.Field(apierr.Invalid, "pay."+field, "type", "must be a string")
		}
		if len(v) > max {
			return "", apierr.Field(apierr.Invalid, "pay."+field, "maxLength", "must be at most %d characters", max)
		}
		return v, nil
	}
	var e *apierr.Error
	if cb.Reason, e = str("reason", false, 512); e != nil {
		return cb, e
	}
	if cb.ID, e = str(idField, true, 64); e != nil {
		return cb, e
	}
	if !idRE.MatchString(cb.ID) {
		return cb, apierr.Field(apierr.Invalid, "pay."+idField, "pattern", "must be 1-64 letters, digits, '_' or '-'")
	}
	if cb.ChannelID, e = str(chField, false, 128); e != nil {
		return cb, e
	}
	if _, present := pay[chField]; present && cb.ChannelID == "" {
		return cb, apierr.Field(apierr.Invalid, "pay."+chField, "minLength", "must not be empty when present")
	}
	if !cb.Result && strings.TrimSpace(cb.Reason) == "" {
		return cb, apierr.Field(apierr.Missing, "pay.reason", "required", "is required when pay.result is false")
	}
	return cb, nil
}

// strictObject decodes one JSON object and nothing after it.
func strictObject(b []byte, v *map[string]json.RawMessage) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(v); err != nil {
		return err
	}
	if *v == nil {
		return errors.New("null")
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("trailing data after the object")
	}
	return nil
}

// callback returns the handler of one of the five result callbacks.
// preAuth marks pre_authorize/, which shares the payment kind.
func (s *System) callback(kind string, preAuth bool) http.HandlerFunc {
	endpoint := kind
	if preAuth {
		endpoint = "pre_authorize"
	}
	return func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		req := openapi.FromContext(ctx)
		tok, ok := principal(r)
		if req == nil || !ok {
			s.writeError(w, r, apierr.New(apierr.Unauthorized, "X-Genstore-Access-Token: is required"))
			return
		}
		pathID := req.PathParams[idName(kind)]
		cb, aerr := DecodeCallback(kind, req.Body)
		if aerr != nil {
			s.writeError(w, r, aerr)
			return
		}
		if cb.ID != pathID {
			s.writeError(w, r, apierr.Field(apierr.Unprocessable, "pay."+idName(kind), "equalsPath",
				"%q differs from the %s in the path (%q)", cb.ID, idName(kind), pathID))
			return
		}
		paymentID, aerr := s.findOwner(r, tok, kind, pathID)
		if aerr != nil {
			s.writeError(w, r, aerr)
			return
		}
		req.Tag("paymentId", paymentID) // for the journal of a refusal below
		res := Result{Result: cb.Result, ChannelID: cb.ChannelID, At: s.env.Clock.Now(), Source: SourceCallback}
		if !cb.Result {
			res.Reason = pan.Scrub(cb.Reason) // kept and shown: never a card number
		}
		st, err := s.settle(ctx, tok.ShopID, paymentID, kind, pathID, res, func(p *Payment) *apierr.Error {
			if p.ClientID != tok.ClientID {
				return notFound(kind, pathID)
			}
			if kind == KindPayment {
				return callbackFits(p, preAuth, endpoint, pathID)
			}
			return nil
		})
		if err != nil {
			s.writeError(w, r, apierr.Wrap(err))
			return
		}
		s.record("callback.received", fmt.Sprintf("%s/ callback for %s %s: result %t → 200", endpoint, kind, pathID, cb.Result), st.Payment.ids(kind, pathID),
			map[string]any{"endpoint": endpoint, "result": cb.Result, "reason": cb.Reason, channelIDName(kind): cb.ChannelID, "status": http.StatusOK, "repeat": st.Repeat,
				"request": requestBody(r)})
		s.afterSettle(kind, pathID, st, res)
		WriteJSON(w, http.StatusOK, struct{}{})
	}
}

func notFound(kind, id string) *apierr.Error {
	return apierr.Field(apierr.NotFound, idName(kind), "exists", "no %s %s in this shop for this app", kind, id)
}

// findOwner resolves the payment a callback's id belongs to in the token's
// shop. An id of another kind (a refund id sent to capture/) is the wrong
// kind of callback: 422 naming the right endpoint; an unknown id is 404.
func (s *System) findOwner(r *http.Request, tok Token, kind, id string) (string, *apierr.Error) {
	ctx := r.Context()
	// lookup's error is the store's failure only: absence is ok == false.
	lookup := func(k string) (p Payment, ok bool, err error) {
		if k == KindPayment {
			p, err = s.payments.Get(ctx, paymentKey(tok.ShopID, id))
		} else {
			p, err = s.payments.Lookup(ctx, opKey(k, tok.ShopID, id))
		}
		if errors.Is(err, store.ErrNotFound) {
			return p, false, nil
		}
		return p, err == nil, err
	}
	p, ok, err := lookup(kind)
	if err != nil {
		return "", apierr.Wrap(fmt.Errorf("%s %s: %w", kind, id, err))
	}
	if ok {
		return p.PaymentID, nil
	}
	for _, other := range []string{KindPayment, KindCapture, KindVoid, KindRefund} {
		if other == kind {
			continue
		}
		p, ok, err := lookup(other)
		if err != nil {
			return "", apierr.Wrap(fmt.Errorf("%s %s: %w", other, id, err))
		}
		if ok && p.ClientID == tok.ClientID {
			endpoint := other
			if other == KindPayment && p.ManualCapture {
				endpoint = "pre_authorize"
			}
			return "", apierr.Field(apierr.Unprocessable, idName(kind), "callbackKind",
				"%s: %s is a %s id, not a %s id: report its result with PUT /api/202412/app/%s/%s", idName(kind), id, other, kind, endpoint, id)
		}
	}
	return "", notFound(kind, id)
}

// updateAccountAuthorization records account_authorize: "true" puts the
// installation in service, "false" takes it out; the last call counts.
func (s *System) updateAccountAuthorization(w http.ResponseWriter, r *http.Request) {
	tok, ok := principal(r)
	if !ok {
		s.writeError(w, r, apierr.New(apierr.Unauthorized, "X-Genstore-Access-Token: is required"))
		return
	}
	var body struct {
		Pay struct {
			Ready json.RawMessage `json:"ready"`
		} `json:"pay"`
	}
	if err := json.Unmarshal(openapi.FromContext(r.Context()).Body, &body); err != nil {
		s.writeError(w, r, apierr.New(apierr.Malformed, "the body must be {\"pay\": {\"ready\": \"true\"|\"false\"}}"))
		return
	}
	var ready bool
	switch strings.TrimSpace(string(body.Pay.Ready)) {
	case `"true"`, `true`:
		ready = true
	case `"false"`, `false`:
	default:
		s.writeError(w, r, apierr.Field(apierr.Invalid, "pay.ready", "enum", "must be \"true\" or \"false\""))
		return
	}
	now := s.env.Clock.Now()
	var was bool
	in, err := s.installations.Update(r.Context(), installationKey(tok.ShopID, tok.ClientID), func(in *Installation) error {
		was = in.Ready
		in.Ready = ready
		if ready && !was {
			in.ReadyAt = &now
		}
		return nil
	})
	if err != nil {
		s.writeError(w, r, apierr.Wrap(fmt.Errorf("installation %s/%s: %w", tok.ShopID, tok.ClientID, err)))
		return
	}
	kind, msg := "installation.ready", "in service: payments will be sent to it"
	if !ready {
		kind, msg = "installation.not_ready", "out of service: no payment will be sent to it"
	}
	if was == ready {
		msg += " (unchanged)"
	}
	s.record(kind, fmt.Sprintf("app %s on shop %s reports account_authorize ready=%t: %s", in.ClientID, in.ShopID, ready, msg),
		map[string]string{"shopId": in.ShopID, "clientId": in.ClientID}, map[string]any{"ready": ready, "changed": was != ready})
	WriteJSON(w, http.StatusOK, struct{}{})
}

// PayTransaction is the pay-transaction object of seed 001.
type PayTransaction struct {
	SuccessPaymentTime string `json:"successPaymentTime,omitempty"`
	Amount             string `json:"amount"`
	ChannelTrxNo       string `json:"channelTrxNo,omitempty"`
	PaymentID          string `json:"paymentId"`
	Fee                string `json:"fee"`
	Currency           string `json:"currency"`
	Net                string `json:"net"`
	OutOrderNo         string `json:"outOrderNo"`
	Status             string `json:"status"`
}

// payAmounts are a pay transaction's gross amount, fee and net, in minor
// units (see payTransaction).
func payAmounts(p Payment, shop Shop) (gross, fee, net int64) {
	gross = p.Amount
	if p.Status == StatusSuccess {
		gross = p.CapturedMinor
	}
	fee = shop.FeePlan.Fee(gross)
	net = gross - fee
	if p.Status == StatusFailure || p.Status == StatusAuthVoid {
		fee, net = 0, 0
	}
	return gross, fee, net
}

// payTransaction renders a payment as seed 001 does. amount is the gross
// amount of the transaction: what was captured once the payment succeeded
// (a partial capture shows the captured part), the requested amount before.
// fee follows the shop's plan on that amount; a voided or failed payment
// moved no money, so its fee and net are zero. Times are ISO-8601 with the
// offset of the shop's time zone.
func payTransaction(p Payment, shop Shop) PayTransaction {
	gross, fee, net := payAmounts(p, shop)
	// The three amounts and the time are written into one string, sliced:
	// one allocation instead of four. A PayTransaction is an answer's and
	// an event's, read and dropped: no piece outlives the others.
	var buf [128]byte
	b := money.AppendFormat(buf[:0], gross, p.Currency)
	endAmount := len(b)
	b = money.AppendFormat(b, fee, p.Currency)
	endFee := len(b)
	b = money.AppendFormat(b, net, p.Currency)
	endNet := len(b)
	if p.SuccessAt != nil && p.Status == StatusSuccess {
		b = p.SuccessAt.In(shop.Location()).AppendFormat(b, time.RFC3339)
	}
	all := string(b)
	return PayTransaction{
		Amount: all[:endAmount], ChannelTrxNo: p.channelTrxNo(), PaymentID: p.PaymentID,
		Fee: all[endAmount:endFee], Currency: p.Currency, Net: all[endFee:endNet],
		OutOrderNo: p.OutOrderNo, Status: p.Status.Code(), SuccessPaymentTime: all[endNet:],
	}
}

// getPayment answers the pay-transaction query (seed 001) for a payment of
// the token's shop and app.
func (s *System) getPayment(w http.ResponseWriter, r *http.Request) {
	tok, ok := principal(r)
	if !ok {
		s.writeError(w, r, apierr.New(apierr.Unauthorized, "X-Genstore-Access-Token: is required"))
		return
	}
	id := openapi.FromContext(r.Context()).PathParams["paymentId"]
	p, err := s.payments.Get(r.Context(), paymentKey(tok.ShopID, id))
	if errors.Is(err, store.ErrNotFound) || (err == nil && p.ClientID != tok.ClientID) {
		s.writeError(w, r, notFound(KindPayment, id))
		return
	}
	if err != nil {
		s.writeError(w, r, apierr.Wrap(err))
		return
	}
	shop, err := s.shops.Get(r.Context(), p.ShopID)
	if err != nil {
		s.writeError(w, r, apierr.Wrap(err))
		return
	}
	pt := payTransaction(p, shop)
	s.recordQueried(p, id, pt)
	buf, _ := s.answers.Get().(*[]byte)
	if buf == nil {
		b := make([]byte, 0, 320)
		buf = &b
	}
	b := appendPayTransactionAnswer((*buf)[:0], pt)
	writeRawJSON(w, http.StatusOK, b)
	if cap(b) <= 4<<10 {
		*buf = b
		s.answers.Put(buf)
	}
}

// recordQueried journals a pay-transaction query (payment.queried) with the
// ids and data lists of RecordFields: the event p.ids and the map of status,
// fee and net would give (TestQueriedEventIsTheMapEvent), without the two
// maps and the boxed values a read built only to be encoded.
func (s *System) recordQueried(p Payment, id string, pt PayTransaction) {
	ids := [...]journal.ID{{Name: "shopId", Value: p.ShopID}, {Name: "paymentId", Value: p.PaymentID}, {Name: "clientId", Value: p.ClientID}}
	data := [...]journal.Field{journal.String("status", pt.Status), journal.String("fee", pt.Fee), journal.String("net", pt.Net)}
	s.env.Journal.RecordFields(journal.Event{System: Name, Kind: "payment.queried",
		Message: "pay-transaction query for payment " + id + ": status " + pt.Status}, ids[:], data[:])
}

// RefundTransaction is Genstore's answer to the Query Refund of seed 001,
// designed after its Get payment (see getRefund in specs/genstore.yaml).
type RefundTransaction struct {
	RefundID          string `json:"refundId"`
	PaymentID         string `json:"paymentId"`
	ChannelTrxNo      string `json:"channelTrxNo,omitempty"`
	OutOrderNo        string `json:"outOrderNo"`
	SuccessRefundTime string `json:"successRefundTime,omitempty"`
	Status            string `json:"status"`
	Currency          string `json:"currency"`
	Amount            string `json:"amount"`
}

// refundStatus is a refund's status code, in the pay transaction's
// numbering: 1 process, 2 success, 9 failure.
func refundStatus(s OpStatus) string {
	switch s {
	case OpSucceeded:
		return "2"
	case OpFailed:
		return "9"
	}
	return "1"
}

// refundTransaction renders refund op of payment p: its channel id is the
// one the app reported (in its result, else its acknowledgement); its
// success time, in the shop's time zone, is when its success was recorded.
func refundTransaction(p Payment, op *Operation, shop Shop) RefundTransaction {
	rt := RefundTransaction{RefundID: op.ID, PaymentID: p.PaymentID, OutOrderNo: p.OutOrderNo, Status: refundStatus(op.Status),
		Currency: p.Currency, Amount: money.Format(op.Amount, p.Currency)}
	switch {
	case op.Result != nil && op.Result.ChannelID != "":
		rt.ChannelTrxNo = op.Result.ChannelID
	case op.Ack != nil:
		rt.ChannelTrxNo = op.Ack.ChannelID
	}
	if op.Status == OpSucceeded && op.Result != nil {
		rt.SuccessRefundTime = op.Result.At.In(shop.Location()).Format(time.RFC3339)
	}
	return rt
}

// getRefund answers Query Refund (seed 001 names it; the endpoint is
// pspsim's design after Get payment) for a refund of the token's shop and app.
func (s *System) getRefund(w http.ResponseWriter, r *http.Request) {
	tok, ok := principal(r)
	if !ok {
		s.writeError(w, r, apierr.New(apierr.Unauthorized, "X-Genstore-Access-Token: is required"))
		return
	}
	id := openapi.FromContext(r.Context()).PathParams["refundId"]
	p, err := s.payments.Lookup(r.Context(), opKey(KindRefund, tok.ShopID, id))
	var op *Operation
	if err == nil {
		op = p.op(KindRefund, id)
	}
	if errors.Is(err, store.ErrNotFound) || (err == nil && (p.ClientID != tok.ClientID || op == nil)) {
		s.writeError(w, r, notFound(KindRefund, id))
		return
	}
	if err != nil {
		s.writeError(w, r, apierr.Wrap(err))
		return
	}
	shop, err := s.shops.Get(r.Context(), p.ShopID)
	if err != nil {
		s.writeError(w, r, apierr.Wrap(err))
		return
	}
	rt := refundTransaction(p, op, shop)
	s.record("refund.queried", fmt.Sprintf("refund query for refund %s of payment %s: status %s", id, p.PaymentID, rt.Status), p.ids(KindRefund, id),
		map[string]any{"status": rt.Status, "amount": rt.Amount})
	WriteJSON(w, http.StatusOK, map[string]any{"refund": rt})
}
