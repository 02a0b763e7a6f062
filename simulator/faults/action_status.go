package faults

import (
	"fmt"
	"net/http"
	"strings"
)

func init() {
	builtin(Kind{
		Name:   "status",
		Target: API,
		Doc:    "Answers an HTTP status with a body of your choice instead of running the operation (a proxy's 502, a 429 with Retry-After). For an error in the system's own envelope use error.",
		Params: []Param{
			{Name: "status", Type: "integer", Doc: "the HTTP status, 200 to 599"},
			{Name: "body", Type: "string or JSON", Default: "empty", Doc: "the body, as text or as a JSON value"},
			{Name: "contentType", Type: "string", Default: "application/json when the body is JSON, else text/plain", Doc: "the Content-Type"},
			{Name: "headers", Type: "object", Doc: "more headers, e.g. {Retry-After: \"30\"}"},
		},
		Build: func(p *Params) (Action, error) {
			a := status{code: p.Int("status", 0, 200, 599)}
			if !p.Has("status") {
				p.Fail("status", "required", "is required: the HTTP status to answer")
			}
			a.body = p.Text("body", "", 64<<10)
			a.contentType = p.String("contentType", "", 128)
			if a.contentType == "" && a.body != "" {
				a.contentType = "text/plain; charset=utf-8"
				if t := strings.TrimSpace(a.body); strings.HasPrefix(t, "{") || strings.HasPrefix(t, "[") {
					a.contentType = "application/json"
				}
			}
			a.headers = p.StringMap("headers")
			return a, p.Err()
		},
	})
}

type status struct {
	code        int
	body        string
	contentType string
	headers     map[string]string
}

func (a status) Describe() string { return fmt.Sprintf("answers HTTP %d", a.code) }

func (a status) Serve(f *Fire, w http.ResponseWriter, r *http.Request, next http.Handler) {
	for k, v := range a.headers {
		w.Header().Set(k, v)
	}
	if a.contentType != "" {
		w.Header().Set("Content-Type", a.contentType)
	}
	w.Header().Set("X-Pspsim-Fault", f.Rule.ID)
	w.WriteHeader(a.code)
	w.Write([]byte(a.body))
}
