package vmgateway

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/pspsim/pspsim/simulator/apierr"
	"github.com/pspsim/pspsim/simulator/bodies"
	"github.com/pspsim/pspsim/simulator/ids"
	"github.com/pspsim/pspsim/simulator/journal"
	"github.com/pspsim/pspsim/simulator/openapi"
)

// Error codes of the gateway's envelope (specs/vmgateway.yaml x-error-codes).
const (
	CodeParameterMissing             = "PARAMETER_MISSING"
	CodeParameterInvalid             = "PARAMETER_INVALID"
	CodeUnauthorized                 = "UNAUTHORIZED"
	CodeForbidden                    = "FORBIDDEN"
	CodeNotFound                     = "NOT_FOUND"
	CodeMethodNotAllowed             = "METHOD_NOT_ALLOWED"
	CodeDuplicateOrder               = "DUPLICATE_ORDER"
	CodeStatusConflict               = "STATUS_CONFLICT"
	CodeRefundNumberConflict         = "REFUND_NUMBER_CONFLICT"
	CodeDuplicateTracking            = "DUPLICATE_TRACKING"
	CodePayloadTooLarge              = "PAYLOAD_TOO_LARGE"
	CodeAmountExceeded               = "AMOUNT_EXCEEDED"
	CodeInvalidTransactionIdentifier = "INVALID_TRANSACTION_IDENTIFIER"
	CodeThreeDSDataInvalid           = "THREEDS_DATA_INVALID"
	CodeInternalError                = "INTERNAL_ERROR"
)

// Dialect renders errors in the gateway's envelope:
// {"code", "message", "field", "traceId"} with the HTTP status of the kind.
type Dialect struct {
	IDs *ids.Generator
	// record, when set, journals errors answered before a handler ran
	// (authentication and validation failures).
	record func(r *http.Request, e *apierr.Error)
}

// WriteError implements apierr.Dialect.
func (d Dialect) WriteError(w http.ResponseWriter, r *http.Request, e *apierr.Error) {
	code := Code(e)
	body := map[string]string{"code": code, "message": e.Message, "traceId": d.IDs.UUID()}
	if e.Field != "" {
		body["field"] = e.Field
	}
	status := e.Status
	if status == 0 {
		status = apierr.HTTPStatus(e.Kind)
	}
	if r != nil {
		if info := callInfoFrom(r.Context()); info != nil {
			info.code, info.field = code, e.Field
		} else if d.record != nil {
			d.record(r, e)
		}
	}
	WriteJSON(w, status, body)
}

// Code maps an error to the gateway's code.
func Code(e *apierr.Error) string {
	if e.Code != "" {
		return e.Code
	}
	switch e.Kind {
	case apierr.Missing:
		return CodeParameterMissing
	case apierr.Invalid, apierr.Malformed:
		return CodeParameterInvalid
	case apierr.Unauthorized:
		return CodeUnauthorized
	case apierr.Forbidden:
		return CodeForbidden
	case apierr.NotFound:
		return CodeNotFound
	case apierr.MethodNotAllowed:
		return CodeMethodNotAllowed
	case apierr.Conflict:
		return CodeStatusConflict
	case apierr.Unprocessable:
		return CodeAmountExceeded
	case apierr.TooLarge:
		return CodePayloadTooLarge
	}
	return CodeInternalError
}

// WriteJSON writes v as JSON with status.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"code":"INTERNAL_ERROR","message":"internal error","traceId":"-"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(b)
}

// callInfo collects, while a handler runs, what the journal says about the
// request afterwards: the ids it concerned and the error it answered.
type callInfo struct {
	ids   []journal.ID // a name given again: the later value wins (journal.RecordFields)
	code  string
	field string
	buf   [6]journal.ID
	rec   bodies.Recorder // the answer, allocated with the rest
	// The views of the request and the answer, kept here so that the
	// journal is given pointers (no allocation).
	request, answer bodies.View
	// create is the createRequest allocated with the callInfo of a
	// createPayment (createCall), until the handler takes it.
	create *createRequest
}

