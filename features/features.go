// Package features carries the conformance suite's Gherkin files
// (features/conformance/*.feature) inside the binary, so that
// `pspsim conformance` runs the suite from any directory. The simulator's own
// features (features/simulator) are read from disk by their tests.
package features

import (
	"embed"
	"io/fs"
)

//go:embed conformance/*.feature
var files embed.FS

// Conformance returns the conformance suite's feature files; its root holds
// the directory "conformance".
func Conformance() fs.FS { return files }

// ConformanceDir is the path of the suite's features inside Conformance().
const ConformanceDir = "conformance"
