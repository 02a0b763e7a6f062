// Package admin serves the simulator's control API (specs/admin.yaml) under
// /_sim: health, reset, the virtual clock, the journal (as a list and as a
// live server-sent-events stream) and the specs. Systems
// register their own admin operations (apps, shops, terminals, buyer actions)
// through Handle, by operationId.
package admin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pspsim/pspsim/simulator/apierr"
	"github.com/pspsim/pspsim/simulator/clock"
	"github.com/pspsim/pspsim/simulator/journal"
	"github.com/pspsim/pspsim/simulator/mountpath"
	"github.com/pspsim/pspsim/simulator/openapi"
	"github.com/pspsim/pspsim/specs"
)

// Prefix is where the admin API is mounted.
const Prefix = "/_sim"

// Mounts tells the admin API which specs are served where.
var Mounts = map[string]string{
	"genstore.yaml":  "/genstore",
	"codepay.yaml":   "/codepay",
	"vmgateway.yaml": "/vm",
	"admin.yaml":     Prefix,
}

// SystemInfo describes one mounted system for the health answer.
type SystemInfo struct {
	Name       string `json:"name"`
	Mount      string `json:"mount"`
	Operations int    `json:"operations"`
	Handled    int    `json:"handled"`
}

// Core is what the admin API controls.
type Core struct {
	Version string
	Seed    uint64
	Clock   clock.Clock
	Journal *journal.Journal
	Reset   func(ctx context.Context) error
	Systems func() []SystemInfo
	// Done, when closed, ends the live event streams (the simulator is
	// stopping), so that a server shuts down without waiting for them.
	Done <-chan struct{}
}

// Dialect renders admin errors: {"error": {"code", "message", "field"}}.
type Dialect struct{}

// WriteError implements apierr.Dialect.
func (Dialect) WriteError(w http.ResponseWriter, _ *http.Request, e *apierr.Error) {
	body := map[string]string{"code": string(e.Kind), "message": e.Message}
	if e.Field != "" {
		body["field"] = e.Field
	}
	status := e.Status
	if status == 0 {
		status = apierr.HTTPStatus(e.Kind)
	}
	WriteJSON(w, status, map[string]any{"error": body})
}

// WriteJSON writes v as JSON with status.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":{"code":"internal","message":"internal error"}}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(b)
}

// Error writes e in the admin dialect.
func Error(w http.ResponseWriter, r *http.Request, e *apierr.Error) { Dialect{}.WriteError(w, r, e) }

// HandlerFunc is an admin handler that returns its failure instead of writing
// it (toxiproxy's apiError idiom): the handler says what went wrong once, as
// an *apierr.Error (or any error, which becomes an internal one), and
// ServeHTTP renders it in the admin dialect. A handler that returns nil has
// written its answer itself.
type HandlerFunc func(w http.ResponseWriter, r *http.Request) error

// ServeHTTP implements http.Handler.
func (f HandlerFunc) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if err := f(w, r); err != nil {
		Error(w, r, apierr.Wrap(err))
	}
}

// Register installs the core handlers on the admin mount.
func Register(m *openapi.Mount, core Core) error {
	// The systems and their operations do not change once the simulator
	// serves: the health answer lists them from the first call's result.
	h := &handlers{core: core, systems: sync.OnceValue(core.Systems)}
	for key, f := range map[string]http.HandlerFunc{
		"getHealth":      h.health,
		"resetSimulator": h.reset,
		"getClock":       h.getClock,
		"advanceClock":   h.advanceClock,
		"setClock":       h.setClock,
		"listEvents":     h.listEvents,
		"streamEvents":   h.streamEvents,
		"listSpecs":      h.listSpecs,
		"getSpec":        h.getSpec,
	} {
		if err := m.Handle(key, f); err != nil {
			return err
		}
	}
	return nil
}

type handlers struct {
	core    Core
	systems func() []SystemInfo
}

