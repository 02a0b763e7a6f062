package vmgateway_test

import (
	"strings"
	"testing"
	"time"

	"github.com/pspsim/pspsim/simulator/simtest"
)

func TestTokensExpireOnTheClockAndCanBeRevoked(t *testing.T) {
	g := newGW(t)
	r := g.Do("POST", "/vm/v1/auth/token", map[string]string{"appId": "086666075137001", "secret": "184E52CF5365D2D7EE8EDA************"})
	tok := must(t, r, 200)
	if tok["tokenType"] != "Bearer" || tok["expiresIn"] != nil && simtest.FieldString(tok, "expiresIn") != "7200" || tok["expiresAt"] != "2026-11-22T12:00:00Z" || tok["environment"] != "sandbox" {
		t.Fatalf("%v", tok)
	}
	orderNo := g.order()
	g.pay(orderNo, "4000123456000019")
	for _, c := range []struct {
		name, header string
	}{{"none", ""}, {"not bearer", "Basic abc"}, {"unknown", "Bearer vm_s_nope"}} {
		r := g.Do("POST", "/vm/v1/payments/inquiry", map[string]any{"orderNo": orderNo}, "Authorization", c.header)
		wantError(t, r, 401, "UNAUTHORIZED", "")
	}
	g.Advance(2*time.Hour - time.Second)
	g.inquire(orderNo)
	g.Advance(time.Second)
	r = g.post("/payments/inquiry", map[string]any{"orderNo": orderNo})
	wantError(t, r, 401, "UNAUTHORIZED", "")
	if !strings.Contains(string(r.Body), "expired") {
		t.Fatalf("%s", r.Body)
	}
	// A bad body from an unauthenticated caller learns nothing about the body.
	wantError(t, g.post("/payments", map[string]any{"nonsense": true}), 401, "UNAUTHORIZED", "")

	g.tok = g.VMToken("sandbox")
	second := g.VMToken("sandbox")
	live := g.VMToken("live")
	// Each token is read (and its value kept for the next requests) before
	// it is revoked: the revocation is seen all the same.
	for _, tk := range []string{g.tok, second} {
		must(t, g.Do("POST", "/vm/v1/payments/inquiry", map[string]any{"orderNo": orderNo}, "Authorization", "Bearer "+tk), 200)
	}
	if rv := must(t, g.Do("POST", "/_sim/vmgateway/tokens/revoke", map[string]any{"appId": "086666075137001", "environment": "sandbox"}), 200); simtest.FieldString(rv, "revoked") != "4" {
		t.Fatalf("%v", rv)
	}
	for _, tk := range []string{g.tok, second} {
		r := g.Do("POST", "/vm/v1/payments/inquiry", map[string]any{"orderNo": orderNo}, "Authorization", "Bearer "+tk)
		wantError(t, r, 401, "UNAUTHORIZED", "")
		if !strings.Contains(string(r.Body), "revoked") {
			t.Fatalf("%s", r.Body)
		}
	}
	// The live token still works: its environment has no such order.
	wantError(t, g.Do("POST", "/vm/v1/payments/inquiry", map[string]any{"orderNo": orderNo}, "Authorization", "Bearer "+live), 404, "NOT_FOUND", "orderNo")
	must(t, g.Do("POST", "/_sim/vmgateway/tokens/revoke", map[string]any{"accessToken": live}), 200)
	wantError(t, g.Do("POST", "/vm/v1/payments/inquiry", map[string]any{"orderNo": orderNo}, "Authorization", "Bearer "+live), 401, "UNAUTHORIZED", "")
	adminError(t, g.Do("POST", "/_sim/vmgateway/tokens/revoke", map[string]any{}), 400, "missing")
	if len(g.events("auth.token_revoked", nil)) != 5 {
		t.Fatal("revocations not journaled")
	}
}

// TestEnvironmentsAreSeparateAndRecorded: sandbox and live share no data,
// and every operation records the environment of its credentials.
func TestEnvironmentsAreSeparateAndRecorded(t *testing.T) {
	g := newGW(t)
	orderNo := g.order()
	sb := g.pay(orderNo, "4000123456000019")
	live := g.VMToken("live")
	lp := must(t, g.Do("POST", "/vm/v1/payments", cardPayment(orderNo, "4000123456000019"), "Authorization", "Bearer "+live), 200)
	if sb["environment"] != "sandbox" || lp["environment"] != "live" || sb["tradeNo"] == lp["tradeNo"] {
		t.Fatalf("%v %v", sb, lp)
	}
	wantError(t, g.Do("POST", "/vm/v1/payments/inquiry", map[string]any{"tradeNo": sb["tradeNo"]}, "Authorization", "Bearer "+live), 404, "NOT_FOUND", "tradeNo")
	envs := map[string]bool{}
	for _, e := range g.events("api.request", map[string]string{"orderNo": orderNo}) {
		envs[e.Data["environment"].(string)] = true
		if e.IDs["appId"] != "086666075137001" || e.IDs["merchant"] != "M086666075137" {
			t.Fatalf("%+v", e)
		}
	}
	if !envs["sandbox"] || !envs["live"] {
		t.Fatalf("environments journaled: %v", envs)
	}
	for _, e := range g.events("payment.status_changed", map[string]string{"orderNo": orderNo}) {
		if e.Data["environment"] == nil {
			t.Fatalf("%+v", e)
		}
	}
	// Refused requests are journaled too (api.refused), with their code, and
	// — a refused call is still the app's call — its app, merchant,
	// environment and the order it named, never the card.
	g.post("/payments", map[string]any{"orderNo": "x"})
	if ev := g.events("api.refused", nil); len(ev) == 0 || ev[len(ev)-1].Data["code"] != "PARAMETER_MISSING" {
		t.Fatalf("%+v", ev)
	}
	g.post("/payments", cardPayment("REFUSED01", "", func(b map[string]any) { b["card"].(map[string]any)["cardNo"] = "" }))
	ev := g.events("api.refused", map[string]string{"orderNo": "REFUSED01"})
	if len(ev) != 1 || ev[0].IDs["appId"] != "086666075137001" || ev[0].IDs["merchant"] != "M086666075137" ||
		ev[0].Data["environment"] != "sandbox" || ev[0].Data["operation"] != "createPayment" {
		t.Fatalf("a payment refused for its empty card: %+v", ev)
	}
	// Without a good token the call is nobody's: no ids from the body.
	g.Do("POST", "/vm/v1/payments", cardPayment("REFUSED02", "4000123456000001"), "Authorization", "Bearer nope")
	if ev := g.events("api.refused", map[string]string{"orderNo": "REFUSED02"}); len(ev) != 0 {
		t.Fatalf("an unauthenticated refusal names an order: %+v", ev)
	}
}
