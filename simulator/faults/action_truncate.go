package faults

import (
	"fmt"
	"net/http"
	"strconv"
)

func init() {
	builtin(Kind{
		Name:   "truncate",
		Target: API,
		Doc:    "Runs the operation (it commits), sends its status, headers and a Content-Length for the whole answer, then only the first bytes of the body, and closes the connection: the client reads an unexpected EOF.",
		Params: []Param{
			{Name: "bytes", Type: "integer", Default: "half the body", Doc: "how many bytes of the body are sent"},
		},
		Build: func(p *Params) (Action, error) {
			return truncate{bytes: p.Int("bytes", -1, 0, 1<<20)}, p.Err()
		},
	})
}

type truncate struct{ bytes int } // -1: half

func (a truncate) Describe() string {
	if a.bytes < 0 {
		return "answer cut after half its body"
	}
	return fmt.Sprintf("answer cut after %d bytes", a.bytes)
}

func (a truncate) Serve(f *Fire, w http.ResponseWriter, r *http.Request, next http.Handler) {
	c := newCapture()
	next.ServeHTTP(c, r)
	body := c.body.Bytes()
	n := a.bytes
	if n < 0 || n >= len(body) {
		n = len(body) / 2
	}
	for k, v := range c.header {
		w.Header()[k] = v
	}
	full := len(body)
	if full == 0 {
		full = 1 // promise a byte that never comes
	}
	w.Header().Set("Content-Length", strconv.Itoa(full))
	w.Header().Set("X-Pspsim-Fault", f.Rule.ID)
	w.WriteHeader(c.code())
	w.Write(body[:n])
	http.NewResponseController(w).Flush()
	f.Record(fmt.Sprintf("the operation answered HTTP %d; %d of %d body bytes sent, then the connection closed", c.code(), n, len(body)),
		map[string]any{"status": c.code(), "sent": n, "of": len(body)})
	breakConn(w, false)
}
