// Package host serves many isolated simulators — namespaces — from one
// server. A namespace is a whole simulator.Simulator (its own store,
// journal, clock, fault rules, canaries, seeded ids, fixtures and
// deliveries) served under /ns/{name}/; the default namespace is served at
// the root URLs exactly as a lone simulator is, so nothing that worked
// before changes. Two CI pipelines or developers pointed at one shared
// `pspsim serve` each take a namespace and never see, reset, advance or
// fault the other's.
//
// The host strips /ns/{name} before the namespace's simulator sees the
// request (and records it with mountpath.With, so that the pages and
// answers that name the simulator's own URLs keep it); the namespace's
// BaseURL is <public URL>/ns/{name}, so every URL it hands out — hosted
// checkout, 3-D Secure challenges, redirects, webhook sinks — stays in it.
//
// Namespaces are managed at the server's root, through the default
// namespace's control API (so its guard, validation and dialect apply):
// POST/GET /_sim/namespaces, GET/DELETE /_sim/namespaces/{name}. With Auto,
// the first request to /ns/{name}/… creates it. An unused namespace
// expires after Idle; at most Max exist besides the default one, each
// keeping at most Retention.
//
// Credentials never select a namespace: the fixtures (apps, tokens,
// merchant keys) are the same in every namespace by design — that is what
// lets the same app configuration run in any of them — so a token could not
// say which one it means. The URL prefix is the only selector.
package host

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pspsim/pspsim/simulator"
	"github.com/pspsim/pspsim/simulator/admin"
	"github.com/pspsim/pspsim/simulator/apierr"
	"github.com/pspsim/pspsim/simulator/clock"
	"github.com/pspsim/pspsim/simulator/ids"
	"github.com/pspsim/pspsim/simulator/mountpath"
	"github.com/pspsim/pspsim/simulator/store"
)

// PathPrefix is where namespaces are served: /ns/{name}/….
const PathPrefix = "/ns/"

// Defaults of the limits.
const (
	DefaultMax = 32
	// DefaultRetainEvents and DefaultRetainObjects are what a namespace
	// keeps unless the server says otherwise: a tenth of the server's
	// defaults, so that DefaultMax namespaces at their limits hold about as
	// much as three full default namespaces (docs/PERFORMANCE.md).
	DefaultRetainEvents  = simulator.DefaultRetainEvents / 10
	DefaultRetainObjects = simulator.DefaultRetainObjects / 10
)

// nameRule is a namespace name: one URL path segment, lower case.
var nameRule = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)

// Options configure a Host.
type Options struct {
	// Default is the default namespace, served at the root URLs and at
	// /ns/default/. The host serves /_sim/namespaces through its control API.
	Default *simulator.Simulator
	// Base is the template of every namespace's simulator.Options: Logger,
	// HTTPClient, StampClock, Control, Faults, CodePayData, Config (the
	// server's --config, used when a namespace brings none), Seed (namespace
	// seeds derive from it), BaseURL (the server's public URL) and Specs
	// (set one: namespaces share the compiled specs) and Backend (each
	// namespace gets its own store from it, keyed by its name). Clock, Store, IDs,
	// Namespace and Retention are each namespace's own.
	Base simulator.Options
	// SimClock makes new namespaces' clocks simulated unless they ask for a
	// real one (the server's --clock=sim); ClockStart is where a simulated
	// clock starts unless the namespace says (zero: the wall time).
	SimClock   bool
	ClockStart time.Time
	// StampSim stamps outbound signatures with the namespace's own clock
	// (the server's --stamp-clock=sim) instead of Base.StampClock.
	StampSim bool
	// Auto creates a namespace at the first request to /ns/{name}/….
	Auto bool
	// Idle deletes a namespace unused (no request, none in progress) for
	// this long, on the wall clock; 0: never.
	Idle time.Duration
	// Max is how many namespaces may exist besides the default one
	// (DefaultMax when 0).
	Max int
	// Retention is what each namespace keeps at most, and by default
	// (DefaultRetainEvents, DefaultRetainObjects for unset fields).
	Retention simulator.Retention
	// Now is the wall clock of idle expiry (nil: time.Now).
	Now func() time.Time
	// Registry, when set (a durable --store), keeps the namespaces where a
	// restart and the other replicas find them (registry.go). Nil: they
	// live in this process only.
	Registry store.State
}

