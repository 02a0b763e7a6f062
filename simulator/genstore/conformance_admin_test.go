package genstore_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/pspsim/pspsim/simulator/genstore/genstoretest"
	"github.com/pspsim/pspsim/simulator/journal"
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

// Every answer of every delivery is judged (docs/CONTRACT.md §2.4, §2.5):
// when a payment request is delivered three times at once, the copies'
// answers — which Genstore's own bookkeeping never reads — are journaled too:
// a 200 that is not the acknowledgement JSON as answer.malformed, a 409 as
// answer.final. Whichever copy Genstore judged, there is one of each.
func TestEveryAnswerOfEveryDeliveryIsJudged(t *testing.T) {
	e := setup(t)
	e.admin("POST", "/_sim/faults", map[string]any{"match": map[string]any{"system": "genstore", "operation": "payment", "shop": testShop},
		"action": map[string]any{"type": "duplicate", "copies": 2, "concurrent": true}, "frequency": map[string]any{"first": 1}}, 201)
	e.app.Queue("payment",
		genstoretest.Reply{Body: map[string]string{"channelPaymentId": "ch1", "error": ""}},
		genstoretest.Reply{Body: map[string]string{}},
		genstoretest.Reply{Status: 409, Body: map[string]string{"error": "already in progress"}})
	id := str(e.pay(map[string]any{"amount": "10.00"})["paymentId"])
	malformed, final := e.events("answer.malformed", id), e.events("answer.final", id)
	if len(malformed) != 1 || len(final) != 1 {
		t.Fatalf("answer.malformed %d, answer.final %d: want one of each (%v %v)", len(malformed), len(final), malformed, final)
	}
	if m := malformed[0]; fmt.Sprint(m.Data["status"]) != "200" || !strings.Contains(str(m.Data["malformed"]), "channelPaymentId is missing") || m.IDs["shopId"] != testShop {
		t.Errorf("answer.malformed: %+v", m)
	}
	if f := final[0]; fmt.Sprint(f.Data["status"]) != "409" || f.Data["error"] != "already in progress" || strings.Contains(str(f.Data["url"]), "hmac") {
		t.Errorf("answer.final: %+v", f)
	}

	// A 401 to a request whose hmac was forged on purpose is the right
	// answer: nothing to journal. A 5xx is Genstore's to retry: nothing either.
	e.admin("POST", "/_sim/faults", map[string]any{"match": map[string]any{"system": "genstore", "operation": "payment", "shop": testShop},
		"action": map[string]any{"type": "tamper"}, "frequency": map[string]any{"first": 1}}, 201)
	id2 := str(e.pay(map[string]any{"amount": "11.00"})["paymentId"])
	e.app.Queue("payment", genstoretest.Reply{Status: 503, Body: map[string]string{"error": "busy"}})
	id3 := str(e.pay(map[string]any{"amount": "12.00"})["paymentId"])
	for _, id := range []string{id2, id3} {
		if evs := append(e.events("answer.final", id), e.events("answer.malformed", id)...); len(evs) > 0 {
			t.Errorf("payment %s: %v", id, evs)
		}
	}
	if p := e.payment(id2); str(simtest.Field(p, "request.lastStatus")) != "401" {
		t.Errorf("the forged request was answered %v", simtest.Field(p, "request.lastStatus"))
	}
}

// A callback with the token of an earlier installation is refused 401, and
// the journal names the shop whose stale token it was (docs/CONTRACT.md §1.4).
func TestRevokedTokenRefusalNamesItsShop(t *testing.T) {
	e := setup(t)
	old := e.app.Token()
	e.admin("POST", "/_sim/genstore/shops/"+testShop+"/installations", map[string]any{"clientId": e.app.ClientID}, 201)
	if e.app.Token() == old {
		t.Fatal("the reinstallation issued no new token")
	}
	id := str(e.pay(map[string]any{"amount": "10.00"})["paymentId"])
	e.app.SetToken(old)
	want(t, e.report("payment", id, true, "", "ch1"), 401, "revoked")
	evs := e.h.Sim.Journal().Query(journal.Filter{System: "genstore", Kind: "callback.refused", IDs: map[string]string{"shopId": testShop}})
	if len(evs) != 1 || evs[0].Data["tokenRevoked"] != true || evs[0].IDs["paymentId"] != id || evs[0].IDs["clientId"] != e.app.ClientID {
		t.Fatalf("refusals of the shop: %+v", evs)
	}
}
