package simulator_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/pspsim/pspsim/simulator/simtest"
)

// A canary card number is found wherever an app must not put it: in a
// request to Genstore, in an answer to what pspsim sends, in a request to a
// PSP outside cardNo. The journal says where, masked; a reset forgets them.
func TestCanariesThroughTheSimulator(t *testing.T) {
	const canary = "4917610000003418"
	h := simtest.New(t)
	if r := h.Do("POST", "/_sim/canaries", map[string]any{"numbers": []string{canary}, "label": "test"}); r.Status != 201 || strings.Contains(string(r.Body), canary) {
		t.Fatalf("register: %d %s", r.Status, r.Body)
	}
	if r := h.Do("POST", "/_sim/canaries", map[string]any{"numbers": []string{"4917610000003410"}}); r.Status != 400 {
		t.Errorf("a number failing Luhn: %d %s", r.Status, r.Body)
	}
	leaks := func() []string {
		r := h.Do("GET", "/_sim/events?kind=privacy.leak", nil)
		if strings.Contains(string(r.Body), canary) {
			t.Fatalf("the journal shows the canary in full: %s", r.Body)
		}
		var wheres []string
		for _, e := range r.JSON()["events"].([]any) {
			d := e.(map[string]any)["data"].(map[string]any)
			wheres = append(wheres, d["where"].(string)+" / "+d["part"].(string))
		}
		return wheres
	}

	// A request to the card gateway with the canary where a card belongs: nothing.
	tok := h.VMToken("sandbox")
	pay := map[string]any{"orderNo": "CANARY01", "amount": "10.00", "currency": "USD", "paymentMethodType": "card", "threeDsMode": "no",
		"card": map[string]any{"cardNo": canary, "expiryMonth": "12", "expiryYear": "2030"}, "deviceInfo": map[string]any{"clientIp": "10.1.1.1"}}
	if r := h.Do("POST", "/vm/v1/payments", pay, "Authorization", "Bearer "+tok); r.Status != 200 {
		t.Fatalf("payment: %d %s", r.Status, r.Body)
	}
	if l := leaks(); len(l) != 0 {
		t.Fatalf("the card in cardNo counted as a leak: %v", l)
	}
	// ... and in the description: a leak.
	pay["orderNo"], pay["description"] = "CANARY02", "card "+canary
	h.Do("POST", "/vm/v1/payments", pay, "Authorization", "Bearer "+tok)
	// A callback to Genstore carrying it.
	h.Do("PUT", "/genstore/api/202412/app/payment/PI00202510281513381", `{"pay":{"result":"false","reason":"card `+canary+` declined","paymentId":"PI00202510281513381"}}`,
		"X-Genstore-Access-Token", simtest.GenstoreToken)
	// An app's answer to a message pspsim sends.
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"channelPaymentId":"1","error":"card ` + canary + `"}`))
	}))
	defer app.Close()
	h.Do("POST", "/_sim/deliveries/test", map[string]any{"url": app.URL, "system": "genstore", "kind": "payment", "body": map[string]any{}})

	got := strings.Join(leaks(), "\n")
	for _, want := range []string{"a request to vmgateway POST /vm/v1/payments / body field description", "a request to genstore PUT /genstore/api/202412/app/payment/PI00202510281513381 / body",
		"the answer to a genstore payment message (" + app.URL + ") / body"} {
		if !strings.Contains(got, want) {
			t.Errorf("no sighting %q in:\n%s", want, got)
		}
	}
	if r := h.Do("GET", "/_sim/canaries", nil); !strings.Contains(string(r.Body), `"sightings":3`) {
		t.Errorf("list: %s", r.Body)
	}
	h.Do("POST", "/_sim/reset", nil)
	if r := h.Do("GET", "/_sim/canaries", nil); strings.Contains(string(r.Body), "491761") {
		t.Errorf("a reset kept the canaries: %s", r.Body)
	}
}
