// Package journal is the simulator's record of what happened: every request a
// system received or sent, every delivery attempt, every state change. Tests,
// the conformance suite and QA read it (GET /_sim/events) to judge behaviour
// from the outside. Everything recorded is redacted first: card numbers are
// masked and secrets removed, whatever the caller passed.
//
// Events are kept compact — redacted and encoded once, when recorded; the
// data as its JSON — and indexed by system, kind (and every dotted prefix
// of it) and id, so that a filtered page costs what it returns, not the
// size of the journal. The journal keeps at most its limit of events,
// dropping the oldest.
package journal

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pspsim/pspsim/simulator/clock"
	"github.com/pspsim/pspsim/simulator/pan"
)

// Event is one recorded fact.
type Event struct {
	Seq  int64     `json:"seq"`
	Time time.Time `json:"time"`
	// Namespace is the simulator's namespace ("default" at the root URLs):
	// every event says which sandbox of a shared server it happened in.
	Namespace string            `json:"namespace,omitempty"`
	System    string            `json:"system"`            // genstore, codepay, vmgateway, threeds, sim, faults
	Kind      string            `json:"kind"`              // dotted: "payment.created", "delivery.attempt"
	IDs       map[string]string `json:"ids,omitempty"`     // the objects it concerns: shopId, paymentId, orderNo...
	Message   string            `json:"message,omitempty"` // one human sentence
	// Data holds details, redacted. The journal keeps them as JSON: Query
	// gives them back as encoding/json decodes them (numbers as float64),
	// exactly what readers of GET /_sim/events see.
	Data map[string]any `json:"data,omitempty"`
}

// Filter selects events. Zero fields match everything.
type Filter struct {
	System    string
	Kind      string            // exact, or a prefix ending at a dot: "delivery" matches "delivery.attempt"
	IDs       map[string]string // every pair must match
	AnyID     string            // matches when any id value equals it
	AfterSeq  int64             // only events with Seq > AfterSeq
	BeforeSeq int64             // only events with Seq < BeforeSeq (0: no bound)
	Since     time.Time         // only events at or after Since
	Limit     int               // at most Limit events (the newest); 0 = no limit
}

