package codepay

import (
	"context"
	"time"

	"github.com/pspsim/pspsim/simulator/apierr"
)

// The views: what the gateway API answers (and notifications carry), what
// the admin API (/_sim/codepay/…) and the terminal page show of the
// system's objects, apart from the objects themselves so that a stored
// field and a shown field can change independently. Card numbers appear
// masked only; credentials show keys, never passwords.

// txnFields are the fields every query answer has: the transaction's
// numbers, status, type and order amount; CodePay charges no fee or VAT.
func txnFields(t *Txn) map[string]any {
	return map[string]any{
		"trans_no":          t.TransNo,
		"merchant_order_no": t.MerchantOrderNo,
		"trans_status":      int(t.Status),
		"trans_type":        t.TransType,
		"price_currency":    t.Currency,
		"order_amount":      fmtAmount(t.Amount, t.Currency),
		"trans_fee_c":       "0",
		"vat_amount":        "0",
	}
}

// orderFields is the order.query field set of a transaction (also the body
// of its notification). Amounts are decimal strings, as in the seed.
func orderFields(t *Txn) map[string]any {
	f := txnFields(t)
	f["tip_amount"] = fmtAmount(t.Tip, t.Currency)
	f["trans_amount"] = fmtAmount(t.TransAmount(), t.Currency)
	f["paid_amount"] = fmtAmount(paidAmount(t), t.Currency)
	f["discount_bpc"], f["discount_bmopc"] = "0", "0"
	put := func(k, v string) {
		if v != "" {
			f[k] = v
		}
	}
	if t.Cashback > 0 {
		f["cashback_amount"] = fmtAmount(t.Cashback, t.Currency)
	}
	if t.Refunded > 0 {
		f["refunded_amount"] = fmtAmount(t.Refunded, t.Currency)
	}
	if t.EndAt != nil {
		f["trans_end_time"] = fmtTime(*t.EndAt)
	}
	put("store_no", t.StoreNo)
	put("terminal_sn", t.TerminalSN)
	put("pay_user_account_id", t.PayUserAccountID)
	put("pay_scenario", t.PayScenario)
	put("pay_method_id", t.PayMethodID)
	put("pay_channel_trans_no", t.PayChannelNo)
	put("pay_platform_trans_no", t.PayPlatformNo)
	put("attach", t.Attach)
	put("orig_trans_no", t.OrigTransNo)
	put("orig_merchant_order_no", t.OrigMerchantOrderNo)
	put("auth_no", t.AuthNo)
	put("ref_no", t.RefNo)
	put("resp_code", t.RespCode)
	put("resp_msg", t.RespMsg)
	return f
}

// paidAmount is what the buyer paid: the charged amount once successful
// (kept after a reversal, which refunds it), zero otherwise.
func paidAmount(t *Txn) int64 {
	if t.Status == StatusSuccess || (t.Status == StatusCancelled && t.ReversedBy != "") {
		return t.TransAmount()
	}
	return 0
}

// refundFields is the order.refund.query field set.
func refundFields(t *Txn) map[string]any {
	f := txnFields(t)
	f["trans_amount"] = fmtAmount(t.Amount+t.Tip, t.Currency)
	if t.EndAt != nil {
		f["trans_end_time"] = fmtTime(*t.EndAt)
	}
	if t.PayChannelNo != "" {
		f["pay_channel_trans_no"] = t.PayChannelNo
	}
	if t.OrigTransNo != "" {
		f["orig_trans_no"] = t.OrigTransNo
		f["orig_merchant_order_no"] = t.OrigMerchantOrderNo
	}
	return f
}

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

// TerminalView is what the admin API and the terminal page show.
type TerminalView struct {
	SN        string          `json:"sn"`
	Online    bool            `json:"online"`
	Merchants []BindingView   `json:"merchants"`
	Screen    *ScreenView     `json:"screen,omitempty"`
	Queue     []ScreenView    `json:"queue"`
	Autopilot *AutopilotView  `json:"autopilot,omitempty"`
	Batches   []BatchSummaryV `json:"openBatches"`
}

