package threadcpu

import (
	"runtime"
	"testing"
	"time"
)

// TestNowCountsTheThreadsWork: on Linux, a busy loop of the calling thread
// shows in its CPU time, and sleeping does not.
func TestNowCountsTheThreadsWork(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	c0, ok := Now()
	if !ok {
		if runtime.GOOS == "linux" {
			t.Fatal("the thread's CPU time cannot be read on Linux")
		}
		t.Skip("no thread CPU time off Linux")
	}
	// Busy until the thread has used 10 ms, however busy the machine (a
	// few seconds at most).
	var c1 time.Duration
	for start := time.Now(); c1-c0 < 10*time.Millisecond; c1, _ = Now() {
		if time.Since(start) > 10*time.Second {
			t.Fatalf("10 s of busy loop counted %v of the thread's CPU", c1-c0)
		}
	}
	wall := time.Now()
	time.Sleep(50 * time.Millisecond)
	c2, _ := Now()
	if slept := c2 - c1; slept > 20*time.Millisecond && slept > time.Since(wall)/2 {
		t.Errorf("a sleep of %v counted %v of the thread's CPU", time.Since(wall), slept)
	}
}

// TestLoopReportsTheThreadsCPUPerOp: Loop runs op once per iteration and
// reports the CPU time it took per op, where the clock can be read.
func TestLoopReportsTheThreadsCPUPerOp(t *testing.T) {
	calls := 0
	r := testing.Benchmark(func(b *testing.B) {
		Loop(b, func() {
			calls++
			for i := range 20000 {
				runtime.KeepAlive(i)
			}
		})
	})
	if r.N == 0 || calls < r.N {
		t.Fatalf("op ran %d times for N=%d", calls, r.N)
	}
	cpu, ok := r.Extra["cpu-ns/op"]
	if _, can := Now(); !can {
		if ok {
			t.Fatalf("cpu-ns/op reported without a clock: %v", cpu)
		}
		t.Skip("no thread CPU time here")
	}
	if !ok || cpu <= 0 {
		t.Fatalf("cpu-ns/op = %v, %v; want a positive figure", cpu, ok)
	}
}
