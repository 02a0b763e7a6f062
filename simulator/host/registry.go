package host

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/pspsim/pspsim/simulator/apierr"
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
	ok, err := h.opts.Registry.Insert(ctx, registryPrefix+spec.Name, b)
	return ok, store.Failed(err)
}

// registeredSpec returns a registered namespace's document.
func (h *Host) registeredSpec(ctx context.Context, name string) (*registered, error) {
	raw, _, err := h.opts.Registry.Load(ctx, registryPrefix+name)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		// Marked: a namespace the registry did not answer for is 503, not
		// 500 (nor "no namespace").
		return nil, fmt.Errorf("namespaces registry: %w", store.Failed(err))
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
			h.SaveLastUse(ctx)
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

// Last use across replicas: each replica stores, per namespace, when it
// last served a request there — the document "used/{name}" (Unix ns, only
// ever moved forward) — at most once per usedEvery and off the request's
// path (SaveLastUse, on the follow ticker). Idle expiry deletes a
// namespace only when neither this replica's own last use nor the stored
// one is within the idle limit (less the stamp's lag, usedEvery), so that
// a namespace one replica uses is never deleted by another's sweep.
const (
	usedPrefix = "used/"
	usedEvery  = time.Minute
)

// SaveLastUse stores the last use of every namespace used here more than
// usedEvery after its last stored use. The host calls it every
// followEvery; tests call it directly.
func (h *Host) SaveLastUse(ctx context.Context) {
	if h.opts.Registry == nil {
		return
	}
	h.mu.Lock()
	var due []*space
	for _, sp := range h.spaces {
		if u := sp.used.Load(); sp.served.Load() && u-sp.stamped.Load() >= int64(usedEvery) {
			due = append(due, sp)
		}
	}
	h.mu.Unlock()
	for _, sp := range due {
		u := sp.used.Load()
		if err := h.stampUsed(ctx, sp.name, u); err != nil {
			h.log.Warn("namespace's last use not stored", "name", sp.name, "err", err)
			continue
		}
		sp.stamped.Store(u)
	}
}

// stampUsed moves a namespace's stored last use forward to at (never back:
// a compare-and-swap, as two replicas may stamp at once).
func (h *Host) stampUsed(ctx context.Context, name string, at int64) error {
	for range 8 {
		raw, v, err := h.opts.Registry.Load(ctx, usedPrefix+name)
		switch {
		case errors.Is(err, store.ErrNotFound):
			v = 0
		case err != nil:
			return err
		default:
			if cur, perr := strconv.ParseInt(string(raw), 10, 64); perr == nil && cur >= at {
				return nil
			}
		}
		if _, ok, err := h.opts.Registry.SaveIf(ctx, usedPrefix+name, []byte(strconv.FormatInt(at, 10)), v); err != nil || ok {
			return err
		}
	}
	return errors.New("other replicas kept stamping it")
}

// lastUses returns the stored last use of every namespace that has one.
func (h *Host) lastUses(ctx context.Context) (map[string]int64, error) {
	docs, err := h.opts.Registry.List(ctx, usedPrefix)
	if err != nil {
		return nil, fmt.Errorf("namespaces registry: %w", err)
	}
	out := make(map[string]int64, len(docs))
	for k, raw := range docs {
		if n, err := strconv.ParseInt(string(raw), 10, 64); err == nil {
			out[strings.TrimPrefix(k, usedPrefix)] = n
		}
	}
	return out, nil
}

// expireRegistered deletes the registered namespaces not built here whose
// stored last use (or creation, never used) is before cutoff; it returns
// their names.
func (h *Host) expireRegistered(ctx context.Context, cutoff int64, used map[string]int64) []string {
	docs, err := h.opts.Registry.List(ctx, registryPrefix)
	if err != nil {
		h.log.Warn("namespaces registry not read", "err", err)
		return nil
	}
	var out []string
	for k, raw := range docs {
		name := strings.TrimPrefix(k, registryPrefix)
		h.mu.Lock()
		here := h.spaces[name] != nil
		h.mu.Unlock()
		if here {
			continue
		}
		last, ok := used[name]
		if !ok {
			var reg registered
			if json.Unmarshal(raw, &reg) != nil {
				continue
			}
			last = reg.Created.UnixNano()
		}
		if last >= cutoff {
			continue
		}
		if err := h.Delete(name); err != nil {
			var aerr *apierr.Error
			if !errors.As(err, &aerr) || aerr.Kind != apierr.NotFound { // not: another replica's sweep was first
				h.log.Warn("idle namespace not deleted", "name", name, "err", err)
			}
			continue
		}
		out = append(out, name)
	}
	return out
}
