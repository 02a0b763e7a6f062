package faults

import (
	"fmt"
	"net/http"
	"time"

	"github.com/pspsim/pspsim/simulator/apierr"
	"github.com/pspsim/pspsim/simulator/openapi"
)

func init() {
	builtin(Kind{
		Name:   "lost",
		Target: API,
		Doc:    "Processed, answer lost: the operation runs and commits its state, then the client gets no answer — the connection is reset, hangs, or a 5xx comes in the system's dialect. The case idempotency keys exist for: a retry must find the operation done.",
		Params: []Param{
			{Name: "then", Type: "reset|hang|error", Default: "reset", Doc: "what the client gets instead of the answer"},
			{Name: "status", Type: "integer", Default: "502", Doc: "with then: error, the 5xx status"},
			{Name: "hold", Type: "duration", Default: "60s", Doc: "with then: hang, the longest it keeps the connection (wall time)"},
		},
		Build: func(p *Params) (Action, error) {
			a := lost{then: p.Enum("then", "reset", "reset", "hang", "error")}
			a.status = p.Int("status", http.StatusBadGateway, 500, 599)
			a.hold = p.Duration("hold", time.Minute, time.Millisecond, 10*time.Minute)
			if p.Has("status") && a.then != "error" {
				p.Fail("status", "dependency", "applies with then: error only")
			}
			if p.Has("hold") && a.then != "hang" {
				p.Fail("hold", "dependency", "applies with then: hang only")
			}
			return a, p.Err()
		},
	})
}

type lost struct {
	then   string
	status int
	hold   time.Duration
}

func (a lost) Describe() string {
	switch a.then {
	case "hang":
		return fmt.Sprintf("processed, answer lost: hangs up to %s", a.hold)
	case "error":
		return fmt.Sprintf("processed, answer lost: HTTP %d", a.status)
	}
	return "processed, answer lost: connection reset"
}

func (a lost) Serve(f *Fire, w http.ResponseWriter, r *http.Request, next http.Handler) {
	c := newCapture()
	next.ServeHTTP(c, r)
	f.Record(fmt.Sprintf("the operation ran and answered HTTP %d; the client gets %s instead", c.code(), a.then),
		map[string]any{"status": c.code(), "then": a.then})
	switch a.then {
	case "hang":
		holdOpen(f, w, r, a.hold)
		breakConn(w, false)
	case "error":
		e := &apierr.Error{Kind: apierr.Internal, Status: a.status, Message: "upstream error: the answer was lost"}
		w.Header().Set("X-Pspsim-Fault", f.Rule.ID)
		if req := openapi.FromContext(r.Context()); req != nil && req.Dialect != nil {
			req.Dialect.WriteError(w, r, e)
			return
		}
		http.Error(w, e.Message, a.status)
	default:
		breakConn(w, true)
	}
}
