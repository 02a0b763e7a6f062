package genstore

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/pspsim/pspsim/simulator/money"

	"github.com/pspsim/pspsim/simulator/clock"
	"github.com/pspsim/pspsim/simulator/env"
	"github.com/pspsim/pspsim/simulator/journal"
)

// payStrings are the values the equivalence tests draw from: empty (the
// omitempty fields), plain ids and amounts, and every kind of text that
// encoding/json escapes (quotes, HTML, controls, U+2028, invalid UTF-8).
var payStrings = []string{"", "PI0020241010151755224", "19.99", "0", "USD", "2", "2026-12-06T10:00:00+08:00",
	"ord-<&>", `a"b\c`, "line\nbreak\t", "\u2028\u2029", "\xff\xfe", "é中文", "\x00\x1f\x7f", "4000123456000019"}

func randomPayTransaction(rng *rand.Rand) PayTransaction {
	s := func() string { return payStrings[rng.IntN(len(payStrings))] }
	return PayTransaction{SuccessPaymentTime: s(), Amount: s(), ChannelTrxNo: s(), PaymentID: s(), Fee: s(),
		Currency: s(), Net: s(), OutOrderNo: s(), Status: s()}
}

// TestPayTransactionAnswerIsMarshal holds the pay-transaction answer to
// what json.Marshal of the map the handler answered before gives.
func TestPayTransactionAnswerIsMarshal(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	for i := range 20000 {
		pt := randomPayTransaction(rng)
		want, err := json.Marshal(map[string]any{"payment": pt})
		if err != nil {
			t.Fatal(err)
		}
		if got := appendPayTransactionAnswer(nil, pt); !bytes.Equal(got, want) {
			t.Fatalf("%d: %#v\n got %s\nwant %s", i, pt, got, want)
		}
	}
}

func FuzzPayTransactionAnswerIsMarshal(f *testing.F) {
	f.Add("", "19.99", "", "PI1", "0.60", "USD", "19.39", "o-1", "2")
	f.Add("2026-01-01T00:00:00Z", "<&>", "\u2028", "\xff", `"`, "\\", "\n", "é", "9")
	f.Fuzz(func(t *testing.T, a, b, c, d, e, g, h, i, j string) {
		pt := PayTransaction{SuccessPaymentTime: a, Amount: b, ChannelTrxNo: c, PaymentID: d, Fee: e, Currency: g, Net: h, OutOrderNo: i, Status: j}
		want, _ := json.Marshal(map[string]any{"payment": pt})
		if got := appendPayTransactionAnswer(nil, pt); !bytes.Equal(got, want) {
			t.Fatalf("got %s\nwant %s", got, want)
		}
	})
}

// TestWriteRawJSONIsWriteJSON: same status, header and body as WriteJSON.
func TestWriteRawJSONIsWriteJSON(t *testing.T) {
	pt := PayTransaction{Amount: "1.00", PaymentID: "PI1", Fee: "0.03", Currency: "USD", Net: "0.97", OutOrderNo: "o", Status: "2"}
	a, b := httptest.NewRecorder(), httptest.NewRecorder()
	WriteJSON(a, http.StatusOK, map[string]any{"payment": pt})
	writeRawJSON(b, http.StatusOK, appendPayTransactionAnswer(nil, pt))
	if a.Code != b.Code || fmt.Sprint(a.Header()) != fmt.Sprint(b.Header()) || a.Body.String() != b.Body.String() {
		t.Fatalf("WriteJSON %d %v %s\nwriteRawJSON %d %v %s", a.Code, a.Header(), a.Body, b.Code, b.Header(), b.Body)
	}
}

