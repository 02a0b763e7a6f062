//go:build unix

package sqlstore

import (
	"fmt"
	"os"
	"syscall"
)

// lockFile holds an exclusive flock(2) on path until the returned function
// runs: SQLite processes opening one file together migrate it one at a time
// (goose has no session lock for SQLite). flock does not interact with the
// POSIX locks SQLite itself takes on the file.
func lockFile(path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("store: %s: %w", path, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("store: lock %s: %w", path, err)
	}
	return func() {
		syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}
