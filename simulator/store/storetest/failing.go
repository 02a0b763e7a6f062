package storetest

import (
	"context"
	"errors"
	"sync"

	"github.com/pspsim/pspsim/simulator/store"
)

// The operations Failing can fail.
const (
	OpGet    = "get"
	OpCreate = "create"
	OpUpdate = "update"
	OpClaim  = "claim"
	OpLookup = "lookup"
	OpList   = "list"
)

// ErrRefused is what a Failing store answers: the error of a PostgreSQL that
// refuses connections, with the password of a database URL in it, so that a
// test can check that no answer repeats it.
var ErrRefused = errors.New("pq: sorry, too many clients already (postgres://pspsim:hunter2@db:5432/pspsim)")

// Failing is a store.Store that answers ErrRefused — neither ErrNotFound nor
// ErrExists — to the operations it was told to fail, and passes the others
// to the store it wraps: the double of a database that stops answering in
// the middle of a test. It fails nothing until Fail is called.
type Failing struct {
	store.Store
	mu    sync.Mutex
	ops   map[string]bool
	kinds map[string]bool // nil: every kind
	all   bool
	hits  int
	left  int // FailTimes: failures left before healing (0: no limit)
}

// NewFailing wraps s.
func NewFailing(s store.Store) *Failing { return &Failing{Store: s} }

// Fail makes the operations ops fail from now on (no ops: every operation,
// Reset included).
func (f *Failing) Fail(ops ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.all = len(ops) == 0
	f.left = 0
	f.ops = map[string]bool{}
	for _, op := range ops {
		f.ops[op] = true
	}
}

// OnlyKinds narrows what Fail fails to the documents of kinds (none: every
// kind again) — a lookup of one table failing while the others answer,
// such as an order that cannot be read with a valid access token.
func (f *Failing) OnlyKinds(kinds ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.kinds = nil
	if len(kinds) > 0 {
		f.kinds = map[string]bool{}
		for _, k := range kinds {
			f.kinds[k] = true
		}
	}
}

// FailTimes is Fail for the next n failures only: then every operation
// passes again — a database that refuses a few connections and recovers.
func (f *Failing) FailTimes(n int, ops ...string) {
	f.Fail(ops...)
	f.mu.Lock()
	f.left = n
	f.mu.Unlock()
}

// Heal makes every operation pass again (and forgets OnlyKinds).
func (f *Failing) Heal() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.all, f.ops, f.kinds, f.left = false, nil, nil, 0
}

// Hits counts the operations failed so far: a test that expects a failure
// checks that the store was indeed asked.
func (f *Failing) Hits() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.hits
}

func (f *Failing) fails(op, kind string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if (f.all || f.ops[op]) && (f.kinds == nil || f.kinds[kind]) {
		f.hits++
		if f.left > 0 {
			if f.left--; f.left == 0 {
				f.all, f.ops, f.kinds = false, nil, nil
			}
		}
		return ErrRefused
	}
	return nil
}

// Get implements store.Store.
func (f *Failing) Get(ctx context.Context, kind, id string) ([]byte, error) {
	if err := f.fails(OpGet, kind); err != nil {
		return nil, err
	}
	return f.Store.Get(ctx, kind, id)
}

// Create implements store.Store.
func (f *Failing) Create(ctx context.Context, kind, id string, doc []byte, unique ...string) error {
	if err := f.fails(OpCreate, kind); err != nil {
		return err
	}
	return f.Store.Create(ctx, kind, id, doc, unique...)
}

// Update implements store.Store.
func (f *Failing) Update(ctx context.Context, kind, id string, fn func(cur []byte) ([]byte, error)) error {
	if err := f.fails(OpUpdate, kind); err != nil {
		return err
	}
	return f.Store.Update(ctx, kind, id, fn)
}

// Claim implements store.Store.
func (f *Failing) Claim(ctx context.Context, kind, id string, unique ...string) error {
	if err := f.fails(OpClaim, kind); err != nil {
		return err
	}
	return f.Store.Claim(ctx, kind, id, unique...)
}

// Lookup implements store.Store.
func (f *Failing) Lookup(ctx context.Context, kind, key string) (string, error) {
	if err := f.fails(OpLookup, kind); err != nil {
		return "", err
	}
	return f.Store.Lookup(ctx, kind, key)
}

// List implements store.Store.
func (f *Failing) List(ctx context.Context, kind string, fn func(id string, doc []byte) bool) error {
	if err := f.fails(OpList, kind); err != nil {
		return err
	}
	return f.Store.List(ctx, kind, fn)
}

// Reset implements store.Store: it fails only when every operation does.
func (f *Failing) Reset(ctx context.Context) error {
	f.mu.Lock()
	all := f.all
	f.mu.Unlock()
	if all {
		return ErrRefused
	}
	return f.Store.Reset(ctx)
}