// Host routes requests to namespaces and manages their lifecycle.
type Host struct {
	opts    Options
	def     *space
	log     *slog.Logger
	stop    chan struct{}
	stopped sync.Once
	wg      sync.WaitGroup

	mu     sync.Mutex
	spaces map[string]*space // without the default
}

// space is one namespace.
type space struct {
	name    string
	ready   chan struct{} // closed once sim is built (or failed)
	sim     *simulator.Simulator
	err     error
	created time.Time
	used    atomic.Int64 // wall time of the last request's end, Unix ns
	// stamped is the last use this replica stored (registry.go); served
	// says a request was served here: a namespace only built here (the
	// list of namespaces builds them all) has no use to store.
	stamped atomic.Int64
	served  atomic.Bool
	active  atomic.Int32 // requests in progress
	gone    atomic.Bool  // deleted: new requests get 404
}

// New builds a host around the default namespace and registers the
// /_sim/namespaces operations in its control API. Call Close when done.
func New(opts Options) (*Host, error) {
	if opts.Default == nil {
		return nil, errors.New("host: Options.Default is required")
	}
	if opts.Base.Specs == nil {
		return nil, errors.New("host: Options.Base.Specs is required: namespaces share the compiled specs")
	}
	if opts.Max <= 0 {
		opts.Max = DefaultMax
	}
	if opts.Retention.Events <= 0 {
		opts.Retention.Events = DefaultRetainEvents
	}
	if opts.Retention.Objects <= 0 {
		opts.Retention.Objects = DefaultRetainObjects
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Base.Logger == nil {
		opts.Base.Logger = slog.New(slog.DiscardHandler)
	}
	h := &Host{opts: opts, log: opts.Base.Logger, stop: make(chan struct{}), spaces: map[string]*space{}}
	h.def = &space{name: simulator.DefaultNamespace, ready: make(chan struct{}), sim: opts.Default, created: opts.Now()}
	close(h.def.ready)
	h.def.used.Store(h.def.created.UnixNano())
	for key, f := range map[string]admin.HandlerFunc{
		"createNamespace": h.createHandler, "listNamespaces": h.listHandler,
		"getNamespace": h.getHandler, "deleteNamespace": h.deleteHandler,
	} {
		if err := opts.Default.HandleAdmin(key, f); err != nil {
			return nil, fmt.Errorf("host: %w", err)
		}
	}
	if opts.Registry != nil {
		h.wg.Add(1)
		go h.follow()
	}
	if opts.Idle > 0 {
		every := min(max(opts.Idle/4, time.Second), time.Minute)
		h.wg.Add(1)
		go h.expireEvery(every)
	}
	return h, nil
}

// Close stops idle expiry and closes every namespace but the default one
// (its owner closes it).
func (h *Host) Close() {
	h.stopped.Do(func() { close(h.stop) })
	h.wg.Wait()
	h.mu.Lock()
	list := make([]*space, 0, len(h.spaces))
	for name, sp := range h.spaces {
		list = append(list, sp)
		delete(h.spaces, name)
	}
	h.mu.Unlock()
	for _, sp := range list {
		<-sp.ready
		if sp.sim != nil {
			sp.gone.Store(true)
			sp.sim.Close()
		}
	}
}

// ServeHTTP serves /ns/{name}/… from that namespace, everything else from
// the default one.
func (h *Host) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	name, rest, ok := split(r.URL.Path)
	if !ok {
		h.serve(h.def, w, r)
		return
	}
	prefix := PathPrefix + name
	if !nameRule.MatchString(name) {
		admin.Error(w, r, apierr.New(apierr.NotFound, "%s is not a namespace: a name is lower-case letters, digits and dashes (at most 63)", prefix))
		return
	}
	sp, aerr := h.lookup(r.Context(), name)
	if aerr != nil {
		admin.Error(w, r, aerr)
		return
	}
	if rest == "" {
		// The namespace's root: its dashboard's relative links need the
		// trailing slash, as the server's root has it.
		u := *r.URL
		u.Path, u.RawPath = prefix+"/", ""
		http.Redirect(w, r, u.String(), http.StatusPermanentRedirect)
		return
	}
	in := r.Clone(r.Context())
	in.URL.Path = rest
	if r.URL.RawPath != "" {
		in.URL.RawPath = strings.TrimPrefix(r.URL.RawPath, prefix)
	}
	h.serve(sp, w, mountpath.With(in, prefix))
}

