// Package sqlstore keeps the simulator's state in a database: SQLite (pure
// Go, modernc.org/sqlite) for one durable process on a laptop, PostgreSQL
// (jackc/pgx) for several processes — replicas — sharing one database.
//
// It implements store.Store on two tables (migrations/): objects, the JSON
// documents by (namespace, kind, id), and unique_keys. Every row carries its
// namespace, so one database serves every namespace of every replica. The
// guarantees are the memory store's, made to hold across processes:
//
//   - Create and Claim take the id and every unique key in one transaction
//     with INSERT … ON CONFLICT DO NOTHING: a taken id is store.ErrIDTaken,
//     a taken key store.ErrExists, and nothing of a refused create remains.
//   - Update takes the object's own mutex in this process, then on
//     PostgreSQL reads the row with SELECT … FOR UPDATE inside the
//     transaction that writes it back, so updates of one object serialise
//     on the row whichever replica runs them. A SQLite file belongs to one
//     process (Open locks it), where the object's mutex is the lock; its
//     writers queue on a mutex for SQLite's one write lock rather than
//     letting SQLite's busy handler poll for it.
//   - Every read is served from the database, never from a cache: a replica
//     never answers with a state another replica has changed.
//
// Retention (store.Retention) applies as in the memory store, by count and
// by age, to the kinds whose table says which objects may go.
package sqlstore

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
	_ "modernc.org/sqlite" // database/sql driver "sqlite"

	"github.com/pspsim/pspsim/simulator/store"
)

//go:embed migrations
var migrations embed.FS

// DB is one opened, migrated database; it is a store.Backend whose stores
// are its namespaces. It is safe for concurrent use.
type DB struct {
	db *sql.DB
	// spare serves what holds a connection while domain code runs (see
	// heldConn) when db's pool is full.
	spare   *sql.DB
	dialect dialect
	where   string // the URL without credentials, for messages
	// wmu orders this process's SQLite writers: SQLite admits one at a time,
	// and its busy handler sleeps in growing steps, which under contention
	// costs far more than waiting in line. Nil for PostgreSQL.
	wmu *sync.Mutex
	// queries caches PostgreSQL's forms of the queries (see q).
	queries sync.Map
	// objects are the objects' locks in this process (Store.Update).
	objects keyedMutex
	// unlockFile lets go of a SQLite file (Open locks it for the process).
	unlockFile func()
	// writer batches the journals' events (events.go), started by the
	// first Events.
	writerOnce sync.Once
	writer     *eventWriter
}

type dialect int

const (
	sqlite dialect = iota
	postgres
)

func (d dialect) String() string {
	if d == postgres {
		return "postgres"
	}
	return "sqlite"
}

