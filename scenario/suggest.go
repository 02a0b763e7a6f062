package scenario

import (
	"fmt"
	"regexp"
	"sync"

	"sort"
	"strings"

	"github.com/pspsim/pspsim/internal/godog"
	"github.com/pspsim/pspsim/internal/textdist"
)

// An undefined step fails with the closest defined ones, so a typo in a
// feature file ("the reciever got 1 request") says what was meant instead
// of godog's Go snippet, which is no help to QA writing Gherkin.

// argument matches what a step's author chooses: quoted text and numbers.
var argument = regexp.MustCompile(`"[^"]*"|\b\d+(\.\d+)?\b`)

// shape is a step's text with its arguments blanked and its keyword
// dropped, lower case: what must match for two steps to be the same step.
func shape(text string) string {
	text = strings.TrimSpace(text)
	for _, kw := range []string{"Given ", "When ", "Then ", "And ", "But ", "* "} {
		text = strings.TrimPrefix(text, kw)
	}
	return strings.ToLower(argument.ReplaceAllString(text, `""`))
}

// Suggest returns up to n examples of defined steps closest to text (by the
// edit distance of their words, arguments blanked), closest first.
func Suggest(text string, n int) []string {
	want := strings.Fields(shape(text))
	type scored struct {
		example string
		dist    int
	}
	var all []scored
	for _, g := range Groups() {
		for _, st := range g.Steps {
			ex := strings.SplitN(st.Example, "\n", 2)[0]
			all = append(all, scored{ex, wordDistance(want, strings.Fields(shape(ex)))})
		}
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].dist < all[j].dist })
	var out []string
	for _, s := range all[:min(n, len(all))] {
		out = append(out, s.example)
	}
	return out
}

// wordDistance is the Levenshtein distance between two word lists, a word
// that differs by a letter or two (a typo) costing less than another word.
func wordDistance(a, b []string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = 2 * j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = 2 * i
		for j := 1; j <= len(b); j++ {
			sub := 0
			if a[i-1] != b[j-1] {
				sub = 2
				if textdist.Levenshtein(a[i-1], b[j-1]) <= 2 {
					sub = 1
				}
			}
			cur[j] = min(prev[j]+2, cur[j-1]+2, prev[j-1]+sub)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

var (
	patternsOnce sync.Once
	patterns     []*regexp.Regexp
)

// undefinedSteps names every step of a scenario that no step matches, each
// with the closest defined ones.
func undefinedSteps(s *godog.Scenario) error {
	patternsOnce.Do(func() {
		for _, g := range Groups() {
			for _, st := range g.Steps {
				patterns = append(patterns, regexp.MustCompile(st.Pattern))
			}
		}
	})
	var msgs []string
	for _, st := range s.Steps {
		known := false
		for _, p := range patterns {
			if p.MatchString(st.Text) {
				known = true
				break
			}
		}
		if !known {
			msgs = append(msgs, fmt.Sprintf("undefined step %q; did you mean:\n    %s", st.Text, strings.Join(Suggest(st.Text, 3), "\n    ")))
		}
	}
	if msgs == nil {
		return nil
	}
	return fmt.Errorf("%s", strings.Join(msgs, "\n"))
}
