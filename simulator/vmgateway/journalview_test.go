package vmgateway_test

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/pspsim/pspsim/simulator/bodies"
)

// TestRequestEventViewsAreBodiesOf: the api.request event keeps
// bodies.Of's view of the request as sent and of the answer as received,
// whether the journal took it without checking the body again (a body the
// validator parsed, a payment the gateway wrote) or checked it (a body the
// mount normalised, an error answer).
func TestRequestEventViewsAreBodiesOf(t *testing.T) {
	g := newGW(t)
	card := func(order, extra string) string {
		return `{"orderNo":"` + order + `","amount":"19.99","currency":"USD","paymentMethodType":"card","description":"test order",` +
			`"threeDsMode":"auto","card":{"cardNo":"4000123456000019","expiryMonth":"12","expiryYear":"2030","cvc":"123",` +
			`"captureMethod":"auto"},"deviceInfo":{"clientIp":"10.1.1.1","language":"en-US","browser":{"acceptHeader":"text/html",` +
			`"userAgent":"Mozilla/5.0","javascriptEnable":true,"colorDepth":"24","screenHeight":"800","screenWidth":"1200","timeZone":"0"}}` + extra + `}`
	}
	o1, o2, o3, o4 := g.order(), g.order(), g.order(), g.order()
	sent := []string{
		card(o1, ""),
		"  " + card(o2, `,"merchantNote":"`+strings.Repeat("n", 120)+`"`) + "\n", // unknown: normalised
		`{"orderNo":"` + o1 + `"}`,   // an inquiry
		`{"orderNo":"` + o3 + `"}`,   // not found: an error answer
		card(o1, ""),                 // the order taken: refused
		"\t" + card(o4, "") + "\r\n", // parsed as sent, with space around
	}
	paths := []string{"/payments", "/payments", "/payments/inquiry", "/payments/inquiry", "/payments", "/payments"}
	var answers [][]byte
	for i, body := range sent {
		answers = append(answers, g.post(paths[i], body).Body)
	}
	evs := g.events("api.request", nil)
	if len(evs) < len(sent) {
		t.Fatalf("%d api.request events for %d requests", len(evs), len(sent))
	}
	evs = evs[len(evs)-len(sent):]
	same := func(view any, kept any) bool {
		var a, b any
		ja, _ := json.Marshal(view)
		jb, _ := json.Marshal(kept)
		json.Unmarshal(ja, &a)
		json.Unmarshal(jb, &b)
		return reflect.DeepEqual(a, b)
	}
	for i, e := range evs {
		if i == 1 {
			// The journal keeps the body the handler saw: normalised, so
			// bodies.Of of what was sent is not it (the view is checked by Of).
			if strings.Contains(string(mustJSON(e.Data["request"])), "merchantNote") {
				t.Errorf("request 1: the normalised body was expected, got %v", e.Data["request"])
			}
		} else if want := bodies.Of([]byte(sent[i])); !same(want, e.Data["request"]) {
			t.Errorf("request %d: kept %v\nbodies.Of gives %v", i, e.Data["request"], want)
		}
		if want := bodies.Of(answers[i]); !same(want, e.Data["answer"]) {
			t.Errorf("answer %d: kept %v\nbodies.Of gives %v", i, e.Data["answer"], want)
		}
	}
}
