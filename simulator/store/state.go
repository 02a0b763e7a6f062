package store

import "context"

// State keeps a namespace's own small state besides its objects — the fault
// rules in force and their counters, the canaries — where every replica of
// the namespace sees it. Documents are whole and versioned (a replica
// reloads one when its version moves); counters are added to atomically in
// the database, so that a rule that fires on the first call fires once
// across replicas.
type State interface {
	// Load returns a document and its version; a missing one is ErrNotFound.
	Load(ctx context.Context, name string) (doc []byte, version int64, err error)
	// Save replaces a document and returns its new version.
	Save(ctx context.Context, name string, doc []byte) (version int64, err error)
	// SaveIf replaces a document only if its version is still version (0:
	// only if it is missing) — a compare-and-swap: ok is false, and nothing
	// changes, when another writer saved it since that version was read.
	SaveIf(ctx context.Context, name string, doc []byte, version int64) (newVersion int64, ok bool, err error)
	// Insert saves a document only if it is missing: ok is false (and
	// nothing changes) when another writer saved it first.
	Insert(ctx context.Context, name string, doc []byte) (ok bool, err error)
	// Delete removes a document (missing: nothing to do).
	Delete(ctx context.Context, name string) error
	// List returns the documents whose names start with prefix.
	List(ctx context.Context, prefix string) (map[string][]byte, error)
	// Version returns a document's version (0: missing).
	Version(ctx context.Context, name string) (int64, error)
	// Add adds delta to a counter (created at 0) and returns its new value.
	Add(ctx context.Context, counter string, delta int64) (int64, error)
	// Counter returns one counter (0: never added to).
	Counter(ctx context.Context, name string) (int64, error)
	// Counters returns the counters whose names start with prefix.
	Counters(ctx context.Context, prefix string) (map[string]int64, error)
	// DeleteCounters forgets the counters whose names start with prefix.
	DeleteCounters(ctx context.Context, prefix string) error
}

// StateBackend is implemented by the backends that keep State (the durable
// ones); with the memory backend the state stays in each component's own
// memory, as fast as before.
type StateBackend interface {
	State(ctx context.Context, namespace string) (State, error)
}
