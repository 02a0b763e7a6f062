// Package threadcpu reads the CPU time of the calling thread, for
// benchmarks that compare two handlers on a busy machine: with the
// goroutine locked to its thread (runtime.LockOSThread), it is the work
// done in that goroutine, where wall time also counts the time the thread
// waited for a core.
package threadcpu

import (
	"syscall"
	"time"
	"unsafe"
)

// Now returns the CPU time the calling thread has used
// (CLOCK_THREAD_CPUTIME_ID), and false where it cannot be read.
func Now() (time.Duration, bool) {
	const clockThreadCPUTime = 3
	var ts syscall.Timespec
	if _, _, errno := syscall.Syscall(syscall.SYS_CLOCK_GETTIME, clockThreadCPUTime, uintptr(unsafe.Pointer(&ts)), 0); errno != 0 {
		return 0, false
	}
	return time.Duration(ts.Nano()), true
}