// BindingView is a merchant and store a terminal serves.
type BindingView struct {
	MerchantNo string `json:"merchantNo"`
	StoreNo    string `json:"storeNo"`
}

// ScreenView is an order as a terminal shows it.
type ScreenView struct {
	TransNo         string `json:"trans_no"`
	MerchantOrderNo string `json:"merchant_order_no"`
	MerchantNo      string `json:"merchant_no"`
	TransType       int    `json:"trans_type"`
	TransTypeName   string `json:"trans_type_name"`
	Status          int    `json:"trans_status"`
	Step            string `json:"step,omitempty"`
	Currency        string `json:"price_currency"`
	OrderAmount     string `json:"order_amount"`
	TipAmount       string `json:"tip_amount"`
	CashbackAmount  string `json:"cashback_amount,omitempty"`
	TransAmount     string `json:"trans_amount"`
	Description     string `json:"description,omitempty"`
	Card            string `json:"card,omitempty"`
	ExpiresAt       string `json:"expires_at"`
	Environment     string `json:"environment"`
}

// AutopilotView shows an autopilot with its card masked.
type AutopilotView struct {
	Card    string `json:"card,omitempty"`
	Wallet  string `json:"wallet,omitempty"`
	Delay   string `json:"delay"`
	Tip     string `json:"tip_amount,omitempty"`
	Sign    bool   `json:"sign"`
	Approve bool   `json:"approve"`
}

func screenOf(t *Txn) ScreenView {
	v := ScreenView{TransNo: t.TransNo, MerchantOrderNo: t.MerchantOrderNo, MerchantNo: t.MerchantNo, TransType: t.TransType,
		TransTypeName: typeNames[t.TransType], Status: int(t.Status), Step: stepOf(t), Currency: t.Currency,
		OrderAmount: fmtAmount(t.Amount, t.Currency), TipAmount: fmtAmount(t.Tip, t.Currency), TransAmount: fmtAmount(t.TransAmount(), t.Currency),
		Description: t.Description, Card: t.CardMasked, Environment: t.Environment}
	if t.Cashback > 0 {
		v.CashbackAmount = fmtAmount(t.Cashback, t.Currency)
	}
	if !t.ExpiresAt.IsZero() {
		v.ExpiresAt = t.ExpiresAt.UTC().Format(time.RFC3339)
	}
	return v
}

// terminalView reads a terminal for the admin API and its page.
func (s *System) terminalView(ctx context.Context, sn string) (TerminalView, error) {
	term, err := s.terminals.Get(ctx, sn)
	if err != nil {
		return TerminalView{}, orAbsent(err, terminalError(apierr.NotFound, "sn", "no terminal %s", sn))
	}
	v := TerminalView{SN: sn, Online: term.Online, Queue: []ScreenView{}, Merchants: []BindingView{}, Batches: []BatchSummaryV{}}
	merchants, _ := s.merchants.List(ctx, nil)
	for _, m := range merchants {
		if st, ok := m.storeOf(sn); ok {
			v.Merchants = append(v.Merchants, BindingView{MerchantNo: m.MerchantNo, StoreNo: st})
		}
	}
	for i, no := range term.Queue {
		t, err := s.txns.Get(ctx, no)
		if err != nil {
			continue
		}
		sv := screenOf(&t)
		if i == 0 && term.Online {
			v.Screen = &sv
		}
		v.Queue = append(v.Queue, sv)
	}
	if p := term.Autopilot; p != nil {
		v.Autopilot = &AutopilotView{Card: p.CardMask, Wallet: p.Wallet, Delay: p.Delay.String(), Tip: p.Tip, Sign: p.Sign, Approve: p.Approve}
	}
	for _, no := range sortedValues(term.OpenBatch) {
		b, err := s.batches.Get(ctx, no)
		if err != nil {
			continue
		}
		sum, err := s.summarize(ctx, []Batch{b})
		if err != nil {
			return v, err
		}
		v.Batches = append(v.Batches, BatchSummaryV{BatchNo: b.BatchNo, MerchantNo: b.MerchantNo, Environment: b.Environment, Count: sum.Count, Total: sum.Total.String()})
	}
	return v, nil
}