// createCall is a createPayment's callInfo and the createRequest its
// handler fills, in one allocation instead of two: both live exactly as
// long as the request (nothing the payment keeps points into either).
type createCall struct {
	info callInfo
	req  createRequest
}

// newCallInfo returns the callInfo of a call to op.
func newCallInfo(op string) *callInfo {
	if op == "createPayment" {
		c := &createCall{}
		c.info.create = &c.req
		return &c.info
	}
	return &callInfo{}
}

// takeCreate returns the createRequest allocated with c, once; a new one
// when there is none (c nil, c not a createPayment's, or taken already).
func (c *callInfo) takeCreate() *createRequest {
	if c == nil || c.create == nil {
		return new(createRequest)
	}
	req := c.create
	c.create = nil
	return req
}

type callInfoKey struct{}

// callInfoFrom returns the callInfo of the handler being served: the one
// its mount's Request holds (journaled), or outside a mount the context's.
func callInfoFrom(ctx context.Context) *callInfo {
	if req := openapi.FromContext(ctx); req != nil {
		if c, ok := req.Held().(*callInfo); ok {
			return c
		}
	}
	c, _ := ctx.Value(callInfoKey{}).(*callInfo)
	return c
}

// note adds ids (name, value pairs) to the journal event of the request.
func note(ctx context.Context, kv ...string) {
	c := callInfoFrom(ctx)
	if c == nil {
		return
	}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] != "" {
			c.ids = append(c.ids, journal.ID{Name: kv[i], Value: kv[i+1]})
		}
	}
}

// handler is the shape of every API operation's handler: it writes its
// answer on success and returns its failure, which journaled renders in the
// gateway's envelope (admin.HandlerFunc's idiom, in this dialect). Saying
// what failed once, by returning it, keeps the answer and the journal's
// error code from ever disagreeing.
type handler func(w http.ResponseWriter, r *http.Request) error

// journaled wraps a handler so that every request it serves is journaled
// (kind api.request) with the operation, the answer's status and error code,
// the environment of the credentials and the ids it concerned.
func (s *System) journaled(op string, h handler) http.Handler {
	// kept recycles the memory the recorder keeps answers in, once they are
	// journaled (an answer was an allocation of its size on every request).
	// One pool per operation, held by its handler.
	var kept sync.Pool
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		info := newCallInfo(op)
		info.ids = info.buf[:0]
		info.rec.ResponseWriter = w
		mem, _ := kept.Get().(*[]byte)
		if mem != nil {
			info.rec.KeepIn(*mem)
		}
		sw := &info.rec
		// The handler finds info in its mount's Request, held there while
		// it runs; outside a mount, in its context.
		req := openapi.FromContext(r.Context())
		var prev any
		if req != nil {
			prev = req.Hold(info)
		} else {
			r = r.WithContext(context.WithValue(r.Context(), callInfoKey{}, info))
		}
		if err := h(sw, r); err != nil {
			s.fail(sw, r, err)
		}
		if req != nil {
			req.Hold(prev)
		}
		// The data goes to the journal as a list, kept as the map of the
		// same entries would be (journal.Field), without building the map.
		var fields [7]journal.Field
		data := append(fields[:0], journal.String("operation", op), journal.Int("status", int64(sw.Status)))
		// The views of the bodies are made as the journal writes them
		// (bodies.View), the request's body and the recorder's being kept
		// until RecordFields returns.
		if req != nil {
			if info.request = requestView(req); !info.request.Empty() {
				data = append(data, journal.Any("request", &info.request))
			}
		}
		if info.answer = sw.View(); !info.answer.Empty() {
			data = append(data, journal.Any("answer", &info.answer))
		}
		if t, ok := TokenFrom(r.Context()); ok {
			info.ids = append(info.ids, journal.ID{Name: "appId", Value: t.AppID}, journal.ID{Name: "merchant", Value: t.MerchantID})
			data = append(data, journal.String("environment", t.Environment))
		}
		if info.code != "" {
			data = append(data, journal.String("code", info.code), journal.String("field", info.field))
		}
		// "op → status[ code]", made in one allocation (strconv.Itoa and
		// the concatenation were two).
		var mb [96]byte
		m := append(append(mb[:0], op...), " → "...)
		m = strconv.AppendInt(m, int64(sw.Status), 10)
		if info.code != "" {
			m = append(append(m, ' '), info.code...)
		}
		msg := string(m)
		s.env.Journal.RecordFields(journal.Event{System: Name, Kind: "api.request", Message: msg}, info.ids, data)
		// The event holds its own copy of the views: the answer's memory
		// goes back to the pool.
		info.answer = bodies.View{}
		if b := info.rec.Release(); cap(b) > 0 {
			if mem == nil {
				mem = new([]byte)
			}
			*mem = b
			kept.Put(mem)
		}
	})
}

