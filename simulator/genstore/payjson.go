package genstore

import (
	"net/http"

	"github.com/pspsim/pspsim/simulator/jsonw"
)

// appendPayTransactionAnswer appends the pay-transaction query's answer,
// {"payment": pt}, exactly as json.Marshal writes map[string]any{"payment":
// pt} (TestPayTransactionAnswerIsMarshal, FuzzPayTransactionAnswerIsMarshal):
// fields in PayTransaction's order, the omitempty ones left out when empty.
// It is the answer of every pay-transaction GET, and encoding/json's
// reflection over a map and a struct was a fifth of that request's
// allocations and a tenth of its time.
func appendPayTransactionAnswer(b []byte, pt PayTransaction) []byte {
	b = append(b, `{"payment":{`...)
	if pt.SuccessPaymentTime != "" {
		b = append(b, `"successPaymentTime":`...)
		b = jsonw.AppendString(b, pt.SuccessPaymentTime)
		b = append(b, ',')
	}
	b = append(b, `"amount":`...)
	b = jsonw.AppendString(b, pt.Amount)
	if pt.ChannelTrxNo != "" {
		b = append(b, `,"channelTrxNo":`...)
		b = jsonw.AppendString(b, pt.ChannelTrxNo)
	}
	b = append(b, `,"paymentId":`...)
	b = jsonw.AppendString(b, pt.PaymentID)
	b = append(b, `,"fee":`...)
	b = jsonw.AppendString(b, pt.Fee)
	b = append(b, `,"currency":`...)
	b = jsonw.AppendString(b, pt.Currency)
	b = append(b, `,"net":`...)
	b = jsonw.AppendString(b, pt.Net)
	b = append(b, `,"outOrderNo":`...)
	b = jsonw.AppendString(b, pt.OutOrderNo)
	b = append(b, `,"status":`...)
	b = jsonw.AppendString(b, pt.Status)
	return append(b, "}}"...)
}

// writeRawJSON writes b, JSON made by the caller, as WriteJSON writes its
// encoding: the same header, status and bytes.
func writeRawJSON(w http.ResponseWriter, status int, b []byte) {
	jsonw.SetContentType(w.Header())
	w.WriteHeader(status)
	w.Write(b)
}
