// Package simulator assembles pspsim: one Simulator value holds a clock, a
// store, a journal, an id generator and the emulated systems (Genstore,
// CodePay, the Visa/Mastercard gateway), and serves them all from one
// http.Handler:
//
//	/genstore/…   Genstore's API for payment apps     (specs/genstore.yaml)
//	/codepay/…    the CodePay gateway                  (specs/codepay.yaml)
//	/vm/…         the Visa/Mastercard online gateway   (specs/vmgateway.yaml)
//	/_sim/…       the simulator's control API          (specs/admin.yaml)
//
// There is no global state: tests build as many isolated simulators as they
// like, each from its own Options.
package simulator

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/pspsim/pspsim/fixtures/fake"
	"github.com/pspsim/pspsim/simulator/admin"
	"github.com/pspsim/pspsim/simulator/apierr"
	"github.com/pspsim/pspsim/simulator/canary"
	"github.com/pspsim/pspsim/simulator/clock"
	"github.com/pspsim/pspsim/simulator/codepay"
	"github.com/pspsim/pspsim/simulator/control"
	"github.com/pspsim/pspsim/simulator/dashboard"
	"github.com/pspsim/pspsim/simulator/delivery"
	"github.com/pspsim/pspsim/simulator/env"
	"github.com/pspsim/pspsim/simulator/faults"
	"github.com/pspsim/pspsim/simulator/gate"
	"github.com/pspsim/pspsim/simulator/genstore"
	"github.com/pspsim/pspsim/simulator/ids"
	"github.com/pspsim/pspsim/simulator/jobs"
	"github.com/pspsim/pspsim/simulator/journal"
	"github.com/pspsim/pspsim/simulator/logging"
	"github.com/pspsim/pspsim/simulator/metrics"
	"github.com/pspsim/pspsim/simulator/openapi"
	"github.com/pspsim/pspsim/simulator/store"
	"github.com/pspsim/pspsim/simulator/threeds"
	"github.com/pspsim/pspsim/simulator/vmgateway"
	"github.com/pspsim/pspsim/specs"
)

// Version is pspsim's version, reported by /_sim/health and `pspsim version`.
const Version = "0.1.0"

// Options configure a Simulator. The zero value is usable: real clock, seed
// 0, in-memory store, no logging.
type Options struct {
	Clock clock.Clock // nil: the real clock
	// StampClock gives the timestamps of outbound signatures (see
	// env.Env.Stamps); nil: Clock. `pspsim serve` passes the wall clock unless
	// told otherwise, because real apps check freshness against real time.
	StampClock clock.Clock
	Seed       uint64 // ids, fake data and probabilistic faults derive from it
	// IDs draws the systems' ids; nil: ids.New(Seed). The storm tests pass
	// an echoing generator (ids.NewEcho) to make every id kind clash.
	IDs   *ids.Generator
	Store store.Store // nil: Backend's store of this namespace, else in memory
	// Backend makes the store when Store is nil: the process's choice of
	// `pspsim serve --store` (memory, SQLite, PostgreSQL), whose rows this
	// simulator keys with its namespace. nil: in memory.
	Backend store.Backend
	Logger  *slog.Logger // nil: discard
	// BaseURL is the public URL clients reach the simulator at; Serve sets it
	// from the listener when empty.
	BaseURL string
	// HTTPClient sends deliveries (requests to apps, notifications, webhooks).
	HTTPClient *http.Client
	// ValidateSpecs runs kin-openapi's full document validation at start
	// (slower; the spec tests always do it).
	ValidateSpecs bool
	// CheckResponses validates every API response against its spec and
	// reports the outcome (tests install one that fails on violations).
	CheckResponses openapi.ResponseCheck
	// Config is the YAML of `pspsim serve --config`: one section per system.
	Config []byte
	// Faults is the YAML of `pspsim serve --faults`: fault rules installed at
	// start and reinstalled by every reset.
	Faults []byte
	// CodePayData chooses how CodePay answers carry `data`.
	CodePayData codepay.DataMode
	// Retention bounds what the simulator keeps in memory; its unset fields
	// come from the config's `retention:` section, then the defaults.
	Retention Retention
	// Control says who may drive the control API (/_sim): allowed Host
	// names besides loopback and BaseURL's, and an optional admin token
	// (package control). The zero value: loopback and BaseURL, no token.
	Control control.Policy
	// Strict refuses every departure from the vendors' documented tables
	// (`pspsim serve --strict`, or `strict: true` in the config). By
	// default pspsim is faithful: it accepts what the real gateways
	// plausibly accept and reports each departure the specs tolerate
	// (x-pspsim-lenient) with an X-Pspsim-Warning header and a
	// request.warning journal event.
	Strict bool
	// Namespace names this simulator among the others of its process
	// (package host serves each under /ns/{name}/); "" is the default
	// namespace, the one at the root URLs. Every journal event and log line
	// carries it (DefaultNamespace for "").
	Namespace string
	// Specs is the process's cache of loaded and compiled specs, shared by
	// all its simulators so that building one more is cheap; nil: a
	// private one (this simulator loads every spec itself).
	Specs *openapi.Specs
	// Metrics are the process's Prometheus collectors, shared by every
	// simulator in it (collectors register once per registry); nil: a
	// private set, which nothing serves unless asked (Simulator.Metrics).
	// Every series carries the namespace.
	Metrics *metrics.Metrics
	// Replica names this process among the replicas sharing a durable
	// store: its pending jobs' rows carry it (`pspsim serve --replica`);
	// "": drawn at random for each simulator (pspsim serve draws one per
	// process).
	Replica string
	// JobLease is how long a durable store's pending jobs stay this
	// replica's without renewal: a replica that dies leaves its timers and
	// deliveries to the others that long after (default 10 s).
	JobLease time.Duration
}

