package conformance

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
)

// KillRow is one bug of an app run through the suite: which scenarios
// failed, by theme, with which codes.
type KillRow struct {
	// PSP is the PSP the app charged cards with (vmgateway, codepay).
	PSP string
	// Bug is the bug switch; Theme the tag whose scenarios must catch it.
	Bug, Theme string
	// NotApplicable marks a bug whose scenario does not run for the PSP (it
	// is about another PSP's own behaviour): nothing was run.
	NotApplicable bool
	// Scenario is the scenario that must catch it, with the verdict Code.
	Scenario string
	Code     Code
	// Correct marks a correct variant: every scenario must pass.
	Correct bool
	// Report is the run of the app with the bug switched on.
	Report Report
}

// CaughtAsNamed returns whether the bug's own scenario failed with its code
// (for a correct variant: whether every scenario passed), and what happened.
func (k KillRow) CaughtAsNamed() (bool, string) {
	if k.Correct {
		if f := k.Report.Failed(); len(f) > 0 || len(k.Report.Scenarios) == 0 {
			return false, fmt.Sprintf("%d of %d scenarios failed", len(f), len(k.Report.Scenarios))
		}
		return true, fmt.Sprintf("all %d scenarios passed", len(k.Report.Scenarios))
	}
	var seen []string
	for _, s := range k.Report.Scenarios {
		if s.Name != k.Scenario {
			continue
		}
		if s.Passed {
			seen = append(seen, "passed")
			continue
		}
		codes := fmt.Sprint(s.Codes)
		if len(s.Codes) == 1 && s.Codes[0] == k.Code {
			return true, codes
		}
		seen = append(seen, codes+" "+firstLine(s.Err))
	}
	if len(seen) == 0 {
		return false, "the scenario did not run"
	}
	return false, strings.Join(seen, "; ")
}

// CaughtBy returns the failed scenarios carrying theme.
func (k KillRow) CaughtBy(theme string) []ScenarioResult {
	var out []ScenarioResult
	for _, s := range k.Report.Failed() {
		if s.HasTag(theme) {
			out = append(out, s)
		}
	}
	return out
}

// Caught reports whether a scenario of the bug's own theme failed.
func (k KillRow) Caught() bool { return len(k.CaughtBy(k.Theme)) > 0 }

// WriteKillMatrix prints the matrix: for each bug, the themes whose
// scenarios caught it, how many, and the verdict codes they gave. themes
// are the columns to show (every theme any row ran when empty).
func WriteKillMatrix(out io.Writer, rows []KillRow) {
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "psp\tbug\tits scenario → code\tas named\tscenarios that failed, by theme: codes")
	for _, r := range rows {
		if r.NotApplicable {
			fmt.Fprintf(tw, "%s\t%s\t%s → %s\tn/a\t— (the scenario is not one of %s's)\n", r.PSP, r.Bug, r.Scenario, r.Code, r.PSP)
			continue
		}
		named, _ := r.CaughtAsNamed()
		want := fmt.Sprintf("%s → %s", r.Scenario, r.Code)
		if r.Correct {
			want = "(a correct variant: every scenario passes)"
		}
		byTheme := map[string][]ScenarioResult{}
		for _, s := range r.Report.Failed() {
			for _, t := range s.Tags {
				t = strings.TrimPrefix(t, "@")
				byTheme[t] = append(byTheme[t], s)
			}
		}
		themes := make([]string, 0, len(byTheme))
		for t := range byTheme {
			themes = append(themes, t)
		}
		sort.Slice(themes, func(i, j int) bool {
			if (themes[i] == r.Theme) != (themes[j] == r.Theme) {
				return themes[i] == r.Theme // its own theme first
			}
			return themes[i] < themes[j]
		})
		var cells []string
		for _, t := range themes {
			cells = append(cells, fmt.Sprintf("@%s %d/%d %s", t, len(byTheme[t]), ranWith(r.Report, t), codeCounts(byTheme[t])))
		}
		caught := "NO"
		if named {
			caught = "yes"
		}
		if len(cells) == 0 {
			cells = []string{fmt.Sprintf("— (%d passed)", len(r.Report.Scenarios))}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.PSP, r.Bug, want, caught, strings.Join(cells, "; "))
	}
	tw.Flush()
}

// ranWith counts the scenarios of a run that carry theme.
func ranWith(r Report, theme string) int {
	n := 0
	for _, s := range r.Scenarios {
		if s.HasTag(theme) {
			n++
		}
	}
	return n
}

// codeCounts renders "[IDEMPOTENCY_DOUBLE_CHARGE ×3, RESULT_MISSING]".
func codeCounts(ss []ScenarioResult) string {
	counts := map[Code]int{}
	var order []Code
	for _, s := range ss {
		codes := s.Codes
		if len(codes) == 0 {
			codes = []Code{"(no code: " + Code(firstLine(s.Err)) + ")"}
		}
		for _, c := range codes {
			if counts[c] == 0 {
				order = append(order, c)
			}
			counts[c]++
		}
	}
	var parts []string
	for _, c := range order {
		if counts[c] > 1 {
			parts = append(parts, fmt.Sprintf("%s ×%d", c, counts[c]))
		} else {
			parts = append(parts, string(c))
		}
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	if len(s) > 80 {
		s = s[:80] + "…"
	}
	return s
}
