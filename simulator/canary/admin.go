package canary

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"

	"github.com/pspsim/pspsim/simulator/admin"
	"github.com/pspsim/pspsim/simulator/apierr"
	"github.com/pspsim/pspsim/simulator/openapi"
)

// AdminHandlers returns the handlers of the canary operations of
// specs/admin.yaml: register, list, clear.
func (r *Registry) AdminHandlers() map[string]http.Handler {
	return map[string]http.Handler{
		"registerCanaries": admin.HandlerFunc(r.adminRegister),
		"listCanaries":     http.HandlerFunc(r.adminList),
		"clearCanaries":    http.HandlerFunc(r.adminClear),
	}
}

func (r *Registry) adminRegister(w http.ResponseWriter, req *http.Request) error {
	var in struct {
		Numbers []string `json:"numbers"`
		Label   string   `json:"label"`
	}
	var body []byte
	if o := openapi.FromContext(req.Context()); o != nil {
		body = o.Body
	}
	if err := json.Unmarshal(body, &in); err != nil {
		return apierr.New(apierr.Malformed, "the body must be {\"numbers\": [...], \"label\": \"...\"}")
	}
	out, err := r.Add(in.Numbers, in.Label)
	if err != nil {
		return apierr.Field(apierr.Invalid, "numbers", "luhn", "%v", err)
	}
	admin.WriteJSON(w, http.StatusCreated, map[string]any{"canaries": out})
	return nil
}

// adminList and adminClear cannot fail, so they stay plain handlers.

func (r *Registry) adminList(w http.ResponseWriter, _ *http.Request) {
	admin.WriteJSON(w, http.StatusOK, map[string]any{"canaries": r.List()})
}

func (r *Registry) adminClear(w http.ResponseWriter, _ *http.Request) {
	admin.WriteJSON(w, http.StatusOK, map[string]any{"cleared": r.Clear()})
}

// maxBody is how much of a request the middleware reads to look at; the
// mounts refuse anything larger anyway.
const maxBody = 1 << 20

// Requests wraps a system's handler so that every request an app sends it
// is checked for canaries before it is served: its path, query, headers and
// body, leaving out the JSON fields named allowed. The body is read and put
// back, so the system sees the request unchanged.
func (r *Registry) Requests(system string, allowed map[string]bool, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if r.Empty() {
			next.ServeHTTP(w, req)
			return
		}
		var body []byte
		if req.Body != nil {
			b, err := io.ReadAll(io.LimitReader(req.Body, maxBody+1))
			if err == nil || len(b) > 0 {
				body = b
				req.Body = struct {
					io.Reader
					io.Closer
				}{io.MultiReader(bytes.NewReader(b), req.Body), req.Body}
			}
		}
		r.CheckRequest("a request to "+system+" "+req.Method+" "+req.URL.Path, nil, req, body, allowed)
		next.ServeHTTP(w, req)
	})
}
