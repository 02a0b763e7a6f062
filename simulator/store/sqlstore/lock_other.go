//go:build !unix

package sqlstore

// lockFile is a no-op where flock(2) is missing: start one process per
// SQLite file at a time there.
func lockFile(string) (func(), error) { return func() {}, nil }
