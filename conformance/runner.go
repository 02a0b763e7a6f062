package conformance

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"sort"
	"strings"
	"time"

	"github.com/pspsim/pspsim/simulator/control"
)

// RunOptions configure `pspsim conformance`.
type RunOptions struct {
	// App is the app under test (app.yaml).
	App AppConfig
	// Target is the base URL of a running pspsim (started with --clock=sim),
	// reset before the run; empty starts one in process.
	Target string
	// AdminToken is the target's admin token (its --admin-token), sent with
	// every request to its control API; empty when it has none.
	AdminToken string
	// Namespace runs the suite in a fresh namespace of Target ("auto": a
	// generated name), deleted afterwards; nothing else on the server is
	// reset (namespaces.go).
	Namespace string
	// Parallel spreads the scenarios over this many workers, each with a
	// namespace of Target (or an in-process sandbox) and an instance of the
	// app of its own (app.yaml's start section, on a free port).
	Parallel int
	// AppPort moves the started app to this port (-1: a free one), so that
	// several runs can start the same app.yaml at once (OnPort); with
	// Parallel, worker i gets AppPort+i (default: free ports).
	AppPort int
	// Addr is where the in-process pspsim listens (default a free loopback port).
	Addr string
	// Seed makes the in-process pspsim's ids and fake data repeat.
	Seed uint64
	// Strict runs the in-process pspsim in --strict: an app's requests to
	// the PSPs and to Genstore are held to the documented tables exactly.
	Strict bool
	// Tags and Format are the suite's (SuiteOptions).
	Tags, Format string
	// Timing overrides app.yaml's suite section (zero fields keep it).
	Timing Timing
	// AppEnv adds variables to the started app's environment
	// (PAYMENTAPP_BUGS=flip-final to see the reference app fail).
	AppEnv map[string]string
	// AppLog receives the started app's output; nil discards it.
	AppLog io.Writer
	// Stdout gets the godog summary and the verdicts; Stderr the runner's
	// own messages.
	Stdout, Stderr io.Writer
}

// Run is `pspsim conformance`: it starts the sandbox (or resets the target),
// starts the app if app.yaml says how, registers it, runs the suite and
// prints the summary and the verdicts. The error is for what kept the suite
// from running at all; the report says how the app did.
func Run(ctx context.Context, o RunOptions) (Report, error) {
	if o.Stdout == nil {
		o.Stdout = io.Discard
	}
	if o.Stderr == nil {
		o.Stderr = io.Discard
	}
	timing := o.Timing.withDefaults(o.App.Suite)
	if o.Namespace != "" && o.Target == "" {
		return Report{}, errors.New("--namespace needs --target: a running pspsim serve to make the namespace in")
	}
	if o.Namespace != "" || o.Parallel > 1 || o.AppPort != 0 {
		return runSpread(ctx, o, timing)
	}
	target := strings.TrimRight(o.Target, "/")
	if target == "" {
		sb, err := StartSandbox(ctx, SandboxOptions{Addr: o.Addr, Seed: o.Seed, RequestTimeout: timing.RequestTimeout, Strict: o.Strict})
		if err != nil {
			return Report{}, err
		}
		defer sb.Close()
		target = sb.URL
		fmt.Fprintf(o.Stderr, "pspsim conformance: sandbox on %s (simulated clock, seed %d)\n", target, o.Seed)
	} else if err := prepareTarget(ctx, target, o.AdminToken); err != nil {
		return Report{}, err
	}
	h, err := NewHarness(target, o.App, timing)
	if err != nil {
		return Report{}, err
	}
	h.SetAdminToken(o.AdminToken)
	if o.App.Start != nil {
		app, err := h.startApp(ctx, o.AppEnv, o.AppLog)
		if err != nil {
			return Report{}, err
		}
		defer app.stop()
		fmt.Fprintf(o.Stderr, "pspsim conformance: %s is up\n", appName(o.App))
	}
	if err := h.Prepare(ctx); err != nil {
		return Report{}, err
	}
	rep := h.Run(ctx, SuiteOptions{Tags: o.Tags, Format: o.Format, Output: o.Stdout, Name: appName(o.App)})
	WriteVerdicts(o.Stdout, rep)
	return rep, nil
}

func appName(a AppConfig) string {
	if a.Name != "" {
		return a.Name
	}
	return a.ClientID
}

