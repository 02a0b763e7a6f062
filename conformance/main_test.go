package conformance_test

import (
	"flag"
	"os"
	"testing"
)

// TestMain lets more of this package's tests run at once than go test's
// default of one per core, unless -parallel says otherwise: a conformance run
// mostly waits (for the app, for quiet, for real-time deadlines), so on a
// two-core machine the reference app's runs on both PSPs, the second app's
// and the kill matrix's rows overlap their waits instead of queueing.
func TestMain(m *testing.M) {
	flag.Parse()
	explicit := false
	flag.Visit(func(f *flag.Flag) { explicit = explicit || f.Name == "test.parallel" })
	if !explicit {
		flag.Set("test.parallel", "6")
	}
	os.Exit(m.Run())
}
