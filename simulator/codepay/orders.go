package codepay

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/pspsim/pspsim/simulator/apierr"
)

func invalid(field, rule, format string, args ...any) *apierr.Error {
	return apierr.Field(apierr.Invalid, field, rule, format, args...).WithCode(CodeInvalidParameter)
}

func missing(field, format string, args ...any) *apierr.Error {
	return apierr.Field(apierr.Missing, field, "required", format, args...).WithCode(CodeMissingParameter)
}

func boolOr(b *bool, def bool) bool {
	if b == nil {
		return def
	}
	return *b
}

// createOrderIn is wisehub.cloud.pay.order's body.
type createOrderIn struct {
	MerchantNo                     string      `json:"merchant_no"`
	StoreNo                        string      `json:"store_no"`
	TerminalSN                     string      `json:"terminal_sn"`
	PayScenario                    string      `json:"pay_scenario"`
	PayMethodID                    string      `json:"pay_method_id"`
	CardType                       int         `json:"card_type"`
	PriceCurrency                  string      `json:"price_currency"`
	OrderAmount                    json.Number `json:"order_amount"`
	TipAmount                      json.Number `json:"tip_amount"`
	OnScreenTip                    *bool       `json:"on_screen_tip"`
	CashbackAmount                 json.Number `json:"cashback_amount"`
	TransType                      int         `json:"trans_type"`
	MerchantOrderNo                string      `json:"merchant_order_no"`
	OrigMerchantOrderNo            string      `json:"orig_merchant_order_no"`
	Description                    string      `json:"description"`
	Attach                         string      `json:"attach"`
	NotifyURL                      string      `json:"notify_url"`
	Expires                        int64       `json:"expires"`
	OrderQueueMode                 string      `json:"order_queue_mode"`
	RejectTradeWhenTerminalOffline *bool       `json:"reject_trade_when_terminal_offline"`
	RequiredTerminalAuthentication *bool       `json:"required_terminal_authentication"`
	OnScreenSignature              *bool       `json:"on_screen_signature"`
	ReceiptPrintMode               int         `json:"receipt_print_mode"`
	ConfirmOnTerminal              *bool       `json:"confirm_on_terminal"`
}

