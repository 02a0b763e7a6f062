package vmgateway

import (
	"context"
	"fmt"

	"github.com/pspsim/pspsim/simulator/listing"
)

// Read-only views for the dashboard (simulator/dashboard): the gateway's
// merchants, payments, refunds, checkout sessions and webhook subscriptions,
// paged newest first. Nothing here changes state; card numbers are masked,
// webhook secrets never leave.

// MerchantRow is a merchant as the dashboard lists it.
type MerchantRow = Merchant

// ListMerchants returns every merchant and what it has activated.
func (s *System) ListMerchants(ctx context.Context) ([]MerchantRow, error) {
	ms, err := s.merchants.List(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("list merchants: %w", err)
	}
	return ms, nil
}

// PaymentRow is a payment as the dashboard lists it: the API's view plus
// who made it.
type PaymentRow struct {
	paymentView
	MerchantID string `json:"merchantId"`
	SessionID  string `json:"sessionId,omitempty"`
}

// ListPayments returns a page of payments, newest first.
func (s *System) ListPayments(ctx context.Context, p listing.Page) (listing.Result[PaymentRow], error) {
	page, err := listing.Newest[Payment](ctx, s.env.Store, s.payments.Kind(), p, nil)
	return listing.Map(page, func(pay Payment) PaymentRow {
		return PaymentRow{paymentView: viewPayment(pay), MerchantID: pay.MerchantID, SessionID: pay.SessionID}
	}), err
}

// RefundRow is a refund as the dashboard lists it.
type RefundRow struct {
	refundView
	MerchantID  string `json:"merchantId"`
	Environment string `json:"environment"`
}

// ListRefunds returns a page of refunds, newest first.
func (s *System) ListRefunds(ctx context.Context, p listing.Page) (listing.Result[RefundRow], error) {
	page, err := listing.Newest[Refund](ctx, s.env.Store, s.refunds.Kind(), p, nil)
	return listing.Map(page, func(r Refund) RefundRow {
		return RefundRow{refundView: viewRefund(r), MerchantID: r.MerchantID, Environment: r.Environment}
	}), err
}

// SessionRow is a checkout session as the dashboard lists it.
type SessionRow struct {
	sessionView
	MerchantID  string `json:"merchantId"`
	Environment string `json:"environment"`
	Attempts    int    `json:"attempts"`
}

// ListSessions returns a page of checkout sessions, newest first.
func (s *System) ListSessions(ctx context.Context, p listing.Page) (listing.Result[SessionRow], error) {
	page, err := listing.Newest[Session](ctx, s.env.Store, s.sessions.Kind(), p, nil)
	return listing.Map(page, func(ss Session) SessionRow {
		return SessionRow{sessionView: s.viewSession(ss), MerchantID: ss.MerchantID, Environment: ss.Environment, Attempts: len(ss.Attempts)}
	}), err
}

// SubscriptionRow is a webhook subscription without its secret.
type SubscriptionRow struct {
	SubscriptionID string `json:"subscriptionId"`
	MerchantID     string `json:"merchantId"`
	Environment    string `json:"environment"`
	APIVersion     string `json:"apiVersion"`
	SignMethod     string `json:"signMethod"`
	SubscribeURL   string `json:"subscribeUrl"`
	CreatedAt      string `json:"createdAt"`
}

// ListSubscriptions returns every webhook subscription, secrets left out.
func (s *System) ListSubscriptions(ctx context.Context) ([]SubscriptionRow, error) {
	subs, err := s.subs.List(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("list webhook subscriptions: %w", err)
	}
	out := make([]SubscriptionRow, 0, len(subs))
	for _, sub := range subs {
		out = append(out, SubscriptionRow{SubscriptionID: sub.SubscriptionID, MerchantID: sub.MerchantID, Environment: sub.Environment,
			APIVersion: sub.APIVersion, SignMethod: sub.SignMethod, SubscribeURL: sub.SubscribeURL, CreatedAt: ts(sub.CreatedAt)})
	}
	return out, nil
}
