package host

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/pspsim/pspsim/simulator/store"
)

// The namespaces registry on a durable store (Options.Registry): each
// namespace is a document "ns/{name}" holding the spec it was created with,
// resolved (its seed, clock mode and start drawn or defaulted once, by the
// replica that created it), so that every replica and every restart builds
// the same namespace. A replica builds a registered namespace at its first
// request there (adopt), or when the list is asked for; a deletion removes
// the document, and the other replicas let go of their copy within
// followEvery.

// RegistryNamespace is the store namespace the registry's documents live
// in: not a valid namespace name, so no namespace's reset can empty it.
const RegistryNamespace = "_namespaces"

const (
	registryPrefix = "ns/"
	followEvery    = time.Second
	registryWait   = 5 * time.Second
)

// registered is a namespace's document.
type registered struct {
	Spec    Spec      `json:"spec"`
	Created time.Time `json:"created"`
}

// resolved returns the spec with what was drawn or defaulted made explicit.
func resolved(spec Spec, name string, seed uint64, mode string, start time.Time) Spec {
	spec.Name = name
	s := int64(seed)
	spec.Seed = &s
	spec.Clock = mode
	spec.ClockStart = ""
	if mode == "sim" {
		spec.ClockStart = start.UTC().Format(time.RFC3339Nano)
	}
	return spec
}

// register records a namespace being created; ok is false when another
// replica (or an earlier run) registered the name first.
func (h *Host) register(ctx context.Context, spec Spec, created time.Time) (bool, error) {
	b, err := json.Marshal(registered{Spec: spec, Created: created.UTC()})
	if err != nil {
		return false, err
	}
	return h.opts.Registry.Insert(ctx, registryPrefix+spec.Name, b)
}

// registeredSpec returns a registered namespace's document.
func (h *Host) registeredSpec(ctx context.Context, name string) (*registered, error) {
	raw, _, err := h.opts.Registry.Load(ctx, registryPrefix+name)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("namespaces registry: %w", err)
	}
	var reg registered
	if err := json.Unmarshal(raw, &reg); err != nil {
		return nil, fmt.Errorf("namespaces registry: %s: %w", name, err)
	}
	return &reg, nil
}

// registeredNames lists the registry.
func (h *Host) registeredNames(ctx context.Context) (map[string]bool, error) {
	docs, err := h.opts.Registry.List(ctx, registryPrefix)
	if err != nil {
		return nil, fmt.Errorf("namespaces registry: %w", err)
	}
	out := make(map[string]bool, len(docs))
	for k := range docs {
		out[strings.TrimPrefix(k, registryPrefix)] = true
	}
	return out, nil
}

// adoptAll builds here every registered namespace this replica lacks (the
// list of namespaces shows them all), up to Max.
func (h *Host) adoptAll(ctx context.Context) {
	if h.opts.Registry == nil {
		return
	}
	names, err := h.registeredNames(ctx)
	if err != nil {
		h.log.Warn("namespaces registry not read", "err", err)
		return
	}
	for name := range names {
		if _, aerr := h.lookup(ctx, name); aerr != nil {
			h.log.Warn("registered namespace not built", "name", name, "err", aerr)
		}
	}
}

// follow lets go of the namespaces another replica deleted.
func (h *Host) follow() {
	defer h.wg.Done()
	t := time.NewTicker(followEvery)
	defer t.Stop()
	for {
		select {
		case <-h.stop:
			return
		case <-t.C:
			ctx, cancel := context.WithTimeout(context.Background(), registryWait)
			names, err := h.registeredNames(ctx)
			cancel()
			if err != nil {
				h.log.Warn("namespaces registry not read", "err", err)
				continue
			}
			var gone []*space
			h.mu.Lock()
			for name, sp := range h.spaces {
				select {
				case <-sp.ready:
				default:
					continue // being created: registered before it is built
				}
				if !names[name] {
					delete(h.spaces, name)
					gone = append(gone, sp)
				}
			}
			h.mu.Unlock()
			for _, sp := range gone {
				h.release(sp, "deleted by another replica")
			}
		}
	}
}
