package codepay

import (
	"context"
	"fmt"
	"time"

	"github.com/pspsim/pspsim/simulator/listing"
)

// Read-only views for the dashboard (simulator/dashboard) and the terminal
// list page. Nothing here changes state; card numbers appear masked only.

// ListMerchants returns every merchant with its stores and terminals.
func (s *System) ListMerchants(ctx context.Context) ([]Merchant, error) {
	ms, err := s.merchants.List(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("list merchants: %w", err)
	}
	return ms, nil
}

// ListTerminals returns every terminal as its page shows it: online or
// offline, the order on screen, the queue, the open batches.
func (s *System) ListTerminals(ctx context.Context) ([]TerminalView, error) {
	terms, err := s.terminals.List(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("list terminals: %w", err)
	}
	out := make([]TerminalView, 0, len(terms))
	for _, t := range terms {
		v, err := s.terminalView(ctx, t.SN)
		if err != nil {
			continue // gone since the list (a reset)
		}
		out = append(out, v)
	}
	return out, nil
}

// OrderRow is one transaction in the dashboard's list of orders.
type OrderRow struct {
	TransNo         string    `json:"trans_no"`
	MerchantOrderNo string    `json:"merchant_order_no"`
	MerchantNo      string    `json:"merchant_no"`
	TerminalSN      string    `json:"terminal_sn,omitempty"`
	Environment     string    `json:"environment"`
	Channel         string    `json:"channel"`
	TransType       string    `json:"trans_type"`
	Status          string    `json:"trans_status"`
	Step            string    `json:"step,omitempty"`
	Amount          string    `json:"trans_amount"`
	Currency        string    `json:"price_currency"`
	Card            string    `json:"card,omitempty"`
	OrigTransNo     string    `json:"orig_trans_no,omitempty"`
	CreatedAt       time.Time `json:"createdAt"`
}

// ListOrders returns a page of transactions (orders, refunds, captures),
// newest first.
func (s *System) ListOrders(ctx context.Context, p listing.Page) (listing.Result[OrderRow], error) {
	page, err := listing.Newest[Txn](ctx, s.env.Store, s.txns.Kind(), p, nil)
	return listing.Map(page, func(t Txn) OrderRow {
		return OrderRow{
			TransNo: t.TransNo, MerchantOrderNo: t.MerchantOrderNo, MerchantNo: t.MerchantNo, TerminalSN: t.TerminalSN,
			Environment: t.Environment, Channel: t.Channel, TransType: typeNames[t.TransType], Status: t.Status.String(), Step: stepOf(&t),
			Amount: fmtAmount(t.TransAmount(), t.Currency), Currency: t.Currency, Card: t.CardMasked, OrigTransNo: t.OrigTransNo, CreatedAt: t.CreatedAt,
		}
	}), err
}

// BatchRow is one batch with its count and totals.
type BatchRow struct {
	BatchNo     string     `json:"batchNo"`
	TerminalSN  string     `json:"terminalSn"`
	MerchantNo  string     `json:"merchantNo"`
	Environment string     `json:"environment"`
	Count       int        `json:"count"`
	Totals      []string   `json:"totals"`
	OpenedAt    time.Time  `json:"openedAt"`
	ClosedAt    *time.Time `json:"closedAt,omitempty"`
}

// ListBatches returns a page of batches, newest first, open and closed.
func (s *System) ListBatches(ctx context.Context, p listing.Page) (listing.Result[BatchRow], error) {
	page, err := listing.Newest[Batch](ctx, s.env.Store, s.batches.Kind(), p, nil)
	out := listing.Result[BatchRow]{Next: page.Next, Total: page.Total}
	if err != nil {
		return out, err
	}
	for _, b := range page.Items {
		sum, err := s.summarize(ctx, []Batch{b})
		if err != nil {
			return out, err
		}
		row := BatchRow{BatchNo: b.BatchNo, TerminalSN: b.TerminalSN, MerchantNo: b.MerchantNo, Environment: b.Environment,
			Count: sum.Count, OpenedAt: b.OpenedAt, ClosedAt: b.ClosedAt}
		for _, c := range sortedKeys(sum.ByCcy) {
			row.Totals = append(row.Totals, fmtAmount(sum.ByCcy[c].Minor, c)+" "+c)
		}
		out.Items = append(out.Items, row)
	}
	return out, nil
}
