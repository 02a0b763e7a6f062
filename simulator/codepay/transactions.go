package codepay

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/pspsim/pspsim/simulator/apierr"
	"github.com/pspsim/pspsim/simulator/money"
	"github.com/pspsim/pspsim/simulator/openapi"
	"github.com/pspsim/pspsim/simulator/store"
)

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

// create stores a new transaction, claiming its merchant_order_no.
func (s *System) create(ctx context.Context, t *Txn) error {
	err := s.txns.Create(ctx, t.TransNo, *t, orderKey(t.Environment, t.MerchantNo, t.MerchantOrderNo))
	if errors.Is(err, store.ErrExists) {
		return apierr.Field(apierr.Conflict, "merchant_order_no", "unique",
			"merchant_order_no: %s is already used by merchant %s", t.MerchantOrderNo, t.MerchantNo).WithCode(CodeDuplicateOrder)
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
		if err == nil && t.Environment == env && contains(merchants, t.MerchantNo) {
			return t, nil
		}
		return Txn{}, notFound(transField, "%s: no transaction %s", transField, transNo)
	}
	if merchantOrderNo != "" {
		for _, m := range merchants {
			if t, err := s.byOrderNo(ctx, env, m, merchantOrderNo); err == nil {
				return t, nil
			}
		}
		return Txn{}, notFound(orderField, "%s: no transaction %s", orderField, merchantOrderNo)
	}
	return Txn{}, apierr.Field(apierr.Missing, transField, "required", "%s: is required (or %s)", transField, orderField).WithCode(CodeMissingParameter)
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// decode reads the validated body into v, keeping numbers as their literal
// text (json.Number) so amounts never pass through float64.
func decode(r *http.Request, v any) *apierr.Error {
	req := openapi.FromContext(r.Context())
	dec := json.NewDecoder(bytes.NewReader(req.Body))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return apierr.New(apierr.Malformed, "request body: %v", err)
	}
	return nil
}

// amount parses an amount's literal JSON text in the currency's ISO-4217
// exponent. An absent amount is zero unless required.
func amount(field string, n json.Number, currency string, required, positive bool) (int64, *apierr.Error) {
	if n == "" {
		if required {
			return 0, apierr.Required(field).WithCode(CodeMissingParameter)
		}
		return 0, nil
	}
	var v int64
	var err error
	if positive {
		v, err = money.ParsePositive(string(n), currency)
	} else {
		v, err = money.Parse(string(n), currency)
	}
	if err != nil {
		var pe *money.ParseError
		if errors.As(err, &pe) {
			if pe.Rule == money.RuleCurrency {
				return 0, apierr.Field(apierr.Invalid, "price_currency", "currency", "price_currency: %s", pe.Message).WithCode(CodeInvalidParameter)
			}
			return 0, apierr.Field(apierr.Invalid, field, string(pe.Rule), "%s: %s", field, pe.Message).WithCode(CodeInvalidParameter)
		}
		return 0, apierr.Field(apierr.Invalid, field, "format", "%s: is not an amount", field).WithCode(CodeInvalidParameter)
	}
	return v, nil
}

// knownCurrency checks price_currency against ISO-4217.
func knownCurrency(c string) *apierr.Error {
	if _, ok := money.Exponent(c); !ok {
		return apierr.Field(apierr.Invalid, "price_currency", "currency", "price_currency: %s is not an ISO-4217 currency", c).WithCode(CodeInvalidParameter)
	}
	return nil
}

// fmtAmount renders minor units as the decimal text CodePay answers with.
func fmtAmount(minor int64, currency string) string { return money.Format(minor, currency) }

// answer writes a success envelope and journals the request.
func (s *System) answer(w http.ResponseWriter, r *http.Request, ids map[string]string, data any) {
	req := openapi.FromContext(r.Context())
	c := callerOf(r.Context())
	all := map[string]string{"app_id": c.App.AppID}
	if c.MerchantNo != "" {
		all["merchant_no"] = c.MerchantNo
	}
	for k, v := range ids {
		if v != "" {
			all[k] = v
		}
	}
	s.env.Record(Name, "request.answered", fmt.Sprintf("%s answered 0 success (%s)", req.Key, c.Environment), all,
		map[string]any{"method": req.Key, "code": CodeSuccess, "environment": c.Environment})
	s.envelope.Write(w, http.StatusOK, CodeSuccess, "success", data)
}

// fail writes an error envelope (journaled by the envelope's observer).
func (s *System) fail(w http.ResponseWriter, r *http.Request, err error) {
	s.envelope.WriteError(w, r, apierr.Wrap(err))
}

// Timestamps in answers: "yyyy-MM-dd HH:mm:ss", UTC.
const timeLayout = "2006-01-02 15:04:05"

func fmtTime(t time.Time) string { return t.UTC().Format(timeLayout) }

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
