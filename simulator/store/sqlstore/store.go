package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/pspsim/pspsim/simulator/store"
)

// Store is the store of one namespace in a DB. Like the memory store, it
// does not let a caller's cancellation (a client that hung up) stop a
// write halfway through a domain operation — a gateway payment is an order
// claim, an authentication and a payment, stored one after the other — so
// its operations run without the context's cancellation. It implements store.Store,
// store.IDLister, store.Finder (the tables' secondary indexes, in
// index_entries) and store.Configurable.
type Store struct {
	db    *DB
	scope store.Scope

	mu    sync.Mutex
	kinds map[string]*kindState
}

// kindState is what the store knows of a kind in this process: its table's
// configuration and when retention last looked at it.
type kindState struct {
	cfg       store.KindConfig
	creates   int             // since the last count
	lastSweep time.Time       // last age sweep
	built     map[string]bool // indexes known to hold every object
	evicting  sync.Mutex
}

var (
	_ store.Store        = (*Store)(nil)
	_ store.IDLister     = (*Store)(nil)
	_ store.Configurable = (*Store)(nil)
	_ store.Finder       = (*Store)(nil)
)

// Namespace returns the namespace the store's rows carry.
func (s *Store) Namespace() string { return s.scope.Namespace }

func (s *Store) kind(kind string) *kindState {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := s.kinds[kind]
	if k == nil {
		k = &kindState{}
		s.kinds[kind] = k
	}
	return k
}

// ConfigureKind implements store.Configurable.
func (s *Store) ConfigureKind(kind string, cfg store.KindConfig) {
	k := s.kind(kind)
	s.mu.Lock()
	k.cfg = cfg
	s.mu.Unlock()
}

// forUpdate is the row-lock clause of a read that a write follows: SQLite
// has none (its writer holds the whole database).
func (s *Store) forUpdate(clause string) string {
	if s.db.dialect == postgres {
		return " " + clause
	}
	return ""
}

// Get implements store.Store.
func (s *Store) Get(ctx context.Context, kind, id string) ([]byte, error) {
	ctx = context.WithoutCancel(ctx)
	var doc []byte
	err := s.db.db.QueryRowContext(ctx, s.db.q(`SELECT doc FROM objects WHERE namespace = ? AND kind = ? AND id = ?`),
		s.scope.Namespace, kind, id).Scan(&doc)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%s %q: %w", kind, id, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("get %s %q: %w", kind, id, err)
	}
	return doc, nil
}

// Create implements store.Store.
func (s *Store) Create(ctx context.Context, kind, id string, doc []byte, unique ...string) error {
	ctx = context.WithoutCancel(ctx)
	var created int64
	if s.scope.Now != nil {
		created = s.scope.Now().UnixNano()
	}
	keys := dedupe(unique)
	cfg := s.config(kind)
	ix, err := indexKeys(cfg, kind, id, doc)
	if err != nil {
		return err
	}
	err = s.db.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.db.q(`INSERT INTO objects (namespace, kind, id, created, doc) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (namespace, kind, id) DO NOTHING`), s.scope.Namespace, kind, id, created, doc)
		if err != nil {
			return fmt.Errorf("create %s %q: %w", kind, id, err)
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return fmt.Errorf("%s %q: %w", kind, id, store.ErrIDTaken)
		}
		for _, k := range keys {
			if err := s.insertKey(ctx, tx, kind, k, id); err != nil {
				return err
			}
		}
		if len(ix) > 0 {
			return s.indexAdd(ctx, tx, kind, id, cfg.Indexes, ix, nil)
		}
		return nil
	})
	if err == nil {
		s.retain(ctx, kind)
	}
	return err
}

// config returns the kind's table configuration.
func (s *Store) config(kind string) store.KindConfig {
	k := s.kind(kind)
	s.mu.Lock()
	defer s.mu.Unlock()
	return k.cfg
}

