package conformance

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/pspsim/pspsim/internal/godog"

	"github.com/pspsim/pspsim/features"
	"github.com/pspsim/pspsim/scenario"
)

// Groups returns the conformance suite's step groups, in documentation order
// (docs/CONFORMANCE.md lists them).
func Groups() []scenario.Group {
	return []scenario.Group{installSteps(), actionSteps(), faultSteps(), resultSteps(), pspSteps(), checkSteps()}
}

// reused names the groups of the simulator's step library the conformance
// features may use too (they need a simulator that is never reset).
var reused = map[string]bool{"Faults": true, "Clock": true, "Journal": true}

// SuiteOptions choose what to run and how to report it.
type SuiteOptions struct {
	// Tags selects scenarios by a godog tag expression ("@idempotency",
	// "@payment,@refund", "~@deadline").
	Tags string
	// Format is godog's formatter list: "progress", "pretty",
	// "junit:FILE", "cucumber:FILE", comma-separated.
	Format string
	// Output receives what the formatters print to standard output.
	Output io.Writer
	// FS and Paths hold the features; default the embedded suite.
	FS    fs.FS
	Paths []string
	// Scenarios, when set, runs only the embedded suite's scenarios of these
	// names (an example of an outline runs all the outline's examples); an
	// unknown name is reported as a failed run.
	Scenarios []string
	// TestingT, when set, makes each scenario a subtest of the test.
	TestingT *testing.T
	// Name is the suite's name in reports.
	Name string
}

// ScenarioResult is how one scenario went.
type ScenarioResult struct {
	Feature string
	Name    string
	Tags    []string
	Passed  bool
	// Codes are the verdict codes of the failing step (usually one).
	Codes []Code
	// Err is the failing step's error, verdict text included.
	Err string
	// Unfired lists the fault rules the scenario installed that never fired:
	// the scenario did not provoke what it meant to (an app that takes no
	// webhooks never meets a webhook fault, for instance).
	Unfired []string
}

// HasTag reports whether the scenario carries a theme tag (without @).
func (r ScenarioResult) HasTag(theme string) bool {
	for _, t := range r.Tags {
		if strings.TrimPrefix(t, "@") == theme {
			return true
		}
	}
	return false
}

// Report is how a run went.
type Report struct {
	// Status is godog's exit status: 0 all passed, 1 a scenario failed, 2 a
	// usage error.
	Status    int
	Scenarios []ScenarioResult
}

// Failed returns the scenarios that failed.
func (r Report) Failed() []ScenarioResult {
	var out []ScenarioResult
	for _, s := range r.Scenarios {
		if !s.Passed {
			out = append(out, s)
		}
	}
	return out
}

// Run runs the suite through the harness. Scenarios run one after the
// other: they share the simulator's clock and the app.
func (h *Harness) Run(ctx context.Context, o SuiteOptions) Report {
	var mu sync.Mutex
	var results []ScenarioResult
	record := func(r ScenarioResult) {
		mu.Lock()
		defer mu.Unlock()
		results = append(results, r)
	}
	if o.FS == nil {
		o.FS, o.Paths = features.Conformance(), []string{features.ConformanceDir}
		if len(o.Scenarios) > 0 {
			paths, err := scenarioPaths(o.Scenarios)
			if err != nil {
				return Report{Status: 2, Scenarios: []ScenarioResult{{Name: strings.Join(o.Scenarios, ", "), Err: err.Error()}}}
			}
			o.Paths = paths
		}
	}
	if o.Format == "" {
		o.Format = "progress"
	}
	if o.Output == nil {
		o.Output = io.Discard
	}
	if o.Name == "" {
		o.Name = "conformance"
	}
	suite := godog.TestSuite{
		Name:                o.Name,
		ScenarioInitializer: h.initializer(record),
		Options: &godog.Options{
			Format:         o.Format,
			Tags:           h.pspTags(o.Tags),
			FS:             o.FS,
			Paths:          o.Paths,
			Output:         o.Output,
			TestingT:       o.TestingT,
			Strict:         true,
			Concurrency:    1,
			NoColors:       true,
			DefaultContext: ctx,
		},
	}
	status := suite.Run()
	mu.Lock()
	defer mu.Unlock()
	sort.SliceStable(results, func(i, j int) bool { return results[i].Feature < results[j].Feature })
	return Report{Status: status, Scenarios: results}
}

