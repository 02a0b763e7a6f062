package store_test

import (
	"strconv"
	"testing"
	"time"

	"github.com/pspsim/pspsim/internal/threadcpu"
	"github.com/pspsim/pspsim/simulator/store"
)

// The kinds of a card payment at the gateway, as BenchmarkCreateEvicting
// stores them: the order number's claim (stored first, and evictable once
// its payment is gone), the 3-D Secure transaction (unique keys) and the
// payment (an index).
type (
	benchClaim struct {
		Kind string `json:"kind"`
		Ref  string `json:"ref"`
	}
	benchTxn struct {
		ID        string    `json:"id"`
		DSTransID string    `json:"dsTransId"`
		ACSTrans  string    `json:"acsTransId"`
		TradeNo   string    `json:"tradeNo"`
		Status    string    `json:"status"`
		ECI       string    `json:"eci"`
		Final     bool      `json:"final"`
		CreatedAt time.Time `json:"createdAt"`
	}
	benchPayment struct {
		TradeNo    string    `json:"tradeNo"`
		OrderNo    string    `json:"orderNo"`
		MerchantID string    `json:"merchantId"`
		Status     string    `json:"status"`
		Amount     int64     `json:"amount"`
		Currency   string    `json:"currency"`
		CreatedAt  time.Time `json:"createdAt"`
		UpdatedAt  time.Time `json:"updatedAt"`
	}
)

// BenchmarkCreateEvicting measures a create into a store that holds as
// many objects as it retains, so that every create also evicts (as on a
// server that has run a while): one op is a card payment's three creates
// (claim, 3-D Secure transaction, payment), "payment" the payment's alone.
// cpu-ns/op is the benchmark thread's CPU time per op, the figure to
// compare on a busy machine. "behind-a-pending-one" keeps the first
// payment pending for ever, as a server's first authorized payment is: the
// rounds walk past it.
//
//	go test -run XXX -bench CreateEvicting -benchmem ./simulator/store/
func BenchmarkCreateEvicting(b *testing.B) {
	const limit = 15000 // simulator.DefaultRetainObjects
	at := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	setup := func() (claims store.Table[benchClaim], txns store.Table[benchTxn], payments store.Table[benchPayment]) {
		m := store.NewMemoryWith(store.MemoryOptions{Retention: store.Retention{MaxObjects: limit}})
		claims = store.NewTable(m, "claim", store.Evictable(func(c *benchClaim, peek store.Peek) bool {
			return !peek.Exists("payment", c.Ref)
		}))
		txns = store.NewTable(m, "txn", store.Evictable(func(t *benchTxn, _ store.Peek) bool { return t.Final }))
		payments = store.NewTable(m, "payment",
			store.Index("orderNo", func(p *benchPayment) string { return p.OrderNo }),
			store.Evictable(func(p *benchPayment, _ store.Peek) bool { return p.Status == "captured" }))
		return claims, txns, payments
	}
	pay := func(claims store.Table[benchClaim], txns store.Table[benchTxn], payments store.Table[benchPayment], i int, withClaim, pendingFirst bool) {
		n := strconv.Itoa(100000000 + i)
		trade, order := "T2026112210"+n, "ORDER-"+n
		if withClaim {
			if err := claims.Create(ctx, "M1/prod/"+order, benchClaim{Kind: "payment", Ref: trade}, "payment/"+trade); err != nil {
				b.Fatal(err)
			}
			t := benchTxn{ID: "3ds-" + n, DSTransID: "ds-" + n, ACSTrans: "acs-" + n, TradeNo: trade, Status: "Y", ECI: "05", Final: true, CreatedAt: at}
			if err := txns.Create(ctx, t.ID, t, "ds/"+t.DSTransID, "acs/"+t.ACSTrans); err != nil {
				b.Fatal(err)
			}
		}
		p := benchPayment{TradeNo: trade, OrderNo: order, MerchantID: "M1", Status: "captured", Amount: 1999, Currency: "USD", CreatedAt: at, UpdatedAt: at}
		if pendingFirst && i == 0 {
			p.Status = "authorized" // never evicted: the rounds walk behind it
		}
		if err := payments.Create(ctx, trade, p); err != nil {
			b.Fatal(err)
		}
	}
	for _, c := range []struct {
		name                    string
		withClaim, pendingFirst bool
	}{{"claim-txn-payment", true, false}, {"payment", false, false}, {"claim-txn-payment-behind-a-pending-one", true, true}} {
		b.Run(c.name, func(b *testing.B) {
			claims, txns, payments := setup()
			i := 0
			for ; i < limit*12/10; i++ {
				pay(claims, txns, payments, i, c.withClaim, c.pendingFirst)
			}
			// The thread's CPU time too (cpu-ns/op): the figure to compare on
			// a busy machine.
			threadcpu.Loop(b, func() {
				pay(claims, txns, payments, i, c.withClaim, c.pendingFirst)
				i++
			})
		})
	}
}
