package faults

import (
	"fmt"
	"net/http"
	"time"
)

func init() {
	builtin(Kind{
		Name:   "timeout",
		Target: API,
		Doc:    "Holds the connection without answering and without running the operation, until the client gives up; after hold (wall time) the connection is closed with no answer. What an app sees when a PSP never answers.",
		Params: []Param{
			{Name: "hold", Type: "duration", Default: "60s", Doc: "the longest it keeps the connection (at most 10m)"},
		},
		Build: func(p *Params) (Action, error) {
			return timeout{hold: p.Duration("hold", time.Minute, time.Millisecond, 10*time.Minute)}, p.Err()
		},
	})
}

type timeout struct{ hold time.Duration }

func (a timeout) Describe() string { return fmt.Sprintf("timeout, held up to %s", a.hold) }

func (a timeout) Serve(f *Fire, w http.ResponseWriter, r *http.Request, next http.Handler) {
	if why, same := holdOpen(f, w, r, a.hold); same {
		f.Record("no answer: "+why, map[string]any{"ended": why})
	}
	breakConn(w, false)
}