// prepareTarget resets a running pspsim and checks that its clock is
// simulated: the suite moves time (retries, deadlines, settlement).
func prepareTarget(ctx context.Context, target, adminToken string) error {
	c := &http.Client{Timeout: 30 * time.Second, Transport: control.Transport(nil, adminToken)}
	get := func(method, path string) ([]byte, error) {
		req, err := http.NewRequestWithContext(ctx, method, target+path, nil)
		if err != nil {
			return nil, err
		}
		res, err := c.Do(req)
		if err != nil {
			return nil, fmt.Errorf("--target %s: %w", target, err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		if res.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("--target %s%s: %d %s", target, path, res.StatusCode, clip(b, 200))
		}
		return b, nil
	}
	b, err := get("GET", "/_sim/clock")
	if err != nil {
		return err
	}
	if !strings.Contains(string(b), `"mode":"sim"`) {
		return fmt.Errorf("--target %s runs the real clock: start it with pspsim serve --clock=sim (the suite moves Genstore's clock past deadlines and retries)", target)
	}
	_, err = get("POST", "/_sim/reset")
	return err
}

// ---------------------------------------------------------------- the app's process

type appProcess struct {
	cmd  *exec.Cmd
	done chan error
	log  io.Writer
}

// startApp starts the harness's app against its sandbox, with CodePay's
// gateway key read from the sandbox (CODEPAY_GATEWAY_PUBLIC_KEY).
func (h *Harness) startApp(ctx context.Context, extra map[string]string, log io.Writer) (*appProcess, error) {
	var gk struct {
		Key string `json:"gateway_rsa_public_key"`
	}
	if err := h.admin(ctx, "GET", "/_sim/codepay/gateway-key", nil, http.StatusOK, &gk); err != nil {
		return nil, fmt.Errorf("reading CodePay's gateway key for the app: %w", err)
	}
	return startApp(ctx, h.App, h.URL, gk.Key, extra, log)
}

// startApp starts the app with the sandbox's URLs in its environment and
// waits for its readyUrl to answer 2xx.
func startApp(ctx context.Context, app AppConfig, target, codepayKey string, extra map[string]string, log io.Writer) (*appProcess, error) {
	s := app.Start
	if log == nil {
		log = io.Discard
	}
	cmd := exec.Command(s.Command[0], s.Command[1:]...)
	cmd.Dir = app.StartDir()
	env := os.Environ()
	add := func(k, v string) { env = append(env, k+"="+v) }
	keys := make([]string, 0, len(s.Env))
	for k := range s.Env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		add(k, s.Env[k])
	}
	add("PSPSIM_URL", target)
	add("GENSTORE_URL", target+"/genstore")
	add("VMGATEWAY_URL", target+"/vm")
	add("CODEPAY_URL", target+"/codepay")
	add("CODEPAY_GATEWAY_PUBLIC_KEY", codepayKey)
	for k, v := range extra {
		add(k, v)
	}
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = log, log
	ownGroup(cmd)
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start.command %v: %w", s.Command, err)
	}
	p := &appProcess{cmd: cmd, done: make(chan error, 1), log: log}
	go func() { p.done <- cmd.Wait() }()

	wait := s.ReadyTimeout.Std()
	if wait <= 0 {
		wait = 2 * time.Minute // `go run` compiles first
	}
	deadline := time.Now().Add(wait)
	ready, what := readyCheck(app)
	for {
		select {
		case err := <-p.done:
			return nil, fmt.Errorf("the app exited before %s answered: %v", s.ReadyURL, err)
		case <-ctx.Done():
			p.stop()
			return nil, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
		if ready() {
			return p, nil
		}
		if time.Now().After(deadline) {
			p.stop()
			return nil, fmt.Errorf("%s within %s", what, wait)
		}
	}
}

// readyCheck returns how the runner knows a started app is up: start.readyUrl
// answers 2xx or, without one, the host of endpoints.paymentUrl takes a TCP
// connection; and what it says when the wait runs out.
func readyCheck(app AppConfig) (func() bool, string) {
	if u := app.Start.ReadyURL; u != "" {
		client := &http.Client{Timeout: 2 * time.Second}
		return func() bool {
			res, err := client.Get(u)
			if err != nil {
				return false
			}
			res.Body.Close()
			return res.StatusCode/100 == 2
		}, fmt.Sprintf("the app's readyUrl %s did not answer 2xx", u)
	}
	host := ""
	if p, err := url.Parse(app.Endpoints.PaymentURL); err == nil {
		port := p.Port()
		if port == "" {
			port = "80"
			if p.Scheme == "https" {
				port = "443"
			}
		}
		host = net.JoinHostPort(p.Hostname(), port)
	}
	return func() bool {
		c, err := net.DialTimeout("tcp", host, 2*time.Second)
		if err != nil {
			return false
		}
		c.Close()
		return true
	}, fmt.Sprintf("the app took no connection at %s (endpoints.paymentUrl; give start.readyUrl to say when it is ready)", host)
}

// stop ends the app: SIGTERM to the process group the runner started (a
// `go run` and the binary it built), then, after 10 s, SIGKILL.
func (p *appProcess) stop() {
	select {
	case <-p.done:
		return
	default:
	}
	terminate(p.cmd, false)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		terminate(p.cmd, true)
		<-p.done
	}
}

// ---------------------------------------------------------------- verdicts

// WriteVerdicts prints, after the godog summary, each failed scenario with
// its verdict codes, then a count per code.
func WriteVerdicts(out io.Writer, rep Report) {
	failed := rep.Failed()
	if len(failed) == 0 {
		fmt.Fprintf(out, "\nconformance: all %d scenarios passed\n", len(rep.Scenarios))
		return
	}
	fmt.Fprintf(out, "\nconformance: %d of %d scenarios failed\n", len(failed), len(rep.Scenarios))
	counts := map[Code]int{}
	for _, s := range failed {
		codes := make([]string, 0, len(s.Codes))
		for _, c := range s.Codes {
			codes = append(codes, string(c))
			counts[c]++
		}
		if len(codes) == 0 {
			codes = []string{"(no verdict: " + firstLine(s.Err) + ")"}
		}
		fmt.Fprintf(out, "  %s  %s: %s\n", strings.Join(codes, ","), s.Feature, s.Name)
	}
	var cs []string
	for c := range counts {
		cs = append(cs, string(c))
	}
	sort.Strings(cs)
	fmt.Fprintln(out, "verdicts:")
	for _, c := range cs {
		i := info(Code(c))
		fmt.Fprintf(out, "  %-30s ×%d  docs/CONTRACT.md %s: %s\n", c, counts[Code(c)], i.Section, i.Rule)
	}
}
