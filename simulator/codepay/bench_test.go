package codepay_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http/httptest"
	"strconv"
	"testing"

	"github.com/pspsim/pspsim/fixtures"
	"github.com/pspsim/pspsim/simulator"
	"github.com/pspsim/pspsim/simulator/clock"
	"github.com/pspsim/pspsim/simulator/codepay"
	"github.com/pspsim/pspsim/simulator/simtest"
)

// BenchmarkSignedOrderQuery measures a whole signed order.query round trip
// on a loopback socket: the client signs (SHA256withRSA, 2048 bits), the
// gateway validates, verifies the signature, looks the order up, signs its
// answer, and the client verifies that answer as the PHP demo does. Run it
// with BenchmarkRSA2048Sign to compare against the raw signing rate: a
// round trip holds two signatures and two verifications.
func BenchmarkSignedOrderQuery(b *testing.B) {
	c := clock.NewSim(simtest.Start)
	srv := httptest.NewServer(nil)
	defer srv.Close()
	sim, err := simulator.New(context.Background(), simulator.Options{Clock: c, BaseURL: srv.URL})
	if err != nil {
		b.Fatal(err)
	}
	defer sim.Close()
	srv.Config.Handler = sim.Handler()
	keyPEM, _ := fixtures.Read("keys/codepay-app-demo.pem")
	key, _ := codepay.ParsePrivateKey(keyPEM)
	gw := sim.System("codepay").(*codepay.System).GatewayPublicKey()
	post := func(fields map[string]any) []byte {
		raw, _ := json.Marshal(fields)
		sign, err := codepay.Sign(key, raw)
		if err != nil {
			b.Fatal(err)
		}
		fields["sign"] = sign
		raw, _ = json.Marshal(fields)
		res, err := srv.Client().Post(srv.URL+"/codepay/api/entry", "application/json", bytes.NewReader(raw))
		if err != nil {
			b.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		return body
	}
	env := func(method string) map[string]any {
		return map[string]any{"app_id": appID, "format": "JSON", "charset": "UTF-8", "sign_type": "RSA2", "version": "1.0",
			"timestamp": strconv.FormatInt(c.Now().UnixMilli(), 10), "method": method, "merchant_no": merchant}
	}
	order := env("wisehub.cloud.pay.order")
	for k, v := range map[string]any{"terminal_sn": termA, "message_receiving_application": "CodePay Register", "price_currency": "USD",
		"order_amount": json.Number("12.34"), "trans_type": 1, "merchant_order_no": "BENCH-1", "description": "bench", "expires": 3600, "api_version": "2.0"} {
		order[k] = v
	}
	if body := post(order); !bytes.Contains(body, []byte(`"code":"0"`)) {
		b.Fatalf("order: %s", body)
	}
	b.ResetTimer()
	for b.Loop() {
		q := env("order.query")
		q["merchant_order_no"] = "BENCH-1"
		body := post(q)
		if err := phpVerify(gw, body); err != nil {
			b.Fatalf("%v: %s", err, body)
		}
		if !bytes.Contains(body, []byte(`"code":"0"`)) {
			b.Fatalf("query: %s", body)
		}
	}
}

// BenchmarkRSA2048Verify is the other half of a round trip's crypto.
func BenchmarkRSA2048Verify(b *testing.B) {
	k, pub := keys(b)
	sig, _ := codepay.SignString(k, "app_id=wz1&method=order.query")
	for b.Loop() {
		if err := codepay.VerifyString(pub, "app_id=wz1&method=order.query", sig); err != nil {
			b.Fatal(err)
		}
	}
}
