package openapi

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestStatusRecorderKeepsTheFirstStatus(t *testing.T) {
	for _, tc := range []struct {
		name  string
		write func(w http.ResponseWriter)
		want  int
	}{
		{"nothing written", func(http.ResponseWriter) {}, 0},
		{"body only", func(w http.ResponseWriter) { w.Write([]byte("x")) }, http.StatusOK},
		{"explicit status", func(w http.ResponseWriter) { w.WriteHeader(http.StatusTeapot); w.Write([]byte("x")) }, http.StatusTeapot},
		{"second status ignored", func(w http.ResponseWriter) {
			w.WriteHeader(http.StatusCreated)
			w.WriteHeader(http.StatusInternalServerError)
		}, http.StatusCreated},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			sw := &StatusRecorder{ResponseWriter: rec}
			tc.write(sw)
			if sw.Status != tc.want {
				t.Fatalf("Status = %d, want %d", sw.Status, tc.want)
			}
			if http.NewResponseController(sw) == nil || sw.Unwrap() != rec {
				t.Fatal("Unwrap does not reach the underlying writer")
			}
		})
	}
}