// indexKeys returns a document's key in each of the kind's indexes (nil
// when the kind has none).
func indexKeys(cfg store.KindConfig, kind, id string, doc []byte) ([]string, error) {
	if len(cfg.Indexes) == 0 || cfg.Decode == nil {
		return nil, nil
	}
	v, err := cfg.Decode(doc)
	if err != nil {
		return nil, fmt.Errorf("decode %s %q: %w", kind, id, err)
	}
	keys := make([]string, len(cfg.Indexes))
	for i, ix := range cfg.Indexes {
		keys[i] = ix.Key(v)
	}
	return keys, nil
}

// indexAdd lists id under its keys, and unlists it from the old keys that
// changed (old nil: a new object).
func (s *Store) indexAdd(ctx context.Context, tx *sql.Tx, kind, id string, ixs []store.KindIndex, keys, old []string) error {
	for i, k := range keys {
		if old != nil && old[i] == k {
			continue
		}
		if old != nil && old[i] != "" {
			if _, err := tx.ExecContext(ctx, s.db.q(`DELETE FROM index_entries WHERE namespace = ? AND kind = ? AND name = ? AND key = ? AND id = ?`),
				s.scope.Namespace, kind, ixs[i].Name, old[i], id); err != nil {
				return fmt.Errorf("index %s %q: %w", kind, id, err)
			}
		}
		if k == "" {
			continue
		}
		if _, err := tx.ExecContext(ctx, s.db.q(`INSERT INTO index_entries (namespace, kind, name, key, id) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT DO NOTHING`), s.scope.Namespace, kind, ixs[i].Name, k, id); err != nil {
			return fmt.Errorf("index %s %q: %w", kind, id, err)
		}
	}
	return nil
}

// Find implements store.Finder from the index_entries table. An index not
// built yet for the namespace (declared by a newer table than wrote the
// objects) is built from the documents first.
func (s *Store) Find(ctx context.Context, kind, index, key string, fn func(id string, doc []byte) bool) (bool, error) {
	ctx = context.WithoutCancel(ctx)
	cfg := s.config(kind)
	i := slices.IndexFunc(cfg.Indexes, func(ix store.KindIndex) bool { return ix.Name == index })
	if i < 0 {
		return false, nil
	}
	if err := s.ensureIndex(ctx, kind, cfg, i); err != nil {
		return true, err
	}
	// The matches are read whole and the connection let go of before fn
	// sees them: fn is domain code, which may use the store (a lookup
	// followed by a read of another object), and an index names few
	// objects. Holding the connection meanwhile made every such lookup
	// wait for a second one under load.
	type match struct {
		id  string
		doc []byte
	}
	var found []match
	err := func() error {
		rows, err := s.db.db.QueryContext(ctx, s.db.q(`SELECT o.id, o.doc FROM index_entries e
		JOIN objects o ON o.namespace = e.namespace AND o.kind = e.kind AND o.id = e.id
		WHERE e.namespace = ? AND e.kind = ? AND e.name = ? AND e.key = ? ORDER BY o.seq`), s.scope.Namespace, kind, index, key)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var m match
			if err := rows.Scan(&m.id, &m.doc); err != nil {
				return err
			}
			found = append(found, m)
		}
		return rows.Err()
	}()
	if err != nil {
		return true, fmt.Errorf("find %s %s=%q: %w", kind, index, key, err)
	}
	for _, m := range found {
		if !fn(m.id, m.doc) {
			break
		}
	}
	return true, nil
}

