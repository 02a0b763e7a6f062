package genstore_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/pspsim/pspsim/simulator/genstore/genstoretest"
	"github.com/pspsim/pspsim/simulator/simtest"
)

// TestInstallationByOAuth: the onboarding redirect is signed and carries a
// code; the exchange gives the shop's token with the app's scopes; the code
// is single-use, expires after 10 minutes, belongs to one app; a new
// installation revokes the old token.
func TestInstallationByOAuth(t *testing.T) {
	e := setup(t)
	on := e.app.Requests("onboarding")
	if len(on) != 1 || on[0].SignatureErr != "" || on[0].Query.Get("shopId") != testShop || on[0].Query.Get("shop") != "test-shop" || on[0].ID == "" {
		t.Fatalf("onboarding redirect: %+v", on)
	}
	if e.app.Scopes() != "write_payment,read_payments_transaction,write_payments_transaction" {
		t.Fatalf("scopes %q", e.app.Scopes())
	}
	inst := e.admin("GET", "/_sim/genstore/shops/"+testShop+"/installations", nil, 200)["installations"].([]any)
	if len(inst) != 1 || inst[0].(map[string]any)["ready"] != true {
		t.Fatalf("installations %v", inst)
	}
	ctx := context.Background()
	exchange := func(clientID, secret, code string) genstoretest.Response {
		b, _ := json.Marshal(map[string]string{"client_id": clientID, "client_secret": secret, "code": code})
		r := e.h.Do("POST", "/genstore/api/202412/oauth/access_token", b)
		return genstoretest.Response{Status: r.Status, Body: r.Body}
	}
	// The code of the first installation was used by the app.
	want(t, exchange(e.app.ClientID, e.app.ClientSecret, on[0].ID), 400, "already used")

	newCode := func() string {
		return str(e.admin("POST", "/_sim/genstore/shops/"+testShop+"/installations", map[string]any{"clientId": e.app.ClientID, "followRedirect": false}, 201)["code"])
	}
	code := newCode()
	want(t, exchange(e.app.ClientID, "wrong-secret", code), 401, "client_secret")
	want(t, exchange("nobody", "whatever-secret", code), 401, "client_id")
	want(t, exchange("demo-payment-app", "demo-payment-app-secret", code), 400, "another app")
	want(t, exchange(e.app.ClientID, e.app.ClientSecret, "no-such-code"), 400, "unknown")
	want(t, exchange(e.app.ClientID, e.app.ClientSecret, ""), 422, "code")

	e.advance(10*time.Minute - time.Second)
	old := e.app.Token()
	r := exchange(e.app.ClientID, e.app.ClientSecret, code)
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	json.Unmarshal(r.Body, &tok)
	if r.Status != 200 || tok.AccessToken == "" || tok.AccessToken == old {
		t.Fatalf("exchange within 10 minutes: %s", r)
	}
	// The old token is revoked; the new one works.
	if res, _ := e.app.Ready(ctx, true); res.Status != 401 {
		t.Fatalf("old token after a new installation: %v", res)
	}
	e.app.SetToken(tok.AccessToken)
	if res, _ := e.app.Ready(ctx, true); res.Status != 200 {
		t.Fatalf("new token: %v", res)
	}

	late := newCode()
	e.advance(10 * time.Minute)
	want(t, exchange(e.app.ClientID, e.app.ClientSecret, late), 400, "expired")

	if n := len(e.h.Sim.Journal().Query(journalFilter("installation.token_issued"))); n != 2 {
		t.Fatalf("%d installation.token_issued events", n)
	}
}

// TestInstallationWithoutOnboardingURL: an app without onboardingUrl gets a
// code to exchange by hand; following a redirect is refused.
func TestInstallationWithoutOnboardingURL(t *testing.T) {
	e := setup(t)
	res := e.h.Do("POST", "/_sim/genstore/shops/1001/installations", map[string]any{"clientId": "demo-payment-app", "followRedirect": true})
	if res.Status != 409 {
		t.Fatalf("follow without onboardingUrl: %d %s", res.Status, res.Body)
	}
	v := e.admin("POST", "/_sim/genstore/shops/1001/installations", map[string]any{"clientId": "demo-payment-app"}, 201)
	if v["code"] == nil || v["onboardingUrl"] != nil || v["redirect"] != nil {
		t.Fatalf("%v", v)
	}
	for _, c := range []struct {
		path string
		body map[string]any
		code int
	}{
		{"/_sim/genstore/shops/9999/installations", map[string]any{"clientId": "demo-payment-app"}, 404},
		{"/_sim/genstore/shops/1001/installations", map[string]any{"clientId": "nobody"}, 404},
		{"/_sim/genstore/shops/1001/installations", map[string]any{}, 400},
	} {
		if r := e.h.Do("POST", c.path, c.body); r.Status != c.code {
			t.Errorf("%s %v: %d %s", c.path, c.body, r.Status, r.Body)
		}
	}
}

