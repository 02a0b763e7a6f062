package journal

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"time"
)

// Log is where a durable journal keeps its events: a database shared by the
// replicas serving the namespace (package sqlstore). With a Log the journal
// keeps no ring of its own: the database numbers the events as it writes
// them (one sequence per namespace, across replicas), and every read comes
// from it, so that a replica shows the others' events and a restart shows
// what happened before it.
type Log interface {
	// Append hands one event over to be written. It must not wait for the
	// database: the Log batches its writes (and so may lose the last,
	// unwritten batch in a crash).
	Append(Row)
	// Flush writes every event handed over so far.
	Flush(ctx context.Context) error
	// Read returns the rows passing q, in sequence order (newest first when
	// q.Backward), at most q.Limit of them.
	Read(ctx context.Context, q LogQuery) ([]Row, error)
	// Bounds returns the oldest sequence number kept and the newest one
	// given (oldest is last+1 when none is kept).
	Bounds(ctx context.Context) (oldest, last int64, err error)
	// Reset forgets the events handed over and written; the numbering goes
	// on from where it was.
	Reset(ctx context.Context) error
	// Close writes what is pending; Append does nothing afterwards.
	Close() error
}

// LogBackend is a store backend that keeps journals (sqlstore.DB).
type LogBackend interface {
	// Events returns the Log of a namespace keeping at most max events.
	Events(namespace string, max int) Log
}

// Row is an event as a Log keeps it.
type Row struct {
	Seq          int64 // set by the Log
	Time         time.Time
	System, Kind string
	// IDs is the JSON object of the event's ids, names sorted ("{}": none).
	IDs []byte
	// Body is the JSON object of the rest of the event: ids, message and
	// data, as GET /_sim/events writes them.
	Body []byte
}

// LogQuery selects rows: the conditions a database answers from its
// indexes. The journal checks ids exactly on the rows it gets back.
type LogQuery struct {
	After  int64 // seq > After
	Before int64 // seq < Before (0: no bound)
	UpTo   int64 // seq ≤ UpTo (0: no bound)
	System string
	// Kind is exact, or a prefix ending at a dot.
	Kind  string
	Since time.Time // at or after (zero: no bound)
	// IDValues must each appear in the row's IDs (a prefilter: the journal
	// checks the names).
	IDValues []string
	Backward bool
	Limit    int
}

// SetLog makes the journal durable: events go to l instead of the memory
// ring. Call it before the journal is used.
func (j *Journal) SetLog(l Log) { j.log = l }

// Durable reports whether the journal keeps its events in a Log.
func (j *Journal) Durable() bool { return j.log != nil }

// row builds what a Log keeps of a record (its seq is the Log's to give).
func (r *record) row() Row {
	ids := make([]byte, 0, 16+len(r.ids)*32)
	ids = append(ids, '{')
	for i, p := range r.ids {
		if i > 0 {
			ids = append(ids, ',')
		}
		ids = appendString(ids, p.name)
		ids = append(ids, ':')
		ids = appendString(ids, p.value)
	}
	ids = append(ids, '}')
	body := make([]byte, 0, len(ids)+len(r.message)+len(r.data)+40)
	body = append(body, '{')
	if len(r.ids) > 0 {
		body = append(body, `"ids":`...)
		body = append(body, ids...)
	}
	if r.message != "" {
		if len(body) > 1 {
			body = append(body, ',')
		}
		body = append(body, `"message":`...)
		body = appendString(body, r.message)
	}
	if r.data != nil {
		if len(body) > 1 {
			body = append(body, ',')
		}
		body = append(body, `"data":`...)
		body = append(body, r.data...)
	}
	body = append(body, '}')
	return Row{Time: r.time, System: r.system, Kind: r.kind, IDs: ids, Body: body}
}

// rowJSON appends a row as GET /_sim/events writes an event: what
// record.appendJSON writes for the same event.
func rowJSON(b []byte, r *Row, namespace string) []byte {
	b = append(b, `{"seq":`...)
	b = strconv.AppendInt(b, r.Seq, 10)
	b = append(b, `,"time":`...)
	b = appendRedacted(b, "", r.Time)
	if namespace != "" {
		b = append(b, `,"namespace":`...)
		b = appendString(b, namespace)
	}
	b = append(b, `,"system":`...)
	b = appendString(b, r.System)
	b = append(b, `,"kind":`...)
	b = appendString(b, r.Kind)
	if len(r.Body) > 2 {
		b = append(b, ',')
		b = append(b, r.Body[1:]...)
		return b
	}
	return append(b, '}')
}

// rowIDs decodes a row's ids.
func rowIDs(r *Row) map[string]string {
	if len(r.IDs) <= 2 {
		return nil
	}
	var m map[string]string
	if json.Unmarshal(r.IDs, &m) != nil {
		return nil
	}
	return m
}

// rowEvent materialises a row.
func rowEvent(r *Row, namespace string) Event {
	var e Event
	if err := json.Unmarshal(rowJSON(nil, r, namespace), &e); err != nil {
		e = Event{Seq: r.Seq, Time: r.Time, Namespace: namespace, System: r.System, Kind: r.Kind,
			Message: fmt.Sprintf("[stored event unreadable: %v]", err)}
	}
	return e
}

// matchRow checks what the Log could not (exact ids) on a row.
func (f *Filter) matchRow(r *Row) bool {
	if len(f.IDs) == 0 && f.AnyID == "" {
		return true
	}
	return f.Match(Event{Seq: r.Seq, Time: r.Time, System: r.System, Kind: r.Kind, IDs: rowIDs(r)})
}

