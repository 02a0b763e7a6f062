package simulator_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/pspsim/pspsim/simulator"
	"github.com/pspsim/pspsim/simulator/simtest"
)

// TestControlAPIOnlyItsOwnerCanDrive: what a web page in the developer's
// browser can send — a simple cross-site POST, a request through a
// rebinding name — must not reset the sandbox; with a token, nothing
// without it drives the control API; the emulated APIs are not concerned.
func TestControlAPIOnlyItsOwnerCanDrive(t *testing.T) {
	h := simtest.New(t, func(o *simulator.Options) { o.Control.Token = "s3cret" })
	send := func(method, path, host, body string, header ...string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest(method, h.URL+path, strings.NewReader(body))
		if host != "" {
			req.Host = host
		}
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res
	}
	resets := func() int {
		return len(h.Sim.Journal().Query(journalKind("sim.reset")))
	}
	auth := []string{"Authorization", "Bearer s3cret"}
	for _, c := range []struct {
		name   string
		res    *http.Response
		status int
	}{
		{"a cross-site form-like POST with the token's cookie", send("POST", "/_sim/reset", "", "", "Cookie", "pspsim_admin=s3cret", "Origin", "http://evil.example", "Sec-Fetch-Site", "cross-site", "Content-Type", "text/plain"), http.StatusForbidden},
		{"a simple body-less POST", send("POST", "/_sim/reset", "", "", auth...), http.StatusUnsupportedMediaType},
		{"a rebinding Host", send("GET", "/_sim/events", "evil.example:7357", "", auth...), http.StatusForbidden},
		{"no token", send("POST", "/_sim/reset", "", "", "Content-Type", "application/json"), http.StatusUnauthorized},
		{"no token, reading the journal", send("GET", "/_sim/events", "", ""), http.StatusUnauthorized},
	} {
		if c.res.StatusCode != c.status || !strings.HasPrefix(c.res.Header.Get("Content-Type"), "application/json") {
			t.Errorf("%s: %d %s, want %d in the admin dialect", c.name, c.res.StatusCode, c.res.Header.Get("Content-Type"), c.status)
		}
	}
	if n := resets(); n != 0 {
		t.Fatalf("refused requests reset the simulator %d times", n)
	}
	if r := send("POST", "/_sim/reset", "", "", append(auth, "Content-Type", "application/json")...); r.StatusCode != http.StatusOK || resets() != 1 {
		t.Fatalf("the owner's reset: %d, %d resets", r.StatusCode, resets())
	}
	if r := send("POST", "/_sim/reset", "", "", "Cookie", "pspsim_admin=s3cret", "Content-Type", "application/json", "Sec-Fetch-Site", "same-origin", "Origin", h.URL); r.StatusCode != http.StatusOK {
		t.Fatalf("a same-origin page's reset with the cookie: %d", r.StatusCode)
	}
	// The emulated APIs keep their own credentials.
	if r := send("POST", "/vm/v1/auth/token", "evil.example", `{"appId": "086666075137001", "secret": "184E52CF5365D2D7EE8EDA************"}`, "Content-Type", "application/json"); r.StatusCode != http.StatusOK {
		t.Fatalf("the gateway's token with another Host: %d", r.StatusCode)
	}
}
