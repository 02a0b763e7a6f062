package faults

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"sort"
	"sync"

	"github.com/pspsim/pspsim/simulator/delivery"
)

// Target says what an action acts on.
type Target string

const (
	// API actions act on a request pspsim serves (a PSP call from the app,
	// a callback to Genstore).
	API Target = "api"
	// Delivery actions act on a message pspsim sends (Genstore's requests to
	// apps, CodePay notifications, gateway webhooks).
	Delivery Target = "delivery"
)

// Action is a built, configured action of one rule.
type Action interface {
	// Describe says in a few words what the action does ("timeout, held up
	// to 1m0s"), for the journal and the rule listing.
	Describe() string
}

// APIAction acts on a request pspsim serves. It answers w itself — or
// breaks the connection — and calls next when the operation should run.
// next answers into whatever writer it is given, so an action can run the
// operation and throw its answer away.
type APIAction interface {
	Action
	Serve(f *Fire, w http.ResponseWriter, r *http.Request, next http.Handler)
}

// DeliveryAction acts on one attempt of a message pspsim sends. send performs
// the HTTP exchange; the action may skip it, call it more than once, change
// the request first, or postpone it by returning a *delivery.Deferred.
type DeliveryAction interface {
	Action
	Deliver(ctx context.Context, f *Fire, req *delivery.Request, attempt int, send delivery.SendFunc) (*delivery.Response, error)
}

// Param documents one parameter of an action.
type Param struct {
	Name    string `json:"name"`
	Type    string `json:"type"` // duration, integer, string, boolean, number, object, enum values "a|b"
	Default string `json:"default,omitempty"`
	Doc     string `json:"doc"`
}

// Kind is one registered action: its name in rules, what it acts on, its
// documentation, and how to build it from a rule's parameters. Build reads
// its parameters through p, which reports a bad or unknown one naming the
// field; it returns an APIAction or a DeliveryAction as Target says.
type Kind struct {
	Name   string                          `json:"name"`
	Target Target                          `json:"target"`
	Doc    string                          `json:"doc"`
	Params []Param                         `json:"params"`
	Build  func(p *Params) (Action, error) `json:"-"`
}

// builtins are the actions of this package, each file adding its own from an
// init function (toxiproxy's toxics are the model: adding an action touches
// one file). It is appended to only during package initialisation, before any
// Engine exists; every Engine copies it into a Registry of its own, which is
// what rules are built from and what callers extend.
var builtins []Kind

func builtin(k Kind) { builtins = append(builtins, k) }

var kindName = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,31}$`)

// Registry holds the actions rules can name. Each Engine owns one.
type Registry struct {
	mu    sync.RWMutex
	kinds map[string]Kind
}

// NewRegistry returns a registry holding the built-in actions.
func NewRegistry() *Registry {
	r := &Registry{kinds: map[string]Kind{}}
	for _, k := range builtins {
		if err := r.Register(k); err != nil {
			panic(fmt.Sprintf("faults: built-in action: %v", err)) // a programming error in this package, caught by its tests
		}
	}
	return r
}

// Register adds an action. A name already taken, a malformed name, an
// unknown target or a missing builder is an error.
func (r *Registry) Register(k Kind) error {
	if !kindName.MatchString(k.Name) {
		return fmt.Errorf("faults: action name %q: want lower-case letters, digits, - or _", k.Name)
	}
	if k.Target != API && k.Target != Delivery {
		return fmt.Errorf("faults: action %s: target must be %q or %q", k.Name, API, Delivery)
	}
	if k.Build == nil {
		return fmt.Errorf("faults: action %s has no Build", k.Name)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, dup := r.kinds[k.Name]; dup {
		return fmt.Errorf("faults: action %s is registered twice", k.Name)
	}
	r.kinds[k.Name] = k
	return nil
}

// Lookup returns the action called name.
func (r *Registry) Lookup(name string) (Kind, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	k, ok := r.kinds[name]
	return k, ok
}

// Kinds lists the registered actions: API actions first, then delivery
// actions, each sorted by name.
func (r *Registry) Kinds() []Kind {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]Kind, 0, len(r.kinds))
	for _, k := range r.kinds {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Target != out[j].Target {
			return out[i].Target == API
		}
		return out[i].Name < out[j].Name
	})
	return out
}

// names lists the registered names for a target, for error messages.
func (r *Registry) names(t Target) []string {
	var out []string
	for _, k := range r.Kinds() {
		if t == "" || k.Target == t {
			out = append(out, k.Name)
		}
	}
	return out
}
