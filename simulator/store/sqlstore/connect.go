package sqlstore

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
)

// patientConnector opens PostgreSQL connections, and waits when the server
// refuses one for a passing reason — it has all the clients it admits
// (SQLSTATE 53300, max_connections), or it is starting or stopping
// (57P03) — rather than failing the store operation that asked for it.
//
// Why: the pool has no cap (see Open), so a burst — a restarted replica
// taking over hundreds of jobs at once, a load test, other replicas or
// other programs on the same server — can meet max_connections. A failed
// write there is not a client's error: it would lose a job's row or a
// delivery's retry, or answer "not found" for what exists. Waiting a few
// hundred milliseconds for another connection to close is what a person
// would do.
type patientConnector struct {
	inner driver.Connector
	// patience bounds the wait when ctx has no deadline of its own.
	patience time.Duration
	// sleep waits (tests shorten it).
	sleep func(ctx context.Context, d time.Duration) error
}

// newPatientConnector parses a postgres:// URL into pgx's connector.
func newPatientConnector(dsn string) (*patientConnector, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, err
	}
	if _, set := cfg.RuntimeParams["plan_cache_mode"]; !set {
		// Every statement is planned for its own arguments. pgx prepares
		// each query once per connection, and after five runs PostgreSQL
		// may keep a generic plan chosen while the tables were nearly
		// empty — a sequential scan — until an ANALYZE invalidates it. A
		// server without autovacuum never runs one: a lookup by id then
		// scanned the whole objects table (inquiries 20× slower after a
		// few thousand payments). A custom plan costs a few microseconds.
		cfg.RuntimeParams["plan_cache_mode"] = "force_custom_plan"
	}
	return &patientConnector{inner: stdlib.GetConnector(*cfg), patience: 30 * time.Second, sleep: sleepCtx}, nil
}

// Connect implements driver.Connector.
func (c *patientConnector) Connect(ctx context.Context) (driver.Conn, error) {
	wait := 10 * time.Millisecond
	// wall time: how long to keep asking a busy server, not domain time.
	give := time.Now().Add(c.patience)
	for {
		conn, err := c.inner.Connect(ctx)
		if err == nil || !transientConnectError(err) {
			return conn, err
		}
		if time.Now().Add(wait).After(give) {
			return nil, fmt.Errorf("the server kept refusing connections for %s: %w", c.patience, err)
		}
		if serr := c.sleep(ctx, wait); serr != nil {
			return nil, fmt.Errorf("waiting for a connection: %w (last refusal: %v)", serr, err)
		}
		wait = min(wait*2, 500*time.Millisecond)
	}
}

// Driver implements driver.Connector.
func (c *patientConnector) Driver() driver.Driver { return c.inner.Driver() }

// transientConnectError reports whether a refused connection may succeed if
// asked again shortly: the server is full or starting up.
func transientConnectError(err error) bool {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return false
	}
	switch pe.Code {
	case "53300", // too_many_connections
		"57P03": // cannot_connect_now
		return true
	}
	return false
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
