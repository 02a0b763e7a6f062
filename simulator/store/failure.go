package store

import (
	"errors"
)

// ErrUnavailable matches (errors.Is) every error Failed marked: the store
// did not answer — a database that refuses connections ("too many clients"),
// times out or is gone — as opposed to an answer (ErrNotFound, ErrExists).
// Domain code that turned any lookup error into "not found" answered 404 for
// a shop that exists and 401 for a valid token while PostgreSQL refused
// connections; the mark lets the error model (apierr.Wrap) answer 503
// "retry" instead, without domain code naming the store's failures one by
// one.
var ErrUnavailable = errors.New("store: the store did not answer")

// UnavailableMessage is what a client is told when the store did not answer:
// nothing of the cause (a host, a DSN, a query), only that a retry may work.
const UnavailableMessage = "the sandbox's store did not answer: retry"

// failure is an error of a store that is not one of its answers.
type failure struct{ err error }

func (f *failure) Error() string { return f.err.Error() }

func (f *failure) Unwrap() error { return f.err }

// Is makes errors.Is(err, ErrUnavailable) true.
func (f *failure) Is(target error) bool { return target == ErrUnavailable }

// Unanswered implements apierr.Unanswered: the message for the client.
func (f *failure) Unanswered() string { return UnavailableMessage }

// Failed marks err as the store's failure (ErrUnavailable) unless it is nil
// or one of the store's answers: ErrNotFound, ErrExists (ErrIDTaken wraps
// it), ErrNoFreeID. It is idempotent. The Table marks what its store
// returns; code that calls a Store directly marks with Failed.
func Failed(err error) error {
	if err == nil || errors.Is(err, ErrNotFound) || errors.Is(err, ErrExists) ||
		errors.Is(err, ErrNoFreeID) || errors.Is(err, ErrUnavailable) {
		return err
	}
	return &failure{err: err}
}
