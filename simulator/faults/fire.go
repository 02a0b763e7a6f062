package faults

import (
	"context"
	"fmt"
	"hash/fnv"
	"math"
	"net/http"
	"strings"
	"time"

	"github.com/pspsim/pspsim/simulator/clock"
	"github.com/pspsim/pspsim/simulator/delivery"
	"github.com/pspsim/pspsim/simulator/journal"
	"github.com/pspsim/pspsim/simulator/openapi"
)

// Where rules meet calls: Wrap (every served request of a system) and hook
// (every attempt of a delivery) evaluate the rules in order, and the first
// that matches and fires hands its action a Fire — the firing, journaled,
// with its seeded draws.

// Fire is one firing of a rule, handed to its action.
type Fire struct {
	Engine    *Engine
	Rule      *Rule
	Hit       int64 // how many times the rule has fired, this one included
	N         int64 // which matching call this is
	System    string
	Operation string
	IDs       map[string]string // journal ids: the rule, the call's path parameters or message ids

	key     uint64
	pairing bool // a reorder holds a message of this system: this one goes first
}

// Float draws a number in [0, 1) for this firing (latency within a range):
// fixed by the seed, the rule and the call number.
func (f *Fire) Float(salt string) float64 {
	h := fnv.New64a()
	h.Write([]byte(salt))
	return unit(f.key, uint64(f.N), h.Sum64())
}

// Between draws a duration in [min, max] for this firing.
func (f *Fire) Between(min, max time.Duration, salt string) time.Duration {
	if max <= min {
		return min
	}
	return min + time.Duration(math.Floor(f.Float(salt)*float64(max-min+1)))
}

// Record writes a follow-up event of the firing ("fault.effect.<action>"):
// what became of the call.
func (f *Fire) Record(message string, data map[string]any) {
	if f.Engine.journal == nil {
		return
	}
	f.Engine.journal.Record(journal.Event{System: System, Kind: "fault.effect." + f.Rule.Action, IDs: f.IDs,
		Message: fmt.Sprintf("fault rule %s: %s", f.Rule.ID, message), Data: data})
}

// Clock returns the simulator's clock.
func (f *Fire) Clock() clock.Clock { return f.Engine.clock }

// Done is closed when the engine closes.
func (f *Fire) Done() <-chan struct{} { return f.Engine.done }

// fire records a firing ("fault.fired.<action>") and returns its Fire.
func (e *Engine) fire(in *installed, n int64, ft *facts, ids map[string]string) *Fire {
	hit := e.countFire(in)
	f := &Fire{Engine: e, Rule: &in.rule, Hit: hit, N: n, System: ft.system, Operation: ft.operation, key: in.key}
	if e.onFire != nil {
		e.onFire(in.rule.ID, in.rule.Action)
	}
	f.IDs = map[string]string{"rule": in.rule.ID}
	for k, v := range ids {
		f.IDs[k] = v
	}
	if e.journal != nil {
		where := ft.system
		if ft.operation != "" {
			where += " " + ft.operation
		}
		what := ft.method + " " + ft.path
		if ft.attempt > 0 {
			what = fmt.Sprintf("attempt %d to %s", ft.attempt, ft.path)
		}
		e.journal.Record(journal.Event{System: System, Kind: "fault.fired." + in.rule.Action, IDs: f.IDs,
			Message: fmt.Sprintf("fault rule %s fired on %s (%s): %s; hit %d", in.rule.ID, where, what, describe(in), hit),
			Data: map[string]any{"action": in.rule.Action, "source": in.rule.Source, "system": ft.system, "operation": ft.operation,
				"path": ft.path, "hit": hit, "call": n, "attempt": ft.attempt}})
	}
	return f
}

// evaluate finds the first rule of list that fires for ft.
func (e *Engine) evaluate(list []*installed, ft *facts) (*installed, int64) {
	var now time.Time
	for _, in := range list {
		if in.windowed {
			if now.IsZero() {
				now = e.clock.Now()
			}
			if !in.active(now) {
				continue
			}
		}
		if !in.rule.Match.matches(ft) {
			continue
		}
		n := e.countMatch(in)
		if in.decide(n) {
			return in, n
		}
	}
	return nil, 0
}

// Wrap returns the middleware for one system's served API (env.Wrap). With
// no rule for the system and the operation it costs one atomic load and two
// map lookups.
func (e *Engine) Wrap(system string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			req := openapi.FromContext(r.Context())
			op := ""
			if req != nil {
				op = req.Key
			}
			list := e.rules.Load().apiForOp(system, op)
			if len(list) == 0 {
				next.ServeHTTP(w, r)
				return
			}
			ft := facts{system: system, method: r.Method, path: r.URL.Path, header: r.Header, req: req}
			if req != nil {
				ft.operation, ft.body = req.Key, req.Body
			}
			in, n := e.evaluate(list, &ft)
			if in == nil {
				next.ServeHTTP(w, r)
				return
			}
			var idm map[string]string
			if req != nil {
				idm = req.Tags()
				for k, v := range req.PathParams {
					idm[k] = v
				}
			}
			in.api.Serve(e.fire(in, n, &ft, idm), w, r, next)
		})
	}
}

// hook is the delivery hook: it applies delivery rules to every attempt and
// releases messages a reorder held once the next message has gone.
func (e *Engine) hook(ctx context.Context, req *delivery.Request, attempt int, send delivery.SendFunc) (*delivery.Response, error) {
	held := e.held.take(req.System)
	resp, err := e.deliver(ctx, req, attempt, send, len(held) > 0)
	for _, h := range held {
		h.release("the next message went first")
	}
	return resp, err
}

func (e *Engine) deliver(ctx context.Context, req *delivery.Request, attempt int, send delivery.SendFunc, pairing bool) (*delivery.Response, error) {
	list := e.rules.Load().dlvFor(req.System)
	if len(list) == 0 {
		return send(ctx, req, attempt)
	}
	ft := facts{system: req.System, operation: req.Kind, method: req.Method, path: urlPath(req.URL), header: req.Header,
		body: req.Body, attempt: attempt, dtags: req.Tags}
	in, n := e.evaluate(list, &ft)
	if in == nil {
		return send(ctx, req, attempt)
	}
	f := e.fire(in, n, &ft, req.IDs)
	f.pairing = pairing
	return in.dlv.Deliver(ctx, f, req, attempt, send)
}

func urlPath(u string) string {
	if i := strings.Index(u, "://"); i >= 0 {
		u = u[i+3:]
		if j := strings.IndexByte(u, '/'); j >= 0 {
			u = u[j:]
		} else {
			u = "/"
		}
	}
	if i := strings.IndexAny(u, "?#"); i >= 0 {
		u = u[:i]
	}
	return u
}