// ensureIndex builds index i of kind from the documents unless the
// namespace's index_built row says it holds every object. Writers keep
// entries of what they write meanwhile, so a build racing them (or another
// replica's build) only inserts what is already there.
func (s *Store) ensureIndex(ctx context.Context, kind string, cfg store.KindConfig, i int) error {
	k := s.kind(kind)
	s.mu.Lock()
	if k.built == nil {
		k.built = map[string]bool{}
	}
	done := k.built[cfg.Indexes[i].Name]
	s.mu.Unlock()
	if done {
		return nil
	}
	name := cfg.Indexes[i].Name
	var one int
	err := s.db.db.QueryRowContext(ctx, s.db.q(`SELECT 1 FROM index_built WHERE namespace = ? AND kind = ? AND name = ?`),
		s.scope.Namespace, kind, name).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		type entry struct{ id, key string }
		var entries []entry
		err = s.List(ctx, kind, func(id string, doc []byte) bool {
			v, derr := cfg.Decode(doc)
			if derr == nil {
				if key := cfg.Indexes[i].Key(v); key != "" {
					entries = append(entries, entry{id, key})
				}
			}
			return true
		})
		if err == nil {
			err = s.db.write(ctx, func(tx *sql.Tx) error {
				for _, e := range entries {
					if _, err := tx.ExecContext(ctx, s.db.q(`INSERT INTO index_entries (namespace, kind, name, key, id) VALUES (?, ?, ?, ?, ?)
						ON CONFLICT DO NOTHING`), s.scope.Namespace, kind, name, e.key, e.id); err != nil {
						return err
					}
				}
				_, err := tx.ExecContext(ctx, s.db.q(`INSERT INTO index_built (namespace, kind, name) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`),
					s.scope.Namespace, kind, name)
				return err
			})
		}
	}
	if err != nil {
		return fmt.Errorf("build index %s.%s: %w", kind, name, err)
	}
	s.mu.Lock()
	k.built[name] = true
	s.mu.Unlock()
	return nil
}

// insertKey claims one unique key for id, or ErrExists when it belongs to
// another object.
func (s *Store) insertKey(ctx context.Context, tx *sql.Tx, kind, key, id string) error {
	res, err := tx.ExecContext(ctx, s.db.q(`INSERT INTO unique_keys (namespace, kind, key, id) VALUES (?, ?, ?, ?)
		ON CONFLICT (namespace, kind, key) DO NOTHING`), s.scope.Namespace, kind, key, id)
	if err != nil {
		return fmt.Errorf("claim %s key %q: %w", kind, key, err)
	}
	if n, err := res.RowsAffected(); err == nil && n == 1 {
		return nil
	}
	var owner string
	err = tx.QueryRowContext(ctx, s.db.q(`SELECT id FROM unique_keys WHERE namespace = ? AND kind = ? AND key = ?`),
		s.scope.Namespace, kind, key).Scan(&owner)
	if err == nil && owner == id {
		return nil
	}
	return fmt.Errorf("%s key %q: %w", kind, key, store.ErrExists)
}

// dedupe drops repeated keys: claiming a key twice in one call is claiming it.
func dedupe(keys []string) []string {
	if len(keys) < 2 {
		return keys
	}
	out := make([]string, 0, len(keys))
	for _, k := range keys {
		if !slices.Contains(out, k) {
			out = append(out, k)
		}
	}
	return out
}

// Update implements store.Store. Updates of one object run one after the
// other and none is lost:
//
//   - in this process, they queue on the object's own mutex (keyedMutex) —
//     never on a shared one, because domain code updates one object inside
//     the update of another;
//   - on PostgreSQL, across processes, the row is locked (SELECT … FOR
//     UPDATE) from the read to the write, in one transaction;
//   - on SQLite the file belongs to this process alone (Open locks it), so
//     the object's mutex is the whole lock: fn runs outside any
//     transaction, and the write is a short one of its own.
func (s *Store) Update(ctx context.Context, kind, id string, fn func(cur []byte) ([]byte, error)) error {
	ctx = context.WithoutCancel(ctx)
	unlock := s.db.objects.lock(s.objectKey(kind, id))
	defer unlock()
	if s.db.dialect == postgres {
		return s.db.writeHeld(ctx, func(tx *sql.Tx) error {
			var (
				seq int64
				cur []byte
			)
			err := tx.QueryRowContext(ctx, s.db.q(`SELECT seq, doc FROM objects WHERE namespace = ? AND kind = ? AND id = ? FOR UPDATE`),
				s.scope.Namespace, kind, id).Scan(&seq, &cur)
			if err != nil {
				return s.readErr(err, kind, id)
			}
			next, err := fn(cur)
			if err != nil {
				return err
			}
			return s.store(ctx, tx, kind, id, seq, cur, next)
		})
	}
	var (
		seq int64
		cur []byte
	)
	err := s.db.db.QueryRowContext(ctx, s.db.q(`SELECT seq, doc FROM objects WHERE namespace = ? AND kind = ? AND id = ?`),
		s.scope.Namespace, kind, id).Scan(&seq, &cur)
	if err != nil {
		return s.readErr(err, kind, id)
	}
	next, err := fn(cur)
	if err != nil {
		return err
	}
	return s.db.write(ctx, func(tx *sql.Tx) error { return s.store(ctx, tx, kind, id, seq, cur, next) })
}