func (h *Host) serve(sp *space, w http.ResponseWriter, r *http.Request) {
	sp.active.Add(1)
	defer func() {
		sp.used.Store(h.opts.Now().UnixNano())
		if !sp.served.Load() {
			sp.served.Store(true)
		}
		sp.active.Add(-1)
	}()
	sp.sim.Handler().ServeHTTP(w, r)
}

// split returns the namespace name and the rest of a /ns/{name}/… path.
func split(p string) (name, rest string, ok bool) {
	if !strings.HasPrefix(p, PathPrefix) {
		return "", "", false
	}
	name, rest, _ = strings.Cut(p[len(PathPrefix):], "/")
	if rest != "" || strings.HasSuffix(p, "/") {
		rest = "/" + rest
	}
	return name, rest, true
}

// lookup finds a namespace for a request, creating it with Auto.
func (h *Host) lookup(ctx context.Context, name string) (*space, *apierr.Error) {
	if name == simulator.DefaultNamespace {
		return h.def, nil
	}
	h.mu.Lock()
	sp := h.spaces[name]
	h.mu.Unlock()
	if sp == nil && h.opts.Registry != nil {
		// Created by another replica, or before a restart: build it here.
		reg, err := h.registeredSpec(ctx, name)
		if err != nil {
			return nil, apierr.Wrap(err)
		}
		if reg != nil {
			var aerr *apierr.Error
			if sp, aerr = h.create(ctx, reg.Spec, true, reg); aerr != nil {
				return nil, aerr
			}
		}
	}
	if sp == nil {
		if !h.opts.Auto {
			return nil, apierr.New(apierr.NotFound, "no namespace %q: create it with POST /_sim/namespaces (or start pspsim serve with --namespaces-auto)", name)
		}
		var aerr *apierr.Error
		if sp, aerr = h.create(ctx, Spec{Name: name}, true, nil); aerr != nil {
			return nil, aerr
		}
	}
	<-sp.ready
	if u := apierr.Unavailability(sp.err); u != nil {
		return nil, u // its creation failed on the store: not "deleted"
	}
	if sp.err != nil || sp.gone.Load() {
		return nil, apierr.New(apierr.NotFound, "no namespace %q: it was deleted", name)
	}
	return sp, nil
}

// Spec is what a namespace is created with (admin.yaml NamespaceCreate).
type Spec struct {
	Name       string `json:"name,omitempty"`
	Config     string `json:"config,omitempty"`
	Seed       *int64 `json:"seed,omitempty"`
	Clock      string `json:"clock,omitempty"`
	ClockStart string `json:"clockStart,omitempty"`
	Retention  *struct {
		Events  int    `json:"events,omitempty"`
		Objects int    `json:"objects,omitempty"`
		Age     string `json:"age,omitempty"`
	} `json:"retention,omitempty"`
}

// Create makes a namespace. An empty name draws one ("ns-" and ten hex
// digits). The errors are the control API's: 400, 409, 429.
func (h *Host) Create(ctx context.Context, spec Spec) (*simulator.Simulator, error) {
	sp, aerr := h.create(ctx, spec, false, nil)
	if aerr != nil {
		return nil, aerr
	}
	return sp.sim, nil
}

