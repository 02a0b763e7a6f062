//go:build !linux

package simulator_test

import "time"

// threadCPU is not measured off Linux: versus then reports wall time only.
func threadCPU() (time.Duration, bool) { return 0, false }
