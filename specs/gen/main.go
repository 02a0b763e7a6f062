// Command gen writes the JSON twin of every spec: specs/json/<name>.json is
// kin-openapi's own serialisation of specs/<name>.yaml. The server loads the
// twins because decoding JSON skips the YAML parse, a third of start-up time.
// Run it with `go generate ./specs` after editing a spec; TestJSONTwinsAreFresh
// fails until you do.
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/pspsim/pspsim/specs/specjson"
)

func main() {
	names, err := filepath.Glob("*.yaml")
	if err != nil || len(names) == 0 {
		fmt.Fprintln(os.Stderr, "gen: run from specs/ (go generate ./specs)")
		os.Exit(1)
	}
	for _, name := range names {
		raw, err := os.ReadFile(name)
		if err != nil {
			fmt.Fprintln(os.Stderr, "gen:", err)
			os.Exit(1)
		}
		out, err := specjson.ToJSON(raw)
		if err != nil {
			fmt.Fprintf(os.Stderr, "gen: %s: %v\n", name, err)
			os.Exit(1)
		}
		dst := filepath.Join("json", strings.TrimSuffix(name, ".yaml")+".json")
		if err := os.WriteFile(dst, out, 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "gen:", err)
			os.Exit(1)
		}
	}
}
