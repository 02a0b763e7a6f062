package openapi

import (
	"context"
	"io"

	"github.com/pspsim/pspsim/simulator/gate"
)

// scope is the context of one request from the outermost layer of the
// handler stack (the access log's WithNote) on. It carries the request's
// per-request values in fields — its Note, its gate pass, the mount's
// Request — that the later layers fill in place (EnterGate, the mount),
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
	// passBuf holds the request's pass when EnterGate entered the gate for
	// it (pass then points here).
	passBuf gate.Pass
	// The request's other per-request objects, allocated with the scope
	// instead of one by one: the access log's status recorder
	// (WithNoteRecorder), the mount's Request (reqBuf, req then points
	// here) and the body the mount hands on (bodyBuf).
	status  StatusRecorder
	reqBuf  Request
	bodyBuf memBody
	bodyHad bool // bodyBuf is taken
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

// EnterGate enters g for the request whose scope ctx is (WithNote), with a
// pass kept in the scope and carried by it, and returns the pass; or
// returns nil when ctx is not a request's own scope, or its scope already
// carries a pass: the caller then enters with g.Enter and adds the pass to
// the context with gate.With (and a request copy).
func EnterGate(ctx context.Context, g *gate.Gate) *gate.Pass {
	s, ok := ctx.(*scope)
	if !ok || s.pass != nil {
		return nil
	}
	g.EnterAt(&s.passBuf)
	s.pass = &s.passBuf
	return s.pass
}

// newRequest returns the Request of the mount serving a request: the one
// its scope carries, allocated with it, when ctx is the request's own scope
// without one yet (carried reports it: the scope already carries it); a new
// one otherwise, for the caller to add to the context.
func newRequest(ctx context.Context) (r *Request, carried bool) {
	s, ok := ctx.(*scope)
	if !ok || s.req != nil {
		return new(Request), false
	}
	s.req = &s.reqBuf
	return s.req, true
}

// newBodyIn returns a reader of b: the scope's own the first time, when ctx
// is a request's scope; else a new one.
func newBodyIn(ctx context.Context, b []byte) io.ReadCloser {
	s, ok := ctx.(*scope)
	if !ok || s.bodyHad {
		return newBody(b)
	}
	s.bodyHad = true
	s.bodyBuf.Reset(b)
	return &s.bodyBuf
}
