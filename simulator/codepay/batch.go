package codepay

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/pspsim/pspsim/simulator/money"
)

// Batches: each terminal has, per merchant and environment, one open batch
// of its offline card transactions (card-present sales, completions and
// refunds; a pre-authorization joins only when completed). Closing it hands
// the transactions to settlement: from then on they can be refunded, no
// longer voided or tip-adjusted. Online card and wallet transactions are
// never batched (seed 003: "only offline bank card transactions will be
// settled").

func batchSlot(env, merchantNo string) string { return env + "/" + merchantNo }

// addToBatch puts a transaction in its terminal's open batch, opening one
// when there is none.
func (s *System) addToBatch(ctx context.Context, t *Txn) error {
	if t.TerminalSN == "" {
		return nil
	}
	slot := batchSlot(t.Environment, t.MerchantNo)
	var batchNo string
	var opened *Batch
	_, err := s.terminals.Update(ctx, t.TerminalSN, func(term *Terminal) error {
		if term.OpenBatch == nil {
			term.OpenBatch = map[string]string{}
		}
		batchNo = term.OpenBatch[slot]
		if batchNo == "" {
			term.BatchSeq++
			batchNo = fmt.Sprintf("%s%06d", term.SN, term.BatchSeq)
			term.OpenBatch[slot] = batchNo
			opened = &Batch{BatchNo: batchNo, TerminalSN: term.SN, MerchantNo: t.MerchantNo, StoreNo: t.StoreNo,
				Environment: t.Environment, TransNos: []string{}, OpenedAt: s.env.Clock.Now()}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("batch of terminal %s: %w", t.TerminalSN, err)
	}
	if opened != nil {
		if err := s.batches.Create(ctx, batchNo, *opened); err != nil {
			return fmt.Errorf("open batch %s: %w", batchNo, err)
		}
		s.env.Record(Name, "batch.opened", fmt.Sprintf("terminal %s opened batch %s for merchant %s", t.TerminalSN, batchNo, t.MerchantNo),
			map[string]string{"terminal_sn": t.TerminalSN, "merchant_no": t.MerchantNo, "batch_no": batchNo}, map[string]any{"environment": t.Environment})
	}
	if _, err := s.batches.Update(ctx, batchNo, func(b *Batch) error { b.TransNos = append(b.TransNos, t.TransNo); return nil }); err != nil {
		return fmt.Errorf("batch %s: %w", batchNo, err)
	}
	t.BatchNo = batchNo
	s.record("batch.added", fmt.Sprintf("%s %s joined batch %s", typeNames[t.TransType], t.MerchantOrderNo, batchNo), t, map[string]any{"batch_no": batchNo})
	return nil
}

// batchClosed reports whether a transaction's batch has closed. A batch the
// store did not answer for is an error, not an open batch: a void of a
// closed batch's sale must not pass because the database was busy.
func (s *System) batchClosed(ctx context.Context, t *Txn) (bool, error) {
	if t.BatchNo == "" {
		return false, nil
	}
	b, err := s.batches.Get(ctx, t.BatchNo)
	if isNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("batch %s of %s: %w", t.BatchNo, t.TransNo, err)
	}
	return b.ClosedAt != nil, nil
}

// Decimal is an exact decimal amount: Units at scale 10^-4 (the largest
// ISO-4217 exponent), printed with Places decimals.
type Decimal struct {
	Units  int64
	Places int
}

func (d *Decimal) add(minor int64, currency string) {
	exp, ok := money.Exponent(currency)
	if !ok {
		exp = 2
	}
	for i := exp; i < 4; i++ {
		minor *= 10
	}
	d.Units += minor
	if exp > d.Places {
		d.Places = exp
	}
}

// String renders the decimal as JSON number text ("100.00", "-3.5" never:
// always Places decimals; "0" for an empty sum).
func (d Decimal) String() string {
	u := d.Units
	for i := d.Places; i < 4; i++ {
		u /= 10
	}
	neg := u < 0
	if neg {
		u = -u
	}
	txt := strconv.FormatInt(u, 10)
	if d.Places > 0 {
		if len(txt) <= d.Places {
			txt = strings.Repeat("0", d.Places-len(txt)+1) + txt
		}
		txt = txt[:len(txt)-d.Places] + "." + txt[len(txt)-d.Places:]
	}
	if neg {
		txt = "-" + txt
	}
	return txt
}

// Summary is a count and net total of batched transactions, overall and per
// currency.
type Summary struct {
	Count  int
	Total  Decimal
	ByCcy  map[string]*CurrencyTotal
	Closed []string
}

// CurrencyTotal is one currency's part of a summary.
type CurrencyTotal struct {
	Currency string `json:"price_currency"`
	Count    int    `json:"count"`
	Minor    int64  `json:"-"`
	Total    string `json:"total_amount"`
}

// summarize counts the successful transactions of batches: sales and
// completions add what the card was charged, refunds subtract. Voided
// transactions (cancelled) are out.
func (s *System) summarize(ctx context.Context, bs []Batch) (Summary, error) {
	sum := Summary{ByCcy: map[string]*CurrencyTotal{}}
	for _, b := range bs {
		for _, no := range b.TransNos {
			t, err := s.txns.Get(ctx, no)
			if err != nil {
				return sum, fmt.Errorf("batch %s: %w", b.BatchNo, err)
			}
			if t.Status != StatusSuccess {
				continue
			}
			v := t.TransAmount()
			if isRefund(t.TransType) {
				v = -(t.Amount + t.Tip)
			}
			sum.Count++
			sum.Total.add(v, t.Currency)
			ct := sum.ByCcy[t.Currency]
			if ct == nil {
				ct = &CurrencyTotal{Currency: t.Currency}
				sum.ByCcy[t.Currency] = ct
			}
			ct.Count++
			ct.Minor += v
		}
	}
	return sum, nil
}

// data renders a summary as the batch answers' data.
func (sum Summary) data() map[string]any {
	totals := []CurrencyTotal{}
	for _, c := range sortedKeys(sum.ByCcy) {
		ct := *sum.ByCcy[c]
		ct.Total = fmtAmount(ct.Minor, c)
		totals = append(totals, ct)
	}
	return map[string]any{"count": sum.Count, "total_amount": json.Number(sum.Total.String()), "totals": totals}
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func sortedValues(m map[string]string) []string {
	var out []string
	for _, k := range sortedKeys(m) {
		out = append(out, m[k])
	}
	return out
}

// openBatches returns the open batches of terminals for a merchant and
// environment.
func (s *System) openBatches(ctx context.Context, env, merchantNo string, sns []string) ([]Batch, error) {
	var out []Batch
	for _, sn := range sns {
		term, err := s.terminals.Get(ctx, sn)
		if isNotFound(err) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("terminal %s: %w", sn, err)
		}
		no := term.OpenBatch[batchSlot(env, merchantNo)]
		if no == "" {
			continue
		}
		b, err := s.batches.Get(ctx, no)
		if err != nil {
			return nil, fmt.Errorf("batch %s: %w", no, err)
		}
		out = append(out, b)
	}
	return out, nil
}

// closeTerminalBatches closes the open batches of terminals and returns
// what they held. A terminal without an open batch closes nothing (count 0).
func (s *System) closeTerminalBatches(ctx context.Context, env, merchantNo string, sns []string) (Summary, error) {
	bs, err := s.openBatches(ctx, env, merchantNo, sns)
	if err != nil {
		return Summary{}, err
	}
	sum, err := s.summarize(ctx, bs)
	if err != nil {
		return sum, err
	}
	now := s.env.Clock.Now()
	slot := batchSlot(env, merchantNo)
	for _, b := range bs {
		if _, err := s.batches.Update(ctx, b.BatchNo, func(b *Batch) error { b.ClosedAt = &now; return nil }); err != nil {
			return sum, fmt.Errorf("close batch %s: %w", b.BatchNo, err)
		}
		if _, err := s.terminals.Update(ctx, b.TerminalSN, func(term *Terminal) error { delete(term.OpenBatch, slot); return nil }); err != nil {
			return sum, fmt.Errorf("close batch %s: %w", b.BatchNo, err)
		}
		one, _ := s.summarize(ctx, []Batch{b})
		s.env.Record(Name, "batch.closed", fmt.Sprintf("terminal %s closed batch %s: %d transaction(s), total %s", b.TerminalSN, b.BatchNo, one.Count, one.Total.String()),
			map[string]string{"terminal_sn": b.TerminalSN, "merchant_no": merchantNo, "batch_no": b.BatchNo},
			map[string]any{"count": one.Count, "total_amount": one.Total.String(), "environment": env})
		sum.Closed = append(sum.Closed, b.BatchNo)
	}
	return sum, nil
}

// terminalsOf lists the terminals of a merchant (of one store when storeNo
// is set), sorted.
func (s *System) terminalsOf(ctx context.Context, merchantNo, storeNo string) ([]string, error) {
	m, err := s.merchants.Get(ctx, merchantNo)
	if err != nil {
		return nil, fmt.Errorf("merchant %s: %w", merchantNo, err)
	}
	var out []string
	for _, st := range m.Stores {
		if storeNo == "" || st.StoreNo == storeNo {
			out = append(out, st.Terminals...)
		}
	}
	sort.Strings(out)
	return out, nil
}
