// Command pspsim emulates Genstore, the CodePay gateway and the Visa/Mastercard
// online gateway on one port, for payment-app developers and CI.
//
//	pspsim serve [flags]      run the sandbox
//	pspsim scenario PATH...   run Gherkin feature files against a simulator
//	pspsim conformance --app app.yaml   judge a payment app against the Genstore contract
//	pspsim steps              print the Gherkin step catalogue (features/STEPS.md)
//	pspsim specs [NAME]       list the embedded OpenAPI specs, or print one
//	pspsim fixtures           print the magic test cards, magic amounts and sandbox credentials
//	pspsim health [--url U]   exit 0 when a running pspsim answers
//	pspsim codepay sign|verify|encrypt-card   CodePay signatures for curl users
//	pspsim version            print the version, commit and Go version
package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/pspsim/pspsim/fixtures"
	"github.com/pspsim/pspsim/scenario"
	"github.com/pspsim/pspsim/simulator"
	"github.com/pspsim/pspsim/simulator/clock"
	"github.com/pspsim/pspsim/simulator/codepay"
	"github.com/pspsim/pspsim/simulator/control"
	"github.com/pspsim/pspsim/simulator/faults"
	"github.com/pspsim/pspsim/simulator/host"
	"github.com/pspsim/pspsim/simulator/ids"
	"github.com/pspsim/pspsim/simulator/jobs"
	"github.com/pspsim/pspsim/simulator/logging"
	"github.com/pspsim/pspsim/simulator/metrics"
	"github.com/pspsim/pspsim/simulator/openapi"
	"github.com/pspsim/pspsim/simulator/pan"
	"github.com/pspsim/pspsim/simulator/store"
	"github.com/pspsim/pspsim/specs"
)

// DefaultAddr is where `pspsim serve` listens unless told otherwise.
const DefaultAddr = "127.0.0.1:7357"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr, nil))
}

const usage = `pspsim — a payment sandbox: Genstore, CodePay and a Visa/Mastercard gateway on one port.

Usage:
  pspsim serve [flags]     run the sandbox; Prometheus metrics at /metrics (pspsim serve -h for flags)
  pspsim scenario PATH...  run Gherkin feature files (pspsim scenario -h for flags)
  pspsim conformance --app app.yaml
                           judge a payment app against the Genstore contract (pspsim conformance -h)
  pspsim codepay sign|verify|encrypt-card
                           sign CodePay requests and check its answers from a shell (pspsim codepay -h)
  pspsim steps             print the Gherkin step catalogue (features/STEPS.md)
  pspsim specs [NAME]      list the embedded OpenAPI specs, or print one
  pspsim fixtures          print the magic test cards, magic amounts and sandbox credentials
  pspsim health [--url U]  exit 0 when a running pspsim answers (container health checks)
  pspsim version           print the version, commit and Go version
  pspsim help              print this help

Install: go install github.com/pspsim/pspsim/cmd/pspsim@latest (or go install ./cmd/pspsim in a checkout).
`

// commands are the subcommands, for the nearest-command suggestion.
var commands = []string{"serve", "scenario", "conformance", "codepay", "steps", "specs", "fixtures", "health", "version", "help"}

// run is main without the process: tests call it. ready, when not nil,
// receives the listening address once the server accepts connections.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, ready chan<- string) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "serve":
		return serve(ctx, args[1:], stdout, stderr, ready)
	case "scenario":
		return runScenarios(ctx, args[1:], stdout, stderr)
	case "conformance":
		return runConformance(ctx, args[1:], stdout, stderr)
	case "steps":
		stdout.Write(scenario.Catalogue())
		return 0
	case "specs":
		return printSpecs(args[1:], stdout, stderr)
	case "fixtures":
		return printFixtures(stdout, stderr)
	case "health":
		return health(ctx, args[1:], stdout, stderr)
	case "codepay":
		return codepayCmd(ctx, args[1:], stdout, stderr)
	case "version", "--version", "-v":
		printVersion(stdout)
		return 0
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	msg := fmt.Sprintf("pspsim: unknown command %q", args[0])
	if strings.HasPrefix(args[0], "-") {
		msg = fmt.Sprintf("pspsim: unknown flag %s: flags come after the command, e.g. pspsim serve %s", args[0], args[0])
	} else if near := nearestWord(commands, args[0]); near != "" {
		msg += fmt.Sprintf("; did you mean %q?", near)
	}
	fmt.Fprintf(stderr, "%s (pspsim --help lists the commands)\n", msg)
	return 2
}

