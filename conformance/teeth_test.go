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
// switch and proves that every bug is caught by at least one scenario of the
// theme that names it (paymentapp.BugCatalog). A suite that passes a broken
// app is worth nothing. The kill matrix is printed with -v.
//
// Each bug runs against its own theme's scenarios, each on its own sandbox
// and app, in parallel. PSPSIM_KILL_MATRIX=full runs every bug against the
// whole suite instead (a few minutes), to see what else each bug breaks.
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
				tags := "@" + b.Theme
				if full {
					tags = ""
				}
				ra := startRefApp(t, b.Bug)
				rep := ra.run(t, tags, io.Discard, nil)
				row := conformance.KillRow{Bug: string(b.Bug), Theme: b.Theme, Report: rep}
				mu.Lock()
				rows[i] = row
				mu.Unlock()
				if len(rep.Scenarios) == 0 {
					t.Fatalf("no scenario is tagged @%s", b.Theme)
				}
				if !row.Caught() {
					t.Errorf("bug %s (%s, CONTRACT.md %s) passed every @%s scenario: the suite does not check %q", b.Bug, b.Theme, b.Section, b.Theme, b.Rule)
				}
				for _, s := range row.CaughtBy(b.Theme) {
					if len(s.Codes) == 0 {
						t.Errorf("bug %s: scenario %q failed without a verdict code: %s", b.Bug, s.Name, s.Err)
					}
				}
			})
		}
	})
	var b bytes.Buffer
	scope := "its theme's scenarios"
	if full {
		scope = "the whole suite"
	}
	b.WriteString("kill matrix: the reference app with each bug switch, run against " + scope + "\n")
	conformance.WriteKillMatrix(&b, rows)
	t.Logf("%s(%s)", b.String(), time.Since(start).Round(time.Millisecond))
}
