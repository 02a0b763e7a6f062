package vmgateway_test

import "testing"

// TestRequestEventMessage: api.request says "operation → status", and the
// error code of a failed call after it.
func TestRequestEventMessage(t *testing.T) {
	g := newGW(t)
	order := g.order()
	g.post("/payments", `{"orderNo":"`+order+`","amount":"19.99","currency":"USD","paymentMethodType":"card","description":"test order",`+
		`"threeDsMode":"auto","card":{"cardNo":"4000123456000019","expiryMonth":"12","expiryYear":"2030","cvc":"123","captureMethod":"auto"},`+
		`"deviceInfo":{"clientIp":"10.1.1.1","language":"en-US","browser":{"acceptHeader":"text/html","userAgent":"Mozilla/5.0","javascriptEnable":true,`+
		`"colorDepth":"24","screenHeight":"800","screenWidth":"1200","timeZone":"0"}}}`)
	g.post("/payments/inquiry", `{"orderNo":"`+g.order()+`"}`)
	evs := g.events("api.request", nil)
	if len(evs) < 2 {
		t.Fatalf("%d api.request events", len(evs))
	}
	evs = evs[len(evs)-2:]
	for i, want := range []string{"createPayment → 200", "inquirePayment → 404 NOT_FOUND"} {
		if evs[i].Message != want {
			t.Errorf("event %d: message %q, want %q", i, evs[i].Message, want)
		}
	}
}
