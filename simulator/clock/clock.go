// Package clock gives every part of pspsim its sense of time.
//
// Domain code never calls time.Now: expiries, token lifetimes, retry schedules,
// reconciliation and batch cut-offs all read a Clock, so that a test (or a QA
// engineer with `--clock=sim`) can move time by hours in milliseconds. Two
// implementations exist: Real, backed by the wall clock and time.AfterFunc, and
// Sim, which moves only when Advance is called and then fires every timer that
// falls due, in order, before Advance returns.
package clock

import "time"

// Clock is the source of time and of timers.
type Clock interface {
	// Now returns the current time.
	Now() time.Time
	// AfterFunc calls f once d has passed on this clock. On Real, f runs in its
	// own goroutine; on Sim, f runs inside Advance, in due order.
	AfterFunc(d time.Duration, f func()) Timer
	// Mode is "real" or "sim".
	Mode() string
}

// Timer is a pending AfterFunc call.
type Timer interface {
	// Stop prevents the call if it has not run yet, reporting whether it did so.
	Stop() bool
}

// Real is the wall clock.
type Real struct{}

// NewReal returns the wall clock.
func NewReal() Real { return Real{} }

// Now returns time.Now().
func (Real) Now() time.Time { return time.Now() }

// AfterFunc wraps time.AfterFunc.
func (Real) AfterFunc(d time.Duration, f func()) Timer { return time.AfterFunc(d, f) }

// Mode returns "real".
func (Real) Mode() string { return "real" }
