package conformance

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pspsim/pspsim/simulator/host"
)

// A run in namespaces (RunOptions.Namespace, RunOptions.Parallel) never
// resets a shared server: each worker creates a namespace of its own on the
// target (POST /_sim/namespaces, with the simulated clock and the
// configuration an in-process sandbox has), runs its share of the
// scenarios there and deletes it. Without a target each worker gets an
// in-process sandbox of its own. With several workers every worker starts
// its own instance of the app (app.yaml's start section) on a port of its
// own: an app serves one Genstore, and the scenarios of one worker must
// not see another's callbacks.

// worker is one share of a spread run: a sandbox (a namespace or an
// in-process one), an app and the scenarios it runs.
type worker struct {
	n         int
	target    string
	namespace string
	app       AppConfig
	scenarios []string
	out       bytes.Buffer
	rep       Report
	err       error
}

// runSpread is Run with RunOptions.Namespace or Parallel > 1.
func runSpread(ctx context.Context, o RunOptions, timing Timing) (Report, error) {
	n := max(o.Parallel, 1)
	if n > 1 && o.App.Start == nil {
		return Report{}, errors.New("--parallel needs app.yaml's start section: each worker starts an instance of the app of its own (an app serves one Genstore endpoint)")
	}
	if n > 1 && strings.Contains(o.Format, ":") {
		return Report{}, errors.New("--parallel writes one report per worker: use the progress or pretty format (a junit:FILE or cucumber:FILE would be written by every worker)")
	}
	workers := make([]*worker, n)
	for i := range workers {
		workers[i] = &worker{n: i + 1, app: o.App}
	}
	if n > 1 {
		shares, err := Spread(n)
		if err != nil {
			return Report{}, err
		}
		for i, w := range workers {
			w.scenarios = shares[i]
		}
	}
	if n > 1 || o.AppPort != 0 {
		for i, w := range workers {
			port := o.AppPort
			if port > 0 {
				port += i // --app-port P with --parallel: P, P+1, …
			}
			if port <= 0 {
				p, err := freePort()
				if err != nil {
					return Report{}, err
				}
				port = p
			}
			moved, err := w.app.OnPort(port)
			if err != nil {
				return Report{}, err
			}
			w.app = moved
		}
	}
	start := time.Now()
	var wg sync.WaitGroup
	for _, w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.rep, w.err = w.run(ctx, o, timing)
		}()
	}
	wg.Wait()
	var rep Report
	var errs []error
	for _, w := range workers {
		if n > 1 {
			fmt.Fprintf(o.Stdout, "--- worker %d (%s, %d scenarios)\n", w.n, w.where(), len(w.rep.Scenarios))
		}
		o.Stdout.Write(w.out.Bytes())
		if w.err != nil {
			errs = append(errs, fmt.Errorf("worker %d: %w", w.n, w.err))
			continue
		}
		rep.Scenarios = append(rep.Scenarios, w.rep.Scenarios...)
		rep.Status = max(rep.Status, w.rep.Status)
	}
	if err := errors.Join(errs...); err != nil {
		return rep, err
	}
	sort.SliceStable(rep.Scenarios, func(i, j int) bool { return rep.Scenarios[i].Feature < rep.Scenarios[j].Feature })
	if n > 1 {
		fmt.Fprintf(o.Stderr, "pspsim conformance: %d workers ran %d scenarios in %s\n", n, len(rep.Scenarios), time.Since(start).Round(time.Millisecond))
	}
	WriteVerdicts(o.Stdout, rep)
	return rep, nil
}

func (w *worker) where() string {
	if w.namespace != "" {
		return "namespace " + w.namespace
	}
	return "sandbox " + w.target
}

