package faults

import "net/http"

func init() {
	builtin(Kind{
		Name:   "reset",
		Target: API,
		Doc:    "Resets the connection (TCP RST) without running the operation: the client reads \"connection reset by peer\".",
		Build: func(p *Params) (Action, error) {
			return reset{}, p.Err()
		},
	})
}

type reset struct{}

func (reset) Describe() string { return "connection reset" }

func (reset) Serve(f *Fire, w http.ResponseWriter, r *http.Request, next http.Handler) {
	breakConn(w, true)
}
