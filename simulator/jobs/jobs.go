// Package jobs runs what a simulated system does later on its own — expire a
// payment, settle a refund, send a delivery's next attempt — as data rather
// than as a closure. A Job names a registered handler (Kind), the object and
// step it is for (Key) and when it falls due on the namespace's clock, with
// whatever else the handler needs (Payload).
//
// Because a job is data, a durable backend can keep it in the database: it
// survives a restart and, across replicas, is run by one of them only. The
// memory Scheduler runs it on a clock timer, as fast as the closure it
// replaces, and is what tests and `--store memory` use.
//
// A handler re-reads the object its job is about (under the object's lock)
// and does nothing when the object has moved on: a job may fire after a
// final result, after a reset of another replica, or twice after a crash
// between running and forgetting it.
package jobs

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Job is one pending step.
type Job struct {
	// Kind names the handler: "<system>.<object>.<step>", e.g.
	// "vmgateway.payment.expire". Handlers are registered with Handle.
	Kind string
	// Key identifies the object and step within Kind ("T1234", or
	// "T1234/2" when one object has several jobs of a kind). A Kind and
	// Key pair is unique: scheduling it again replaces the pending one.
	Key string
	// Due is when the job runs, on the simulator's clock (simulated or
	// real). A job due in the past runs at once (on the simulated clock:
	// at its next move).
	Due time.Time
	// Payload is what the handler needs beyond Key (JSON by convention);
	// nil when Key says it all. It is stored as is by durable backends.
	Payload []byte
}

// Handler runs a due job. It must not block for long: on the simulated
// clock it runs inside the request that moves the clock. Errors are the
// handler's to journal or log — a job that cannot run is not retried by the
// scheduler.
type Handler func(ctx context.Context, j Job)

// Scheduler keeps the pending jobs of one namespace.
type Scheduler interface {
	// Handle registers the handler of kind. Systems call it while they are
	// built, before any job of the kind is scheduled or resumed.
	Handle(kind string, h Handler)
	// Schedule adds j, replacing any pending job with the same Kind and
	// Key. A kind without a handler is an error (ErrNoHandler).
	Schedule(ctx context.Context, j Job) error
	// Cancel forgets the pending job of kind and key, if any.
	Cancel(ctx context.Context, kind, key string) error
	// Pending reports whether a job of kind and key waits to run.
	Pending(kind, key string) bool
	// Len reports how many jobs wait to run.
	Len() int
	// Reset forgets every pending job (a simulator reset, inside the gate).
	Reset(ctx context.Context) error
}

// ErrNoHandler is returned when a job's kind has no registered handler.
var ErrNoHandler = errors.New("jobs: no handler registered for the kind")

// check validates a job before it is scheduled.
func check(j Job) error {
	if j.Kind == "" || j.Key == "" {
		return fmt.Errorf("jobs: a job needs a kind and a key (kind %q, key %q)", j.Kind, j.Key)
	}
	if j.Due.IsZero() {
		return fmt.Errorf("jobs: %s %s: no due time", j.Kind, j.Key)
	}
	return nil
}
