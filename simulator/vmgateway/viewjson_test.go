package vmgateway

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

// randomPayment fills a payment from rng, with the values that make JSON
// differ: empty and escaped strings, invalid UTF-8, amounts of every
// exponent and sign, pointers present and absent, times in other zones
// and years.
func randomPayment(rng *rand.Rand) Payment {
	strs := []string{"", "x", "CAPTURED", "card", "a\"b", `back\slash`, "<tag>&amp;", "é€😀", "\xff\xfe", "line\nbreak\t\b\f", "\u2028\u2029", "\x00\x1f\x7f"}
	s := func() string { return strs[rng.IntN(len(strs))] }
	amounts := []int64{0, 1, 9, 10, 99, 100, 1999, 123456789, -1, -5, -100, -1999, math.MaxInt64, math.MinInt64}
	amount := func() int64 {
		if rng.IntN(3) == 0 {
			return rng.Int64()
		}
		return amounts[rng.IntN(len(amounts))]
	}
	currencies := []string{"USD", "JPY", "KWD", "BHD", "CLF", "XXX", "", "usd", "EUR"}
	zones := []*time.Location{time.UTC, time.FixedZone("", 8*3600), time.FixedZone("X", -5*3600-1800)}
	tm := func() time.Time {
		t := time.Unix(rng.Int64N(1<<34)-1<<33, rng.Int64N(1e9)).In(zones[rng.IntN(len(zones))])
		if rng.IntN(10) == 0 {
			t = time.Date(rng.IntN(30000)-10000, 1, 2, 3, 4, 5, 6, time.UTC)
		}
		return t
	}
	tp := func() *time.Time {
		if rng.IntN(2) == 0 {
			return nil
		}
		t := tm()
		return &t
	}
	p := Payment{
		TradeNo: s(), OrderNo: s(), AppID: s(), MerchantID: s(), Environment: s(), SessionID: s(), Status: s(), Method: s(), ProductType: s(),
		Amount: amount(), Currency: currencies[rng.IntN(len(currencies))], Authorized: amount(), Captured: amount(), Refunded: amount(),
		CaptureMethod: s(), Description: s(), FailureCode: s(), FailureMessage: s(), CardBrand: s(), MaskedCardNo: s(),
		TransactionIdentifier: s(), CreatedAt: tm(), UpdatedAt: tm(), ExpiresAt: tp(), AuthorizationExpiresAt: tp(),
	}
	if rng.IntN(3) > 0 {
		p.ThreeDS = &ThreeDSInfo{Mode: s(), Flow: s(), Version: s(), TransStatus: s(), TransStatusReason: s(), ECI: s(),
			DSTransID: s(), ACSTransID: s(), ThreeDSServerTransID: s(), LiabilityShift: rng.IntN(2) == 0}
	}
	if rng.IntN(3) > 0 {
		p.NextAction = &NextAction{Type: s(), RedirectURL: s(), QRCode: s(), ExpiresAt: tp()}
	}
	return p
}

func TestPaymentJSONIsMarshalOfTheView(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	for i := range 20_000 {
		p := randomPayment(rng)
		want, err := json.Marshal(viewPayment(p))
		if err != nil {
			t.Fatal(err)
		}
		if got := appendPaymentJSON(nil, &p); string(got) != string(want) {
			t.Fatalf("payment %d:\n%s\nwant\n%s", i, got, want)
		}
	}
}

func FuzzPaymentJSONIsMarshalOfTheView(f *testing.F) {
	f.Add("T1", "O1", "19.99", int64(1999), "USD", int64(0), int64(1700000000), true)
	f.Add("\xff<", "", "\u2028", int64(-7), "JPY", int64(math.MinInt64), int64(-62135596801), false)
	f.Fuzz(func(t *testing.T, a, b, c string, amount int64, currency string, refunded, unix int64, threeDS bool) {
		at := time.Unix(unix, 0)
		p := Payment{TradeNo: a, OrderNo: b, Description: c, Status: a + b, Amount: amount, Currency: currency, Refunded: refunded,
			Captured: -amount, CreatedAt: at, UpdatedAt: at.In(time.FixedZone("", 3600)), ExpiresAt: &at}
		if threeDS {
			p.ThreeDS = &ThreeDSInfo{Mode: c, DSTransID: a}
			p.NextAction = &NextAction{Type: b, ExpiresAt: &at}
		}
		want, err := json.Marshal(viewPayment(p))
		if err != nil {
			t.Skip(err)
		}
		if got := appendPaymentJSON(nil, &p); string(got) != string(want) {
			t.Fatalf("\n%s\nwant\n%s", got, want)
		}
	})
}

func BenchmarkPaymentAnswer(b *testing.B) {
	now := time.Date(2026, 12, 6, 1, 2, 3, 0, time.UTC)
	p := Payment{TradeNo: "20261206010203123456", OrderNo: "H100000", Status: StatusCaptured, Method: "card", Amount: 1999, Currency: "USD",
		Authorized: 1999, Captured: 1999, CaptureMethod: "auto", Environment: Sandbox, Description: "test order", CardBrand: "VISA",
		MaskedCardNo: "400012******0019", CreatedAt: now, UpdatedAt: now, ExpiresAt: &now, NextAction: &NextAction{Type: "none"},
		ThreeDS: &ThreeDSInfo{Mode: "auto", Flow: "frictionless", Version: "2.2.0", TransStatus: "Y", ECI: "05",
			DSTransID: "6f1d2a3b-4c5d-4e6f-8a9b-0c1d2e3f4a5b", ACSTransID: "6f1d2a3b-4c5d-4e6f-8a9b-0c1d2e3f4a5c",
			ThreeDSServerTransID: "6f1d2a3b-4c5d-4e6f-8a9b-0c1d2e3f4a5d", LiabilityShift: true}}
	b.Run("marshal-view", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			json.Marshal(viewPayment(p))
		}
	})
	b.Run("append", func(b *testing.B) {
		b.ReportAllocs()
		var buf []byte
		for b.Loop() {
			buf = appendPaymentJSON(buf[:0], &p)
		}
	})
}