// initializer registers the steps and the hooks that give every scenario a
// fresh world and record how it went.
func (h *Harness) initializer(record func(ScenarioResult)) func(*godog.ScenarioContext) {
	return func(sc *godog.ScenarioContext) {
		sc.Before(func(ctx context.Context, s *godog.Scenario) (context.Context, error) {
			var tags []string
			for _, t := range s.Tags {
				tags = append(tags, t.Name)
			}
			w, err := h.newWorld(ctx, s.Name, tags)
			if err != nil {
				return ctx, err
			}
			ctx = context.WithValue(ctx, worldKey{}, w)
			return scenario.WithWorld(ctx, scenario.NewWorld(h.URL, nil).WithAdminToken(h.adminToken)), nil
		})
		sc.After(func(ctx context.Context, s *godog.Scenario, err error) (context.Context, error) {
			if sw := scenario.WorldFrom(ctx); sw != nil {
				sw.Close()
			}
			bg := context.WithoutCancel(ctx)
			// A scenario whose steps passed is judged by the rules every
			// scenario is judged by (finally.go); its failure fails the last step.
			var final error
			w, ok := worldIn(ctx)
			if ok && err == nil {
				final = w.finalChecks(bg)
			}
			failed := err
			if failed == nil {
				failed = final
			}
			r := ScenarioResult{Feature: s.Uri, Name: s.Name, Passed: failed == nil}
			if ok {
				for _, id := range w.rules {
					if evs, ferr := w.myEvents(bg, "system", "faults", "kind", "fault.fired", "rule", id); ferr == nil && len(evs) == 0 {
						r.Unfired = append(r.Unfired, id)
					}
				}
			}
			// The scenario's fault rules go with it (the next scenario starts clean).
			_, _, _ = h.call(bg, http.MethodDelete, "/_sim/faults", nil)
			for _, t := range s.Tags {
				r.Tags = append(r.Tags, t.Name)
			}
			if failed != nil {
				r.Err = failed.Error()
				var v *Verdict
				if errors.As(failed, &v) {
					r.Codes = append(r.Codes, v.Code)
				}
			}
			record(r)
			return ctx, final
		})
		for _, g := range Groups() {
			for _, st := range g.Steps {
				sc.Step(st.Pattern, st.Func)
			}
		}
		for _, g := range scenario.Groups() {
			if reused[g.Name] {
				for _, st := range g.Steps {
					sc.Step(st.Pattern, st.Func)
				}
			}
		}
	}
}

// scenarioPaths turns scenario names into godog paths (file:line).
func scenarioPaths(names []string) ([]string, error) {
	scs, err := Scenarios()
	if err != nil {
		return nil, err
	}
	var paths []string
	for _, n := range names {
		found := ""
		for _, s := range scs {
			if s.Name == n {
				found = s.Path()
				break
			}
		}
		if found == "" {
			return nil, fmt.Errorf("no conformance scenario is named %q", n)
		}
		if !slices.Contains(paths, found) {
			paths = append(paths, found)
		}
	}
	return paths, nil
}

// pspTags narrows a tag expression to the scenarios that run for the app's
// PSP: a scenario tagged with a PSP (@vmgateway, @codepay) is about that
// PSP's own behaviour and runs only for apps that use it; every other
// scenario runs for every PSP.
func (h *Harness) pspTags(tags string) string {
	var others []string
	for _, p := range PSPs {
		if p != h.psp.system() {
			others = append(others, "~@"+p)
		}
	}
	expr := strings.Join(others, " && ")
	if strings.TrimSpace(tags) == "" {
		return expr
	}
	// godog's tag expressions have no parentheses: "," (or) binds within a
	// clause, "&&" joins clauses, so appending clauses narrows any expression.
	return tags + " && " + expr
}

// PSPs are the PSPs an app may use (app.yaml psp.system), each also the tag
// of the scenarios about its own behaviour.
var PSPs = []string{"vmgateway", "codepay"}
