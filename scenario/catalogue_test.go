package scenario_test

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/pspsim/pspsim/scenario"
)

var keyword = regexp.MustCompile(`^\s*(Given|When|Then|And|But|\*) `)

// stepText is the step line of an example or a feature, without its keyword.
func stepText(line string) (string, bool) {
	loc := keyword.FindStringIndex(line)
	if loc == nil {
		return "", false
	}
	return strings.TrimSpace(line[loc[1]:]), true
}

// TestEveryStepIsDocumentedAndItsExampleIsItself: each step has a doc and an
// example, and its example matches its own pattern and no other one (an
// ambiguous step would run whichever godog finds first).
func TestEveryStepIsDocumentedAndItsExampleIsItself(t *testing.T) {
	type compiled struct {
		group string
		st    scenario.Step
		re    *regexp.Regexp
	}
	var all []compiled
	seen := map[string]bool{}
	for _, g := range scenario.Groups() {
		if g.Name == "" || len(g.Doc) < 20 {
			t.Errorf("group %q has no doc", g.Name)
		}
		for _, st := range g.Steps {
			if seen[st.Pattern] {
				t.Errorf("pattern %s twice", st.Pattern)
			}
			seen[st.Pattern] = true
			if len(st.Doc) < 20 || st.Example == "" || st.Func == nil {
				t.Errorf("%s: step %s lacks a doc, an example or a function", g.Name, st.Pattern)
			}
			all = append(all, compiled{g.Name, st, regexp.MustCompile(st.Pattern)})
		}
	}
	for _, c := range all {
		line := strings.SplitN(c.st.Example, "\n", 2)[0]
		text, ok := stepText(line)
		if !ok {
			t.Errorf("%s: example %q has no Given/When/Then", c.st.Pattern, line)
			continue
		}
		var matched []string
		for _, o := range all {
			if o.re.MatchString(text) {
				matched = append(matched, o.st.Pattern)
			}
		}
		if len(matched) != 1 || matched[0] != c.st.Pattern {
			t.Errorf("example %q matches %q, want only %s", text, matched, c.st.Pattern)
		}
	}
}

// TestStepsCatalogueIsFresh: features/STEPS.md is what the step definitions
// say. PSPSIM_UPDATE_STEPS=1 go test ./scenario rewrites it.
func TestStepsCatalogueIsFresh(t *testing.T) {
	path := filepath.Join("..", "features", "STEPS.md")
	want := scenario.Catalogue()
	if os.Getenv("PSPSIM_UPDATE_STEPS") != "" {
		if err := os.WriteFile(path, want, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (generate it: go run ./cmd/pspsim steps > features/STEPS.md)", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("features/STEPS.md is stale: run go run ./cmd/pspsim steps > features/STEPS.md (or PSPSIM_UPDATE_STEPS=1 go test ./scenario)")
	}
	for _, g := range scenario.Groups() {
		if !bytes.Contains(got, []byte("\n## "+g.Name+"\n")) {
			t.Errorf("group %s is not documented", g.Name)
		}
	}
}

// TestFeaturesUseOnlyDocumentedSteps reads every feature under
// features/simulator and checks that each step line is one of the library's.
func TestFeaturesUseOnlyDocumentedSteps(t *testing.T) {
	var res []*regexp.Regexp
	for _, g := range scenario.Groups() {
		for _, st := range g.Steps {
			res = append(res, regexp.MustCompile(st.Pattern))
		}
	}
	files, _ := filepath.Glob("../features/simulator/*/*.feature")
	if len(files) < 2 {
		t.Fatalf("features: %v", files)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(bytes.NewReader(b))
		n := 0
		inDoc := false
		for sc.Scan() {
			n++
			line := sc.Text()
			if strings.TrimSpace(line) == `"""` {
				inDoc = !inDoc
				continue
			}
			if inDoc {
				continue
			}
			text, ok := stepText(line)
			if !ok || strings.Contains(text, "<") { // outline placeholders are checked when godog runs
				continue
			}
			found := false
			for _, re := range res {
				found = found || re.MatchString(text)
			}
			if !found {
				t.Errorf("%s:%d: %q is not a documented step", f, n, text)
			}
		}
	}
}
