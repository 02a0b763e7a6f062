package control_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/pspsim/pspsim/simulator/apierr"
	"github.com/pspsim/pspsim/simulator/control"
)

func render(w http.ResponseWriter, _ *http.Request, e *apierr.Error) {
	status := e.Status
	if status == 0 {
		status = apierr.HTTPStatus(e.Kind)
	}
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"field": e.Field, "rule": e.Rule, "message": e.Message})
}

func TestGuard(t *testing.T) {
	type req struct {
		method, path, host string
		headers            []string
	}
	jsonType := []string{"Content-Type", "application/json"}
	with := func(h ...string) []string { return append(append([]string{}, jsonType...), h...) }
	cases := []struct {
		name   string
		policy control.Policy
		req    req
		status int    // 0: let through
		field  string // the header the refusal names
	}{
		// Host: loopback names, the simulator's own address, the allow-list.
		{"loopback address", control.Policy{}, req{"GET", "/_sim/events", "127.0.0.1:7357", nil}, 0, ""},
		{"another loopback address, any port", control.Policy{}, req{"GET", "/_sim/events", "127.8.9.10:1", nil}, 0, ""},
		{"localhost", control.Policy{}, req{"GET", "/_sim/events", "localhost:7357", nil}, 0, ""},
		{"a name under localhost", control.Policy{}, req{"GET", "/_sim/events", "app.localhost", nil}, 0, ""},
		{"IPv6 loopback", control.Policy{}, req{"GET", "/_sim/events", "[::1]:7357", nil}, 0, ""},
		{"the public URL's host", control.Policy{}, req{"GET", "/_sim/events", "sandbox.example:8443", nil}, 0, ""},
		{"a rebinding name", control.Policy{}, req{"GET", "/_sim/events", "evil.example:7357", nil}, http.StatusForbidden, "Host"},
		{"a LAN address not allowed", control.Policy{}, req{"GET", "/_sim/health", "192.168.1.20:7357", nil}, http.StatusForbidden, "Host"},
		{"an allowed name, any port", control.Policy{AllowedHosts: []string{"pspsim"}}, req{"GET", "/_sim/events", "pspsim:7357", nil}, 0, ""},
		{"an allowed host:port", control.Policy{AllowedHosts: []string{"ci.internal:7357"}}, req{"GET", "/_sim/events", "CI.internal:7357", nil}, 0, ""},
		{"an allowed host:port, another port", control.Policy{AllowedHosts: []string{"ci.internal:7357"}}, req{"GET", "/_sim/events", "ci.internal:80", nil}, http.StatusForbidden, "Host"},
		{"any host", control.Policy{AllowedHosts: []string{"*"}}, req{"GET", "/_sim/events", "evil.example", nil}, 0, ""},
		{"not the control API", control.Policy{Token: "t0k"}, req{"POST", "/vm/v1/auth/token", "evil.example", nil}, 0, ""},

		// State changes: JSON, same-site.
		{"a JSON reset", control.Policy{}, req{"POST", "/_sim/reset", "127.0.0.1:7357", jsonType}, 0, ""},
		{"JSON with a charset", control.Policy{}, req{"POST", "/_sim/reset", "127.0.0.1:7357", []string{"Content-Type", "application/json; charset=utf-8"}}, 0, ""},
		{"a body-less reset without a type (a cross-site simple POST)", control.Policy{}, req{"POST", "/_sim/reset", "127.0.0.1:7357", nil}, http.StatusUnsupportedMediaType, "Content-Type"},
		{"a form post", control.Policy{}, req{"POST", "/_sim/reset", "127.0.0.1:7357", []string{"Content-Type", "application/x-www-form-urlencoded"}}, http.StatusUnsupportedMediaType, "Content-Type"},
		{"text/plain", control.Policy{}, req{"DELETE", "/_sim/faults", "127.0.0.1:7357", []string{"Content-Type", "text/plain"}}, http.StatusUnsupportedMediaType, "Content-Type"},
		{"cross-site by Sec-Fetch-Site", control.Policy{}, req{"POST", "/_sim/reset", "127.0.0.1:7357", with("Sec-Fetch-Site", "cross-site")}, http.StatusForbidden, "Sec-Fetch-Site"},
		{"same-site (another port) by Sec-Fetch-Site", control.Policy{}, req{"PUT", "/_sim/faults", "127.0.0.1:7357", with("Sec-Fetch-Site", "same-site")}, http.StatusForbidden, "Sec-Fetch-Site"},
		{"same-origin by Sec-Fetch-Site", control.Policy{}, req{"POST", "/_sim/reset", "127.0.0.1:7357", with("Sec-Fetch-Site", "same-origin")}, 0, ""},
		{"typed by the user (none)", control.Policy{}, req{"POST", "/_sim/reset", "127.0.0.1:7357", with("Sec-Fetch-Site", "none")}, 0, ""},
		{"a foreign Origin", control.Policy{}, req{"PATCH", "/_sim/genstore/shops/1001", "127.0.0.1:7357", with("Origin", "http://evil.example")}, http.StatusForbidden, "Origin"},
		{"the request's own Origin", control.Policy{}, req{"POST", "/_sim/reset", "127.0.0.1:7357", with("Origin", "http://127.0.0.1:7357")}, 0, ""},
		{"the public URL's Origin", control.Policy{}, req{"POST", "/_sim/reset", "sandbox.example:8443", with("Origin", "https://sandbox.example:8443")}, 0, ""},
		{"a GET needs no type", control.Policy{}, req{"GET", "/_sim/clock", "127.0.0.1:7357", []string{"Sec-Fetch-Site", "cross-site"}}, 0, ""},

		// The admin token.
		{"no token", control.Policy{Token: "t0k"}, req{"GET", "/_sim/events", "127.0.0.1:7357", nil}, http.StatusUnauthorized, "Authorization"},
		{"a wrong token", control.Policy{Token: "t0k"}, req{"GET", "/_sim/events", "127.0.0.1:7357", []string{"Authorization", "Bearer t0x"}}, http.StatusUnauthorized, "Authorization"},
		{"the token", control.Policy{Token: "t0k"}, req{"GET", "/_sim/events", "127.0.0.1:7357", []string{"Authorization", "Bearer t0k"}}, 0, ""},
		{"the token, scheme in lower case", control.Policy{Token: "t0k"}, req{"GET", "/_sim/events", "127.0.0.1:7357", []string{"Authorization", "bearer t0k"}}, 0, ""},
		{"the token's cookie", control.Policy{Token: "t0k"}, req{"POST", "/_sim/reset", "127.0.0.1:7357", with("Cookie", "pspsim_admin=t0k")}, 0, ""},
		{"the token does not excuse a foreign Host", control.Policy{Token: "t0k"}, req{"GET", "/_sim/events", "evil.example", []string{"Authorization", "Bearer t0k"}}, http.StatusForbidden, "Host"},
		{"the token does not excuse a cross-site change", control.Policy{Token: "t0k"}, req{"POST", "/_sim/reset", "127.0.0.1:7357", with("Cookie", "pspsim_admin=t0k", "Origin", "http://evil.example")}, http.StatusForbidden, "Origin"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			reached := false
			h := control.NewGuard(c.policy, func() []string { return []string{"https://sandbox.example:8443"} }, render).
				Protect(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { reached = true }))
			r := httptest.NewRequest(c.req.method, c.req.path, nil)
			r.Host = c.req.host
			for i := 0; i+1 < len(c.req.headers); i += 2 {
				r.Header.Set(c.req.headers[i], c.req.headers[i+1])
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if c.status == 0 {
				if !reached {
					t.Fatalf("refused: %d %s", w.Code, w.Body)
				}
				return
			}
			var body struct{ Field, Message string }
			json.NewDecoder(w.Body).Decode(&body)
			if reached || w.Code != c.status || body.Field != c.field || !strings.Contains(body.Message, c.field) {
				t.Fatalf("reached %t, %d %+v; want %d naming %s", reached, w.Code, body, c.status, c.field)
			}
		})
	}
}