// TestAppsAndShopsAdmin: registration rules, updates, listings.
func TestAppsAndShopsAdmin(t *testing.T) {
	e := setup(t)
	for _, c := range []struct {
		name  string
		body  map[string]any
		code  int
		field string
	}{
		{"duplicate", e.app.Registration(), 409, "clientId"},
		{"short secret", map[string]any{"clientId": "x1", "clientSecret": "short"}, 400, "clientSecret"},
		{"bad key", map[string]any{"clientId": "x2", "clientSecret": "long-enough", "publicKey": "AAAA"}, 400, "publicKey"},
		{"signed url", map[string]any{"clientId": "x3", "clientSecret": "long-enough", "endpoints": map[string]any{"paymentUrl": "http://a.example/p?hmac=1"}}, 400, "endpoints.paymentUrl"},
		{"relative url", map[string]any{"clientId": "x4", "clientSecret": "long-enough", "endpoints": map[string]any{"paymentUrl": "/p"}}, 400, "endpoints.paymentUrl"},
		{"unknown scope", map[string]any{"clientId": "x5", "clientSecret": "long-enough", "scopes": []string{"read_orders"}}, 400, "scopes[0]"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := e.h.Do("POST", "/_sim/genstore/apps", c.body)
			var m struct{ Error struct{ Field string } }
			json.Unmarshal(r.Body, &m)
			if r.Status != c.code || m.Error.Field != c.field {
				t.Fatalf("%d %s (want %d naming %s)", r.Status, r.Body, c.code, c.field)
			}
		})
	}
	v := e.admin("PATCH", "/_sim/genstore/apps/"+e.app.ClientID, map[string]any{"endpoints": map[string]any{"voidUrl": "", "refundQueryUrl": nil}, "name": "Renamed"}, 200)
	if simtest.Field(v, "endpoints.voidUrl") != nil || simtest.Field(v, "endpoints.refundQueryUrl") != nil || v["name"] != "Renamed" || simtest.Field(v, "endpoints.paymentUrl") == nil {
		t.Fatalf("after patch: %v", v)
	}
	if strings.Contains(str(v), e.app.ClientSecret) {
		t.Fatal("the admin API shows the client secret")
	}
	id := e.paid("10.00")
	if r := e.h.Do("POST", "/_sim/genstore/shops/"+testShop+"/payments/"+id+"/refunds", map[string]any{}); r.Status != 201 {
		t.Fatalf("refund: %d %s", r.Status, r.Body)
	}
	auth := e.authorized("10.00")
	if r := e.h.Do("POST", "/_sim/genstore/shops/"+testShop+"/payments/"+auth+"/voids", nil); r.Status != 409 || !strings.Contains(string(r.Body), "voidUrl") {
		t.Fatalf("void without voidUrl: %d %s", r.Status, r.Body)
	}
	apps := e.admin("GET", "/_sim/genstore/apps", nil, 200)["apps"].([]any)
	shops := e.admin("GET", "/_sim/genstore/shops", nil, 200)["shops"].([]any)
	if len(apps) != 2 || len(shops) != 3 {
		t.Fatalf("%d apps, %d shops", len(apps), len(shops))
	}
	for _, c := range []struct {
		body  map[string]any
		code  int
		field string
	}{
		{map[string]any{"shop": "test-shop"}, 409, "shopId"},
		{map[string]any{"shop": "Bad Name"}, 400, "shop"},
		{map[string]any{"shop": "ok-shop", "currency": "ABC"}, 400, "currency"},
		{map[string]any{"shop": "ok-shop", "timezone": "Mars/Olympus"}, 400, "timezone"},
		{map[string]any{"shop": "ok-shop", "feePlan": map[string]any{"percentBasisPoints": 10001, "fixedMinor": 0}}, 400, "feePlan.percentBasisPoints"},
	} {
		r := e.h.Do("POST", "/_sim/genstore/shops", c.body)
		var m struct{ Error struct{ Field string } }
		json.Unmarshal(r.Body, &m)
		if r.Status != c.code || m.Error.Field != c.field {
			t.Errorf("%v: %d %s (want %d naming %s)", c.body, r.Status, r.Body, c.code, c.field)
		}
	}
	sh := e.admin("POST", "/_sim/genstore/shops", map[string]any{"shop": "fresh-shop"}, 201)
	if sh["currency"] != "USD" || sh["testMode"] != true || simtest.Field(sh, "feePlan.percentBasisPoints") != float64(290) || len(str(sh["shopId"])) != 8 {
		t.Fatalf("defaults: %v", sh)
	}
	if r := e.h.Do("POST", "/_sim/genstore/shops/"+str(sh["shopId"])+"/payments", map[string]any{"amount": "1.00"}); r.Status != 409 || !strings.Contains(string(r.Body), "no payment app is installed") {
		t.Fatalf("payment on a shop without apps: %d %s", r.Status, r.Body)
	}
}
