package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/pspsim/pspsim/simulator/jobs"
)

// JobTable is a namespace's pending jobs (jobs.Table) on the jobs table
// (migration 00004). Every write is one statement: the scheduling rules —
// claim by version, delete by version, take over expired leases — are
// jobs.Durable's, and this type only says them in SQL. On PostgreSQL a
// takeover locks the rows it takes with FOR UPDATE SKIP LOCKED, so that two
// replicas taking over at once never take the same row; SQLite has one
// process, whose writers queue on DB.wmu.
type JobTable struct {
	db *DB
	ns string
}

// JobTable implements jobs.Backend.
func (s *DB) JobTable(namespace string) jobs.Table {
	return &JobTable{db: s, ns: namespace}
}

var _ jobs.Backend = (*DB)(nil)

// Upsert implements jobs.Table. A new row's version is the wall clock's
// nanoseconds (as State.Save's), so that a row deleted and written again
// never repeats a version a replica still holds; each write after adds one.
func (t *JobTable) Upsert(ctx context.Context, j jobs.Job, owner string, leaseUntil time.Time, running bool) (int64, error) {
	var v int64
	err := t.db.write(ctx, func(tx *sql.Tx) error {
		return tx.QueryRowContext(ctx, t.db.q(`INSERT INTO jobs (namespace, kind, job_key, due, payload, owner, lease_until, version, running)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (namespace, kind, job_key) DO UPDATE SET due = excluded.due, payload = excluded.payload, owner = excluded.owner,
  lease_until = excluded.lease_until, running = excluded.running, version = jobs.version + 1
RETURNING version`), t.ns, j.Kind, j.Key, j.Due.UnixNano(), j.Payload, owner, leaseUntil.UnixNano(), time.Now().UnixNano(), boolInt(running)).Scan(&v)
	})
	if err != nil {
		return 0, fmt.Errorf("jobs %s: schedule %s %s: %w", t.ns, j.Kind, j.Key, err)
	}
	return v, nil
}

// Claim implements jobs.Table.
func (t *JobTable) Claim(ctx context.Context, kind, key string, version int64, owner string, leaseUntil time.Time) (int64, bool, error) {
	var n int64
	err := t.db.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, t.db.q(`UPDATE jobs SET version = version + 1, owner = ?, lease_until = ?, running = 1
WHERE namespace = ? AND kind = ? AND job_key = ? AND version = ? AND running = 0`), owner, leaseUntil.UnixNano(), t.ns, kind, key, version)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, false, fmt.Errorf("jobs %s: claim %s %s: %w", t.ns, kind, key, err)
	}
	return version + 1, n == 1, nil
}

// DeleteVersion implements jobs.Table.
func (t *JobTable) DeleteVersion(ctx context.Context, kind, key string, version int64) error {
	return t.exec(ctx, "forget "+kind+" "+key, `DELETE FROM jobs WHERE namespace = ? AND kind = ? AND job_key = ? AND version = ?`, t.ns, kind, key, version)
}

// Delete implements jobs.Table.
func (t *JobTable) Delete(ctx context.Context, kind, key string) error {
	return t.exec(ctx, "cancel "+kind+" "+key, `DELETE FROM jobs WHERE namespace = ? AND kind = ? AND job_key = ?`, t.ns, kind, key)
}

// Renew implements jobs.Table.
func (t *JobTable) Renew(ctx context.Context, owner string, leaseUntil time.Time) error {
	return t.exec(ctx, "renew", `UPDATE jobs SET lease_until = ? WHERE namespace = ? AND owner = ?`, leaseUntil.UnixNano(), t.ns, owner)
}

// DeleteAll implements jobs.Table.
func (t *JobTable) DeleteAll(ctx context.Context) error {
	return t.exec(ctx, "delete all", `DELETE FROM jobs WHERE namespace = ?`, t.ns)
}

func (t *JobTable) exec(ctx context.Context, what, query string, args ...any) error {
	err := t.db.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, t.db.q(query), args...)
		return err
	})
	if err != nil {
		return fmt.Errorf("jobs %s: %s: %w", t.ns, what, err)
	}
	return nil
}