// DefaultNamespace is the name events and logs give the namespace served
// at the root URLs (Options.Namespace "").
const DefaultNamespace = "default"

// System is one emulated system.
type System interface {
	Name() string
	Mount() *openapi.Mount
	// Reset reloads fixtures and config after the simulator emptied the store.
	Reset(ctx context.Context) error
	// AdminHandlers returns handlers for admin.yaml operations, by operationId.
	AdminHandlers() map[string]http.Handler
}

// Router is implemented by systems that serve pages beside their API
// (hosted checkout, 3-D Secure challenges, terminal screens).
type Router interface {
	Routes(mux *http.ServeMux)
}

// Simulator is a running pspsim.
type Simulator struct {
	opts    Options
	env     *env.Env
	systems []System
	admin   *openapi.Mount
	faults  *faults.Engine
	// shared keeps a durable namespace's simulated clock in its store (nil:
	// the memory backend, or a real clock).
	shared *sharedClock
	// canaries are the card numbers watched for in what apps send and answer.
	canaries *canary.Registry
	// dash is the browser dashboard at / (dashboard.WantsHTML) and /dash/.
	dash    *dashboard.Dashboard
	handler http.Handler
	done    chan struct{}
	closing sync.Once
	// gate makes a reset atomic: requests, timers and deliveries work
	// inside it; Reset waits until nothing is inside (package gate).
	gate  *gate.Gate
	clock *gate.Clock
	jobs  jobs.Scheduler
	// durable is jobs when the backend keeps jobs (nil: in memory).
	durable *jobs.Durable
	// metrics counts requests, deliveries and faults under this
	// simulator's namespace; unwatch stops the scrape-time reads of its
	// store and journal.
	metrics *metrics.Scope
	unwatch func()

	mu      sync.RWMutex
	baseURL string
}

// sections are the known top-level keys of the --config file. "server" is
// pspsim serve's (its HTTP server's timeouts and allowed hosts);
// "retention" bounds what the simulator keeps; "namespaces" is the host
// layer's (package host: limits, expiry, auto-creation); "store" is pspsim
// serve's choice of backend (memory, sqlite:PATH, postgres://…).
var sections = []string{genstore.Name, codepay.Name, vmgateway.Name, "faults", "server", "retention", "namespaces", "strict", "store"}

