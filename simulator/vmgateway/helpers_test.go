package vmgateway_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sync/atomic"
	"testing"

	"github.com/pspsim/pspsim/simulator/journal"
	"github.com/pspsim/pspsim/simulator/simtest"
)

// gw is a simulator under test with a sandbox token of the demo merchant.
type gw struct {
	*simtest.Harness
	tok string
	n   atomic.Int64
}

func newGW(t testing.TB, opts ...simtest.Option) *gw {
	t.Helper()
	h := simtest.New(t, opts...)
	return &gw{Harness: h, tok: h.VMToken("sandbox")}
}

// order returns a fresh orderNo.
func (g *gw) order() string { return fmt.Sprintf("T%08d", g.n.Add(1)) }

// post sends an authenticated gateway request.
func (g *gw) post(path string, body any) simtest.Response {
	g.T.Helper()
	return g.Do("POST", "/vm/v1"+path, body, "Authorization", "Bearer "+g.tok)
}

func (g *gw) patch(path string, body any) simtest.Response {
	g.T.Helper()
	return g.Do("PATCH", "/vm/v1"+path, body, "Authorization", "Bearer "+g.tok)
}

// must checks the status and returns the JSON body.
func must(t testing.TB, r simtest.Response, status int) map[string]any {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status %d, want %d: %s", r.Status, status, r.Body)
	}
	return r.JSON()
}

// wantError checks an error envelope.
func wantError(t testing.TB, r simtest.Response, status int, code, field string) {
	t.Helper()
	m := r.JSON()
	if r.Status != status || m["code"] != code || (field != "" && m["field"] != field) || m["traceId"] == nil {
		t.Fatalf("want %d %s %s, got %d %s", status, code, field, r.Status, r.Body)
	}
}

func device() map[string]any {
	return map[string]any{
		"browser": map[string]any{"acceptHeader": "text/html", "userAgent": "Mozilla/5.0 (test)", "javascriptEnable": true,
			"colorDepth": "24", "screenHeight": "800", "screenWidth": "1200", "timeZone": "0"},
		"clientIp": "10.1.1.1", "language": "en-US",
	}
}

// cardPayment builds a createPayment body.
func cardPayment(orderNo, card string, mods ...func(map[string]any)) map[string]any {
	b := map[string]any{
		"amount": "19.99", "currency": "USD", "orderNo": orderNo, "paymentMethodType": "card", "description": "test order",
		"deviceInfo": device(), "threeDsMode": "auto",
		"card": map[string]any{"cardNo": card, "expiryMonth": "12", "expiryYear": "2030", "cvc": "123", "captureMethod": "auto"},
	}
	for _, m := range mods {
		m(b)
	}
	return b
}

func (g *gw) pay(orderNo, card string, mods ...func(map[string]any)) map[string]any {
	g.T.Helper()
	return must(g.T, g.post("/payments", cardPayment(orderNo, card, mods...)), 200)
}

func (g *gw) inquire(orderNo string) map[string]any {
	g.T.Helper()
	return must(g.T, g.post("/payments/inquiry", map[string]any{"orderNo": orderNo}), 200)
}

// noRedirect shows redirects instead of following them.
var noRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// completeChallenge posts the challenge page's form and returns the Location.
func (g *gw) completeChallenge(challengeURL, action, otp string) string {
	g.T.Helper()
	resp, err := noRedirect.PostForm(challengeURL, url.Values{"action": {action}, "otp": {otp}})
	if err != nil {
		g.T.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		g.T.Fatalf("challenge post: %d", resp.StatusCode)
	}
	return resp.Header.Get("Location")
}

// events returns journal events of a kind (prefix) about an id.
func (g *gw) events(kind string, ids map[string]string) []journal.Event {
	return g.Sim.Journal().Query(journal.Filter{Kind: kind, IDs: ids})
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// adminError checks an admin API error ({"error": {"code", ...}}).
func adminError(t testing.TB, r simtest.Response, status int, code string) {
	t.Helper()
	e, _ := r.JSON()["error"].(map[string]any)
	if r.Status != status || e["code"] != code {
		t.Fatalf("want %d %s, got %d %s", status, code, r.Status, r.Body)
	}
}

// wallet builds a wallet createPayment body.
func wallet(orderNo, method, productType string) map[string]any {
	b := map[string]any{"amount": "88.00", "currency": "SGD", "orderNo": orderNo, "paymentMethodType": method, "deviceInfo": map[string]any{"clientIp": "10.1.1.1"}}
	obj := map[string]any{}
	if productType != "" {
		obj["productType"] = productType
	}
	if productType == "pay" {
		obj["authCode"] = "120061098828009406"
	}
	b[method] = obj
	return b
}
