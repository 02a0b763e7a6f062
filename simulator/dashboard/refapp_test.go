package dashboard_test

import (
	"context"
	"io"
	"log/slog"

	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/pspsim/pspsim/examples/paymentapp"
	"github.com/pspsim/pspsim/simulator/simtest"
)

// refApp is the reference payment app (examples/paymentapp) in process,
// registered with a simulator's Genstore and installed on shop 7001: the
// dashboard's timeline is tested on what a real app makes happen.
type refApp struct {
	h   *simtest.Harness
	app *paymentapp.App
	srv *httptest.Server
}

const refClientID = "ref-payment-app"

// startRefApp starts the reference app against h and installs it on a new
// shop 7001 (test mode).
func startRefApp(t testing.TB, h *simtest.Harness) *refApp {
	t.Helper()
	key, err := os.ReadFile("../../examples/paymentapp/testdata/ecies-sandbox-key.pem")
	if err != nil {
		t.Fatal(err)
	}
	ra := &refApp{h: h, srv: httptest.NewServer(nil)}
	t.Cleanup(ra.srv.Close)
	ra.app, err = paymentapp.New(paymentapp.Config{
		GenstoreURL: h.URL + "/genstore", GatewayURL: h.URL + "/vm", PublicURL: ra.srv.URL,
		ClientID: refClientID, ClientSecret: "caeeddab1a4213af909cf943a52b8864", ECIESPrivateKey: string(key),
		Sandbox: paymentapp.Credentials{AppID: "086666075137001", Secret: "184E52CF5365D2D7EE8EDA************"},
		Live:    paymentapp.Credentials{AppID: "086666075137001", Secret: "184E52CF5365D2D7EE8EDA0000000002"},
		Logger:  slog.New(slog.NewTextHandler(io.Discard, nil)), Clock: h.Clock.Now,
		CallbackBackoff: []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond, time.Second},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ra.app.Close() })
	ra.srv.Config.Handler = ra.app.Handler()
	base := ra.srv.URL
	eps := map[string]string{}
	for _, e := range []string{"onboarding", "payment", "capture", "void", "refund", "payment_query", "refund_query"} {
		name := strings.ReplaceAll(e, "_q", "Q") + "Url"
		eps[name] = base + "/" + e
	}
	ra.must(t, "POST", "/_sim/genstore/apps", map[string]any{"clientId": refClientID, "clientSecret": "caeeddab1a4213af909cf943a52b8864",
		"publicKey": ra.app.PublicKey(), "endpoints": eps, "scopes": []string{"write_payment", "read_payments_transaction", "write_payments_transaction"}})
	ra.must(t, "POST", "/_sim/genstore/shops", map[string]any{"shopId": "7001", "shop": "dash-shop", "testMode": true})
	ra.must(t, "POST", "/_sim/genstore/shops/7001/installations", map[string]any{"clientId": refClientID})
	simtest.Eventually(t, "the reference app reports its installation ready", func() bool {
		r := h.Do("GET", "/_sim/genstore/shops/7001/installations", nil)
		return strings.Contains(string(r.Body), `"ready":true`)
	})
	return ra
}

func (ra *refApp) must(t testing.TB, method, path string, body any) map[string]any {
	t.Helper()
	r := ra.h.Do(method, path, body)
	if r.Status >= 300 {
		t.Fatalf("%s %s: %d %s", method, path, r.Status, r.Body)
	}
	return r.JSON()
}

// pay makes a buyer pay amount with card on shop 7001 and returns the
// Genstore payment id once the app acknowledged it.
func (ra *refApp) pay(t testing.TB, amount, card string) string {
	t.Helper()
	p := ra.must(t, "POST", "/_sim/genstore/shops/7001/payments", map[string]any{"amount": amount, "card": map[string]any{"number": card}})
	return simtest.FieldString(p, "paymentId")
}

// payment reads a Genstore payment.
func (ra *refApp) payment(t testing.TB, id string) map[string]any {
	return ra.must(t, "GET", "/_sim/genstore/shops/7001/payments/"+id, nil)
}

var _ = context.Background
