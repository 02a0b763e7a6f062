package dashboard

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/pspsim/pspsim/simulator/mountpath"
	"gopkg.in/yaml.v3"
)

// signinPage asks for the admin token when the control API wants one.
func (d *Dashboard) signinPage(w http.ResponseWriter, r *http.Request) {
	v := &view{Root: rootOf(r), Version: d.o.Version, Query: r.URL.Query(), Title: "Sign in", Page: "signin"}
	render(w, http.StatusOK, "signin", v)
}

// sameSite refuses a form posted from another site: the browser says where
// it comes from (Sec-Fetch-Site, Origin), as the control API's own rule.
func sameSite(r *http.Request) bool {
	switch r.Header.Get("Sec-Fetch-Site") {
	case "", "same-origin", "none":
	default:
		return false
	}
	if o := r.Header.Get("Origin"); o != "" {
		u, err := url.Parse(o)
		if err != nil || u.Host != r.Host {
			return false
		}
	}
	return true
}

// basePath is the path of the simulator's root as the browser sees it (the
// cookie's Path), from a request under /dash/.
func basePath(r *http.Request) string {
	p := r.URL.Path
	if i := strings.LastIndex(p, Prefix+"/"); i >= 0 {
		return mountpath.Of(r) + p[:i] + "/"
	}
	return mountpath.Of(r) + "/"
}

// signin checks the token against the control API itself (a request with
// it as a bearer token must be let through) and keeps it in the
// pspsim_admin cookie: HttpOnly, SameSite=Strict, for this simulator's path.
func (d *Dashboard) signin(w http.ResponseWriter, r *http.Request) {
	v := &view{Root: rootOf(r), Version: d.o.Version, Title: "Sign in", Page: "signin"}
	if !sameSite(r) {
		v.Error = "refused: the form was posted from another site"
		render(w, http.StatusForbidden, "signin", v)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 4<<10)
	if err := r.ParseForm(); err != nil {
		v.Error = "the form could not be read"
		render(w, http.StatusBadRequest, "signin", v)
		return
	}
	v.Query = url.Values{"next": {r.PostForm.Get("next")}}
	token := strings.TrimSpace(r.PostForm.Get("token"))
	probe := r.Clone(r.Context())
	probe.Header = http.Header{"Authorization": {"Bearer " + token}}
	if _, err := d.call(probe, http.MethodGet, "/_sim/health", nil); err != nil {
		v.Error = "token: the control API does not accept this token"
		render(w, http.StatusUnauthorized, "signin", v)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: CookieName, Value: token, Path: basePath(r), HttpOnly: true, SameSite: http.SameSiteStrictMode})
	next := r.PostForm.Get("next")
	if u, err := url.Parse(next); err != nil || next == "" || u.Host != "" || u.Scheme != "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") {
		next = basePath(r)
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// signout forgets the cookie.
func (d *Dashboard) signout(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{Name: CookieName, Value: "", Path: basePath(r), MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteStrictMode})
	http.Redirect(w, r, "signin", http.StatusSeeOther)
}

// faultsYAML turns fault rules written in YAML (one rule, a list, or a
// --faults file's {rules: [...]}) into the JSON list the control API takes,
// so that the control page adds them through POST /_sim/faults, which
// validates each one. It holds no state and changes nothing.
func (d *Dashboard) faultsYAML(w http.ResponseWriter, r *http.Request) {
	if !sameSite(r) {
		http.Error(w, "refused: posted from another site", http.StatusForbidden)
		return
	}
	raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 64<<10))
	if err != nil {
		http.Error(w, "the YAML could not be read: "+err.Error(), http.StatusBadRequest)
		return
	}
	rules, err := yamlRules(raw)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	b, _ := json.Marshal(rules)
	w.Header().Set("Content-Type", "application/json")
	w.Write(b)
}

func yamlRules(raw []byte) ([]any, error) {
	var doc any
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		return nil, fmt.Errorf("YAML: %w", err)
	}
	switch x := doc.(type) {
	case []any:
		return x, nil
	case map[string]any:
		if rs, ok := x["rules"].([]any); ok {
			return rs, nil
		}
		return []any{x}, nil
	}
	return nil, fmt.Errorf("YAML: expected a rule, a list of rules or {rules: [...]}")
}
