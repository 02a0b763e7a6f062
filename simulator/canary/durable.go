package canary

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log/slog"
	"time"

	"github.com/pspsim/pspsim/simulator/pan"
	"github.com/pspsim/pspsim/simulator/store"
)

// Durable canaries: with a State (the durable stores) the registry is one
// document, saved on every change and reloaded by each replica whose copy is
// older, and each canary's sightings are a counter in the database, so that
// a leak seen by one replica counts for all. The numbers themselves are in
// the document — the scan needs them — which is why canaries must be test
// numbers used for nothing else (they are never shown, logged or
// journaled). The hot path (Empty, Check) never reads the database.

const (
	stateDoc      = "canaries"
	counterPrefix = "canaries/"
	pollEvery     = 250 * time.Millisecond
	stateTimeout  = 5 * time.Second
)

type savedCanary struct {
	Number    string    `json:"number"`
	Label     string    `json:"label,omitempty"`
	CreatedAt time.Time `json:"createdAt"`
}

// Persist makes the registry durable in st: it takes the saved canaries, if
// any, and follows other replicas' changes until Close.
func (r *Registry) Persist(ctx context.Context, st store.State, log *slog.Logger) error {
	r.state, r.log, r.done = st, log, make(chan struct{})
	if err := r.sync(ctx); err != nil {
		return err
	}
	go r.poll()
	return nil
}

// Close stops following the other replicas.
func (r *Registry) Close() {
	if r.done != nil {
		r.closeOnce.Do(func() { close(r.done) })
	}
}

func counterName(number string) string {
	h := sha256.Sum256([]byte(number))
	return counterPrefix + hex.EncodeToString(h[:12])
}

// persist saves the registry. Called with r.mu held.
func (r *Registry) persist() {
	if r.state == nil {
		return
	}
	doc := make([]savedCanary, 0, len(r.order))
	for _, n := range r.order {
		e := r.numbers[n]
		doc = append(doc, savedCanary{Number: n, Label: e.Label, CreatedAt: e.CreatedAt})
	}
	b, err := json.Marshal(doc)
	if err == nil {
		var v int64
		if v, err = r.state.Save(context.Background(), stateDoc, b); err == nil {
			r.version = v
			return
		}
	}
	r.log.Error("canaries not saved to the store: other replicas and a restart will not see this change", "err", err)
}

// sync reloads the registry if it changed in the store.
func (r *Registry) sync(ctx context.Context) error {
	v, err := r.state.Version(ctx, stateDoc)
	if err != nil || v == 0 {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if v == r.version {
		return nil
	}
	return r.load(ctx)
}

// load replaces the registry by the saved one. Called with r.mu held.
func (r *Registry) load(ctx context.Context) error {
	raw, v, err := r.state.Load(ctx, stateDoc)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	var doc []savedCanary
	if err := json.Unmarshal(raw, &doc); err != nil {
		return err
	}
	numbers := make(map[string]*entry, len(doc))
	order := make([]string, 0, len(doc))
	for _, c := range doc {
		e := &entry{number: c.Number, Canary: Canary{Masked: pan.Mask(c.Number), Label: c.Label, CreatedAt: c.CreatedAt}}
		if old, ok := r.numbers[c.Number]; ok {
			e.Sightings = old.Sightings
		}
		numbers[c.Number] = e
		order = append(order, c.Number)
	}
	r.numbers, r.order, r.version = numbers, order, v
	return nil
}

// refresh takes in another replica's change before this one makes its
// own. Called with r.mu held.
func (r *Registry) refresh() {
	if r.state == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), stateTimeout)
	defer cancel()
	if v, err := r.state.Version(ctx, stateDoc); err == nil && v != 0 && v != r.version {
		if err := r.load(ctx); err != nil {
			r.log.Error("canaries not reloaded from the store", "err", err)
		}
	}
}

func (r *Registry) poll() {
	t := time.NewTicker(pollEvery)
	defer t.Stop()
	for {
		select {
		case <-r.done:
			return
		case <-t.C:
			ctx, cancel := context.WithTimeout(context.Background(), stateTimeout)
			if err := r.sync(ctx); err != nil {
				r.log.Warn("canaries not reloaded from the store", "err", err)
			}
			cancel()
		}
	}
}

// countSightings adds this process's sightings to the store's counters.
func (r *Registry) countSightings(hits []*entry) {
	if r.state == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), stateTimeout)
	defer cancel()
	for _, e := range hits {
		if _, err := r.state.Add(ctx, counterName(e.number), 1); err != nil {
			r.log.Warn("canary sighting not counted in the store", "canary", e.Masked, "err", err)
		}
	}
}

// sightings fills the listed canaries' counts from the store.
func (r *Registry) sightings(out []Canary, numbers []string) {
	if r.state == nil {
		return
	}
	c, err := r.state.Counters(context.Background(), counterPrefix)
	if err != nil {
		r.log.Warn("canary sightings not read from the store", "err", err)
		return
	}
	for i, n := range numbers {
		out[i].Sightings = int(c[counterName(n)])
	}
}
