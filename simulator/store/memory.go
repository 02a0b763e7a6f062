package store

import (
	"context"
	"fmt"
	"sync"
)

// Memory is the in-memory Store. It is safe for concurrent use.
type Memory struct {
	mu    sync.RWMutex
	kinds map[string]*kindTable
}

type kindTable struct {
	objects map[string]*object
	order   []string
	index   map[string]string // unique key → id
}

type object struct {
	mu  sync.Mutex
	doc []byte
}

// NewMemory returns an empty in-memory store.
func NewMemory() *Memory { return &Memory{kinds: map[string]*kindTable{}} }

func (m *Memory) table(kind string, create bool) *kindTable {
	if t := m.kinds[kind]; t != nil || !create {
		return t
	}
	t := &kindTable{objects: map[string]*object{}, index: map[string]string{}}
	m.kinds[kind] = t
	return t
}

func (m *Memory) object(kind, id string) (*object, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	t := m.table(kind, false)
	if t == nil {
		return nil, fmt.Errorf("%s %q: %w", kind, id, ErrNotFound)
	}
	o := t.objects[id]
	if o == nil {
		return nil, fmt.Errorf("%s %q: %w", kind, id, ErrNotFound)
	}
	return o, nil
}

// Get implements Store.
func (m *Memory) Get(_ context.Context, kind, id string) ([]byte, error) {
	o, err := m.object(kind, id)
	if err != nil {
		return nil, err
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.doc, nil
}

// Create implements Store.
func (m *Memory) Create(_ context.Context, kind, id string, doc []byte, unique ...string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	t := m.table(kind, true)
	if _, taken := t.objects[id]; taken {
		return fmt.Errorf("%s %q: %w", kind, id, ErrIDTaken)
	}
	for _, k := range unique {
		if _, taken := t.index[k]; taken {
			return fmt.Errorf("%s key %q: %w", kind, k, ErrExists)
		}
	}
	t.objects[id] = &object{doc: doc}
	t.order = append(t.order, id)
	for _, k := range unique {
		t.index[k] = id
	}
	return nil
}

// Update implements Store.
func (m *Memory) Update(_ context.Context, kind, id string, fn func(cur []byte) ([]byte, error)) error {
	o, err := m.object(kind, id)
	if err != nil {
		return err
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	next, err := fn(o.doc)
	if err != nil {
		return err
	}
	o.doc = next
	return nil
}

// Claim implements Store.
func (m *Memory) Claim(_ context.Context, kind, id string, unique ...string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	t := m.table(kind, false)
	if t == nil || t.objects[id] == nil {
		return fmt.Errorf("%s %q: %w", kind, id, ErrNotFound)
	}
	for _, k := range unique {
		if owner, taken := t.index[k]; taken && owner != id {
			return fmt.Errorf("%s key %q: %w", kind, k, ErrExists)
		}
	}
	for _, k := range unique {
		t.index[k] = id
	}
	return nil
}

// Lookup implements Store.
func (m *Memory) Lookup(_ context.Context, kind, key string) (string, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if t := m.table(kind, false); t != nil {
		if id, ok := t.index[key]; ok {
			return id, nil
		}
	}
	return "", fmt.Errorf("%s key %q: %w", kind, key, ErrNotFound)
}

// List implements Store.
func (m *Memory) List(_ context.Context, kind string, fn func(id string, doc []byte) bool) error {
	m.mu.RLock()
	t := m.table(kind, false)
	if t == nil {
		m.mu.RUnlock()
		return nil
	}
	ids := append([]string(nil), t.order...)
	objs := make([]*object, len(ids))
	for i, id := range ids {
		objs[i] = t.objects[id]
	}
	m.mu.RUnlock()
	for i, o := range objs {
		o.mu.Lock()
		doc := o.doc
		o.mu.Unlock()
		if !fn(ids[i], doc) {
			return nil
		}
	}
	return nil
}

// Reset implements Store.
func (m *Memory) Reset(context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.kinds = map[string]*kindTable{}
	return nil
}
