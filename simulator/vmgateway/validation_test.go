package vmgateway_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/pspsim/pspsim/simulator/simtest"
)

// TestFieldRules: the seed's field rules and the handler's own, each
// answered in the gateway's envelope naming the field — never a 500.
//
// It runs in --strict: several rows (a misspelt field, an empty optional
// field, a frontUrl that is not a URL) are departures the default mode
// answers with a warning (see the spec's x-pspsim-lenient).
func TestFieldRules(t *testing.T) {
	g := newGW(t, simtest.Strict())
	dup := g.order()
	g.pay(dup, "4000123456000019")
	cases := []struct {
		name   string
		mod    func(map[string]any)
		status int
		code   string
		field  string
	}{
		{"orderNo too short", simtest.SetField("orderNo", "A123"), 400, "PARAMETER_INVALID", "orderNo"},
		{"orderNo too long", simtest.SetField("orderNo", strings.Repeat("9", 65)), 400, "PARAMETER_INVALID", "orderNo"},
		{"description too long", simtest.SetField("description", strings.Repeat("d", 51)), 400, "PARAMETER_INVALID", "description"},
		{"description empty", simtest.SetField("description", ""), 400, "PARAMETER_INVALID", "description"},
		{"expiryTime too short", simtest.SetField("expiryTime", "29"), 400, "PARAMETER_INVALID", "expiryTime"},
		{"expiryTime too long", simtest.SetField("expiryTime", "121"), 400, "PARAMETER_INVALID", "expiryTime"},
		{"expiryTime not minutes", simtest.SetField("expiryTime", "1h"), 400, "PARAMETER_INVALID", "expiryTime"},
		{"three decimals in USD", simtest.SetField("amount", "1.001"), 400, "PARAMETER_INVALID", "amount"},
		{"decimals in JPY", func(b map[string]any) { b["currency"], b["amount"] = "JPY", "100.5" }, 400, "PARAMETER_INVALID", "amount"},
		{"zero amount", simtest.SetField("amount", "0.00"), 400, "PARAMETER_INVALID", "amount"},
		{"unknown currency", simtest.SetField("currency", "XXX"), 400, "PARAMETER_INVALID", "currency"},
		{"currency placeholder", simtest.SetField("currency", "USD、SGD"), 400, "PARAMETER_INVALID", "currency"},
		{"amount as a number", simtest.SetField("amount", 19.99), 400, "PARAMETER_INVALID", "amount"},
		{"product price decimals", simtest.SetField("productInfo", []any{map[string]any{"price": "1.234", "productName": "x", "quantity": "1"}}), 400, "PARAMETER_INVALID", "productInfo[0].price"},
		{"Luhn", simtest.SetField("card.cardNo", "4000123456000018"), 400, "PARAMETER_INVALID", "card.cardNo"},
		{"card number letters", simtest.SetField("card.cardNo", "4000abcd56000019"), 400, "PARAMETER_INVALID", "card.cardNo"},
		{"expiry month", simtest.SetField("card.expiryMonth", "13"), 400, "PARAMETER_INVALID", "card.expiryMonth"},
		{"expiry year far", simtest.SetField("card.expiryYear", "2099"), 400, "PARAMETER_INVALID", "card.expiryYear"},
		{"no card", simtest.SetField("card", nil), 400, "PARAMETER_MISSING", "card"},
		{"no cardNo", simtest.SetField("card.cardNo", nil), 400, "PARAMETER_MISSING", "card.cardNo"},
		{"no deviceInfo", simtest.SetField("deviceInfo", nil), 400, "PARAMETER_MISSING", "deviceInfo"},
		{"3DS without browser data", simtest.SetField("deviceInfo", map[string]any{"clientIp": "10.0.0.1"}), 400, "PARAMETER_MISSING", "deviceInfo.browser.userAgent"},
		{"3DS without accept header", simtest.SetField("deviceInfo.browser.acceptHeader", nil), 400, "PARAMETER_MISSING", "deviceInfo.browser.acceptHeader"},
		{"misspelt field", simtest.SetField("ordreNo", "x"), 400, "PARAMETER_INVALID", "ordreNo"},
		{"bad threeDsMode", simtest.SetField("threeDsMode", "no、auto、standard"), 400, "PARAMETER_INVALID", "threeDsMode"},
		{"bad frontUrl", simtest.SetField("frontUrl", "string"), 400, "PARAMETER_INVALID", "frontUrl"},
		{"duplicate orderNo", simtest.SetField("orderNo", dup), 409, "DUPLICATE_ORDER", "orderNo"},
		{"the seed's demo orderNo", simtest.SetField("orderNo", "20220828000002"), 409, "DUPLICATE_ORDER", "orderNo"},
		{"external data without eci", simtest.SetField("threeDsData", map[string]any{"authenticationResultCode": "Y", "cavv": "AAABBEg0VhI0VniQEjRWAAAAAAA=", "dsTransId": "x"}), 422, "THREEDS_DATA_INVALID", "threeDsData.eci"},
		{"external Y without cavv", simtest.SetField("threeDsData", map[string]any{"authenticationResultCode": "Y", "eci": "05", "dsTransId": "x"}), 422, "THREEDS_DATA_INVALID", "threeDsData.cavv"},
		{"external ECI of the wrong brand", simtest.SetField("threeDsData", map[string]any{"authenticationResultCode": "Y", "eci": "02", "cavv": "AAABBEg0VhI0VniQEjRWAAAAAAA=", "dsTransId": "x"}), 422, "THREEDS_DATA_INVALID", "threeDsData.eci"},
		{"external 2.x without dsTransId", simtest.SetField("threeDsData", map[string]any{"authenticationResultCode": "N", "eci": "07", "dsVersion": "2.2.0"}), 422, "THREEDS_DATA_INVALID", "threeDsData.dsTransId"},
		{"external 1.x without xid", simtest.SetField("threeDsData", map[string]any{"authenticationResultCode": "Y", "eci": "05", "cavv": "AAABBEg0VhI0VniQEjRWAAAAAAA=", "dsVersion": "1.0.2"}), 422, "THREEDS_DATA_INVALID", "threeDsData.xid"},
		{"external cavv not 20 bytes", simtest.SetField("threeDsData", map[string]any{"authenticationResultCode": "Y", "eci": "05", "cavv": "a772a34d-d58a-4896-bf22-40b2af96eabd", "dsTransId": "x"}), 422, "THREEDS_DATA_INVALID", "threeDsData.cavv"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			wantError(t, g.post("/payments", cardPayment(g.order(), "4000123456000019", c.mod)), c.status, c.code, c.field)
		})
	}
	// Every refusal above is journaled, none as a 500.
	for _, e := range append(g.events("api.request", nil), g.events("api.refused", nil)...) {
		if e.Data["status"] == 500 {
			t.Fatalf("a 500: %+v", e)
		}
	}
	// A refused body left no orderNo behind.
	wantError(t, g.post("/payments/inquiry", map[string]any{"orderNo": "A123"}), 400, "PARAMETER_INVALID", "orderNo")
}

