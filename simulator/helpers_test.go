package simulator_test

import (
	"context"

	"github.com/pspsim/pspsim/simulator"
	"github.com/pspsim/pspsim/simulator/journal"
)

func journalKind(kind string) journal.Filter { return journal.Filter{Kind: kind} }

func newSim(config string) (*simulator.Simulator, error) {
	return simulator.New(context.Background(), simulator.Options{Config: []byte(config)})
}
