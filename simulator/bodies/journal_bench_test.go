package bodies

import (
	"testing"

	"github.com/pspsim/pspsim/internal/threadcpu"
	"github.com/pspsim/pspsim/simulator/journal/journaltest"
)

// BenchmarkCardPaymentJournal records the four events of a card payment
// (BenchmarkVersusBare/vmgateway.createPayment) as their callers give them:
// 3-D Secure's authentication and its binding, the status change, and the
// request with the views of its body and of the answer (longer than Limit:
// clipped into text).
func BenchmarkCardPaymentJournal(b *testing.B) {
	j := newTestJournal()
	request := []byte(`{"orderNo":"B100000001","amount":"19.99","currency":"USD","paymentMethodType":"card","description":"test order","threeDsMode":"auto",` +
		`"card":{"cardNo":"4000123456000019","expiryMonth":"12","expiryYear":"2030","cvc":"123","captureMethod":"auto"},` +
		`"deviceInfo":{"clientIp":"10.1.1.1","language":"en-US","browser":{"acceptHeader":"text/html","userAgent":"Mozilla/5.0 (test)","javascriptEnable":true,` +
		`"colorDepth":"24","screenHeight":"800","screenWidth":"1200","timeZone":"0"}}}`)
	answer := []byte(`{"tradeNo":"20261122100000305936","orderNo":"B100000001","status":"CAPTURED","paymentMethodType":"card","amount":"19.99","currency":"USD",` +
		`"authorizedAmount":"19.99","capturedAmount":"19.99","refundedAmount":"0.00","captureMethod":"auto","environment":"sandbox","description":"test order",` +
		`"threeDs":{"mode":"auto","flow":"frictionless","version":"2.2.0","transStatus":"Y","eci":"05","dsTransId":"2d4aa6de-f700-4655-bfd5-1fe4fe647bae",` +
		`"acsTransId":"a9b923c4-4378-4f40-a54c-61e777837df3","threeDsServerTransId":"e0d866ae-779a-4149-8074-961f8e4de246","liabilityShift":true},` +
		`"nextAction":{"type":"none"},"cardBrand":"VISA","maskedCardNo":"400012******0019","createdAt":"2026-11-22T10:00:00Z","updatedAt":"2026-11-22T10:00:00Z"}`)
	req, ans := ViewOf(request, true), ViewOf(answer, true)
	// The thread's CPU time too (cpu-ns/op): the figure to compare on a
	// busy machine.
	threadcpu.Loop(b, func() { journaltest.RecordCardPayment(j, &req, &ans) })
}