// TakeOver implements jobs.Table. On PostgreSQL the rows are chosen with
// FOR UPDATE SKIP LOCKED: a row another replica is taking over right now
// is skipped rather than waited for (and, its lease renewed by then, not
// expired the next time).
func (t *JobTable) TakeOver(ctx context.Context, owner string, now, leaseUntil time.Time, limit int) ([]jobs.Row, error) {
	lock := ""
	if t.db.dialect == postgres {
		lock = " FOR UPDATE SKIP LOCKED"
	}
	before := now.UnixNano()
	if now.IsZero() {
		before = math.MaxInt64
	}
	var out []jobs.Row
	err := t.db.write(ctx, func(tx *sql.Tx) error {
		out = out[:0]
		rows, err := tx.QueryContext(ctx, t.db.q(`UPDATE jobs SET owner = ?, lease_until = ?, version = version + 1, running = 0
WHERE (namespace, kind, job_key) IN (SELECT namespace, kind, job_key FROM jobs WHERE namespace = ? AND lease_until < ? ORDER BY due LIMIT ?`+lock+`)
RETURNING kind, job_key, due, payload, owner, version, running`), owner, leaseUntil.UnixNano(), t.ns, before, limit)
		if err != nil {
			return err
		}
		out, err = scanRows(rows)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("jobs %s: take over: %w", t.ns, err)
	}
	sortByDue(out)
	return out, nil
}

// Due implements jobs.Table.
func (t *JobTable) Due(ctx context.Context, by time.Time, limit int) ([]jobs.Row, error) {
	rows, err := t.db.db.QueryContext(ctx, t.db.q(`SELECT kind, job_key, due, payload, owner, version, running FROM jobs
WHERE namespace = ? AND due <= ? AND running = 0 ORDER BY due, version LIMIT ?`), t.ns, by.UnixNano(), limit)
	if err != nil {
		return nil, fmt.Errorf("jobs %s: due: %w", t.ns, err)
	}
	return scanRows(rows)
}

// Get implements jobs.Table.
func (t *JobTable) Get(ctx context.Context, kind, key string) (jobs.Row, bool, error) {
	rows, err := t.db.db.QueryContext(ctx, t.db.q(`SELECT kind, job_key, due, payload, owner, version, running FROM jobs
WHERE namespace = ? AND kind = ? AND job_key = ?`), t.ns, kind, key)
	if err != nil {
		return jobs.Row{}, false, fmt.Errorf("jobs %s: get %s %s: %w", t.ns, kind, key, err)
	}
	list, err := scanRows(rows)
	if err != nil || len(list) == 0 {
		return jobs.Row{}, false, err
	}
	return list[0], true, nil
}

// Count implements jobs.Table.
func (t *JobTable) Count(ctx context.Context) (int, error) {
	var n int
	err := t.db.db.QueryRowContext(ctx, t.db.q(`SELECT COUNT(*) FROM jobs WHERE namespace = ?`), t.ns).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("jobs %s: count: %w", t.ns, err)
	}
	return n, nil
}

// Mentions implements jobs.Table. A scan of the namespace's rows of kind:
// it is asked by retention's eviction, off the request path, and the table
// holds only what is pending.
func (t *JobTable) Mentions(ctx context.Context, kind string, needle []byte) (bool, error) {
	query := `SELECT 1 FROM jobs WHERE namespace = ? AND kind = ? AND instr(payload, ?) > 0 LIMIT 1`
	if t.db.dialect == postgres {
		query = `SELECT 1 FROM jobs WHERE namespace = ? AND kind = ? AND position(?::bytea in payload) > 0 LIMIT 1`
	}
	var one int
	err := t.db.db.QueryRowContext(ctx, t.db.q(query), t.ns, kind, needle).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("jobs %s: mentions: %w", t.ns, err)
	}
	return true, nil
}

func scanRows(rows *sql.Rows) ([]jobs.Row, error) {
	defer rows.Close()
	var out []jobs.Row
	for rows.Next() {
		var (
			r       jobs.Row
			due     int64
			running int64
		)
		if err := rows.Scan(&r.Kind, &r.Key, &due, &r.Payload, &r.Owner, &r.Version, &running); err != nil {
			return nil, err
		}
		r.Due = time.Unix(0, due).UTC()
		r.Running = running != 0
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

// sortByDue orders rows by due time, then kind and key (RETURNING keeps
// no order).
func sortByDue(rows []jobs.Row) {
	slices.SortFunc(rows, func(a, b jobs.Row) int {
		return cmp.Or(a.Due.Compare(b.Due), cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.Key, b.Key))
	})
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