// New builds a simulator.
func New(ctx context.Context, opts Options) (*Simulator, error) {
	if opts.Clock == nil {
		opts.Clock = clock.NewReal()
	}
	if opts.StampClock == nil {
		opts.StampClock = opts.Clock
	}
	if opts.Logger == nil {
		opts.Logger = logging.Discard()
	}
	if opts.Specs == nil {
		opts.Specs = openapi.NewSpecs(specs.FS(), opts.ValidateSpecs)
	}
	namespace := opts.Namespace
	if namespace == "" {
		namespace = DefaultNamespace
	}
	opts.Logger = opts.Logger.With("namespace", namespace)
	if opts.IDs == nil {
		opts.IDs = ids.New(opts.Seed)
	}
	config, err := parseConfig(opts.Config)
	if err != nil {
		return nil, err
	}
	configured, err := parseRetention(config["retention"])
	if err != nil {
		return nil, err
	}
	if err := opts.Retention.validate(); err != nil {
		return nil, err
	}
	opts.Retention = opts.Retention.over(configured)
	if node := config["strict"]; node != nil {
		var strict bool
		if err := node.Decode(&strict); err != nil {
			return nil, fmt.Errorf("config: strict: must be true or false: %w", err)
		}
		opts.Strict = opts.Strict || strict
	}
	if opts.Store == nil && opts.Backend != nil {
		// The rows of the default namespace are keyed "default", as its
		// events are.
		st, err := opts.Backend.Store(ctx, store.Scope{Namespace: namespace, Now: opts.Clock.Now,
			Retention: store.Retention{MaxObjects: opts.Retention.Objects, MaxAge: opts.Retention.Age, Kinds: opts.Retention.Kinds}})
		if err != nil {
			return nil, fmt.Errorf("store: %w", err)
		}
		opts.Store = st
	}
	if opts.Store == nil {
		opts.Store = opts.Retention.memoryStore(opts.Clock.Now)
	}
	// The durable backends also keep the namespace's fault rules and
	// canaries (store.State); the memory backend leaves them in memory.
	var state store.State
	if sb, ok := opts.Backend.(store.StateBackend); ok {
		st, err := sb.State(ctx, namespace)
		if err != nil {
			return nil, fmt.Errorf("store: %w", err)
		}
		state = store.MarkState(st) // a failure is 503 to a handler, as the tables' are
	}
	var shared *sharedClock
	if sim, ok := opts.Clock.(*clock.Sim); ok && state != nil {
		// Before anything is scheduled on it: a restart resumes the time.
		sc, err := startSharedClock(ctx, state, sim, opts.Logger)
		if err != nil {
			return nil, fmt.Errorf("store: clock: %w", err)
		}
		shared = sc
	}
	if opts.Metrics == nil {
		opts.Metrics = metrics.New()
	}
	s := &Simulator{opts: opts, baseURL: strings.TrimRight(opts.BaseURL, "/"), done: make(chan struct{}), gate: gate.New(),
		metrics: opts.Metrics.Scope(opts.Namespace), shared: shared}
	// Everything inside the simulator keeps time with the gated clock: its
	// timers fire inside the gate and die with a reset. The admin API moves
	// the clock it wraps.
	s.clock = gate.NewClock(opts.Clock, s.gate)
	clk := clock.Clock(s.clock)
	j := journal.New(clk, opts.Retention.Events)
	j.SetNamespace(namespace)
	if lb, ok := opts.Backend.(journal.LogBackend); ok {
		// A durable backend keeps the journal too (docs/DURABLE.md).
		j.SetLog(lb.Events(namespace, opts.Retention.Events))
	}
	sender := delivery.NewSender(clk, j, opts.HTTPClient)
	sender.SetGate(func() func() { return s.gate.Enter().Leave })
	sender.SetObserver(func(req *delivery.Request, outcome delivery.Outcome) {
		s.metrics.Delivery(req.System, req.Kind, outcome.String())
	})
	if jb, ok := opts.Backend.(jobs.Backend); ok {
		// Pending timers and deliveries are rows, so that a restart or
		// another replica resumes them (docs/DURABLE.md, part 2b).
		lone, _ := opts.Backend.(interface{ SingleProcess() bool })
		s.durable = jobs.NewDurable(jobs.DurableOptions{Clock: clk, Table: jb.JobTable(namespace), Owner: opts.Replica,
			Lease: opts.JobLease, TakeAll: lone != nil && lone.SingleProcess(), Log: opts.Logger})
		s.jobs = s.durable
		if sim, ok := opts.Clock.(*clock.Sim); ok {
			// The replica that moves the clock runs every replica's jobs
			// due by the new time.
			sim.BeforeMove(s.durable.BeforeMove)
		}
	} else {
		s.jobs = jobs.NewMemory(clk)
	}
	sender.SetJobs(s.jobs)
	s.canaries = canary.New(clk, j)
	if state != nil {
		if err := s.canaries.Persist(ctx, state, opts.Logger); err != nil {
			return nil, fmt.Errorf("store: canaries: %w", err)
		}
	}
	sender.SetInspector(func(req *delivery.Request, resp *delivery.Response) {
		if s.canaries.Empty() {
			return
		}
		s.canaries.CheckAnswer(fmt.Sprintf("the answer to a %s %s message (%s)", req.System, req.Kind, stripQuery(req.URL)), req.IDs, resp.Header, resp.Body)
	})
	// The fault engine exists before the systems: each wraps its mount with
	// it (env.Wrap) as it is built, and it hooks every delivery.
	s.faults = faults.New(faults.Options{Clock: clk, Journal: j, IDs: ids.New(opts.Seed), Sender: sender, Log: opts.Logger,
		OnFire: s.metrics.Fault, State: state})
	tds, err := threeds.New(threeds.Options{Clock: clk, Store: opts.Store, Journal: j, IDs: opts.IDs.Derive("threeds"), BaseURL: s.BaseURL, Jobs: s.jobs})
	if err != nil {
		return nil, err
	}
	s.env = &env.Env{
		Clock:          clk,
		Stamps:         opts.StampClock,
		Store:          opts.Store,
		Journal:        j,
		IDs:            opts.IDs,
		Fake:           fake.New(ids.New(opts.Seed).Derive("fakedata").Uint64()),
		Log:            opts.Logger,
		Sender:         sender,
		Jobs:           s.jobs,
		ThreeDS:        tds,
		BaseURL:        s.BaseURL,
		ValidateSpecs:  opts.ValidateSpecs,
		Specs:          opts.Specs,
		CheckResponses: opts.CheckResponses,
		Strict:         opts.Strict,
		Wrap:           s.faults.Wrap,
		Done:           s.done,
	}
	forSystem := func(name string) *env.Env {
		e := *s.env
		e.Config = config[name]
		return &e
	}
	// The systems are independent and loading their specs dominates start-up
	// time, so they are built concurrently.
	var (
		wg                         sync.WaitGroup
		gs, cp, vm                 System
		gsErr, cpErr, vmErr, adErr error
	)
	wg.Add(4)
	go func() { defer wg.Done(); gs, gsErr = genstoreNew(ctx, forSystem(genstore.Name)) }()
	go func() {
		defer wg.Done()
		cp, cpErr = codepayNew(ctx, forSystem(codepay.Name), codepay.Options{DataMode: opts.CodePayData})
	}()
	go func() { defer wg.Done(); vm, vmErr = vmgatewayNew(ctx, forSystem(vmgateway.Name)) }()
	go func() {
		defer wg.Done()
		doc, err := opts.Specs.Load(ctx, "admin.yaml", admin.Prefix)
		if err != nil {
			adErr = err
			return
		}
		s.admin, adErr = openapi.New(openapi.Config{System: "admin", Prefix: admin.Prefix, Doc: doc, Dialect: admin.Dialect{}, CheckResponses: opts.CheckResponses, Specs: opts.Specs})
	}()
	wg.Wait()
	for _, e := range []struct {
		name string
		err  error
	}{{genstore.Name, gsErr}, {codepay.Name, cpErr}, {vmgateway.Name, vmErr}, {"admin", adErr}} {
		if e.err != nil {
			return nil, fmt.Errorf("%s: %w", e.name, e.err)
		}
	}
	s.systems = []System{gs, cp, vm}
	// CodePay's online card payments authenticate with the same 3-D Secure
	// simulator as the card gateway.
	cp.(*codepay.System).SetThreeDS(codepay.ServiceThreeDS{Service: s.env.ThreeDS})
	// Its stored notifications resume (a durable store's, after a restart
	// or on another replica) before the jobs start.
	cp.(*codepay.System).ResumeNotifications()

	if err := s.loadFaults(config["faults"]); err != nil {
		return nil, err
	}
	if err := admin.Register(s.admin, admin.Core{
		Version: Version, Seed: opts.Seed, Clock: opts.Clock, Journal: j, Reset: s.Reset, Systems: s.systemInfo, Done: s.done,
	}); err != nil {
		return nil, err
	}
	for key, h := range s.canaries.AdminHandlers() {
		if err := s.admin.Handle(key, h); err != nil {
			return nil, fmt.Errorf("canaries admin: %w", err)
		}
	}
	for key, h := range s.faults.AdminHandlers() {
		if err := s.admin.Handle(key, h); err != nil {
			return nil, fmt.Errorf("faults admin: %w", err)
		}
	}
	for _, sys := range s.systems {
		for key, h := range sys.AdminHandlers() {
			if err := s.admin.Handle(key, h); err != nil {
				return nil, fmt.Errorf("%s admin: %w", sys.Name(), err)
			}
		}
	}
	// Namespaces are managed by the host layer at the server's root (package
	// host replaces these in the default namespace); a simulator alone, or a
	// namespace, has none to offer.
	for _, key := range NamespaceOperations {
		if err := s.admin.Handle(key, admin.HandlerFunc(func(http.ResponseWriter, *http.Request) error {
			return apierr.New(apierr.NotFound, "namespaces are managed at the server's root, /_sim/namespaces of pspsim serve; this simulator has none")
		})); err != nil {
			return nil, fmt.Errorf("namespaces admin: %w", err)
		}
	}
	s.dash = dashboard.New(dashboard.Options{Genstore: gs.(*genstore.System), CodePay: cp.(*codepay.System), Gateway: vm.(*vmgateway.System),
		API: s.Handler, Version: Version, Namespace: opts.Namespace})
	s.handler = s.routes()
	src := metrics.Source{Events: j.Len}
	if c, ok := opts.Store.(interface{ Counts() map[string]int }); ok {
		src.Objects = c.Counts
	}
	s.unwatch = s.metrics.Watch(src)
	if s.durable != nil {
		// Handlers and resumers are registered: take over what is ours
		// (everything, for SQLite's lone process) and keep the leases.
		if err := s.durable.Start(ctx); err != nil {
			s.durable.Close()
			return nil, fmt.Errorf("store: jobs: %w", err)
		}
	}
	s.env.Record("sim", "sim.started", fmt.Sprintf("pspsim %s started (seed %d, %s clock)", Version, opts.Seed, opts.Clock.Mode()), nil,
		map[string]any{"seed": opts.Seed, "clock": opts.Clock.Mode()})
	return s, nil
}

