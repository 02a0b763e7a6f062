package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/pspsim/pspsim/simulator/store"
)

// State is a namespace's store.State on the database: sim_state (versioned
// documents) and sim_counters. Store.Reset empties both with the objects,
// so a deleted namespace leaves nothing behind.
type State struct {
	db *DB
	ns string
}

// State implements store.StateBackend.
func (s *DB) State(_ context.Context, namespace string) (store.State, error) {
	return &State{db: s, ns: namespace}, nil
}

// Load implements store.State.
func (st *State) Load(ctx context.Context, name string) ([]byte, int64, error) {
	var (
		doc []byte
		v   int64
	)
	err := st.db.db.QueryRowContext(ctx, st.db.q(`SELECT doc, version FROM sim_state WHERE namespace = ? AND name = ?`), st.ns, name).Scan(&doc, &v)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, 0, store.ErrNotFound
	}
	if err != nil {
		return nil, 0, fmt.Errorf("state %s/%s: %w", st.ns, name, err)
	}
	return doc, v, nil
}

// Save implements store.State. A new document's version is the wall clock's
// nanoseconds rather than 1, so that a document deleted (a namespace reset
// or deleted) and saved again never repeats a version a replica has seen;
// each save after adds one. Versions only have to differ, never to order.
func (st *State) Save(ctx context.Context, name string, doc []byte) (int64, error) {
	var v int64
	err := st.db.write(ctx, func(tx *sql.Tx) error {
		return tx.QueryRowContext(ctx, st.db.q(`INSERT INTO sim_state (namespace, name, doc, version) VALUES (?, ?, ?, ?)
ON CONFLICT (namespace, name) DO UPDATE SET doc = excluded.doc, version = sim_state.version + 1
RETURNING version`), st.ns, name, doc, time.Now().UnixNano()).Scan(&v)
	})
	if err != nil {
		return 0, fmt.Errorf("state %s/%s: save: %w", st.ns, name, err)
	}
	return v, nil
}

// SaveIf implements store.State: one conditional statement, so that of two
// replicas swapping from one version exactly one wins — on PostgreSQL the
// second UPDATE waits for the first's row lock and then finds the version
// moved; SQLite has one writer.
func (st *State) SaveIf(ctx context.Context, name string, doc []byte, version int64) (int64, bool, error) {
	var v int64
	err := st.db.write(ctx, func(tx *sql.Tx) error {
		if version == 0 {
			return tx.QueryRowContext(ctx, st.db.q(`INSERT INTO sim_state (namespace, name, doc, version) VALUES (?, ?, ?, ?)
ON CONFLICT (namespace, name) DO NOTHING RETURNING version`), st.ns, name, doc, time.Now().UnixNano()).Scan(&v)
		}
		return tx.QueryRowContext(ctx, st.db.q(`UPDATE sim_state SET doc = ?, version = version + 1
WHERE namespace = ? AND name = ? AND version = ? RETURNING version`), doc, st.ns, name, version).Scan(&v)
	})
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("state %s/%s: save if v%d: %w", st.ns, name, version, err)
	}
	return v, true, nil
}

// Version implements store.State.
func (st *State) Version(ctx context.Context, name string) (int64, error) {
	var v int64
	err := st.db.db.QueryRowContext(ctx, st.db.q(`SELECT version FROM sim_state WHERE namespace = ? AND name = ?`), st.ns, name).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("state %s/%s: version: %w", st.ns, name, err)
	}
	return v, nil
}

// Add implements store.State: one upsert, atomic in the database, so
// replicas adding at once each get their own value.
func (st *State) Add(ctx context.Context, counter string, delta int64) (int64, error) {
	var n int64
	err := st.db.write(ctx, func(tx *sql.Tx) error {
		return tx.QueryRowContext(ctx, st.db.q(`INSERT INTO sim_counters (namespace, name, n) VALUES (?, ?, ?)
ON CONFLICT (namespace, name) DO UPDATE SET n = sim_counters.n + excluded.n
RETURNING n`), st.ns, counter, delta).Scan(&n)
	})
	if err != nil {
		return 0, fmt.Errorf("counter %s/%s: %w", st.ns, counter, err)
	}
	return n, nil
}

// Counters implements store.State.
func (st *State) Counters(ctx context.Context, prefix string) (map[string]int64, error) {
	rows, err := st.db.db.QueryContext(ctx, st.db.q(`SELECT name, n FROM sim_counters WHERE namespace = ? AND substr(name, 1, ?) = ?`),
		st.ns, len(prefix), prefix)
	if err != nil {
		return nil, fmt.Errorf("counters %s/%s: %w", st.ns, prefix, err)
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var (
			name string
			n    int64
		)
		if err := rows.Scan(&name, &n); err != nil {
			return nil, err
		}
		out[name] = n
	}
	return out, rows.Err()
}

// DeleteCounters implements store.State.
func (st *State) DeleteCounters(ctx context.Context, prefix string) error {
	return st.db.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, st.db.q(`DELETE FROM sim_counters WHERE namespace = ? AND substr(name, 1, ?) = ?`), st.ns, len(prefix), prefix)
		return err
	})
}

// Insert implements store.State.
func (st *State) Insert(ctx context.Context, name string, doc []byte) (bool, error) {
	var n int64
	err := st.db.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, st.db.q(`INSERT INTO sim_state (namespace, name, doc, version) VALUES (?, ?, ?, ?)
ON CONFLICT (namespace, name) DO NOTHING`), st.ns, name, doc, time.Now().UnixNano())
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return false, fmt.Errorf("state %s/%s: insert: %w", st.ns, name, err)
	}
	return n == 1, nil
}

// Delete implements store.State.
func (st *State) Delete(ctx context.Context, name string) error {
	return st.db.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, st.db.q(`DELETE FROM sim_state WHERE namespace = ? AND name = ?`), st.ns, name)
		return err
	})
}

// List implements store.State.
func (st *State) List(ctx context.Context, prefix string) (map[string][]byte, error) {
	rows, err := st.db.db.QueryContext(ctx, st.db.q(`SELECT name, doc FROM sim_state WHERE namespace = ? AND substr(name, 1, ?) = ?`),
		st.ns, len(prefix), prefix)
	if err != nil {
		return nil, fmt.Errorf("state %s/%s: list: %w", st.ns, prefix, err)
	}
	defer rows.Close()
	out := map[string][]byte{}
	for rows.Next() {
		var (
			name string
			doc  []byte
		)
		if err := rows.Scan(&name, &doc); err != nil {
			return nil, err
		}
		out[name] = doc
	}
	return out, rows.Err()
}

// Counter implements store.State.
func (st *State) Counter(ctx context.Context, name string) (int64, error) {
	var n int64
	err := st.db.db.QueryRowContext(ctx, st.db.q(`SELECT n FROM sim_counters WHERE namespace = ? AND name = ?`), st.ns, name).Scan(&n)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("counter %s/%s: %w", st.ns, name, err)
	}
	return n, nil
}