// Open opens the database a --store URL names — "sqlite:PATH" (a file,
// created if missing) or "postgres://…" / "postgresql://…" — and applies
// the schema migrations it lacks.
func Open(ctx context.Context, rawURL string) (*DB, error) {
	var (
		d      dialect
		driver string
		dsn    string
		where  string
		// maxConns caps the PostgreSQL pool (pool_max_conns in the URL).
		maxConns = DefaultMaxConns
	)
	switch {
	case strings.HasPrefix(rawURL, "sqlite:"):
		path := strings.TrimPrefix(rawURL, "sqlite:")
		path = strings.TrimPrefix(path, "//")
		if path == "" {
			return nil, errors.New("store: sqlite:PATH needs a file path (sqlite:/var/lib/pspsim/state.db)")
		}
		if strings.ContainsAny(path, "?#") {
			return nil, fmt.Errorf("store: sqlite:%s: the path may not hold ? or #", path)
		}
		d, driver, where = sqlite, "sqlite", "sqlite:"+path
		// WAL lets readers run beside the writer; synchronous=NORMAL in WAL
		// mode makes a committed transaction survive the process's crash
		// (SIGKILL, an out-of-memory kill), though not necessarily a power
		// cut; foreign keys are not used. _txlock=immediate takes the write
		// lock at BEGIN, so a read-then-write transaction cannot deadlock.
		q := url.Values{}
		q.Add("_pragma", "busy_timeout(10000)")
		q.Add("_pragma", "journal_mode(WAL)")
		q.Add("_pragma", "synchronous(NORMAL)")
		q.Set("_txlock", "immediate")
		dsn = "file:" + path + "?" + q.Encode()
	case strings.HasPrefix(rawURL, "postgres://"), strings.HasPrefix(rawURL, "postgresql://"):
		u, err := url.Parse(rawURL)
		if err != nil {
			return nil, fmt.Errorf("store: %s: not a URL", Redact(rawURL))
		}
		q := u.Query()
		if v := q.Get("pool_max_conns"); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 {
				return nil, fmt.Errorf("store: %s: pool_max_conns=%q: want a whole number of connections, at least 1", Redact(u.String()), v)
			}
			maxConns = n
			// pgx would send it to the server as a setting.
			q.Del("pool_max_conns")
			u.RawQuery = q.Encode()
		}
		d, dsn, where = postgres, u.String(), Redact(u.String())
	default:
		return nil, fmt.Errorf("%q: want memory, sqlite:PATH or postgres://…", Redact(rawURL))
	}
	var (
		db, spare *sql.DB
		err       error
	)
	if d == postgres {
		c, err := newPatientConnector(dsn)
		if err != nil {
			return nil, fmt.Errorf("store: %s: %w", where, err)
		}
		db, spare = sql.OpenDB(c), sql.OpenDB(c)
	} else {
		if db, err = sql.Open(driver, dsn); err == nil {
			spare, err = sql.Open(driver, dsn)
		}
		if err != nil {
			return nil, fmt.Errorf("store: open %s: %w", where, err)
		}
	}
	// The spare pool keeps nothing idle: its connections are for the
	// moments the main pool is full, and go when they are done.
	spare.SetMaxIdleConns(0)
	s := &DB{db: db, spare: spare, dialect: d, where: where, unlockFile: func() {}}
	if d == sqlite {
		if s.unlockFile, err = lockFile(strings.TrimPrefix(where, "sqlite:")); err != nil {
			db.Close()
			return nil, err
		}
		s.wmu = new(sync.Mutex)
		// Readers share the pool; the writer is one at a time (wmu).
		db.SetMaxOpenConns(8)
	} else {
		// A capped pool: a burst (a restarted replica taking over
		// hundreds of jobs at once, a load test) queues for connections
		// here instead of meeting the server's max_connections, where
		// writes would fail. What holds a connection while domain code
		// runs — an update's function, a listing's callback — may ask for
		// another inside (a payment binding its 3-D Secure transaction):
		// heldConn takes that from the spare pool when this one stays
		// full, so a pool full of outer updates never waits forever for
		// their inner ones.
		db.SetMaxOpenConns(maxConns)
		db.SetMaxIdleConns(maxConns)
	}
	if err := db.PingContext(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("store: %s: %w", where, err)
	}
	if err := s.migrate(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// migrate applies the dialect's migrations (migrations/DIALECT/*.sql) that
// the database lacks. On PostgreSQL a session advisory lock makes replicas
// starting together take turns: the first migrates, the others find nothing
// left to do.
func (s *DB) migrate(ctx context.Context) error {
	sub, err := fs.Sub(migrations, "migrations/"+s.dialect.String())
	if err != nil {
		return err
	}
	var opts []goose.ProviderOption
	gd := goose.DialectSQLite3
	if s.dialect == postgres {
		gd = goose.DialectPostgres
		locker, err := lock.NewPostgresSessionLocker()
		if err != nil {
			return fmt.Errorf("store: migration lock: %w", err)
		}
		opts = append(opts, goose.WithSessionLocker(locker))
	}
	p, err := goose.NewProvider(gd, s.db, sub, opts...)
	if err != nil {
		return fmt.Errorf("store: migrations: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("store: migrate %s: %w", s.where, err)
	}
	return nil
}

// Version returns the schema version applied (the newest migration's number).
func (s *DB) Version(ctx context.Context) (int64, error) {
	var v sql.NullInt64
	err := s.db.QueryRowContext(ctx, `SELECT MAX(version_id) FROM goose_db_version WHERE is_applied`).Scan(&v)
	return v.Int64, err
}

// Close closes the database; the stores made from it must not be used
// afterwards.
func (s *DB) Close() error {
	s.closeEvents()
	err := s.db.Close()
	s.spare.Close()
	s.unlockFile()
	return err
}

// DefaultMaxConns is the PostgreSQL pool's cap when the URL gives no
// pool_max_conns: two replicas and a few other clients fit in the server's
// default max_connections (100).
const DefaultMaxConns = 32

// poolWait is how long heldConn waits for the main pool before it tries a
// spare connection, and spareWait how long it waits for that one (the
// server may be full) before it looks at the main pool again.
const (
	poolWait  = 100 * time.Millisecond
	spareWait = 500 * time.Millisecond
	// heldPatience bounds heldConn's whole wait.
	heldPatience = 30 * time.Second
)

// heldConn returns a connection for work that calls domain code while it
// holds it (Update's function, the callbacks of Find and List), which may
// need a connection of its own meanwhile. It comes from the main pool if
// one frees up within poolWait, else from the spare pool: when every
// connection of the main pool is held by such work, each waiting for
// another, the spare connections let the inner work finish. A server too
// full for a spare connection sends it back to the main pool, whose idle
// connections hold the server's places. Close it when done.
func (s *DB) heldConn(ctx context.Context) (*sql.Conn, error) {
	// wall time: how long to wait for a connection, not domain time.
	give := time.Now().Add(heldPatience)
	for {
		wctx, cancel := context.WithTimeout(ctx, poolWait)
		c, err := s.db.Conn(wctx)
		cancel()
		if err == nil || ctx.Err() != nil {
			return c, err
		}
		sctx, cancel := context.WithTimeout(ctx, spareWait)
		c, err = s.spare.Conn(sctx)
		cancel()
		if err == nil || ctx.Err() != nil || !errors.Is(err, context.DeadlineExceeded) || time.Now().After(give) {
			return c, err
		}
	}
}

// writeHeld is write on a heldConn.
func (s *DB) writeHeld(ctx context.Context, fn func(tx *sql.Tx) error) error {
	c, err := s.heldConn(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	tx, err := c.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

// SingleProcess reports whether the database belongs to this process alone
// (a SQLite file, locked by Open): its pending jobs are all this
// process's at start, whatever their leases say.
func (s *DB) SingleProcess() bool { return s.dialect == sqlite }

// Name implements store.Backend.
func (s *DB) Name() string { return s.dialect.String() }

// Where returns the database's URL without its password.
func (s *DB) Where() string { return s.where }

// Store implements store.Backend: the rows of one namespace.
func (s *DB) Store(_ context.Context, sc store.Scope) (store.Store, error) {
	return s.Namespace(sc), nil
}

// Namespace returns the store of one scope.
func (s *DB) Namespace(sc store.Scope) *Store {
	return &Store{db: s, scope: sc, kinds: map[string]*kindState{}}
}

// SQL returns the underlying database, for tests and tools.
func (s *DB) SQL() *sql.DB { return s.db }

// Redact hides the password of a database URL, for messages and logs.
func Redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return raw
	}
	if _, has := u.User.Password(); has {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.String()
}

// q rewrites a query written with ? placeholders for the dialect (once per
// query text).
func (s *DB) q(query string) string {
	if s.dialect != postgres {
		return query
	}
	if v, ok := s.queries.Load(query); ok {
		return v.(string)
	}
	v := numbered(query)
	s.queries.Store(query, v)
	return v
}

// numbered turns ? placeholders into PostgreSQL's $1, $2…
func numbered(query string) string {
	var b strings.Builder
	n := 0
	for _, c := range query {
		if c == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteRune(c)
	}
	return b.String()
}

// write runs fn in a write transaction: on SQLite, after this process's
// other writers (wmu).
func (s *DB) write(ctx context.Context, fn func(tx *sql.Tx) error) error {
	if s.wmu != nil {
		s.wmu.Lock()
		defer s.wmu.Unlock()
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}