func (h *handlers) health(w http.ResponseWriter, r *http.Request) {
	WriteJSON(w, http.StatusOK, map[string]any{
		"status": "ok", "version": h.core.Version, "seed": h.core.Seed,
		"clock": h.clockState(), "systems": h.systems(),
	})
}

func (h *handlers) clockState() map[string]any {
	out := map[string]any{"mode": h.core.Clock.Mode(), "now": h.core.Clock.Now().UTC().Format(time.RFC3339Nano)}
	if sim, ok := h.core.Clock.(*clock.Sim); ok {
		out["pendingTimers"] = sim.Pending()
	}
	return out
}

func (h *handlers) reset(w http.ResponseWriter, r *http.Request) {
	if err := h.core.Reset(r.Context()); err != nil {
		Error(w, r, apierr.Wrap(fmt.Errorf("reset: %w", err)))
		return
	}
	// What the store and the journal held is garbage now: hand it back to
	// the operating system without making the caller wait for it.
	go debug.FreeOSMemory()
	WriteJSON(w, http.StatusOK, map[string]any{"status": "reset", "at": h.core.Clock.Now().UTC().Format(time.RFC3339Nano)})
}

func (h *handlers) getClock(w http.ResponseWriter, r *http.Request) {
	WriteJSON(w, http.StatusOK, h.clockState())
}

func (h *handlers) simClock(w http.ResponseWriter, r *http.Request) (*clock.Sim, bool) {
	sim, ok := h.core.Clock.(*clock.Sim)
	if !ok {
		Error(w, r, apierr.New(apierr.Conflict, "the clock is real: start pspsim with --clock=sim to move it"))
	}
	return sim, ok
}

func (h *handlers) advanceClock(w http.ResponseWriter, r *http.Request) {
	sim, ok := h.simClock(w, r)
	if !ok {
		return
	}
	var in struct {
		By string `json:"by"`
	}
	json.Unmarshal(openapi.FromContext(r.Context()).Body, &in)
	d, err := time.ParseDuration(in.By)
	if err != nil || d < 0 {
		Error(w, r, apierr.Field(apierr.Invalid, "by", "duration", "must be a non-negative Go duration like 90s or 1h30m"))
		return
	}
	h.move(w, r, sim, func() (int, error) { return sim.Advance(d) })
}

func (h *handlers) setClock(w http.ResponseWriter, r *http.Request) {
	sim, ok := h.simClock(w, r)
	if !ok {
		return
	}
	var in struct {
		To time.Time `json:"to"`
	}
	if err := json.Unmarshal(openapi.FromContext(r.Context()).Body, &in); err != nil {
		Error(w, r, apierr.Field(apierr.Invalid, "to", "format", "must be an RFC 3339 time"))
		return
	}
	h.move(w, r, sim, func() (int, error) { return sim.Set(in.To) })
}

func (h *handlers) move(w http.ResponseWriter, r *http.Request, sim *clock.Sim, move func() (int, error)) {
	before := sim.Now()
	fired, err := move()
	if errors.Is(err, clock.ErrBackwards) {
		Error(w, r, apierr.New(apierr.Conflict, "the simulated clock only moves forward (it is %s)", before.UTC().Format(time.RFC3339)))
		return
	}
	h.core.Journal.Record(journal.Event{System: "sim", Kind: "clock.moved", Message: fmt.Sprintf("clock moved from %s to %s; %d timers fired", before.UTC().Format(time.RFC3339), sim.Now().UTC().Format(time.RFC3339), fired),
		Data: map[string]any{"from": before, "to": sim.Now(), "fired": fired}})
	WriteJSON(w, http.StatusOK, map[string]any{"mode": "sim", "now": sim.Now().UTC().Format(time.RFC3339Nano), "fired": fired, "pendingTimers": sim.Pending()})
}

// reserved query parameters of listEvents; any other one filters on an id.
var reserved = map[string]bool{"system": true, "kind": true, "id": true, "after": true, "before": true, "since": true, "limit": true}

