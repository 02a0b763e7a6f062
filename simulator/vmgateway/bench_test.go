package vmgateway_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/pspsim/pspsim/simulator"
	"github.com/pspsim/pspsim/simulator/clock"
	"github.com/pspsim/pspsim/simulator/simtest"
)

// BenchmarkCreatePaymentAndInquiry measures one validated round trip through
// the whole stack — createPayment with a card that authenticates
// frictionless (routing, bearer auth, schema validation, 3-D Secure,
// authorization, state, journal) then inquirePayment by orderNo — against a
// bare net/http handler that decodes and encodes the same JSON twice, in the
// same run. It reports both and their ratio (x-bare).
func BenchmarkCreatePaymentAndInquiry(b *testing.B) {
	sim, err := simulator.New(context.Background(), simulator.Options{Clock: clock.NewSim(simtest.Start)})
	if err != nil {
		b.Fatal(err)
	}
	defer sim.Close()
	h := sim.Handler()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, simtest.JSONRequest("POST", "/vm/v1/auth/token", `{"appId":"086666075137001","secret":"184E52CF5365D2D7EE8EDA************"}`))
	var tok struct{ AccessToken string }
	json.Unmarshal(rec.Body.Bytes(), &tok)

	bodyOf := func(orderNo string) string {
		return string(mustJSON(cardPayment(orderNo, "4000123456000019")))
	}
	bare := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var in map[string]any
		body, _ := io.ReadAll(r.Body)
		json.Unmarshal(body, &in)
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"orderNo": in["orderNo"], "tradeNo": "20261122100000123456", "status": "CAPTURED",
			"amount": in["amount"], "currency": in["currency"], "capturedAmount": in["amount"], "maskedCardNo": "400012******0019"})
	})
	var gwTime, bareTime time.Duration
	n := 0
	for b.Loop() {
		n++
		orderNo := fmt.Sprintf("B%09d", n)
		body := bodyOf(orderNo)
		inq := `{"orderNo":"` + orderNo + `"}`

		start := time.Now()
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, simtest.JSONRequest("POST", "/vm/v1/payments", body, "Authorization", "Bearer "+tok.AccessToken))
		if rec.Code != 200 {
			b.Fatalf("%d %s", rec.Code, rec.Body)
		}
		rec = httptest.NewRecorder()
		h.ServeHTTP(rec, simtest.JSONRequest("POST", "/vm/v1/payments/inquiry", inq, "Authorization", "Bearer "+tok.AccessToken))
		if rec.Code != 200 {
			b.Fatalf("%d %s", rec.Code, rec.Body)
		}
		gwTime += time.Since(start)

		start = time.Now()
		bare.ServeHTTP(httptest.NewRecorder(), simtest.JSONRequest("POST", "/vm/v1/payments", body))
		bare.ServeHTTP(httptest.NewRecorder(), simtest.JSONRequest("POST", "/vm/v1/payments/inquiry", inq))
		bareTime += time.Since(start)
	}
	b.ReportMetric(float64(gwTime.Nanoseconds())/float64(n), "gateway-ns/op")
	b.ReportMetric(float64(bareTime.Nanoseconds())/float64(n), "bare-ns/op")
	b.ReportMetric(float64(gwTime)/float64(bareTime), "x-bare")
}
