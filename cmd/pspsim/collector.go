package main

// The garbage collector of `pspsim serve`. A card payment allocates ~47 KB
// that is garbage at once, so at Go's default target (GOGC=100: collect
// when the heap has doubled since the last collection) the collector was a
// fifth of the server's CPU (issue #11). serve runs with a higher target
// under the soft memory limit it sets anyway from the retention limits
// (simulator.Retention.MemoryLimit, 400 MB by default): a small sandbox's
// heap grows to five times its live data instead of twice before a
// collection, and a large one collects as the limit nears, as before — the
// limit, not GOGC, bounds memory. Measured in docs/PERFORMANCE.md, "The
// collector" (BenchmarkCollector, the soak).

// defaultGCPercent is serve's GOGC when neither --gc-percent, the config's
// server.gcPercent nor the GOGC environment variable says otherwise.
const defaultGCPercent = 400

// gcTarget returns the GOGC serve runs with, and whether it must set it:
// --gc-percent or server.gcPercent when given; else nothing when the
// environment sets GOGC (the runtime has applied it); else
// defaultGCPercent. A negative value turns the collector's target off,
// leaving the memory limit alone to trigger collections.
func (s serverSettings) gcTarget(getenv func(string) string) (percent int, set bool) {
	if s.GCPercent != nil {
		return max(*s.GCPercent, -1), true
	}
	if getenv("GOGC") != "" {
		return 0, false
	}
	return defaultGCPercent, true
}
