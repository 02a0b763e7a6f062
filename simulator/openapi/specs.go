package openapi

import (
	"context"
	"io/fs"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
)

// Specs loads each spec of one file system once and compiles each mount of
// it once, for every simulator of a process: namespaces share them, so
// that creating one costs its fixtures, not a spec load (about 50 ms and
// 20 MB of garbage each). What it hands out is read-only after loading —
// kin-openapi's documents, routers, compiled request checks and fallback
// answers — and so safe to share between simulators and goroutines.
//
// A failed load is remembered too: the same embedded spec fails the same
// way every time.
type Specs struct {
	fsys     fs.FS
	validate bool

	mu       sync.Mutex
	docs     map[docKey]*docEntry
	compiled map[*openapi3.T]*compiledEntry
}

type docKey struct{ name, prefix string }

type docEntry struct {
	once sync.Once
	doc  *openapi3.T
	err  error
}

type compiledEntry struct {
	once sync.Once
	c    *compiled
	err  error
}

// NewSpecs returns a cache of the specs in fsys; validate runs kin-openapi's
// full document validation on each at its first load (see Load).
func NewSpecs(fsys fs.FS, validate bool) *Specs {
	return &Specs{fsys: fsys, validate: validate, docs: map[docKey]*docEntry{}, compiled: map[*openapi3.T]*compiledEntry{}}
}

// Load returns the spec name with its servers rewritten to prefix (see the
// package function Load), loading it on the first call only. The document
// is shared: callers must not change it.
func (s *Specs) Load(ctx context.Context, name, prefix string) (*openapi3.T, error) {
	s.mu.Lock()
	e := s.docs[docKey{name, prefix}]
	if e == nil {
		e = &docEntry{}
		s.docs[docKey{name, prefix}] = e
	}
	s.mu.Unlock()
	e.once.Do(func() {
		// The load must not die with the first caller's context: the
		// result is kept for every later caller.
		e.doc, e.err = Load(context.WithoutCancel(ctx), s.fsys, name, prefix, s.validate)
	})
	return e.doc, e.err
}

// compile returns the compiled form of doc served under prefix, compiling
// it on the first call only. A doc is loaded for one prefix (Load), so the
// document identifies the entry.
func (s *Specs) compile(system, prefix string, doc *openapi3.T) (*compiled, error) {
	s.mu.Lock()
	e := s.compiled[doc]
	if e == nil {
		e = &compiledEntry{}
		s.compiled[doc] = e
	}
	s.mu.Unlock()
	e.once.Do(func() { e.c, e.err = compile(system, prefix, doc) })
	return e.c, e.err
}