// objectKey names an object among all the DB's namespaces.
func (s *Store) objectKey(kind, id string) string {
	return s.scope.Namespace + "\x00" + kind + "\x00" + id
}

func (s *Store) readErr(err error, kind, id string) error {
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%s %q: %w", kind, id, store.ErrNotFound)
	}
	return fmt.Errorf("update %s %q: %w", kind, id, err)
}

// store writes an updated document and moves it in the indexes whose keys
// changed. A row evicted meanwhile (SQLite: eviction does not take the
// object's mutex) is not brought back: the update finds it gone.
func (s *Store) store(ctx context.Context, tx *sql.Tx, kind, id string, seq int64, cur, next []byte) error {
	res, err := tx.ExecContext(ctx, s.db.q(`UPDATE objects SET doc = ? WHERE seq = ?`), next, seq)
	if err != nil {
		return fmt.Errorf("update %s %q: %w", kind, id, err)
	}
	if n, err := res.RowsAffected(); err == nil && n == 0 {
		return fmt.Errorf("%s %q: %w", kind, id, store.ErrNotFound)
	}
	if cfg := s.config(kind); len(cfg.Indexes) > 0 {
		old, err := indexKeys(cfg, kind, id, cur)
		if err != nil {
			return err
		}
		keys, err := indexKeys(cfg, kind, id, next)
		if err != nil {
			return err
		}
		if !slices.Equal(old, keys) {
			return s.indexAdd(ctx, tx, kind, id, cfg.Indexes, keys, old)
		}
	}
	return nil
}

// Claim implements store.Store.
func (s *Store) Claim(ctx context.Context, kind, id string, unique ...string) error {
	ctx = context.WithoutCancel(ctx)
	keys := dedupe(unique)
	return s.db.write(ctx, func(tx *sql.Tx) error {
		// FOR SHARE: eviction (FOR UPDATE SKIP LOCKED) leaves the object be
		// while its keys are being added.
		var seq int64
		err := tx.QueryRowContext(ctx, s.db.q(`SELECT seq FROM objects WHERE namespace = ? AND kind = ? AND id = ?`+s.forUpdate("FOR SHARE")),
			s.scope.Namespace, kind, id).Scan(&seq)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("%s %q: %w", kind, id, store.ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("claim %s %q: %w", kind, id, err)
		}
		for _, k := range keys {
			if err := s.insertKey(ctx, tx, kind, k, id); err != nil {
				return err
			}
		}
		return nil
	})
}

// Lookup implements store.Store.
func (s *Store) Lookup(ctx context.Context, kind, key string) (string, error) {
	ctx = context.WithoutCancel(ctx)
	var id string
	err := s.db.db.QueryRowContext(ctx, s.db.q(`SELECT id FROM unique_keys WHERE namespace = ? AND kind = ? AND key = ?`),
		s.scope.Namespace, kind, key).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("%s key %q: %w", kind, key, store.ErrNotFound)
	}
	if err != nil {
		return "", fmt.Errorf("lookup %s key %q: %w", kind, key, err)
	}
	return id, nil
}

