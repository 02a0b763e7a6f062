package simtest

import (
	"context"
	"testing"

	"github.com/pspsim/pspsim/simulator"
	"github.com/pspsim/pspsim/simulator/store/sqlstore"
)

// OpenDB opens the durable store a --store URL names (sqlite:PATH,
// postgres://…) for a test; the test's end closes it. A test that closes it
// earlier — to reopen the same database as the next process would — may:
// closing twice is harmless.
func OpenDB(t testing.TB, url string) *sqlstore.DB {
	t.Helper()
	db, err := sqlstore.Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// OnBackend runs the simulator on db (each namespace a store of it).
func OnBackend(db *sqlstore.DB) Option {
	return func(o *simulator.Options) { o.Backend = db }
}
