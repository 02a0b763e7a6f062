package simulator_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/pspsim/pspsim/simulator"
	"github.com/pspsim/pspsim/simulator/clock"
	"github.com/pspsim/pspsim/simulator/openapi"
	"github.com/pspsim/pspsim/simulator/simtest"
	"github.com/pspsim/pspsim/specs"
)

// BenchmarkNew measures building a simulator: loading and routing the four
// specs, loading fixtures — the bulk of a cold start.
func BenchmarkNew(b *testing.B) {
	for b.Loop() {
		s, err := simulator.New(context.Background(), simulator.Options{Clock: clock.NewSim(simtest.Start)})
		if err != nil {
			b.Fatal(err)
		}
		s.Close()
	}
}

// BenchmarkNewShared measures building one more simulator in a process
// that has loaded the specs already (a namespace: package host shares one
// openapi.Specs): its fixtures, keys and tables only. Its ratio to
// BenchmarkNew is what the cache saves.
func BenchmarkNewShared(b *testing.B) {
	shared := openapi.NewSpecs(specs.FS(), false)
	warm, err := simulator.New(context.Background(), simulator.Options{Clock: clock.NewSim(simtest.Start), Specs: shared})
	if err != nil {
		b.Fatal(err)
	}
	warm.Close()
	for b.Loop() {
		s, err := simulator.New(context.Background(), simulator.Options{Clock: clock.NewSim(simtest.Start), Specs: shared, Namespace: "bench"})
		if err != nil {
			b.Fatal(err)
		}
		s.Close()
	}
}

// BenchmarkValidatedRequest sends one request per system through the full
// handler stack (routing, authentication, validation, handler or spec
// example), in process. BareJSONHandler is the yardstick: a plain net/http
// handler that decodes and encodes the same kind of JSON.
func BenchmarkValidatedRequest(b *testing.B) {
	sim, err := simulator.New(context.Background(), simulator.Options{Clock: clock.NewSim(simtest.Start)})
	if err != nil {
		b.Fatal(err)
	}
	defer sim.Close()
	h := sim.Handler()
	tokenRes := httptest.NewRecorder()
	h.ServeHTTP(tokenRes, simtest.JSONRequest("POST", "/vm/v1/auth/token", `{"appId":"086666075137001","secret":"184E52CF5365D2D7EE8EDA************"}`))
	var tok struct{ AccessToken string }
	json.Unmarshal(tokenRes.Body.Bytes(), &tok)

	cases := []struct {
		name, method, path, body string
		headers                  []string
		want                     int
	}{
		{"genstore", "PUT", "/genstore/api/202412/app/payment/PI00202510281513381",
			`{"pay":{"result":"true","paymentId":"PI00202510281513381","channelPaymentId":"2025102815"}}`,
			[]string{"X-Genstore-Access-Token", simtest.GenstoreToken}, 200},
		{"codepay", "POST", "/codepay/api/entry",
			`{"app_id":"wz9f2a175d0e0ef632","charset":"UTF-8","format":"JSON","merchant_no":"312100041048","merchant_order_no":"TEST_1686732708342","method":"order.query","sign_type":"RSA2","timestamp":"1693898084054","version":"1.0","sign":"abc"}`,
			nil, 200},
		{"vmgateway", "POST", "/vm/v1/payments/inquiry", `{"orderNo":"202308161615130001","tradeNo":"202308161615130001"}`,
			[]string{"Authorization", "Bearer " + tok.AccessToken}, 200},
		{"admin", "GET", "/_sim/health", "", nil, 200},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				req := simtest.JSONRequest(c.method, c.path, c.body, c.headers...)
				req.Host = "127.0.0.1:7357" // the control API answers only its own Host names
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				if rec.Code != c.want {
					b.Fatalf("%d %s", rec.Code, rec.Body)
				}
			}
		})
	}
	b.Run("BareJSONHandler", func(b *testing.B) {
		bare := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			var in map[string]any
			body, _ := io.ReadAll(r.Body)
			json.Unmarshal(body, &in)
			w.Header().Set("Content-Type", "application/json")
			json.NewEncoder(w).Encode(map[string]any{"orderNo": in["orderNo"], "status": "CAPTURED"})
		})
		for b.Loop() {
			rec := httptest.NewRecorder()
			bare.ServeHTTP(rec, simtest.JSONRequest("POST", "/vm/v1/payments/inquiry", `{"orderNo":"202308161615130001","tradeNo":"202308161615130001"}`))
		}
	})
}
