package host_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"runtime"
	"strings"
	"testing"
	"time"
	"weak"

	"github.com/pspsim/pspsim/simulator"
	"github.com/pspsim/pspsim/simulator/host"
	"github.com/pspsim/pspsim/simulator/simtest"
)

// shopConfig is a namespace config whose fixture shop 9001 has a name of
// its own: two namespaces with it hold conflicting fixtures.
func shopConfig(name, zone string) string {
	return fmt.Sprintf("genstore:\n  shops:\n    - shopId: \"9001\"\n      shop: %s\n      name: %s\n      currency: USD\n      testMode: true\n      timezone: %s\n", name, name, zone)
}

func create(t *testing.T, h *simtest.Harness, body map[string]any) map[string]any {
	t.Helper()
	r := h.Do("POST", "/_sim/namespaces", body)
	if r.Status != http.StatusCreated {
		t.Fatalf("create %v: %d %s", body, r.Status, r.Body)
	}
	return r.JSON()
}

func vmToken(t *testing.T, h *simtest.Harness, prefix string) string {
	t.Helper()
	r := h.Do("POST", prefix+"/vm/v1/auth/token", map[string]string{"appId": "086666075137001", "secret": "184E52CF5365D2D7EE8EDA************"})
	if r.Status != http.StatusOK {
		t.Fatalf("%s token: %d %s", prefix, r.Status, r.Body)
	}
	return r.JSON()["accessToken"].(string)
}

func payment(orderNo, card string) map[string]any {
	return map[string]any{
		"amount": "19.99", "currency": "USD", "orderNo": orderNo, "paymentMethodType": "card", "description": "ns test",
		"deviceInfo": map[string]any{"browser": map[string]any{"acceptHeader": "text/html", "userAgent": "Mozilla/5.0 (test)", "javascriptEnable": true,
			"colorDepth": "24", "screenHeight": "800", "screenWidth": "1200", "timeZone": "0"}, "clientIp": "10.1.1.1", "language": "en-US"},
		"threeDsMode": "auto",
		"card":        map[string]any{"cardNo": card, "expiryMonth": "12", "expiryYear": "2030", "cvc": "123", "captureMethod": "auto"},
	}
}

func events(t *testing.T, h *simtest.Harness, prefix string) []map[string]any {
	t.Helper()
	r := h.Do("GET", prefix+"/_sim/events?limit=1000", nil)
	if r.Status != 200 {
		t.Fatalf("%s events: %d %s", prefix, r.Status, r.Body)
	}
	var out struct{ Events []map[string]any }
	json.Unmarshal(r.Body, &out)
	return out.Events
}

func clockNow(t *testing.T, h *simtest.Harness, prefix string) string {
	t.Helper()
	r := h.Do("GET", prefix+"/_sim/clock", nil)
	now, _ := r.JSON()["now"].(string)
	return now
}