// closeWait bounds how long Close waits for the work inside the gate.
const closeWait = 5 * time.Second

// NamespaceOperations are the admin.yaml operations of /_sim/namespaces,
// which the host layer serves (HandleAdmin).
var NamespaceOperations = []string{"createNamespace", "listNamespaces", "getNamespace", "deleteNamespace"}

// HandleAdmin sets the handler of one control-API operation (an admin.yaml
// operationId): the host layer serves /_sim/namespaces through the default
// namespace's control API, so that its guard, validation and dialect apply.
// Call it before the simulator serves.
func (s *Simulator) HandleAdmin(key string, h http.Handler) error { return s.admin.Handle(key, h) }

// Namespace returns the simulator's namespace ("" for the default).
func (s *Simulator) Namespace() string { return s.opts.Namespace }

// loadFaults tells the fault engine what the systems serve, then installs
// the rules of the --faults file, of the config's faults section and the
// magic amounts, in that order. A malformed rule stops the start with the
// rule and field named.
func (s *Simulator) loadFaults(section *yaml.Node) error {
	ops := map[string]map[string]bool{}
	var names []string
	for _, sys := range s.systems {
		names = append(names, sys.Name())
		ops[sys.Name()] = map[string]bool{}
		for _, k := range sys.Mount().Keys() {
			ops[sys.Name()][k] = true
		}
	}
	// "sim" sends the test messages of POST /_sim/deliveries/test.
	s.faults.SetCatalog(append(names, "sim"), func(system, op string) bool {
		if system != "" {
			return ops[system][op]
		}
		for _, m := range ops {
			if m[op] {
				return true
			}
		}
		return false
	})
	var rules []faults.Rule
	magic := true
	if len(s.opts.Faults) > 0 {
		f, err := faults.ParseFile(s.opts.Faults, faults.SourceFile)
		if err != nil {
			return fmt.Errorf("--faults: %w", err)
		}
		rules = append(rules, f.Rules...)
		if f.Magic != nil {
			magic = *f.Magic
		}
	}
	if section != nil {
		f, err := faults.ParseNode(section, faults.SourceConfig)
		if err != nil {
			return fmt.Errorf("config: faults: %w", err)
		}
		rules = append(rules, f.Rules...)
		if f.Magic != nil {
			magic = *f.Magic
		}
	}
	if magic {
		m, err := faults.MagicRules()
		if err != nil {
			return err
		}
		rules = append(rules, m...)
	}
	if err := s.faults.SetBase(rules); err != nil {
		return fmt.Errorf("fault rules: %w", err)
	}
	return nil
}

