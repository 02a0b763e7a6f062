package simulator_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pspsim/pspsim/simulator/codepay"
	"github.com/pspsim/pspsim/simulator/simtest"
)

// TestResetIsAtomic storms the systems with requests whose credentials
// survive a reset (the fixtures'), and the clock with moves that fire
// timers, while the simulator resets again and again. Every request must
// see the world before a reset or after it: a token refused, an app
// unknown, an order that half exists — any 4xx or 5xx, any CodePay error —
// is a request that saw half of each.
func TestResetIsAtomic(t *testing.T) {
	h := simtest.New(t)
	cpKey := demoAppKey(t)
	var seq atomic.Int64
	// Each request is valid in every world the resets make.
	requests := []struct {
		name string
		send func() (simtest.Response, bool)
	}{
		{"genstore payment query", func() (simtest.Response, bool) {
			r := h.Do("GET", "/genstore/api/202412/payment/PI0020241010151755224", nil, "X-Genstore-Access-Token", simtest.GenstoreToken)
			return r, r.Status == http.StatusOK
		}},
		{"vmgateway access token, then a payment with it", func() (simtest.Response, bool) {
			r := h.Do("POST", "/vm/v1/auth/token", map[string]string{"appId": "086666075137001", "secret": "184E52CF5365D2D7EE8EDA************"})
			if r.Status != http.StatusOK {
				return r, false
			}
			// The token may die with a reset between the two requests: then
			// the gateway must say exactly that (401), nothing else.
			tok, _ := r.JSON()["accessToken"].(string)
			p := h.Do("POST", "/vm/v1/payments", map[string]any{"amount": "10.00", "currency": "USD", "orderNo": fmt.Sprintf("A%09d", seq.Add(1)),
				"paymentMethodType": "card", "description": "reset storm", "threeDsMode": "no",
				"deviceInfo": map[string]any{"clientIp": "10.1.1.1", "language": "en-US"},
				"card":       map[string]any{"cardNo": "4000123456000001", "expiryMonth": "12", "expiryYear": "2030", "cvc": "123"}},
				"Authorization", "Bearer "+tok)
			return p, p.Status == http.StatusOK || p.Status == http.StatusUnauthorized
		}},
		{"codepay order on a terminal", func() (simtest.Response, bool) {
			body, _ := json.Marshal(map[string]any{"app_id": "wz9f2a175d0e0ef632", "method": "wisehub.cloud.pay.order", "format": "JSON", "charset": "UTF-8",
				"version": "1.0", "merchant_no": "302100041048", "terminal_sn": "WPYB001234567890", "message_receiving_application": "CodePay Register",
				"price_currency": "USD", "order_amount": 20, "trans_type": 1, "merchant_order_no": fmt.Sprintf("B%09d", seq.Add(1)),
				"description": "reset storm", "expires": 60, "api_version": "2.0"})
			stamped := h.Clock.Now()
			r := h.Do("POST", "/codepay/api/entry", resignCodePay(t, cpKey, body, stamped))
			if moved := h.Clock.Now().Sub(stamped); r.Status == http.StatusOK && r.JSON()["code"] == codepay.CodeTimestamp && (moved > codepay.TimestampWindow || moved < -codepay.TimestampWindow) {
				// The other workers moved the clock on by more than the
				// window while this request was on its way: its timestamp
				// is stale in every world, and refused rightly.
				return r, true
			}
			return r, r.Status == http.StatusOK && r.JSON()["code"] == "0"
		}},
		{"admin: a fixture shop", func() (simtest.Response, bool) {
			r := h.Do("GET", "/_sim/genstore/shops/1001", nil)
			return r, r.Status == http.StatusOK
		}},
		{"clock: a minute on (expiries and retries fire)", func() (simtest.Response, bool) {
			r := h.Do("POST", "/_sim/clock/advance", map[string]string{"by": "1m"})
			return r, r.Status == http.StatusOK
		}},
	}
	const resets, workers = 25, 8
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var sent, bad atomic.Int64
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				req := requests[i%len(requests)]
				r, ok := req.send()
				sent.Add(1)
				if !ok && bad.Add(1) <= 10 {
					t.Errorf("%s: %d %.300s", req.name, r.Status, r.Body)
				}
			}
		}()
	}
	for range resets {
		time.Sleep(10 * time.Millisecond)
		if r := h.Do("POST", "/_sim/reset", nil); r.Status != http.StatusOK {
			t.Errorf("reset: %d %s", r.Status, r.Body)
		}
	}
	close(stop)
	wg.Wait()
	t.Logf("%d requests during %d resets, %d refused", sent.Load(), resets, bad.Load())
	if sent.Load() < resets {
		t.Fatalf("only %d requests were sent", sent.Load())
	}
}
