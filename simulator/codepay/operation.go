package codepay

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/pspsim/pspsim/simulator/apierr"
	"github.com/pspsim/pspsim/simulator/bodies"
	"github.com/pspsim/pspsim/simulator/money"
	"github.com/pspsim/pspsim/simulator/openapi"
)

// Every handler of the gateway API (the `method`s of POST /api/entry and the
// /api/card/ operations) has the same skeleton: decode the validated body,
// take the caller the guard recorded, do the operation, then answer its
// reply in a signed envelope or fail in CodePay's dialect. serve is that
// skeleton once, so that a handler is only what its operation decides.

// reply is what an operation answers: the ids the journal files the answer
// under, and the envelope's data.
type reply struct {
	ids  map[string]string
	data any
}

// txnReply answers with data about transaction t, filed under its ids.
func txnReply(t *Txn, data any) reply { return reply{ids: txnIDs(t), data: data} }

func txnIDs(t *Txn) map[string]string {
	return map[string]string{"trans_no": t.TransNo, "merchant_order_no": t.MerchantOrderNo, "terminal_sn": t.TerminalSN}
}

// serve makes an operation a handler: its body decoded into a fresh In.
// An operation that changes state takes the ledger lock itself (System.do),
// so that what it answers is built once the lock is released.
func serve[In any](s *System, op func(ctx context.Context, c *Caller, in *In) (reply, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var in In
		if aerr := decode(r, &in); aerr != nil {
			s.fail(w, r, aerr)
			return
		}
		out, err := op(r.Context(), callerOf(r.Context()), &in)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		s.answer(w, r, out.ids, out.data)
	}
}

// decode reads the validated body into v, keeping numbers as their literal
// text (json.Number) so amounts never pass through float64.
func decode(r *http.Request, v any) *apierr.Error {
	req := openapi.FromContext(r.Context())
	dec := json.NewDecoder(bytes.NewReader(req.Body))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return apierr.New(apierr.Malformed, "request body: %v", err)
	}
	return nil
}

// answer writes a success envelope and journals the request.
func (s *System) answer(w http.ResponseWriter, r *http.Request, ids map[string]string, data any) {
	req := openapi.FromContext(r.Context())
	c := callerOf(r.Context())
	all := map[string]string{"app_id": c.App.AppID}
	if c.MerchantNo != "" {
		all["merchant_no"] = c.MerchantNo
	}
	for k, v := range ids {
		if v != "" {
			all[k] = v
		}
	}
	journaled := map[string]any{"method": req.Key, "code": CodeSuccess, "environment": c.Environment, "request": bodies.Of(req.Body), "answer": bodies.Of(answerData(data))}
	if c.SignForm != "" {
		journaled["signForm"] = string(c.SignForm)
	}
	s.env.Record(Name, "request.answered", fmt.Sprintf("%s answered 0 success (%s)", req.Key, c.Environment), all, journaled)
	s.envelope.Write(w, http.StatusOK, CodeSuccess, "success", data)
}

// fail writes an error envelope (journaled by the envelope's observer).
func (s *System) fail(w http.ResponseWriter, r *http.Request, err error) {
	s.envelope.WriteError(w, r, apierr.Wrap(err))
}

// The errors an operation answers with, each with its stable code.
// apierr.Field puts the field in front of the message: callers do not.

// invalid is the 40002 error: a field's value is not acceptable.
func invalid(field, rule, format string, args ...any) *apierr.Error {
	return apierr.Field(apierr.Invalid, field, rule, format, args...).WithCode(CodeInvalidParameter)
}

// missing is the 40001 error: a field the operation needs is absent.
func missing(field, format string, args ...any) *apierr.Error {
	return apierr.Field(apierr.Missing, field, "required", format, args...).WithCode(CodeMissingParameter)
}

// notFound is the 40008 error.
func notFound(field, format string, args ...any) *apierr.Error {
	return apierr.Field(apierr.NotFound, field, "unknown", format, args...).WithCode(CodeOrderNotFound)
}

// retryable is the 50000 error of a failure the merchant may retry with the
// same merchant_order_no: nothing was kept.
func retryable(format string, args ...any) *apierr.Error {
	return apierr.New(apierr.Unavailable, format, args...).WithCode(CodeSystemError)
}

// amount parses an amount's literal JSON text in the currency's ISO-4217
// exponent. An absent amount is zero unless required.
func amount(field string, n json.Number, currency string, required, positive bool) (int64, *apierr.Error) {
	if n == "" {
		if required {
			return 0, apierr.Required(field).WithCode(CodeMissingParameter)
		}
		return 0, nil
	}
	var v int64
	var err error
	if positive {
		v, err = money.ParsePositive(string(n), currency)
	} else {
		v, err = money.Parse(string(n), currency)
	}
	if err != nil {
		var pe *money.ParseError
		if errors.As(err, &pe) {
			if pe.Rule == money.RuleCurrency {
				return 0, invalid("price_currency", "currency", "%s", pe.Message)
			}
			return 0, invalid(field, string(pe.Rule), "%s", pe.Message)
		}
		return 0, invalid(field, "format", "is not an amount")
	}
	return v, nil
}

// knownCurrency checks price_currency against ISO-4217.
func knownCurrency(c string) *apierr.Error {
	if _, ok := money.Exponent(c); !ok {
		return invalid("price_currency", "currency", "%s is not an ISO-4217 currency", c)
	}
	return nil
}

// boolOr is an optional boolean field's value, def when absent.
func boolOr(b *bool, def bool) bool {
	if b == nil {
		return def
	}
	return *b
}

// fmtAmount renders minor units as the decimal text CodePay answers with.
func fmtAmount(minor int64, currency string) string { return money.Format(minor, currency) }

// Timestamps in answers: "yyyy-MM-dd HH:mm:ss", UTC.
const timeLayout = "2006-01-02 15:04:05"

func fmtTime(t time.Time) string { return t.UTC().Format(timeLayout) }

// answerData is the JSON of an answer's data for the journal (nil when it
// does not encode).
func answerData(data any) []byte {
	b, _ := json.Marshal(data)
	return b
}
