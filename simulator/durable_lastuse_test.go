package simulator_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pspsim/pspsim/simulator/host"
	"github.com/pspsim/pspsim/simulator/simtest"
	"github.com/pspsim/pspsim/simulator/store/sqlstore"
	"github.com/pspsim/pspsim/simulator/store/sqlstore/pgtest"
)

// wallClock is a settable wall clock for idle expiry.
type wallClock struct{ ns atomic.Int64 }

func (c *wallClock) Now() time.Time      { return time.Unix(0, c.ns.Load()) }
func (c *wallClock) add(d time.Duration) { c.ns.Add(int64(d)) }
func newWallClock(start time.Time) *wallClock {
	c := &wallClock{}
	c.ns.Store(start.UnixNano())
	return c
}

// idleHost starts a host on db with idle expiry after idle on wall.
func idleHost(t *testing.T, db *sqlstore.DB, wall *wallClock, idle time.Duration) (*simtest.Harness, *host.Host) {
	t.Helper()
	return simtest.NewHosted(t, func(o *host.Options) {
		reg, err := db.State(context.Background(), host.RegistryNamespace)
		if err != nil {
			t.Fatal(err)
		}
		o.Registry, o.Idle, o.Now = reg, idle, wall.Now
	}, onBackend(db))
}

// TestIdleExpiryCountsEveryReplicasUse: two replicas on one PostgreSQL
// database. A namespace used on b within the idle limit is not deleted by
// a's sweep (a only lets go of its own copy); once no replica used it for
// longer than the limit, a's sweep deletes it for both.
func TestIdleExpiryCountsEveryReplicasUse(t *testing.T) {
	url := pgtest.URL(t)
	wall := newWallClock(time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC))
	const idle = time.Hour
	a, hostA := idleHost(t, openDB(t, url), wall, idle)
	b, hostB := idleHost(t, openDB(t, url), wall, idle)
	if r := a.Do("POST", "/_sim/namespaces", `{"name":"shared"}`); r.Status != 201 {
		t.Fatalf("create: %d %s", r.Status, r.Body)
	}
	a.Do("GET", "/ns/shared/_sim/clock", nil) // built and used on a at 00:00
	ctx := context.Background()
	hostA.SaveLastUse(ctx)

	wall.add(50 * time.Minute)
	if r := b.Do("GET", "/ns/shared/_sim/clock", nil); r.Status != 200 { // used on b at 00:50
		t.Fatalf("on b: %d %s", r.Status, r.Body)
	}
	hostB.SaveLastUse(ctx)

	wall.add(30 * time.Minute) // 01:20: idle on a for 80 minutes, on b for 30
	hostA.Expire(wall.Now())
	if r := b.Do("GET", "/_sim/namespaces/shared", nil); r.Status != 200 {
		t.Fatalf("a's sweep deleted a namespace b used 30 minutes ago: %d %s", r.Status, r.Body)
	}
	if r := a.Do("GET", "/ns/shared/_sim/clock", nil); r.Status != 200 { // a builds it again: still registered
		t.Fatalf("on a after its sweep: %d %s", r.Status, r.Body)
	}
	hostA.SaveLastUse(ctx)

	// 03:00: nobody has used it for well over the limit (and its stamp's lag).
	wall.add(100 * time.Minute)
	hostB.Expire(wall.Now()) // b's own copy goes; a's stamp (01:20) is too old
	hostA.Expire(wall.Now())
	for _, h := range []*simtest.Harness{a, b} {
		simtest.Eventually(t, "the idle namespace is gone from both replicas", func() bool {
			return h.Do("GET", "/_sim/namespaces/shared", nil).Status == 404
		})
	}
}

// TestIdleExpiryWithOneDurableProcess: one process with a durable store
// deletes (not only lets go of) a namespace unused for the idle limit — its
// events too — and keeps one in use.
func TestIdleExpiryWithOneDurableProcess(t *testing.T) {
	for _, tc := range pgtest.Stores() {
		t.Run(tc.Name, func(t *testing.T) {
			wall := newWallClock(time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC))
			db := openDB(t, tc.URL(t))
			h, hst := idleHost(t, db, wall, time.Hour)
			for _, name := range []string{"idle", "busy"} {
				if r := h.Do("POST", "/_sim/namespaces", `{"name":"`+name+`"}`); r.Status != 201 {
					t.Fatalf("create %s: %d %s", name, r.Status, r.Body)
				}
			}
			ctx := context.Background()
			for range 4 { // 40 minutes apart: busy is used, idle is not
				wall.add(40 * time.Minute)
				h.Do("GET", "/ns/busy/_sim/clock", nil)
				hst.SaveLastUse(ctx)
				hst.Expire(wall.Now())
			}
			if r := h.Do("GET", "/_sim/namespaces/idle", nil); r.Status != 404 {
				t.Fatalf("namespace idle for 160 minutes (limit 1h): %d %s", r.Status, r.Body)
			}
			if r := h.Do("GET", "/_sim/namespaces/busy", nil); r.Status != 200 {
				t.Fatalf("namespace in use was deleted: %d %s", r.Status, r.Body)
			}
			// Deleted, not only let go of: its events went with its rows.
			for ns, want := range map[string]bool{"idle": false, "busy": true} {
				var n int
				if err := db.SQL().QueryRow(`SELECT COUNT(*) FROM events WHERE namespace = '` + ns + `'`).Scan(&n); err != nil {
					t.Fatal(err)
				}
				if (n > 0) != want {
					t.Errorf("namespace %s has %d stored events", ns, n)
				}
			}
		})
	}
}
