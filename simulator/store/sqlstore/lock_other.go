//go:build !unix

package sqlstore

// lockFile is a no-op where flock(2) is missing: there, make sure yourself
// that one process at a time uses a SQLite file.
func lockFile(string) (func(), error) { return func() {}, nil }
