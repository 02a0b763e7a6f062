package store

import (
	"context"
	"time"
)

// Scope is what a Backend needs to make one simulator's store: whose rows
// (the namespace), the clock that ages them and the retention that bounds
// them.
type Scope struct {
	// Namespace keys every row of a durable store, so that one database
	// serves many namespaces (and many replicas of each).
	Namespace string
	// Now is the clock of ages (the simulator's clock); nil: never evict by
	// age.
	Now func() time.Time
	// Retention bounds the kinds whose table allows eviction.
	Retention Retention
}

// Backend makes stores: the process chooses one (`pspsim serve --store`)
// and every namespace gets its own store from it.
type Backend interface {
	// Store returns the store of one scope. Closing the backend closes it.
	Store(ctx context.Context, sc Scope) (Store, error)
	// Name says what the backend is ("memory", "sqlite", "postgres"), for
	// logs and /_sim/health.
	Name() string
}

// MemoryBackend makes a Memory store per scope: the default, and the
// fastest, since nothing leaves the process.
type MemoryBackend struct{}

// Store implements Backend.
func (MemoryBackend) Store(_ context.Context, sc Scope) (Store, error) {
	return NewMemoryWith(MemoryOptions{Now: sc.Now, Retention: sc.Retention}), nil
}

// Name implements Backend.
func (MemoryBackend) Name() string { return "memory" }

// KindConfig is what a Table tells a store that is not the memory store
// about its kind, so that the store can apply retention to documents it
// cannot read by itself.
type KindConfig struct {
	// Decode turns a document into the table's value (a *T).
	Decode func(doc []byte) (any, error)
	// Evictable says whether the decoded value may go (nil: never evicted).
	Evictable func(v any, peek Peek) bool
	// Indexes are the table's secondary indexes (store.Index), sorted by
	// name: a store that keeps them answers Find without reading the kind.
	Indexes []KindIndex
}

// KindIndex is one secondary index of a kind.
type KindIndex struct {
	Name string
	// Key is the decoded value's key in the index ("": not indexed).
	Key func(v any) string
}

// Finder is implemented by stores that keep the tables' secondary indexes
// (KindConfig.Indexes) themselves.
type Finder interface {
	// Find calls fn on the documents whose key in index is key, in creation
	// order, until fn returns false. ok is false when the store keeps no
	// such index (the table then lists the kind). fn must not call back
	// into the store.
	Find(ctx context.Context, kind, index, key string, fn func(id string, doc []byte) bool) (ok bool, err error)
}

// Configurable is implemented by stores that take KindConfig from their
// tables (the durable stores, for retention).
type Configurable interface {
	ConfigureKind(kind string, cfg KindConfig)
}
