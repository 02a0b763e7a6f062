package main

import (
	"errors"
	"flag"
	"fmt"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/pspsim/pspsim/simulator"
	"github.com/pspsim/pspsim/simulator/host"
)

// namespaceSettings are serve's namespace limits, from the flags and the
// --config file's namespaces section:
//
//	namespaces:
//	  auto: true          # a request to /ns/{name}/… creates it
//	  idle: 30m           # an unused namespace is deleted after this
//	  max: 32             # namespaces besides the default one
//	  retention:          # the most each keeps (and what it keeps by default)
//	    events: 10000
//	    objects: 2500
//	    age: 24h
type namespaceSettings struct {
	Auto      bool     `yaml:"auto"`
	Idle      duration `yaml:"idle"`
	Max       int      `yaml:"max"`
	Retention struct {
		Events  int      `yaml:"events"`
		Objects int      `yaml:"objects"`
		Age     duration `yaml:"age"`
	} `yaml:"retention"`
}

// DefaultNamespaceIdle is how long an unused namespace lives unless told.
const DefaultNamespaceIdle = 2 * time.Hour

// namespaceFlags registers the namespace flags on fs; apply, after parsing,
// lays what the flags set over the config file's namespaces section.
func namespaceFlags(fs *flag.FlagSet) (apply func(config []byte) (namespaceSettings, error)) {
	auto := fs.Bool("namespaces-auto", false, "create a namespace at the first request to /ns/{name}/… (else: POST /_sim/namespaces)")
	idle := fs.Duration("namespace-idle", DefaultNamespaceIdle, "delete a namespace that received no request for this long (0: never)")
	maxN := fs.Int("namespaces-max", host.DefaultMax, "how many namespaces may exist besides the default one")
	return func(config []byte) (namespaceSettings, error) {
		s := namespaceSettings{Idle: duration(DefaultNamespaceIdle), Max: host.DefaultMax}
		if len(config) > 0 {
			// A map of nodes: yaml.v3 leaves a *yaml.Node struct field empty.
			var doc map[string]yaml.Node
			if err := yaml.Unmarshal(config, &doc); err == nil && doc["namespaces"].Kind != 0 {
				n := doc["namespaces"]
				if err := n.Decode(&s); err != nil {
					return s, fmt.Errorf("config: namespaces: %w", err)
				}
			}
		}
		set := map[string]bool{}
		fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
		if set["namespaces-auto"] {
			s.Auto = *auto
		}
		if set["namespace-idle"] {
			s.Idle = duration(*idle)
		}
		if set["namespaces-max"] {
			s.Max = *maxN
		}
		if s.Max < 1 {
			return s, errors.New("--namespaces-max must be at least 1")
		}
		if s.Idle < 0 || s.Retention.Events < 0 || s.Retention.Objects < 0 {
			return s, errors.New("namespaces: idle and retention must not be negative")
		}
		return s, nil
	}
}

// retention is the most a namespace keeps, the host's defaults filling
// what the settings leave unset.
func (s namespaceSettings) retention() simulator.Retention {
	r := simulator.Retention{Events: s.Retention.Events, Objects: s.Retention.Objects, Age: time.Duration(s.Retention.Age)}
	if r.Events == 0 {
		r.Events = host.DefaultRetainEvents
	}
	if r.Objects == 0 {
		r.Objects = host.DefaultRetainObjects
	}
	return r
}

// memoryLimit is the soft memory limit for the default namespace's
// retention plus Max namespaces at theirs.
func (s namespaceSettings) memoryLimit(def simulator.Retention) int64 {
	return def.MemoryLimit() + int64(s.Max)*s.retention().MemoryShare()
}
