package threeds

import (
	"testing"

	"github.com/pspsim/pspsim/simulator/money"
)

// TestAuthenticationMessageIsItsConcatenation holds authenticationMessage,
// made in one string, to the concatenation it stands for, for every kind of
// result, and to one allocation beyond the amount's.
func TestAuthenticationMessageIsItsConcatenation(t *testing.T) {
	var results []Result
	for _, flow := range []string{FlowFrictionless, FlowChallenge, FlowDecoupled, FlowNotEnrolled, FlowDSError, ""} {
		for _, st := range []string{StatusY, StatusA, StatusN, StatusR, StatusU, StatusC, StatusD, ""} {
			for _, reason := range []string{"", ReasonCardAuthFailed, ReasonTimedOut} {
				results = append(results, Result{Flow: flow, TransStatus: st, TransStatusReason: reason})
			}
		}
	}
	for i, r := range results {
		r.Brand, r.MaskedPAN = []string{"visa", "mastercard", ""}[i%3], []string{"400012******0019", ""}[i%2]
		r.Amount, r.Currency = []int64{1999, 0, 100, 12345678}[i%4], []string{"USD", "JPY", "BHD", "XXX"}[i%4]
		tx := Transaction{Result: r}
		want := tx.Brand + " " + tx.MaskedPAN + " authentication for " + money.Format(tx.Amount, tx.Currency) + " " + tx.Currency + ": " + describe(tx.Result)
		if got := authenticationMessage(&tx); got != want {
			t.Fatalf("%q, want %q", got, want)
		}
	}
	tx := Transaction{Result: Result{Flow: FlowFrictionless, TransStatus: StatusN, TransStatusReason: ReasonCardAuthFailed, Brand: "mastercard",
		MaskedPAN: "520000******0007", Amount: 1999, Currency: "USD"}}
	amount := testing.AllocsPerRun(100, func() { money.Format(tx.Amount, tx.Currency) })
	if n := testing.AllocsPerRun(100, func() { authenticationMessage(&tx) }); n > amount+1 {
		t.Fatalf("%.0f allocations, want %.0f (the amount's and the message)", n, amount+1)
	}
}
