// Package gate makes a simulator reset atomic: every request, timer and
// delivery works inside the gate (holding a Pass); a reset closes the gate,
// waits until nothing is inside, empties the world and opens it again. So a
// request sees the world before the reset or after it, never half of each,
// and a timer set before a reset never fires into the world after it.
//
// What waits on purpose — a fault that holds a connection, a processor that
// never answers — steps out of the gate while it waits (Hold), so that a
// reset does not wait for it; the live event stream never enters.
//
// A request inside the gate may itself wait for another: Genstore sends a
// payment to an app and the app, before it answers, calls the card gateway.
// A reset that kept the gate shut until the first request finished would
// keep the second out, and the first would wait for its timeout. So a reset
// that is not let through within Patience opens the gate for a moment, lets
// waiting requests in, and closes it again: it runs only when nothing is
// inside, however long that takes, but it never blocks what the work
// inside waits for.
package gate

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"
)

// Patience is how long a reset first keeps the gate shut waiting for the
// work inside to finish before it lets waiting requests in for a moment.
// Each further round waits twice as long (up to MaxPatience), so that work
// slower than Patience — a loaded machine, the race detector — still drains.
const (
	Patience    = 50 * time.Millisecond
	MaxPatience = 5 * time.Second
)

// Gate is one simulator's gate. The zero value is not usable: use New.
type Gate struct {
	resets sync.Mutex // one reset at a time

	mu      sync.Mutex
	active  int           // passes inside
	waiting int           // callers of Enter held back by a shut gate
	shut    bool          // a reset waits for the inside to empty, or runs
	opened  chan struct{} // closed when the gate opens again
	drained chan struct{} // closed when active reaches 0 while shut
	gen     uint64        // resets so far
}

// New returns an open gate.
func New() *Gate { return &Gate{} }

// Pass is one piece of work inside the gate.
type Pass struct {
	g   *Gate
	gen uint64
	mu  sync.Mutex
	in  bool
}

// Enter waits while a reset runs (or waits to run), then lets the caller in.
func (g *Gate) Enter() *Pass {
	p := new(Pass)
	g.EnterAt(p)
	return p
}

// EnterAt is Enter with a pass the caller keeps: p must be a zero Pass,
// never used before, that stays where it is while it is in use (a
// request's scope keeps its pass there, saving an allocation per request).
func (g *Gate) EnterAt(p *Pass) {
	g.mu.Lock()
	g.waitOpen()
	g.active++
	p.g, p.gen, p.in = g, g.gen, true
	g.mu.Unlock()
}

// waitOpen returns, with g.mu held, once the gate is open.
func (g *Gate) waitOpen() {
	if !g.shut {
		return
	}
	g.waiting++
	for g.shut {
		ch := g.opened
		g.mu.Unlock()
		<-ch
		g.mu.Lock()
	}
	g.waiting--
}

func (g *Gate) leave() {
	g.mu.Lock()
	g.active--
	if g.active == 0 && g.drained != nil {
		close(g.drained)
		g.drained = nil
	}
	g.mu.Unlock()
}

// Quiet waits until no pass is inside, or ctx ends (its error then). It
// does not shut the gate: it is for a simulator that closes, once its
// timers are stopped and its deliveries cancelled, to let the work still
// inside finish before its store and journal close under it.
func (g *Gate) Quiet(ctx context.Context) error {
	t := time.NewTicker(time.Millisecond) // wall time: a short poll, paid only by Close
	defer t.Stop()
	for {
		g.mu.Lock()
		n := g.active
		g.mu.Unlock()
		if n == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("gate: %d passes still inside: %w", n, ctx.Err())
		case <-t.C:
		}
	}
}

// Generation counts the resets so far: work that remembers it can tell
// whether the world it started in still exists.
func (g *Gate) Generation() uint64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.gen
}

// Leave lets go of the pass; it may be called more than once.
func (p *Pass) Leave() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.in {
		p.in = false
		p.g.leave()
	}
}

// Rejoin enters the gate again after Leave and reports whether the world is
// still the one the pass first entered (no reset in between).
func (p *Pass) Rejoin() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.in {
		g := p.g
		g.mu.Lock()
		g.waitOpen()
		g.active++
		g.mu.Unlock()
		p.in = true
	}
	return p.g.Generation() == p.gen
}

// Generation is the generation the pass entered in.
func (p *Pass) Generation() uint64 { return p.gen }

// Exclusive shuts the gate, waits until no pass is inside, runs reset and
// opens the gate on the next generation. While the inside does not empty
// within its patience, it opens the gate for a moment and tries again,
// waiting longer each time (see the package comment and Patience). The
// caller must not hold a pass.
func (g *Gate) Exclusive(reset func() error) error {
	g.resets.Lock()
	defer g.resets.Unlock()
	patience := Patience
	for ; ; patience = min(2*patience, MaxPatience) {
		g.mu.Lock()
		g.shut = true
		g.opened = make(chan struct{})
		if g.active == 0 {
			g.mu.Unlock()
			break
		}
		drained := make(chan struct{})
		g.drained = drained
		g.mu.Unlock()
		t := time.NewTimer(patience)
		select {
		case <-drained:
			t.Stop()
		case <-t.C:
		}
		g.mu.Lock()
		if g.active == 0 {
			g.drained = nil
			g.mu.Unlock()
			break
		}
		// Let in what the work inside may be waiting for — everyone held
		// back so far — then try again.
		g.drained, g.shut = nil, false
		close(g.opened)
		for deadline := time.Now().Add(patience); g.waiting > 0 && time.Now().Before(deadline); {
			g.mu.Unlock()
			time.Sleep(time.Millisecond)
			g.mu.Lock()
		}
		g.mu.Unlock()
	}
	err := reset()
	g.mu.Lock()
	g.gen++
	g.shut = false
	close(g.opened)
	g.mu.Unlock()
	return err
}

// PassKey is the context key of a request's pass. It is exported for one
// reader: a per-request context that carries the pass in a field of its own
// (openapi's request scope, which the handler stack fills in place instead
// of copying the *http.Request to add a value) answers Value(PassKey{})
// with it. Everyone else uses With and From.
type PassKey struct{}

// With returns ctx carrying the pass of the request it belongs to.
func With(ctx context.Context, p *Pass) context.Context {
	return context.WithValue(ctx, PassKey{}, p)
}

// From returns the pass ctx carries, or nil.
func From(ctx context.Context) *Pass {
	p, _ := ctx.Value(PassKey{}).(*Pass)
	return p
}

// Hold is for a request that waits on purpose — a fault that holds the
// connection, a processor that never answers, added latency: it steps the
// request out of the gate, so that a reset need not wait for it, and lifts
// the connection's read and write deadlines (pspsim serve's
// --read-timeout and --write-timeout), which the hold outlasts on purpose;
// the hold itself is bounded by its caller. back enters the gate again and
// reports whether the world is still the one the request began in. Without
// a pass in the request (a test calling a handler directly) back reports
// true.
func Hold(w http.ResponseWriter, r *http.Request) (back func() bool) {
	NoDeadlines(w)
	p := From(r.Context())
	if p == nil {
		return func() bool { return true }
	}
	p.Leave()
	return p.Rejoin
}

// NoDeadlines lifts the read and write deadlines of w's connection, for a
// request that lasts on purpose (a hold, the live event stream). Not every
// writer supports deadlines: then there are none to lift.
func NoDeadlines(w http.ResponseWriter) {
	rc := http.NewResponseController(w)
	rc.SetReadDeadline(time.Time{})
	rc.SetWriteDeadline(time.Time{})
}
