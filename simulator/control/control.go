// Package control decides who may drive pspsim's control API (/_sim/…):
// reset, the clock, fault rules, the journal, the merchants' and buyers'
// actions. A sandbox left running on a developer's machine must not be
// driven by a web page the developer happens to visit, nor read through DNS
// rebinding, so every /_sim request passes three checks, in this order:
//
//  1. Host: the request's Host must be a loopback name (localhost,
//     *.localhost, 127.0.0.0/8, ::1), the simulator's own address, or one of
//     the allowed hosts (--allowed-hosts; "*" allows any). A rebinding page
//     reaches the loopback address under its own name, which fails here.
//  2. Token: with an admin token set (--admin-token, PSPSIM_ADMIN_TOKEN),
//     every request carries "Authorization: Bearer <token>" or the cookie
//     pspsim_admin=<token> (HttpOnly, SameSite=Strict: the dashboard's
//     sign-in sets it).
//  3. A state change (POST, PUT, PATCH, DELETE) is same-site and JSON: its
//     Content-Type is application/json, body or not (a cross-site form or a
//     "simple" fetch cannot send it without a CORS preflight, which pspsim
//     never grants); Sec-Fetch-Site is absent, same-origin or none; an
//     Origin, when present, is the request's own.
//
// Refusals are in the admin dialect ({"error": {code, message, field}}),
// naming the header and the rule. The emulated APIs (/genstore, /codepay,
// /vm) and their pages are not concerned: they have their vendors'
// credentials.
//
// The client side is Transport: the CLI, the Gherkin steps and the
// conformance runner send every /_sim request through it.
package control

import (
	"crypto/subtle"
	"mime"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"

	"github.com/pspsim/pspsim/simulator/apierr"
)

// Prefix is the control API's path prefix.
const Prefix = "/_sim"

// EnvToken is the environment variable that holds the admin token, for
// `pspsim serve` and for every client command.
const EnvToken = "PSPSIM_ADMIN_TOKEN"

// CookieName is the cookie that carries the admin token from a browser.
const CookieName = "pspsim_admin"

// Policy is who may drive the control API.
type Policy struct {
	// AllowedHosts are Host names accepted besides the loopback names and
	// the simulator's own: "name" (any port), "name:port", or "*" (any
	// Host: only behind something that checks it).
	AllowedHosts []string
	// Token, when not empty, must come with every request.
	Token string
}

// Guard is a Policy in force: Protect wraps the simulator's handler.
type Guard struct {
	token   []byte
	any     bool
	names   map[string]bool // host without port
	exact   map[string]bool // host:port
	render  func(http.ResponseWriter, *http.Request, *apierr.Error)
	ownURLs func() []string
}

// NewGuard builds the guard of p. own returns the simulator's own base URLs
// (the public URL, the listen address), whose hosts are allowed and whose
// origins are same-site; render writes a refusal (the admin dialect).
func NewGuard(p Policy, own func() []string, render func(http.ResponseWriter, *http.Request, *apierr.Error)) *Guard {
	g := &Guard{token: []byte(p.Token), names: map[string]bool{}, exact: map[string]bool{}, render: render, ownURLs: own}
	for _, h := range p.AllowedHosts {
		h = strings.ToLower(strings.TrimSpace(h))
		if h == "*" {
			g.any = true
		} else if _, _, err := net.SplitHostPort(h); err == nil {
			g.exact[h] = true
		} else if h != "" {
			g.names[strings.Trim(h, "[]")] = true
		}
	}
	return g
}

