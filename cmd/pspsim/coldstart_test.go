package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestBinaryRunsNoSubprocessAtStart guards the cold start: upstream godog's
// root package links internal/builder, whose package initializer runs `go
// env GOTOOLDIR` — a subprocess on every start of pspsim, whatever the
// command. pspsim uses its copy without the builder (internal/godog).
func TestBinaryRunsNoSubprocessAtStart(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command to list the binary's packages")
	}
	out, err := exec.Command(goTool, "list", "-deps", "github.com/pspsim/pspsim/cmd/pspsim").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, pkg := range strings.Fields(string(out)) {
		if pkg == "github.com/cucumber/godog" || strings.HasPrefix(pkg, "github.com/cucumber/godog/internal/") {
			t.Errorf("pspsim links %s: import github.com/pspsim/pspsim/internal/godog instead (see its README)", pkg)
		}
	}
}