// List implements store.Store. The rows are read as fn takes them, so fn
// must not call back into the store (the contract says so for every store).
func (s *Store) List(ctx context.Context, kind string, fn func(id string, doc []byte) bool) error {
	ctx = context.WithoutCancel(ctx)
	conn, err := s.db.heldConn(ctx)
	if err != nil {
		return fmt.Errorf("list %s: %w", kind, err)
	}
	defer conn.Close()
	rows, err := conn.QueryContext(ctx, s.db.q(`SELECT id, doc FROM objects WHERE namespace = ? AND kind = ? ORDER BY seq`),
		s.scope.Namespace, kind)
	if err != nil {
		return fmt.Errorf("list %s: %w", kind, err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			id  string
			doc []byte
		)
		if err := rows.Scan(&id, &doc); err != nil {
			return fmt.Errorf("list %s: %w", kind, err)
		}
		if !fn(id, doc) {
			return nil
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("list %s: %w", kind, err)
	}
	return nil
}

// ListIDs implements store.IDLister: the documents stay in the database.
func (s *Store) ListIDs(ctx context.Context, kind string, fn func(id string) bool) error {
	ctx = context.WithoutCancel(ctx)
	conn, err := s.db.heldConn(ctx)
	if err != nil {
		return fmt.Errorf("list %s ids: %w", kind, err)
	}
	defer conn.Close()
	rows, err := conn.QueryContext(ctx, s.db.q(`SELECT id FROM objects WHERE namespace = ? AND kind = ? ORDER BY seq`),
		s.scope.Namespace, kind)
	if err != nil {
		return fmt.Errorf("list %s ids: %w", kind, err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return fmt.Errorf("list %s ids: %w", kind, err)
		}
		if !fn(id) {
			return nil
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("list %s ids: %w", kind, err)
	}
	return nil
}

// Reset implements store.Store: the namespace's rows go, other namespaces'
// stay.
func (s *Store) Reset(ctx context.Context) error {
	ctx = context.WithoutCancel(ctx)
	err := s.db.write(ctx, func(tx *sql.Tx) error {
		for _, table := range []string{"unique_keys", "index_entries", "objects", "sim_state", "sim_counters", "jobs", "events"} {
			if _, err := tx.ExecContext(ctx, s.db.q(`DELETE FROM `+table+` WHERE namespace = ?`), s.scope.Namespace); err != nil {
				return fmt.Errorf("reset %s: %w", table, err)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	s.mu.Lock()
	for _, k := range s.kinds {
		k.creates = 0
	}
	s.mu.Unlock()
	return nil
}

// Count returns how many objects of kind the namespace holds.
func (s *Store) Count(ctx context.Context, kind string) (int, error) {
	var n int
	err := s.db.db.QueryRowContext(ctx, s.db.q(`SELECT COUNT(*) FROM objects WHERE namespace = ? AND kind = ?`),
		s.scope.Namespace, kind).Scan(&n)
	return n, err
}

// ---------------------------------------------------------------- retention

// limit is the most objects of kind kept (0: unlimited).
func (s *Store) limit(kind string, k *kindState) int {
	if k.cfg.Evictable == nil {
		return 0
	}
	if n, ok := s.scope.Retention.Kinds[kind]; ok {
		return n
	}
	return s.scope.Retention.MaxObjects
}

// retain applies the kind's limits after a create, as the memory store
// does: it counts the kind once every tenth of the limit created (so that
// counting costs O(1) per object) and evicts down to the limit; it sweeps
// by age every sixteenth of the age limit. A replica that is already
// evicting the kind does not wait: the next create will look again.
func (s *Store) retain(ctx context.Context, kind string) {
	k := s.kind(kind)
	s.mu.Lock()
	limit := s.limit(kind, k)
	if k.cfg.Evictable == nil {
		s.mu.Unlock()
		return
	}
	k.creates++
	byCount := limit > 0 && k.creates >= max(limit/10, 1)
	if byCount {
		k.creates = 0
	}
	var cutoff int64
	if age := s.scope.Retention.MaxAge; age > 0 && s.scope.Now != nil {
		if now := s.scope.Now(); now.Sub(k.lastSweep) >= max(age/16, time.Second) {
			k.lastSweep = now
			cutoff = now.Add(-age).UnixNano()
		}
	}
	s.mu.Unlock()
	if !byCount && cutoff == 0 {
		return
	}
	if !k.evicting.TryLock() {
		return
	}
	defer k.evicting.Unlock()
	// Eviction is housekeeping: a failure of it is not the create's.
	if byCount {
		if n, err := s.Count(ctx, kind); err == nil && n > limit {
			// The newest half of the limit is never evicted by count: an
			// object just created may be waiting for the one it refers to.
			_, _ = s.evict(ctx, kind, k.cfg, n-limit, 0, n-limit/2)
		}
	}
	if cutoff != 0 {
		_, _ = s.evict(ctx, kind, k.cfg, -1, cutoff, -1)
	}
}

// evictPage is how many candidates one eviction transaction looks at.
const evictPage = 256

// evict removes up to n evictable objects of kind (every one created before
// before, when n < 0), oldest first, among the first upto (-1: all) in
// creation order. Each page of candidates is locked with FOR UPDATE SKIP
// LOCKED: an object another transaction is changing is skipped, not waited
// for (the memory store's TryLock), and is judged again next time.
func (s *Store) evict(ctx context.Context, kind string, cfg store.KindConfig, n int, before int64, upto int) (int, error) {
	removed, seen := 0, 0
	var after int64
	for n < 0 || removed < n {
		page := evictPage
		if upto >= 0 {
			page = min(page, upto-seen)
		}
		if page <= 0 {
			break
		}
		more := false
		err := s.db.write(ctx, func(tx *sql.Tx) error {
			query := `SELECT seq, id, doc, created FROM objects WHERE namespace = ? AND kind = ? AND seq > ? ORDER BY seq LIMIT ?` + s.forUpdate("FOR UPDATE SKIP LOCKED")
			rows, err := tx.QueryContext(ctx, s.db.q(query), s.scope.Namespace, kind, after, page)
			if err != nil {
				return err
			}
			type cand struct {
				seq, created int64
				id           string
				doc          []byte
			}
			var cands []cand
			for rows.Next() {
				var c cand
				if err := rows.Scan(&c.seq, &c.id, &c.doc, &c.created); err != nil {
					rows.Close()
					return err
				}
				cands = append(cands, c)
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return err
			}
			more = len(cands) == page
			peek := txPeek{ctx: ctx, tx: tx, s: s}
			var gone []cand
			var unlocks []func()
			defer func() {
				for _, u := range unlocks {
					u()
				}
			}()
			for _, c := range cands {
				seen++
				after = c.seq
				if n < 0 && c.created >= before {
					more = false
					break
				}
				if n >= 0 && removed+len(gone) >= n {
					more = false
					break
				}
				// An object being updated in this process is busy: skipped,
				// not waited for (its mutex is never awaited under the
				// write lock), as the memory store skips it.
				unlock, free := s.db.objects.tryLock(s.objectKey(kind, c.id))
				if !free {
					continue
				}
				v, err := cfg.Decode(c.doc)
				ok := err == nil && cfg.Evictable(v, peek)
				if !ok {
					unlock()
					continue
				}
				unlocks = append(unlocks, unlock)
				gone = append(gone, c)
			}
			for _, c := range gone {
				if _, err := tx.ExecContext(ctx, s.db.q(`DELETE FROM unique_keys WHERE namespace = ? AND kind = ? AND id = ?`), s.scope.Namespace, kind, c.id); err != nil {
					return err
				}
				if _, err := tx.ExecContext(ctx, s.db.q(`DELETE FROM index_entries WHERE namespace = ? AND kind = ? AND id = ?`), s.scope.Namespace, kind, c.id); err != nil {
					return err
				}
				if _, err := tx.ExecContext(ctx, s.db.q(`DELETE FROM objects WHERE seq = ?`), c.seq); err != nil {
					return err
				}
			}
			removed += len(gone)
			return nil
		})
		if err != nil {
			return removed, fmt.Errorf("evict %s: %w", kind, err)
		}
		if !more {
			break
		}
	}
	return removed, nil
}

// txPeek answers Evictable functions inside the eviction's transaction.
type txPeek struct {
	ctx context.Context
	tx  *sql.Tx
	s   *Store
}

func (p txPeek) Exists(kind, id string) bool {
	var one int
	err := p.tx.QueryRowContext(p.ctx, p.s.db.q(`SELECT 1 FROM objects WHERE namespace = ? AND kind = ? AND id = ?`),
		p.s.scope.Namespace, kind, id).Scan(&one)
	// On an error the object is taken to exist: nothing is evicted on a guess.
	return err == nil || !errors.Is(err, sql.ErrNoRows)
}

// String names the store in messages.
func (s *Store) String() string {
	return strings.Join([]string{s.db.where, "namespace", s.scope.Namespace}, " ")
}