// create makes a namespace; with adopt, one already registered (by another
// replica, or before a restart), from its registered spec.
func (h *Host) create(ctx context.Context, spec Spec, auto bool, adopt *registered) (*space, *apierr.Error) {
	opts, aerr := h.options(spec)
	if aerr != nil {
		return nil, aerr
	}
	name := spec.Name
	h.mu.Lock()
	if name == "" {
		for name == "" || h.spaces[name] != nil {
			name = fmt.Sprintf("ns-%010x", ids.RandomSeed()>>24)
		}
	}
	if sp := h.spaces[name]; sp != nil {
		h.mu.Unlock()
		if auto {
			return sp, nil // another request created it first
		}
		return nil, apierr.Field(apierr.Conflict, "name", "unique", "namespace %q exists", name)
	}
	if name == simulator.DefaultNamespace {
		h.mu.Unlock()
		return nil, apierr.Field(apierr.Conflict, "name", "unique", "%q is the namespace at the root URLs; choose another name", name)
	}
	if len(h.spaces) >= h.opts.Max {
		h.mu.Unlock()
		e := apierr.New(apierr.Unavailable, "the server holds %d namespaces, its limit (--namespaces-max): delete one (DELETE /_sim/namespaces/{name}) or wait for idle ones to expire", h.opts.Max)
		e.Status = http.StatusTooManyRequests
		return nil, e
	}
	// The name is reserved before the simulator is built, outside the lock:
	// requests to other namespaces do not wait for a creation.
	sp := &space{name: name, ready: make(chan struct{}), created: h.opts.Now()}
	sp.used.Store(sp.created.UnixNano())
	h.spaces[name] = sp
	h.mu.Unlock()
	unreserve := func() {
		h.mu.Lock()
		delete(h.spaces, name)
		h.mu.Unlock()
		close(sp.ready)
	}

	opts.Namespace = name
	opts.BaseURL = strings.TrimRight(h.opts.Base.BaseURL, "/") + PathPrefix + name
	if spec.Seed == nil {
		opts.Seed = ids.New(h.opts.Base.Seed).Derive("namespace/"+name).Uint64() >> 1
	}
	opts.IDs = nil
	if adopt != nil {
		sp.created = adopt.Created
	} else if h.opts.Registry != nil {
		full := resolved(spec, name, opts.Seed, opts.Clock.Mode(), opts.Clock.Now())
		ok, err := h.register(ctx, full, sp.created)
		if err != nil {
			sp.err = err
			unreserve()
			return nil, apierr.Wrap(fmt.Errorf("namespace %q: %w", name, err))
		}
		if !ok {
			sp.err = errors.New("registered elsewhere")
			unreserve()
			if !auto {
				return nil, apierr.Field(apierr.Conflict, "name", "unique", "namespace %q exists (created on another replica, or before a restart)", name)
			}
			reg, err := h.registeredSpec(ctx, name)
			if err != nil || reg == nil {
				return nil, apierr.Wrap(fmt.Errorf("namespace %q: registered, then gone: %w", name, err))
			}
			return h.create(ctx, reg.Spec, true, reg)
		}
	}
	sim, err := simulator.New(context.WithoutCancel(ctx), opts)
	if err != nil {
		h.mu.Lock()
		delete(h.spaces, name)
		h.mu.Unlock()
		sp.err = err
		close(sp.ready)
		return nil, apierr.Field(apierr.Invalid, "config", "config", "namespace %q: %v", name, err)
	}
	sp.sim = sim
	close(sp.ready)
	how := "created"
	switch {
	case adopt != nil:
		how = "taken up from the store"
	case auto:
		how = "created on first use"
	}
	h.opts.Default.Env().Record("sim", "namespace.created", fmt.Sprintf("namespace %s %s (%s clock, seed %d)", name, how, opts.Clock.Mode(), opts.Seed),
		map[string]string{"namespace": name}, map[string]any{"clock": opts.Clock.Mode(), "seed": opts.Seed, "auto": auto})
	h.log.Info("namespace created", "name", name, "auto", auto, "clock", opts.Clock.Mode(), "seed", opts.Seed, "url", opts.BaseURL)
	return sp, nil
}

