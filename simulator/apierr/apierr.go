// Package apierr is the one error model behind the three vendor dialects.
//
// Handlers and the validation layer describe what went wrong once — the kind
// of failure, the field, the rule — and each system's Dialect renders it in
// its own envelope: Genstore's {"errors": ...}, CodePay's signed
// {code, msg, psn, sign, data}, the card gateway's {code, message, field,
// traceId}, the admin API's {"error": {...}}.
package apierr

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// Kind classifies a failure independently of any dialect.
type Kind string

const (
	Missing          Kind = "missing"            // a required field is absent
	Invalid          Kind = "invalid"            // a field breaks a rule (type, length, enum, amount...)
	Malformed        Kind = "malformed"          // the body is not parseable JSON
	Unauthorized     Kind = "unauthorized"       // no or bad credentials, signature, token
	Forbidden        Kind = "forbidden"          // credentials fine, permission (scope) missing
	NotFound         Kind = "not_found"          // unknown object or path
	MethodNotAllowed Kind = "method_not_allowed" // known path, wrong HTTP method
	Conflict         Kind = "conflict"           // duplicate, or a state that forbids the change
	Unprocessable    Kind = "unprocessable"      // well-formed but semantically refused
	TooLarge         Kind = "too_large"          // body over the limit
	Unavailable      Kind = "unavailable"        // temporarily refused
	Internal         Kind = "internal"           // the simulator failed
)

// Detail is one broken rule.
type Detail struct {
	Field   string `json:"field,omitempty"`
	Rule    string `json:"rule,omitempty"`
	Message string `json:"message"`
}

// Error is a failure to report to a client.
type Error struct {
	Kind    Kind
	Code    string // a dialect-specific code chosen by the handler; empty → the dialect maps Kind
	Status  int    // an HTTP status chosen by the handler; 0 → the dialect maps Kind
	Field   string // the first offending field, dotted ("card.cardNo")
	Rule    string // the rule it broke ("required", "maxLength", "decimals", ...)
	Message string // one sentence naming the field and the rule; never echoes card data
	Details []Detail
	Cause   error // for logs only; never sent
}

func (e *Error) Error() string {
	if e.Cause != nil {
		return e.Message + ": " + e.Cause.Error()
	}
	return e.Message
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Cause }

// New returns an error of kind with a message.
func New(kind Kind, format string, args ...any) *Error {
	return &Error{Kind: kind, Message: fmt.Sprintf(format, args...)}
}

// Field returns an error about one field: kind Missing or Invalid usually.
func Field(kind Kind, field, rule, format string, args ...any) *Error {
	msg := fmt.Sprintf(format, args...)
	if field != "" && !strings.HasPrefix(msg, field) {
		msg = field + ": " + msg
	}
	return &Error{Kind: kind, Field: field, Rule: rule, Message: msg, Details: []Detail{{Field: field, Rule: rule, Message: msg}}}
}

// Required is the error for an absent required field.
func Required(field string) *Error {
	return Field(Missing, field, "required", "%s: is required", field)
}

// WithCode sets a dialect-specific code and returns e.
func (e *Error) WithCode(code string) *Error { e.Code = code; return e }

// WithStatus sets the HTTP status and returns e.
func (e *Error) WithStatus(status int) *Error { e.Status = status; return e }

// Unanswered is implemented by the errors of a dependency that did not
// answer — the store's database refusing connections or timing out — as
// opposed to a defect of the simulator. Wrap makes them Unavailable, 503 in
// every dialect, so that a client retries instead of being told 500, or
// "not found" by a lookup that was never answered. The interface lives here
// and the store's errors implement it (store.Failed), so that this package
// imports nothing of the simulator.
type Unanswered interface {
	error
	// Unanswered returns the message for the client: it names no host, no
	// URL, no data, only that a retry may work.
	Unanswered() string
}

// Wrap turns any error into an *Error: an *Error stays as it is; an error
// that is (or wraps) Unanswered becomes Unavailable with status 503; anything
// else becomes Internal with a generic message. The cause is kept for logs
// only. An Internal *Error whose cause did not answer becomes Unavailable
// too: whoever gave up on the error did not know better.
func Wrap(err error) *Error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		if e.Kind == Internal && e.Cause != nil {
			if u := Unavailability(e.Cause); u != nil {
				u.Cause = e
				return u
			}
		}
		return e
	}
	if u := Unavailability(err); u != nil {
		return u
	}
	return &Error{Kind: Internal, Message: "internal error", Cause: err}
}

// Unavailability returns the Unavailable error (status 503) of err when err
// is or wraps an Unanswered error, or nil.
func Unavailability(err error) *Error {
	var u Unanswered
	if err == nil || !errors.As(err, &u) {
		return nil
	}
	return &Error{Kind: Unavailable, Status: http.StatusServiceUnavailable, Message: u.Unanswered(), Cause: err}
}

// HTTPStatus is the conventional status of a kind, for dialects that follow
// HTTP semantics.
func HTTPStatus(k Kind) int {
	switch k {
	case Missing, Invalid, Malformed:
		return http.StatusBadRequest
	case Unauthorized:
		return http.StatusUnauthorized
	case Forbidden:
		return http.StatusForbidden
	case NotFound:
		return http.StatusNotFound
	case MethodNotAllowed:
		return http.StatusMethodNotAllowed
	case Conflict:
		return http.StatusConflict
	case Unprocessable:
		return http.StatusUnprocessableEntity
	case TooLarge:
		return http.StatusRequestEntityTooLarge
	case Unavailable:
		return http.StatusServiceUnavailable
	default:
		return http.StatusInternalServerError
	}
}

// Dialect renders errors in one system's envelope.
type Dialect interface {
	// WriteError answers r with err in the dialect's envelope and status.
	WriteError(w http.ResponseWriter, r *http.Request, err *Error)
}

// DialectFunc adapts a function to Dialect.
type DialectFunc func(w http.ResponseWriter, r *http.Request, err *Error)

// WriteError calls f.
func (f DialectFunc) WriteError(w http.ResponseWriter, r *http.Request, err *Error) { f(w, r, err) }
