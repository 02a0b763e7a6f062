package jobs

import (
	"context"
	"time"
)

// Row is a job as a durable Table keeps it: the job, the replica that owns
// it and until when (a lease on the wall clock), and a version that every
// write moves, so that two replicas racing for one row are decided by a
// compare-and-swap rather than by a lock held while the job runs.
type Row struct {
	Job
	// Owner is the replica id that runs the job (its local timer).
	Owner string
	// Version moves on every write of the row (upsert, claim, takeover).
	Version int64
	// Running says the row is claimed (or kept by work in flight): no clock
	// mover runs it; only the expiry of its lease gives it to another
	// replica.
	Running bool
}

// Table is the SQL half of the Durable scheduler: the rows of one
// namespace. Leases are wall-clock times, because a lease is about whether
// a process is alive, not about the namespace's (possibly simulated) time;
// due times are on the namespace's clock. The scheduling rules live in
// Durable; an implementation only reads and writes rows (package sqlstore).
type Table interface {
	// Upsert writes j owned by owner until leaseUntil, replacing any row of
	// its kind and key, running or not as told, and returns its version.
	Upsert(ctx context.Context, j Job, owner string, leaseUntil time.Time, running bool) (version int64, err error)
	// Claim marks the row of kind and key running for owner if its version
	// is still version; ok false when another write got there first (it
	// was claimed, taken over, replaced or cancelled).
	Claim(ctx context.Context, kind, key string, version int64, owner string, leaseUntil time.Time) (newVersion int64, ok bool, err error)
	// DeleteVersion deletes the row if its version is still version (a
	// handler that scheduled the same key again leaves its new row).
	DeleteVersion(ctx context.Context, kind, key string, version int64) error
	// Delete deletes the row of kind and key whatever its version (cancel).
	Delete(ctx context.Context, kind, key string) error
	// Renew extends to leaseUntil the lease of every row owner holds.
	Renew(ctx context.Context, owner string, leaseUntil time.Time) error
	// TakeOver gives owner, until leaseUntil, at most limit rows whose lease
	// ended before now (a dead replica's), in due order, no longer running
	// and with new versions, and returns them. Concurrent takers never get
	// the same row. A zero now takes every row, whatever its lease: a
	// process that alone uses its database (SQLite) starting up.
	TakeOver(ctx context.Context, owner string, now, leaseUntil time.Time, limit int) ([]Row, error)
	// Due returns at most limit rows due by t that are not running, in due
	// order, whoever owns them.
	Due(ctx context.Context, t time.Time, limit int) ([]Row, error)
	// Get returns the row of kind and key (ok false: none).
	Get(ctx context.Context, kind, key string) (r Row, ok bool, err error)
	// Count returns how many rows the namespace holds.
	Count(ctx context.Context) (int, error)
	// Mentions reports whether a row of kind, whoever owns it, holds
	// needle in its payload (the retention asks whether any replica has a
	// delivery pending about an object).
	Mentions(ctx context.Context, kind string, needle []byte) (bool, error)
	// DeleteAll empties the namespace (a reset, a deleted namespace).
	DeleteAll(ctx context.Context) error
}

// Backend is implemented by store backends that keep jobs (the durable
// ones): the simulator schedules on a Durable over its namespace's table,
// and on a Memory scheduler otherwise.
type Backend interface {
	JobTable(namespace string) Table
}