func TestWalletAndMerchantRules(t *testing.T) {
	g := newGW(t)
	noCode := wallet(g.order(), "wechat", "pay")
	delete(noCode["wechat"].(map[string]any), "authCode")
	wantError(t, g.post("/payments", noCode), 400, "PARAMETER_MISSING", "wechat.authCode")
	noObject := wallet(g.order(), "alipay", "")
	delete(noObject, "alipay")
	wantError(t, g.post("/payments", noObject), 400, "PARAMETER_MISSING", "alipay")
	wantError(t, g.post("/payments", wallet(g.order(), "payNow", "h5")), 400, "PARAMETER_INVALID", "payNow.productType")

	// The card-only merchant: other methods and the statement descriptor are
	// not activated, nor is its live environment.
	r := g.Do("POST", "/vm/v1/auth/token", map[string]string{"appId": "086666075137002", "secret": "5A1C0E7D22B94F6B8E3D4C2A1F0B9E8D"})
	other := simtest.FieldString(must(t, r, 200), "accessToken")
	as := func(path string, body any) simtest.Response {
		return g.Do("POST", "/vm/v1"+path, body, "Authorization", "Bearer "+other)
	}
	wantError(t, as("/payments", wallet(g.order(), "wechat", "qr-code")), 403, "FORBIDDEN", "paymentMethodType")
	wantError(t, as("/payments", cardPayment(g.order(), "4000123456000019", simtest.SetField("billingDesc", "SHOP*ORDER"))), 403, "FORBIDDEN", "billingDesc")
	if p := must(t, as("/payments", cardPayment(g.order(), "4000123456000019")), 200); p["status"] != "CAPTURED" {
		t.Fatalf("%v", p)
	}
	wantError(t, g.Do("POST", "/vm/v1/auth/token", map[string]string{"appId": "086666075137002", "secret": "5A1C0E7D22B94F6B8E3D4C2A1F0B9E8E"}), 403, "FORBIDDEN", "")
	if p := g.pay(g.order(), "4000123456000019", simtest.SetField("billingDesc", "SHOP*ORDER")); p["status"] != "CAPTURED" {
		t.Fatalf("the demo merchant has billingDesc: %v", p)
	}
}