// BatchSummaryV is an open batch in a terminal view.
type BatchSummaryV struct {
	BatchNo     string `json:"batchNo"`
	MerchantNo  string `json:"merchantNo"`
	Environment string `json:"environment"`
	Count       int    `json:"count"`
	Total       string `json:"total_amount"`
}

// AppView is an app as the admin API shows it: keys, never passwords.
type AppView struct {
	AppID     string           `json:"appId"`
	Merchants []string         `json:"merchants"`
	Sandbox   *CredentialsView `json:"sandbox,omitempty"`
	Live      *CredentialsView `json:"live,omitempty"`
}

// CredentialsView shows one environment's credentials.
type CredentialsView struct {
	PublicKeyPEM string `json:"publicKeyPem,omitempty"`
	BasicAuth    bool   `json:"basicAuth"`
}

func appView(a App) AppView {
	v := AppView{AppID: a.AppID, Merchants: a.Merchants}
	cv := func(c Credentials) *CredentialsView {
		if c == (Credentials{}) {
			return nil
		}
		return &CredentialsView{PublicKeyPEM: c.PublicKeyPEM, BasicAuth: c.BasicPassword != ""}
	}
	v.Sandbox, v.Live = cv(a.Sandbox), cv(a.Live)
	return v
}

// TxnView is a transaction as the admin API shows it.
type TxnView struct {
	Fields      map[string]any `json:"fields"`
	Environment string         `json:"environment"`
	AppID       string         `json:"appId"`
	MerchantNo  string         `json:"merchantNo"`
	Channel     string         `json:"channel"`
	Instrument  string         `json:"instrument,omitempty"`
	Card        string         `json:"card,omitempty"`
	Step        string         `json:"step,omitempty"`
	BatchNo     string         `json:"batchNo,omitempty"`
	BatchClosed bool           `json:"batchClosed"`
	Authorized  string         `json:"authorized,omitempty"`
	Captured    string         `json:"captured,omitempty"`
	// CaptureTransNo names a pre-authorization's completion, which holds its refunds.
	CaptureTransNo string       `json:"captureTransNo,omitempty"`
	Refunds        []string     `json:"refunds"`
	ThreeDS        *ThreeDSInfo `json:"threeDS,omitempty"`
	ExpiresAt      string       `json:"expiresAt,omitempty"`
}

func (s *System) txnView(ctx context.Context, t Txn) (TxnView, error) {
	closed, err := s.batchClosed(ctx, &t)
	if err != nil {
		return TxnView{}, err
	}
	v := TxnView{Fields: orderFields(&t), Environment: t.Environment, AppID: t.AppID, MerchantNo: t.MerchantNo, Channel: t.Channel,
		Instrument: t.Instrument, Card: t.CardMasked, Step: stepOf(&t), BatchNo: t.BatchNo, BatchClosed: closed,
		Refunds: t.Refunds, ThreeDS: t.ThreeDS}
	if v.Refunds == nil {
		v.Refunds = []string{}
	}
	if t.TransType == TypePreAuth {
		v.Authorized, v.Captured = fmtAmount(t.Authorized, t.Currency), fmtAmount(t.Captured, t.Currency)
		v.CaptureTransNo = t.CaptureTransNo
	}
	if !t.ExpiresAt.IsZero() {
		v.ExpiresAt = t.ExpiresAt.UTC().Format("2006-01-02T15:04:05Z")
	}
	return v, nil
}
