package codepay_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/pspsim/pspsim/simulator/clock"
	"github.com/pspsim/pspsim/simulator/codepay"
	"github.com/pspsim/pspsim/simulator/ids"
	"github.com/pspsim/pspsim/simulator/journal"
	memstore "github.com/pspsim/pspsim/simulator/store"
	"github.com/pspsim/pspsim/simulator/threeds"
)

func newThreeDS(t *testing.T) (*threeds.Service, *clock.Sim) {
	t.Helper()
	c := clock.NewSim(time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC))
	svc, err := threeds.New(threeds.Options{Clock: c, Store: memstore.NewMemory(), Journal: journal.New(c, 0), IDs: ids.New(1),
		BaseURL: func() string { return "http://127.0.0.1:7357" }})
	if err != nil {
		t.Fatal(err)
	}
	return svc, c
}

// TestServiceThreeDSMapsEveryTestCard runs CodePay's adapter over the shared
// 3-D Secure simulator for TESTCARDS rows of every kind and checks the outcome
// CodePay acts on.
func TestServiceThreeDSMapsEveryTestCard(t *testing.T) {
	cases := []struct {
		card    string
		outcome codepay.ThreeDSOutcome
		status  string
	}{
		{"4000123456000019", codepay.ThreeDSAuthenticated, "Y"},
		{"5100123456000023", codepay.ThreeDSAuthenticated, "A"},
		{"4000123456000035", codepay.ThreeDSFailed, "N"},
		{"4000123456000043", codepay.ThreeDSRejected, "R"},
		{"4000123456000050", codepay.ThreeDSUnavailable, "U"},
		{"4000123456000068", codepay.ThreeDSChallenge, "C"},
		{"4000123456000092", codepay.ThreeDSNotEnrolled, ""},
		{"4000123456000100", codepay.ThreeDSError, ""},
		{"4000123456000134", codepay.ThreeDSDecoupled, "D"},
	}
	svc, _ := newThreeDS(t)
	a := codepay.ServiceThreeDS{Service: svc}
	for i, c := range cases {
		t.Run(c.card, func(t *testing.T) {
			res, err := a.Authenticate(context.Background(), codepay.ThreeDSRequest{
				System: "codepay", Reference: "T" + string(rune('A'+i)), MerchantID: "302300000926", PAN: c.card,
				Amount: 1234, Currency: "USD", ReturnURL: "/codepay/3ds/T/return",
			}, func(codepay.ThreeDSResult) {})
			if err != nil {
				t.Fatal(err)
			}
			if res.Outcome != c.outcome || res.TransStatus != c.status {
				t.Fatalf("got %s/%s, want %s/%s", res.Outcome, res.TransStatus, c.outcome, c.status)
			}
			if c.outcome == codepay.ThreeDSAuthenticated && (res.CAVV == "" || res.ECI == "") {
				t.Fatalf("authenticated without CAVV/ECI: %+v", res)
			}
			if c.outcome == codepay.ThreeDSChallenge && res.ChallengeURL == "" {
				t.Fatal("challenge without a URL")
			}
			if c.outcome == codepay.ThreeDSError && !res.Retryable {
				t.Fatal("a directory server error must be retryable")
			}
		})
	}
}

// TestServiceThreeDSBindsTheResultToTheTransaction: the CAVV of an
// authentication made for one trans_no cannot back another authorization.
func TestServiceThreeDSBindsTheResultToTheTransaction(t *testing.T) {
	svc, _ := newThreeDS(t)
	a := codepay.ServiceThreeDS{Service: svc}
	res, err := a.Authenticate(context.Background(), codepay.ThreeDSRequest{System: "codepay", Reference: "T1", MerchantID: "302300000926",
		PAN: "4000123456000019", Amount: 500, Currency: "USD", ReturnURL: "/r"}, nil)
	if err != nil || res.Outcome != codepay.ThreeDSAuthenticated {
		t.Fatalf("%+v %v", res, err)
	}
	_, err = svc.Bind(context.Background(), threeds.Binding{DSTransID: res.DSTransID, AuthenticationValue: res.CAVV,
		MerchantID: "302300000926", Reference: "T2", Amount: 500, Currency: "USD"})
	if err == nil {
		t.Fatal("a CAVV bound to T1 backed T2's authorization")
	}
}

// TestServiceThreeDSReportsTheChallengeResultOnce completes a challenge through
// the simulator and checks CodePay hears the final result exactly once.
func TestServiceThreeDSReportsTheChallengeResultOnce(t *testing.T) {
	svc, _ := newThreeDS(t)
	a := codepay.ServiceThreeDS{Service: svc}
	var mu sync.Mutex
	var finals []codepay.ThreeDSResult
	res, err := a.Authenticate(context.Background(), codepay.ThreeDSRequest{System: "codepay", Reference: "T9", MerchantID: "302300000926",
		PAN: "4000123456000068", Amount: 500, Currency: "USD", ReturnURL: "/r"}, func(r codepay.ThreeDSResult) {
		mu.Lock()
		finals = append(finals, r)
		mu.Unlock()
	})
	if err != nil || res.Outcome != codepay.ThreeDSChallenge {
		t.Fatalf("%+v %v", res, err)
	}
	r, err := svc.Get(context.Background(), res.DSTransID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Complete(context.Background(), r.ACSTransID, threeds.Completion{Action: "submit", OTP: "123456"}); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(finals) != 1 || finals[0].Outcome != codepay.ThreeDSAuthenticated || finals[0].TransStatus != "Y" {
		t.Fatalf("finals %+v", finals)
	}
}
