package genstore

import (
	"encoding/json"
	"net/http"

	"github.com/pspsim/pspsim/simulator/apierr"
)

// Dialect renders errors as Genstore does: {"errors": "<message>"} with a 4xx
// status. A request that breaks the spec is 422 (CONTRACT.md §3: "422
// malformed body"), naming the field and the rule.
type Dialect struct{}

// WriteError implements apierr.Dialect.
func (Dialect) WriteError(w http.ResponseWriter, _ *http.Request, e *apierr.Error) {
	WriteJSON(w, Status(e), map[string]string{"errors": e.Message})
}

// Status maps an error to Genstore's HTTP status.
func Status(e *apierr.Error) int {
	if e.Status != 0 {
		return e.Status
	}
	switch e.Kind {
	case apierr.Missing, apierr.Invalid, apierr.Malformed, apierr.Unprocessable:
		return http.StatusUnprocessableEntity
	}
	return apierr.HTTPStatus(e.Kind)
}

// WriteJSON writes v as JSON with status.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"errors":"internal error"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(b)
}
