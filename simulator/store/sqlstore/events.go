package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pspsim/pspsim/simulator/journal"
)

// The journal on the database (table events, migration 00005): each
// namespace's journal hands its events to the process's one writer, which
// batches them — a transaction per namespace every FlushEvery or when
// FlushRows wait, and whenever a reader of that namespace asks (Flush) — so
// that recording an event, several times per request, never waits for the
// database. A crash loses at most the batch not yet written: up to
// FlushEvery of events (docs/DURABLE.md).
//
// Sequence numbers are the counter journal/seq in sim_counters, added to in
// the transaction that inserts the batch: the counter's row lock orders the
// replicas' batches, so numbers are given in commit order and a reader that
// has seen seq n has seen every committed event before it.

const (
	// FlushEvery is how long an event may wait to be written. Wall time:
	// it paces the writes to a database.
	FlushEvery = 100 * time.Millisecond
	// FlushRows is how many waiting events make the writer write at once.
	FlushRows = 512
	// maxPending bounds the events kept while the database refuses writes:
	// beyond it the oldest batch is dropped rather than the process's
	// memory grown without end.
	maxPending = 100_000
	// insertRows is how many rows one INSERT carries (7 parameters each,
	// well under both databases' limits).
	insertRows = 500
	seqCounter = "journal/seq"
)

// Events implements the journal's durable log of one namespace, keeping at
// most max events (a tenth more between trims).
func (s *DB) Events(namespace string, max int) journal.Log {
	s.startWriter()
	if max <= 0 {
		max = journal.DefaultMax
	}
	return &eventLog{w: s.writer, ns: namespace, max: int64(max)}
}

// startWriter starts the process's writer once.
func (s *DB) startWriter() {
	s.writerOnce.Do(func() {
		s.writer = &eventWriter{db: s, pending: map[*eventLog][]journal.Row{}, wake: make(chan struct{}, 1),
			stop: make(chan struct{}), done: make(chan struct{})}
		go s.writer.run()
	})
}

// closeEvents writes what is pending and stops the writer (DB.Close). A
// Log asked for afterwards takes nothing (its writer is stopped).
func (s *DB) closeEvents() {
	s.startWriter()
	s.writer.close()
}

// eventWriter batches the process's event writes.
type eventWriter struct {
	db *DB

	mu      sync.Mutex
	pending map[*eventLog][]journal.Row
	n       int // rows pending
	stopped bool
	wake    chan struct{}

	// fmu makes flushes and resets take turns, so that a reset never
	// races a batch of the events it forgets.
	fmu sync.Mutex

	stop, done chan struct{}
	closeOnce  sync.Once
}

func (w *eventWriter) append(l *eventLog, r journal.Row) {
	w.mu.Lock()
	if w.stopped {
		w.mu.Unlock()
		return
	}
	w.pending[l] = append(w.pending[l], r)
	w.n++
	if w.n > maxPending {
		w.dropOldest()
	}
	first, full := w.n == 1, w.n >= FlushRows
	w.mu.Unlock()
	if first || full {
		select {
		case w.wake <- struct{}{}:
		default:
		}
	}
}

// dropOldest drops the largest waiting batch's older half (w.mu held).
func (w *eventWriter) dropOldest() {
	var big *eventLog
	for l, rows := range w.pending {
		if big == nil || len(rows) > len(w.pending[big]) {
			big = l
		}
	}
	rows := w.pending[big]
	cut := max(len(rows)/2, 1)
	w.pending[big] = append([]journal.Row(nil), rows[cut:]...)
	w.n -= cut
	big.dropped.Add(int64(cut))
}