func TestTransportSendsWhatTheGuardWants(t *testing.T) {
	var got []http.Header
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got = append(got, r.Header.Clone()) }))
	defer srv.Close()
	c := &http.Client{Transport: control.Transport(nil, "t0k")}
	send := func(method, path string, header ...string) http.Header {
		r, _ := http.NewRequest(method, srv.URL+path, nil)
		for i := 0; i+1 < len(header); i += 2 {
			r.Header.Set(header[i], header[i+1])
		}
		res, err := c.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if r.Header.Get("Authorization") != "" && len(header) == 0 {
			t.Fatal("the caller's request was changed")
		}
		return got[len(got)-1]
	}
	if h := send("POST", "/_sim/reset"); h.Get("Authorization") != "Bearer t0k" || h.Get("Content-Type") != "application/json" {
		t.Fatalf("reset: %v", h)
	}
	if h := send("GET", "/_sim/events"); h.Get("Authorization") != "Bearer t0k" || h.Get("Content-Type") != "" {
		t.Fatalf("events: %v", h)
	}
	if h := send("POST", "/vm/v1/payments", "Authorization", "Bearer gateway-token"); h.Get("Authorization") != "Bearer gateway-token" || h.Get("Content-Type") != "" {
		t.Fatalf("a gateway request: %v", h)
	}
	if h := send("GET", "/genstore/api/202412/payment/PI1"); h.Get("Authorization") != "" {
		t.Fatalf("the token went to Genstore's API: %v", h)
	}
}
