package pspsimtest_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/pspsim/pspsim/pspsimtest"
	"github.com/pspsim/pspsim/simulator/genstore/genstoretest"
)

// startWithApp is a sandbox with a scripted app installed on shop 1001
// that approves every payment and operation at once.
func startWithApp(t *testing.T) (*pspsimtest.Sandbox, *genstoretest.App) {
	t.Helper()
	sb := pspsimtest.Start(t)
	app, err := genstoretest.New("client-test-app", "client-test-app-secret", sb.URL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(app.Close)
	ok := genstoretest.Reply{Callback: &genstoretest.Result{OK: true, ChannelID: "ch_ok"}}
	for _, kind := range []string{"payment", "capture", "void", "refund"} {
		app.Default(kind, ok)
	}
	e := app.Endpoints()
	ctx := context.Background()
	if err := sb.Client.RegisterApp(ctx, pspsimtest.App{ClientID: app.ClientID, ClientSecret: app.ClientSecret, PublicKey: app.PublicKey(),
		Endpoints: pspsimtest.Endpoints{OnboardingURL: e.OnboardingURL, PaymentURL: e.PaymentURL, CaptureURL: e.CaptureURL, VoidURL: e.VoidURL,
			RefundURL: e.RefundURL, PaymentQueryURL: e.PaymentQueryURL, RefundQueryURL: e.RefundQueryURL}}); err != nil {
		t.Fatal(err)
	}
	if _, err := sb.Client.Install(ctx, "1001", app.ClientID); err != nil {
		t.Fatal(err)
	}
	return sb, app
}

func TestMerchantActionsAndJournalWaits(t *testing.T) {
	sb, app := startWithApp(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c := sb.Client

	p, err := c.Pay(ctx, "1001", pspsimtest.PaymentRequest{ClientID: app.ClientID, Amount: "40.00", ManualCapture: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.WaitCallback(ctx, p.PaymentID); err != nil {
		t.Fatal(err)
	}
	if p, _ = c.Payment(ctx, "1001", p.PaymentID); p.StatusName != "auth_success" {
		t.Fatalf("after the callback: %s, want auth_success", p.StatusName)
	}
	capture, err := c.Capture(ctx, "1001", p.PaymentID, "30.00")
	if err != nil || capture.Operation.Kind != "capture" || capture.Operation.Amount != "30.00" {
		t.Fatalf("capture: %+v %v", capture.Operation, err)
	}
	ev, err := c.WaitEvent(ctx, pspsimtest.EventQuery{System: "genstore", Kind: "callback.received", ID: capture.Operation.ID})
	if err != nil || ev.IDs["paymentId"] != p.PaymentID {
		t.Fatalf("capture callback: %+v %v", ev, err)
	}
	refund, err := c.Refund(ctx, "1001", p.PaymentID, "10.00")
	if err != nil || refund.Operation.Kind != "refund" {
		t.Fatalf("refund: %+v %v", refund.Operation, err)
	}
	if _, err := c.WaitEvent(ctx, pspsimtest.EventQuery{Kind: "callback.received", ID: refund.Operation.ID}); err != nil {
		t.Fatal(err)
	}
	if p, _ = c.Payment(ctx, "1001", p.PaymentID); p.Captured != "30.00" || p.Refunded != "10.00" {
		t.Errorf("captured %s refunded %s, want 30.00 and 10.00", p.Captured, p.Refunded)
	}

	// A second authorization, voided.
	v, err := c.Pay(ctx, "1001", pspsimtest.PaymentRequest{ClientID: app.ClientID, Amount: "5.00", ManualCapture: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.WaitCallback(ctx, v.PaymentID); err != nil {
		t.Fatal(err)
	}
	if void, err := c.Void(ctx, "1001", v.PaymentID); err != nil || void.Operation.Kind != "void" {
		t.Fatalf("void: %+v %v", void, err)
	}

	// Journal pages read forward from a cursor.
	page, err := c.Events(ctx, pspsimtest.EventQuery{PaymentID: p.PaymentID, Limit: 2})
	if err != nil || len(page.Events) != 2 || !page.HasMore {
		t.Fatalf("events: %d events, more %v, %v", len(page.Events), page.HasMore, err)
	}
	next, err := c.Events(ctx, pspsimtest.EventQuery{PaymentID: p.PaymentID, After: page.Next, Limit: 1})
	if err != nil || len(next.Events) != 1 || next.Events[0].Seq <= page.Events[1].Seq {
		t.Fatalf("next page: %+v %v", next.Events, err)
	}

	// Waiting for what never comes ends with the context, naming it.
	short, stop := context.WithTimeout(ctx, 50*time.Millisecond)
	defer stop()
	if _, err := c.WaitCallback(short, "PI-NEVER"); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("wait for a callback that never comes: %v", err)
	}
}

func TestClockFaultsCanariesAndErrors(t *testing.T) {
	sb := pspsimtest.Start(t, pspsimtest.WithClockStart(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)))
	ctx := context.Background()
	c := sb.Client

	clk, err := c.Clock(ctx)
	if err != nil || clk.Mode != "sim" || !clk.Now.Equal(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)) {
		t.Fatalf("clock: %+v %v", clk, err)
	}
	to := clk.Now.Add(48 * time.Hour)
	if moved, err := c.SetClock(ctx, to); err != nil || !moved.Now.Equal(to) {
		t.Fatalf("set clock: %+v %v", moved, err)
	}
	if _, err := c.SetClock(ctx, clk.Now); err == nil {
		t.Error("the clock moved backwards")
	}

	if _, err := c.AddFault(ctx, pspsimtest.FaultRule{ID: "f1", Action: "reset", Match: map[string]any{"system": "vmgateway"}}); err != nil {
		t.Fatal(err)
	}
	_, err = c.AddFault(ctx, pspsimtest.FaultRule{ID: "f1", Action: "reset"})
	var apiErr *pspsimtest.Error
	if !errors.As(err, &apiErr) || apiErr.Status != 400 || apiErr.Field != "id" {
		t.Errorf("a duplicate rule id: %v", err)
	}
	if err := c.DeleteFault(ctx, "f1"); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteFault(ctx, "f1"); !pspsimtest.IsNotFound(err) {
		t.Errorf("deleting it again: %v, want a 404", err)
	}
	c.AddFault(ctx, pspsimtest.FaultRule{ID: "f2", Action: "drop"})
	if n, err := c.ClearFaults(ctx); err != nil || n != 1 {
		t.Errorf("clear: %d %v", n, err)
	}

	canaries, err := c.WatchCanaries(ctx, "my test", "4000123456000019")
	if err != nil || len(canaries) != 1 || canaries[0].Masked != "400012******0019" {
		t.Fatalf("canaries: %+v %v", canaries, err)
	}
	if list, _ := c.Canaries(ctx); len(list) != 1 || list[0].Label != "my test" {
		t.Errorf("listed canaries: %+v", list)
	}
	if err := c.ClearCanaries(ctx); err != nil {
		t.Fatal(err)
	}

	term, err := c.Terminal(ctx, sb.Credentials().CodePay.TerminalSN)
	if err != nil || !term.Online {
		t.Errorf("terminal: %+v %v", term, err)
	}
	if err := c.Reset(ctx); err != nil {
		t.Fatal(err)
	}
	if h, err := c.Health(ctx); err != nil || h.Status != "ok" || h.Seed != 1 {
		t.Errorf("health: %+v %v", h, err)
	}
}

func TestCredentialsAreTheFixtures(t *testing.T) {
	sb := pspsimtest.Start(t)
	c := sb.Credentials()
	if c.Genstore.ClientID == "" || c.Genstore.ShopID == "" || c.Genstore.AccessToken == "" {
		t.Errorf("genstore: %+v", c.Genstore)
	}
	if c.CodePay.AppID == "" || c.CodePay.MerchantNo == "" || c.CodePay.TerminalSN == "" ||
		len(c.CodePay.PrivateKeyPEM) == 0 || len(c.CodePay.GatewayPublicKeyPEM) == 0 {
		t.Errorf("codepay: %+v", c.CodePay)
	}
	if c.Gateway.AppID == "" || c.Gateway.Secret == "" {
		t.Errorf("gateway: %+v", c.Gateway)
	}
}