func (w *eventWriter) run() {
	defer close(w.done)
	for {
		select {
		case <-w.stop:
			return
		case <-w.wake:
		}
		// Gather for FlushEvery, unless a full batch is waiting already.
		w.mu.Lock()
		full := w.n >= FlushRows
		w.mu.Unlock()
		if !full {
			t := time.NewTimer(FlushEvery)
			select {
			case <-w.stop:
				t.Stop()
				return
			case <-t.C:
			case <-w.wake:
				t.Stop()
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		w.flush(ctx, nil) // an error leaves the rows pending: the next flush tries again
		cancel()
		w.mu.Lock()
		again := w.n > 0
		w.mu.Unlock()
		if again {
			select {
			case w.wake <- struct{}{}:
			default:
			}
		}
	}
}

// flush writes the pending rows of only (nil: of every namespace).
func (w *eventWriter) flush(ctx context.Context, only *eventLog) error {
	w.fmu.Lock()
	defer w.fmu.Unlock()
	w.mu.Lock()
	batches := map[*eventLog][]journal.Row{}
	for l, rows := range w.pending {
		if only == nil || l == only {
			batches[l] = rows
			delete(w.pending, l)
			w.n -= len(rows)
		}
	}
	w.mu.Unlock()
	var first error
	for l, rows := range batches {
		if err := l.write(ctx, rows); err != nil {
			// Back in front of what came meanwhile, to be tried again.
			w.mu.Lock()
			w.pending[l] = append(rows, w.pending[l]...)
			w.n += len(rows)
			w.mu.Unlock()
			if first == nil {
				first = err
			}
		}
	}
	return first
}

// forget drops the pending rows of l (w.fmu held).
func (w *eventWriter) forget(l *eventLog) {
	w.mu.Lock()
	w.n -= len(w.pending[l])
	delete(w.pending, l)
	w.mu.Unlock()
}

func (w *eventWriter) close() {
	w.closeOnce.Do(func() {
		close(w.stop)
		<-w.done
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		w.flush(ctx, nil)
		w.mu.Lock()
		w.stopped = true
		w.mu.Unlock()
	})
}

// eventLog is one namespace's journal.Log.
type eventLog struct {
	w   *eventWriter
	ns  string
	max int64

	// seen is the newest seq this process has written or read: a reset
	// (which empties sim_counters with the rest of the namespace) goes on
	// numbering above it.
	seen atomic.Int64
	// dropped counts the events lost while the database refused writes.
	dropped atomic.Int64
	// sinceTrim counts the events written since the last trim (w.fmu).
	sinceTrim int64
	closed    atomic.Bool
}

// saw raises seen to n.
func (l *eventLog) saw(n int64) {
	for {
		cur := l.seen.Load()
		if n <= cur || l.seen.CompareAndSwap(cur, n) {
			return
		}
	}
}

// Append implements journal.Log.
func (l *eventLog) Append(r journal.Row) {
	if l.closed.Load() {
		return
	}
	l.w.append(l, r)
}

// Flush implements journal.Log. It waits for a batch the writer is
// writing, even when nothing of l is pending any more: the writer may have
// taken l's rows and not committed them yet, and a read after Flush must
// see them (a replica sees its own events at once).
func (l *eventLog) Flush(ctx context.Context) error {
	return l.w.flush(ctx, l)
}

// Close implements journal.Log.
func (l *eventLog) Close() error {
	if l.closed.Swap(true) {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return l.w.flush(ctx, l)
}

// write stores rows, numbering them, in one transaction per insertRows,
// and trims the namespace's oldest events when a tenth of its limit was
// written since the last trim (w.fmu held).
func (l *eventLog) write(ctx context.Context, rows []journal.Row) error {
	for len(rows) > 0 {
		chunk := rows[:min(len(rows), insertRows)]
		trim := l.sinceTrim+int64(len(chunk)) >= max(l.max/10, 1)
		last, err := l.insert(ctx, chunk, trim)
		if err != nil {
			return fmt.Errorf("events %s: %w", l.ns, err)
		}
		if trim {
			l.sinceTrim = 0
		} else {
			l.sinceTrim += int64(len(chunk))
		}
		l.saw(last)
		rows = rows[len(chunk):]
	}
	return nil
}

// Statements of write: the batch's numbers, taken with the counter's row
// lock (held to commit, so batches are numbered in commit order), and the
// trim.
const (
	numberBatch = `INSERT INTO sim_counters (namespace, name, n) VALUES (?, ?, ?)
ON CONFLICT (namespace, name) DO UPDATE SET n = sim_counters.n + excluded.n
RETURNING n`
	trimEvents = `DELETE FROM events WHERE namespace = ? AND seq <= ?`
)

// insert stores a chunk with one multi-row INSERT and returns the last
// number given. (PostgreSQL's COPY, through pgx, measured no cheaper here:
// BenchmarkJournal's written, 96–124 µs an event against 62–74.)
func (l *eventLog) insert(ctx context.Context, chunk []journal.Row, trim bool) (int64, error) {
	db := l.w.db
	var last int64
	err := db.write(ctx, func(tx *sql.Tx) error {
		if err := tx.QueryRowContext(ctx, db.q(numberBatch), l.ns, seqCounter, len(chunk)).Scan(&last); err != nil {
			return fmt.Errorf("number: %w", err)
		}
		var b strings.Builder
		b.WriteString(`INSERT INTO events (namespace, seq, at, system, kind, ids, body) VALUES `)
		args := make([]any, 0, len(chunk)*7)
		first := last - int64(len(chunk)) + 1
		for i := range chunk {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(`(?, ?, ?, ?, ?, ?, ?)`)
			args = append(args, l.values(&chunk[i], first+int64(i))...)
		}
		if _, err := tx.ExecContext(ctx, db.q(b.String()), args...); err != nil {
			return fmt.Errorf("insert: %w", err)
		}
		if trim {
			if _, err := tx.ExecContext(ctx, db.q(trimEvents), l.ns, last-l.max); err != nil {
				return fmt.Errorf("trim: %w", err)
			}
		}
		return nil
	})
	return last, err
}

// values are a row's columns. System and kind come from code, but a text
// column must be UTF-8: anything else is replaced rather than refused.
func (l *eventLog) values(r *journal.Row, seq int64) []any {
	return []any{l.ns, seq, r.Time.UnixNano(), strings.ToValidUTF8(r.System, "?"), strings.ToValidUTF8(r.Kind, "?"), string(r.IDs), r.Body}
}

// Bounds implements journal.Log. The newest number is the counter's, which
// goes on after the events are dropped (as the memory journal's does).
func (l *eventLog) Bounds(ctx context.Context) (oldest, last int64, err error) {
	db := l.w.db.db
	err = db.QueryRowContext(ctx, l.w.db.q(`SELECT n FROM sim_counters WHERE namespace = ? AND name = ?`), l.ns, seqCounter).Scan(&last)
	if errors.Is(err, sql.ErrNoRows) {
		last, err = 0, nil
	}
	if err != nil {
		return 0, 0, fmt.Errorf("events %s: bounds: %w", l.ns, err)
	}
	var lo sql.NullInt64
	if err := db.QueryRowContext(ctx, l.w.db.q(`SELECT MIN(seq) FROM events WHERE namespace = ?`), l.ns).Scan(&lo); err != nil {
		return 0, 0, fmt.Errorf("events %s: bounds: %w", l.ns, err)
	}
	l.saw(last)
	if !lo.Valid {
		return last + 1, last, nil
	}
	return lo.Int64, last, nil
}

// Read implements journal.Log.
func (l *eventLog) Read(ctx context.Context, q journal.LogQuery) ([]journal.Row, error) {
	var (
		b    strings.Builder
		args = []any{l.ns, q.After}
	)
	b.WriteString(`SELECT seq, at, system, kind, ids, body FROM events WHERE namespace = ? AND seq > ?`)
	if q.Before > 0 {
		b.WriteString(` AND seq < ?`)
		args = append(args, q.Before)
	}
	if q.UpTo > 0 {
		b.WriteString(` AND seq <= ?`)
		args = append(args, q.UpTo)
	}
	if q.System != "" {
		b.WriteString(` AND system = ?`)
		args = append(args, q.System)
	}
	if q.Kind != "" {
		// The kind or any below it: "delivery" is "delivery" and
		// "delivery.…", the range ['delivery.', 'delivery/') ('/' follows
		// '.'), which the index serves without LIKE's escaping.
		b.WriteString(` AND (kind = ? OR (kind >= ? AND kind < ?))`)
		args = append(args, q.Kind, q.Kind+".", q.Kind+"/")
	}
	if !q.Since.IsZero() {
		b.WriteString(` AND at >= ?`)
		args = append(args, q.Since.UnixNano())
	}
	for _, v := range q.IDValues {
		b.WriteString(` AND ids LIKE ? ESCAPE '\'`)
		args = append(args, "%"+likeEscape(string(journal.AppendString(nil, v)))+"%")
	}
	if q.Backward {
		b.WriteString(` ORDER BY seq DESC`)
	} else {
		b.WriteString(` ORDER BY seq`)
	}
	if q.Limit > 0 {
		b.WriteString(` LIMIT ?`)
		args = append(args, q.Limit)
	}
	rows, err := l.w.db.db.QueryContext(ctx, l.w.db.q(b.String()), args...)
	if err != nil {
		return nil, fmt.Errorf("events %s: read: %w", l.ns, err)
	}
	defer rows.Close()
	var out []journal.Row
	for rows.Next() {
		var (
			r   journal.Row
			at  int64
			ids string
		)
		if err := rows.Scan(&r.Seq, &at, &r.System, &r.Kind, &ids, &r.Body); err != nil {
			return nil, fmt.Errorf("events %s: read: %w", l.ns, err)
		}
		r.Time, r.IDs = time.Unix(0, at), []byte(ids)
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("events %s: read: %w", l.ns, err)
	}
	return out, nil
}

// likeEscape escapes LIKE's wildcards and its escape character.
func likeEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// Reset implements journal.Log: the waiting events are dropped and the
// namespace's rows deleted; the counter (emptied by Store.Reset with the
// rest of the namespace) is set back to at least the newest number this
// process saw, so that numbers never repeat for a reader polling with
// `after`.
func (l *eventLog) Reset(ctx context.Context) error {
	l.w.fmu.Lock()
	defer l.w.fmu.Unlock()
	l.w.forget(l)
	db := l.w.db
	err := db.write(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, db.q(`DELETE FROM events WHERE namespace = ?`), l.ns); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, db.q(`INSERT INTO sim_counters (namespace, name, n) VALUES (?, ?, ?)
ON CONFLICT (namespace, name) DO UPDATE SET n = CASE WHEN sim_counters.n > excluded.n THEN sim_counters.n ELSE excluded.n END`),
			l.ns, seqCounter, l.seen.Load())
		return err
	})
	if err != nil {
		return fmt.Errorf("events %s: reset: %w", l.ns, err)
	}
	l.sinceTrim = 0
	return nil
}