// logQuery is the part of f a Log answers.
func (f *Filter) logQuery() LogQuery {
	q := LogQuery{After: f.AfterSeq, Before: f.BeforeSeq, System: f.System, Kind: f.Kind, Since: f.Since}
	for _, v := range f.IDs {
		q.IDValues = append(q.IDValues, v)
	}
	if f.AnyID != "" {
		q.IDValues = append(q.IDValues, f.AnyID)
	}
	slices.Sort(q.IDValues)
	q.IDValues = slices.Compact(q.IDValues)
	return q
}

// readBatch is how many rows a read asks the Log for at a time when ids
// are checked here (a few rows of a prefiltered batch may not match).
const readBatch = 500

// logScan calls fn on the rows passing f with seq ≤ upTo, oldest first
// (newest first when backward), until fn returns false.
func (j *Journal) logScan(ctx context.Context, f *Filter, upTo int64, backward bool, want int, fn func(r *Row) bool) error {
	q := f.logQuery()
	q.UpTo, q.Backward = upTo, backward
	exact := len(f.IDs) == 0 && f.AnyID == ""
	for {
		q.Limit = readBatch
		if exact && want > 0 {
			q.Limit = min(want, readBatch)
		}
		rows, err := j.log.Read(ctx, q)
		if err != nil {
			return fmt.Errorf("journal: read: %w", err)
		}
		for i := range rows {
			if f.matchRow(&rows[i]) && !fn(&rows[i]) {
				return nil
			}
		}
		if len(rows) < q.Limit {
			return nil
		}
		last := rows[len(rows)-1].Seq
		if backward {
			q.Before = last
		} else {
			q.After = last
		}
	}
}

// logPage is Page on the Log. The bounds are read first and the page reads
// up to them, so that `next` (LastSeq) never passes an event the page did
// not look at: the Log numbers events in the order they commit.
func (j *Journal) logPage(ctx context.Context, f Filter, forward bool, limit int) (Page, error) {
	if err := j.log.Flush(ctx); err != nil {
		return Page{}, fmt.Errorf("journal: write: %w", err)
	}
	oldest, last, err := j.log.Bounds(ctx)
	if err != nil {
		return Page{}, fmt.Errorf("journal: %w", err)
	}
	p := Page{LastSeq: last, OldestSeq: oldest}
	if last == 0 {
		return p, nil // nothing written yet (and 0 would mean no bound below)
	}
	var rows []Row
	err = j.logScan(ctx, &f, last, !forward, limit+1, func(r *Row) bool {
		if len(rows) == limit {
			p.HasMore = true
			return false
		}
		rows = append(rows, *r)
		return true
	})
	if err != nil {
		return Page{}, err
	}
	if !forward {
		slices.Reverse(rows)
	}
	p.Events = make([]json.RawMessage, len(rows))
	for i := range rows {
		p.Events[i] = rowJSON(nil, &rows[i], j.namespace)
	}
	if len(rows) > 0 {
		p.First, p.Last = rows[0].Seq, rows[len(rows)-1].Seq
	}
	return p, nil
}

// logQueryEvents is Query on the Log.
func (j *Journal) logQueryEvents(ctx context.Context, f Filter) ([]Event, error) {
	if err := j.log.Flush(ctx); err != nil {
		return nil, fmt.Errorf("journal: write: %w", err)
	}
	var out []Event
	err := j.logScan(ctx, &f, 0, f.Limit > 0, f.Limit, func(r *Row) bool {
		out = append(out, rowEvent(r, j.namespace))
		return f.Limit <= 0 || len(out) < f.Limit
	})
	if f.Limit > 0 {
		slices.Reverse(out)
	}
	return out, err
}

// logBounds flushes and returns the Log's bounds.
func (j *Journal) logBounds(ctx context.Context) (oldest, last int64, err error) {
	if err := j.log.Flush(ctx); err != nil {
		return 0, 0, fmt.Errorf("journal: write: %w", err)
	}
	return j.log.Bounds(ctx)
}

// FollowEvery is how often a durable journal with subscribers reads the
// events written since its last look (its own and other replicas'). Wall
// time: it paces polling of a database.
const FollowEvery = 250 * time.Millisecond

// followTimeout bounds one look.
const followTimeout = 5 * time.Second

// follow feeds the subscribers of a durable journal from the Log until none
// is left or the journal closes. It starts at from: the newest event when
// the first subscriber came.
func (j *Journal) follow(from int64) {
	t := time.NewTicker(FollowEvery)
	defer t.Stop()
	last := from
	for {
		select {
		case <-j.closed:
			return
		case <-t.C:
		}
		j.mu.Lock()
		if len(j.subs) == 0 {
			j.following = false
			j.mu.Unlock()
			return
		}
		j.mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), followTimeout)
		if j.log.Flush(ctx) != nil {
			cancel()
			continue // the next look tries again
		}
		for {
			rows, err := j.log.Read(ctx, LogQuery{After: last, Limit: readBatch})
			if err != nil || len(rows) == 0 {
				break
			}
			j.mu.Lock()
			for i := range rows {
				r := &rows[i]
				var e Event
				for _, s := range j.subs {
					if !s.filter.matchLogRow(r) {
						continue
					}
					if e.Seq == 0 {
						e = rowEvent(r, j.namespace)
					}
					select {
					case s.ch <- e:
					default: // a slow reader loses events rather than stalling the others
					}
				}
			}
			j.mu.Unlock()
			last = rows[len(rows)-1].Seq
			if len(rows) < readBatch {
				break
			}
		}
		cancel()
	}
}

// matchLogRow is Match on a row (its ids decoded only when f names some).
func (f *Filter) matchLogRow(r *Row) bool {
	e := Event{Seq: r.Seq, Time: r.Time, System: r.System, Kind: r.Kind}
	if len(f.IDs) > 0 || f.AnyID != "" {
		e.IDs = rowIDs(r)
	}
	return f.Match(e)
}
