package store

import (
	"context"
	"errors"
	"time"
)

// retryWaits are Retry's pauses between attempts: about 1.3 s in all, long
// enough for a PostgreSQL that refused a connection ("too many clients") to
// free one, short enough for a request handler to wait through.
var retryWaits = [...]time.Duration{50 * time.Millisecond, 250 * time.Millisecond, time.Second}

// Retry runs fn, and again after a pause while it fails with ErrUnavailable
// (the store did not answer), at most four times in all or until ctx ends.
// It returns fn's last error.
//
// It is for work that has no client to answer 503 to — a 3-D Secure result
// reaching its order, a status change's webhook targets — and would
// otherwise be lost to one refused connection. Answers (ErrNotFound,
// ErrExists) and the callback's own errors are returned at once. The pauses
// are real time, not the simulator's clock: they wait for a database, not
// for anything the simulated world does.
func Retry(ctx context.Context, fn func() error) error {
	err := fn()
	for _, w := range retryWaits {
		if err == nil || !errors.Is(err, ErrUnavailable) {
			return err
		}
		t := time.NewTimer(w)
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
		err = fn()
	}
	return err
}