func TestFraudScreening(t *testing.T) {
	g := newGW(t)
	for _, c := range []struct {
		name, mode string
		mod        func(map[string]any)
		status     string
	}{
		{"blocked e-mail", "Y", simtest.SetField("billing", map[string]any{"email": "buyer@fraud.example"}), "FAILED"},
		{"blocked shipping e-mail", "Y", simtest.SetField("shipping", map[string]any{"email": "x@FRAUD.example"}), "FAILED"},
		{"blocked ip", "Y", simtest.SetField("deviceInfo.clientIp", "198.51.100.66"), "FAILED"},
		{"clean", "Y", simtest.SetField("billing", map[string]any{"email": "buyer@example.com"}), "CAPTURED"},
		{"screening off", "N", simtest.SetField("billing", map[string]any{"email": "buyer@fraud.example"}), "CAPTURED"},
	} {
		p := g.pay(g.order(), "4000123456000068", simtest.SetField("fraudMode", c.mode), c.mod)
		want := c.status
		if want == "CAPTURED" {
			want = "REQUIRES_ACTION" // the challenge comes after screening
		}
		if p["status"] != want || (want == "FAILED" && p["failureCode"] != "FRAUD_SUSPECTED") {
			t.Errorf("%s: %v", c.name, p)
		}
	}
	w := wallet(g.order(), "alipay", "pay")
	w["fraudMode"], w["deviceInfo"] = "Y", map[string]any{"clientIp": "198.51.100.66"}
	if p := must(t, g.post("/payments", w), 200); p["status"] != "FAILED" || p["failureCode"] != "FRAUD_SUSPECTED" {
		t.Fatalf("%v", p)
	}
}

