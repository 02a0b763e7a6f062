package store

import (
	"context"
	"encoding/json"
	"fmt"
)

// Table is a typed view of one kind of document. T is stored as JSON, so a
// value read from the table never aliases stored state: changing it changes
// nothing until it goes through Update.
type Table[T any] struct {
	s    Store
	kind string
}

// NewTable returns the table of kind in s.
func NewTable[T any](s Store, kind string) Table[T] { return Table[T]{s: s, kind: kind} }

// Kind returns the table's kind.
func (t Table[T]) Kind() string { return t.kind }

// Get loads one object.
func (t Table[T]) Get(ctx context.Context, id string) (T, error) {
	var v T
	doc, err := t.s.Get(ctx, t.kind, id)
	if err != nil {
		return v, err
	}
	if err := json.Unmarshal(doc, &v); err != nil {
		return v, fmt.Errorf("decode %s %q: %w", t.kind, id, err)
	}
	return v, nil
}

// Lookup loads the object that claimed a unique key.
func (t Table[T]) Lookup(ctx context.Context, key string) (T, error) {
	id, err := t.s.Lookup(ctx, t.kind, key)
	if err != nil {
		var zero T
		return zero, err
	}
	return t.Get(ctx, id)
}

// LookupID resolves a unique key to an id.
func (t Table[T]) LookupID(ctx context.Context, key string) (string, error) {
	return t.s.Lookup(ctx, t.kind, key)
}

// Create stores a new object and claims its unique keys.
func (t Table[T]) Create(ctx context.Context, id string, v T, unique ...string) error {
	doc, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %s %q: %w", t.kind, id, err)
	}
	return t.s.Create(ctx, t.kind, id, doc, unique...)
}

// Update changes one object under its lock: fn gets the current value and
// changes it in place; if fn returns an error nothing is stored. Update returns
// the value as stored (or as it was, on error).
func (t Table[T]) Update(ctx context.Context, id string, fn func(*T) error) (T, error) {
	var out T
	err := t.s.Update(ctx, t.kind, id, func(cur []byte) ([]byte, error) {
		var v T
		if err := json.Unmarshal(cur, &v); err != nil {
			return nil, fmt.Errorf("decode %s %q: %w", t.kind, id, err)
		}
		if err := fn(&v); err != nil {
			if e := json.Unmarshal(cur, &out); e != nil {
				return nil, e
			}
			return nil, err
		}
		doc, err := json.Marshal(v)
		if err != nil {
			return nil, fmt.Errorf("encode %s %q: %w", t.kind, id, err)
		}
		out = v
		return doc, nil
	})
	return out, err
}

// Claim adds unique keys to an existing object.
func (t Table[T]) Claim(ctx context.Context, id string, unique ...string) error {
	return t.s.Claim(ctx, t.kind, id, unique...)
}

// List returns the objects for which keep returns true (all when keep is
// nil), in creation order.
func (t Table[T]) List(ctx context.Context, keep func(*T) bool) ([]T, error) {
	var out []T
	var decodeErr error
	err := t.s.List(ctx, t.kind, func(id string, doc []byte) bool {
		var v T
		if err := json.Unmarshal(doc, &v); err != nil {
			decodeErr = fmt.Errorf("decode %s %q: %w", t.kind, id, err)
			return false
		}
		if keep == nil || keep(&v) {
			out = append(out, v)
		}
		return true
	})
	if err != nil {
		return nil, err
	}
	return out, decodeErr
}
