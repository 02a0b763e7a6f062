package store

import (
	"context"
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

// MarkState returns st with its failures marked (Failed), so that the
// state's readers — fault rules, canaries, the shared clock — hand a
// handler an error apierr.Wrap answers 503, as the tables' readers do.
func MarkState(st State) State {
	if st == nil {
		return nil
	}
	if _, ok := st.(markedState); ok {
		return st
	}
	return markedState{st}
}

type markedState struct{ s State }

func (m markedState) Load(ctx context.Context, name string) ([]byte, int64, error) {
	doc, v, err := m.s.Load(ctx, name)
	return doc, v, Failed(err)
}

func (m markedState) Save(ctx context.Context, name string, doc []byte) (int64, error) {
	v, err := m.s.Save(ctx, name, doc)
	return v, Failed(err)
}

func (m markedState) SaveIf(ctx context.Context, name string, doc []byte, version int64) (int64, bool, error) {
	v, ok, err := m.s.SaveIf(ctx, name, doc, version)
	return v, ok, Failed(err)
}

func (m markedState) Insert(ctx context.Context, name string, doc []byte) (bool, error) {
	ok, err := m.s.Insert(ctx, name, doc)
	return ok, Failed(err)
}

func (m markedState) Delete(ctx context.Context, name string) error {
	return Failed(m.s.Delete(ctx, name))
}

func (m markedState) List(ctx context.Context, prefix string) (map[string][]byte, error) {
	docs, err := m.s.List(ctx, prefix)
	return docs, Failed(err)
}

func (m markedState) Version(ctx context.Context, name string) (int64, error) {
	v, err := m.s.Version(ctx, name)
	return v, Failed(err)
}

func (m markedState) Add(ctx context.Context, counter string, delta int64) (int64, error) {
	n, err := m.s.Add(ctx, counter, delta)
	return n, Failed(err)
}

func (m markedState) Counter(ctx context.Context, name string) (int64, error) {
	n, err := m.s.Counter(ctx, name)
	return n, Failed(err)
}

func (m markedState) Counters(ctx context.Context, prefix string) (map[string]int64, error) {
	c, err := m.s.Counters(ctx, prefix)
	return c, Failed(err)
}

func (m markedState) DeleteCounters(ctx context.Context, prefix string) error {
	return Failed(m.s.DeleteCounters(ctx, prefix))
}