// Protect checks every /_sim request before next sees it.
func (g *Guard) Protect(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != Prefix && !strings.HasPrefix(r.URL.Path, Prefix+"/") {
			next.ServeHTTP(w, r)
			return
		}
		if e := g.Check(r); e != nil {
			g.render(w, r, e)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// Check returns why r may not drive the control API, or nil.
func (g *Guard) Check(r *http.Request) *apierr.Error {
	if !g.hostAllowed(r.Host) {
		return apierr.Field(apierr.Forbidden, "Host", "allowed",
			"Host %q is not this simulator's: the control API answers only to loopback names and its own address (pspsim serve --allowed-hosts adds names)", r.Host)
	}
	if len(g.token) > 0 && !g.tokenGiven(r) {
		return apierr.Field(apierr.Unauthorized, "Authorization", "token",
			"the control API needs the admin token: Authorization: Bearer <token> (or the %s cookie); the CLI takes it from --admin-token or %s", CookieName, EnvToken)
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return nil
	}
	switch site := r.Header.Get("Sec-Fetch-Site"); site {
	case "", "same-origin", "none":
	default:
		return apierr.Field(apierr.Forbidden, "Sec-Fetch-Site", "same-origin",
			"a state change from another site (%s) is refused: the control API is driven from this simulator's pages, the CLI or scripts", site)
	}
	if origin := r.Header.Get("Origin"); origin != "" && !g.ownOrigin(r, origin) {
		return apierr.Field(apierr.Forbidden, "Origin", "same-origin",
			"a state change from origin %q is refused: only the simulator's own origin may change its state", origin)
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		return &apierr.Error{Kind: apierr.Invalid, Status: http.StatusUnsupportedMediaType, Field: "Content-Type", Rule: "json",
			Message: "Content-Type: a state change of the control API must be sent as application/json, with or without a body"}
	}
	return nil
}

func (g *Guard) hostAllowed(hostport string) bool {
	if g.any {
		return true
	}
	hostport = strings.ToLower(hostport)
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.Trim(host, "[]"), ".")
	if loopback(host) || g.names[host] || g.exact[hostport] {
		return true
	}
	for _, u := range g.ownURLs() {
		if pu, err := url.Parse(u); err == nil && pu.Host != "" {
			if strings.EqualFold(pu.Host, hostport) || strings.EqualFold(strings.Trim(pu.Hostname(), "[]"), host) {
				return true
			}
		}
	}
	return false
}

// loopback reports a name that only ever reaches this machine: localhost
// and its subdomains (RFC 6761: browsers resolve them to loopback
// themselves), and loopback addresses.
func loopback(host string) bool {
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func (g *Guard) tokenGiven(r *http.Request) bool {
	if scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " "); ok && strings.EqualFold(scheme, "Bearer") {
		if subtle.ConstantTimeCompare([]byte(strings.TrimSpace(tok)), g.token) == 1 {
			return true
		}
	}
	if c, err := r.Cookie(CookieName); err == nil && subtle.ConstantTimeCompare([]byte(c.Value), g.token) == 1 {
		return true
	}
	return false
}

// ownOrigin reports whether origin is the request's own (its scheme and
// Host) or the simulator's public one.
func (g *Guard) ownOrigin(r *http.Request, origin string) bool {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	if strings.EqualFold(origin, scheme+"://"+r.Host) {
		return true
	}
	for _, u := range g.ownURLs() {
		if pu, err := url.Parse(u); err == nil && strings.EqualFold(origin, pu.Scheme+"://"+pu.Host) {
			return true
		}
	}
	return false
}

// TokenFromEnv returns the admin token of the environment (PSPSIM_ADMIN_TOKEN).
func TokenFromEnv() string { return os.Getenv(EnvToken) }

// Transport sends requests as a well-behaved control-API client: every
// /_sim request gets "Authorization: Bearer <token>" (when token is set and
// the request has no Authorization of its own), and a state change without
// a Content-Type gets application/json. Other requests pass unchanged (the
// card gateway has bearer tokens of its own). base nil is
// http.DefaultTransport.
func Transport(base http.RoundTripper, token string) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	return &transport{base: base, token: token}
}

// isControl reports whether a path is the control API's: /_sim/…, or a
// namespace's /ns/{name}/_sim/… (package host).
func isControl(p string) bool {
	if rest, ok := strings.CutPrefix(p, "/ns/"); ok {
		if i := strings.IndexByte(rest, '/'); i > 0 {
			p = rest[i:]
		}
	}
	return p == Prefix || strings.HasPrefix(p, Prefix+"/")
}

type transport struct {
	base  http.RoundTripper
	token string
}

func (t *transport) RoundTrip(r *http.Request) (*http.Response, error) {
	if !isControl(r.URL.Path) {
		return t.base.RoundTrip(r)
	}
	addToken := t.token != "" && r.Header.Get("Authorization") == ""
	addType := r.Header.Get("Content-Type") == "" && r.Method != http.MethodGet && r.Method != http.MethodHead && r.Method != http.MethodOptions
	if !addToken && !addType {
		return t.base.RoundTrip(r)
	}
	r = r.Clone(r.Context()) // a RoundTripper must not change the caller's request
	if addToken {
		r.Header.Set("Authorization", "Bearer "+t.token)
	}
	if addType {
		r.Header.Set("Content-Type", "application/json")
	}
	return t.base.RoundTrip(r)
}