// printVersion prints pspsim's version, the module's version and VCS commit
// as the Go toolchain stamped them into the binary (go install, go build in
// a checkout; -buildvcs=false leaves the commit out), and the Go version.
func printVersion(w io.Writer) {
	fmt.Fprintf(w, "pspsim %s\n", simulator.Version)
	module, commit, when, modified := "(unknown)", "(unknown)", "", false
	goVersion := runtime.Version()
	if bi, ok := debug.ReadBuildInfo(); ok {
		module = bi.Main.Path + " " + bi.Main.Version
		goVersion = bi.GoVersion
		for _, kv := range bi.Settings {
			switch kv.Key {
			case "vcs.revision":
				commit = kv.Value
			case "vcs.time":
				when = kv.Value
			case "vcs.modified":
				modified = kv.Value == "true"
			}
		}
	}
	if modified {
		commit += " (modified)"
	}
	fmt.Fprintf(w, "  module  %s\n  commit  %s\n", strings.TrimSpace(module), commit)
	if when != "" {
		fmt.Fprintf(w, "  date    %s\n", when)
	}
	fmt.Fprintf(w, "  go      %s %s/%s\n", goVersion, runtime.GOOS, runtime.GOARCH)
}

func serve(ctx context.Context, args []string, stdout, stderr io.Writer, ready chan<- string) int {
	fs := newFlags("serve", "", stderr)
	addr := fs.String("addr", DefaultAddr, "listen address (host:port; port 0 picks a free one)")
	publicURL := fs.String("public-url", "", "URL clients reach pspsim at, for hosted pages (default: http://<addr>)")
	clockMode := fs.String("clock", "real", "real, or sim: a clock that moves only by POST /_sim/clock/advance")
	clockStart := fs.String("clock-start", "", "with --clock=sim: the starting time, RFC 3339 (default: now)")
	stampClock := fs.String("stamp-clock", "real", "clock of the timestamps in outbound signatures (Genstore's signed query, webhooks, notifications): real, because apps check freshness against real time; or sim, for receivers that follow pspsim's clock")
	seedFlag := fs.String("seed", "", "random seed for ids, fake data and probabilistic faults (default: drawn and logged)")
	configPath := fs.String("config", "", "YAML file with apps, shops, merchants, terminals (one section per system) and fault rules (faults)")
	faultsPath := fs.String("faults", "", "YAML file of fault rules installed at start and after every reset (see README, Faults)")
	codepayData := fs.String("codepay-data", "string", "how CodePay answers carry data: string (as CodePay's demos verify) or object (as the seed's samples show)")
	validate := fs.Bool("validate-specs", false, "run full OpenAPI document validation at start (slower)")
	logLevel := fs.String("log-level", "info", "debug, info, warn or error")
	logJSON := fs.Bool("log-json", false, "log JSON lines instead of text")
	// Retention: what the sandbox keeps in memory (README, "Memory and retention").
	retainEvents := fs.Int("retain-events", 0, fmt.Sprintf("journal events kept; the oldest are dropped first (default %d; or retention.events in --config)", simulator.DefaultRetainEvents))
	retainObjects := fs.Int("retain-objects", 0, fmt.Sprintf("objects kept per kind (payments, orders, refunds, sessions, authentications…); the oldest that have ended — final, nothing pending — are dropped first, never apps, shops, merchants or terminals (default %d; or retention.objects)", simulator.DefaultRetainObjects))
	retainAge := fs.Duration("retain-age", 0, "also drop objects that have ended once older than this on the simulator's clock, e.g. 24h (default: no age limit; or retention.age)")
	strict := fs.Bool("strict", false, "refuse every departure from the vendors' documented tables; by default pspsim accepts what the real gateways plausibly accept and warns (X-Pspsim-Warning, request.warning); or strict: true in --config")
	adminToken := adminTokenFlag(fs, "a token every control-API (/_sim) request must carry: Authorization: Bearer <token> or the pspsim_admin cookie")
	settings := serverFlags(fs)
	nsSettings := namespaceFlags(fs)
	openStore := storeFlag(fs)
	replica := fs.String("replica", "", "this process's name among the replicas sharing a durable --store: its pending timers and deliveries carry it (default: drawn at random at start)")
	jobLease := fs.Duration("job-lease", 10*time.Second, "with a durable --store: how long this process's pending timers and deliveries stay its own without renewal; a replica that dies leaves them to the others (or to its restart) this long after")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		fmt.Fprintf(stderr, "pspsim serve: --log-level: %v\n", err)
		return 2
	}
	log := logging.New(stderr, level, *logJSON)

	// One set of collectors for the process, served at /metrics, shared by
	// every namespace; one cache of compiled specs for them all.
	reg := metrics.New()
	opts := simulator.Options{Logger: log, ValidateSpecs: *validate, Strict: *strict, Metrics: reg, Specs: openapi.NewSpecs(specs.FS(), *validate),
		Retention: simulator.Retention{Events: *retainEvents, Objects: *retainObjects, Age: *retainAge},
		Replica:   *replica, JobLease: *jobLease}
	if opts.Replica == "" {
		// One id for the process, whatever the namespaces.
		opts.Replica = jobs.NewReplicaID()
	}
	if opts.JobLease <= 0 {
		fmt.Fprintln(stderr, "pspsim serve: --job-lease must be positive")
		return 2
	}
	switch *clockMode {
	case "real":
		opts.Clock = clock.NewReal()
	case "sim":
		start := time.Now().UTC().Truncate(time.Second)
		if *clockStart != "" {
			t, err := time.Parse(time.RFC3339, *clockStart)
			if err != nil {
				fmt.Fprintf(stderr, "pspsim serve: --clock-start: %v\n", err)
				return 2
			}
			start = t
		}
		opts.Clock = clock.NewSim(start)
	default:
		fmt.Fprintf(stderr, "pspsim serve: --clock must be real or sim, not %q\n", *clockMode)
		return 2
	}
	switch *stampClock {
	case "real":
		opts.StampClock = clock.NewReal()
	case "sim":
		opts.StampClock = opts.Clock
	default:
		fmt.Fprintf(stderr, "pspsim serve: --stamp-clock must be real or sim, not %q\n", *stampClock)
		return 2
	}
	if *seedFlag == "" {
		opts.Seed = ids.RandomSeed() >> 1 // keep it below 2^63 so JSON readers take it whole
	} else {
		var seed uint64
		if _, err := fmt.Sscanf(*seedFlag, "%d", &seed); err != nil {
			fmt.Fprintf(stderr, "pspsim serve: --seed must be a non-negative integer\n")
			return 2
		}
		opts.Seed = seed
	}
	switch *codepayData {
	case "string":
		opts.CodePayData = codepay.DataString
	case "object":
		opts.CodePayData = codepay.DataObject
	default:
		fmt.Fprintf(stderr, "pspsim serve: --codepay-data must be string or object\n")
		return 2
	}
	if name, err := readFlagFiles(flagFile{"--config", *configPath, &opts.Config}, flagFile{"--faults", *faultsPath, &opts.Faults}); err != nil {
		fmt.Fprintf(stderr, "pspsim serve: %s: %v\n", name, err)
		return 2
	}

	server, err := settings(opts.Config)
	if err != nil {
		fmt.Fprintf(stderr, "pspsim serve: %v\n", err)
		return 2
	}
	namespaces, err := nsSettings(opts.Config)
	if err != nil {
		fmt.Fprintf(stderr, "pspsim serve: %v\n", err)
		return 2
	}

	db, storeName, err := openStore(ctx, opts.Config)
	if err != nil {
		fmt.Fprintf(stderr, "pspsim serve: %v\n", err)
		return 1
	}
	if db != nil {
		// Closed last: the deferred closes of the simulator and the host run
		// before it.
		defer db.Close()
		opts.Backend = db
	}

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintf(stderr, "pspsim serve: %v\n", err)
		return 1
	}
	base := *publicURL
	if base == "" {
		base = "http://" + ln.Addr().String()
	}
	opts.BaseURL = base
	// The control API answers to loopback names, the public URL's host and
	// the listen address (and --allowed-hosts).
	opts.Control = control.Policy{AllowedHosts: append([]string{ln.Addr().String(), *addr}, server.AllowedHosts...), Token: adminToken()}
	// Building the simulator decodes the specs: a burst of short-lived
	// garbage. A higher GC target for that burst alone cuts about a tenth of
	// the cold start; the default comes back before serving.
	gcPercent := debug.SetGCPercent(400)
	sim, err := simulator.New(ctx, opts)
	debug.SetGCPercent(gcPercent)
	if err != nil {
		ln.Close()
		fmt.Fprintf(stderr, "pspsim serve: %v\n", err)
		return 1
	}
	defer sim.Close()
	// Namespaces (README, "Namespaces"): each a simulator of its own under
	// /ns/{name}/, built from the same options; the default one at the root.
	nsBase := opts
	nsBase.Clock, nsBase.IDs, nsBase.Store = nil, nil, nil
	var nsStart time.Time // --clock-start, else each namespace starts at the wall time
	if *clockStart != "" {
		nsStart, _ = time.Parse(time.RFC3339, *clockStart)
	}
	hostOpts := host.Options{Default: sim, Base: nsBase, SimClock: *clockMode == "sim", ClockStart: nsStart,
		StampSim: *stampClock == "sim", Auto: namespaces.Auto, Idle: time.Duration(namespaces.Idle), Max: namespaces.Max, Retention: namespaces.retention()}
	if sb, ok := opts.Backend.(store.StateBackend); ok {
		// A durable store keeps the namespaces too: a restart and the
		// other replicas find them.
		if hostOpts.Registry, err = sb.State(ctx, host.RegistryNamespace); err != nil {
			ln.Close()
			fmt.Fprintf(stderr, "pspsim serve: %v\n", err)
			return 1
		}
	}
	nsHost, err := host.New(hostOpts)
	if err != nil {
		ln.Close()
		fmt.Fprintf(stderr, "pspsim serve: %v\n", err)
		return 1
	}
	defer nsHost.Close()
	if os.Getenv("GOMEMLIMIT") == "" {
		// What the retention keeps fits under this — the default namespace's
		// and every other's at their limits; the heap is not left to grow to
		// twice it (README, "Memory and retention").
		debug.SetMemoryLimit(namespaces.memoryLimit(sim.Retention()))
	}
	// The collector's target, under that limit (collector.go).
	gcTarget := any(cmp.Or(os.Getenv("GOGC"), "100"))
	if percent, set := server.gcTarget(); set {
		debug.SetGCPercent(percent)
		gcTarget = percent
	}
	srv := server.httpServer(withMetrics(reg, nsHost))
	// Connections held by faults and live event streams end when shutdown
	// starts, so that they do not hold it up.
	srv.RegisterOnShutdown(nsHost.Close)
	srv.RegisterOnShutdown(sim.Close)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(server.listener(ln)) }()
	if warning := exposure(ln.Addr().String(), server, opts.Control.Token); warning != "" {
		log.Warn(warning)
		fmt.Fprintln(stderr, warning)
	}
	log.Info("pspsim serving", "url", base, "gcPercent", gcTarget, "memoryLimit", debug.SetMemoryLimit(-1), "clock", opts.Clock.Mode(), "seed", opts.Seed, "store", storeName, "replica", opts.Replica,
		"genstore", base+"/genstore", "codepay", base+"/codepay/api/entry", "vmgateway", base+"/vm", "admin", base+"/_sim/health",
		"namespaces", base+"/ns/{name}/", "namespacesAuto", namespaces.Auto, "namespacesMax", namespaces.Max, "namespaceIdle", time.Duration(namespaces.Idle))
	fmt.Fprintf(stdout, "pspsim %s listening on %s (replay with --seed %d)\n", simulator.Version, base, opts.Seed)
	if ready != nil {
		ready <- ln.Addr().String()
	}
	select {
	case <-ctx.Done():
		log.Info("shutting down")
		shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(shutdownCtx); err != nil {
			log.Warn("shutdown", "err", err)
			return 1
		}
		return 0
	case err := <-errc:
		if errors.Is(err, http.ErrServerClosed) {
			return 0
		}
		fmt.Fprintf(stderr, "pspsim serve: %v\n", err)
		return 1
	}
}

