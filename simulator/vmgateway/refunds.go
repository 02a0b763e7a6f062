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
func (s *System) createRefund(w http.ResponseWriter, r *http.Request) error {
	var in refundIn
	tok, p, err := s.paymentRequest(r, &in)
	if err != nil {
		return err
	}
	ctx := r.Context()
	note(ctx, "refundNumber", in.RefundNumber)
	amount, aerr := parseAmount(in.Amount, p.Currency, "amount", true)
	if aerr != nil {
		return aerr
	}
	key := refundKey(tok.MerchantID, tok.Environment, in.RefundNumber)
	now := s.now()
	rf := Refund{
		RefundNumber: in.RefundNumber,
		TradeNo:      p.TradeNo, OrderNo: p.OrderNo, AppID: tok.AppID, MerchantID: tok.MerchantID, Environment: tok.Environment,
		Amount: amount, Currency: p.Currency, Reason: in.Reason, ClientIP: in.ClientIP, NotificationURL: in.NotificationURL,
		CreatedAt: now, UpdatedAt: now, SettlesAt: now.Add(s.settings().refundSettleDelay),
	}
	if err := rf.transition(RefundPending, "accepted; the amount is reserved", now); err != nil {
		return err
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
		if aerr := canRefund(p, amount); aerr != nil {
			return aerr
		}
		// The refund id ("rf_", the time, six digits) is claimed as the
		// refund is stored; a clash draws another.
		stored, err := s.refunds.CreateNew(ctx, func(attempt int) string { return s.env.IDs.Stamped("rf_", now, 6, attempt) },
			func(id string) Refund { r := rf; r.RefundID = id; return r }, key)
		if err != nil {
			if errors.Is(err, store.ErrExists) {
				// The same refundNumber on another payment of the merchant, concurrently.
				if ex, lerr := s.refunds.Lookup(ctx, key); lerr == nil {
					existing = &ex
					return errExisting
				}
			}
			return fmt.Errorf("store refund: %w", err)
		}
		rf = stored
		p.RefundPending += amount
		return nil
	}); err != nil {
		if existing != nil {
			return s.answerExistingRefund(w, r, *existing, p, amount)
		}
		return err
	}
	note(ctx, "refundId", rf.RefundID)
	s.afterRefundChange(ctx, "", rf)
	s.later(ctx, jobSettleRefund, rf.RefundID, rf.SettlesAt)
	WriteJSON(w, http.StatusOK, viewRefund(rf))
	return nil
}

// answerExistingRefund answers a refundNumber used before: the same refund
// again (an idempotent retry), or a conflict when it named another payment
// or amount.
func (s *System) answerExistingRefund(w http.ResponseWriter, r *http.Request, existing Refund, p Payment, amount int64) error {
	note(r.Context(), "refundId", existing.RefundID)
	if existing.TradeNo != p.TradeNo || existing.Amount != amount {
		return apierr.Field(apierr.Conflict, "refundNumber", "unique", "is already used for another refund (another payment or amount)").WithCode(CodeRefundNumberConflict)
	}
	s.env.Record(Name, "refund.replayed", "refund "+existing.RefundNumber+" requested again: the existing refund is answered",
		map[string]string{"refundNumber": existing.RefundNumber, "tradeNo": existing.TradeNo, "orderNo": existing.OrderNo}, nil)
	WriteJSON(w, http.StatusOK, viewRefund(existing))
	return nil
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
func (s *System) inquireRefund(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		RefundNumber      string `json:"refundNumber"`
		OrderNo           string `json:"orderNo"`
		TradeNo           string `json:"tradeNo"`
		PaymentMethodType string `json:"paymentMethodType"`
	}
	tok, _, err := s.request(r, &in)
	if err != nil {
		return err
	}
	note(r.Context(), "orderNo", in.OrderNo, "tradeNo", in.TradeNo, "refundNumber", in.RefundNumber)
	ctx := r.Context()
	var p Payment
	var list []Refund
	if in.RefundNumber != "" {
		rf, err := s.refunds.Lookup(ctx, refundKey(tok.MerchantID, tok.Environment, in.RefundNumber))
		if e := unanswered(err); e != nil {
			return e
		}
		if err != nil {
			return apierr.Field(apierr.NotFound, "refundNumber", "exists", "no refund of this merchant has this refundNumber")
		}
		var aerr *apierr.Error
		if in.OrderNo == "" && in.TradeNo == "" {
			in.TradeNo = rf.TradeNo
		}
		if p, aerr = s.findPayment(ctx, tok, in.OrderNo, in.TradeNo); aerr != nil {
			return aerr
		}
		if p.TradeNo != rf.TradeNo {
			return apierr.Field(apierr.NotFound, "refundNumber", "match", "the refund belongs to another payment")
		}
		list = []Refund{rf}
	} else {
		if in.OrderNo == "" && in.TradeNo == "" {
			return apierr.Field(apierr.Missing, "refundNumber", "required", "refundNumber: refundNumber, orderNo or tradeNo is required")
		}
		var aerr *apierr.Error
		if p, aerr = s.findPayment(ctx, tok, in.OrderNo, in.TradeNo); aerr != nil {
			return aerr
		}
		if list, err = s.refunds.Find(ctx, "tradeNo", p.TradeNo, nil); err != nil {
			return fmt.Errorf("list refunds: %w", err)
		}
	}
	if aerr := sameMethod(in.PaymentMethodType, p); aerr != nil {
		return aerr
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
	return nil
}
