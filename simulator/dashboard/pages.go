package dashboard

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/pspsim/pspsim/simulator/listing"
	"github.com/pspsim/pspsim/simulator/mountpath"
)

// view is what every page's template gets: the layout's data and the page's.
type view struct {
	// Root is the relative URL of the simulator's root from this page
	// ("./" at `/`, "../" under /dash/): every link is built from it.
	Root string
	// Namespace is the simulator's namespace, "" for the default one.
	Namespace string
	Page      string // the nav entry to highlight
	Title     string
	Clock     clockState
	Version   string
	Query     url.Values
	Data      any
	Error     string
}

type clockState struct {
	Mode          string `json:"mode"`
	Now           string `json:"now"`
	PendingTimers int    `json:"pendingTimers"`
}

// pageFunc fills a page's view; it returns the template to render.
type pageFunc func(r *http.Request, v *view) (string, error)

var tmpl = template.Must(template.New("").Funcs(template.FuncMap{
	"json":     prettyJSON,
	"time":     shortTime,
	"failed":   failedEvent,
	"sysclass": func(s string) string { return "sys-" + strings.ReplaceAll(s, ".", "-") },
	"pathesc":  url.PathEscape,
	"queryesc": url.QueryEscape,
	"join":     strings.Join,
	"dict": func(kv ...any) map[string]any {
		m := map[string]any{}
		for i := 0; i+1 < len(kv); i += 2 {
			m[fmt.Sprint(kv[i])] = kv[i+1]
		}
		return m
	},
	"evlist": func(root string, e []Event) map[string]any { return map[string]any{"Root": root, "Events": e} },
	"evrow":  func(root string, e Event) map[string]any { return map[string]any{"Root": root, "E": e} },
}).ParseFS(assets, "assets/*.html"))

// page wraps a pageFunc: it reads the clock through the control API first
// (which is also the check that the browser may read it), then renders.
func (d *Dashboard) page(fn pageFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		v := &view{Root: rootOf(r), Namespace: d.o.Namespace, Version: d.o.Version, Query: r.URL.Query()}
		body, err := d.call(r, http.MethodGet, "/_sim/clock", nil)
		if errors.Is(err, errSignIn) {
			http.Redirect(w, r, v.Root+"dash/signin?next="+url.QueryEscape(mountpath.Join(r, r.URL.RequestURI())), http.StatusSeeOther)
			return
		}
		if err == nil {
			json.Unmarshal(body, &v.Clock)
		}
		name, err := fn(r, v)
		if errors.Is(err, errSignIn) {
			http.Redirect(w, r, v.Root+"dash/signin?next="+url.QueryEscape(mountpath.Join(r, r.URL.RequestURI())), http.StatusSeeOther)
			return
		}
		status := http.StatusOK
		if err != nil {
			v.Error = err.Error()
			var ae *apiError
			if errors.As(err, &ae) && ae.Status < 500 {
				status = ae.Status
			}
		}
		render(w, status, name, v)
	}
}

