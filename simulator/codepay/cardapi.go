package codepay

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/pspsim/pspsim/simulator/apierr"
)

// The card operations (paths under /api/card/) name a transaction by its
// trans_no; the merchant is the transaction's, which must be one the app
// acts for, in the environment of the caller's credentials.

// cardAnswer is the data of the card operations' answers.
func cardAnswer(t *Txn, withTransNo bool) map[string]any {
	d := map[string]any{"resp_code": t.RespCode, "resp_msg": t.RespMsg, "trans_status": int(t.Status), "trans_time": fmtTime(t.CreatedAt)}
	if t.EndAt != nil {
		d["trans_time"] = fmtTime(*t.EndAt)
	}
	if d["resp_code"] == "" {
		d["resp_code"], d["resp_msg"] = "000", "[000]APPROVAL"
		if t.Status == StatusFailed {
			d["resp_code"], d["resp_msg"] = "05", "[05]DECLINED"
		}
	}
	if t.AuthNo != "" {
		d["auth_no"] = t.AuthNo
	}
	if withTransNo {
		d["trans_no"] = t.TransNo
	}
	return d
}

// original resolves the trans_no of a card operation.
func (s *System) original(ctx context.Context, c *Caller, transNo string) (Txn, *apierr.Error) {
	return s.find(ctx, c.Environment, c.App.Merchants, transNo, "", "trans_no", "merchant_order_no")
}

