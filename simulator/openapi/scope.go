package openapi

import (
	"context"

	"github.com/pspsim/pspsim/simulator/gate"
)

// scope is the context of one request from the outermost layer of the
// handler stack (the access log's WithNote) on. It carries the request's
// per-request values in fields — its Note, its gate pass, the mount's
// Request — that the later layers fill in place (CarryPass, the mount),
// instead of each adding one with context.WithValue and copying the
// *http.Request (≈ 250 B) with r.WithContext to carry the new context: one
// copy per request, not three.
//
// Readers see exactly what the chain of WithValue contexts showed them:
// Value answers a key from its field once that field is set and asks the
// parent otherwise (so an in-process request made inside another one still
// finds the outer request's pass, as before). A field is set once, before
// the layer that set it calls the next one, and never changed after: a
// goroutine a handler starts reads it without a lock.
type scope struct {
	context.Context
	note Note
	pass *gate.Pass
	req  *Request
}

// Value answers the keys of the fields that are set; every other key, and
// a field not set yet, is the parent's.
func (s *scope) Value(key any) any {
	switch key.(type) {
	case noteKey:
		return &s.note
	case gate.PassKey:
		if s.pass != nil {
			return s.pass
		}
	case ctxKey:
		if s.req != nil {
			return s.req
		}
	}
	return s.Context.Value(key)
}

// CarryPass puts the request's gate pass in ctx in place when ctx is the
// request's own scope (WithNote) without a pass yet, and reports whether it
// did; otherwise the caller adds it with gate.With (and a request copy).
func CarryPass(ctx context.Context, p *gate.Pass) bool {
	s, ok := ctx.(*scope)
	if !ok || s.pass != nil || p == nil {
		return false
	}
	s.pass = p
	return true
}

// carryRequest puts the mount's Request in ctx in place when ctx is the
// request's own scope without one yet, and reports whether it did.
func carryRequest(ctx context.Context, r *Request) bool {
	s, ok := ctx.(*scope)
	if !ok || s.req != nil || r == nil {
		return false
	}
	s.req = r
	return true
}
