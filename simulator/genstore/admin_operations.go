package genstore

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/pspsim/pspsim/simulator/admin"
	"github.com/pspsim/pspsim/simulator/apierr"
	"github.com/pspsim/pspsim/simulator/delivery"
	"github.com/pspsim/pspsim/simulator/money"
)

// The merchant's operations on a payment through the admin API: captures,
// voids and refunds (sent to the app) and reconciliation on demand. Whether
// an operation may start, and for how much, is decided in states.go
// (operationURL, startOperation).

// adminOperation returns the handler that captures, voids or refunds a
// payment: the merchant's action in Genstore's admin.
func (s *System) adminOperation(kind string) admin.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		ctx := r.Context()
		shopID, paymentID := pathParam(r, "shopId"), pathParam(r, "paymentId")
		var in struct {
			Amount    string `json:"amount"`
			Unchecked bool   `json:"unchecked"`
		}
		if e := decodeOptional(r, &in); e != nil {
			return e
		}
		shop, aerr := s.adminShop(ctx, shopID)
		if aerr != nil {
			return aerr
		}
		p, aerr := s.adminPayment(ctx, shopID, paymentID)
		if aerr != nil {
			return aerr
		}
		app, err := s.apps.Get(ctx, p.ClientID)
		if err != nil {
			return fmt.Errorf("app %s of payment %s: %w", p.ClientID, paymentID, err)
		}
		target, aerr := operationURL(app, kind)
		if aerr != nil {
			return aerr
		}
		var amount int64
		if in.Amount != "" {
			if kind == KindVoid {
				return apierr.Field(apierr.Invalid, "amount", "additionalProperties", "a void releases the whole authorization and takes no amount")
			}
			if amount, err = money.ParsePositive(in.Amount, p.Currency); err != nil {
				// The prefix stays: money's messages start with "amount".
				return apierr.Field(apierr.Invalid, "amount", "amount", "amount: %v", err)
			}
		}
		now := s.env.Clock.Now()
		id, err := s.claimOpID(ctx, kind, shopID, paymentID, now)
		if err != nil {
			return fmt.Errorf("%s of payment %s: %w", kind, paymentID, err)
		}
		// The request's delivery is prepared (its row written) before the
		// operation is stored: see prepareRequest.
		var prepared *delivery.Delivery
		p, err = s.payments.Update(ctx, paymentKey(shopID, paymentID), func(p *Payment) error {
			op, e := startOperation(p, kind, id, amount, now, in.Unchecked)
			if e != nil {
				return e
			}
			op.Request = Outbound{URL: target, IdempotencyKey: id, State: DeliveryPending}
			p.Operations = append(p.Operations, op)
			raw, err := operationObject(*p, kind, id, money.Format(op.Amount, p.Currency))
			if err != nil {
				return fmt.Errorf("%s %s of payment %s: %w", kind, id, paymentID, err)
			}
			prepared = s.prepareRequest(*p, shop, app, kind, id, target, raw)
			return nil
		})
		if err != nil {
			if prepared != nil {
				prepared.Discard()
			}
			return fmt.Errorf("%s %s of payment %s: %w", kind, id, paymentID, err)
		}
		op := p.op(kind, id)
		amountText := money.Format(op.Amount, p.Currency)
		msg := fmt.Sprintf("%s %s of payment %s created", kind, id, p.PaymentID)
		if kind != KindVoid {
			msg += fmt.Sprintf(" for %s %s", amountText, p.Currency)
		}
		s.record(kind+".created", msg, p.ids(kind, id), map[string]any{"amount": amountText, "currency": p.Currency, "test": p.Test})
		s.scheduleDeadline(p, kind, id, false)
		s.deliver(p, shop.ShopID, kind, id, target, prepared)
		cur, err := s.payments.Get(ctx, paymentKey(shopID, paymentID))
		if err != nil {
			return fmt.Errorf("payment %s after its %s: %w", paymentID, kind, err)
		}
		admin.WriteJSON(w, http.StatusCreated, map[string]any{"operation": opView(*cur.op(kind, id), cur.Currency), "payment": paymentView(cur, shop)})
		return nil
	}
}

// operationObject is the body Genstore sends the app for a capture, void or
// refund (CONTRACT.md §2).
func operationObject(p Payment, kind, id, amountText string) ([]byte, error) {
	switch kind {
	case KindCapture:
		return json.Marshal(CaptureObject{Amount: amountText, Test: p.Test, PaymentID: p.PaymentID, CaptureID: id})
	case KindVoid:
		return json.Marshal(VoidObject{Test: p.Test, VoidID: id, PaymentID: p.PaymentID})
	case KindRefund:
		return json.Marshal(RefundObject{Amount: amountText, Test: p.Test, PaymentID: p.PaymentID, RefundID: id})
	}
	return nil, fmt.Errorf("%q is not an operation", kind)
}

// claimOpID draws a capture (CI), void (VI) or refund (RI) id and claims it
// on the payment ("PI00"'s shape: the time to the second, five digits), so
// that two operations started in the same second never share an id.
func (s *System) claimOpID(ctx context.Context, kind, shopID, paymentID string, now time.Time) (string, error) {
	prefix := map[string]string{KindCapture: "CI00", KindVoid: "VI00", KindRefund: "RI00"}[kind]
	return s.payments.ClaimNew(ctx, paymentKey(shopID, paymentID), func(attempt int) string { return s.env.IDs.Stamped(prefix, now, 5, attempt) },
		func(id string) string { return opKey(kind, shopID, id) })
}

// adminReconcile polls the app's query endpoint about the payment (or a
// refund of it) now, as the scheduled reconciliation would.
func (s *System) adminReconcile(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	shopID, paymentID := pathParam(r, "shopId"), pathParam(r, "paymentId")
	var in struct {
		RefundID string `json:"refundId"`
	}
	if e := decodeOptional(r, &in); e != nil {
		return e
	}
	p, aerr := s.adminPayment(ctx, shopID, paymentID)
	if aerr != nil {
		return aerr
	}
	kind, id := KindPayment, paymentID
	if in.RefundID != "" {
		if p.op(KindRefund, in.RefundID) == nil {
			return adminNotFound("refund of this payment", "refundId", in.RefundID)
		}
		kind, id = KindRefund, in.RefundID
	}
	poll, err := s.reconcile(ctx, shopID, paymentID, kind, id, "admin")
	if err != nil {
		return fmt.Errorf("reconcile %s %s: %w", kind, id, err)
	}
	shop, err := s.shops.Get(ctx, shopID)
	if err != nil {
		return fmt.Errorf("shop %s after reconciling %s %s: %w", shopID, kind, id, err)
	}
	cur, err := s.payments.Get(ctx, paymentKey(shopID, paymentID))
	if err != nil {
		return fmt.Errorf("payment %s after reconciling it: %w", paymentID, err)
	}
	admin.WriteJSON(w, http.StatusOK, map[string]any{"poll": poll, "payment": paymentView(cur, shop)})
	return nil
}
