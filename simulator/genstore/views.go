package genstore

import (
	"time"

	"github.com/pspsim/pspsim/simulator/money"
)

// PaymentView is a payment as the merchant sees it in Genstore's admin (the
// admin API): amounts as decimal strings of the currency, the pay
// transaction's fee and net, every request, acknowledgement, result and poll.
type PaymentView struct {
	ShopID             string          `json:"shopId"`
	PaymentID          string          `json:"paymentId"`
	ClientID           string          `json:"clientId"`
	OutOrderNo         string          `json:"outOrderNo"`
	Amount             string          `json:"amount"`
	Currency           string          `json:"currency"`
	ManualCapture      bool            `json:"manualCapture"`
	Test               bool            `json:"test"`
	Status             string          `json:"status"`
	StatusName         string          `json:"statusName"`
	Card               *Card           `json:"card,omitempty"`
	ReturnURL          string          `json:"returnUrl,omitempty"`
	CreatedAt          time.Time       `json:"createdAt"`
	Request            Outbound        `json:"request"`
	Ack                *Ack            `json:"ack,omitempty"`
	Result             *Result         `json:"result,omitempty"`
	ChannelTrxNo       string          `json:"channelTrxNo,omitempty"`
	SuccessPaymentTime string          `json:"successPaymentTime,omitempty"`
	Captured           string          `json:"captured"`
	Refunded           string          `json:"refunded"`
	Refundable         string          `json:"refundable"`
	Fee                string          `json:"fee"`
	Net                string          `json:"net"`
	Buyer              Buyer           `json:"buyer"`
	Reconciliation     []Poll          `json:"reconciliation"`
	DeadlineMissed     bool            `json:"deadlineMissed"`
	Expired            bool            `json:"expired"`
	Operations         []OperationView `json:"operations"`
	Fixture            bool            `json:"fixture,omitempty"`
}

// OperationView is a capture, void or refund as the admin API shows it.
type OperationView struct {
	Kind           string    `json:"kind"`
	ID             string    `json:"id"`
	Amount         string    `json:"amount,omitempty"`
	Status         OpStatus  `json:"status"`
	CreatedAt      time.Time `json:"createdAt"`
	Request        Outbound  `json:"request"`
	Ack            *Ack      `json:"ack,omitempty"`
	Result         *Result   `json:"result,omitempty"`
	Reconciliation []Poll    `json:"reconciliation"`
	DeadlineMissed bool      `json:"deadlineMissed"`
}

func opView(o Operation, currency string) OperationView {
	v := OperationView{Kind: o.Kind, ID: o.ID, Status: o.Status, CreatedAt: o.CreatedAt, Request: o.Request, Ack: o.Ack, Result: o.Result,
		Reconciliation: o.Reconciliation, DeadlineMissed: o.DeadlineMissed}
	if o.Kind != KindVoid {
		v.Amount = money.Format(o.Amount, currency)
	}
	if v.Reconciliation == nil {
		v.Reconciliation = []Poll{}
	}
	return v
}

func paymentView(p Payment, shop Shop) PaymentView {
	pt := payTransaction(p, shop)
	left := p.refundable()
	if p.Status != StatusSuccess || left < 0 {
		left = 0
	}
	v := PaymentView{
		ShopID: p.ShopID, PaymentID: p.PaymentID, ClientID: p.ClientID, OutOrderNo: p.OutOrderNo,
		Amount: money.Format(p.Amount, p.Currency), Currency: p.Currency, ManualCapture: p.ManualCapture, Test: p.Test,
		Status: p.Status.Code(), StatusName: p.Status.String(), Card: p.Card, ReturnURL: p.ReturnURL, CreatedAt: p.CreatedAt,
		Request: p.Request, Ack: p.Ack, Result: p.Result, ChannelTrxNo: pt.ChannelTrxNo, SuccessPaymentTime: pt.SuccessPaymentTime,
		Captured: money.Format(p.CapturedMinor, p.Currency), Refunded: money.Format(p.RefundedMinor, p.Currency),
		Refundable: money.Format(left, p.Currency), Fee: pt.Fee, Net: pt.Net, Buyer: p.Buyer,
		Reconciliation: p.Reconciliation, DeadlineMissed: p.DeadlineMissed, Expired: p.Expired, Operations: []OperationView{}, Fixture: p.Fixture,
	}
	if v.Reconciliation == nil {
		v.Reconciliation = []Poll{}
	}
	for _, o := range p.Operations {
		v.Operations = append(v.Operations, opView(o, p.Currency))
	}
	return v
}
