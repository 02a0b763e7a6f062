package vmgateway

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/pspsim/pspsim/simulator/apierr"
	"github.com/pspsim/pspsim/simulator/store"
)

func refundKey(merchant, environment, refundNumber string) string {
	return scopeKey(merchant, environment, "refund", refundNumber)
}

// createRefund refunds a captured payment, in part or in full. The refund
// starts PENDING with its amount reserved against the payment, and settles
// (SUCCEEDED) refundSettleDelay later on the clock, unless the admin API
// settles it first. refundNumber is the idempotency key: the same number for
// the same payment and amount answers the existing refund.
func (s *System) createRefund(w http.ResponseWriter, r *http.Request) {
	var in struct {
		paymentRef
		Amount          string `json:"amount"`
		ClientIP        string `json:"clientIp"`
		NotificationURL string `json:"notificationUrl"`
		Reason          string `json:"reason"`
		RefundNumber    string `json:"refundNumber"`
	}
	tok, p, ok := s.paymentRequest(w, r, &in)
	if !ok {
		return
	}
	ctx := r.Context()
	note(ctx, "refundNumber", in.RefundNumber)
	amount, aerr := parseAmount(in.Amount, p.Currency, "amount", true)
	if aerr != nil {
		s.fail(w, r, aerr)
		return
	}
	key := refundKey(tok.MerchantID, tok.Environment, in.RefundNumber)
	now := s.now()
	rf := Refund{
		RefundID: "rf_" + now.UTC().Format("20060102150405") + s.env.IDs.Digits(6), RefundNumber: in.RefundNumber,
		TradeNo: p.TradeNo, OrderNo: p.OrderNo, AppID: tok.AppID, MerchantID: tok.MerchantID, Environment: tok.Environment,
		Amount: amount, Currency: p.Currency, Reason: in.Reason, ClientIP: in.ClientIP, NotificationURL: in.NotificationURL,
		CreatedAt: now, UpdatedAt: now, SettlesAt: now.Add(s.settings().refundSettleDelay),
	}
	if err := rf.transition(RefundPending, "accepted; the amount is reserved", now); err != nil {
		s.fail(w, r, err)
		return
	}
	// Under the payment's lock, all at once: look the refundNumber up,
	// reserve the amount, store the refund. A concurrent duplicate waits for
	// the lock and then finds the refund instead of finding the amount gone.
	var existing *Refund
	errExisting := errors.New("refundNumber already used")
	if _, err := s.payments.Update(ctx, p.TradeNo, func(p *Payment) error {
		if ex, err := s.refunds.Lookup(ctx, key); err == nil {
			existing = &ex
			return errExisting
		}
		if p.Status != StatusCaptured && p.Status != StatusPartiallyRefunded {
			hint := ""
			if p.Status == StatusAuthorized {
				hint = "; cancel an uncaptured payment instead"
			}
			return apierr.New(apierr.Conflict, "payment is %s; only a captured payment can be refunded%s", p.Status, hint).WithCode(CodeStatusConflict)
		}
		if left := p.Captured - p.Refunded - p.RefundPending; amount > left {
			return apierr.Field(apierr.Unprocessable, "amount", "maximum", "amount: exceeds the refundable amount %s (captured, less refunds succeeded or pending)",
				describeAmount(left, p.Currency)).WithCode(CodeAmountExceeded)
		}
		if err := s.refunds.Create(ctx, rf.RefundID, rf, key); err != nil {
			if errors.Is(err, store.ErrExists) {
				// The same refundNumber on another payment of the merchant, concurrently.
				if ex, lerr := s.refunds.Lookup(ctx, key); lerr == nil {
					existing = &ex
					return errExisting
				}
			}
			return fmt.Errorf("store refund: %w", err)
		}
		p.RefundPending += amount
		return nil
	}); err != nil {
		if existing != nil {
			s.answerExistingRefund(w, r, *existing, p, amount)
			return
		}
		s.fail(w, r, err)
		return
	}
	note(ctx, "refundId", rf.RefundID)
	s.afterRefundChange(ctx, "", rf)
	refundID := rf.RefundID
	s.env.Clock.AfterFunc(rf.SettlesAt.Sub(now), func() { s.settleRefund(timerCtx(), refundID, RefundSucceeded, "", "settled by the processor") })
	WriteJSON(w, http.StatusOK, viewRefund(rf))
}

func (s *System) answerExistingRefund(w http.ResponseWriter, r *http.Request, existing Refund, p Payment, amount int64) {
	note(r.Context(), "refundId", existing.RefundID)
	if existing.TradeNo != p.TradeNo || existing.Amount != amount {
		s.fail(w, r, apierr.Field(apierr.Conflict, "refundNumber", "unique", "refundNumber: is already used for another refund (another payment or amount)").WithCode(CodeRefundNumberConflict))
		return
	}
	s.env.Record(Name, "refund.replayed", "refund "+existing.RefundNumber+" requested again: the existing refund is answered",
		map[string]string{"refundNumber": existing.RefundNumber, "tradeNo": existing.TradeNo, "orderNo": existing.OrderNo}, nil)
	WriteJSON(w, http.StatusOK, viewRefund(existing))
}

