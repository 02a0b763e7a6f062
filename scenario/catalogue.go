package scenario

import (
	"bytes"
	"fmt"
	"strings"
)

// Catalogue renders the step library as Markdown — features/STEPS.md is this
// text, and a test fails when the file is stale, so the documentation QA
// reads is always what the steps do. Regenerate it with
// `go run ./cmd/pspsim steps > features/STEPS.md`.
func Catalogue() []byte {
	var b bytes.Buffer
	b.WriteString(`# Gherkin steps

<!-- Generated from the step definitions (scenario.Groups()) by ` + "`pspsim steps`" + `. Do not edit:
     change the steps' Doc and Example in scenario/ and run
     go run ./cmd/pspsim steps > features/STEPS.md -->

Every step a feature file can use, for the simulator's own features and for yours. Run feature
files with ` + "`pspsim scenario PATH...`" + ` (a fresh in-process simulator per scenario, with a simulated
clock) or ` + "`pspsim scenario --target http://127.0.0.1:7357 PATH...`" + ` (a running ` + "`pspsim serve`" + `, reset
before each scenario).

Write ` + "`{name}`" + ` in any quoted argument or doc string to insert a value remembered earlier (` + "`I remember`" + `,
` + "`I remember the JSON field`" + `, a receiver's address, the last fault rule's id ` + "`{rule}`" + `).
A pattern is a regular expression: text in quotes is yours to choose, ` + "`(a|b)`" + ` is one of the words
listed, ` + "`(\\d+)`" + ` a number, and a part in ` + "`(?: …)?`" + ` may be left out.

`)
	groups := Groups()
	b.WriteString("| group | steps |\n|---|---|\n")
	for _, g := range groups {
		fmt.Fprintf(&b, "| [%s](#%s) | %d |\n", g.Name, anchor(g.Name), len(g.Steps))
	}
	for _, g := range groups {
		fmt.Fprintf(&b, "\n## %s\n\n%s\n", g.Name, g.Doc)
		for _, st := range g.Steps {
			fmt.Fprintf(&b, "\n### `%s`\n\n%s\n\n```gherkin\n%s\n```\n", st.Pattern, st.Doc, st.Example)
		}
	}
	return b.Bytes()
}

func anchor(name string) string {
	return strings.ToLower(strings.NewReplacer(" ", "-", "/", "").Replace(name))
}
