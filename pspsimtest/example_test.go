package pspsimtest_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/pspsim/pspsim/pspsimtest"
	"github.com/pspsim/pspsim/simulator/genstore/genstoretest"
)

// A sandbox of its own, its URLs and the clock, which moves only when told.
func ExampleNew() {
	sb, err := pspsimtest.New(pspsimtest.WithSeed(7))
	if err != nil {
		panic(err)
	}
	defer sb.Close()
	ctx := context.Background()

	h, _ := sb.Client.Health(ctx)
	fmt.Println(h.Status, "seed", h.Seed, h.Clock.Mode, h.Clock.Now.Format(time.RFC3339))
	fmt.Println(strings.TrimPrefix(sb.GatewayURL(), sb.URL))
	moved, _ := sb.Client.Advance(ctx, 90*time.Minute)
	fmt.Println(moved.Now.Format(time.RFC3339))
	// Output:
	// ok seed 7 sim 2026-11-22T10:00:00Z
	// /vm
	// 2026-11-22T11:30:00Z
}

// The whole Genstore round trip with a payment app: the buyer pays, and the
// test waits until the app's result callback for that payment arrives.
// Here the app is pspsim's scripted one; in your tests it is yours.
func ExampleClient_WaitCallback() {
	sb, err := pspsimtest.New()
	if err != nil {
		panic(err)
	}
	defer sb.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	app, err := genstoretest.New("my-payment-app", "my-payment-app-secret", sb.URL)
	if err != nil {
		panic(err)
	}
	defer app.Close()
	// The app approves every payment with a callback before it answers.
	app.Default("payment", genstoretest.Reply{Callback: &genstoretest.Result{OK: true, ChannelID: "ch_1"}})
	e := app.Endpoints()
	err = sb.Client.RegisterApp(ctx, pspsimtest.App{ClientID: app.ClientID, ClientSecret: app.ClientSecret, PublicKey: app.PublicKey(),
		Endpoints: pspsimtest.Endpoints{OnboardingURL: e.OnboardingURL, PaymentURL: e.PaymentURL, CaptureURL: e.CaptureURL, VoidURL: e.VoidURL,
			RefundURL: e.RefundURL, PaymentQueryURL: e.PaymentQueryURL, RefundQueryURL: e.RefundQueryURL}})
	if err != nil {
		panic(err)
	}
	if _, err := sb.Client.Install(ctx, "1001", app.ClientID); err != nil {
		panic(err)
	}

	p, err := sb.Client.Pay(ctx, "1001", pspsimtest.PaymentRequest{ClientID: app.ClientID, Amount: "12.34",
		Card: &pspsimtest.Card{Number: "4000123456000001"}})
	if err != nil {
		panic(err)
	}
	if _, err := sb.Client.WaitCallback(ctx, p.PaymentID); err != nil {
		panic(err)
	}
	p, _ = sb.Client.Payment(ctx, "1001", p.PaymentID)
	fmt.Println(p.Amount, p.Currency, p.StatusName, p.Result.Source)
	// Output:
	// 12.34 USD success callback
}

// A fault rule makes the card gateway's token endpoint answer 503 once:
// the app's retry is what the test then checks.
func ExampleClient_AddFault() {
	sb, err := pspsimtest.New()
	if err != nil {
		panic(err)
	}
	defer sb.Close()
	ctx := context.Background()

	_, err = sb.Client.AddFault(ctx, pspsimtest.FaultRule{ID: "token-busy",
		Match:     map[string]any{"system": "vmgateway", "operation": "createAccessToken"},
		Action:    map[string]any{"type": "status", "status": 503},
		Frequency: map[string]any{"first": 1}})
	if err != nil {
		panic(err)
	}
	creds := sb.Credentials().Gateway
	for range 2 {
		body := fmt.Sprintf(`{"appId":%q,"secret":%q}`, creds.AppID, creds.Secret)
		res, err := http.Post(sb.GatewayURL()+"/v1/auth/token", "application/json", strings.NewReader(body))
		if err != nil {
			panic(err)
		}
		res.Body.Close()
		fmt.Println(res.StatusCode)
	}
	rules, _ := sb.Client.Faults(ctx)
	for _, r := range rules {
		if r.ID == "token-busy" {
			fmt.Println(r.ID, "fired", r.Hits)
		}
	}
	// Output:
	// 503
	// 200
	// token-busy fired 1
}

// A CodePay POS terminal goes offline and comes back, as its cashier would
// make it.
func ExampleClient_TerminalAct() {
	sb, err := pspsimtest.New()
	if err != nil {
		panic(err)
	}
	defer sb.Close()
	ctx := context.Background()
	sn := sb.Credentials().CodePay.TerminalSN

	term, _ := sb.Client.TerminalAct(ctx, sn, "offline", pspsimtest.TerminalAction{})
	fmt.Println(term.SN, "online:", term.Online)
	term, _ = sb.Client.TerminalAct(ctx, sn, "online", pspsimtest.TerminalAction{})
	fmt.Println(term.SN, "online:", term.Online)
	// Output:
	// WPYB002248000865 online: false
	// WPYB002248000865 online: true
}