// TestQueriedEventIsTheMapEvent holds recordQueried to the event the
// handler recorded before: the payment's ids map and a map of status, fee
// and net, the message made by Sprintf.
func TestQueriedEventIsTheMapEvent(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	clk := clock.NewSim(time.Unix(0, 0))
	maps, lists := journal.New(clk, 0), journal.New(clk, 0)
	s := &System{env: &env.Env{Journal: lists}}
	const n = 3000
	for range n {
		str := func() string { return payStrings[rng.IntN(len(payStrings))] }
		p := Payment{ShopID: str(), PaymentID: str(), ClientID: str()}
		id, pt := str(), randomPayTransaction(rng)
		maps.Record(journal.Event{System: Name, Kind: "payment.queried",
			Message: fmt.Sprintf("pay-transaction query for payment %s: status %s", id, pt.Status), IDs: p.ids(KindPayment, id),
			Data: map[string]any{"status": pt.Status, "fee": pt.Fee, "net": pt.Net}})
		s.recordQueried(p, id, pt)
	}
	a, b := maps.Query(journal.Filter{}), lists.Query(journal.Filter{})
	if len(a) != n || len(b) != n {
		t.Fatalf("%d and %d events", len(a), len(b))
	}
	for i := range a {
		ja, _ := json.Marshal(a[i])
		jb, _ := json.Marshal(b[i])
		if !bytes.Equal(ja, jb) {
			t.Fatalf("event %d:\nmaps  %s\nlists %s", i, ja, jb)
		}
	}
}

// TestStatusCodeIsSprint: Code is the decimal number fmt.Sprint wrote.
func TestStatusCodeIsSprint(t *testing.T) {
	for s := Status(-20); s < 200; s++ {
		if s.Code() != fmt.Sprint(int(s)) {
			t.Fatalf("%d: %q", int(s), s.Code())
		}
	}
}

// BenchmarkPayTransactionAnswer compares the answer's writer with
// json.Marshal of the map it replaced.
func BenchmarkPayTransactionAnswer(b *testing.B) {
	pt := PayTransaction{SuccessPaymentTime: "2024-10-10T15:17:55+08:00", Amount: "19.99", ChannelTrxNo: "ch_1", PaymentID: "PI0020241010151755224",
		Fee: "0.60", Currency: "USD", Net: "19.39", OutOrderNo: "order-1", Status: "2"}
	b.Run("append", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			appendPayTransactionAnswer(make([]byte, 0, 320), pt)
		}
	})
	b.Run("marshal", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			json.Marshal(map[string]any{"payment": pt})
		}
	})
}

// payTransactionBefore is payTransaction as it was written before it made
// its strings in one: the reference it is held to.
func payTransactionBefore(p Payment, shop Shop) PayTransaction {
	gross, fee, net := payAmounts(p, shop)
	pt := PayTransaction{
		Amount: money.Format(gross, p.Currency), ChannelTrxNo: p.channelTrxNo(), PaymentID: p.PaymentID,
		Fee: money.Format(fee, p.Currency), Currency: p.Currency, Net: money.Format(net, p.Currency),
		OutOrderNo: p.OutOrderNo, Status: p.Status.Code(),
	}
	if p.SuccessAt != nil && p.Status == StatusSuccess {
		pt.SuccessPaymentTime = p.SuccessAt.In(shop.Location()).Format(time.RFC3339)
	}
	return pt
}

// TestPayTransactionAsBefore: payTransaction renders every status, amount,
// currency, fee plan and time zone as it did.
func TestPayTransactionAsBefore(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	at := time.Date(2026, 12, 6, 10, 30, 15, 123, time.UTC)
	for i := range 5000 {
		p := Payment{PaymentID: fmt.Sprintf("PI%d", i), OutOrderNo: "O1", Currency: []string{"USD", "JPY", "KWD", "EUR"}[i%4],
			Amount: rng.Int64N(1_000_000_000) - 1000, CapturedMinor: rng.Int64N(1_000_000), Status: []Status{StatusProcessing, StatusSuccess, StatusAuthVoid, StatusAuthSuccess, StatusFailure}[i%5]}
		if i%3 != 0 {
			when := at.Add(time.Duration(rng.Int64N(1e15)))
			p.SuccessAt = &when
		}
		shop := Shop{Timezone: []string{"", "Europe/London", "Asia/Shanghai", "America/New_York"}[(i/4)%4],
			FeePlan: FeePlan{PercentBasisPoints: rng.Int64N(500), FixedMinor: rng.Int64N(100)}}
		if got, want := payTransaction(p, shop), payTransactionBefore(p, shop); got != want {
			t.Fatalf("%+v: %+v, want %+v", p, got, want)
		}
	}
}
