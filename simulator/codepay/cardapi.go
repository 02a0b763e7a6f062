package codepay

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/pspsim/pspsim/simulator/apierr"
)

// The card operations (paths under /api/card/) name a transaction by its
// trans_no; the merchant is the transaction's, which must be one the app
// acts for, in the environment of the caller's credentials.

// original resolves the trans_no of a card operation.
func (s *System) original(ctx context.Context, c *Caller, transNo string) (Txn, *apierr.Error) {
	return s.find(ctx, c.Environment, c.App.Merchants, transNo, "", "trans_no", "merchant_order_no")
}

// referenceOn is the body of the card operations that make a reference
// transaction on the original trans_no names (capture, cancel, refund):
// under the ledger lock it resolves the original, lets plan check it and say
// what to make (plan may replace the original by the transaction that holds
// its money), makes and performs it, and answers the card operations' data.
func (s *System) referenceOn(ctx context.Context, c *Caller, transNo string, plan func(o *Txn) (newReference, error)) (reply, error) {
	var t *Txn
	err := s.do(false, func(fx *effects) error {
		o, aerr := s.original(ctx, c, transNo)
		if aerr != nil {
			return aerr
		}
		ref, err := plan(&o)
		if err != nil {
			return err
		}
		t, err = s.gatewayReference(ctx, fx, c, &o, ref)
		return err
	})
	if err != nil {
		return reply{}, err
	}
	return txnReply(t, cardAnswer(t, true)), nil
}

type captureIn struct {
	MerchantOrderNo string      `json:"merchant_order_no"`
	TransNo         string      `json:"trans_no"`
	TransAmount     json.Number `json:"trans_amount"`
}

// capturePayment completes a pre-authorization for up to its authorized
// amount (Capture Payment; one completion per authorization).
func (s *System) capturePayment(ctx context.Context, c *Caller, in *captureIn) (reply, error) {
	return s.referenceOn(ctx, c, in.TransNo, func(o *Txn) (newReference, error) {
		amt, aerr := amount("trans_amount", in.TransAmount, o.Currency, true, true)
		if aerr != nil {
			return newReference{}, aerr
		}
		if aerr := mayCapture(o); aerr != nil {
			return newReference{}, aerr
		}
		return newReference{TransType: TypePreAuthCompletion, MerchantOrderNo: in.MerchantOrderNo, Amount: amt,
			NotifyURL: o.NotifyURL, Description: "capture of " + o.MerchantOrderNo}, nil
	})
}

type incrementIn struct {
	TransNo     string      `json:"trans_no"`
	TransAmount json.Number `json:"trans_amount"`
}

// incrementAuthorization raises an open pre-authorization's authorized total
// (Incremental Authorization).
func (s *System) incrementAuthorization(ctx context.Context, c *Caller, in *incrementIn) (reply, error) {
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
		if aerr := mayIncrement(&o); aerr != nil {
			return aerr
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
		return reply{}, err
	}
	d := cardAnswer(&o, false)
	d["resp_code"], d["resp_msg"], d["trans_time"] = "000", "[000]APPROVAL", fmtTime(s.env.Clock.Now())
	return txnReply(&o, d), nil
}

type cancelIn struct {
	MerchantOrderNo string `json:"merchant_order_no"`
	TransNo         string `json:"trans_no"`
}

// cancelPayment voids a pre-authorization that was not captured (Cancel
// Payment).
func (s *System) cancelPayment(ctx context.Context, c *Caller, in *cancelIn) (reply, error) {
	return s.referenceOn(ctx, c, in.TransNo, func(o *Txn) (newReference, error) {
		if aerr := mayCancelPayment(o); aerr != nil {
			return newReference{}, aerr
		}
		return newReference{TransType: TypePreAuthCancel, MerchantOrderNo: in.MerchantOrderNo,
			NotifyURL: o.NotifyURL, Description: "cancel of " + o.MerchantOrderNo}, nil
	})
}

type refundPaymentIn struct {
	MerchantOrderNo     string      `json:"merchant_order_no"`
	TransNo             string      `json:"trans_no"`
	OrderAmount         json.Number `json:"order_amount"`
	TipAmount           json.Number `json:"tip_amount"`
	SurchargeAmount     json.Number `json:"surcharge_amount"`
	SalesTaxAmount      json.Number `json:"sales_tax_amount"`
	ServiceChargeAmount json.Number `json:"service_charge_amount"`
}