// options builds a namespace's simulator options from the template and a
// spec, refusing what the server does not allow.
func (h *Host) options(spec Spec) (simulator.Options, *apierr.Error) {
	opts := h.opts.Base
	if spec.Name != "" && !nameRule.MatchString(spec.Name) {
		return opts, apierr.Field(apierr.Invalid, "name", "pattern", "must be lower-case letters, digits and dashes, at most 63, not starting with a dash")
	}
	if spec.Config != "" {
		sections, err := configSections(spec.Config)
		if err != nil {
			return opts, apierr.Field(apierr.Invalid, "config", "yaml", "%v", err)
		}
		for _, s := range sections {
			if s == "server" || s == "namespaces" || s == "retention" {
				return opts, apierr.Field(apierr.Invalid, "config", "section", "the %s section is the server's, not a namespace's (a namespace's retention is the retention field)", s)
			}
		}
		opts.Config = []byte(spec.Config)
	}
	if spec.Seed != nil {
		opts.Seed = uint64(*spec.Seed)
	}
	sim := h.opts.SimClock
	switch spec.Clock {
	case "":
	case "sim":
		sim = true
	case "real":
		sim = false
	default:
		return opts, apierr.Field(apierr.Invalid, "clock", "enum", "must be real or sim")
	}
	if spec.ClockStart != "" && !sim {
		return opts, apierr.Field(apierr.Invalid, "clockStart", "clock", "a start time needs clock: sim")
	}
	if sim {
		start := h.opts.ClockStart
		if spec.ClockStart != "" {
			t, err := time.Parse(time.RFC3339, spec.ClockStart)
			if err != nil {
				return opts, apierr.Field(apierr.Invalid, "clockStart", "format", "must be an RFC 3339 time")
			}
			start = t
		}
		if start.IsZero() {
			start = h.opts.Now().UTC().Truncate(time.Second)
		}
		opts.Clock = clock.NewSim(start)
	} else {
		opts.Clock = clock.NewReal()
	}
	if h.opts.StampSim || opts.StampClock == nil {
		opts.StampClock = opts.Clock
	}
	limit := h.opts.Retention
	opts.Retention = simulator.Retention{Events: limit.Events, Objects: limit.Objects, Age: limit.Age, Kinds: limit.Kinds}
	if r := spec.Retention; r != nil {
		if r.Events > limit.Events {
			return opts, apierr.Field(apierr.Invalid, "retention.events", "maximum", "at most %d: the most a namespace of this server keeps", limit.Events)
		}
		if r.Objects > limit.Objects {
			return opts, apierr.Field(apierr.Invalid, "retention.objects", "maximum", "at most %d: the most a namespace of this server keeps", limit.Objects)
		}
		if r.Events > 0 {
			opts.Retention.Events = r.Events
		}
		if r.Objects > 0 {
			opts.Retention.Objects = r.Objects
		}
		if r.Age != "" {
			d, err := time.ParseDuration(r.Age)
			if err != nil || d <= 0 {
				return opts, apierr.Field(apierr.Invalid, "retention.age", "format", "must be a positive duration like 24h")
			}
			if limit.Age > 0 && d > limit.Age {
				return opts, apierr.Field(apierr.Invalid, "retention.age", "maximum", "at most %s", limit.Age)
			}
			opts.Retention.Age = d
		}
	}
	opts.Store = nil
	return opts, nil
}

// Delete closes a namespace and forgets it: its deliveries, timers, held
// connections and streams stop, its memory is freed once requests already
// inside finish.
func (h *Host) Delete(name string) error {
	if name == simulator.DefaultNamespace {
		return apierr.Field(apierr.Conflict, "name", "default", "the default namespace cannot be deleted (POST /_sim/reset empties it)")
	}
	h.mu.Lock()
	sp := h.spaces[name]
	if sp != nil {
		delete(h.spaces, name)
	}
	h.mu.Unlock()
	if h.opts.Registry != nil {
		// Unregistered first, so that the other replicas let go of it.
		ctx := context.Background()
		if sp == nil {
			reg, err := h.registeredSpec(ctx, name)
			if err != nil {
				return apierr.Wrap(err)
			}
			if reg == nil {
				return apierr.New(apierr.NotFound, "no namespace %q", name)
			}
		}
		if err := h.opts.Registry.Delete(ctx, registryPrefix+name); err != nil {
			return apierr.Wrap(fmt.Errorf("namespaces registry: %w", err))
		}
		if err := h.opts.Registry.Delete(ctx, usedPrefix+name); err != nil {
			h.log.Warn("namespace deleted: its last use stays stored", "name", name, "err", err)
		}
		if sp == nil {
			// Built on other replicas only: its rows go from here.
			st, err := h.opts.Base.Backend.Store(ctx, store.Scope{Namespace: name})
			if err == nil {
				err = st.Reset(ctx)
			}
			if err != nil {
				h.log.Warn("namespace deleted: its stored objects remain", "name", name, "err", err)
			}
			h.opts.Default.Env().Record("sim", "namespace.deleted", fmt.Sprintf("namespace %s deleted", name), map[string]string{"namespace": name}, nil)
			return nil
		}
	}
	if sp == nil {
		return apierr.New(apierr.NotFound, "no namespace %q", name)
	}
	h.close(sp, "deleted")
	return nil
}

// unregister removes a namespace's registry documents, so that the other
// replicas let go of it.
func (h *Host) unregister(name string) error {
	ctx, cancel := context.WithTimeout(context.Background(), registryWait)
	defer cancel()
	if err := h.opts.Registry.Delete(ctx, registryPrefix+name); err != nil {
		return fmt.Errorf("namespaces registry: %w", err)
	}
	return h.opts.Registry.Delete(ctx, usedPrefix+name)
}

