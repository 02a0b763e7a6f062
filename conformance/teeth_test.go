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
// switch and proves that every bug is caught by the scenario that names it,
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
	rows := make([]conformance.KillRow, len(catalog))
	var mu sync.Mutex
	start := time.Now()
	t.Run("bug", func(t *testing.T) {
		for i, b := range catalog {
			t.Run(string(b.Bug), func(t *testing.T) {
				t.Parallel()
				opts := conformance.SuiteOptions{Format: "progress", Output: io.Discard}
				if !full && !b.Correct {
					opts.Scenarios = []string{b.Scenario}
				}
				ra := startRefApp(t, b.Bug)
				rep := ra.runWith(t, opts)
				row := conformance.KillRow{Bug: string(b.Bug), Theme: b.Theme, Scenario: b.Scenario, Code: conformance.Code(b.Code), Correct: b.Correct, Report: rep}
				mu.Lock()
				rows[i] = row
				mu.Unlock()
				ok, what := row.CaughtAsNamed()
				switch {
				case b.Correct && !ok:
					for _, s := range rep.Failed() {
						t.Errorf("the correct variant %s failed %s: %q:\n%s", b.Bug, s.Feature, s.Name, s.Err)
					}
					t.Errorf("the correct variant %s (%s) did not pass the suite: %s\napp log:\n%s", b.Bug, b.Rule, what, tail(ra.logs.String(), 3000))
				case !ok:
					t.Errorf("bug %s (docs/CONTRACT.md %s: %s) was not caught by %q with %s: %s", b.Bug, b.Section, b.Rule, b.Scenario, b.Code, what)
				}
			})
		}
	})
	var b bytes.Buffer
	scope := "its own scenario (a correct variant: the whole suite)"
	if full {
		scope = "the whole suite"
	}
	b.WriteString("kill matrix: the reference app with each bug switch, run against " + scope + "\n")
	conformance.WriteKillMatrix(&b, rows)
	t.Logf("%s(%s)", b.String(), time.Since(start).Round(time.Millisecond))
}
