package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/pspsim/pspsim/conformance"
)

const conformanceUsage = `Usage: pspsim conformance --app app.yaml [flags]

Runs the conformance suite (features/conformance, carried in the binary)
against a payment app and says, rule by rule, whether it honours the Genstore
contract. The sandbox runs in process with a simulated clock unless --target
names a running pspsim (started with --clock=sim; it is reset first — or,
with --namespace, left alone: the suite runs in a fresh namespace of it).
--parallel N spreads the scenarios over N workers, each with a sandbox (a
namespace of --target) and an instance of the app of its own. When
app.yaml has a start section the app is started with the sandbox's URLs in its
environment (PSPSIM_URL, GENSTORE_URL, VMGATEWAY_URL, CODEPAY_URL) and CodePay's
gateway key (CODEPAY_GATEWAY_PUBLIC_KEY), and stopped at the end. The app's PSP
is app.yaml's psp.system: vmgateway or codepay. Every scenario gets a fresh shop.

A failing scenario names the rule it broke with a stable code, the evidence
and the docs/CONTRACT.md section (docs/CONFORMANCE.md lists the codes).

Exit status: 0 every scenario passed, 1 a scenario failed, 2 bad usage,
3 the suite could not run (the app did not start, the target did not answer).

Flags:
`

// runConformance is `pspsim conformance`.
func runConformance(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("conformance", conformanceUsage, stderr)
	appPath := fs.String("app", "", "the app's app.yaml (required; see README, Conformance)")
	target := fs.String("target", "", "base URL of a running pspsim serve --clock=sim to use (reset first); default: one in process")
	adminToken := adminTokenFlag(fs, "with --target: its admin token")
	namespace := fs.String("namespace", "", "with --target: run in a fresh namespace of that server — NAME, or auto for a generated one — deleted afterwards; nothing else there is reset")
	parallel := fs.Int("parallel", 1, "spread the scenarios over N workers, each with its own namespace of --target (or in-process sandbox) and its own instance of the app (app.yaml start section, on a free port)")
	appPort := fs.String("app-port", "", "start the app on this port instead of app.yaml's (auto: a free one), so that several runs can start the same app.yaml at once; with --parallel, worker i gets PORT+i (default: free ports)")
	addr := fs.String("addr", "127.0.0.1:0", "in process: where the sandbox listens")
	tags := fs.String("tags", "", "run only the scenarios matching this tag expression, e.g. '@idempotency,@refund' or '~@deadline'")
	format := fs.String("format", "progress", formatHelp)
	seed := fs.String("seed", "1", "in process: the sandbox's random seed")
	strict := fs.Bool("strict", false, "in process: the sandbox refuses every departure from the vendors' documented tables (pspsim serve --strict); with --target, start that pspsim with --strict")
	appLog := fs.String("app-log", "", "where the started app's output goes: a file, or - for stderr (default: discarded)")
	resultWait := fs.Duration("result-wait", 0, "how long to wait for a callback the app owes (default: app.yaml suite.resultWait, else 10s)")
	quiet := fs.Duration("quiet", 0, "how long nothing must happen before the suite accepts nothing more will (default 300ms)")
	requestTimeout := fs.Duration("request-timeout", 0, "in process: Genstore's wait for an acknowledgement (default: app.yaml suite.requestTimeout, else 3s)")
	var appEnv envFlag
	fs.Var(&appEnv, "app-env", "NAME=VALUE added to the started app's environment (repeatable), e.g. PAYMENTAPP_BUGS=flip-final")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *appPath == "" || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "pspsim conformance: --app app.yaml is required (and nothing else on the command line)")
		fs.Usage()
		return 2
	}
	app, err := conformance.LoadAppConfig(*appPath)
	if err != nil {
		fmt.Fprintf(stderr, "pspsim conformance: %v\n", err)
		return 2
	}
	n, err := strconv.ParseUint(*seed, 10, 64)
	if err != nil {
		fmt.Fprintf(stderr, "pspsim conformance: --seed: %v\n", err)
		return 2
	}
	port := 0
	switch *appPort {
	case "":
	case "auto":
		port = -1
	default:
		if port, err = strconv.Atoi(*appPort); err != nil || port <= 0 || port > 65535 {
			fmt.Fprintln(stderr, "pspsim conformance: --app-port must be a port number or auto")
			return 2
		}
	}
	if *parallel < 1 {
		fmt.Fprintln(stderr, "pspsim conformance: --parallel must be at least 1")
		return 2
	}
	o := conformance.RunOptions{
		Namespace: *namespace, Parallel: *parallel, AppPort: port,
		App: app, Target: *target, AdminToken: adminToken(), Addr: *addr, Seed: n, Strict: *strict, Tags: *tags, Format: *format, AppEnv: appEnv.m,
		Timing: conformance.Timing{ResultWait: *resultWait, Quiet: *quiet, RequestTimeout: *requestTimeout},
		Stdout: stdout, Stderr: stderr,
	}
	switch *appLog {
	case "":
	case "-":
		o.AppLog = stderr
	default:
		f, err := os.Create(*appLog)
		if err != nil {
			fmt.Fprintf(stderr, "pspsim conformance: --app-log: %v\n", err)
			return 2
		}
		defer f.Close()
		o.AppLog = f
	}
	start := time.Now()
	rep, err := conformance.Run(ctx, o)
	if err != nil {
		fmt.Fprintf(stderr, "pspsim conformance: %v\n", err)
		return 3
	}
	fmt.Fprintf(stderr, "pspsim conformance: %d scenarios in %s\n", len(rep.Scenarios), time.Since(start).Round(time.Millisecond))
	if rep.Status != 0 {
		return 1
	}
	return 0
}

// envFlag collects repeated NAME=VALUE flags.
type envFlag struct{ m map[string]string }

func (e *envFlag) String() string { return "" }

func (e *envFlag) Set(v string) error {
	name, value, ok := strings.Cut(v, "=")
	if !ok || name == "" {
		return fmt.Errorf("%q is not NAME=VALUE", v)
	}
	if e.m == nil {
		e.m = map[string]string{}
	}
	e.m[name] = value
	return nil
}