// DefaultLimit is how many events a page of GET /_sim/events holds unless
// the caller asks for another number; MaxLimit is the most it may ask for.
const (
	DefaultLimit = 100
	MaxLimit     = 10000
)

// FilterFromQuery builds a journal filter from listEvents' query parameters.
func FilterFromQuery(q url.Values) (journal.Filter, *apierr.Error) {
	f := journal.Filter{System: q.Get("system"), Kind: q.Get("kind"), AnyID: q.Get("id")}
	seq := func(name string) (int64, *apierr.Error) {
		v := q.Get(name)
		if v == "" {
			return 0, nil
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return 0, apierr.Field(apierr.Invalid, name, "type", "must be a non-negative integer (an event's sequence number)")
		}
		return n, nil
	}
	var aerr *apierr.Error
	if f.AfterSeq, aerr = seq("after"); aerr != nil {
		return f, aerr
	}
	if f.BeforeSeq, aerr = seq("before"); aerr != nil {
		return f, aerr
	}
	if v := q.Get("since"); v != "" {
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			return f, apierr.Field(apierr.Invalid, "since", "format", "must be an RFC 3339 time")
		}
		f.Since = t
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > MaxLimit {
			return f, apierr.Field(apierr.Invalid, "limit", "maximum", "must be an integer from 1 to %d", MaxLimit)
		}
		f.Limit = n
	}
	for k, v := range q {
		if reserved[k] || len(v) == 0 {
			continue
		}
		if f.IDs == nil {
			f.IDs = map[string]string{}
		}
		f.IDs[k] = v[0]
	}
	return f, nil
}

// listEvents answers one page of the journal. With `after` it reads forward
// from that cursor (0: from the oldest event kept); otherwise it answers the
// newest events (before `before`, when given). `next` is the cursor of what
// follows the page — poll with it to get only new events — and `prev` that
// of what precedes it.
func (h *handlers) listEvents(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f, aerr := FilterFromQuery(q)
	if aerr != nil {
		Error(w, r, aerr)
		return
	}
	limit := f.Limit
	if limit == 0 {
		limit = DefaultLimit
	}
	f.Limit = 0
	forward := q.Has("after")
	p, err := h.core.Journal.PageContext(r.Context(), f, forward, limit)
	if err != nil {
		Error(w, r, journalUnavailable(err))
		return
	}
	next := p.LastSeq // every event up to the newest was looked at
	switch {
	case forward && p.HasMore:
		next = p.Last
	case !forward && f.BeforeSeq > 0:
		next = max(p.Last, f.BeforeSeq-1)
	}
	b := make([]byte, 0, 64+len(p.Events)*400)
	b = append(b, `{"events":[`...)
	for i, e := range p.Events {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, e...)
	}
	b = append(b, `],"lastSeq":`...)
	b = strconv.AppendInt(b, p.LastSeq, 10)
	b = append(b, `,"oldestSeq":`...)
	b = strconv.AppendInt(b, p.OldestSeq, 10)
	b = append(b, `,"hasMore":`...)
	b = strconv.AppendBool(b, p.HasMore)
	b = append(b, `,"next":`...)
	b = strconv.AppendInt(b, next, 10)
	if len(p.Events) > 0 {
		b = append(b, `,"prev":`...)
		b = strconv.AppendInt(b, p.First, 10)
	}
	b = append(b, '}')
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	w.Write(b)
}

// streamBuffer is how many events a live stream may fall behind before it
// misses some.
const streamBuffer = 1024

// heartbeat is how often an idle stream sends a comment line. Wall time: it
// keeps proxies and browsers from closing an idle connection.
const heartbeat = 15 * time.Second

