package main

// The garbage collector of `pspsim serve`. A card payment allocates ~47 KB
// that is garbage at once, so at Go's default target (GOGC=100: collect
// when the heap has doubled since the last collection) the collector is a
// fifth of the server's CPU (issue #11). A higher target cuts that by a
// quarter of a payment's CPU, but serve's soft memory limit is sized for
// every namespace it may hold (32 by default: 1.7 GB), so under load a
// single sandbox's heap then grows to five times its live data instead of
// twice (1.1 GB of RSS instead of 0.5 GB in one run). serve therefore keeps
// Go's target unless told otherwise, and --gc-percent (or server.gcPercent,
// or GOGC) trades memory for CPU where memory is to spare; measured in
// docs/PERFORMANCE.md, "The collector" (BenchmarkCollector, the soak).

// gcTarget returns the GOGC serve runs with, and whether it must set it:
// --gc-percent or the config's server.gcPercent when given (over GOGC);
// otherwise nothing — the runtime has applied GOGC from the environment,
// or its default. A negative value turns the target off, leaving the
// memory limit alone to trigger collections.
func (s serverSettings) gcTarget() (percent int, set bool) {
	if s.GCPercent != nil {
		return max(*s.GCPercent, -1), true
	}
	return 0, false
}