// createOrder pushes an order to a terminal (wisehub.cloud.pay.order).
func (s *System) createOrder(w http.ResponseWriter, r *http.Request) {
	var in createOrderIn
	if err := decode(r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	c := callerOf(r.Context())
	t, online, err := s.newTerminalOrder(r.Context(), c, in)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	status := "offline"
	if online {
		status = "online"
	}
	s.answer(w, r, map[string]string{"trans_no": t.TransNo, "merchant_order_no": t.MerchantOrderNo, "terminal_sn": t.TerminalSN},
		map[string]any{"message_id": t.MessageID, "trans_no": t.TransNo, "terminal_online_status": status})
}

func (s *System) newTerminalOrder(ctx context.Context, c *Caller, in createOrderIn) (Txn, bool, error) {
	if aerr := knownCurrency(in.PriceCurrency); aerr != nil {
		return Txn{}, false, aerr
	}
	amt, aerr := amount("order_amount", in.OrderAmount, in.PriceCurrency, true, true)
	if aerr != nil {
		return Txn{}, false, aerr
	}
	tip, aerr := amount("tip_amount", in.TipAmount, in.PriceCurrency, false, false)
	if aerr != nil {
		return Txn{}, false, aerr
	}
	cashback, aerr := amount("cashback_amount", in.CashbackAmount, in.PriceCurrency, false, false)
	if aerr != nil {
		return Txn{}, false, aerr
	}
	tt := in.TransType
	switch {
	case cashback > 0 && tt != TypeCashback:
		return Txn{}, false, invalid("cashback_amount", "trans_type", "cashback_amount: can be set only with trans_type 11 (sale with cashback)")
	case tt == TypeCashback && cashback == 0:
		return Txn{}, false, missing("cashback_amount", "cashback_amount: is required with trans_type 11 (sale with cashback)")
	case boolOr(in.OnScreenTip, false) && !tipOnScreen(tt):
		return Txn{}, false, invalid("on_screen_tip", "trans_type", "on_screen_tip: can be set only with trans_type 1, 3 or 4")
	case tip > 0 && !(tt == TypeSale || tt == TypeRefund || tt == TypePreAuth || tt == TypePreAuthCompletion || tt == TypeCashback):
		return Txn{}, false, invalid("tip_amount", "trans_type", "tip_amount: applies to trans_type 1, 3, 4, 6 and 11, not %d (%s)", tt, typeNames[tt])
	case needsOriginal(tt) && in.OrigMerchantOrderNo == "":
		return Txn{}, false, missing("orig_merchant_order_no", "orig_merchant_order_no: is required with trans_type %d (%s)", tt, typeNames[tt])
	case !needsOriginal(tt) && in.OrigMerchantOrderNo != "":
		return Txn{}, false, invalid("orig_merchant_order_no", "trans_type", "orig_merchant_order_no: applies only to trans_type 2, 3, 5, 6, 7 and 8")
	}
	now := s.env.Clock.Now()
	mode := in.OrderQueueMode
	if mode == "" {
		mode = "FIFO"
	}
	t := Txn{
		TransNo: s.newTransNo(), MessageID: "M" + s.env.IDs.Digits(21), Environment: c.Environment, AppID: c.App.AppID,
		MerchantNo: c.MerchantNo, StoreNo: c.StoreNo, TerminalSN: in.TerminalSN, MerchantOrderNo: in.MerchantOrderNo,
		TransType: tt, Status: StatusCreated, Channel: ChannelTerminal, Currency: in.PriceCurrency,
		Amount: amt, Tip: tip, Cashback: cashback, Description: in.Description, Attach: in.Attach, NotifyURL: in.NotifyURL,
		PayScenario: in.PayScenario, PayMethodID: in.PayMethodID, CreatedAt: now, ExpiresAt: now.Add(time.Duration(in.Expires) * time.Second),
		Options: TerminalOptions{
			ConfirmOnTerminal:     boolOr(in.ConfirmOnTerminal, false),
			OnScreenTip:           boolOr(in.OnScreenTip, false),
			OnScreenSignature:     boolOr(in.OnScreenSignature, true),
			RequiredAuthorization: boolOr(in.RequiredTerminalAuthentication, false),
			ReceiptPrintMode:      in.ReceiptPrintMode,
			QueueMode:             mode,
			RejectWhenOffline:     boolOr(in.RejectTradeWhenTerminalOffline, false),
			CardType:              in.CardType,
		},
	}
	if t.PayScenario == "" {
		t.PayScenario = "SWIPE_CARD"
	}
	var online bool
	err := s.do(false, func(fx *effects) error {
		if needsOriginal(tt) {
			o, err := s.byOrderNo(ctx, c.Environment, c.MerchantNo, in.OrigMerchantOrderNo)
			if err != nil {
				return notFound("orig_merchant_order_no", "orig_merchant_order_no: merchant %s has no transaction %s", c.MerchantNo, in.OrigMerchantOrderNo)
			}
			if o.TerminalSN == "" {
				return statusForbids("%s was not paid on a terminal: use order.refund.submit or order.revoker", o.MerchantOrderNo)
			}
			if o.Currency != t.Currency {
				return invalid("price_currency", "original", "price_currency: must be %s, the currency of %s", o.Currency, o.MerchantOrderNo)
			}
			if isRefund(tt) {
				if holder, aerr := s.moneyHolder(ctx, o); aerr != nil {
					return aerr
				} else {
					o = holder
				}
			}
			if tt == TypeVoid && t.Amount != o.Amount && t.Amount != o.TransAmount() {
				return invalid("order_amount", "original", "order_amount: a void reverses all of %s: %s %s", o.MerchantOrderNo, fmtAmount(o.TransAmount(), o.Currency), o.Currency)
			}
			if aerr := s.checkOriginal(ctx, tt, refAmount(&t, &o), &o); aerr != nil {
				return aerr
			}
			t.OrigTransNo, t.OrigMerchantOrderNo = o.TransNo, o.MerchantOrderNo
		}
		term, err := s.terminals.Get(ctx, t.TerminalSN)
		if err != nil {
			return apierr.Field(apierr.NotFound, "terminal_sn", "unknown", "terminal_sn: no terminal %s", t.TerminalSN).WithCode(CodeUnknownMerchant)
		}
		online = term.Online
		if !online && t.Options.RejectWhenOffline {
			s.env.Record(Name, "terminal.order_rejected", fmt.Sprintf("terminal %s is offline: %s rejected (reject_trade_when_terminal_offline)", term.SN, t.MerchantOrderNo),
				map[string]string{"terminal_sn": term.SN, "merchant_order_no": t.MerchantOrderNo, "merchant_no": t.MerchantNo}, nil)
			return apierr.Field(apierr.Unavailable, "terminal_sn", "offline",
				"terminal_sn: terminal %s is offline since %s and reject_trade_when_terminal_offline is true", term.SN, term.Since.UTC().Format(time.RFC3339)).WithCode(CodeTerminalOffline)
		}
		if err := s.create(ctx, &t); err != nil {
			return err
		}
		s.record("order.created", fmt.Sprintf("%s %s (%s) of %s %s for terminal %s", typeNames[tt], t.MerchantOrderNo, t.TransNo,
			fmtAmount(t.TransAmount(), t.Currency), t.Currency, t.TerminalSN), &t,
			map[string]any{"transType": tt, "amount": fmtAmount(t.Amount, t.Currency), "tip": fmtAmount(t.Tip, t.Currency), "currency": t.Currency, "expires": in.Expires})
		if _, err := s.push(ctx, fx, &t); err != nil {
			return err
		}
		s.scheduleExpiry(&t)
		return nil
	})
	if err != nil {
		return Txn{}, false, err
	}
	return t, online, nil
}

// closeOrder closes an unpaid order and removes it from the terminal's
// queue (wisehub.cloud.pay.close). Only status 9 can be closed.
func (s *System) closeOrder(w http.ResponseWriter, r *http.Request) {
	var in struct {
		TerminalSN      string `json:"terminal_sn"`
		MerchantOrderNo string `json:"merchant_order_no"`
		Description     string `json:"description"`
	}
	if err := decode(r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	ctx := r.Context()
	c := callerOf(ctx)
	var t Txn
	err := s.do(false, func(fx *effects) error {
		var err error
		t, err = s.byOrderNo(ctx, c.Environment, c.MerchantNo, in.MerchantOrderNo)
		if err != nil || t.Channel != ChannelTerminal || t.TerminalSN != in.TerminalSN {
			return notFound("merchant_order_no", "merchant_order_no: terminal %s has no order %s of merchant %s", in.TerminalSN, in.MerchantOrderNo, c.MerchantNo)
		}
		if t.Status != StatusCreated {
			return statusForbids("order %s is %s (trans_status %d): only an order awaiting payment (9) can be closed; void a paid one with trans_type 2",
				t.MerchantOrderNo, t.Status, t.Status)
		}
		why := "closed by the merchant"
		if in.Description != "" {
			why += ": " + in.Description
		}
		if err := s.setStatus(&t, StatusCancelled, why); err != nil {
			return err
		}
		return s.finalize(ctx, fx, &t)
	})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.answer(w, r, map[string]string{"trans_no": t.TransNo, "merchant_order_no": t.MerchantOrderNo, "terminal_sn": t.TerminalSN},
		map[string]any{"message_id": "M" + s.env.IDs.Digits(21), "trans_no": t.TransNo})
}

// lookupIn is the body of the queries: trans_no wins over merchant_order_no.
type lookupIn struct {
	MerchantOrderNo string `json:"merchant_order_no"`
	TransNo         string `json:"trans_no"`
}

// queryOrder answers a transaction's status (order.query).
func (s *System) queryOrder(w http.ResponseWriter, r *http.Request) {
	var in lookupIn
	if err := decode(r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	c := callerOf(r.Context())
	t, aerr := s.find(r.Context(), c.Environment, []string{c.MerchantNo}, in.TransNo, in.MerchantOrderNo, "trans_no", "merchant_order_no")
	if aerr != nil {
		s.fail(w, r, aerr)
		return
	}
	s.answer(w, r, txnIDs(&t), orderFields(&t))
}

// queryRefund answers a refund's status (order.refund.query).
func (s *System) queryRefund(w http.ResponseWriter, r *http.Request) {
	var in lookupIn
	if err := decode(r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	c := callerOf(r.Context())
	t, aerr := s.find(r.Context(), c.Environment, []string{c.MerchantNo}, in.TransNo, in.MerchantOrderNo, "trans_no", "merchant_order_no")
	if aerr == nil && !isRefund(t.TransType) {
		field, id := "merchant_order_no", in.MerchantOrderNo
		if in.TransNo != "" {
			field, id = "trans_no", in.TransNo
		}
		aerr = notFound(field, "%s: %s is a %s, not a refund (use order.query)", field, id, typeNames[t.TransType])
	}
	if aerr != nil {
		s.fail(w, r, aerr)
		return
	}
	s.answer(w, r, txnIDs(&t), refundFields(&t))
}

func txnIDs(t *Txn) map[string]string {
	return map[string]string{"trans_no": t.TransNo, "merchant_order_no": t.MerchantOrderNo, "terminal_sn": t.TerminalSN}
}

// revokeOrder cancels an order whose outcome is unclear or unwanted
// (order.revoker): an unpaid or processing order is closed, a paid one is
// refunded in full; an order already failed or cancelled answers success
// again (the seed tells merchants to call it again when unsure). Offline
// card transactions are refused: they are voided on the terminal.
func (s *System) revokeOrder(w http.ResponseWriter, r *http.Request) {
	var in struct {
		MerchantOrderNo string `json:"merchant_order_no"`
	}
	if err := decode(r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	ctx := r.Context()
	c := callerOf(ctx)
	var t Txn
	err := s.do(false, func(fx *effects) error {
		var err error
		t, err = s.byOrderNo(ctx, c.Environment, c.MerchantNo, in.MerchantOrderNo)
		if err != nil {
			return notFound("merchant_order_no", "merchant_order_no: merchant %s has no order %s", c.MerchantNo, in.MerchantOrderNo)
		}
		if t.Offline() {
			return statusForbids("%s is an offline bank card transaction: order.revoker cancels QR and online transactions only; void it on the terminal (trans_type 2) or refund it", t.MerchantOrderNo)
		}
		if !needsPayment(t.TransType) {
			return statusForbids("%s is a %s, not a payment order", t.MerchantOrderNo, typeNames[t.TransType])
		}
		switch t.Status {
		case StatusFailed, StatusCancelled:
			s.record("order.revoke_repeated", fmt.Sprintf("order.revoker on %s, already %s: nothing to do", t.MerchantOrderNo, t.Status), &t, nil)
			return nil
		case StatusCreated, StatusProcessing:
			if t.HostTimeout {
				t.RespCode, t.RespMsg = "91", "[91]REVERSED: host timeout"
			}
			if err := s.setStatus(&t, StatusCancelled, "cancelled by order.revoker before payment completed"); err != nil {
				return err
			}
			return s.finalize(ctx, fx, &t)
		}
		if t.TransType == TypePreAuth && t.CaptureTransNo != "" {
			return statusForbids("pre-authorization %s was captured by %s: refund the completion instead", t.MerchantOrderNo, t.CaptureTransNo)
		}
		refund := t.Refundable()
		t.Refunded += refund
		t.ReversedBy = "order.revoker"
		if err := s.setStatus(&t, StatusCancelled, fmt.Sprintf("cancelled by order.revoker after payment: %s %s refunded in full", fmtAmount(refund, t.Currency), t.Currency)); err != nil {
			return err
		}
		return s.finalize(ctx, fx, &t)
	})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	data := map[string]any{"trans_no": t.TransNo}
	if t.MessageID != "" {
		data["message_id"] = t.MessageID
	}
	s.answer(w, r, txnIDs(&t), data)
}

// submitRefund refunds part or all of a paid transaction
// (order.refund.submit).
func (s *System) submitRefund(w http.ResponseWriter, r *http.Request) {
	var in struct {
		OrigMerchantOrderNo string      `json:"orig_merchant_order_no"`
		OrigTransNo         string      `json:"orig_trans_no"`
		MerchantOrderNo     string      `json:"merchant_order_no"`
		PriceCurrency       string      `json:"price_currency"`
		OrderAmount         json.Number `json:"order_amount"`
		Description         string      `json:"description"`
		NotifyURL           string      `json:"notify_url"`
	}
	if err := decode(r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	ctx := r.Context()
	c := callerOf(ctx)
	var refund *Txn
	err := s.do(false, func(fx *effects) error {
		o, aerr := s.find(ctx, c.Environment, []string{c.MerchantNo}, in.OrigTransNo, in.OrigMerchantOrderNo, "orig_trans_no", "orig_merchant_order_no")
		if aerr != nil {
			return aerr
		}
		if o, aerr = s.moneyHolder(ctx, o); aerr != nil {
			return aerr
		}
		if in.PriceCurrency != o.Currency {
			return invalid("price_currency", "original", "price_currency: must be %s, the currency of %s", o.Currency, o.MerchantOrderNo)
		}
		amt, aerr := amount("order_amount", in.OrderAmount, o.Currency, true, true)
		if aerr != nil {
			return aerr
		}
		tt := TypeRefund
		if o.TransType == TypePreAuthCompletion {
			tt = TypeCompletionRefund
		}
		t, err := s.gatewayReference(ctx, fx, c, tt, in.MerchantOrderNo, amt, 0, &o, in.NotifyURL, in.Description)
		refund = t
		return err
	})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.answer(w, r, txnIDs(refund), map[string]any{
		"trans_no": refund.TransNo, "trans_amount": fmtAmount(refund.Amount, refund.Currency), "trans_fee_c": "0", "vat_amount": "0",
	})
}

// tipAdjustment replaces the tip of a card-present sale in an open batch
// (tip.adjustment).
func (s *System) tipAdjustment(w http.ResponseWriter, r *http.Request) {
	var in struct {
		MerchantOrderNo     string      `json:"merchant_order_no"`
		TipAdjustmentAmount json.Number `json:"tip_adjustment_amount"`
	}
	if err := decode(r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	ctx := r.Context()
	c := callerOf(ctx)
	var t Txn
	err := s.do(false, func(fx *effects) error {
		var err error
		t, err = s.byOrderNo(ctx, c.Environment, c.MerchantNo, in.MerchantOrderNo)
		if err != nil {
			return notFound("merchant_order_no", "merchant_order_no: merchant %s has no transaction %s", c.MerchantNo, in.MerchantOrderNo)
		}
		return s.adjustTipOf(ctx, &t, "tip_adjustment_amount", in.TipAdjustmentAmount)
	})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.answer(w, r, txnIDs(&t), map[string]any{})
}

// adjustTipOf sets a new tip on a card-present sale or completion whose batch
// is still open.
func (s *System) adjustTipOf(ctx context.Context, t *Txn, field string, n json.Number) error {
	tip, aerr := amount(field, n, t.Currency, true, false)
	if aerr != nil {
		return aerr
	}
	switch {
	case !(t.TransType == TypeSale || t.TransType == TypePreAuthCompletion || t.TransType == TypeCashback):
		return statusForbids("a tip adjusts a sale or a completion; %s is a %s", t.MerchantOrderNo, typeNames[t.TransType])
	case !t.Offline():
		return statusForbids("%s was not paid by card on a terminal: only offline card transactions take tip adjustments", t.MerchantOrderNo)
	case t.Status != StatusSuccess:
		return statusForbids("%s is %s (trans_status %d): only a successful transaction takes a tip adjustment", t.MerchantOrderNo, t.Status, t.Status)
	case s.batchClosed(ctx, t):
		return statusForbids("the batch %s of %s is closed: its tip can no longer be adjusted", t.BatchNo, t.MerchantOrderNo)
	case t.Amount+tip < t.Refunded:
		return apierr.Field(apierr.Unprocessable, field, "minimum", "%s: %s would leave less than the %s already refunded", field,
			fmtAmount(tip, t.Currency), fmtAmount(t.Refunded, t.Currency)).WithCode(CodeAmountExceeds)
	}
	old := t.Tip
	t.Tip = tip
	s.record("order.tip_adjusted", fmt.Sprintf("tip of %s changed from %s to %s %s", t.MerchantOrderNo, fmtAmount(old, t.Currency), fmtAmount(tip, t.Currency), t.Currency), t,
		map[string]any{"from": fmtAmount(old, t.Currency), "to": fmtAmount(tip, t.Currency)})
	return s.save(ctx, t)
}

// batchCloseMethod closes one terminal's batch (batch.close).
func (s *System) batchCloseMethod(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	c := callerOf(ctx)
	var sum Summary
	err := s.do(false, func(fx *effects) error {
		var err error
		sum, err = s.closeTerminalBatches(ctx, c.Environment, c.MerchantNo, []string{c.TerminalSN})
		return err
	})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.answer(w, r, map[string]string{"terminal_sn": c.TerminalSN}, sum.data())
}
