package vmgateway

import (
	"net/http"
	"strconv"
	"time"

	"github.com/pspsim/pspsim/simulator/jsonw"
	"github.com/pspsim/pspsim/simulator/money"
)

// Every payment operation answers the spec's Payment (viewPayment). Building
// the view formatted four amounts and up to four times into strings, and
// json.Marshal then walked its two dozen fields by reflection: about fifteen
// allocations of every createPayment and inquirePayment. appendPaymentJSON
// writes the same bytes straight from the payment
// (TestPaymentJSONIsMarshalOfTheView, FuzzPaymentJSONIsMarshalOfTheView):
// the view stays for the webhooks, the admin API and the dashboard.

// writePayment answers the view of p (as WriteJSON(w, status, viewPayment(p))),
// written into one of the system's scratch buffers.
func (s *System) writePayment(w http.ResponseWriter, status int, p *Payment) {
	buf, _ := s.answers.Get().(*[]byte)
	if buf == nil {
		buf = new([]byte)
	}
	b := appendPaymentJSON((*buf)[:0], p)
	jsonw.SetContentType(w.Header())
	w.WriteHeader(status)
	if jw, ok := w.(jsonWriter); ok {
		jw.WriteJSON(b) // the journal's recorder: b is JSON, it need not check it
	} else {
		w.Write(b)
	}
	if cap(b) <= 64<<10 {
		*buf = b
		s.answers.Put(buf)
	}
}

// jsonWriter is a writer told that what it is given is one JSON value
// (bodies.Recorder): appendPaymentJSON writes what json.Marshal would.
type jsonWriter interface {
	WriteJSON(b []byte) (int, error)
}

// appendPaymentJSON appends json.Marshal(viewPayment(*p)).
func appendPaymentJSON(b []byte, p *Payment) []byte {
	b = append(b, `{"tradeNo":`...)
	b = jsonw.AppendString(b, p.TradeNo)
	b = append(b, `,"orderNo":`...)
	b = jsonw.AppendString(b, p.OrderNo)
	b = append(b, `,"status":`...)
	b = jsonw.AppendString(b, p.Status)
	b = append(b, `,"paymentMethodType":`...)
	b = jsonw.AppendString(b, p.Method)
	b = appendOmitEmpty(b, `,"productType":`, p.ProductType)
	b = append(b, `,"amount":`...)
	b = appendAmount(b, p.Amount, p.Currency)
	b = append(b, `,"currency":`...)
	b = jsonw.AppendString(b, p.Currency)
	b = append(b, `,"authorizedAmount":`...)
	b = appendAmount(b, p.Authorized, p.Currency)
	b = append(b, `,"capturedAmount":`...)
	b = appendAmount(b, p.Captured, p.Currency)
	b = append(b, `,"refundedAmount":`...)
	b = appendAmount(b, p.Refunded, p.Currency)
	b = append(b, `,"captureMethod":`...)
	b = jsonw.AppendString(b, p.CaptureMethod)
	b = append(b, `,"environment":`...)
	b = jsonw.AppendString(b, p.Environment)
	b = appendOmitEmpty(b, `,"description":`, p.Description)
	b = appendOmitEmpty(b, `,"transactionIdentifier":`, p.TransactionIdentifier)
	if d := p.ThreeDS; d != nil {
		b = append(b, `,"threeDs":{"mode":`...)
		b = jsonw.AppendString(b, d.Mode)
		b = append(b, `,"flow":`...)
		b = jsonw.AppendString(b, d.Flow)
		b = appendOmitEmpty(b, `,"version":`, d.Version)
		b = appendOmitEmpty(b, `,"transStatus":`, d.TransStatus)
		b = appendOmitEmpty(b, `,"transStatusReason":`, d.TransStatusReason)
		b = appendOmitEmpty(b, `,"eci":`, d.ECI)
		b = appendOmitEmpty(b, `,"dsTransId":`, d.DSTransID)
		b = appendOmitEmpty(b, `,"acsTransId":`, d.ACSTransID)
		b = appendOmitEmpty(b, `,"threeDsServerTransId":`, d.ThreeDSServerTransID)
		b = append(b, `,"liabilityShift":`...)
		b = strconv.AppendBool(b, d.LiabilityShift)
		b = append(b, '}')
	}
	b = append(b, `,"nextAction":{"type":`...)
	if n := p.NextAction; n != nil {
		b = jsonw.AppendString(b, n.Type)
		b = appendOmitEmpty(b, `,"redirectUrl":`, n.RedirectURL)
		b = appendOmitEmpty(b, `,"qrCode":`, n.QRCode)
		if n.ExpiresAt != nil {
			b = append(b, `,"expiresAt":`...)
			b = appendTime(b, *n.ExpiresAt)
		}
	} else {
		b = append(b, `"none"`...)
	}
	b = append(b, '}')
	b = appendOmitEmpty(b, `,"failureCode":`, p.FailureCode)
	b = appendOmitEmpty(b, `,"failureMessage":`, p.FailureMessage)
	b = appendOmitEmpty(b, `,"cardBrand":`, p.CardBrand)
	b = appendOmitEmpty(b, `,"maskedCardNo":`, p.MaskedCardNo)
	b = append(b, `,"createdAt":`...)
	b = appendTime(b, p.CreatedAt)
	b = append(b, `,"updatedAt":`...)
	b = appendTime(b, p.UpdatedAt)
	if p.ExpiresAt != nil {
		b = append(b, `,"expiresAt":`...)
		b = appendTime(b, *p.ExpiresAt)
	}
	if p.AuthorizationExpiresAt != nil {
		b = append(b, `,"authorizationExpiresAt":`...)
		b = appendTime(b, *p.AuthorizationExpiresAt)
	}
	return append(b, '}')
}

