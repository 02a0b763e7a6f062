//go:build race

package mac

// raceOn: the race detector drops a quarter of what goes into a sync.Pool,
// so allocation counts that rely on one do not hold.
const raceOn = true