func parseConfig(raw []byte) (map[string]*yaml.Node, error) {
	out := map[string]*yaml.Node{}
	if len(raw) == 0 {
		return out, nil
	}
	var doc map[string]yaml.Node
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	for k, v := range doc {
		if !slices.Contains(sections, k) {
			return nil, fmt.Errorf("config: unknown section %q (known: %s)", k, strings.Join(sections, ", "))
		}
		node := v
		out[k] = &node
	}
	return out, nil
}

func (s *Simulator) routes() http.Handler {
	mux := s.mux(true)
	guard := control.NewGuard(s.opts.Control, func() []string { return []string{s.BaseURL()} }, admin.Error)
	return observe(s.opts.Logger, s.metrics, guard.Protect(s.gated(mux)))
}

// mux routes the simulator's paths: the control API, the systems' mounts
// and pages, the dashboard.
//
// With methodPatterns, each mount is registered, with the same handler, as
// "GET /genstore/" and "POST /genstore/" besides "/genstore/": a
// method-specific pattern is more specific than the method-less one, so
// the mux picks the same handler for every request (only r.Pattern, which
// nothing reads, names the method), but it finds it in its tree for that
// method instead of failing there first — a system's pages put literal
// segments under the prefix in that tree — and trying the method-less
// tree after: 3 allocations and about half the time instead of 7
// (TestMountMethodPatternsRouteAlike holds the two muxes to one routing).
func (s *Simulator) mux(methodPatterns bool) *http.ServeMux {
	mux := http.NewServeMux()
	mux.Handle(admin.Prefix+"/", s.admin)
	s.env.ThreeDS.Routes(mux)
	mounts := map[string]mountRoute{}
	for _, sys := range s.systems {
		// What apps send the systems is checked for canary card numbers;
		// the card gateway's cardNo is where a card number belongs.
		h := s.canaries.Requests(sys.Name(), canaryAllowed[sys.Name()], sys.Mount())
		mux.Handle(sys.Mount().Prefix()+"/", h)
		mounts[sys.Mount().Prefix()] = mountRoute{sys.Mount(), h}
		if methodPatterns {
			// The methods of the APIs' hot operations.
			for _, m := range []string{http.MethodGet, http.MethodPost} {
				mux.Handle(m+" "+sys.Mount().Prefix()+"/", h)
			}
		}
		if r, ok := sys.(Router); ok {
			r.Routes(mux)
		}
	}
	s.dash.Routes(mux)
	mux.HandleFunc("/{$}", s.index)
	mux.Handle("/", admin.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		return apierr.New(apierr.NotFound, "nothing is served at %s: try /_sim/health, /genstore/…, /codepay/…, /vm/…", r.URL.Path)
	}))
	if methodPatterns {
		operationPatterns(mux, mounts)
	}
	return mux
}