// requestView is the journal's view of a request's body: one the validator
// parsed as it is is not checked again (bodies.OfJSON gives bodies.Of's view).
func requestView(req *openapi.Request) bodies.View {
	return bodies.ViewOf(req.Body, req.BodyJSON())
}

// fail answers an error in the gateway's envelope; an internal error's
// cause goes to the log, never to the client.
func (s *System) fail(w http.ResponseWriter, r *http.Request, err error) {
	e := apierr.Wrap(err)
	if (e.Kind == apierr.Internal || e.Kind == apierr.Unavailable) && e.Cause != nil {
		s.env.Log.Error("vmgateway internal error", "err", e.Cause)
	}
	s.dialect.WriteError(w, r, e)
}

// decode reads the validated body into v.
func decode(r *http.Request, v any) error {
	if err := openapi.FromContext(r.Context()).Decode(v); err != nil {
		return apierr.New(apierr.Malformed, "request body is not valid JSON for this operation")
	}
	return nil
}

// request is the common start of an authenticated operation: the caller's
// token and merchant, and the body decoded into in.
func (s *System) request(r *http.Request, in any) (Token, Merchant, error) {
	tok, m, err := s.caller(r.Context())
	if err != nil {
		return Token{}, Merchant{}, err
	}
	if err := decode(r, in); err != nil {
		return Token{}, Merchant{}, err
	}
	return tok, m, nil
}

// recordRefused journals a request refused before its handler ran (its
// body broke the spec, say). When the caller's token was good, the event
// names the caller's app, merchant and environment, and the order the body
// names, as api.request does: a refused call is still a call the app made
// (the conformance suite counts them: "no call to the PSP" means none).
func (s *System) recordRefused(r *http.Request, e *apierr.Error) {
	op := ""
	ids := map[string]string{}
	data := map[string]any{"status": apierr.HTTPStatus(e.Kind), "code": Code(e), "path": r.URL.Path}
	if req := openapi.FromContext(r.Context()); req != nil {
		op = req.OperationID
		if t, ok := TokenFrom(r.Context()); ok {
			ids["appId"], ids["merchant"] = t.AppID, t.MerchantID
			data["environment"] = t.Environment
			var named struct {
				OrderNo      any `json:"orderNo"`
				TradeNo      any `json:"tradeNo"`
				RefundNumber any `json:"refundNumber"`
			}
			if json.Unmarshal(req.Body, &named) == nil {
				for k, v := range map[string]any{"orderNo": named.OrderNo, "tradeNo": named.TradeNo, "refundNumber": named.RefundNumber} {
					// encoding/json turned what is not text into U+FFFD:
					// no order is named so, and the journal is not to hold it.
					if str, ok := v.(string); ok && str != "" && len(str) <= 64 && !strings.ContainsRune(str, utf8.RuneError) {
						ids[k] = str
					}
				}
			}
		}
	}
	data["operation"] = op
	if e.Field != "" {
		data["field"] = e.Field
	}
	s.env.Record(Name, "api.refused", fmt.Sprintf("%s %s refused: %s", r.Method, r.URL.Path, Code(e)), ids, data)
}
