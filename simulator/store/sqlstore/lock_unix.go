//go:build unix

package sqlstore

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// lockFile takes an exclusive flock(2) on path for as long as the process
// uses it, or fails at once when another holder has it: a SQLite file
// belongs to one pspsim process (its objects' locks live in that process;
// see Store.Update). flock does not interact with the POSIX locks SQLite
// itself takes on the file.
func lockFile(path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("store: %s: %w", path, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("store: sqlite:%s is in use by another pspsim: a SQLite file serves one process (use postgres:// for replicas)", path)
		}
		return nil, fmt.Errorf("store: lock %s: %w", path, err)
	}
	return func() {
		syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}
