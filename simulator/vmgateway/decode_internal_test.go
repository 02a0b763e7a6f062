package vmgateway

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/pspsim/pspsim/simulator/openapi/schema"
)

// TestRequestBodiesDecodeFromTheParse holds the gateway's request structs
// to what schema.Doc.Decode models, so that decode reuses the validator's
// parse instead of parsing each body twice, and to json.Unmarshal's values.
// A field type it does not model (a map, a time.Time) would still decode
// correctly, by json.Unmarshal, but slower: this test says so.
func TestRequestBodiesDecodeFromTheParse(t *testing.T) {
	check := func(t *testing.T, body string, got, want any) {
		t.Helper()
		var d schema.Doc
		if err := d.Parse([]byte(body)); err != nil {
			t.Fatal(err)
		}
		if !d.Decode(got) {
			t.Fatalf("Decode declined %T: the handler parses its body twice", got)
		}
		if err := json.Unmarshal([]byte(body), want); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("Decode gave %+v, json.Unmarshal %+v", got, want)
		}
	}
	t.Run("createPayment", func(t *testing.T) {
		body := `{"orderNo":"O1","amount":"19.99","currency":"USD","paymentMethodType":"card","description":"d","threeDsMode":"auto",` +
			`"card":{"cardNo":"4000123456000019","expiryMonth":"12","expiryYear":"2030","cvc":"123","captureMethod":"auto"},` +
			`"threeDsData":{"eci":"05","cavv":"x","dsTransId":"y"},"billing":{"email":"a@b.c"},"shipping":{"email":"s@b.c"},` +
			`"productInfo":[{"price":"1.00","productName":"p","quantity":"2"}],"alipay":{"authCode":"1"},"applePay":{"network":"visa"},` +
			`"deviceInfo":{"clientIp":"10.1.1.1","browser":{"acceptHeader":"text/html","userAgent":"UA","javascriptEnable":true,"colorDepth":"24"}}}`
		check(t, body, new(paymentIn), new(paymentIn))
	})
	t.Run("tokenPayment", func(t *testing.T) {
		check(t, `{"orderNo":"O2","amount":"1.00","currency":"USD"}`, new(tokenPaymentIn), new(tokenPaymentIn))
	})
	t.Run("session", func(t *testing.T) {
		check(t, `{"orderNo":"O3","amount":"1.00","currency":"USD"}`, new(sessionIn), new(sessionIn))
	})
	t.Run("inquiry", func(t *testing.T) {
		check(t, `{"orderNo":"O4","tradeNo":"T4","paymentMethodType":"card"}`, new(inquiryIn), new(inquiryIn))
	})
	t.Run("capture", func(t *testing.T) {
		check(t, `{"orderNo":"O5","tradeNo":"T5","captureAmount":"1.00"}`, new(captureIn), new(captureIn))
	})
	t.Run("cancel", func(t *testing.T) {
		check(t, `{"orderNo":"O6","tradeNo":"T6","reason":"r"}`, new(cancelIn), new(cancelIn))
	})
	t.Run("refund", func(t *testing.T) {
		check(t, `{"orderNo":"O7","tradeNo":"T7","amount":"1.00","clientIp":"10.1.1.1","notificationUrl":"https://x","reason":"r","refundNumber":"R7"}`,
			new(refundIn), new(refundIn))
	})
}