// run sets up the worker's sandbox and app, runs its scenarios and tears
// both down.
func (w *worker) run(ctx context.Context, o RunOptions, timing Timing) (Report, error) {
	target := strings.TrimRight(o.Target, "/")
	if target == "" {
		sb, err := StartSandbox(ctx, SandboxOptions{Seed: o.Seed, RequestTimeout: timing.RequestTimeout})
		if err != nil {
			return Report{}, err
		}
		defer sb.Close()
		w.target = sb.URL
	} else {
		name := ""
		if o.Namespace != "" && o.Namespace != "auto" {
			name = o.Namespace
			if o.Parallel > 1 {
				name = fmt.Sprintf("%s-%d", o.Namespace, w.n)
			}
		}
		ns, err := host.CreateRemote(ctx, target, o.AdminToken, host.RemoteSpec{Name: name, Clock: "sim", Seed: &o.Seed,
			Config: string(SandboxOptions{RequestTimeout: timing.RequestTimeout}.Config())})
		if err != nil {
			return Report{}, err
		}
		w.namespace, w.target = ns.Name, ns.URL
		defer func() {
			if err := host.DeleteRemote(context.WithoutCancel(ctx), target, o.AdminToken, ns.Name); err != nil {
				fmt.Fprintf(o.Stderr, "pspsim conformance: %v\n", err)
			}
		}()
		fmt.Fprintf(o.Stderr, "pspsim conformance: worker %d in namespace %s (%s)\n", w.n, ns.Name, ns.URL)
		if err := prepareTarget(ctx, w.target, o.AdminToken); err != nil {
			return Report{}, err
		}
	}
	h, err := NewHarness(w.target, w.app, timing)
	if err != nil {
		return Report{}, err
	}
	h.SetAdminToken(o.AdminToken)
	if w.app.Start != nil {
		app, err := h.startApp(ctx, o.AppEnv, o.AppLog)
		if err != nil {
			return Report{}, err
		}
		defer app.stop()
	}
	if err := h.Prepare(ctx); err != nil {
		return Report{}, err
	}
	return h.Run(ctx, SuiteOptions{Tags: o.Tags, Format: o.Format, Output: &w.out, Name: appName(w.app), Scenarios: w.scenarios}), nil
}

// Spread deals the suite's scenarios to n workers: one name per feature
// path (the examples of an outline share the outline's path, and any of
// their names runs them all), round robin in the suite's order, so that
// each feature's scenarios spread over the workers and a slow feature does
// not fall to one.
func Spread(n int) ([][]string, error) {
	all, err := Scenarios()
	if err != nil {
		return nil, err
	}
	out := make([][]string, n)
	seen := map[string]bool{}
	i := 0
	for _, s := range all {
		if p := s.Path(); !seen[p] {
			seen[p] = true
			out[i%n] = append(out[i%n], s.Name)
			i++
		}
	}
	return out, nil
}

// OnPort returns the app moved to another port: the host:port of
// endpoints.paymentUrl is replaced by the same host with port in every
// endpoint, in start.env and in start.readyUrl. That is how the runner
// starts several instances of one app (--parallel, --app-port).
func (a AppConfig) OnPort(port int) (AppConfig, error) {
	u, err := url.Parse(a.Endpoints.PaymentURL)
	if err != nil || u.Host == "" || u.Port() == "" {
		return a, fmt.Errorf("app.yaml: endpoints.paymentUrl %q names no host:port to move the app from", a.Endpoints.PaymentURL)
	}
	from := u.Host
	to := net.JoinHostPort(u.Hostname(), strconv.Itoa(port))
	mv := func(s string) string { return strings.ReplaceAll(s, from, to) }
	e := &a.Endpoints
	for _, f := range []*string{&e.OnboardingURL, &e.PaymentURL, &e.CaptureURL, &e.VoidURL, &e.RefundURL, &e.PaymentQueryURL, &e.RefundQueryURL} {
		*f = mv(*f)
	}
	if a.Start != nil {
		s := *a.Start
		s.Env = make(map[string]string, len(a.Start.Env))
		for k, v := range a.Start.Env {
			s.Env[k] = mv(v)
		}
		s.ReadyURL = mv(s.ReadyURL)
		a.Start = &s
	}
	return a, nil
}

// freePort asks the system for a free loopback port.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("a free port for the app: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}