// capturePayment completes a pre-authorization for up to its authorized
// amount (Capture Payment; one completion per authorization).
func (s *System) capturePayment(w http.ResponseWriter, r *http.Request) {
	var in struct {
		MerchantOrderNo string      `json:"merchant_order_no"`
		TransNo         string      `json:"trans_no"`
		TransAmount     json.Number `json:"trans_amount"`
	}
	if err := decode(r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	ctx := r.Context()
	c := callerOf(ctx)
	var t *Txn
	err := s.do(false, func(fx *effects) error {
		o, aerr := s.original(ctx, c, in.TransNo)
		if aerr != nil {
			return aerr
		}
		amt, aerr := amount("trans_amount", in.TransAmount, o.Currency, true, true)
		if aerr != nil {
			return aerr
		}
		if o.TransType != TypePreAuth {
			return statusForbids("a capture completes a pre-authorization; %s is a %s", o.MerchantOrderNo, typeNames[o.TransType])
		}
		var err error
		t, err = s.gatewayReference(ctx, fx, c, TypePreAuthCompletion, in.MerchantOrderNo, amt, 0, &o, o.NotifyURL, "capture of "+o.MerchantOrderNo)
		return err
	})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.answer(w, r, txnIDs(t), cardAnswer(t, true))
}

// incrementAuthorization raises an open pre-authorization's authorized total
// (Incremental Authorization).
func (s *System) incrementAuthorization(w http.ResponseWriter, r *http.Request) {
	var in struct {
		TransNo     string      `json:"trans_no"`
		TransAmount json.Number `json:"trans_amount"`
	}
	if err := decode(r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	ctx := r.Context()
	c := callerOf(ctx)
	var o Txn
	err := s.do(false, func(fx *effects) error {
		var aerr *apierr.Error
		if o, aerr = s.original(ctx, c, in.TransNo); aerr != nil {
			return aerr
		}
		amt, aerr := amount("trans_amount", in.TransAmount, o.Currency, true, true)
		if aerr != nil {
			return aerr
		}
		switch {
		case o.TransType != TypePreAuth:
			return statusForbids("an incremental authorization raises a pre-authorization; %s is a %s", o.MerchantOrderNo, typeNames[o.TransType])
		case o.Status != StatusSuccess:
			return statusForbids("pre-authorization %s is %s (trans_status %d): it cannot be raised", o.MerchantOrderNo, o.Status, o.Status)
		case o.CaptureTransNo != "":
			return statusForbids("pre-authorization %s was already completed by %s", o.MerchantOrderNo, o.CaptureTransNo)
		}
		before := o.Authorized
		o.Authorized += amt
		o.AuthNo = s.env.IDs.Digits(6)
		s.record("order.authorization_increased", fmt.Sprintf("pre-authorization %s raised from %s to %s %s", o.MerchantOrderNo,
			fmtAmount(before, o.Currency), fmtAmount(o.Authorized, o.Currency), o.Currency), &o,
			map[string]any{"from": fmtAmount(before, o.Currency), "to": fmtAmount(o.Authorized, o.Currency), "by": fmtAmount(amt, o.Currency)})
		return s.save(ctx, &o)
	})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	d := cardAnswer(&o, false)
	d["resp_code"], d["resp_msg"], d["trans_time"] = "000", "[000]APPROVAL", fmtTime(s.env.Clock.Now())
	s.answer(w, r, txnIDs(&o), d)
}

// cancelPayment voids a pre-authorization that was not captured (Cancel
// Payment).
func (s *System) cancelPayment(w http.ResponseWriter, r *http.Request) {
	var in struct {
		MerchantOrderNo string `json:"merchant_order_no"`
		TransNo         string `json:"trans_no"`
	}
	if err := decode(r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	ctx := r.Context()
	c := callerOf(ctx)
	var t *Txn
	err := s.do(false, func(fx *effects) error {
		o, aerr := s.original(ctx, c, in.TransNo)
		if aerr != nil {
			return aerr
		}
		if o.TransType != TypePreAuth {
			return statusForbids("Cancel Payment voids an uncaptured pre-authorization; %s is a %s (void it on the terminal or refund it)", o.MerchantOrderNo, typeNames[o.TransType])
		}
		var err error
		t, err = s.gatewayReference(ctx, fx, c, TypePreAuthCancel, in.MerchantOrderNo, 0, 0, &o, o.NotifyURL, "cancel of "+o.MerchantOrderNo)
		return err
	})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.answer(w, r, txnIDs(t), cardAnswer(t, true))
}

// refundPayment refunds a captured card payment by components (Refund
// Payment). The originals carry no surcharge, sales tax or service charge,
// so those components can only be zero.
func (s *System) refundPayment(w http.ResponseWriter, r *http.Request) {
	var in struct {
		MerchantOrderNo     string      `json:"merchant_order_no"`
		TransNo             string      `json:"trans_no"`
		OrderAmount         json.Number `json:"order_amount"`
		TipAmount           json.Number `json:"tip_amount"`
		SurchargeAmount     json.Number `json:"surcharge_amount"`
		SalesTaxAmount      json.Number `json:"sales_tax_amount"`
		ServiceChargeAmount json.Number `json:"service_charge_amount"`
	}
	if err := decode(r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	ctx := r.Context()
	c := callerOf(ctx)
	var t *Txn
	err := s.do(false, func(fx *effects) error {
		o, aerr := s.original(ctx, c, in.TransNo)
		if aerr != nil {
			return aerr
		}
		if o, aerr = s.moneyHolder(ctx, o); aerr != nil {
			return aerr
		}
		parts := map[string]int64{}
		for _, p := range []struct {
			field string
			n     json.Number
		}{{"order_amount", in.OrderAmount}, {"tip_amount", in.TipAmount}, {"surcharge_amount", in.SurchargeAmount},
			{"sales_tax_amount", in.SalesTaxAmount}, {"service_charge_amount", in.ServiceChargeAmount}} {
			v, aerr := amount(p.field, p.n, o.Currency, false, false)
			if aerr != nil {
				return aerr
			}
			parts[p.field] = v
		}
		if parts["order_amount"]+parts["tip_amount"]+parts["surcharge_amount"]+parts["sales_tax_amount"]+parts["service_charge_amount"] == 0 {
			return missing("order_amount", "order_amount: is required (or another amount above zero)")
		}
		for _, f := range []string{"surcharge_amount", "sales_tax_amount", "service_charge_amount"} {
			if parts[f] > 0 {
				return apierr.Field(apierr.Unprocessable, f, "maximum", "%s: %s exceeds the 0 charged on %s", f, fmtAmount(parts[f], o.Currency), o.MerchantOrderNo).WithCode(CodeAmountExceeds)
			}
		}
		if parts["tip_amount"] > o.Tip {
			return apierr.Field(apierr.Unprocessable, "tip_amount", "maximum", "tip_amount: %s exceeds the %s tip of %s",
				fmtAmount(parts["tip_amount"], o.Currency), fmtAmount(o.Tip, o.Currency), o.MerchantOrderNo).WithCode(CodeAmountExceeds)
		}
		tt := TypeRefund
		if o.TransType == TypePreAuthCompletion {
			tt = TypeCompletionRefund
		}
		var err error
		t, err = s.gatewayReference(ctx, fx, c, tt, in.MerchantOrderNo, parts["order_amount"], parts["tip_amount"], &o, o.NotifyURL, "refund of "+o.MerchantOrderNo)
		return err
	})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.answer(w, r, txnIDs(t), cardAnswer(t, true))
}

// adjustTip replaces the tip of a card-present sale (Tip Adjustment, card
// variant).
func (s *System) adjustTip(w http.ResponseWriter, r *http.Request) {
	var in struct {
		TransNo   string      `json:"trans_no"`
		TipAmount json.Number `json:"tip_amount"`
	}
	if err := decode(r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	ctx := r.Context()
	c := callerOf(ctx)
	var t Txn
	err := s.do(false, func(fx *effects) error {
		var aerr *apierr.Error
		if t, aerr = s.original(ctx, c, in.TransNo); aerr != nil {
			return aerr
		}
		return s.adjustTipOf(ctx, &t, "tip_amount", in.TipAmount)
	})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.answer(w, r, txnIDs(&t), map[string]any{"trans_status": int(t.Status), "trans_time": fmtTime(s.env.Clock.Now())})
}

// recallTransaction returns a previous transaction by trans_no (which wins)
// or merchant_order_no (Recall transaction).
func (s *System) recallTransaction(w http.ResponseWriter, r *http.Request) {
	var in lookupIn
	if err := decode(r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	c := callerOf(r.Context())
	t, aerr := s.find(r.Context(), c.Environment, c.App.Merchants, in.TransNo, in.MerchantOrderNo, "trans_no", "merchant_order_no")
	if aerr != nil {
		s.fail(w, r, aerr)
		return
	}
	s.answer(w, r, txnIDs(&t), cardAnswer(&t, true))
}

// batchTerminals resolves the terminals a batch operation covers: the list,
// or every terminal of the store (of the merchant without store_no).
func (s *System) batchTerminals(ctx context.Context, c *Caller, list []string) ([]string, error) {
	if len(list) > 0 {
		return list, nil
	}
	return s.terminalsOf(ctx, c.MerchantNo, c.StoreNo)
}

// closeBatches closes the open batches of a store's terminals or of listed
// terminals (Batch Close).
func (s *System) closeBatches(w http.ResponseWriter, r *http.Request) {
	var in struct {
		TerminalSNList []string `json:"terminal_sn_list"`
	}
	if err := decode(r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	ctx := r.Context()
	c := callerOf(ctx)
	var sum Summary
	err := s.do(false, func(fx *effects) error {
		sns, err := s.batchTerminals(ctx, c, in.TerminalSNList)
		if err != nil {
			return err
		}
		sum, err = s.closeTerminalBatches(ctx, c.Environment, c.MerchantNo, sns)
		return err
	})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.answer(w, r, nil, sum.data())
}

// getOpenBatch summarises the open batches of a store's terminals or of
// listed terminals (Get Open Batch); nothing is closed.
func (s *System) getOpenBatch(w http.ResponseWriter, r *http.Request) {
	var in struct {
		TerminalSNList []string `json:"terminal_sn_list"`
	}
	if err := decode(r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	ctx := r.Context()
	c := callerOf(ctx)
	sns, err := s.batchTerminals(ctx, c, in.TerminalSNList)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	bs, err := s.openBatches(ctx, c.Environment, c.MerchantNo, sns)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	sum, err := s.summarize(ctx, bs)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.answer(w, r, nil, sum.data())
}