// TestExternalThreeDSDataIsBoundToOnePayment: authentication data from
// pspsim's own 3-D Secure service binds to the first payment that presents
// it; a CAVV from another transaction is refused.
func TestExternalThreeDSDataIsBoundToOnePayment(t *testing.T) {
	g := newGW(t)
	auth := must(t, g.Do("POST", "/_sim/threeds/authentications", map[string]any{"cardNo": "4000123456000019", "amount": "19.99", "currency": "USD",
		"merchantId": "M086666075137", "returnUrl": "https://merchant.example/back"}), 200)
	if auth["transStatus"] != "Y" || auth["eci"] != "05" || auth["authenticationValue"] == nil || strings.Contains(string(mustJSON(auth)), "4000123456000019") {
		t.Fatalf("%v", auth)
	}
	data := map[string]any{"authenticationResultCode": "Y", "eci": "05", "cavv": auth["authenticationValue"], "dsTransId": auth["dsTransId"], "dsVersion": "2.2.0"}
	p := g.pay(g.order(), "4000123456000019", simtest.SetField("threeDsData", data))
	if p["status"] != "CAPTURED" || simtest.FieldString(p, "threeDs.flow") != "external" || simtest.FieldString(p, "threeDs.liabilityShift") != "true" {
		t.Fatalf("%v", p)
	}
	wantError(t, g.post("/payments", cardPayment(g.order(), "4000123456000019", simtest.SetField("threeDsData", data))), 422, "THREEDS_DATA_INVALID", "threeDsData.cavv")
	// The data of a payment's own authentication cannot back another payment.
	first := g.pay(g.order(), "5100123456000015")
	dsID := simtest.FieldString(first, "threeDs.dsTransId")
	stolen := map[string]any{"authenticationResultCode": "Y", "eci": "02", "cavv": authValue(t, g, dsID), "dsTransId": dsID, "dsVersion": "2.2.0"}
	wantError(t, g.post("/payments", cardPayment(g.order(), "5100123456000015", simtest.SetField("threeDsData", stolen))), 422, "THREEDS_DATA_INVALID", "threeDsData.cavv")
	// Another card, amount or merchant.
	auth2 := must(t, g.Do("POST", "/_sim/threeds/authentications", map[string]any{"cardNo": "4000123456000019", "amount": "19.99", "currency": "USD",
		"merchantId": "M086666075137", "returnUrl": "https://merchant.example/back"}), 200)
	data2 := map[string]any{"authenticationResultCode": "Y", "eci": "05", "cavv": auth2["authenticationValue"], "dsTransId": auth2["dsTransId"]}
	wantError(t, g.post("/payments", cardPayment(g.order(), "4111111111111111", simtest.SetField("threeDsData", data2))), 422, "THREEDS_DATA_INVALID", "threeDsData.dsTransId")
	wantError(t, g.post("/payments", cardPayment(g.order(), "4000123456000019", simtest.SetField("threeDsData", data2), simtest.SetField("amount", "20.00"))), 422, "THREEDS_DATA_INVALID", "threeDsData.dsTransId")
	// External results that are not Y/A.
	for code, failure := range map[string]string{"N": "AUTHENTICATION_FAILED", "R": "AUTHENTICATION_REJECTED", "U": "AUTHENTICATION_UNAVAILABLE"} {
		p := g.pay(g.order(), "4111111111111111", simtest.SetField("threeDsData", map[string]any{"authenticationResultCode": code, "eci": "07", "dsTransId": "ext-" + code}))
		if p["status"] != "FAILED" || p["failureCode"] != failure {
			t.Errorf("%s: %v", code, p)
		}
	}
}

// authValue recomputes a CAVV the way anyone can (the derivation is public).
func authValue(t *testing.T, g *gw, dsTransID string) string {
	r := must(t, g.Do("GET", "/_sim/threeds/transactions/"+dsTransID, nil), 200)
	return simtest.FieldString(r, "authenticationValue")
}

// TestTheSeedsExampleWorks: the corrected request example of the spec (a
// UnionPay card, which need not pass Luhn, with external 3-D Secure data
// from another server) is a captured payment.
func TestTheSeedsExampleWorks(t *testing.T) {
	g := newGW(t)
	ex := requestExample(t, g, "/v1/payments")
	ex["orderNo"] = g.order()
	p := must(t, g.post("/payments", ex), 200)
	if p["status"] != "CAPTURED" || p["cardBrand"] != "UNIONPAY" || p["maskedCardNo"] != "621245******4690" || simtest.FieldString(p, "threeDs.flow") != "external" {
		t.Fatalf("%v", p)
	}
}

func requestExample(t *testing.T, g *gw, path string) map[string]any {
	op := g.Sim.Mount("vmgateway").Doc().Paths.Value(path).Post
	var m map[string]any
	if err := json.Unmarshal(mustJSON(op.RequestBody.Value.Content.Get("application/json").Example), &m); err != nil {
		t.Fatal(err)
	}
	return m
}
