package genstore_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/pspsim/pspsim/simulator/genstore/genstoretest"
	"github.com/pspsim/pspsim/simulator/simtest"
)

// paymentMethodData is sent as paymentMethod.data byte for byte (whitespace
// aside): a test vector, a broken package. The merchant's view has no card.
func TestVerbatimPaymentMethodData(t *testing.T) {
	e := setup(t)
	data := `{"cipherText": "AAAA", "ephemeralPublicKey": "BBBB", "iv": "MTIzNDU2Nzg=", "returnUrl": "https://shop.example/return", "salt": "ECIESv1-HKDF-SALT-X", "suit": "ECIESv0|AES-128-CBC|P-256", "extra": 1}`
	p := e.pay(map[string]any{"amount": "19.00", "paymentMethodData": json.RawMessage(data)})
	reqs := e.app.Requests("payment")
	if len(reqs) != 1 {
		t.Fatalf("%d payment requests", len(reqs))
	}
	var obj struct {
		PaymentMethod struct {
			Data json.RawMessage `json:"data"`
		} `json:"paymentMethod"`
	}
	if err := json.Unmarshal(reqs[0].Body, &obj); err != nil {
		t.Fatal(err)
	}
	var want bytes.Buffer
	json.Compact(&want, []byte(data))
	if !bytes.Equal(obj.PaymentMethod.Data, want.Bytes()) {
		t.Errorf("sent %s, want %s", obj.PaymentMethod.Data, want.Bytes())
	}
	if reqs[0].CardErr == nil {
		t.Error("the scripted app opened a package that cannot open")
	}
	if p["card"] != nil || p["returnUrl"] != "https://shop.example/return" {
		t.Errorf("the merchant's view: card %v, returnUrl %v", p["card"], p["returnUrl"])
	}
	// Exclusive with card and returnUrl.
	for _, extra := range []map[string]any{{"card": map[string]any{"number": "4000123456000001"}}, {"returnUrl": "https://x.example/r"}} {
		body := map[string]any{"clientId": e.app.ClientID, "amount": "1.00", "paymentMethodData": json.RawMessage(data)}
		for k, v := range extra {
			body[k] = v
		}
		if r := e.h.Do("POST", "/_sim/genstore/shops/"+testShop+"/payments", body); r.Status != 400 || !strings.Contains(string(r.Body), "paymentMethodData") {
			t.Errorf("%v with paymentMethodData: %d %s", extra, r.Status, r.Body)
		}
	}
}

// unchecked sends a refund or capture above Genstore's limit, to test the
// app's own; Genstore still refuses to record a "true" that breaks the limit.
func TestUncheckedLimits(t *testing.T) {
	e := setup(t)
	id := str(e.pay(map[string]any{"amount": "10.00"})["paymentId"])
	e.report("payment", id, true, "", "ch1")
	e.operate(id, "refunds", map[string]any{"amount": "15.00"}, 422)
	op := e.operate(id, "refunds", map[string]any{"amount": "15.00", "unchecked": true}, 201)
	refundID := str(simtest.Field(op, "operation.id"))
	if r := e.report("refund", refundID, true, "", "rf1"); r.Status != 422 || !strings.Contains(errorsOf(r), "more than the captured") {
		t.Errorf("a true result above the capture: %d %s", r.Status, r.Body)
	}
	if r := e.report("refund", refundID, false, "amount: exceeds what is captured", ""); r.Status != 200 {
		t.Errorf("a false result: %d %s", r.Status, r.Body)
	}

	id2 := str(e.pay(map[string]any{"amount": "10.00", "manualCapture": true})["paymentId"])
	e.report("payment", id2, true, "", "ch2")
	e.operate(id2, "captures", map[string]any{"amount": "12.00"}, 422)
	capID := str(simtest.Field(e.operate(id2, "captures", map[string]any{"amount": "12.00", "unchecked": true}, 201), "operation.id"))
	if r := e.report("capture", capID, true, "", "ch2"); r.Status != 422 || !strings.Contains(errorsOf(r), "more than the authorized") {
		t.Errorf("a true capture above the authorization: %d %s", r.Status, r.Body)
	}
	if p := e.payment(id2); p["status"] != "4" {
		t.Errorf("payment status %v after the refused capture", p["status"])
	}
}

// What an app writes — an acknowledgement's error, a failure's reason, a
// refusal's text — is kept and shown masked: an app that leaks a card number
// does not make Genstore leak it too.
func TestWhatAppsWriteIsKeptMasked(t *testing.T) {
	e := setup(t)
	const card = "4000123456000019"
	e.app.Queue("payment", genstoretest.Reply{Body: map[string]string{"channelPaymentId": "ch1", "error": "charged " + card}})
	id := str(e.pay(map[string]any{"amount": "10.00"})["paymentId"])
	e.report("payment", id, false, "card "+card+" declined", "ch1")
	e.app.Queue("payment", genstoretest.Reply{Status: 400, Body: map[string]string{"error": "bad card " + card}})
	id2 := str(e.pay(map[string]any{"amount": "11.00"})["paymentId"])
	for _, id := range []string{id, id2} {
		r := e.h.Do("GET", "/_sim/genstore/shops/"+testShop+"/payments/"+id, nil)
		if strings.Contains(string(r.Body), card) || !strings.Contains(string(r.Body), "400012******0019") {
			t.Errorf("payment %s shows %s", id, r.Body)
		}
	}
}
