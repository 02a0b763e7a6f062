//go:build !linux

// Package threadcpu reads the CPU time of the calling thread, for
// benchmarks that compare two handlers on a busy machine (Linux only).
package threadcpu

import "time"

// Now is not measured off Linux: it returns false, and benchmarks report
// wall time only.
func Now() (time.Duration, bool) { return 0, false }
