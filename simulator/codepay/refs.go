package codepay

import (
	"context"
	"fmt"

	"github.com/pspsim/pspsim/simulator/apierr"
)

// MaxRefunds is how many refunds one transaction may have (seed 003, Submit
// Order Refund: "you shouldn't have more than 10 partial refunds").
const MaxRefunds = 10

// A reference transaction acts on an original: voids, refunds, pre-auth
// cancels, completions (captures), completion cancels and completion
// refunds. The same rules (mayReference, states.go) hold whichever way it
// arrives: pushed to a terminal (checked when pushed and again when
// performed), or through the gateway API (order.refund.submit, the card
// operations). This file performs them.

// refAmount is what a reference transaction moves: a reversal the whole
// original, a refund or completion its own amount and tip.
func refAmount(t, o *Txn) int64 {
	switch t.TransType {
	case TypeVoid, TypeCompletionCancel:
		return o.TransAmount()
	case TypePreAuthCancel:
		return o.Authorized
	}
	return t.Amount + t.Tip
}

// applyReference performs a reference transaction t (status 0) on its
// original o, both under the ledger lock, and finalizes both.
func (s *System) applyReference(ctx context.Context, fx *effects, t, o *Txn) error {
	amt := refAmount(t, o)
	copyInstrument(t, o)
	switch {
	case isReversal(t.TransType):
		t.Amount, t.Tip, t.Cashback = o.Amount, o.Tip, o.Cashback
		if t.TransType == TypePreAuthCancel {
			t.Amount, t.Tip = o.Authorized, 0
		}
		o.ReversedBy = t.TransNo
		if err := s.setStatus(o, StatusCancelled, fmt.Sprintf("reversed in full by %s %s", typeNames[t.TransType], t.TransNo)); err != nil {
			return err
		}
		if t.TransType == TypeCompletionCancel && o.OrigTransNo != "" {
			auth, err := s.txns.Get(ctx, o.OrigTransNo)
			if err == nil {
				auth.Captured, auth.CaptureTransNo = 0, ""
				s.record("order.reopened", fmt.Sprintf("pre-authorization %s is open again: its completion %s was cancelled", auth.MerchantOrderNo, o.TransNo), &auth, nil)
				if err := s.save(ctx, &auth); err != nil {
					return err
				}
			}
		}
	case isRefund(t.TransType):
		o.Refunded += amt
		o.RefundCount++
		o.Refunds = append(o.Refunds, t.TransNo)
		s.record("order.refunded", fmt.Sprintf("%s refunded %s %s by %s (%d of %d, %s left)", o.MerchantOrderNo, fmtAmount(amt, o.Currency), o.Currency,
			t.TransNo, o.RefundCount, MaxRefunds, fmtAmount(o.Refundable(), o.Currency)), o, map[string]any{"refund": t.TransNo, "amount": fmtAmount(amt, o.Currency)})
	case t.TransType == TypePreAuthCompletion:
		o.Captured, o.CaptureTransNo = amt, t.TransNo
		s.record("order.captured", fmt.Sprintf("pre-authorization %s completed for %s %s of %s authorized by %s", o.MerchantOrderNo,
			fmtAmount(amt, o.Currency), o.Currency, fmtAmount(o.Authorized, o.Currency), t.TransNo), o, nil)
	}
	s.approve(t, decision{code: "000", msg: "[000]APPROVAL"})
	if err := s.setStatus(t, StatusSuccess, fmt.Sprintf("%s of %s", typeNames[t.TransType], o.MerchantOrderNo)); err != nil {
		return err
	}
	if err := s.succeeded(ctx, t); err != nil {
		return err
	}
	if o.Status.Final() && o.Status != StatusSuccess {
		if err := s.finalize(ctx, fx, o); err != nil {
			return err
		}
	} else if err := s.save(ctx, o); err != nil {
		return err
	}
	return s.finalize(ctx, fx, t)
}

