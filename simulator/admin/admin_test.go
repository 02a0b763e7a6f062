package admin

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/pspsim/pspsim/simulator/apierr"
)

func TestHandlerFuncRendersReturnedErrorsInTheAdminDialect(t *testing.T) {
	for _, tc := range []struct {
		name       string
		err        error
		wantStatus int
		wantCode   string
		wantField  string
	}{
		{"field error", apierr.Field(apierr.Invalid, "amount", "decimals", "amount: too many decimals"), http.StatusBadRequest, "invalid", "amount"},
		{"not found", apierr.New(apierr.NotFound, "no shop 9"), http.StatusNotFound, "not_found", ""},
		{"plain error is internal", errors.New("disk on fire"), http.StatusInternalServerError, "internal", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			HandlerFunc(func(http.ResponseWriter, *http.Request) error { return tc.err }).ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
			if rec.Code != tc.wantStatus {
				t.Fatalf("status %d, want %d", rec.Code, tc.wantStatus)
			}
			var body struct {
				Error struct{ Code, Message, Field string }
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
				t.Fatal(err)
			}
			if body.Error.Code != tc.wantCode || body.Error.Field != tc.wantField {
				t.Fatalf("got %+v", body.Error)
			}
			if tc.wantCode == "internal" && body.Error.Message != "internal error" {
				t.Fatalf("an internal cause leaked: %q", body.Error.Message)
			}
		})
	}
	t.Run("nil writes nothing more", func(t *testing.T) {
		rec := httptest.NewRecorder()
		HandlerFunc(func(w http.ResponseWriter, _ *http.Request) error { w.WriteHeader(http.StatusNoContent); return nil }).ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
		if rec.Code != http.StatusNoContent || rec.Body.Len() != 0 {
			t.Fatalf("got %d %q", rec.Code, rec.Body.String())
		}
	})
}
