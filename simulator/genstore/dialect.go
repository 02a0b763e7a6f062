package genstore

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/pspsim/pspsim/simulator/apierr"
	"github.com/pspsim/pspsim/simulator/bodies"
	"github.com/pspsim/pspsim/simulator/openapi"
)

// Dialect renders errors as Genstore does: {"errors": "<message>"} with a 4xx
// status. A request that breaks the spec is 422 (CONTRACT.md §3: "422
// malformed body"), naming the field and the rule. record, when set, hears
// of every refusal, so that each refused callback is in the journal too.
type Dialect struct {
	record func(r *http.Request, status int, e *apierr.Error)
}

// WriteError implements apierr.Dialect.
func (d Dialect) WriteError(w http.ResponseWriter, r *http.Request, e *apierr.Error) {
	status := HTTPStatus(e)
	if d.record != nil && r != nil {
		d.record(r, status, e)
	}
	WriteJSON(w, status, map[string]string{"errors": e.Message})
}

// HTTPStatus maps an error to Genstore's HTTP status.
func HTTPStatus(e *apierr.Error) int {
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

// writeError answers in Genstore's dialect (and journals the refusal).
func (s *System) writeError(w http.ResponseWriter, r *http.Request, e *apierr.Error) {
	Dialect{record: s.recordRefusal}.WriteError(w, r, e)
}

// recordRefusal journals a refused request to Genstore's API with the ids it
// names: the caller's shop and app when the token was good or revoked (then
// with tokenRevoked), the path's id.
func (s *System) recordRefusal(r *http.Request, status int, e *apierr.Error) {
	ids := map[string]string{}
	kind := "request.refused"
	op := ""
	revoked := false
	if req := openapi.FromContext(r.Context()); req != nil {
		op = req.OperationID
		for k, v := range req.PathParams {
			ids[k] = v
		}
		if id := req.Tags()["paymentId"]; id != "" {
			ids["paymentId"] = id
		}
		if tok, ok := req.Principal().(Token); ok {
			ids["shopId"], ids["clientId"] = tok.ShopID, tok.ClientID
		} else if shop := req.TagValue(tagRevokedShop); shop != "" {
			ids["shopId"], ids["clientId"] = shop, req.TagValue(tagRevokedApp)
			revoked = true
		}
		if strings.HasPrefix(op, "update") {
			kind = "callback.refused"
		}
	}
	if e.Kind == apierr.Internal && e.Cause != nil {
		s.env.Log.Error("genstore: internal error", "operation", op, "error", e.Cause)
	} else if e.Kind == apierr.Unavailable && e.Cause != nil {
		s.env.Log.Error("genstore: the store did not answer", "operation", op, "error", e.Cause)
	}
	data := map[string]any{"status": status, "operation": op, "field": e.Field, "rule": e.Rule, "request": requestBody(r)}
	if revoked {
		data["tokenRevoked"] = true
	}
	s.record(kind, fmt.Sprintf("%s %s answered %d: %s", r.Method, r.URL.Path, status, e.Message), ids, data)
}

// requestBody is the masked, bounded view of an API request's body the
// journal keeps for the dashboard's timeline (nil when there is none).
func requestBody(r *http.Request) any {
	if req := openapi.FromContext(r.Context()); req != nil {
		return bodies.Of(req.Body)
	}
	return nil
}