// appendOmitEmpty appends key and s unless s is empty (omitempty).
func appendOmitEmpty(b []byte, key, s string) []byte {
	if s == "" {
		return b
	}
	return jsonw.AppendString(append(b, key...), s)
}

// appendTime appends ts(t) as a JSON string. In years 0 to 9999, RFC 3339
// of a time in UTC to the second is digits in fixed places
// (YYYY-MM-DDTHH:MM:SSZ): written from the date and the clock, where
// AppendFormat read its layout again for each of an answer's times
// (TestAppendTimeIsTs, FuzzAppendTimeIsTs).
func appendTime(b []byte, t time.Time) []byte {
	t = t.UTC()
	year, month, day := t.Date()
	if year < 0 || year > 9999 {
		return jsonw.AppendString(b, ts(t)) // as Format writes it, whatever it is
	}
	hour, minute, second := t.Clock()
	return append(b, '"',
		byte('0'+year/1000), byte('0'+year/100%10), byte('0'+year/10%10), byte('0'+year%10), '-',
		byte('0'+month/10), byte('0'+month%10), '-', byte('0'+day/10), byte('0'+day%10), 'T',
		byte('0'+hour/10), byte('0'+hour%10), ':', byte('0'+minute/10), byte('0'+minute%10), ':',
		byte('0'+second/10), byte('0'+second%10), 'Z', '"')
}

// appendAmount appends formatAmount(minor, currency) as a JSON string (its
// text is digits, a sign and a point: nothing to escape), the way
// money.Format makes it.
func appendAmount(b []byte, minor int64, currency string) []byte {
	exp, ok := money.Exponent(currency)
	if !ok {
		exp = 2
	}
	b = append(b, '"')
	u := uint64(minor)
	if minor < 0 {
		b = append(b, '-')
		u = uint64(-minor)
	}
	var buf [48]byte
	d := strconv.AppendUint(buf[:0], u, 10)
	if exp > 0 {
		for len(d) <= exp { // a zero before the point, and after it as needed
			d = append(d, 0)
			copy(d[1:], d)
			d[0] = '0'
		}
		b = append(b, d[:len(d)-exp]...)
		b = append(b, '.')
		d = d[len(d)-exp:]
	}
	b = append(b, d...)
	return append(b, '"')
}