// operationPatterns registers, with its mount's handler, a pattern of each
// operation of the systems' specs ("POST /vm/v1/payments", "GET
// /genstore/api/202412/payment/{p0}"): a path the mount prefix's pattern
// matched is matched inexactly (its multi wildcard takes the rest), and on
// every such request the mux then matched the path again with a slash added,
// looking for a redirect, with the allocation of that path; an operation's
// pattern matches exactly, once (a fifth of a Genstore GET's routing).
//
// The handler is the one the mount prefix's pattern gives, so a request
// that matches an operation pattern goes where it went, unless another
// pattern had taken it from the prefix: one more specific than the prefix,
// which would lose to the operation's. Such a pattern matches the
// operation's paths, so the mux routes a path of the operation (its
// parameters "x") elsewhere than to the prefix: an operation whose path
// goes elsewhere gets no pattern, and nor does one whose pattern the mux
// refuses (a conflict with another) or cannot hold (a parameter within a
// segment, characters a pattern reads otherwise). TestMountMethodPatternsRouteAlike
// holds the two muxes to one routing.
func operationPatterns(mux *http.ServeMux, mounts map[string]mountRoute) {
	type candidate struct {
		pattern string
		h       http.Handler
	}
	var todo []candidate
	for prefix, mr := range mounts {
		for _, op := range mr.mount.OperationPaths() {
			pattern, probe, ok := muxPattern(op.Method, op.Path)
			if !ok {
				continue
			}
			req := &http.Request{Method: op.Method, URL: &url.URL{Path: probe}, Host: "localhost", Header: http.Header{}}
			if _, got := mux.Handler(req); got != prefix+"/" && got != op.Method+" "+prefix+"/" {
				continue
			}
			todo = append(todo, candidate{pattern, mr.h})
		}
	}
	sort.Slice(todo, func(i, j int) bool { return todo[i].pattern < todo[j].pattern })
	for _, c := range todo {
		tryHandle(mux, c.pattern, c.h)
	}
}

// mountRoute is a system's mount and the handler the mux serves it with.
type mountRoute struct {
	mount *openapi.Mount
	h     http.Handler
}

// tryHandle registers pattern, and reports false when the mux refuses it
// (it panics on a conflict, before changing anything).
func tryHandle(mux *http.ServeMux, pattern string, h http.Handler) (ok bool) {
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	mux.Handle(pattern, h)
	return true
}

// muxPattern turns an operation's method and path template into a mux
// pattern, each {parameter} a wildcard {p0}, {p1}..., and a path of it (the
// parameters "x"); false when the template is not one a pattern matches as
// the mount does: a parameter within a segment, an empty segment (a
// trailing slash would make a prefix pattern), characters other than
// unreserved and sub-delims.
func muxPattern(method, path string) (pattern, probe string, ok bool) {
	if !strings.HasPrefix(path, "/") {
		return "", "", false
	}
	var pat, pr strings.Builder
	pat.WriteString(method + " ")
	for i, seg := range strings.Split(path[1:], "/") {
		switch {
		case seg == "":
			return "", "", false
		case strings.HasPrefix(seg, "{") && strings.HasSuffix(seg, "}") && strings.Count(seg, "{") == 1 && strings.Count(seg, "}") == 1:
			fmt.Fprintf(&pat, "/{p%d}", i)
			pr.WriteString("/x")
		default:
			for _, c := range []byte(seg) {
				if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("-._~!$&'()*+,;=:@", c) >= 0) {
					return "", "", false
				}
			}
			pat.WriteString("/" + seg)
			pr.WriteString("/" + seg)
		}
	}
	return pat.String(), pr.String(), true
}