// refundPayment refunds a captured card payment by components (Refund
// Payment). The originals carry no surcharge, sales tax or service charge,
// so those components can only be zero.
func (s *System) refundPayment(ctx context.Context, c *Caller, in *refundPaymentIn) (reply, error) {
	return s.referenceOn(ctx, c, in.TransNo, func(o *Txn) (newReference, error) {
		holder, aerr := s.moneyHolder(ctx, *o)
		if aerr != nil {
			return newReference{}, aerr
		}
		*o = holder
		parts := map[string]int64{}
		for _, p := range []struct {
			field string
			n     json.Number
		}{{"order_amount", in.OrderAmount}, {"tip_amount", in.TipAmount}, {"surcharge_amount", in.SurchargeAmount},
			{"sales_tax_amount", in.SalesTaxAmount}, {"service_charge_amount", in.ServiceChargeAmount}} {
			v, aerr := amount(p.field, p.n, o.Currency, false, false)
			if aerr != nil {
				return newReference{}, aerr
			}
			parts[p.field] = v
		}
		if parts["order_amount"]+parts["tip_amount"]+parts["surcharge_amount"]+parts["sales_tax_amount"]+parts["service_charge_amount"] == 0 {
			return newReference{}, missing("order_amount", "is required (or another amount above zero)")
		}
		for _, f := range []string{"surcharge_amount", "sales_tax_amount", "service_charge_amount"} {
			if parts[f] > 0 {
				return newReference{}, apierr.Field(apierr.Unprocessable, f, "maximum", "%s exceeds the 0 charged on %s", fmtAmount(parts[f], o.Currency), o.MerchantOrderNo).WithCode(CodeAmountExceeds)
			}
		}
		if parts["tip_amount"] > o.Tip {
			return newReference{}, apierr.Field(apierr.Unprocessable, "tip_amount", "maximum", "%s exceeds the %s tip of %s",
				fmtAmount(parts["tip_amount"], o.Currency), fmtAmount(o.Tip, o.Currency), o.MerchantOrderNo).WithCode(CodeAmountExceeds)
		}
		return newReference{TransType: refundTypeOf(o), MerchantOrderNo: in.MerchantOrderNo, Amount: parts["order_amount"], Tip: parts["tip_amount"],
			NotifyURL: o.NotifyURL, Description: "refund of " + o.MerchantOrderNo}, nil
	})
}

type adjustTipIn struct {
	TransNo   string      `json:"trans_no"`
	TipAmount json.Number `json:"tip_amount"`
}

// adjustTip replaces the tip of a card-present sale (Tip Adjustment, card
// variant).
func (s *System) adjustTip(ctx context.Context, c *Caller, in *adjustTipIn) (reply, error) {
	var t Txn
	err := s.do(false, func(fx *effects) error {
		var aerr *apierr.Error
		if t, aerr = s.original(ctx, c, in.TransNo); aerr != nil {
			return aerr
		}
		return s.adjustTipOf(ctx, &t, "tip_amount", in.TipAmount)
	})
	if err != nil {
		return reply{}, err
	}
	return txnReply(&t, map[string]any{"trans_status": int(t.Status), "trans_time": fmtTime(s.env.Clock.Now())}), nil
}

// recallTransaction returns a previous transaction by trans_no (which wins)
// or merchant_order_no (Recall transaction).
func (s *System) recallTransaction(ctx context.Context, c *Caller, in *lookupIn) (reply, error) {
	t, aerr := s.find(ctx, c.Environment, c.App.Merchants, in.TransNo, in.MerchantOrderNo, "trans_no", "merchant_order_no")
	if aerr != nil {
		return reply{}, aerr
	}
	return txnReply(&t, cardAnswer(&t, true)), nil
}

// terminalsIn is the body of the batch operations.
type terminalsIn struct {
	TerminalSNList []string `json:"terminal_sn_list"`
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
func (s *System) closeBatches(ctx context.Context, c *Caller, in *terminalsIn) (reply, error) {
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
		return reply{}, err
	}
	return reply{data: sum.data()}, nil
}

// getOpenBatch summarises the open batches of a store's terminals or of
// listed terminals (Get Open Batch); nothing is closed.
func (s *System) getOpenBatch(ctx context.Context, c *Caller, in *terminalsIn) (reply, error) {
	sns, err := s.batchTerminals(ctx, c, in.TerminalSNList)
	if err != nil {
		return reply{}, err
	}
	bs, err := s.openBatches(ctx, c.Environment, c.MerchantNo, sns)
	if err != nil {
		return reply{}, err
	}
	sum, err := s.summarize(ctx, bs)
	if err != nil {
		return reply{}, err
	}
	return reply{data: sum.data()}, nil
}
