package faults

import (
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/pspsim/pspsim/simulator/apierr"
	"github.com/pspsim/pspsim/simulator/openapi"
)

// errorKinds are the kinds a rule may ask for, each rendered by the system's
// dialect with its own code and status.
var errorKinds = []string{string(apierr.Unavailable), string(apierr.Internal), string(apierr.Conflict), string(apierr.Unprocessable),
	string(apierr.Unauthorized), string(apierr.Forbidden), string(apierr.NotFound), string(apierr.Invalid), string(apierr.Missing),
	string(apierr.Malformed), string(apierr.TooLarge)}

func init() {
	builtin(Kind{
		Name:   "error",
		Target: API,
		Doc:    "Answers an error in the system's own dialect instead of running the operation: a CodePay signed envelope with its code, a gateway {code, message, traceId}, a Genstore {errors} with a 4xx/5xx. The dialect picks code and status from kind unless you give them.",
		Params: []Param{
			{Name: "kind", Type: "unavailable|internal|conflict|unprocessable|unauthorized|forbidden|not_found|invalid|missing|malformed|too_large", Default: "unavailable", Doc: "what failed, in the simulator's error model"},
			{Name: "code", Type: "string", Doc: "the system's own code: CodePay \"50000\", gateway \"INTERNAL_ERROR\""},
			{Name: "status", Type: "integer", Doc: "the HTTP status (CodePay answers errors with 200 unless told)"},
			{Name: "message", Type: "string", Default: "service temporarily unavailable", Doc: "the error's message"},
		},
		Build: func(p *Params) (Action, error) {
			a := errorAction{
				kind:    apierr.Kind(p.Enum("kind", string(apierr.Unavailable), errorKinds...)),
				code:    p.String("code", "", 64),
				status:  p.Int("status", 0, 200, 599),
				message: p.String("message", "service temporarily unavailable", 500),
			}
			return a, p.Err()
		},
	})
}

type errorAction struct {
	kind    apierr.Kind
	code    string
	status  int
	message string
}

func (a errorAction) Describe() string {
	s := "error " + string(a.kind)
	if a.code != "" {
		s += " code " + a.code
	}
	if a.status != 0 {
		s += fmt.Sprintf(" HTTP %d", a.status)
	}
	return s
}

func (a errorAction) Serve(f *Fire, w http.ResponseWriter, r *http.Request, next http.Handler) {
	e := &apierr.Error{Kind: a.kind, Code: a.code, Status: a.status, Message: a.message}
	w.Header().Set("X-Pspsim-Fault", f.Rule.ID)
	if req := openapi.FromContext(r.Context()); req != nil && req.Dialect != nil {
		req.Dialect.WriteError(w, r, e)
		return
	}
	status := a.status
	if status == 0 {
		status = apierr.HTTPStatus(a.kind)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"code": a.code, "message": a.message})
}
