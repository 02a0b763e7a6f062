package faults

import (
	"fmt"
	"net/http"
)

// proxyPage is what a payment API answers when a proxy in front of it fails:
// HTML where the client expects JSON.
const proxyPage = "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"

func init() {
	builtin(Kind{
		Name:   "malformed",
		Target: API,
		Doc:    "Answers a body the client cannot parse — by default an HTML proxy page labelled application/json — then closes the connection. With processed, the operation runs first (it commits) and its answer is replaced.",
		Params: []Param{
			{Name: "status", Type: "integer", Default: "200", Doc: "the HTTP status"},
			{Name: "body", Type: "string", Default: "an nginx 502 page", Doc: "the malformed body"},
			{Name: "contentType", Type: "string", Default: "application/json", Doc: "the Content-Type it claims"},
			{Name: "processed", Type: "boolean", Default: "false", Doc: "run the operation first"},
		},
		Build: func(p *Params) (Action, error) {
			return malformed{
				status:      p.Int("status", 200, 100, 599),
				body:        p.String("body", proxyPage, 64<<10),
				contentType: p.String("contentType", "application/json", 128),
				processed:   p.Bool("processed", false),
			}, p.Err()
		},
	})
}

type malformed struct {
	status      int
	body        string
	contentType string
	processed   bool
}

func (a malformed) Describe() string {
	s := fmt.Sprintf("malformed answer (HTTP %d, %s)", a.status, a.contentType)
	if a.processed {
		s = "operation runs, then " + s
	}
	return s
}

func (a malformed) Serve(f *Fire, w http.ResponseWriter, r *http.Request, next http.Handler) {
	if a.processed {
		c := newCapture()
		next.ServeHTTP(c, r)
		f.Record(fmt.Sprintf("the operation answered HTTP %d; a malformed body was sent instead", c.code()), map[string]any{"status": c.code()})
	}
	w.Header().Set("Content-Type", a.contentType)
	w.Header().Set("Connection", "close")
	w.Header().Set("X-Pspsim-Fault", f.Rule.ID)
	w.WriteHeader(a.status)
	w.Write([]byte(a.body))
}
