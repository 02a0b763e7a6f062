package codepay

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/pspsim/pspsim/simulator/apierr"
)

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
func (s *System) createOrder(ctx context.Context, c *Caller, in *createOrderIn) (reply, error) {
	t, online, err := s.newTerminalOrder(ctx, c, *in)
	if err != nil {
		return reply{}, err
	}
	return txnReply(&t, map[string]any{"message_id": t.MessageID, "trans_no": t.TransNo, "terminal_online_status": onlineWord(online)}), nil
}

// newTerminalOrder checks a wisehub.cloud.pay.order, stores the order as
// created (9) and pushes it to its terminal; online reports whether the
// terminal was online.
func (s *System) newTerminalOrder(ctx context.Context, c *Caller, in createOrderIn) (t Txn, online bool, err error) {
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
		return Txn{}, false, invalid("cashback_amount", "trans_type", "can be set only with trans_type 11 (sale with cashback)")
	case tt == TypeCashback && cashback == 0:
		return Txn{}, false, missing("cashback_amount", "is required with trans_type 11 (sale with cashback)")
	case boolOr(in.OnScreenTip, false) && !tipOnScreen(tt):
		return Txn{}, false, invalid("on_screen_tip", "trans_type", "can be set only with trans_type 1, 3 or 4")
	case tip > 0 && !(tt == TypeSale || tt == TypeRefund || tt == TypePreAuth || tt == TypePreAuthCompletion || tt == TypeCashback):
		return Txn{}, false, invalid("tip_amount", "trans_type", "applies to trans_type 1, 3, 4, 6 and 11, not %d (%s)", tt, typeNames[tt])
	case needsOriginal(tt) && in.OrigMerchantOrderNo == "":
		return Txn{}, false, missing("orig_merchant_order_no", "is required with trans_type %d (%s)", tt, typeNames[tt])
	case !needsOriginal(tt) && in.OrigMerchantOrderNo != "":
		return Txn{}, false, invalid("orig_merchant_order_no", "trans_type", "applies only to trans_type 2, 3, 5, 6, 7 and 8")
	}
	now := s.env.Clock.Now()
	mode := in.OrderQueueMode
	if mode == "" {
		mode = "FIFO"
	}
	t = Txn{
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
	err = s.do(false, func(fx *effects) error {
		if needsOriginal(tt) {
			if err := s.linkOriginal(ctx, c, &t, in.OrigMerchantOrderNo); err != nil {
				return err
			}
		}
		term, err := s.terminals.Get(ctx, t.TerminalSN)
		if err != nil {
			return orAbsent(err, apierr.Field(apierr.NotFound, "terminal_sn", "unknown", "no terminal %s", t.TerminalSN).WithCode(CodeUnknownMerchant))
		}
		online = term.Online
		if !online && t.Options.RejectWhenOffline {
			s.env.Record(Name, "terminal.order_rejected", fmt.Sprintf("terminal %s is offline: %s rejected (reject_trade_when_terminal_offline)", term.SN, t.MerchantOrderNo),
				map[string]string{"terminal_sn": term.SN, "merchant_order_no": t.MerchantOrderNo, "merchant_no": t.MerchantNo}, nil)
			return apierr.Field(apierr.Unavailable, "terminal_sn", "offline",
				"terminal %s is offline since %s and reject_trade_when_terminal_offline is true", term.SN, term.Since.UTC().Format(time.RFC3339)).WithCode(CodeTerminalOffline)
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

// linkOriginal checks the original of a reference transaction t pushed to a
// terminal (a void, refund, cancel or completion) and names it on t. A
// refund of a captured pre-authorization refunds its completion.
func (s *System) linkOriginal(ctx context.Context, c *Caller, t *Txn, origMerchantOrderNo string) error {
	o, err := s.byOrderNo(ctx, c.Environment, c.MerchantNo, origMerchantOrderNo)
	if err != nil {
		return orAbsent(err, notFound("orig_merchant_order_no", "merchant %s has no transaction %s", c.MerchantNo, origMerchantOrderNo))
	}
	if aerr := mayPushReference(&o); aerr != nil {
		return aerr
	}
	if o.Currency != t.Currency {
		return invalid("price_currency", "original", "must be %s, the currency of %s", o.Currency, o.MerchantOrderNo)
	}
	if isRefund(t.TransType) {
		holder, aerr := s.moneyHolder(ctx, o)
		if aerr != nil {
			return aerr
		}
		o = holder
	}
	if t.TransType == TypeVoid && t.Amount != o.Amount && t.Amount != o.TransAmount() {
		return invalid("order_amount", "original", "a void reverses all of %s: %s %s", o.MerchantOrderNo, fmtAmount(o.TransAmount(), o.Currency), o.Currency)
	}
	if aerr := s.mayReference(ctx, t.TransType, refAmount(t, &o), &o); aerr != nil {
		return aerr
	}
	t.OrigTransNo, t.OrigMerchantOrderNo = o.TransNo, o.MerchantOrderNo
	return nil
}

type closeOrderIn struct {
	TerminalSN      string `json:"terminal_sn"`
	MerchantOrderNo string `json:"merchant_order_no"`
	Description     string `json:"description"`
}

// closeOrder closes an unpaid order and removes it from the terminal's
// queue (wisehub.cloud.pay.close).
func (s *System) closeOrder(ctx context.Context, c *Caller, in *closeOrderIn) (reply, error) {
	var t Txn
	err := s.do(false, func(fx *effects) error {
		var err error
		t, err = s.byOrderNo(ctx, c.Environment, c.MerchantNo, in.MerchantOrderNo)
		if err != nil && !isNotFound(err) {
			return apierr.Wrap(err)
		}
		if err != nil || t.Channel != ChannelTerminal || t.TerminalSN != in.TerminalSN {
			return notFound("merchant_order_no", "terminal %s has no order %s of merchant %s", in.TerminalSN, in.MerchantOrderNo, c.MerchantNo)
		}
		if aerr := mayClose(&t); aerr != nil {
			return aerr
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
		return reply{}, err
	}
	return txnReply(&t, map[string]any{"message_id": "M" + s.env.IDs.Digits(21), "trans_no": t.TransNo}), nil
}

// lookupIn is the body of the queries: trans_no wins over merchant_order_no.
type lookupIn struct {
	MerchantOrderNo string `json:"merchant_order_no"`
	TransNo         string `json:"trans_no"`
}

// queryOrder answers a transaction's status (order.query).
func (s *System) queryOrder(ctx context.Context, c *Caller, in *lookupIn) (reply, error) {
	t, aerr := s.find(ctx, c.Environment, []string{c.MerchantNo}, in.TransNo, in.MerchantOrderNo, "trans_no", "merchant_order_no")
	if aerr != nil {
		return reply{}, aerr
	}
	return txnReply(&t, orderFields(&t)), nil
}

// queryRefund answers a refund's status (order.refund.query).
func (s *System) queryRefund(ctx context.Context, c *Caller, in *lookupIn) (reply, error) {
	t, aerr := s.find(ctx, c.Environment, []string{c.MerchantNo}, in.TransNo, in.MerchantOrderNo, "trans_no", "merchant_order_no")
	if aerr != nil {
		return reply{}, aerr
	}
	if !isRefund(t.TransType) {
		field, id := "merchant_order_no", in.MerchantOrderNo
		if in.TransNo != "" {
			field, id = "trans_no", in.TransNo
		}
		// The field stays in the text: the message starts with the id, which
		// may itself start with the field's name.
		return reply{}, notFound(field, "%s: %s is a %s, not a refund (use order.query)", field, id, typeNames[t.TransType])
	}
	return txnReply(&t, refundFields(&t)), nil
}

type revokeIn struct {
	MerchantOrderNo string `json:"merchant_order_no"`
}

// revokeOrder cancels an order whose outcome is unclear or unwanted
// (order.revoker): what it does is mayRevoke's revocation.
func (s *System) revokeOrder(ctx context.Context, c *Caller, in *revokeIn) (reply, error) {
	var t Txn
	err := s.do(false, func(fx *effects) error {
		var err error
		t, err = s.byOrderNo(ctx, c.Environment, c.MerchantNo, in.MerchantOrderNo)
		if err != nil {
			return orAbsent(err, notFound("merchant_order_no", "merchant %s has no order %s", c.MerchantNo, in.MerchantOrderNo))
		}
		how, aerr := mayRevoke(&t)
		if aerr != nil {
			return aerr
		}
		switch how {
		case revokeAgain:
			s.record("order.revoke_repeated", fmt.Sprintf("order.revoker on %s, already %s: nothing to do", t.MerchantOrderNo, t.Status), &t, nil)
			return nil
		case revokeClose:
			if t.HostTimeout {
				t.RespCode, t.RespMsg = "91", "[91]REVERSED: host timeout"
			}
			if err := s.setStatus(&t, StatusCancelled, "cancelled by order.revoker before payment completed"); err != nil {
				return err
			}
			return s.finalize(ctx, fx, &t)
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
		return reply{}, err
	}
	data := map[string]any{"trans_no": t.TransNo}
	if t.MessageID != "" {
		data["message_id"] = t.MessageID
	}
	return txnReply(&t, data), nil
}

type submitRefundIn struct {
	OrigMerchantOrderNo string      `json:"orig_merchant_order_no"`
	OrigTransNo         string      `json:"orig_trans_no"`
	MerchantOrderNo     string      `json:"merchant_order_no"`
	PriceCurrency       string      `json:"price_currency"`
	OrderAmount         json.Number `json:"order_amount"`
	Description         string      `json:"description"`
	NotifyURL           string      `json:"notify_url"`
}

// submitRefund refunds part or all of a paid transaction
// (order.refund.submit).
func (s *System) submitRefund(ctx context.Context, c *Caller, in *submitRefundIn) (reply, error) {
	var refund *Txn
	err := s.do(false, func(fx *effects) error {
		o, aerr := s.find(ctx, c.Environment, []string{c.MerchantNo}, in.OrigTransNo, in.OrigMerchantOrderNo, "orig_trans_no", "orig_merchant_order_no")
		if aerr != nil {
			return aerr
		}
		if o, aerr = s.moneyHolder(ctx, o); aerr != nil {
			return aerr
		}
		// An absent price_currency (tolerated by default, see the spec's
		// x-pspsim-lenient) is the original payment's.
		if in.PriceCurrency != "" && in.PriceCurrency != o.Currency {
			return invalid("price_currency", "original", "must be %s, the currency of %s", o.Currency, o.MerchantOrderNo)
		}
		amt, aerr := amount("order_amount", in.OrderAmount, o.Currency, true, true)
		if aerr != nil {
			return aerr
		}
		var err error
		refund, err = s.gatewayReference(ctx, fx, c, &o, newReference{TransType: refundTypeOf(&o), MerchantOrderNo: in.MerchantOrderNo, Amount: amt,
			NotifyURL: in.NotifyURL, Description: in.Description})
		return err
	})
	if err != nil {
		return reply{}, err
	}
	return txnReply(refund, map[string]any{
		"trans_no": refund.TransNo, "trans_amount": fmtAmount(refund.Amount, refund.Currency), "trans_fee_c": "0", "vat_amount": "0",
	}), nil
}

type tipAdjustmentIn struct {
	MerchantOrderNo     string      `json:"merchant_order_no"`
	TipAdjustmentAmount json.Number `json:"tip_adjustment_amount"`
}

// tipAdjustment replaces the tip of a card-present sale in an open batch
// (tip.adjustment).
func (s *System) tipAdjustment(ctx context.Context, c *Caller, in *tipAdjustmentIn) (reply, error) {
	var t Txn
	err := s.do(false, func(fx *effects) error {
		var err error
		t, err = s.byOrderNo(ctx, c.Environment, c.MerchantNo, in.MerchantOrderNo)
		if err != nil {
			return orAbsent(err, notFound("merchant_order_no", "merchant %s has no transaction %s", c.MerchantNo, in.MerchantOrderNo))
		}
		return s.adjustTipOf(ctx, &t, "tip_adjustment_amount", in.TipAdjustmentAmount)
	})
	if err != nil {
		return reply{}, err
	}
	return txnReply(&t, map[string]any{}), nil
}

// adjustTipOf sets a new tip on a transaction mayAdjustTip allows it on.
func (s *System) adjustTipOf(ctx context.Context, t *Txn, field string, n json.Number) error {
	tip, aerr := amount(field, n, t.Currency, true, false)
	if aerr != nil {
		return aerr
	}
	if aerr := s.mayAdjustTip(ctx, t, field, tip); aerr != nil {
		return aerr
	}
	old := t.Tip
	t.Tip = tip
	s.record("order.tip_adjusted", fmt.Sprintf("tip of %s changed from %s to %s %s", t.MerchantOrderNo, fmtAmount(old, t.Currency), fmtAmount(tip, t.Currency), t.Currency), t,
		map[string]any{"from": fmtAmount(old, t.Currency), "to": fmtAmount(tip, t.Currency)})
	return s.save(ctx, t)
}

// batchCloseMethod closes the calling terminal's batch (batch.close); its
// body names nothing the guard has not already read.
func (s *System) batchCloseMethod(ctx context.Context, c *Caller, _ *struct{}) (reply, error) {
	var sum Summary
	err := s.do(false, func(fx *effects) error {
		var err error
		sum, err = s.closeTerminalBatches(ctx, c.Environment, c.MerchantNo, []string{c.TerminalSN})
		return err
	})
	if err != nil {
		return reply{}, err
	}
	return reply{ids: map[string]string{"terminal_sn": c.TerminalSN}, data: sum.data()}, nil
}
