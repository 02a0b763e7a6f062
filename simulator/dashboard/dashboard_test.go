package dashboard_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/pspsim/pspsim/simulator/codepay"
	"github.com/pspsim/pspsim/simulator/dashboard"
	"github.com/pspsim/pspsim/simulator/genstore"
	"github.com/pspsim/pspsim/simulator/simtest"
	"github.com/pspsim/pspsim/simulator/vmgateway"
)

func TestRootNegotiatesHTMLAndJSON(t *testing.T) {
	h := simtest.New(t)
	for _, c := range []struct{ accept, want string }{
		{"text/html,application/xhtml+xml,*/*;q=0.8", "text/html"},
		{"application/json", "application/json"},
		{"", "application/json"},
		{"*/*", "application/json"},
		{"application/json, text/html", "application/json"},
	} {
		r := h.Do("GET", "/", nil, "Accept", c.accept)
		if r.Status != 200 || !strings.HasPrefix(r.Header.Get("Content-Type"), c.want) {
			t.Errorf("Accept %q: %d %s, want %s", c.accept, r.Status, r.Header.Get("Content-Type"), c.want)
		}
	}
}

// TestEveryPageRendersWithoutCardNumbers opens each page as a browser would
// after a reference-app payment: each answers 200, links relatively, and
// shows no card number unmasked.
func TestEveryPageRendersWithoutCardNumbers(t *testing.T) {
	h := simtest.New(t)
	ra := startRefApp(t, h)
	id := ra.pay(t, "12.34", "4000123456000019")
	for _, p := range []string{"/", "/dash/search?q=" + id, "/dash/search", "/dash/journal?system=genstore", "/dash/genstore", "/dash/codepay", "/dash/gateway", "/dash/control", "/dash/signin"} {
		r := h.Do("GET", p, nil, "Accept", "text/html")
		body := string(r.Body)
		if r.Status != 200 {
			t.Errorf("%s: %d %s", p, r.Status, body)
			continue
		}
		if m := fullPAN.FindString(body); m != "" && (strings.HasPrefix(m, "40001234560") || strings.HasPrefix(m, "51001234560")) {
			t.Errorf("%s shows %s unmasked", p, m)
		}
		if strings.Contains(body, `href="/`) || strings.Contains(body, `src="/`) || strings.Contains(body, `action="/`) {
			t.Errorf("%s emits a root-absolute URL: the dashboard must work under a prefix", p)
		}
	}
	r := h.Do("GET", "/dash/search?q="+id, nil, "Accept", "text/html")
	for _, kind := range []string{"payment.created", "payment.acknowledged", "callback.received", "threeds.authentication", "api.request", "delivery.attempt"} {
		if !strings.Contains(string(r.Body), `data-kind="`+kind+`"`) {
			t.Errorf("the timeline of %s lacks %s", id, kind)
		}
	}
}

// refusingAPI stands for a control API with an admin token: it lets through
// only requests carrying the right cookie or bearer token.
func refusingAPI(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/_sim/") {
			c, _ := r.Cookie(dashboard.CookieName)
			if (c == nil || c.Value != "t0ken") && r.Header.Get("Authorization") != "Bearer t0ken" {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(401)
				w.Write([]byte(`{"error":{"code":"unauthorized","message":"admin token required"}}`))
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// TestDashboardHonoursTheControlAPIsAuth: when the control API refuses the
// browser, the dashboard shows nothing but its sign-in form; a wrong token
// is refused, the right one becomes the HttpOnly, SameSite=Strict cookie.
func TestDashboardHonoursTheControlAPIsAuth(t *testing.T) {
	h := simtest.New(t)
	guarded := refusingAPI(h.Sim.Handler())
	d := dashboard.New(dashboard.Options{
		Genstore: h.Sim.System("genstore").(*genstore.System), CodePay: h.Sim.System("codepay").(*codepay.System),
		Gateway: h.Sim.System("vmgateway").(*vmgateway.System), API: func() http.Handler { return guarded },
	})
	mux := http.NewServeMux()
	d.Routes(mux)
	mux.HandleFunc("GET /{$}", d.ServeOverview)
	mux.Handle("/", guarded)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

	get := func(path, cookie string) *http.Response {
		req, _ := http.NewRequest("GET", srv.URL+path, nil)
		req.Header.Set("Accept", "text/html")
		if cookie != "" {
			req.Header.Set("Cookie", dashboard.CookieName+"="+cookie)
		}
		res, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res
	}
	for _, p := range []string{"/", "/dash/genstore", "/dash/journal"} {
		if res := get(p, ""); res.StatusCode != 303 || !strings.Contains(res.Header.Get("Location"), "dash/signin") {
			t.Errorf("%s without a token: %d %s, want the sign-in page", p, res.StatusCode, res.Header.Get("Location"))
		}
	}
	post := func(token, origin string) *http.Response {
		req, _ := http.NewRequest("POST", srv.URL+"/dash/signin", strings.NewReader(url.Values{"token": {token}, "next": {"/dash/genstore"}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		res, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res
	}
	if res := post("wrong", ""); res.StatusCode != 401 || len(res.Cookies()) != 0 {
		t.Errorf("a wrong token: %d, cookies %v", res.StatusCode, res.Cookies())
	}
	if res := post("t0ken", "http://evil.example"); res.StatusCode != 403 || len(res.Cookies()) != 0 {
		t.Errorf("a cross-site sign-in: %d, cookies %v", res.StatusCode, res.Cookies())
	}
	res := post("t0ken", "")
	if res.StatusCode != 303 || res.Header.Get("Location") != "/dash/genstore" {
		t.Fatalf("the right token: %d → %s", res.StatusCode, res.Header.Get("Location"))
	}
	var c *http.Cookie
	for _, k := range res.Cookies() {
		if k.Name == dashboard.CookieName {
			c = k
		}
	}
	if c == nil || c.Value != "t0ken" || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Path != "/" {
		t.Fatalf("the cookie is %+v", c)
	}
	if res := get("/dash/genstore", "t0ken"); res.StatusCode != 200 {
		t.Errorf("signed in, the Genstore page answers %d", res.StatusCode)
	}
	if res := post("t0ken", ""); res.Header.Get("Location") == "" {
		t.Error("no redirect after sign-in")
	}
}

func TestFaultsYAMLConvertsRulesAndNamesErrors(t *testing.T) {
	h := simtest.New(t)
	for _, c := range []struct {
		yaml   string
		status int
		want   string
	}{
		{"- match: {system: codepay}\n  action: {type: error, code: \"50000\"}\n", 200, `[{"action":{"code":"50000","type":"error"},"match":{"system":"codepay"}}]`},
		{"rules:\n  - action: {type: reset}\n", 200, `[{"action":{"type":"reset"}}]`},
		{"action: {type: reset}\n", 200, `[{"action":{"type":"reset"}}]`},
		{"- [unclosed\n", 400, "YAML"},
		{"42\n", 400, "expected a rule"},
	} {
		r := h.Do("POST", "/dash/faults/yaml", c.yaml, "Content-Type", "application/yaml")
		if r.Status != c.status || !strings.Contains(string(r.Body), c.want) {
			t.Errorf("%q: %d %s, want %d %s", c.yaml, r.Status, r.Body, c.status, c.want)
		}
	}
	if r := h.Do("POST", "/dash/faults/yaml", "action: {type: reset}", "Sec-Fetch-Site", "cross-site"); r.Status != 403 {
		t.Errorf("a cross-site conversion: %d", r.Status)
	}
}
