// Package store keeps the simulator's state: payments, orders, shops,
// terminals, sessions. The interface is deliberately narrow — objects are JSON
// documents addressed by kind and id, changed one at a time under the object's
// own lock — so that a persistent implementation (SQLite, Postgres) can sit
// behind it later without touching domain code.
//
// Domain code uses the typed Table[T] wrapper; the Store interface is for
// implementations.
package store

import (
	"context"
	"errors"
)

// ErrNotFound is returned when no object has the id or key.
var ErrNotFound = errors.New("store: not found")

// ErrExists is returned by Create when the id or one of the unique keys is
// already taken.
var ErrExists = errors.New("store: already exists")

// Store holds JSON documents by kind and id.
type Store interface {
	// Get returns the stored document.
	Get(ctx context.Context, kind, id string) ([]byte, error)
	// Create stores a new document and claims its unique keys (e.g.
	// "merchant/302300000926/order/A1"), atomically: either the id and every
	// key are free and all are taken, or ErrExists and nothing changes (a
	// taken id is ErrIDTaken, which wraps ErrExists: see NewID).
	Create(ctx context.Context, kind, id string, doc []byte, unique ...string) error
	// Update runs fn on the current document while holding the object's lock
	// and stores what fn returns. If fn fails, nothing changes. Updates of one
	// object are serialised; updates of different objects run in parallel.
	Update(ctx context.Context, kind, id string, fn func(cur []byte) ([]byte, error)) error
	// Claim adds unique keys to an existing object, atomically, or ErrExists.
	Claim(ctx context.Context, kind, id string, unique ...string) error
	// Lookup resolves a unique key to the id that claimed it.
	Lookup(ctx context.Context, kind, key string) (string, error)
	// List calls fn on every document of a kind, in creation order, until fn
	// returns false. fn must not call back into the store.
	List(ctx context.Context, kind string, fn func(id string, doc []byte) bool) error
	// Reset drops every document of every kind.
	Reset(ctx context.Context) error
}

// IDLister is implemented by stores that can list a kind's ids without
// reading the documents (the memory store keeps values: encoding 10 000
// documents to count them and page by id cost the dashboard's first paint
// 5×). Listing falls back to List when a store does not implement it.
type IDLister interface {
	// ListIDs calls fn on every id of a kind, in creation order, until fn
	// returns false. fn must not call back into the store.
	ListIDs(ctx context.Context, kind string, fn func(id string) bool) error
}