// TestNamespacesAreIsolated is the proof: two namespaces of one
// server with conflicting fixtures, clocks at different times and different
// fault rules each see only their own objects, events and faults; a reset or
// a clock advance in one changes nothing in the other; a payment id from one
// is 404 in the other; the default namespace at the root URLs is untouched.
func TestNamespacesAreIsolated(t *testing.T) {
	h, _ := simtest.NewHosted(t, nil)
	create(t, h, map[string]any{"name": "alpha", "clock": "sim", "clockStart": "2026-01-01T00:00:00Z", "seed": 1, "config": shopConfig("alpha-shop", "Europe/London")})
	create(t, h, map[string]any{"name": "beta", "clock": "sim", "clockStart": "2031-06-01T12:00:00Z", "seed": 1, "config": shopConfig("beta-shop", "Asia/Tokyo")})

	// Conflicting fixtures: the same shop id, each namespace its own.
	for ns, want := range map[string]string{"alpha": "alpha-shop", "beta": "beta-shop"} {
		r := h.Do("GET", "/ns/"+ns+"/_sim/genstore/shops/9001", nil)
		if r.Status != 200 || r.JSON()["shop"] != want {
			t.Fatalf("%s shop 9001: %d %s", ns, r.Status, r.Body)
		}
	}
	if r := h.Do("GET", "/_sim/genstore/shops/9001", nil); r.Status != 404 {
		t.Fatalf("default namespace sees shop 9001: %d %s", r.Status, r.Body)
	}

	// Clocks: each its own, advanced alone.
	if a, b := clockNow(t, h, "/ns/alpha"), clockNow(t, h, "/ns/beta"); a != "2026-01-01T00:00:00Z" || b != "2031-06-01T12:00:00Z" {
		t.Fatalf("clocks: alpha %s beta %s", a, b)
	}
	if r := h.Do("POST", "/ns/alpha/_sim/clock/advance", map[string]string{"by": "2h"}); r.Status != 200 {
		t.Fatalf("advance: %d %s", r.Status, r.Body)
	}
	if a, b, d := clockNow(t, h, "/ns/alpha"), clockNow(t, h, "/ns/beta"), clockNow(t, h, ""); a != "2026-01-01T02:00:00Z" || b != "2031-06-01T12:00:00Z" || d != simtest.Start.Format(time.RFC3339) {
		t.Fatalf("after advancing alpha: alpha %s beta %s default %s", a, b, d)
	}

	// Faults: a rule in alpha refuses its tokens; beta's are unaffected.
	rule := map[string]any{"id": "no-tokens", "match": map[string]any{"operation": "createAccessToken"}, "action": map[string]any{"type": "status", "status": 503}}
	if r := h.Do("POST", "/ns/alpha/_sim/faults", rule); r.Status != 201 || r.Header.Get("Location") != "/ns/alpha/_sim/faults/no-tokens" {
		t.Fatalf("fault rule: %d %s (Location %q)", r.Status, r.Body, r.Header.Get("Location"))
	}
	tokenReq := map[string]string{"appId": "086666075137001", "secret": "184E52CF5365D2D7EE8EDA************"}
	if r := h.Do("POST", "/ns/alpha/vm/v1/auth/token", tokenReq); r.Status != 503 {
		t.Fatalf("alpha's fault did not fire: %d %s", r.Status, r.Body)
	}
	if r := h.Do("GET", "/ns/beta/_sim/faults/no-tokens", nil); r.Status != 404 {
		t.Fatalf("beta sees alpha's rule: %d", r.Status)
	}
	tok := vmToken(t, h, "/ns/beta")

	// A payment in beta: 404 in alpha (after its rule goes) and in the default namespace.
	if r := h.Do("DELETE", "/ns/alpha/_sim/faults/no-tokens", nil); r.Status != 200 {
		t.Fatalf("delete alpha's rule: %d %s", r.Status, r.Body)
	}
	alphaTok := vmToken(t, h, "/ns/alpha")
	r := h.Do("POST", "/ns/beta/vm/v1/payments", payment("NS-ORDER-1", "4000123456000019"), "Authorization", "Bearer "+tok)
	if r.Status != 200 {
		t.Fatalf("beta payment: %d %s", r.Status, r.Body)
	}
	tradeNo := simtest.FieldString(r.JSON(), "tradeNo")
	if r := h.Do("GET", "/ns/beta/_sim/vmgateway/payments", nil); r.Status != 200 || !strings.Contains(string(r.Body), tradeNo) {
		t.Fatalf("beta does not list its payment: %d %s", r.Status, r.Body)
	}
	for _, e := range events(t, h, "/ns/alpha") {
		if strings.Contains(fmt.Sprint(e), tradeNo) {
			t.Fatalf("alpha's journal mentions beta's payment: %v", e)
		}
	}
	if r := h.Do("POST", "/ns/alpha/vm/v1/payments/inquiry", map[string]any{"tradeNo": tradeNo}, "Authorization", "Bearer "+alphaTok); r.Status != 404 {
		t.Fatalf("alpha finds beta's payment %s: %d %s", tradeNo, r.Status, r.Body)
	}
	if r := h.Do("POST", "/vm/v1/payments/inquiry", map[string]any{"tradeNo": tradeNo}, "Authorization", "Bearer "+h.VMToken("sandbox")); r.Status != 404 {
		t.Fatalf("the default namespace finds beta's payment %s: %d %s", tradeNo, r.Status, r.Body)
	}

	// Events: each journal holds its own, each event names its namespace.
	for _, ns := range []string{"alpha", "beta"} {
		for _, e := range events(t, h, "/ns/"+ns) {
			if e["namespace"] != ns {
				t.Fatalf("%s journal holds %v", ns, e)
			}
		}
	}
	for _, e := range events(t, h, "") {
		if e["namespace"] != simulator.DefaultNamespace {
			t.Fatalf("default journal holds %v", e)
		}
	}

	// A reset of alpha leaves beta's payment, shop, clock and journal.
	before := len(events(t, h, "/ns/beta"))
	if r := h.Do("POST", "/ns/alpha/_sim/reset", nil); r.Status != 200 {
		t.Fatalf("reset alpha: %d %s", r.Status, r.Body)
	}
	if got := len(events(t, h, "/ns/beta")); got != before {
		t.Fatalf("beta's journal went from %d to %d events when alpha was reset", before, got)
	}
	if r := h.Do("POST", "/ns/beta/vm/v1/payments/inquiry", map[string]any{"tradeNo": tradeNo}, "Authorization", "Bearer "+tok); r.Status != 200 {
		t.Fatalf("beta lost its payment when alpha was reset: %d %s", r.Status, r.Body)
	}
	if b := clockNow(t, h, "/ns/beta"); b != "2031-06-01T12:00:00Z" {
		t.Fatalf("beta's clock: %s", b)
	}
}