// settleRefund ends a PENDING refund: SUCCEEDED moves the amount to the
// payment's refunded total; FAILED releases the reservation.
func (s *System) settleRefund(ctx context.Context, refundID, to, failureCode, why string) (Refund, error) {
	before := ""
	rf, err := s.refunds.Update(ctx, refundID, func(rf *Refund) error {
		before = rf.Status
		if err := rf.transition(to, why, s.now()); err != nil {
			return err
		}
		if to == RefundFailed {
			rf.FailureCode = orString(failureCode, "REFUND_DECLINED")
			rf.FailureMessage = why
		}
		return nil
	})
	if err != nil {
		return rf, err
	}
	_, err = s.updatePayment(ctx, rf.TradeNo, func(p *Payment, now time.Time) error {
		p.RefundPending -= rf.Amount
		if to != RefundSucceeded {
			return nil
		}
		p.Refunded += rf.Amount
		next := StatusPartiallyRefunded
		if p.Refunded >= p.Captured {
			next = StatusRefunded
		}
		return p.transition(next, "refund "+rf.RefundNumber+" succeeded", now)
	})
	if err != nil {
		s.env.Log.Error("vmgateway: settle refund on payment", "err", err)
	}
	s.afterRefundChange(ctx, before, rf)
	return rf, nil
}

func (s *System) afterRefundChange(ctx context.Context, before string, rf Refund) {
	if before == rf.Status {
		return
	}
	ids := map[string]string{"refundNumber": rf.RefundNumber, "refundId": rf.RefundID, "tradeNo": rf.TradeNo, "orderNo": rf.OrderNo, "merchant": rf.MerchantID}
	data := map[string]any{"from": before, "to": rf.Status, "amount": formatAmount(rf.Amount, rf.Currency), "currency": rf.Currency, "environment": rf.Environment}
	s.env.Record(Name, "refund.status_changed", fmt.Sprintf("refund %s of %s: %s → %s", rf.RefundNumber, describeAmount(rf.Amount, rf.Currency), orString(before, "new"), rf.Status), ids, data)
	s.publishRefund(ctx, rf)
}

// inquireRefund answers one refund (refundNumber) or every refund of a
// payment.
func (s *System) inquireRefund(w http.ResponseWriter, r *http.Request) {
	tok, _, ok := s.caller(w, r)
	if !ok {
		return
	}
	var in struct {
		RefundNumber      string `json:"refundNumber"`
		OrderNo           string `json:"orderNo"`
		TradeNo           string `json:"tradeNo"`
		PaymentMethodType string `json:"paymentMethodType"`
	}
	if !s.decode(w, r, &in) {
		return
	}
	note(r.Context(), "orderNo", in.OrderNo, "tradeNo", in.TradeNo, "refundNumber", in.RefundNumber)
	ctx := r.Context()
	var p Payment
	var list []Refund
	if in.RefundNumber != "" {
		rf, err := s.refunds.Lookup(ctx, refundKey(tok.MerchantID, tok.Environment, in.RefundNumber))
		if err != nil {
			s.fail(w, r, apierr.Field(apierr.NotFound, "refundNumber", "exists", "refundNumber: no refund of this merchant has this refundNumber"))
			return
		}
		var aerr *apierr.Error
		if in.OrderNo == "" && in.TradeNo == "" {
			in.TradeNo = rf.TradeNo
		}
		if p, aerr = s.findPayment(ctx, tok, in.OrderNo, in.TradeNo); aerr != nil {
			s.fail(w, r, aerr)
			return
		}
		if p.TradeNo != rf.TradeNo {
			s.fail(w, r, apierr.Field(apierr.NotFound, "refundNumber", "match", "refundNumber: the refund belongs to another payment"))
			return
		}
		list = []Refund{rf}
	} else {
		if in.OrderNo == "" && in.TradeNo == "" {
			s.fail(w, r, apierr.Field(apierr.Missing, "refundNumber", "required", "refundNumber: refundNumber, orderNo or tradeNo is required"))
			return
		}
		var aerr *apierr.Error
		if p, aerr = s.findPayment(ctx, tok, in.OrderNo, in.TradeNo); aerr != nil {
			s.fail(w, r, aerr)
			return
		}
		var err error
		list, err = s.refunds.List(ctx, func(rf *Refund) bool { return rf.TradeNo == p.TradeNo })
		if err != nil {
			s.fail(w, r, fmt.Errorf("list refunds: %w", err))
			return
		}
	}
	if in.PaymentMethodType != "" && in.PaymentMethodType != p.Method {
		s.fail(w, r, apierr.Field(apierr.NotFound, "paymentMethodType", "match", "paymentMethodType: the payment was made with another method"))
		return
	}
	note(ctx, "tradeNo", p.TradeNo, "orderNo", p.OrderNo)
	views := make([]refundView, 0, len(list))
	for _, rf := range list {
		views = append(views, viewRefund(rf))
	}
	WriteJSON(w, http.StatusOK, map[string]any{
		"tradeNo": p.TradeNo, "orderNo": p.OrderNo, "currency": p.Currency,
		"capturedAmount": formatAmount(p.Captured, p.Currency), "refundedAmount": formatAmount(p.Refunded, p.Currency), "refunds": views,
	})
}