// streamEvents serves the journal as server-sent events: the recorded events
// after `after` (or Last-Event-ID) first, then every new one as it is
// recorded, without a gap or a repeat between the two.
func (h *handlers) streamEvents(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f, aerr := FilterFromQuery(q)
	if aerr != nil {
		Error(w, r, aerr)
		return
	}
	replay := q.Has("after")
	if id := r.Header.Get("Last-Event-ID"); id != "" {
		n, err := strconv.ParseInt(id, 10, 64)
		if err != nil || n < 0 {
			Error(w, r, apierr.Field(apierr.Invalid, "Last-Event-ID", "type", "must be an event's sequence number"))
			return
		}
		f.AfterSeq, replay = n, true
	}
	live := f
	live.AfterSeq, live.Limit = 0, 0
	// Subscribe before reading the backlog, so that nothing recorded in
	// between is lost; events seen in both are skipped by sequence number.
	ch, cancel := h.core.Journal.Subscribe(live, streamBuffer)
	defer cancel()
	rc := http.NewResponseController(w)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	fmt.Fprint(w, ": pspsim journal\n\n")
	last := f.AfterSeq
	if replay {
		// The backlog, a page at a time: a whole journal is never held at once.
		for page := f; ; {
			page.Limit = 0
			p, err := h.core.Journal.PageContext(r.Context(), page, true, MaxLimit)
			if err != nil {
				// The stream has begun: it ends, and the client's
				// reconnection resumes from the last event it got.
				return
			}
			for _, raw := range p.Events {
				var e struct {
					Seq  int64  `json:"seq"`
					Kind string `json:"kind"`
				}
				json.Unmarshal(raw, &e)
				if writeRaw(w, e.Seq, e.Kind, raw) != nil {
					return
				}
				last = e.Seq
			}
			if !p.HasMore {
				break
			}
			page.AfterSeq = p.Last
		}
	} else {
		last = h.core.Journal.LastSeq()
	}
	if rc.Flush() != nil {
		return
	}
	tick := time.NewTicker(heartbeat)
	defer tick.Stop()
	for {
		select {
		case e, ok := <-ch:
			if !ok {
				return
			}
			if e.Seq <= last {
				continue
			}
			last = e.Seq
			if writeEvent(w, e) != nil || rc.Flush() != nil {
				return
			}
		case <-tick.C:
			if _, err := fmt.Fprint(w, ": ping\n\n"); err != nil || rc.Flush() != nil {
				return
			}
		case <-r.Context().Done():
			return
		case <-h.core.Done:
			return
		}
	}
}

// journalUnavailable is a durable journal's database failing: the client
// may try again.
func journalUnavailable(err error) *apierr.Error {
	return apierr.New(apierr.Unavailable, "the journal cannot be read now (%v); try again", err)
}

func writeEvent(w http.ResponseWriter, e journal.Event) error {
	b, err := json.Marshal(e)
	if err != nil {
		return err
	}
	return writeRaw(w, e.Seq, e.Kind, b)
}

func writeRaw(w http.ResponseWriter, seq int64, kind string, b []byte) error {
	_, err := fmt.Fprintf(w, "id: %d\nevent: %s\ndata: %s\n\n", seq, kind, b)
	return err
}

func (h *handlers) listSpecs(w http.ResponseWriter, r *http.Request) {
	var out []map[string]string
	for _, name := range specs.Names() {
		e := map[string]string{"name": name, "url": mountpath.Join(r, Prefix+"/specs/"+name)}
		if m, ok := Mounts[name]; ok {
			e["mount"] = m
		}
		out = append(out, e)
	}
	WriteJSON(w, http.StatusOK, map[string]any{"specs": out})
}

func (h *handlers) getSpec(w http.ResponseWriter, r *http.Request) {
	name := openapi.FromContext(r.Context()).PathParams["name"]
	b, err := specs.Read(name)
	if err != nil || strings.Contains(name, "/") {
		Error(w, r, apierr.Field(apierr.NotFound, "name", "exists", "no spec named %s", name))
		return
	}
	w.Header().Set("Content-Type", "application/yaml")
	w.WriteHeader(http.StatusOK)
	w.Write(b)
}