// withMetrics serves the process's metrics at GET /metrics, beside the
// simulator. They hold counts, never ids or card data, so that Prometheus
// scrapes without the admin token.
func withMetrics(reg *metrics.Metrics, next http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", reg.Handler())
	mux.Handle("/", next)
	return mux
}

func printSpecs(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		for _, n := range specs.Names() {
			fmt.Fprintln(stdout, n)
		}
		return 0
	}
	name := args[0]
	if !strings.HasSuffix(name, ".yaml") {
		name += ".yaml"
	}
	b, err := specs.Read(name)
	if err != nil {
		fmt.Fprintf(stderr, "pspsim specs: no spec %q (pspsim specs lists them)\n", args[0])
		return 1
	}
	stdout.Write(b)
	return 0
}

func printFixtures(stdout, stderr io.Writer) int {
	cs, err := fixtures.TestCards()
	if err != nil {
		fmt.Fprintf(stderr, "pspsim fixtures: %v\n", err)
		return 1
	}
	fmt.Fprintln(stdout, "Magic test cards (any future expiry, any CVV):")
	fmt.Fprintf(stdout, "  %-3s %-17s %-17s %-20s %s\n", "NN", "Visa", "Mastercard", "3-D Secure", "outcome")
	for _, c := range cs.Cards {
		outcome := c.Outcome
		if c.DeclineReason != "" {
			outcome += " (" + c.DeclineReason + ")"
		}
		flow := c.ThreeDS.Flow
		if c.ThreeDS.TransStatus != "" {
			flow += " " + c.ThreeDS.TransStatus
			if c.ThreeDS.FinalStatus != "" {
				flow += "→" + c.ThreeDS.FinalStatus
			}
		}
		fmt.Fprintf(stdout, "  %-3s %-17s %-17s %-20s %s\n", c.NN, c.Visa, c.Mastercard, flow, outcome)
	}
	fmt.Fprintf(stdout, "Challenge OTPs: %s passes, %s fails; Cancel abandons.\n\n", cs.Challenge.PassOTP, cs.Challenge.FailOTP)
	magic, err := faults.MagicRules()
	if err != nil {
		fmt.Fprintf(stderr, "pspsim fixtures: %v\n", err)
		return 1
	}
	fmt.Fprintln(stdout, "Magic amounts (fixtures/faults.yaml; --config faults: {magic: false} turns them off):")
	for _, r := range magic {
		fmt.Fprintf(stdout, "  %-20s %s\n", r.ID, r.Description)
	}
	fmt.Fprintln(stdout)
	for _, name := range []string{"genstore.yaml", "codepay.yaml", "vmgateway.yaml"} {
		b, err := fixtures.Read(name)
		if err != nil {
			fmt.Fprintf(stderr, "pspsim fixtures: %v\n", err)
			return 1
		}
		fmt.Fprintf(stdout, "--- fixtures/%s\n%s\n", name, pan.Scrub(string(b)))
	}
	return 0
}

// health asks a running pspsim for /_sim/health: the container health check
// (distroless images have no curl).
func health(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("health", "", stderr)
	url := fs.String("url", "http://"+DefaultAddr, "base URL of the running pspsim")
	token := adminTokenFlag(fs, "the running pspsim's admin token")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "GET", strings.TrimRight(*url, "/")+"/_sim/health", nil)
	if err != nil {
		fmt.Fprintf(stderr, "pspsim health: %v\n", err)
		return 2
	}
	res, err := adminClient(token(), 0).Do(req)
	if err != nil {
		fmt.Fprintf(stderr, "pspsim health: %v\n", err)
		return 1
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(res.Body, 4096))
	if res.StatusCode != http.StatusOK {
		fmt.Fprintf(stderr, "pspsim health: HTTP %d\n", res.StatusCode)
		return 1
	}
	stdout.Write(append(body, '\n'))
	return 0
}
