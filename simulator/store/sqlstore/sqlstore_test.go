package sqlstore_test

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/pspsim/pspsim/simulator/store"
	"github.com/pspsim/pspsim/simulator/store/sqlstore"
	"github.com/pspsim/pspsim/simulator/store/sqlstore/pgtest"
	"github.com/pspsim/pspsim/simulator/store/storetest"
)

var ctx = context.Background()

func open(t testing.TB, url string) *sqlstore.DB {
	t.Helper()
	db, err := sqlstore.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func opener(db *sqlstore.DB) storetest.Opener {
	return func(t *testing.T, sc store.Scope) store.Store { return db.Namespace(sc) }
}

// TestSQLiteBehaviour runs the behaviour every store shares on SQLite: one
// file for the whole table, each case in namespaces of its own.
func TestSQLiteBehaviour(t *testing.T) {
	storetest.Run(t, opener(open(t, "sqlite:"+filepath.Join(t.TempDir(), "state.db"))))
}

// TestPostgresBehaviour runs it on PostgreSQL, in a database of its own.
func TestPostgresBehaviour(t *testing.T) {
	storetest.Run(t, opener(open(t, pgtest.URL(t))))
}

func TestMigrationsApplyOnceAndReopen(t *testing.T) {
	for _, tc := range pgtest.Stores() {
		t.Run(tc.Name, func(t *testing.T) {
			url := tc.URL(t)
			// Two processes starting together: both migrate, one applies —
			// except that a SQLite file serves one process: the second is
			// refused, saying why.
			var wg sync.WaitGroup
			dbs := make([]*sqlstore.DB, 2)
			errs := make([]error, 2)
			for i := range dbs {
				wg.Go(func() { dbs[i], errs[i] = sqlstore.Open(ctx, url) })
			}
			wg.Wait()
			var opened []*sqlstore.DB
			for i, err := range errs {
				switch {
				case err == nil:
					opened = append(opened, dbs[i])
				case tc.Name == "sqlite" && strings.Contains(err.Error(), "in use by another pspsim"):
				default:
					t.Fatalf("open %d: %v", i, err)
				}
			}
			if want := map[string]int{"sqlite": 1, "postgres": 2}[tc.Name]; len(opened) != want {
				t.Fatalf("%d of two opens at once succeeded, want %d", len(opened), want)
			}
			s := opened[0].Namespace(store.Scope{Namespace: "default"})
			if err := s.Create(ctx, "order", "o1", []byte(`{"id":"o1"}`)); err != nil {
				t.Fatal(err)
			}
			for _, db := range opened {
				db.Close()
			}
			again := open(t, url)
			v, err := again.Version(ctx)
			if want := newestMigration(t, tc.Name); err != nil || v != want {
				t.Fatalf("schema version %d, %v; want %d (the newest migration)", v, err, want)
			}
			if _, err := again.Namespace(store.Scope{Namespace: "default"}).Get(ctx, "order", "o1"); err != nil {
				t.Fatalf("reopened, the object is gone: %v", err)
			}
		})
	}
}

func TestOpenRefusesWhatItCannotServe(t *testing.T) {
	for _, url := range []string{"mysql://x", "sqlite:", "sqlite:/tmp/a.db?x=1", "redis://localhost"} {
		if _, err := sqlstore.Open(ctx, url); err == nil {
			t.Errorf("Open(%q) succeeded", url)
		}
	}
}

func TestRedactHidesThePassword(t *testing.T) {
	got := sqlstore.Redact("postgres://pspsim:s3cret@db:5432/pspsim?sslmode=disable")
	if got != "postgres://pspsim:xxxxx@db:5432/pspsim?sslmode=disable" {
		t.Fatalf("Redact = %q", got)
	}
}

// TestTwoHandlesContendForOneObject is two replicas: two DB handles (two
// connection pools, as two processes have) on one PostgreSQL database,
// incrementing one object at once. SELECT … FOR UPDATE serialises them on
// the row: every increment is there.
func TestTwoHandlesContendForOneObject(t *testing.T) {
	url := pgtest.URL(t)
	a, b := open(t, url), open(t, url)
	sc := store.Scope{Namespace: "default"}
	type counter struct {
		N int `json:"n"`
	}
	ta, tb := store.NewTable[counter](a.Namespace(sc), "counter"), store.NewTable[counter](b.Namespace(sc), "counter")
	if err := ta.Create(ctx, "c", counter{}); err != nil {
		t.Fatal(err)
	}
	const each = 100
	var wg sync.WaitGroup
	var fails atomic.Int32
	for i := range 8 {
		tbl := []store.Table[counter]{ta, tb}[i%2]
		wg.Go(func() {
			for range each {
				if _, err := tbl.Update(ctx, "c", func(c *counter) error { c.N++; return nil }); err != nil {
					fails.Add(1)
				}
			}
		})
	}
	wg.Wait()
	got, err := tb.Get(ctx, "c")
	if err != nil || fails.Load() != 0 || got.N != 8*each {
		t.Fatalf("counter %d (%d failed updates, %v); want %d: an update was lost", got.N, fails.Load(), err, 8*each)
	}
	// And one unique key taken from both handles at once has one owner.
	var won atomic.Int32
	for i := range 20 {
		s := []*sqlstore.DB{a, b}[i%2].Namespace(sc)
		wg.Go(func() {
			if err := s.Create(ctx, "refund", "r"+string(rune('a'+i)), []byte(`{}`), "payment/1/refund/R1"); err == nil {
				won.Add(1)
			}
		})
	}
	wg.Wait()
	if won.Load() != 1 {
		t.Fatalf("%d creates won one key across two handles", won.Load())
	}
}

// TestIndexDeclaredLaterIsBuilt: objects written by a table without an
// index are found once a newer table declares it (the index is built from
// the documents on first use, once per namespace).
func TestIndexDeclaredLaterIsBuilt(t *testing.T) {
	db := open(t, "sqlite:"+filepath.Join(t.TempDir(), "state.db"))
	type order struct {
		ID, Shop string
	}
	sc := store.Scope{Namespace: "default"}
	before := store.NewTable[order](db.Namespace(sc), "order")
	for i, shop := range []string{"s1", "s2", "s1"} {
		id := string(rune('a' + i))
		if err := before.Create(ctx, id, order{ID: id, Shop: shop}); err != nil {
			t.Fatal(err)
		}
	}
	after := store.NewTable(db.Namespace(sc), "order", store.Index("shop", func(o *order) string { return o.Shop }))
	list, err := after.Find(ctx, "shop", "s1", nil)
	if err != nil || len(list) != 2 || list[0].ID != "a" || list[1].ID != "c" {
		t.Fatalf("Find = %+v, %v; want a and c", list, err)
	}
	var n int
	if err := db.SQL().QueryRow(`SELECT COUNT(*) FROM index_entries WHERE kind = 'order'`).Scan(&n); err != nil || n != 3 {
		t.Fatalf("%d index entries (%v), want 3", n, err)
	}
}

// newestMigration is the number of the dialect's newest migration file.
func newestMigration(t *testing.T, dialect string) int64 {
	t.Helper()
	files, err := os.ReadDir(filepath.Join("migrations", dialect))
	if err != nil {
		t.Fatal(err)
	}
	var newest int64
	for _, f := range files {
		n, err := strconv.ParseInt(strings.SplitN(f.Name(), "_", 2)[0], 10, 64)
		if err == nil && n > newest {
			newest = n
		}
	}
	return newest
}
