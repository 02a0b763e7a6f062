// Package dashboard is pspsim's web dashboard: a browser's view of the whole
// sandbox at `/` (Accept: text/html; API clients still get the JSON index).
//
// It shows a payment's timeline across Genstore, the app and the PSPs, the
// live journal, each system's objects and the controls (clock, fault rules,
// canaries, reset). Pages are rendered on the server from html/template
// (auto-escaped; the data they show is masked before it is stored), and a
// small amount of plain JavaScript, embedded in the binary, adds live
// updates (server-sent events) and the control forms. No build step.
//
// The dashboard holds no privilege of its own. Everything it changes goes
// from the browser to the control API (/_sim/…) with fetch, same-origin, as
// JSON; everything it reads about the journal, the clock, the fault rules
// and canaries it reads through that API in process, carrying the browser's
// own credentials (Host, Authorization, the pspsim_admin cookie), so the
// control API's protection decides what the dashboard may show. The
// systems' objects come from narrow read-only interfaces, after the same
// check. Every URL a page emits is relative, so a simulator served under a
// prefix (/ns/{name}/) gets a dashboard of its own without change.
package dashboard

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/pspsim/pspsim/simulator/codepay"
	"github.com/pspsim/pspsim/simulator/genstore"
	"github.com/pspsim/pspsim/simulator/listing"
	"github.com/pspsim/pspsim/simulator/vmgateway"
)

// Prefix is where the dashboard's pages live; `/` is its overview.
const Prefix = "/dash"

// CookieName is the cookie the sign-in form sets: the control API accepts
// it in place of `Authorization: Bearer <token>`.
const CookieName = "pspsim_admin"

// Genstore is what the dashboard reads of Genstore.
type Genstore interface {
	ListApps(ctx context.Context) ([]genstore.AppView, error)
	ListShops(ctx context.Context) ([]genstore.Shop, error)
	ListInstallations(ctx context.Context) ([]genstore.InstallationView, error)
	ListPayments(ctx context.Context, p listing.Page) (listing.Result[genstore.PaymentView], error)
}

// CodePay is what the dashboard reads of CodePay.
type CodePay interface {
	ListMerchants(ctx context.Context) ([]codepay.Merchant, error)
	ListTerminals(ctx context.Context) ([]codepay.TerminalView, error)
	ListOrders(ctx context.Context, p listing.Page) (listing.Result[codepay.OrderRow], error)
	ListBatches(ctx context.Context, p listing.Page) (listing.Result[codepay.BatchRow], error)
}

// Gateway is what the dashboard reads of the card gateway.
type Gateway interface {
	ListMerchants(ctx context.Context) ([]vmgateway.MerchantRow, error)
	ListPayments(ctx context.Context, p listing.Page) (listing.Result[vmgateway.PaymentRow], error)
	ListRefunds(ctx context.Context, p listing.Page) (listing.Result[vmgateway.RefundRow], error)
	ListSessions(ctx context.Context, p listing.Page) (listing.Result[vmgateway.SessionRow], error)
	ListSubscriptions(ctx context.Context) ([]vmgateway.SubscriptionRow, error)
}

// Options build a Dashboard.
type Options struct {
	Genstore Genstore
	CodePay  CodePay
	Gateway  Gateway
	// API returns the simulator's own handler (the whole chain, control-API
	// protection included): the dashboard reads the control API through it.
	API func() http.Handler
	// Version is shown in the footer.
	Version string
	// Namespace is the simulator's namespace ("" for the default one, at the
	// server's root): the header names it and links back to the root.
	Namespace string
}

// Dashboard serves the pages.
type Dashboard struct {
	o Options
}

// New returns a dashboard.
func New(o Options) *Dashboard { return &Dashboard{o: o} }

//go:embed assets
var assets embed.FS

// Routes registers the dashboard's pages under Prefix. The overview at `/`
// is served by ServeOverview, which the simulator calls when a browser asks
// for `/`.
func (d *Dashboard) Routes(mux *http.ServeMux) {
	static, _ := fs.Sub(assets, "assets")
	files := http.StripPrefix(Prefix+"/assets/", http.FileServerFS(static))
	mux.Handle("GET "+Prefix+"/assets/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-cache")
		files.ServeHTTP(w, r)
	}))
	mux.HandleFunc("GET "+Prefix+"/{$}", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "../", http.StatusSeeOther) })
	mux.HandleFunc("GET "+Prefix+"/search", d.page(d.search))
	mux.HandleFunc("GET "+Prefix+"/journal", d.page(d.journal))
	mux.HandleFunc("GET "+Prefix+"/genstore", d.page(d.genstore))
	mux.HandleFunc("GET "+Prefix+"/codepay", d.page(d.codepay))
	mux.HandleFunc("GET "+Prefix+"/gateway", d.page(d.gateway))
	mux.HandleFunc("GET "+Prefix+"/control", d.page(d.control))
	mux.HandleFunc("GET "+Prefix+"/signin", d.signinPage)
	mux.HandleFunc("POST "+Prefix+"/signin", d.signin)
	mux.HandleFunc("POST "+Prefix+"/signout", d.signout)
	mux.HandleFunc("POST "+Prefix+"/faults/yaml", d.faultsYAML)
}

// WantsHTML reports whether a request for `/` comes from a browser: its
// Accept header names text/html before (or without) application/json.
func WantsHTML(r *http.Request) bool {
	accept := strings.ToLower(r.Header.Get("Accept"))
	html := strings.Index(accept, "text/html")
	if html < 0 {
		return false
	}
	js := strings.Index(accept, "application/json")
	return js < 0 || html < js
}

// ServeOverview serves the dashboard's first page.
func (d *Dashboard) ServeOverview(w http.ResponseWriter, r *http.Request) { d.page(d.overview)(w, r) }

// errSignIn means the control API refused the browser's credentials.
var errSignIn = errors.New("the control API asks for the admin token")

// apiError is an answer of the control API that is not a success.
type apiError struct {
	Status  int
	Message string
}

func (e *apiError) Error() string {
	return fmt.Sprintf("control API answered %d: %s", e.Status, e.Message)
}

// call sends one request to the control API in process, with the browser's
// credentials, and returns the answer's body.
func (d *Dashboard) call(r *http.Request, method, path string, body io.Reader) ([]byte, error) {
	req := httptest.NewRequestWithContext(r.Context(), method, path, body)
	req.Host = r.Host
	req.RemoteAddr = r.RemoteAddr
	for _, h := range []string{"Authorization", "Cookie", "User-Agent"} {
		if v := r.Header.Get(h); v != "" {
			req.Header.Set(h, v)
		}
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Sec-Fetch-Site", "same-origin")
	}
	rec := httptest.NewRecorder()
	d.o.API().ServeHTTP(rec, req)
	if rec.Code == http.StatusUnauthorized || rec.Code == http.StatusForbidden {
		return nil, errSignIn
	}
	if rec.Code >= 300 {
		return nil, &apiError{Status: rec.Code, Message: errorMessage(rec.Body.Bytes())}
	}
	return rec.Body.Bytes(), nil
}
