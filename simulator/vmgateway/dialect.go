package vmgateway

import (
	"encoding/json"
	"net/http"

	"github.com/pspsim/pspsim/simulator/apierr"
	"github.com/pspsim/pspsim/simulator/ids"
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
type Dialect struct{ IDs *ids.Generator }

// WriteError implements apierr.Dialect.
func (d Dialect) WriteError(w http.ResponseWriter, _ *http.Request, e *apierr.Error) {
	body := map[string]string{"code": Code(e), "message": e.Message, "traceId": d.IDs.UUID()}
	if e.Field != "" {
		body["field"] = e.Field
	}
	status := e.Status
	if status == 0 {
		status = apierr.HTTPStatus(e.Kind)
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
