package simulator

import (
	"fmt"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/pspsim/pspsim/simulator/journal"
	"github.com/pspsim/pspsim/simulator/store"
)

// Retention bounds what a simulator keeps in memory, so that a sandbox
// serving a CI farm for days stays within a few hundred megabytes. When a
// limit is passed the oldest go first: journal events, and objects whose
// story has ended — a final status, no delivery on its way, no timer that
// would change them. Configuration (apps, shops, merchants, terminals) is
// never dropped, nor is anything pending, even past a limit. A dropped
// payment answers as an unknown one would.
//
// `pspsim serve --retain-events/--retain-objects/--retain-age`, or the
// `retention:` section of --config; the zero value of a field means its
// default.
type Retention struct {
	// Events is the most journal events kept (DefaultRetainEvents).
	Events int `yaml:"events"`
	// Objects is the most objects of one kind kept — payments, orders,
	// refunds, sessions, 3-D Secure authentications… (DefaultRetainObjects).
	Objects int `yaml:"objects"`
	// Age drops objects that may go once older than this on the
	// simulator's clock (0: no age limit).
	Age time.Duration `yaml:"age"`
	// Kinds overrides Objects per kind ("vm.payment": 50000).
	Kinds map[string]int `yaml:"kinds"`
}

// Default retention: chosen from the 1M-request soak (docs/PERFORMANCE.md).
// At 100 000 events and 25 000 objects per kind the live heap's peaks still
// rose in the last quarter of the run (338 → 383 MB) and RSS reached 476 MB:
// not "well under 500 MB". These keep a busy day's worth — the last 15 000
// payments, orders, refunds… of each kind and 60 000 events — well inside
// DefaultMemoryLimit.
const (
	DefaultRetainEvents  = journal.DefaultMax
	DefaultRetainObjects = 15_000
)

// DefaultMemoryLimit is the Go runtime's soft memory limit `pspsim serve`
// sets for the default retention unless GOMEMLIMIT says otherwise: the
// collector then returns what it freed instead of letting the heap run to
// twice the live data. MemoryLimit scales it with larger limits.
const DefaultMemoryLimit = 400 << 20

// MemoryLimit is the soft memory limit that suits r: DefaultMemoryLimit,
// scaled by how much more than the defaults r keeps.
func (r Retention) MemoryLimit() int64 {
	r = r.over(Retention{})
	scale := max(1, float64(r.Events)/DefaultRetainEvents, float64(r.Objects)/DefaultRetainObjects)
	return int64(scale * DefaultMemoryLimit)
}

// MemoryShare is what r's objects and events take at most, in the same
// measure as MemoryLimit but without its floor: a namespace that keeps a
// tenth of the defaults adds a tenth of DefaultMemoryLimit.
func (r Retention) MemoryShare() int64 {
	r = r.over(Retention{})
	scale := max(float64(r.Events)/DefaultRetainEvents, float64(r.Objects)/DefaultRetainObjects)
	return int64(scale * DefaultMemoryLimit)
}

// over fills r's unset fields from base, then from the defaults.
func (r Retention) over(base Retention) Retention {
	if r.Events == 0 {
		r.Events = base.Events
	}
	if r.Objects == 0 {
		r.Objects = base.Objects
	}
	if r.Age == 0 {
		r.Age = base.Age
	}
	if r.Kinds == nil {
		r.Kinds = base.Kinds
	}
	if r.Events == 0 {
		r.Events = DefaultRetainEvents
	}
	if r.Objects == 0 {
		r.Objects = DefaultRetainObjects
	}
	return r
}

func (r Retention) validate() error {
	switch {
	case r.Events < 0:
		return fmt.Errorf("retention: events must be positive")
	case r.Objects < 0:
		return fmt.Errorf("retention: objects must be positive")
	case r.Age < 0:
		return fmt.Errorf("retention: age must be positive")
	}
	for k, n := range r.Kinds {
		if n < 1 {
			return fmt.Errorf("retention: kinds.%s must be positive", k)
		}
	}
	return nil
}

// parseRetention reads the `retention:` section of --config.
func parseRetention(node *yaml.Node) (Retention, error) {
	var r Retention
	if node == nil {
		return r, nil
	}
	if node.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(node.Content); i += 2 {
			switch k := node.Content[i].Value; k {
			case "events", "objects", "age", "kinds":
			default:
				return r, fmt.Errorf("config: retention: unknown field %q (known: events, objects, age, kinds)", k)
			}
		}
	}
	if err := node.Decode(&r); err != nil {
		return r, fmt.Errorf("config: retention: %w", err)
	}
	return r, r.validate()
}

// memoryStore is the in-memory store with r's limits, aging on c.
func (r Retention) memoryStore(now func() time.Time) *store.Memory {
	return store.NewMemoryWith(store.MemoryOptions{Now: now,
		Retention: store.Retention{MaxObjects: r.Objects, MaxAge: r.Age, Kinds: r.Kinds}})
}

// Retention returns the limits the simulator runs with (options, then the
// config's section, then the defaults).
func (s *Simulator) Retention() Retention { return s.opts.Retention }
