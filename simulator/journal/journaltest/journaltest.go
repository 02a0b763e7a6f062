// Package journaltest records what benchmarks of the journal and of body
// views both measure: the events of one card payment.
package journaltest

import "github.com/pspsim/pspsim/simulator/journal"

const (
	ds, acs, server = "2d4aa6de-f700-4655-bfd5-1fe4fe647bae", "a9b923c4-4378-4f40-a54c-61e777837df3", "e0d866ae-779a-4149-8074-961f8e4de246"
	trade, order    = "20261122100000305936", "B100000001"
)

// RecordCardPayment records the four events of a card payment
// (BenchmarkVersusBare/vmgateway.createPayment) as their callers give them:
// 3-D Secure's authentication and its binding, the status change, and the
// request with request and answer, the views of its body and of the
// answer (journal.RedactedJSON or journal.Appender values).
func RecordCardPayment(j *journal.Journal, request, answer any) {
	threeDSIDs := []journal.ID{{Name: "threeDsServerTransId", Value: server}, {Name: "orderNo", Value: order}, {Name: "tradeNo", Value: trade},
		{Name: "dsTransId", Value: ds}, {Name: "acsTransId", Value: acs}, {Name: "merchant", Value: "M086666075137"}}
	j.RecordFields(journal.Event{System: "threeds", Kind: "threeds.authentication", Message: "visa 400012******0019 authentication for 19.99 USD: frictionless Y"},
		threeDSIDs, []journal.Field{journal.Int("amountMinor", 1999), journal.String("currency", "USD"), journal.String("version", "2.2.0"),
			journal.String("flow", "frictionless"), journal.String("transStatus", "Y"), journal.String("maskedPan", "400012******0019"), journal.String("brand", "visa")})
	j.RecordFields(journal.Event{System: "threeds", Kind: "threeds.bound", Message: "authentication bound to authorization " + trade},
		threeDSIDs, []journal.Field{journal.String("reference", trade),
			journal.String("flow", "frictionless"), journal.String("transStatus", "Y"), journal.String("maskedPan", "400012******0019"), journal.String("brand", "visa")})
	j.RecordFields(journal.Event{System: "vmgateway", Kind: "payment.status_changed", Message: "payment " + trade + ": new → CAPTURED (approved by the issuer and captured)"},
		[]journal.ID{{Name: "tradeNo", Value: trade}, {Name: "orderNo", Value: order}, {Name: "merchant", Value: "M086666075137"}, {Name: "appId", Value: "086666075137001"}, {Name: "dsTransId", Value: ds}},
		[]journal.Field{journal.String("from", ""), journal.String("to", "CAPTURED"), journal.String("why", "approved by the issuer and captured"),
			journal.String("environment", "sandbox"), journal.String("amount", "19.99"), journal.String("currency", "USD"), journal.String("method", "card"),
			journal.String("maskedCardNo", "400012******0019"), journal.String("threeDsMode", "auto"), journal.String("fraudMode", "N"), journal.String("dsTransId", ds)})
	j.RecordFields(journal.Event{System: "vmgateway", Kind: "api.request", Message: "createPayment → 200"},
		[]journal.ID{{Name: "orderNo", Value: order}, {Name: "tradeNo", Value: trade}, {Name: "appId", Value: "086666075137001"}, {Name: "merchant", Value: "M086666075137"}},
		[]journal.Field{journal.String("operation", "createPayment"), journal.Int("status", 200), journal.Any("request", request), journal.Any("answer", answer),
			journal.String("environment", "sandbox")})
}