// gated runs every request inside the gate, except those that only read
// what has its own locks: the live event stream, which lasts on purpose (so
// the server's read and write timeouts do not cut it either), and the
// health check.
func (s *Simulator) gated(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case admin.Prefix + "/events/stream":
			gate.NoDeadlines(w)
			next.ServeHTTP(w, r)
			return
		case admin.Prefix + "/health":
			next.ServeHTTP(w, r)
			return
		}
		if gate.From(r.Context()) != nil {
			// A request made in process by one inside the gate (a page
			// that calls the control API through Handler) is part of its
			// work: it shares its pass rather than queue behind a reset
			// that waits for it.
			next.ServeHTTP(w, r)
			return
		}
		if s.shared != nil {
			// Another replica may have moved the namespace's clock: catch
			// up before the request reads it (outside the gate, as a move
			// made here fires its timers).
			if err := s.shared.sync(r.Context()); err != nil {
				s.opts.Logger.Warn("clock not read from the store", "err", err)
			}
		}
		// The pass is kept and carried by the request's scope (observe's);
		// outside one (a test serving gated alone) it goes in a context of
		// its own, on a request copy.
		p := openapi.EnterGate(r.Context(), s.gate)
		if p == nil {
			p = s.gate.Enter()
			r = r.WithContext(gate.With(r.Context(), p))
		}
		defer p.Leave()
		next.ServeHTTP(w, r)
	})
}

func (s *Simulator) index(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodGet && dashboard.WantsHTML(r) {
		s.dash.ServeOverview(w, r)
		return
	}
	admin.WriteJSON(w, http.StatusOK, map[string]any{
		"name": "pspsim", "version": Version,
		"serves": map[string]string{
			"/genstore/": "Genstore's API for payment apps",
			"/codepay/":  "the CodePay gateway",
			"/vm/":       "the Visa/Mastercard online gateway",
			"/_sim/":     "the simulator's control API (health, reset, clock, events, specs)",
		},
		"specs": admin.Prefix + "/specs",
	})
}

// observe counts every request in the metrics and writes its access-log
// line at info: method, path, the system and operation the mount routed it
// to, status, duration (wall time: it measures the server, not the domain)
// and the ids of the route and of the body (openapi.BodyIDFields). The logging handler masks card numbers in every
// attribute. A request no mount saw is labelled by its first path segment,
// never by its path, to keep the series few.
func observe(log *slog.Logger, scope *metrics.Scope, next http.Handler) http.Handler {
	ns := scope.Namespace()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		ctx, note, sw := openapi.WithNoteRecorder(r.Context(), w)
		logging := log.Enabled(ctx, slog.LevelInfo)
		note.WantBodyIDs = logging
		next.ServeHTTP(sw, r.WithContext(ctx))
		took := time.Since(start)
		system, op := note.System, note.Operation
		if system == "" {
			system = pathSystem(r.URL.Path)
		}
		scope.Request(system, op, sw.Status, took)
		if !logging {
			return
		}
		attrs := []slog.Attr{slog.String("namespace", ns), slog.String("method", r.Method), slog.String("path", r.URL.Path),
			slog.String("system", system), slog.String("operation", op), slog.Int("status", sw.Status), slog.Duration("duration", took)}
		if n := len(note.PathParams) + len(note.BodyIDs); n > 0 {
			all := make(map[string]string, n)
			maps.Copy(all, note.BodyIDs)
			maps.Copy(all, note.PathParams)
			ids := make([]any, 0, 2*n)
			for _, k := range slices.Sorted(maps.Keys(all)) {
				ids = append(ids, slog.String(k, all[k]))
			}
			attrs = append(attrs, slog.Group("ids", ids...))
		}
		log.LogAttrs(ctx, slog.LevelInfo, "request", attrs...)
	})
}

// pathSystem names what serves a path outside the mounts (pages, the
// dashboard) by its first segment.
func pathSystem(p string) string {
	seg, _, _ := strings.Cut(strings.TrimPrefix(p, "/"), "/")
	switch seg {
	case "genstore", "codepay":
		return seg
	case "vm":
		return vmgateway.Name
	case "3ds":
		return "threeds"
	case "_sim":
		return "admin"
	case "", "dash":
		return "dashboard"
	}
	return "other"
}

// Metrics returns the simulator's metrics scope: its namespace's share of
// the process's collectors (Options.Metrics).
func (s *Simulator) Metrics() *metrics.Scope { return s.metrics }

// MetricsRegistry returns the collectors the simulator counts on, to serve
// (`pspsim serve` serves them at /metrics) or gather in a test.
func (s *Simulator) MetricsRegistry() *metrics.Metrics { return s.opts.Metrics }

// Handler returns the simulator's HTTP handler.
func (s *Simulator) Handler() http.Handler { return s.handler }

// Reset forgets every object and event, stops pending deliveries and
// timers and reloads each system's fixtures and config. The clock does not
// move. It is atomic: it waits until no request, timer or delivery is at
// work, and holds new ones back until it is done (package gate), so each
// sees the world before the reset or after it. Called from a request (POST
// /_sim/reset), it steps out of that request's pass first.
func (s *Simulator) Reset(ctx context.Context) error {
	if p := gate.From(ctx); p != nil {
		p.Leave()
		defer p.Rejoin()
	}
	return s.gate.Exclusive(func() error { return s.reset(ctx) })
}