// copyInstrument gives a reference transaction its original's card or
// wallet and terminal, so that it is settled where the original was.
func copyInstrument(t, o *Txn) {
	t.Instrument, t.CardMasked, t.CardBrand, t.CardProfile = o.Instrument, o.CardMasked, o.CardBrand, o.CardProfile
	t.PayMethodID, t.PayUserAccountID = o.PayMethodID, o.PayUserAccountID
	if t.PayScenario == "" {
		t.PayScenario = o.PayScenario
	}
	if t.TerminalSN == "" {
		t.TerminalSN, t.StoreNo = o.TerminalSN, o.StoreNo
	}
	t.OrigTransNo, t.OrigMerchantOrderNo = o.TransNo, o.MerchantOrderNo
}

// newReference is what a reference transaction made through the gateway
// API is: its type, the merchant's number for it, what it moves (a reversal
// moves the whole original whatever it says), where its result is notified
// and its description.
type newReference struct {
	TransType       int
	MerchantOrderNo string
	Amount, Tip     int64 // minor units of the original's currency
	NotifyURL       string
	Description     string
}

// gatewayReference creates and performs a reference transaction on the
// original o for caller c through the gateway API (not a terminal): it is
// checked, stored as created (9), and moved through processing (0) to
// success (2) at once.
func (s *System) gatewayReference(ctx context.Context, fx *effects, c *Caller, o *Txn, ref newReference) (*Txn, error) {
	now := s.env.Clock.Now()
	tt := ref.TransType
	t := &Txn{
		TransNo: s.newTransNo(), Environment: o.Environment, AppID: c.App.AppID, MerchantNo: o.MerchantNo, StoreNo: o.StoreNo,
		MerchantOrderNo: ref.MerchantOrderNo, TransType: tt, Status: StatusCreated, Channel: ChannelGateway, Currency: o.Currency,
		Amount: ref.Amount, Tip: ref.Tip, NotifyURL: ref.NotifyURL, Description: ref.Description, CreatedAt: now,
		OrigTransNo: o.TransNo, OrigMerchantOrderNo: o.MerchantOrderNo,
	}
	if aerr := s.mayReference(ctx, tt, refAmount(t, o), o); aerr != nil {
		return nil, aerr
	}
	if err := s.create(ctx, t); err != nil {
		return nil, err
	}
	s.record("order.created", fmt.Sprintf("%s %s (%s) created on %s through the gateway API", typeNames[tt], ref.MerchantOrderNo, t.TransNo, o.MerchantOrderNo), t,
		map[string]any{"transType": tt, "amount": fmtAmount(refAmount(t, o), o.Currency), "currency": o.Currency})
	if err := s.setStatus(t, StatusProcessing, "submitted to the host"); err != nil {
		return nil, err
	}
	if err := s.applyReference(ctx, fx, t, o); err != nil {
		return nil, err
	}
	return t, nil
}

// refundTypeOf is the trans_type of a refund of o: a completion is refunded
// by a completion refund, anything else by a refund.
func refundTypeOf(o *Txn) int {
	if o.TransType == TypePreAuthCompletion {
		return TypeCompletionRefund
	}
	return TypeRefund
}

// moneyHolder resolves the transaction a refund gives money back from: a
// completed pre-authorization is refunded through its completion.
func (s *System) moneyHolder(ctx context.Context, o Txn) (Txn, *apierr.Error) {
	if o.TransType != TypePreAuth {
		return o, nil
	}
	if o.CaptureTransNo == "" {
		return o, statusForbids("pre-authorization %s was not captured: cancel it instead of refunding", o.MerchantOrderNo)
	}
	c, err := s.txns.Get(ctx, o.CaptureTransNo)
	if err != nil {
		return o, apierr.Wrap(fmt.Errorf("completion %s: %w", o.CaptureTransNo, err))
	}
	return c, nil
}