// release lets go of a namespace in this process only: its registration
// and rows stay, and the next request there builds it again from them.
func (h *Host) release(sp *space, why string) {
	<-sp.ready
	if sp.sim == nil {
		return
	}
	sp.gone.Store(true)
	sp.sim.Close()
	h.opts.Default.Env().Record("sim", "namespace.released", fmt.Sprintf("namespace %s let go of in this process (%s)", sp.name, why), map[string]string{"namespace": sp.name}, nil)
	h.log.Info("namespace released", "name", sp.name, "why", why)
}

func (h *Host) close(sp *space, why string) {
	<-sp.ready
	if sp.sim == nil {
		return
	}
	sp.gone.Store(true)
	sp.sim.Close()
	if h.opts.Base.Backend != nil {
		// A durable store keeps the namespace's rows after the process has
		// let go of it: a deleted (or expired) namespace's rows go too, so
		// that a namespace made later under the name starts empty. (An
		// in-memory store goes with the simulator.)
		if err := sp.sim.Env().Store.Reset(context.Background()); err != nil {
			h.log.Warn("namespace "+why+": its stored objects remain", "name", sp.name, "err", err)
		}
	}
	h.opts.Default.Env().Record("sim", "namespace."+why, fmt.Sprintf("namespace %s %s", sp.name, why), map[string]string{"namespace": sp.name}, nil)
	h.log.Info("namespace "+why, "name", sp.name)
}

// Expire deletes the namespaces unused since Idle before now; it returns
// their names. The host calls it on a ticker; tests call it directly. With
// a registry (replicas) a namespace idle here is deleted only if no replica
// stored a use within Idle (less a stamp's lag): otherwise only this
// process's copy goes. Registered namespaces no replica here has built
// expire by their stored use too.
func (h *Host) Expire(now time.Time) []string {
	if h.opts.Idle <= 0 {
		return nil
	}
	cutoff := now.Add(-h.opts.Idle).UnixNano()
	var (
		used   map[string]int64
		usedOK bool
	)
	if h.opts.Registry != nil {
		ctx, cancel := context.WithTimeout(context.Background(), registryWait)
		var err error
		if used, err = h.lastUses(ctx); err != nil {
			h.log.Warn("namespaces' last uses not read: idle namespaces are let go of here, not deleted", "err", err)
		}
		usedOK = err == nil
		cancel()
	}
	// A stored use lags the real one by up to usedEvery (and a tick).
	sharedCutoff := cutoff - int64(usedEvery+followEvery)
	var out []*space
	h.mu.Lock()
	for name, sp := range h.spaces {
		select {
		case <-sp.ready:
		default:
			continue // being created
		}
		if sp.active.Load() == 0 && sp.used.Load() < cutoff {
			delete(h.spaces, name)
			out = append(out, sp)
		}
	}
	h.mu.Unlock()
	names := make([]string, 0, len(out))
	for _, sp := range out {
		switch {
		case h.opts.Registry == nil:
			h.close(sp, "expired")
		case usedOK && used[sp.name] < sharedCutoff:
			// No replica stored a use within the limit: deleted for all.
			if err := h.unregister(sp.name); err != nil {
				h.log.Warn("idle namespace not unregistered: let go of here only", "name", sp.name, "err", err)
				h.release(sp, "idle")
				break
			}
			h.close(sp, "expired")
		default:
			// Used on another replica within the limit: only this
			// process's copy goes.
			h.release(sp, "idle")
		}
		names = append(names, sp.name)
	}
	if usedOK {
		ctx, cancel := context.WithTimeout(context.Background(), registryWait)
		names = append(names, h.expireRegistered(ctx, sharedCutoff, used)...)
		cancel()
	}
	sort.Strings(names)
	return names
}

func (h *Host) expireEvery(every time.Duration) {
	defer h.wg.Done()
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-h.stop:
			return
		case <-t.C:
			h.Expire(h.opts.Now())
		}
	}
}

// Get returns a namespace's simulator ("default" or a created one), or nil.
func (h *Host) Get(name string) *simulator.Simulator {
	if name == simulator.DefaultNamespace {
		return h.opts.Default
	}
	h.mu.Lock()
	sp := h.spaces[name]
	h.mu.Unlock()
	if sp == nil {
		return nil
	}
	<-sp.ready
	return sp.sim
}

// Names lists the created namespaces, sorted (the default one not included).
func (h *Host) Names() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]string, 0, len(h.spaces))
	for name := range h.spaces {
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}
