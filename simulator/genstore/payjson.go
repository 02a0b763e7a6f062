package genstore

import (
	"encoding/json"
	"net/http"
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
		b = appendJSONString(b, pt.SuccessPaymentTime)
		b = append(b, ',')
	}
	b = append(b, `"amount":`...)
	b = appendJSONString(b, pt.Amount)
	if pt.ChannelTrxNo != "" {
		b = append(b, `,"channelTrxNo":`...)
		b = appendJSONString(b, pt.ChannelTrxNo)
	}
	b = append(b, `,"paymentId":`...)
	b = appendJSONString(b, pt.PaymentID)
	b = append(b, `,"fee":`...)
	b = appendJSONString(b, pt.Fee)
	b = append(b, `,"currency":`...)
	b = appendJSONString(b, pt.Currency)
	b = append(b, `,"net":`...)
	b = appendJSONString(b, pt.Net)
	b = append(b, `,"outOrderNo":`...)
	b = appendJSONString(b, pt.OutOrderNo)
	b = append(b, `,"status":`...)
	b = appendJSONString(b, pt.Status)
	return append(b, "}}"...)
}

// appendJSONString appends s as encoding/json writes a string. Text of
// printable ASCII without a quote, a backslash or an HTML character (every
// id, amount and time Genstore writes) is written as it is; anything else is
// left to encoding/json, which alone decides its escapes (U+FFFD for invalid
// UTF-8, \u2028, \b...).
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s)
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// writeRawJSON writes b, JSON made by the caller, as WriteJSON writes its
// encoding: the same header, status and bytes.
func writeRawJSON(w http.ResponseWriter, status int, b []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(b)
}
