package vmgateway

import (
	"testing"
	"time"

	"github.com/pspsim/pspsim/simulator/store/storetest"
)

// TestPaymentEndedReadsOnlyItsFields holds paymentEnded to its answer on
// the whole payment when it is given only paymentReads, as the store's
// eviction gives it (store.EvictableReading): a field it reads and does not
// name would change an answer here.
func TestPaymentEndedReadsOnlyItsFields(t *testing.T) {
	busy := func(system, id string) bool { return system == Name && id == "T-busy" }
	at := time.Unix(1.7e9, 0)
	n := 0
	for _, status := range []string{"", StatusPending, StatusRequiresAction, StatusAuthorized, StatusCaptured,
		StatusPartiallyRefunded, StatusRefunded, StatusFailed, StatusCancelled, StatusExpired} {
		for _, pending := range []int64{0, 500} {
			for _, trade := range []string{"T-busy", "T-idle"} {
				p := Payment{
					TradeNo: trade, OrderNo: "O1", MerchantID: "M1", Status: status, Amount: 1999, Currency: "USD",
					Captured: 1999, RefundPending: pending, ThreeDS: &ThreeDSInfo{}, NextAction: &NextAction{Type: "none"},
					CreatedAt: at, UpdatedAt: at, ExpiresAt: &at, History: []Transition{{}},
				}
				only := storetest.OnlyFields(p, paymentReads...)
				want := paymentEnded(&p, busy)
				if got := paymentEnded(&only, busy); got != want {
					t.Errorf("status %q, refund pending %d, %s: %v on paymentReads, %v on the payment", status, pending, trade, got, want)
				}
				if want {
					n++
				}
			}
		}
	}
	if n == 0 {
		t.Fatal("no payment ended: the test asks nothing")
	}
}
