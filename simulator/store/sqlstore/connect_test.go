package sqlstore_test

import (
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pspsim/pspsim/simulator/store"
	"github.com/pspsim/pspsim/simulator/store/sqlstore"
	"github.com/pspsim/pspsim/simulator/store/sqlstore/pgtest"
)

// limitedRole creates a PostgreSQL role that may hold at most limit
// connections and a database it owns, and returns the database's URL as
// that role. It skips (or fails, when PostgreSQL tests are required) when
// the server cannot.
func limitedRole(t *testing.T, limit int) string {
	t.Helper()
	admin, err := sql.Open("pgx", pgtest.Server())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.Close() })
	var b [6]byte
	_, _ = rand.Read(b[:])
	role := "pspsim_test_limited_" + hex.EncodeToString(b[:])
	if _, err := admin.ExecContext(ctx, `CREATE ROLE `+role+` LOGIN CONNECTION LIMIT `+strconv.Itoa(limit)); err != nil {
		if os.Getenv(pgtest.Env) != "" {
			t.Fatalf("create role: %v", err)
		}
		t.Skipf("PostgreSQL: %v", err)
	}
	// Registered before the database's: cleanups run last first, so the
	// database (which the role owns) is dropped before the role.
	t.Cleanup(func() {
		if _, err := admin.ExecContext(ctx, `DROP ROLE IF EXISTS `+role); err != nil {
			t.Errorf("drop role %s: %v", role, err)
		}
	})
	u, err := url.Parse(pgtest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := admin.ExecContext(ctx, `ALTER DATABASE `+u.Path[1:]+` OWNER TO `+role); err != nil {
		t.Fatal(err)
	}
	u.User = url.User(role)
	return u.String()
}

type counter struct {
	N int `json:"n"`
}

// TestABurstQueuesForThePool: twenty writers at once, each on an object of
// its own (so that no object's lock lines them up), against a server that
// admits two of this role's connections, with the pool capped at two
// (pool_max_conns): every write lands — the burst waits in the pool rather
// than meeting the server's limit, where writes would fail (a job's row
// lost, "not found" for what exists).
func TestABurstQueuesForThePool(t *testing.T) {
	db := open(t, limitedRole(t, 2)+"&pool_max_conns=2")
	tbl := store.NewTable[counter](db.Namespace(store.Scope{Namespace: "default"}), "counter")
	const writers, updates = 20, 5
	var wg sync.WaitGroup
	errs := make(chan error, writers*(updates+1))
	for i := range writers {
		id := "c" + strconv.Itoa(i)
		wg.Go(func() {
			if err := tbl.Create(ctx, id, counter{}); err != nil {
				errs <- err
				return
			}
			for range updates {
				if _, err := tbl.Update(ctx, id, func(c *counter) error { c.N++; return nil }); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("a write failed: %v", err)
	}
	for i := range writers {
		if got, err := tbl.Get(ctx, "c"+strconv.Itoa(i)); err != nil || got.N != updates {
			t.Errorf("counter c%d: %d (%v), want %d", i, got.N, err, updates)
		}
	}
}

// TestAnUpdateInsideAnUpdateFinishes: with every connection of the pool
// held by updates whose functions update another object, the inner updates
// take spare connections and everything finishes (a capped pool alone
// would wait forever).
func TestAnUpdateInsideAnUpdateFinishes(t *testing.T) {
	db := open(t, pgtest.URL(t)+"&pool_max_conns=1")
	tbl := store.NewTable[counter](db.Namespace(store.Scope{Namespace: "default"}), "counter")
	const pairs = 4
	for i := range pairs {
		for _, id := range []string{"outer" + strconv.Itoa(i), "inner" + strconv.Itoa(i)} {
			if err := tbl.Create(ctx, id, counter{}); err != nil {
				t.Fatal(err)
			}
		}
	}
	done := make(chan error, pairs)
	for i := range pairs {
		go func() {
			_, err := tbl.Update(ctx, "outer"+strconv.Itoa(i), func(c *counter) error {
				c.N++
				_, err := tbl.Update(ctx, "inner"+strconv.Itoa(i), func(c *counter) error { c.N++; return nil })
				return err
			})
			done <- err
		}()
	}
	// wall time: a deadlock never ends; a minute is far beyond any wait.
	timeout := time.After(time.Minute)
	for range pairs {
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("nested update: %v", err)
			}
		case <-timeout:
			t.Fatal("updates inside updates on a full pool never finished")
		}
	}
}

// TestOpenRefusesABadPoolSize: pool_max_conns is a whole number ≥ 1.
func TestOpenRefusesABadPoolSize(t *testing.T) {
	for _, v := range []string{"0", "-3", "many"} {
		_, err := sqlstore.Open(ctx, "postgres://postgres@127.0.0.1:1/none?pool_max_conns="+v)
		if err == nil || !strings.Contains(err.Error(), "pool_max_conns") {
			t.Errorf("pool_max_conns=%s: %v, want an error naming pool_max_conns", v, err)
		}
	}
}
