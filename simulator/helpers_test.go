package simulator_test

import (
	"context"
	"crypto/rsa"
	"testing"

	"github.com/pspsim/pspsim/simulator"
	"github.com/pspsim/pspsim/simulator/journal"
	"github.com/pspsim/pspsim/simulator/simtest"
)

func journalKind(kind string) journal.Filter { return journal.Filter{Kind: kind} }

func newSim(config string) (*simulator.Simulator, error) {
	return simulator.New(context.Background(), simulator.Options{Config: []byte(config)})
}

// demoAppKey is the CodePay demo app's sandbox key, which the fixtures
// register: requests signed with it (resignCodePay) pass the guard.
func demoAppKey(t *testing.T) *rsa.PrivateKey { return simtest.CodePayKey(t, "codepay-app-demo.pem") }
