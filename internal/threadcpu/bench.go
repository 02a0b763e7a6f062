package threadcpu

import (
	"runtime"
	"testing"
)

// Loop runs op b.N times (b.Loop) on a thread of its own and reports, with
// the allocations, the thread's CPU time per op as cpu-ns/op (where Now can
// read it): on a busy machine the wall time of a benchmark measures the
// other work too, the thread's CPU time much less so.
func Loop(b *testing.B, op func()) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	b.ReportAllocs()
	c0, cpuOK := Now()
	n := 0
	for b.Loop() {
		op()
		n++
	}
	if c1, _ := Now(); cpuOK && n > 0 {
		b.ReportMetric(float64(c1-c0)/float64(n), "cpu-ns/op")
	}
}
