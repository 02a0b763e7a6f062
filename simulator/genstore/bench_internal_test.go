package genstore

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/pspsim/pspsim/fixtures/fake"
	"github.com/pspsim/pspsim/simulator/clock"
	"github.com/pspsim/pspsim/simulator/delivery"
	"github.com/pspsim/pspsim/simulator/env"
	"github.com/pspsim/pspsim/simulator/ids"
	"github.com/pspsim/pspsim/simulator/journal"
	"github.com/pspsim/pspsim/simulator/logging"
	"github.com/pspsim/pspsim/simulator/store"
)

// benchSystem builds the Genstore emulator alone (no other system, no
// network) on an in-memory store and a simulated clock.
func benchSystem(b *testing.B) *System {
	b.Helper()
	c := clock.NewSim(time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC))
	j := journal.New(c, 0)
	e := &env.Env{Clock: c, Store: store.NewMemory(), Journal: j, IDs: ids.New(1), Fake: fake.New(1), Log: logging.Discard(),
		Sender: delivery.NewSender(c, j, nil), BaseURL: func() string { return "http://127.0.0.1:7357" }}
	s, err := New(context.Background(), e)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(e.Sender.Close)
	return s
}

const benchToken = "gst_demo_0000000000000000000000000001"

func (s *System) benchPayments(b *testing.B, next *int, n int) []string {
	out := make([]string, n)
	for i := range out {
		*next++
		id := fmt.Sprintf("PIBENCH%012d", *next)
		p := Payment{ShopID: "1001", PaymentID: id, ClientID: "demo-payment-app", Amount: 1000, Currency: "USD", Status: StatusProcessing,
			Request: Outbound{State: DeliveryDelivered}}
		if err := s.payments.Create(context.Background(), paymentKey("1001", id), p); err != nil {
			b.Fatal(err)
		}
		out[i] = id
	}
	return out
}

func callbackRequest(id, result string) *http.Request {
	body := fmt.Sprintf(`{"pay":{"result":"%s","reason":"declined","paymentId":"%s","channelPaymentId":"ch_%s"}}`, result, id, id)
	r := httptest.NewRequest("PUT", "/genstore/api/202412/app/payment/"+id, bytes.NewReader([]byte(body)))
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("X-Genstore-Access-Token", benchToken)
	return r
}

// BenchmarkCallback measures a result callback through the whole stack —
// routing, token and scope, spec validation, decoding, the state machine
// under the payment's lock, the journal — for a first result, an exact
// repeat (200) and a contradiction (409). BareJSONHandler is the yardstick:
// a plain handler decoding and answering the same JSON.
func BenchmarkCallback(b *testing.B) {
	s := benchSystem(b)
	h := s.Mount()
	var next int
	b.Run("first_result", func(b *testing.B) {
		ids := s.benchPayments(b, &next, b.N)
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, callbackRequest(ids[i], "true"))
			if rec.Code != 200 {
				b.Fatalf("%d %s", rec.Code, rec.Body)
			}
		}
	})
	repeat := s.benchPayments(b, &next, 1)[0]
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, callbackRequest(repeat, "true"))
	for _, c := range []struct {
		name, result string
		want         int
	}{{"exact_repeat", "true", 200}, {"contradiction_409", "false", 409}} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, callbackRequest(repeat, c.result))
				if rec.Code != c.want {
					b.Fatalf("%d %s", rec.Code, rec.Body)
				}
			}
		})
	}
	b.Run("BareJSONHandler", func(b *testing.B) {
		bare := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			var in struct {
				Pay map[string]string `json:"pay"`
			}
			body, _ := io.ReadAll(r.Body)
			json.Unmarshal(body, &in)
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte("{}"))
		})
		for b.Loop() {
			rec := httptest.NewRecorder()
			bare.ServeHTTP(rec, callbackRequest(repeat, "true"))
		}
	})
}

// BenchmarkDecodeCallback is the decoder alone.
func BenchmarkDecodeCallback(b *testing.B) {
	body := []byte(`{"pay":{"result":"true","reason":"Insufficient balance of bank card","paymentId":"PI00202510281513381","channelPaymentId":"2025102815"}}`)
	for b.Loop() {
		if _, e := DecodeCallback(KindPayment, body); e != nil {
			b.Fatal(e)
		}
	}
}

// BenchmarkJudgeAnswer measures what judging every answer of every delivery
// costs (judgeAnswer, issue 19): a well-formed acknowledgement (every
// delivery pays this), a malformed one (journaled), a final 409 to a signed
// request (its signature checked, journaled), a 401 to a forged one (checked,
// not journaled). ParseAck is the yardstick: what onAttempt already did for
// the one answer Genstore judges.
func BenchmarkJudgeAnswer(b *testing.B) {
	s := benchSystem(b)
	ids := map[string]string{"shopId": "1001", "paymentId": "PIBENCH1"}
	const secret = "bench-secret"
	signed, err := SignURL("http://127.0.0.1:7401/payment", secret, "demo-shop", "1001", time.Now())
	if err != nil {
		b.Fatal(err)
	}
	req := &delivery.Request{URL: signed}
	forged := &delivery.Request{URL: tamperURL(signed)}
	good := &delivery.Response{Status: 200, Body: []byte(`{"channelPaymentId":"2025102815","error":""}`)}
	for _, c := range []struct {
		name string
		req  *delivery.Request
		resp *delivery.Response
	}{
		{"wellformed_200", req, good},
		{"malformed_200", req, &delivery.Response{Status: 200, Body: []byte(`{}`)}},
		{"final_409", req, &delivery.Response{Status: 409, Body: []byte(`{"error":"in progress"}`)}},
		{"forged_401", forged, &delivery.Response{Status: 401, Body: []byte(`{"error":"hmac: does not verify"}`)}},
	} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				s.judgeAnswer(ids, KindPayment, "PIBENCH1", secret, c.req, c.resp, nil)
			}
		})
	}
	b.Run("ParseAck", func(b *testing.B) {
		for b.Loop() {
			parseAck(KindPayment, good, time.Time{})
		}
	})
}
