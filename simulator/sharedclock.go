package simulator

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/pspsim/pspsim/simulator/clock"
	"github.com/pspsim/pspsim/simulator/store"
)

// sharedClock keeps a durable namespace's simulated clock in its store: its
// now is a counter of Unix nanoseconds, so that a restart resumes it and
// replicas share it. A move (POST /_sim/clock/advance or /set) adds its
// span to the counter in the database — two replicas advancing by an hour
// each at once make two hours, as two advances in one process do — and
// catches up with what the counter says; before each request a replica
// reads the counter and catches up with a move another made (firing its own
// timers that fell due, as the move would have here). The memory backend
// has none of this: its clock is the process's.
type sharedClock struct {
	st  store.State
	sim *clock.Sim
	log *slog.Logger
}

const (
	// clockInit is the document whose insertion elects the replica that
	// starts the counter (the others wait for it to be non-zero).
	clockInit = "clock"
	// clockNow is the counter: the simulated now in Unix nanoseconds.
	clockNow = "clock/now"
)

// startSharedClock resumes the stored time, or stores the clock's, and
// follows every move.
func startSharedClock(ctx context.Context, st store.State, sim *clock.Sim, log *slog.Logger) (*sharedClock, error) {
	c := &sharedClock{st: st, sim: sim, log: log}
	n, err := st.Counter(ctx, clockNow)
	if err != nil {
		return nil, err
	}
	if n != 0 {
		if err := sim.Restore(time.Unix(0, n).UTC()); err != nil {
			return nil, err
		}
	} else if err := c.init(ctx); err != nil {
		return nil, err
	}
	sim.OnMove(c.moved)
	return c, nil
}

// init stores the clock's now if no replica has (a new namespace, or one
// just reset: a reset empties the namespace's state but does not move the
// clock).
func (c *sharedClock) init(ctx context.Context) error {
	won, err := c.st.Insert(ctx, clockInit, []byte(`{}`))
	if err != nil || !won {
		return err
	}
	_, err = c.st.Add(ctx, clockNow, c.sim.Now().UnixNano())
	return err
}

// moved shares a move made here and returns the time the namespace has
// reached (later than to when another replica moved it meanwhile).
func (c *sharedClock) moved(from, to time.Time) time.Time {
	n, err := c.st.Add(context.Background(), clockNow, to.Sub(from).Nanoseconds())
	if err != nil {
		c.log.Error("clock move not stored: other replicas and a restart will not see it", "err", err)
		return to
	}
	return time.Unix(0, n).UTC()
}

// sync catches up with the namespace's time as stored.
func (c *sharedClock) sync(ctx context.Context) error {
	n, err := c.st.Counter(ctx, clockNow)
	if err != nil {
		return fmt.Errorf("clock: %w", err)
	}
	if n != 0 {
		c.sim.SyncTo(time.Unix(0, n).UTC())
	}
	return nil
}
