package conformance_test

import (
	"bytes"
	"io"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/pspsim/pspsim/conformance"
	"github.com/pspsim/pspsim/examples/paymentapp"
)

// TestSuiteHasTeeth runs the suite against the reference app once per bug
// switch, on each PSP (the card gateway and CodePay), and proves that every
// bug is caught by the scenario that names it,
// with the verdict code that names its rule (paymentapp.BugCatalog) — the
// same code every time: a verdict is deterministic for a given behaviour. A
// suite that passes a broken app is worth nothing; one that fails a correct
// app is worse: the catalog's correct variants (acknowledge first; answer 5xx
// while the PSP is down) run the whole suite and must pass every scenario.
// The kill matrix is printed with -v.
//
// Each bug runs its own scenario (an outline: all its examples), each on its
// own sandbox and app, in parallel. PSPSIM_KILL_MATRIX=full runs every bug
// against the whole suite instead (a few minutes), to see what else each bug
// breaks.
func TestSuiteHasTeeth(t *testing.T) {
	t.Parallel()
	full := os.Getenv("PSPSIM_KILL_MATRIX") == "full"
	catalog := paymentapp.BugCatalog()
	type cell struct {
		psp string
		bug paymentapp.BugInfo
	}
	var cells []cell
	for _, psp := range conformance.PSPs {
		for _, b := range catalog {
			cells = append(cells, cell{psp, b})
		}
	}
	rows := make([]conformance.KillRow, len(cells))
	var mu sync.Mutex
	start := time.Now()
	t.Run("bug", func(t *testing.T) {
		for i, c := range cells {
			b := c.bug
			t.Run(c.psp+"/"+string(b.Bug), func(t *testing.T) {
				t.Parallel()
				row := conformance.KillRow{PSP: c.psp, Bug: string(b.Bug), Theme: b.Theme, Scenario: b.Scenario, Code: conformance.Code(b.Code), Correct: b.Correct}
				if !b.Correct && !runsOn(t, b.Scenario, c.psp) {
					// The rule the bug breaks is one of another PSP's own behaviour
					// (docs/CONFORMANCE.md lists which scenarios run for which PSP).
					row.NotApplicable = true
					mu.Lock()
					rows[i] = row
					mu.Unlock()
					t.Skipf("%q does not run for %s apps", b.Scenario, c.psp)
				}
				opts := conformance.SuiteOptions{Format: "progress", Output: io.Discard}
				if !full && !b.Correct {
					opts.Scenarios = []string{b.Scenario}
				}
				ra := startRefAppOn(t, c.psp, b.Bug)
				row.Report = ra.runWith(t, opts)
				mu.Lock()
				rows[i] = row
				mu.Unlock()
				ok, what := row.CaughtAsNamed()
				switch {
				case b.Correct && !ok:
					for _, s := range row.Report.Failed() {
						t.Errorf("the correct variant %s failed %s: %q:\n%s", b.Bug, s.Feature, s.Name, s.Err)
					}
					t.Errorf("the correct variant %s (%s) did not pass the suite on %s: %s\napp log:\n%s", b.Bug, b.Rule, c.psp, what, tail(ra.logs.String(), 3000))
				case !ok:
					t.Errorf("bug %s (docs/CONTRACT.md %s: %s) was not caught on %s by %q with %s: %s", b.Bug, b.Section, b.Rule, c.psp, b.Scenario, b.Code, what)
				}
			})
		}
	})
	var b bytes.Buffer
	scope := "its own scenario (a correct variant: the whole suite)"
	if full {
		scope = "the whole suite"
	}
	b.WriteString("kill matrix: the reference app with each bug switch, on each PSP, run against " + scope + "\n")
	conformance.WriteKillMatrix(&b, rows)
	t.Logf("%s(%s)", b.String(), time.Since(start).Round(time.Millisecond))
}

// runsOn reports whether the scenario named runs for apps of psp.
func runsOn(t testing.TB, name, psp string) bool {
	t.Helper()
	scs, err := conformance.Scenarios()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range scs {
		if s.Name == name {
			return s.RunsFor(psp)
		}
	}
	t.Fatalf("no scenario is named %q", name)
	return false
}