// Match reports whether e passes the filter.
func (f Filter) Match(e Event) bool {
	if f.System != "" && e.System != f.System {
		return false
	}
	if f.Kind != "" && e.Kind != f.Kind && !strings.HasPrefix(e.Kind, f.Kind+".") {
		return false
	}
	for k, v := range f.IDs {
		if e.IDs[k] != v {
			return false
		}
	}
	if f.AnyID != "" {
		found := false
		for _, v := range e.IDs {
			if v == f.AnyID {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	if e.Seq <= f.AfterSeq || (f.BeforeSeq > 0 && e.Seq >= f.BeforeSeq) {
		return false
	}
	if !f.Since.IsZero() && e.Time.Before(f.Since) {
		return false
	}
	return true
}

// record is an event as kept: redacted, its data encoded.
type record struct {
	seq     int64
	time    time.Time
	system  string
	kind    string
	ids     []idPair // sorted by name
	message string
	data    []byte // the data's JSON, or nil
}

type idPair struct{ name, value string }

func (r *record) id(name string) (string, bool) {
	for _, p := range r.ids {
		if p.name == name {
			return p.value, true
		}
	}
	return "", false
}

func (r *record) match(f *Filter) bool {
	if f.System != "" && r.system != f.System {
		return false
	}
	if f.Kind != "" && r.kind != f.Kind && !strings.HasPrefix(r.kind, f.Kind+".") {
		return false
	}
	for k, v := range f.IDs {
		if got, ok := r.id(k); !ok || got != v {
			return false
		}
	}
	return r.matchRest(f)
}

// matchRest is what match checks after the ids a filter names.
func (r *record) matchRest(f *Filter) bool {
	if f.AnyID != "" && !slices.ContainsFunc(r.ids, func(p idPair) bool { return p.value == f.AnyID }) {
		return false
	}
	if r.seq <= f.AfterSeq || (f.BeforeSeq > 0 && r.seq >= f.BeforeSeq) {
		return false
	}
	return f.Since.IsZero() || !r.time.Before(f.Since)
}

// matchEvent is f.Match of the record's event, without making it (a map of
// its ids for each subscriber, on every event): Match takes an id the event
// does not name for "", which a filter may ask for (TestMatchEventIsMatch).
func (r *record) matchEvent(f *Filter) bool {
	if f.System != "" && r.system != f.System {
		return false
	}
	if f.Kind != "" && r.kind != f.Kind && !strings.HasPrefix(r.kind, f.Kind+".") {
		return false
	}
	for k, v := range f.IDs {
		if got, _ := r.id(k); got != v {
			return false
		}
	}
	return r.matchRest(f)
}

// event materialises a record (its data decoded).
func (r *record) event(namespace string) Event {
	e := Event{Seq: r.seq, Time: r.time, Namespace: namespace, System: r.system, Kind: r.kind, Message: r.message}
	if len(r.ids) > 0 {
		e.IDs = make(map[string]string, len(r.ids))
		for _, p := range r.ids {
			e.IDs[p.name] = p.value
		}
	}
	if r.data != nil {
		json.Unmarshal(r.data, &e.Data)
	}
	return e
}

// appendJSON appends the event's JSON, as json.Marshal(Event) would write it.
func (r *record) appendJSON(b []byte, namespace string) []byte {
	b = append(b, `{"seq":`...)
	b = strconv.AppendInt(b, r.seq, 10)
	b = append(b, `,"time":`...)
	b = appendRedacted(b, "", r.time)
	if namespace != "" {
		b = append(b, `,"namespace":`...)
		b = appendString(b, namespace)
	}
	b = append(b, `,"system":`...)
	b = appendString(b, r.system)
	b = append(b, `,"kind":`...)
	b = appendString(b, r.kind)
	if len(r.ids) > 0 {
		b = append(b, `,"ids":{`...)
		for i, p := range r.ids {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, p.name)
			b = append(b, ':')
			b = appendString(b, p.value)
		}
		b = append(b, '}')
	}
	if r.message != "" {
		b = append(b, `,"message":`...)
		b = appendString(b, r.message)
	}
	if r.data != nil {
		b = append(b, `,"data":`...)
		b = append(b, r.data...)
	}
	return append(b, '}')
}

// Journal is an append-only, bounded, goroutine-safe event log.
type Journal struct {
	clock     clock.Clock
	max       int
	namespace string // set before use (SetNamespace), read without the lock

	mu    sync.Mutex
	seq   int64
	first int64 // the oldest seq kept (seq+1 when empty)
	// events holds the records in chunks of chunkSize, the first chunk's
	// first slot being seq base: appending never copies what is kept, and
	// dropping the oldest frees whole chunks.
	events []*chunk
	base   int64
	last   time.Time
	// The indexes cover the events up to indexed: the first query after
	// events were recorded brings them up to date, so that recording (several
	// times per request) does not pay for them.
	indexed int64
	intern  map[string]string
	recent  [8]string          // the strings interned last (internString), a ring
	recentN uint8              // where the next one goes in recent
	lastIDs []idPair           // the ids of the newest event (keepIDs)
	lastRaw []idPair           // lastIDs as given, before masking, or nil (keepIDs)
	systems map[string][]int64 // system → seqs
	kinds   map[string][]int64 // kind and each dotted prefix of it → seqs
	values  map[string][]int64 // id value → seqs (a name=value filter checks the name)
	subs    map[int]*subscriber
	nextID  int
	// idSlab is where the ids of events are kept (keepIDs); slabs are
	// where their data is, encoded in place (takeSlab).
	idSlab []idPair
	slabs  [][]byte

	// log, when set (SetLog), keeps the events instead of the ring.
	log Log
	// following says a goroutine feeds the subscribers from the log.
	following bool
	closed    chan struct{}
	closeOnce sync.Once
}

type subscriber struct {
	ch     chan Event
	filter Filter
}

// DefaultMax is how many events a journal keeps before dropping the oldest
// (`pspsim serve --retain-events`).
const DefaultMax = 60_000

// New returns a journal stamping events with c, keeping at most max events
// (DefaultMax when max ≤ 0).
func New(c clock.Clock, max int) *Journal {
	if max <= 0 {
		max = DefaultMax
	}
	j := &Journal{clock: c, max: max, subs: map[int]*subscriber{}, closed: make(chan struct{})}
	j.clear()
	return j
}

// SetNamespace names the namespace every event carries. Call it before the
// journal is used: it is read without the lock.
func (j *Journal) SetNamespace(ns string) { j.namespace = ns }

const chunkSize = 1024

type chunk [chunkSize]record

// clear empties the events and indexes, letting go of their memory. The
// caller holds j.mu (or owns j).
func (j *Journal) clear() {
	j.events = nil
	j.first = j.seq + 1
	j.base = j.first
	j.indexed = j.seq
	j.intern, j.recent = map[string]string{}, [8]string{}
	j.lastIDs, j.lastRaw, j.idSlab, j.slabs = nil, nil, nil, nil
	j.systems = map[string][]int64{}
	j.kinds = map[string][]int64{}
	j.values = map[string][]int64{}
}

// Record redacts e, stamps it with the next sequence number and the clock's
// time, and stores it. It returns the event's sequence number, time, system
// and kind (Query reads the rest back, redacted). With a Log the number is
// this process's count: the Log numbers the event when it writes it.
func (j *Journal) Record(e Event) Event {
	return j.RecordFields(e, nil, nil)
}

// RecordFields is Record with more ids and data given as lists (see Field):
// ids are added to e.IDs and fields to e.Data, a name given twice taking
// its last value (a list's over a map's), as in a map. The event kept is
// the one Record would keep of the maps of the same entries.
func (j *Journal) RecordFields(e Event, ids []ID, fields []Field) Event {
	r := record{message: pan.Scrub(e.Message)}
	var idBuf [8]idPair
	pairs := idsOf(idBuf[:0], e.IDs, ids)
	// The previous event's ids, as given and masked (see maskIDs): lists
	// never changed once kept, read after the lock is let go of.
	var lastRaw, lastIDs []idPair
	// slab is the slab the data is encoded at the end of (at start), or nil.
	var slab []byte
	start := 0
	if e.Data != nil || fields != nil {
		j.mu.Lock()
		slab = j.takeSlab()
		lastRaw, lastIDs = j.lastRaw, j.lastIDs
		j.mu.Unlock()
	}
	masked := maskIDs(pairs, lastRaw, lastIDs)
	if slab != nil {
		start = len(slab)
		b := dataJSON(slab, e.Data, fields)
		if cap(b) == cap(slab) {
			r.data, slab = b[start:len(b):len(b)], b
		} else {
			// append moved it to a new array (holding the slab's bytes
			// too): it takes its own copy, and the slab stays as it was.
			r.data = append([]byte(nil), b[start:]...)
		}
	}
	now := j.clock.Now()
	j.mu.Lock()
	if now.Before(j.last) {
		now = j.last // events are in order, in time as in sequence
	}
	j.last = now
	j.seq++
	r.seq, r.time = j.seq, now
	r.system, r.kind = j.internString(e.System), j.internString(e.Kind)
	r.ids = j.keepIDs(pairs, masked)
	if j.log != nil {
		// Handed over in order, under the lock; the subscribers are fed
		// from the log (follow), with its numbers. The row holds a copy of
		// the data, whose place in the slab is used again.
		j.log.Append(r.row())
		if slab != nil {
			j.putSlab(slab[:start])
		}
		j.mu.Unlock()
		return Event{Seq: r.seq, Time: r.time, Namespace: j.namespace, System: r.system, Kind: r.kind, Message: r.message}
	}
	if slab != nil {
		j.putSlab(slab)
	}
	i := r.seq - j.base
	if int(i/chunkSize) == len(j.events) {
		j.events = append(j.events, new(chunk))
	}
	j.events[i/chunkSize][i%chunkSize] = r
	if n := j.count(); n > j.max {
		// Drop the oldest tenth at once so that trimming the indexes stays
		// amortised O(1) per event.
		j.drop(n - j.max + j.max/10)
	}
	var out Event
	for _, s := range j.subs {
		if r.matchEvent(&s.filter) {
			if out.Seq == 0 {
				out = r.event(j.namespace)
			}
			select {
			case s.ch <- out:
			default: // a slow reader loses events rather than stalling the simulator
			}
		}
	}
	j.mu.Unlock()
	return Event{Seq: r.seq, Time: r.time, Namespace: j.namespace, System: r.system, Kind: r.kind, Message: r.message}
}

// keepIDs returns the ids of an event to keep, pairs (scratch space) or
// nil: the previous event's when they are the same — a payment's events
// follow one another naming the same objects (3-D Secure's authentication
// and its binding), and a kept list is never changed — else a copy.
// masked says that masking (maskIDs) changed a value of pairs: unless it
// did, the next event masks its ids knowing these (lastRaw). The caller
// holds j.mu.
func (j *Journal) keepIDs(pairs []idPair, masked bool) []idPair {
	if len(pairs) == 0 {
		return nil
	}
	if !slices.Equal(pairs, j.lastIDs) {
		if len(pairs) > cap(j.idSlab)-len(j.idSlab) {
			j.idSlab = make([]idPair, 0, max(idSlabSize, len(pairs)))
		}
		n := len(j.idSlab)
		j.idSlab = append(j.idSlab, pairs...)
		j.lastIDs = j.idSlab[n:len(j.idSlab):len(j.idSlab)]
		// The ids as given are the ones kept, unless masking changed one:
		// then none is known (the next event masks its own), so that the
		// journal never holds a card number, even where nothing reads it.
		// lastRaw[i] masks to lastIDs[i].
		j.lastRaw = j.lastIDs
		if masked {
			j.lastRaw = nil
		}
	}
	return j.lastIDs
}

// idSlabSize is how many ids one allocation holds for the events that keep
// them: an allocation per event was a tenth of recording one. The events
// are dropped in the order they were recorded, so a slab is let go of soon
// after its last event is, and at most one is partly empty.
const idSlabSize = 256

// takeSlab returns a slab to encode an event's data at the end of, with
// at least slabRoom bytes of room, for the caller alone until it gives it
// back (putSlab). The data is kept where it is encoded: neither an
// allocation per event nor a copy from scratch space, which were a fifth of
// recording one. The caller holds j.mu.
func (j *Journal) takeSlab() []byte {
	if n := len(j.slabs); n > 0 {
		s := j.slabs[n-1]
		j.slabs[n-1] = nil
		j.slabs = j.slabs[:n-1]
		if cap(s)-len(s) >= slabRoom {
			return s
		}
	}
	return make([]byte, 0, slabSize)
}

// putSlab gives back a slab after the data encoded at its end was kept
// (the slab's length counts it): the next event is encoded after it. A
// slab beyond maxSlabs (more events encoded at once) is let go of. The
// caller holds j.mu.
func (j *Journal) putSlab(s []byte) {
	if cap(s)-len(s) >= slabRoom && len(j.slabs) < maxSlabs {
		j.slabs = append(j.slabs, s)
	}
}

// slabSize is how many bytes of the data of events one allocation holds,
// and slabRoom the least room an event is encoded in (a longer one is
// copied out into its own allocation): a slab with less room left is let
// go of, which is all it wastes. As with the ids, events are dropped in the
// order they were recorded, so a slab is let go of soon after its last
// event is. maxSlabs is how many slabs wait for events at most: as many as
// events are encoded at once, usually.
const (
	slabSize = 32 << 10
	slabRoom = 4 << 10
	maxSlabs = 8
)

// internString returns the one copy of s the journal keeps for every event
// that names it (a system's name, an event kind). The strings interned last
// are looked at first: a request's events name the same few, and comparing
// with eight short strings costs less than hashing s for the map (two per
// event, under the journal's lock). The caller holds j.mu.
func (j *Journal) internString(s string) string {
	for _, r := range &j.recent {
		if r == s {
			return r
		}
	}
	v, ok := j.intern[s]
	if !ok {
		v = s
		if len(j.intern) < 10_000 {
			j.intern[s] = s
		}
	}
	j.recent[j.recentN%uint8(len(j.recent))] = v
	j.recentN++
	return v
}

// catchUp indexes the events recorded since the last query.
func (j *Journal) catchUp() {
	for seq := max(j.indexed, j.first-1) + 1; seq <= j.seq; seq++ {
		j.index(j.at(seq))
	}
	j.indexed = j.seq
}

func (j *Journal) index(r *record) {
	j.systems[r.system] = append(j.systems[r.system], r.seq)
	for k := r.kind; ; {
		j.kinds[k] = append(j.kinds[k], r.seq)
		i := strings.LastIndexByte(k, '.')
		if i < 0 {
			break
		}
		k = k[:i]
	}
	for i, p := range r.ids {
		// A value listed once per event, however many ids carry it.
		if !slices.ContainsFunc(r.ids[:i], func(q idPair) bool { return q.value == p.value }) {
			j.values[p.value] = append(j.values[p.value], r.seq)
		}
	}
}

// count is how many events are kept.
func (j *Journal) count() int { return int(j.seq - j.first + 1) }

// drop forgets the n oldest events and their index entries.
func (j *Journal) drop(n int) {
	for seq := j.first; seq < j.first+int64(n); seq++ {
		*j.at(seq) = record{} // let go of its strings and data
	}
	j.first += int64(n)
	j.indexed = max(j.indexed, j.first-1)
	if whole := int((j.first - j.base) / chunkSize); whole > 0 {
		clear(j.events[:whole])
		j.events = j.events[whole:]
		j.base += int64(whole) * chunkSize
	}
	trimAll(j.systems, j.first)
	trimAll(j.kinds, j.first)
	trimAll(j.values, j.first)
}

// trimAll cuts every list's seqs below first, dropping lists left empty and
// copying those that kept less than half their array.
func trimAll[K comparable](m map[K][]int64, first int64) {
	for k, list := range m {
		i := sort.Search(len(list), func(i int) bool { return list[i] >= first })
		switch {
		case i == len(list):
			delete(m, k)
		case i > 0 && (len(list)-i)*2 < cap(list):
			m[k] = append([]int64(nil), list[i:]...)
		case i > 0:
			m[k] = list[i:]
		}
	}
}

// at returns the record of seq (which must be kept).
func (j *Journal) at(seq int64) *record {
	i := seq - j.base
	return &j.events[i/chunkSize][i%chunkSize]
}

// candidates returns the seqs that may match f — the shortest index list
// among f's conditions — or nil and false when f has none and every event
// is a candidate.
func (j *Journal) candidates(f *Filter) ([]int64, bool) {
	if f.System == "" && f.Kind == "" && len(f.IDs) == 0 && f.AnyID == "" {
		return nil, false
	}
	j.catchUp()
	var best []int64
	found := false
	consider := func(list []int64) {
		if !found || len(list) < len(best) {
			best, found = list, true
		}
	}
	if f.System != "" {
		consider(j.systems[f.System])
	}
	if f.Kind != "" {
		consider(j.kinds[f.Kind])
	}
	for _, v := range f.IDs {
		consider(j.values[v])
	}
	if f.AnyID != "" {
		consider(j.values[f.AnyID])
	}
	// Lists may start with seqs already dropped.
	i := sort.Search(len(best), func(i int) bool { return best[i] >= j.first })
	return best[i:], true
}

// bounds returns the range of seqs to look at: (lo, hi) exclusive.
func (j *Journal) bounds(f *Filter) (lo, hi int64) {
	lo, hi = max(f.AfterSeq, j.first-1), j.seq+1
	if f.BeforeSeq > 0 {
		hi = min(hi, f.BeforeSeq)
	}
	if !f.Since.IsZero() {
		// Times never decrease along the journal (Record keeps them in order).
		i := sort.Search(j.count(), func(i int) bool { return !j.at(j.first + int64(i)).time.Before(f.Since) })
		lo = max(lo, j.first+int64(i)-1)
	}
	return lo, hi
}

// scan calls fn on the records matching f, newest first when backward,
// until fn returns false.
func (j *Journal) scan(f *Filter, backward bool, fn func(r *record) bool) {
	lo, hi := j.bounds(f)
	if lo+1 >= hi {
		return
	}
	if list, ok := j.candidates(f); ok {
		from := sort.Search(len(list), func(i int) bool { return list[i] > lo })
		to := sort.Search(len(list), func(i int) bool { return list[i] >= hi })
		list = list[from:to]
		for i := range list {
			if backward {
				i = len(list) - 1 - i
			}
			if r := j.at(list[i]); r.match(f) && !fn(r) {
				return
			}
		}
		return
	}
	for n := int64(0); n < hi-lo-1; n++ {
		seq := lo + 1 + n
		if backward {
			seq = hi - 1 - n
		}
		if r := j.at(seq); r.match(f) && !fn(r) {
			return
		}
	}
}

// Query returns the events that pass f, oldest first (with a Limit, the
// newest Limit of them). A durable journal that cannot read its Log
// returns what it read (QueryContext says why).
func (j *Journal) Query(f Filter) []Event {
	out, _ := j.QueryContext(context.Background(), f)
	return out
}

// QueryContext is Query, with the Log's error.
func (j *Journal) QueryContext(ctx context.Context, f Filter) ([]Event, error) {
	if j.log != nil {
		return j.logQueryEvents(ctx, f)
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	var recs []*record
	j.scan(&f, f.Limit > 0, func(r *record) bool {
		recs = append(recs, r)
		return f.Limit <= 0 || len(recs) < f.Limit
	})
	if f.Limit > 0 {
		slices.Reverse(recs)
	}
	out := make([]Event, len(recs))
	for i, r := range recs {
		out[i] = r.event(j.namespace)
	}
	return out, nil
}

// Page is one page of matching events, oldest first, as JSON.
type Page struct {
	Events []json.RawMessage
	// HasMore says more events match beyond this page, in the direction it
	// was read: after its last event (forward) or before its first (backward).
	HasMore bool
	// First and Last are the sequence numbers of the page's first and last
	// events (0 when it is empty): the cursors of the next pages.
	First, Last int64
	// LastSeq is the newest sequence number in the journal; OldestSeq the
	// oldest one still kept (older events were dropped).
	LastSeq, OldestSeq int64
}

// Page reads at most limit events matching f: the oldest ones after
// f.AfterSeq when forward, else the newest ones (before f.BeforeSeq, if set).
// A durable journal that cannot read its Log returns an empty page
// (PageContext says why).
func (j *Journal) Page(f Filter, forward bool, limit int) Page {
	p, _ := j.PageContext(context.Background(), f, forward, limit)
	return p
}

// PageContext is Page, with the Log's error.
func (j *Journal) PageContext(ctx context.Context, f Filter, forward bool, limit int) (Page, error) {
	if j.log != nil {
		return j.logPage(ctx, f, forward, limit)
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	var recs []*record
	more := false
	j.scan(&f, !forward, func(r *record) bool {
		if len(recs) == limit {
			more = true
			return false
		}
		recs = append(recs, r)
		return true
	})
	if !forward {
		slices.Reverse(recs)
	}
	p := Page{HasMore: more, LastSeq: j.seq, OldestSeq: j.first, Events: make([]json.RawMessage, len(recs))}
	for i, r := range recs {
		p.Events[i] = r.appendJSON(nil, j.namespace)
	}
	if len(recs) > 0 {
		p.First, p.Last = recs[0].seq, recs[len(recs)-1].seq
	}
	return p, nil
}

// LastSeq returns the sequence number of the newest event (0 when a
// durable journal cannot read its Log).
func (j *Journal) LastSeq() int64 {
	if j.log != nil {
		_, last, _ := j.logBounds(context.Background())
		return last
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.seq
}

// Len returns how many events the journal keeps (0 when a durable journal
// cannot read its Log).
func (j *Journal) Len() int {
	if j.log != nil {
		oldest, last, err := j.logBounds(context.Background())
		if err != nil {
			return 0
		}
		return int(max(last-oldest+1, 0))
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.count()
}

// Subscribe delivers future events passing f on the returned channel until
// cancel is called. A reader that falls more than buf events behind misses
// events (the journal itself keeps them).
func (j *Journal) Subscribe(f Filter, buf int) (<-chan Event, func()) {
	if buf <= 0 {
		buf = 256
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	id := j.nextID
	j.nextID++
	s := &subscriber{ch: make(chan Event, buf), filter: f}
	j.subs[id] = s
	if j.log != nil && !j.following {
		// The follower starts at the newest event written: what is recorded
		// from now on reaches the subscriber. The lock is let go of while
		// the log is read; a second subscriber meanwhile finds following
		// set.
		j.following = true
		j.mu.Unlock()
		_, last, err := j.logBounds(context.Background())
		if err != nil {
			last = 0 // everything kept, rather than nothing
		}
		go j.follow(last)
		j.mu.Lock()
	}
	return s.ch, func() {
		j.mu.Lock()
		defer j.mu.Unlock()
		if _, ok := j.subs[id]; ok {
			delete(j.subs, id)
			close(s.ch)
		}
	}
}

// Reset forgets every event (and lets go of the memory they held). Sequence
// numbers keep increasing, so a reader polling with AfterSeq never sees an
// old number again.
func (j *Journal) Reset() { _ = j.ResetContext(context.Background()) }

// ResetContext is Reset, with a durable journal's error.
func (j *Journal) ResetContext(ctx context.Context) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.clear()
	if j.log != nil {
		if err := j.log.Reset(ctx); err != nil {
			return fmt.Errorf("journal: reset: %w", err)
		}
	}
	return nil
}

// Close stops feeding subscribers from the Log and writes what it holds;
// the journal records nothing durable afterwards. A memory journal has
// nothing to close.
func (j *Journal) Close() error {
	var err error
	j.closeOnce.Do(func() {
		close(j.closed)
		if j.log != nil {
			err = j.log.Close()
		}
	})
	return err
}
