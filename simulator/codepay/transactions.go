package codepay

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/pspsim/pspsim/simulator/apierr"
	"github.com/pspsim/pspsim/simulator/store"
)

// Transactions under the ledger lock: do runs a change of state under the
// lock and performs its effects after it; create, save and the lookups keep
// transactions in the store (merchant_order_no unique per merchant and
// environment); setStatus moves one through the states.go table and
// journals it.

// effects are what a change of state leads to once the ledger lock is
// released: notifications to send and terminals whose autopilot may act.
type effects struct {
	notify []Txn
	pilots []string
	drives []string // terminals whose queue may move on (driven before the lock is released)
}

// do runs fn under the ledger lock, then performs its effects. inTimer says
// whether the caller is a clock timer (notifications are then sent in the
// timer's goroutine, so a simulated-clock advance sees them in order).
func (s *System) do(inTimer bool, fn func(fx *effects) error) error {
	fx := &effects{}
	s.mu.Lock()
	err := fn(fx)
	for n := 0; err == nil && len(fx.drives) > 0; n++ {
		if n > 10000 {
			err = fmt.Errorf("terminal queues do not settle")
			break
		}
		sn := fx.drives[0]
		fx.drives = fx.drives[1:]
		err = s.drive(context.Background(), fx, sn)
	}
	s.mu.Unlock()
	for _, t := range fx.notify {
		s.sendNotification(t, inTimer)
	}
	for _, sn := range dedupe(fx.pilots) {
		s.schedulePilot(sn)
	}
	return err
}

func dedupe(in []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, v := range in {
		if !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	return out
}

// orderKey is the unique key that makes merchant_order_no unique per
// merchant and environment.
func orderKey(env, merchantNo, merchantOrderNo string) string {
	return env + "/" + merchantNo + "/order/" + merchantOrderNo
}

// create stores a new transaction, claiming its trans_no and its
// merchant_order_no in one write. t.TransNo is the candidate newTransNo drew;
// when another transaction holds it, another is drawn (and t changed).
func (s *System) create(ctx context.Context, t *Txn) error {
	_, err := store.NewID(store.Candidate(t.TransNo, func(int) string { return s.newTransNo() }), func(id string) error {
		t.TransNo = id
		return s.txns.Create(ctx, id, *t, orderKey(t.Environment, t.MerchantNo, t.MerchantOrderNo))
	})
	if errors.Is(err, store.ErrExists) {
		return duplicateOrder(t.MerchantOrderNo, t.MerchantNo)
	}
	if err != nil {
		return fmt.Errorf("store transaction %s: %w", t.TransNo, err)
	}
	return nil
}

// save writes back a transaction changed under the ledger lock.
func (s *System) save(ctx context.Context, t *Txn) error {
	_, err := s.txns.Update(ctx, t.TransNo, func(cur *Txn) error { *cur = *t; return nil })
	if err != nil {
		return fmt.Errorf("store transaction %s: %w", t.TransNo, err)
	}
	return nil
}

// duplicateOrder is the 40007 error: merchant_order_no is unique per
// merchant and environment.
func duplicateOrder(merchantOrderNo, merchantNo string) *apierr.Error {
	// The field stays in the text: the message starts with the number, which
	// may itself start with the field's name.
	return apierr.Field(apierr.Conflict, "merchant_order_no", "unique",
		"merchant_order_no: %s is already used by merchant %s", merchantOrderNo, merchantNo).WithCode(CodeDuplicateOrder)
}

// isNotFound reports a store miss.
func isNotFound(err error) bool { return errors.Is(err, store.ErrNotFound) }

// orAbsent is the answer to a lookup's error: absent when the store said
// the object is not there, else the error as the envelope renders it — a
// store that did not answer is Unavailable (HTTP 503, code 50000), never
// "unknown" or "not found" for an object that exists.
func orAbsent(err error, absent *apierr.Error) *apierr.Error {
	if isNotFound(err) {
		return absent
	}
	return apierr.Wrap(err)
}

// byOrderNo finds a merchant's transaction by merchant_order_no.
func (s *System) byOrderNo(ctx context.Context, env, merchantNo, merchantOrderNo string) (Txn, error) {
	return s.txns.Lookup(ctx, orderKey(env, merchantNo, merchantOrderNo))
}

// find resolves trans_no (which wins) or merchant_order_no within the
// caller's environment and one of the merchants given. field names what the
// answer blames when nothing matches.
func (s *System) find(ctx context.Context, env string, merchants []string, transNo, merchantOrderNo, transField, orderField string) (Txn, *apierr.Error) {
	if transNo != "" {
		t, err := s.txns.Get(ctx, transNo)
		if err == nil && t.Environment == env && slices.Contains(merchants, t.MerchantNo) {
			return t, nil
		}
		if err != nil && !isNotFound(err) {
			return Txn{}, apierr.Wrap(fmt.Errorf("transaction %s: %w", transNo, err))
		}
		return Txn{}, notFound(transField, "no transaction %s", transNo)
	}
	if merchantOrderNo != "" {
		for _, m := range merchants {
			t, err := s.byOrderNo(ctx, env, m, merchantOrderNo)
			if err == nil {
				return t, nil
			}
			if !isNotFound(err) {
				return Txn{}, apierr.Wrap(fmt.Errorf("order %s of merchant %s: %w", merchantOrderNo, m, err))
			}
		}
		return Txn{}, notFound(orderField, "no transaction %s", merchantOrderNo)
	}
	return Txn{}, missing(transField, "is required (or %s)", orderField)
}

// newTransNo draws a CodePay transaction number (23 digits, like the seed's).
func (s *System) newTransNo() string { return "50" + s.env.IDs.Digits(21) }

// record journals a CodePay event about a transaction.
func (s *System) record(kind, msg string, t *Txn, data map[string]any) {
	ids := map[string]string{"trans_no": t.TransNo, "merchant_order_no": t.MerchantOrderNo, "merchant_no": t.MerchantNo}
	if t.TerminalSN != "" {
		ids["terminal_sn"] = t.TerminalSN
	}
	if data == nil {
		data = map[string]any{}
	}
	data["environment"] = t.Environment
	s.env.Record(Name, kind, msg, ids, data)
}

// setStatus moves a transaction through the state table and journals it.
func (s *System) setStatus(t *Txn, to Status, why string) error {
	from := t.Status
	if err := t.moveTo(to, s.env.Clock.Now()); err != nil {
		return err
	}
	s.record("order.state_changed", fmt.Sprintf("%s %s (%s) %s → %s: %s", typeNames[t.TransType], t.MerchantOrderNo, t.TransNo, from, to, why), t,
		map[string]any{"from": int(from), "to": int(to), "why": why, "transType": t.TransType})
	return nil
}
