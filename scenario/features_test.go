package scenario_test

import (
	"net/http"
	"testing"

	"github.com/pspsim/pspsim/internal/godog"

	"github.com/pspsim/pspsim/scenario"
)

// TestSimulatorFeatures runs every feature under features/simulator against
// fresh in-process simulators, each scenario as a subtest. A response that
// breaks its spec fails the run.
func TestSimulatorFeatures(t *testing.T) {
	suite := godog.TestSuite{
		Name: "simulator",
		ScenarioInitializer: scenario.Initializer(scenario.InProcess(func(r *http.Request, op string, status int, err error) {
			if err != nil {
				t.Errorf("response to %s %s (%s, %d) breaks the spec: %v", r.Method, r.URL.Path, op, status, err)
			}
		})),
		Options: &godog.Options{
			Format:      "progress",
			Paths:       []string{"../features/simulator"},
			TestingT:    t,
			Strict:      true,
			Concurrency: 2,
		},
	}
	if suite.Run() != 0 {
		t.Fatal("the simulator's feature files failed")
	}
}
