package codepay

import (
	"bytes"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"

	"github.com/pspsim/pspsim/simulator/apierr"
	"github.com/pspsim/pspsim/simulator/ids"
	"github.com/pspsim/pspsim/simulator/openapi"
)

// Codes are CodePay's stable answer codes (specs/codepay.yaml x-error-codes).
// New codes may be appended; existing ones never change meaning.
const (
	CodeSuccess          = "0"
	CodeMissingParameter = "40001"
	CodeInvalidParameter = "40002"
	CodeBadSignature     = "40003"
	CodeTimestamp        = "40004"
	CodeUnknownApp       = "40005"
	CodeUnknownMerchant  = "40006"
	CodeDuplicateOrder   = "40007"
	CodeOrderNotFound    = "40008"
	CodeStatusForbids    = "40009"
	CodeTerminalOffline  = "40010"
	CodeAmountExceeds    = "40011"
	CodeUnsupported      = "40012"
	CodeRefundLimit      = "40013"
	CodeSystemError      = "50000"
)

// DataMode says how `data` travels in answers.
type DataMode int

const (
	// DataString sends data as a JSON-encoded string: what CodePay's official
	// demos verify (the string to sign then holds data's exact text).
	DataString DataMode = iota
	// DataObject sends data as a JSON object: what the seed's samples show.
	DataObject
)

// Envelope writes CodePay answers: {code, msg, psn, sign, data}, signed with
// the gateway's key exactly as sent.
type Envelope struct {
	// Key returns the gateway's signing key (a function: --config may
	// replace the key when the simulator resets).
	Key  func() *rsa.PrivateKey
	IDs  *ids.Generator
	Mode DataMode // the initial mode; SetMode changes it while serving
	// Observe, when set, sees every error answer (the journal records it).
	Observe func(r *http.Request, code, msg string)

	mu  sync.RWMutex
	set bool
	cur DataMode
}

// SetMode changes how data travels in later answers.
func (e *Envelope) SetMode(m DataMode) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.set, e.cur = true, m
}

func (e *Envelope) mode() DataMode {
	e.mu.RLock()
	defer e.mu.RUnlock()
	if e.set {
		return e.cur
	}
	return e.Mode
}

// Answer builds the signed envelope bytes for code, msg and data (data may be
// nil). It signs exactly the bytes it returns.
func (e *Envelope) Answer(code, msg string, data any) ([]byte, error) {
	fields := map[string]json.RawMessage{}
	put := func(k string, v any) error {
		b, err := marshal(v)
		if err != nil {
			return fmt.Errorf("codepay answer %s: %w", k, err)
		}
		fields[k] = b
		return nil
	}
	put("code", code)
	put("msg", msg)
	put("psn", e.IDs.Digits(20))
	if data != nil {
		dataJSON, err := marshal(data)
		if err != nil {
			return nil, fmt.Errorf("codepay answer data: %w", err)
		}
		if e.mode() == DataString {
			if err := put("data", string(dataJSON)); err != nil {
				return nil, err
			}
		} else {
			fields["data"] = dataJSON
		}
	}
	s, err := stringToSign(fields)
	if err != nil {
		return nil, err
	}
	sign, err := SignString(e.Key(), s)
	if err != nil {
		return nil, err
	}
	put("sign", sign)
	return marshal(fields)
}

// marshal encodes without escaping <, > and & so that what is signed and
// what a client parses are the same text.
func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}

// Write sends a signed answer with HTTP status.
func (e *Envelope) Write(w http.ResponseWriter, status int, code, msg string, data any) {
	body, err := e.Answer(code, msg, data)
	if err != nil {
		status = http.StatusInternalServerError
		body = []byte(`{"code":"50000","msg":"system error: could not sign the answer"}`)
	}
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.WriteHeader(status)
	w.Write(body)
}

// WriteError implements apierr.Dialect: every error is a signed envelope with
// a non-zero code, HTTP 200, except an unknown path (404), a wrong HTTP method
// (405) and a body over the limit (413).
func (e *Envelope) WriteError(w http.ResponseWriter, r *http.Request, err *apierr.Error) {
	if err.Field == "method" && err.Rule == "discriminator" && !hasField(r, "method") {
		err = apierr.Required("method")
	}
	code, status := CodeAndStatus(err)
	if e.Observe != nil {
		e.Observe(r, code, err.Message)
	}
	e.Write(w, status, code, err.Message, nil)
}

// hasField reports whether the request body being served has a non-empty
// top-level field.
func hasField(r *http.Request, name string) bool {
	req := openapi.FromContext(r.Context())
	if req == nil {
		return false
	}
	var fields map[string]json.RawMessage
	if json.Unmarshal(req.Body, &fields) != nil {
		return false
	}
	v, ok := fields[name]
	return ok && string(v) != "null" && string(v) != `""`
}

// CodeAndStatus maps an error to CodePay's code and HTTP status.
func CodeAndStatus(err *apierr.Error) (string, int) {
	code := err.Code
	status := err.Status
	if code == "" && err.Field == "method" && (err.Rule == "discriminator" || err.Rule == "enum") {
		// A method outside the dispatch table is an unsupported method, not a
		// malformed field (specs/codepay.yaml: 40012).
		code = CodeUnsupported
	}
	if code == "" {
		switch err.Kind {
		case apierr.Missing:
			code = CodeMissingParameter
		case apierr.Invalid, apierr.Malformed, apierr.Unprocessable, apierr.TooLarge:
			code = CodeInvalidParameter
		case apierr.Unauthorized, apierr.Forbidden:
			code = CodeUnknownApp
		case apierr.NotFound, apierr.MethodNotAllowed:
			code = CodeUnsupported
		case apierr.Conflict:
			code = CodeStatusForbids
		default:
			code = CodeSystemError
		}
	}
	if status == 0 {
		switch {
		case err.Kind == apierr.NotFound && err.Code == "":
			status = http.StatusNotFound // no such path: an order not found carries its own code
		case err.Kind == apierr.MethodNotAllowed:
			status = http.StatusMethodNotAllowed
		case err.Kind == apierr.TooLarge:
			status = http.StatusRequestEntityTooLarge
		default:
			status = http.StatusOK
		}
	}
	return code, status
}