// TestNamespaceURLsStayInside: every URL a namespace hands out — the 3-D
// Secure challenge, the form on its page, the redirect back, the hosted
// cashier — carries /ns/{name}, so a browser or app following them stays
// in the namespace.
func TestNamespaceURLsStayInside(t *testing.T) {
	h, _ := simtest.NewHosted(t, nil)
	create(t, h, map[string]any{"name": "pages"})
	tok := vmToken(t, h, "/ns/pages")
	r := h.Do("POST", "/ns/pages/vm/v1/payments", payment("NS-3DS-1", "5100123456000064"), "Authorization", "Bearer "+tok)
	challenge := simtest.FieldString(r.JSON(), "nextAction.redirectUrl")
	if !strings.HasPrefix(challenge, h.URL+"/ns/pages/3ds/challenge/") {
		t.Fatalf("challenge URL %q is not inside the namespace (%d %s)", challenge, r.Status, r.Body)
	}
	page := get(t, challenge)
	u, _ := url.Parse(challenge)
	if !strings.Contains(page, `action="`+u.Path+`"`) {
		t.Fatalf("the challenge form does not post inside the namespace:\n%s", page)
	}
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noRedirect.PostForm(challenge, url.Values{"otp": {"123456"}, "action": {"submit"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	back := resp.Header.Get("Location")
	if !strings.Contains(back, "/ns/pages/vm/return/") {
		t.Fatalf("the challenge sends the buyer to %q", back)
	}
	ret, err := noRedirect.Get(resolve(challenge, back))
	if err != nil {
		t.Fatal(err)
	}
	ret.Body.Close()
	if ret.StatusCode != 200 && ret.StatusCode != http.StatusSeeOther {
		t.Fatalf("return page: %d", ret.StatusCode)
	}
	// The default namespace knows nothing of that challenge.
	if resp, err := http.Get(h.URL + u.Path[len("/ns/pages"):]); err != nil || resp.StatusCode != 404 {
		t.Fatalf("the default namespace serves the namespace's challenge page: %v %v", resp.StatusCode, err)
	}
	// The dashboard works under the prefix, with links that stay inside.
	req, _ := http.NewRequest("GET", h.URL+"/ns/pages/", nil)
	req.Header.Set("Accept", "text/html")
	dash, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(dash.Body)
	dash.Body.Close()
	if dash.StatusCode != 200 || !strings.Contains(string(body), "<html") || strings.Contains(string(body), `href="/`) {
		t.Fatalf("dashboard under /ns/pages/: %d %s", dash.StatusCode, body)
	}
	if !strings.Contains(string(body), `id="namespace"`) || !strings.Contains(string(body), "namespace pages") {
		t.Fatalf("the namespace's dashboard does not say which namespace it is:\n%s", body)
	}
	// The default namespace's overview is the picker.
	req, _ = http.NewRequest("GET", h.URL+"/", nil)
	req.Header.Set("Accept", "text/html")
	root, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(root.Body)
	root.Body.Close()
	if !strings.Contains(string(body), `id="namespaces"`) || !strings.Contains(string(body), `href="./ns/pages/"`) {
		t.Fatalf("the default dashboard lists no namespace:\n%s", body)
	}
	if resp, err := noRedirect.Get(h.URL + "/ns/pages"); err != nil || resp.StatusCode != http.StatusPermanentRedirect || resp.Header.Get("Location") != "/ns/pages/" {
		t.Fatalf("/ns/pages without its slash: %v %v", resp, err)
	}
}

func get(t *testing.T, u string) string {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d %s", u, resp.StatusCode, b)
	}
	return string(b)
}

func resolve(base, ref string) string {
	b, _ := url.Parse(base)
	r, _ := b.Parse(ref)
	return r.String()
}

// TestNamespaceLifecycle: create (named, generated), list, inspect, refuse
// duplicates, the default name and more than Max, delete, auto-creation on
// first use, idle expiry; the namespaces API exists at the root only.
func TestNamespaceLifecycle(t *testing.T) {
	now := time.Date(2026, 5, 1, 8, 0, 0, 0, time.UTC)
	h, hst := simtest.NewHosted(t, func(o *host.Options) {
		o.Max = 3
		o.Idle = 10 * time.Minute
		o.Now = func() time.Time { return now }
	})
	a := create(t, h, map[string]any{"name": "ci-1", "retention": map[string]any{"events": 500}})
	if a["url"] != h.URL+"/ns/ci-1" || a["retention"].(map[string]any)["events"] != json.Number("500") || a["expiresAt"] != "2026-05-01T08:10:00Z" {
		t.Fatalf("created: %v", a)
	}
	rg := h.Do("POST", "/_sim/namespaces", nil)
	if rg.Status != 201 {
		t.Fatalf("create without a body: %d %s", rg.Status, rg.Body)
	}
	gen := rg.JSON()
	name, _ := gen["name"].(string)
	if !strings.HasPrefix(name, "ns-") || gen["url"] != h.URL+"/ns/"+name {
		t.Fatalf("generated: %v", gen)
	}
	for _, c := range []struct {
		body   map[string]any
		status int
		field  string
	}{
		{map[string]any{"name": "ci-1"}, 409, "name"},
		{map[string]any{"name": "default"}, 409, "name"},
		{map[string]any{"name": "Bad_Name"}, 400, "name"},
		{map[string]any{"retention": map[string]any{"events": host.DefaultRetainEvents + 1}}, 400, "retention.events"},
		{map[string]any{"config": "server:\n  readTimeout: 1s\n"}, 400, "config"},
		{map[string]any{"config": "genstore: [not, a, section\n"}, 400, "config"},
		{map[string]any{"clockStart": "2026-01-01T00:00:00Z", "clock": "real"}, 400, "clockStart"},
	} {
		r := h.Do("POST", "/_sim/namespaces", c.body)
		var e struct{ Error struct{ Field string } }
		json.Unmarshal(r.Body, &e)
		if r.Status != c.status || e.Error.Field != c.field {
			t.Errorf("create %v: %d %s, want %d on %s", c.body, r.Status, r.Body, c.status, c.field)
		}
	}
	create(t, h, map[string]any{"name": "ci-3"})
	if r := h.Do("POST", "/_sim/namespaces", map[string]any{"name": "ci-4"}); r.Status != http.StatusTooManyRequests {
		t.Fatalf("a fourth namespace over Max 3: %d %s", r.Status, r.Body)
	}
	r := h.Do("GET", "/_sim/namespaces", nil)
	var list struct {
		Namespaces []map[string]any
		Max        int
	}
	json.Unmarshal(r.Body, &list)
	if len(list.Namespaces) != 4 || list.Namespaces[0]["name"] != "default" || list.Max != 3 {
		t.Fatalf("list: %s", r.Body)
	}
	if r := h.Do("GET", "/_sim/namespaces/ci-1", nil); r.Status != 200 || r.JSON()["name"] != "ci-1" {
		t.Fatalf("get: %d %s", r.Status, r.Body)
	}
	// The namespaces API is the server's, not a namespace's.
	if r := h.Do("GET", "/ns/ci-1/_sim/namespaces", nil); r.Status != 404 {
		t.Fatalf("namespaces inside a namespace: %d %s", r.Status, r.Body)
	}
	// Delete: gone for requests, and the default cannot go.
	if r := h.Do("DELETE", "/_sim/namespaces/ci-3", nil); r.Status != 200 {
		t.Fatalf("delete: %d %s", r.Status, r.Body)
	}
	if r := h.Do("GET", "/ns/ci-3/_sim/health", nil); r.Status != 404 {
		t.Fatalf("a deleted namespace answers: %d", r.Status)
	}
	if r := h.Do("DELETE", "/_sim/namespaces/default", nil); r.Status != 409 {
		t.Fatalf("delete default: %d %s", r.Status, r.Body)
	}
	if r := h.Do("GET", "/ns/nope/_sim/health", nil); r.Status != 404 {
		t.Fatalf("an unknown namespace answers without Auto: %d", r.Status)
	}
	// /ns/default/ is the default namespace.
	if r := h.Do("GET", "/ns/default/_sim/clock", nil); r.Status != 200 || r.JSON()["now"] != simtest.Start.Format(time.RFC3339) {
		t.Fatalf("/ns/default: %d %s", r.Status, r.Body)
	}
	// Idle expiry: ci-1 is used 6 minutes later, the generated one is not.
	now = now.Add(6 * time.Minute)
	h.Do("GET", "/ns/ci-1/_sim/health", nil)
	now = now.Add(5 * time.Minute)
	if got := hst.Expire(now); len(got) != 1 || got[0] != name {
		t.Fatalf("expired %v, want [%s]", got, name)
	}
	if got := hst.Names(); len(got) != 1 || got[0] != "ci-1" {
		t.Fatalf("left %v", got)
	}
	var kinds []string
	for _, e := range events(t, h, "") {
		if k := e["kind"].(string); strings.HasPrefix(k, "namespace.") {
			kinds = append(kinds, k+" "+e["ids"].(map[string]any)["namespace"].(string))
		}
	}
	if want := "namespace.created ci-1,namespace.created " + name + ",namespace.created ci-3,namespace.deleted ci-3,namespace.expired " + name; strings.Join(kinds, ",") != want {
		t.Fatalf("default journal: %v, want %s", kinds, want)
	}
}

// TestNamespaceAuto: with Auto, the first request to /ns/{name}/… creates
// it; concurrent first requests share one namespace.
func TestNamespaceAuto(t *testing.T) {
	h, hst := simtest.NewHosted(t, func(o *host.Options) { o.Auto = true })
	done := make(chan int, 8)
	for range 8 {
		go func() {
			resp, err := http.Get(h.URL + "/ns/auto-1/_sim/health")
			if err != nil {
				done <- 0
				return
			}
			resp.Body.Close()
			done <- resp.StatusCode
		}()
	}
	for range 8 {
		if s := <-done; s != 200 {
			t.Fatalf("first use: %d", s)
		}
	}
	if got := hst.Names(); len(got) != 1 || got[0] != "auto-1" {
		t.Fatalf("namespaces: %v", got)
	}
	if r := h.Do("GET", "/ns/Not_A_Name/_sim/health", nil); r.Status != 404 {
		t.Fatalf("a bad name: %d", r.Status)
	}
}

// TestDeletedNamespaceIsFreed: deleting a namespace that did work — a
// payment, a journal, a pending timer on a real clock — leaves nothing
// that keeps its simulator alive: the collector frees it.
func TestDeletedNamespaceIsFreed(t *testing.T) {
	h, hst := simtest.NewHosted(t, nil)
	create(t, h, map[string]any{"name": "gone", "clock": "real"})
	tok := vmToken(t, h, "/ns/gone")
	for i := range 20 {
		h.Do("POST", "/ns/gone/vm/v1/payments", payment(fmt.Sprintf("FREE-%d", i), "4000123456000019"), "Authorization", "Bearer "+tok)
	}
	// A live event stream, open while the namespace is deleted, ends.
	stream, err := http.Get(h.URL + "/ns/gone/_sim/events/stream")
	if err != nil {
		t.Fatal(err)
	}
	wp := weak.Make(hst.Get("gone"))
	if r := h.Do("DELETE", "/_sim/namespaces/gone", nil); r.Status != 200 {
		t.Fatalf("delete: %d %s", r.Status, r.Body)
	}
	io.Copy(io.Discard, stream.Body) // returns once the stream ends
	stream.Body.Close()
	h.Server.CloseClientConnections()
	simtest.Eventually(t, "the deleted namespace's simulator is freed", func() bool {
		runtime.GC()
		return wp.Value() == nil
	})
}
