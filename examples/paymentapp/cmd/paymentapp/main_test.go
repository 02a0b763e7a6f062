package main

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// The container health check: 0 while the app's /healthz answers 200, 1 when
// it answers otherwise or nothing listens.
func TestHealth(t *testing.T) {
	ok := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/healthz" {
			http.NotFound(w, r)
		}
	}))
	defer ok.Close()
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusServiceUnavailable) }))
	defer down.Close()
	gone := httptest.NewServer(nil)
	goneAddr := strings.TrimPrefix(gone.URL, "http://")
	gone.Close()
	for _, c := range []struct {
		name, addr string
		want       int
	}{
		{"healthy", strings.TrimPrefix(ok.URL, "http://"), 0},
		{"unhealthy", strings.TrimPrefix(down.URL, "http://"), 1},
		{"not listening", goneAddr, 1},
	} {
		if got := health(c.addr); got != c.want {
			t.Errorf("%s: health(%s) = %d, want %d", c.name, c.addr, got, c.want)
		}
	}
}