func (s *Simulator) reset(ctx context.Context) error {
	s.env.Sender.StopAll()
	if err := s.jobs.Reset(ctx); err != nil {
		return fmt.Errorf("reset jobs: %w", err)
	}
	s.clock.StopAll()
	if err := s.env.Store.Reset(ctx); err != nil {
		return fmt.Errorf("reset store: %w", err)
	}
	if s.shared != nil {
		// The store's reset emptied the namespace's state; the clock does
		// not move, so its time is stored again.
		if err := s.shared.init(ctx); err != nil {
			return fmt.Errorf("reset clock: %w", err)
		}
	}
	if err := s.env.Journal.ResetContext(ctx); err != nil {
		return fmt.Errorf("reset journal: %w", err)
	}
	for _, sys := range s.systems {
		if err := sys.Reset(ctx); err != nil {
			return fmt.Errorf("reset %s: %w", sys.Name(), err)
		}
	}
	if err := s.faults.Reset(); err != nil {
		return fmt.Errorf("reset faults: %w", err)
	}
	s.canaries.Clear()
	s.env.Record("sim", "sim.reset", "simulator reset: state emptied, fixtures reloaded", nil, nil)
	return nil
}

// Close stops deliveries, lets go of connections that faults hold and ends
// live event streams; the simulator must not be used afterwards. It may be
// called more than once (cmd/pspsim calls it when the server starts shutting
// down, so that held connections do not delay the shutdown).
func (s *Simulator) Close() {
	s.closing.Do(func() {
		close(s.done)
		s.unwatch()
		s.faults.Close()
		s.canaries.Close()
		if s.durable != nil {
			// First: a closing replica writes no more rows; its pending
			// jobs stay for the restart or the other replicas.
			s.durable.Close()
		}
		s.env.Sender.Close()
		// Timers die with the simulator: a deleted namespace's real-clock
		// timers must not fire into it (nor keep it in memory) later.
		s.clock.StopAll()
		// What is still inside the gate — a job's handler, a delivery's
		// attempt (cancelled above) — finishes before the journal closes
		// and the caller closes the store under it.
		ctx, cancel := context.WithTimeout(context.Background(), closeWait)
		if err := s.gate.Quiet(ctx); err != nil {
			s.opts.Logger.Warn("close: work still running", "err", err)
		}
		cancel()
		// Last: what the above recorded is written.
		if err := s.env.Journal.Close(); err != nil {
			s.opts.Logger.Warn("journal: the last events were not written", "err", err)
		}
	})
}

// canaryAllowed names, per system, the JSON fields of a request where a card
// number legitimately travels (the card gateway takes the card in clear;
// CodePay and Genstore never do).
var canaryAllowed = map[string]map[string]bool{
	vmgateway.Name: {"cardNo": true},
}

// stripQuery drops the query of a URL (Genstore's signature) for a journal line.
func stripQuery(u string) string {
	if i := strings.IndexByte(u, '?'); i >= 0 {
		return u[:i]
	}
	return u
}

// Canaries returns the canary registry.
func (s *Simulator) Canaries() *canary.Registry { return s.canaries }

// Faults returns the fault engine.
func (s *Simulator) Faults() *faults.Engine { return s.faults }

// SetBaseURL records the URL clients reach the simulator at.
func (s *Simulator) SetBaseURL(u string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.baseURL = strings.TrimRight(u, "/")
}

// BaseURL returns the URL clients reach the simulator at.
func (s *Simulator) BaseURL() string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.baseURL
}

// Clock returns the simulator's clock.
func (s *Simulator) Clock() clock.Clock { return s.opts.Clock }

// Journal returns the event journal.
func (s *Simulator) Journal() *journal.Journal { return s.env.Journal }

// Env returns the shared machinery (for tests and in-process tools).
func (s *Simulator) Env() *env.Env { return s.env }

// Seed returns the random seed.
func (s *Simulator) Seed() uint64 { return s.opts.Seed }

// Mount returns the API mount of a system ("genstore", "codepay",
// "vmgateway", "admin"), or nil.
func (s *Simulator) Mount(system string) *openapi.Mount {
	if system == "admin" {
		return s.admin
	}
	for _, sys := range s.systems {
		if sys.Name() == system {
			return sys.Mount()
		}
	}
	return nil
}

// System returns an emulated system by name, or nil.
func (s *Simulator) System(name string) System {
	for _, sys := range s.systems {
		if sys.Name() == name {
			return sys
		}
	}
	return nil
}

func (s *Simulator) systemInfo() []admin.SystemInfo {
	var out []admin.SystemInfo
	for _, sys := range s.systems {
		m := sys.Mount()
		keys := m.Keys()
		out = append(out, admin.SystemInfo{Name: sys.Name(), Mount: m.Prefix(), Operations: len(keys), Handled: len(keys) - len(m.Unhandled())})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}