func render(w http.ResponseWriter, status int, name string, v *view) {
	var buf bytes.Buffer
	if err := tmpl.ExecuteTemplate(&buf, name, v); err != nil {
		http.Error(w, "dashboard: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'; form-action 'self'")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// rootOf returns the relative URL of the simulator's root: the dashboard's
// pages are `/` and one level under /dash/.
func rootOf(r *http.Request) string {
	if strings.Contains(strings.TrimPrefix(r.URL.Path, "/"), "/") || strings.HasSuffix(r.URL.Path, Prefix) {
		return "../"
	}
	return "./"
}

// pageOf reads the paging parameters of a list (before, limit).
func pageOf(r *http.Request, param string) listing.Page {
	return listing.Page{Before: r.URL.Query().Get(param), Limit: 25}
}

// ---------------------------------------------------------------- overview

func (d *Dashboard) overview(r *http.Request, v *view) (string, error) {
	v.Page, v.Title = "overview", "Overview"
	ctx := r.Context()
	small := listing.Page{Limit: 8}
	gs, err := d.o.Genstore.ListPayments(ctx, small)
	if err != nil {
		return "overview", err
	}
	vm, err := d.o.Gateway.ListPayments(ctx, small)
	if err != nil {
		return "overview", err
	}
	cp, err := d.o.CodePay.ListOrders(ctx, small)
	if err != nil {
		return "overview", err
	}
	terms, err := d.o.CodePay.ListTerminals(ctx)
	if err != nil {
		return "overview", err
	}
	events, err := d.events(r, url.Values{"limit": {"15"}})
	if err != nil {
		return "overview", err
	}
	reverse(events)
	v.Data = map[string]any{"Genstore": gs, "Gateway": vm, "CodePay": cp, "Terminals": terms, "Events": events, "Namespaces": d.namespaces(r, v.Root)}
	return "overview", nil
}

// nsLink is a namespace on the default namespace's overview: the picker.
type nsLink struct {
	Name, Href, Clock string
	Events            int
}

// namespaces lists the server's other namespaces, for the default
// namespace's overview; nil inside a namespace, or when it has none.
func (d *Dashboard) namespaces(r *http.Request, root string) []nsLink {
	if d.o.Namespace != "" {
		return nil
	}
	body, err := d.call(r, http.MethodGet, "/_sim/namespaces", nil)
	if err != nil {
		return nil // a simulator alone serves no namespaces
	}
	var list struct {
		Namespaces []struct {
			Name   string
			Events int
			Clock  struct{ Mode, Now string }
		}
	}
	if json.Unmarshal(body, &list) != nil {
		return nil
	}
	var out []nsLink
	for _, n := range list.Namespaces {
		if n.Name == "default" {
			continue
		}
		out = append(out, nsLink{Name: n.Name, Href: root + "ns/" + url.PathEscape(n.Name) + "/", Clock: n.Clock.Mode + " " + n.Clock.Now, Events: n.Events})
	}
	return out
}

// ---------------------------------------------------------------- journal

func (d *Dashboard) journal(r *http.Request, v *view) (string, error) {
	v.Page, v.Title = "journal", "Journal"
	q := url.Values{"limit": {"200"}}
	for _, k := range []string{"system", "kind", "id"} {
		if s := strings.TrimSpace(r.URL.Query().Get(k)); s != "" {
			q.Set(k, s)
		}
	}
	events, err := d.events(r, q)
	reverse(events)
	stream := url.Values{}
	for k, vs := range q {
		if k != "limit" {
			stream[k] = vs
		}
	}
	var last int64
	if len(events) > 0 {
		last = events[0].Seq
	}
	v.Data = map[string]any{"Events": events, "Stream": stream.Encode(), "Last": last,
		"Systems": []string{"genstore", "codepay", "vmgateway", "threeds", "faults", "sim"}}
	return "journal", err
}

// ---------------------------------------------------------------- systems

func (d *Dashboard) genstore(r *http.Request, v *view) (string, error) {
	v.Page, v.Title = "genstore", "Genstore"
	ctx := r.Context()
	apps, err := d.o.Genstore.ListApps(ctx)
	if err != nil {
		return "genstore", err
	}
	shops, err := d.o.Genstore.ListShops(ctx)
	if err != nil {
		return "genstore", err
	}
	inst, err := d.o.Genstore.ListInstallations(ctx)
	if err != nil {
		return "genstore", err
	}
	pays, err := d.o.Genstore.ListPayments(ctx, pageOf(r, "before"))
	v.Data = map[string]any{"Apps": apps, "Shops": shops, "Installations": inst, "Payments": pays}
	return "genstore", err
}

func (d *Dashboard) codepay(r *http.Request, v *view) (string, error) {
	v.Page, v.Title = "codepay", "CodePay"
	ctx := r.Context()
	ms, err := d.o.CodePay.ListMerchants(ctx)
	if err != nil {
		return "codepay", err
	}
	terms, err := d.o.CodePay.ListTerminals(ctx)
	if err != nil {
		return "codepay", err
	}
	batches, err := d.o.CodePay.ListBatches(ctx, pageOf(r, "batches_before"))
	if err != nil {
		return "codepay", err
	}
	orders, err := d.o.CodePay.ListOrders(ctx, pageOf(r, "before"))
	v.Data = map[string]any{"Merchants": ms, "Terminals": terms, "Batches": batches, "Orders": orders}
	return "codepay", err
}

func (d *Dashboard) gateway(r *http.Request, v *view) (string, error) {
	v.Page, v.Title = "gateway", "Card gateway"
	ctx := r.Context()
	ms, err := d.o.Gateway.ListMerchants(ctx)
	if err != nil {
		return "gateway", err
	}
	pays, err := d.o.Gateway.ListPayments(ctx, pageOf(r, "before"))
	if err != nil {
		return "gateway", err
	}
	refunds, err := d.o.Gateway.ListRefunds(ctx, pageOf(r, "refunds_before"))
	if err != nil {
		return "gateway", err
	}
	sessions, err := d.o.Gateway.ListSessions(ctx, pageOf(r, "sessions_before"))
	if err != nil {
		return "gateway", err
	}
	subs, err := d.o.Gateway.ListSubscriptions(ctx)
	v.Data = map[string]any{"Merchants": ms, "Payments": pays, "Refunds": refunds, "Sessions": sessions, "Subscriptions": subs}
	return "gateway", err
}

// ---------------------------------------------------------------- control

func (d *Dashboard) control(r *http.Request, v *view) (string, error) {
	v.Page, v.Title = "control", "Control"
	var rules struct {
		Rules []map[string]any `json:"rules"`
	}
	var canaries map[string]any
	var actions map[string]any
	for _, c := range []struct {
		path string
		out  any
	}{{"/_sim/faults", &rules}, {"/_sim/canaries", &canaries}, {"/_sim/fault-actions", &actions}} {
		body, err := d.call(r, http.MethodGet, c.path, nil)
		if err != nil {
			return "control", err
		}
		if err := json.Unmarshal(body, c.out); err != nil {
			return "control", err
		}
	}
	v.Data = map[string]any{"Rules": rules.Rules, "Canaries": canaries, "Actions": actions}
	return "control", nil
}

// ---------------------------------------------------------------- helpers

func prettyJSON(v any) string {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return ""
	}
	return string(b)
}

func shortTime(t any) string {
	var tt time.Time
	switch x := t.(type) {
	case time.Time:
		tt = x
	case *time.Time:
		if x == nil {
			return ""
		}
		tt = *x
	case string:
		p, err := time.Parse(time.RFC3339Nano, x)
		if err != nil {
			return x
		}
		tt = p
	default:
		return ""
	}
	return tt.UTC().Format("2006-01-02 15:04:05")
}

func reverse[T any](s []T) {
	for i, j := 0, len(s)-1; i < j; i, j = i+1, j-1 {
		s[i], s[j] = s[j], s[i]
	}
}

func errorMessage(body []byte) string {
	var e struct {
		Error struct {
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &e) == nil && e.Error.Message != "" {
		return e.Error.Message
	}
	s := string(body)
	if len(s) > 200 {
		s = s[:200]
	}
	return s
}
