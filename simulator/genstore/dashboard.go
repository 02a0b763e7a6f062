package genstore

import (
	"context"
	"fmt"

	"github.com/pspsim/pspsim/simulator/listing"
)

// Read-only views for the dashboard (simulator/dashboard): the same views
// the admin API answers, listed across shops and paged newest first so that
// a store of tens of thousands of payments renders its first page quickly.
// Nothing here changes state.

// ListApps returns every registered app, without secrets.
func (s *System) ListApps(ctx context.Context) ([]AppView, error) {
	list, err := s.apps.List(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("list apps: %w", err)
	}
	return views(list, appView), nil
}

// ListShops returns every shop.
func (s *System) ListShops(ctx context.Context) ([]Shop, error) {
	list, err := s.shops.List(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("list shops: %w", err)
	}
	return list, nil
}

// ListInstallations returns every installation of every shop, without tokens.
func (s *System) ListInstallations(ctx context.Context) ([]InstallationView, error) {
	list, err := s.installations.List(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("list installations: %w", err)
	}
	return views(list, installationView), nil
}

// ListPayments returns a page of payments of every shop, newest first, as
// the merchant sees them (status, fee and net).
func (s *System) ListPayments(ctx context.Context, p listing.Page) (listing.Result[PaymentView], error) {
	page, err := listing.Newest[Payment](ctx, s.env.Store, s.payments.Kind(), p, nil)
	shops := map[string]Shop{}
	return listing.Map(page, func(pay Payment) PaymentView {
		sh, ok := shops[pay.ShopID]
		if !ok {
			sh, _ = s.shops.Get(ctx, pay.ShopID)
			shops[pay.ShopID] = sh
		}
		return paymentView(pay, sh)
	}), err
}
