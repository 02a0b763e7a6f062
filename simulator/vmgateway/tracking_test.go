package vmgateway_test

import (
	"testing"

	"github.com/pspsim/pspsim/simulator/simtest"
)

func tracking(orderNo, trackingNo string) map[string]any {
	return map[string]any{"carrier": "DHL", "orderNo": orderNo, "shipmentDate": "2026-11-22", "shipmentDirection": "FORWARD",
		"shippingStatus": "SHIPPED", "trackingNo": trackingNo, "trackingNumberType": "CARRIER_PROVIDED"}
}

func item(op, path string, value any) map[string]any {
	m := map[string]any{"op": op, "path": path}
	if value != nil {
		m["value"] = value
	}
	return m
}

func TestTrackingAddRetrieveDuplicate(t *testing.T) {
	g := newGW(t)
	orderNo := g.order()
	p := g.pay(orderNo, "4000123456000019")
	rec := must(t, g.post("/tracking", tracking(orderNo, "DHL0001")), 200)
	if rec["tradeNo"] != p["tradeNo"] || rec["shippingStatus"] != "SHIPPED" || rec["carrier"] != "DHL" {
		t.Fatalf("%v", rec)
	}
	wantError(t, g.post("/tracking", tracking(orderNo, "DHL0001")), 409, "DUPLICATE_TRACKING", "trackingNo")
	got := must(t, g.post("/tracking/retrieve", map[string]any{"orderNo": orderNo, "trackingNo": "DHL0001"}), 200)
	if got["trackingNo"] != "DHL0001" {
		t.Fatalf("%v", got)
	}
	wantError(t, g.post("/tracking/retrieve", map[string]any{"orderNo": orderNo, "trackingNo": "NOPE"}), 404, "NOT_FOUND", "trackingNo")
	wantError(t, g.post("/tracking", tracking("NOSUCHORDER", "X1")), 404, "NOT_FOUND", "orderNo")
	failed := g.order()
	g.pay(failed, "4000123456000209")
	wantError(t, g.post("/tracking", tracking(failed, "X2")), 409, "STATUS_CONFLICT", "orderNo")
	wantError(t, g.post("/tracking", map[string]any{"orderNo": orderNo}), 400, "PARAMETER_MISSING", "carrier")
	// The seed's own spelling of FedEx: read as FEDEX with a warning by
	// default (x-pspsim-lenient enum-case), refused by --strict.
	b := tracking(orderNo, "X3")
	b["carrier"] = "Fedex"
	if got := must(t, g.post("/tracking", b), 200); got["carrier"] != "FEDEX" {
		t.Fatalf("carrier Fedex stored as %v", got["carrier"])
	}
	strict := newGW(t, simtest.Strict())
	strictOrder := strict.order()
	strict.pay(strictOrder, "4000123456000019")
	b = tracking(strictOrder, "X3")
	b["carrier"] = "Fedex"
	wantError(t, strict.post("/tracking", b), 400, "PARAMETER_INVALID", "carrier")
}

func TestTrackingBatch(t *testing.T) {
	g := newGW(t)
	a, failed := g.order(), g.order()
	g.pay(a, "4000123456000019")
	g.pay(failed, "4000123456000209")
	res := must(t, g.post("/tracking/batch", []any{tracking(a, "B1"), tracking(a, "B1"), tracking("NOSUCHORDER", "B2"), tracking(failed, "B3"), tracking(a, "B4")}), 200)
	trackers, errs := res["trackers"].([]any), res["errors"].([]any)
	if len(trackers) != 2 || len(errs) != 3 {
		t.Fatalf("%v", res)
	}
	for i, want := range []struct {
		index float64
		code  string
	}{{1, "DUPLICATE_TRACKING"}, {2, "NOT_FOUND"}, {3, "STATUS_CONFLICT"}} {
		e := errs[i].(map[string]any)
		if simtest.FieldString(e, "index") != simtest.FieldString(map[string]any{"i": int(want.index)}, "i") || e["code"] != want.code {
			t.Fatalf("error %d: %v", i, e)
		}
	}
	bad := tracking(a, "B5")
	bad["shippingStatus"] = "SHIPPED、CANCELLED、DELIVERED"
	wantError(t, g.post("/tracking/batch", []any{tracking(a, "B6"), bad}), 400, "PARAMETER_INVALID", "[1].shippingStatus")
	wantError(t, g.post("/tracking/batch", []any{}), 400, "PARAMETER_INVALID", "")
}

// TestTrackingOpValidation: every item rule, and the status table.
func TestTrackingOpValidation(t *testing.T) {
	g := newGW(t)
	orderNo := g.order()
	g.pay(orderNo, "4000123456000019")
	must(t, g.post("/tracking", tracking(orderNo, "V1")), 200)
	upd := func(items ...map[string]any) map[string]any {
		list := make([]any, len(items))
		for i, it := range items {
			list[i] = it
		}
		return map[string]any{"orderNo": orderNo, "trackingNo": "V1", "iterms": list}
	}
	cases := []struct {
		name   string
		body   map[string]any
		status int
		code   string
		field  string
	}{
		{"unknown op", upd(item("move", "/status", "DELIVERED")), 400, "PARAMETER_INVALID", "iterms[0].op"},
		{"unknown path", upd(item("replace", "/amount", "1")), 400, "PARAMETER_INVALID", "iterms[0].path"},
		{"replace without value", upd(item("replace", "/status", nil)), 400, "PARAMETER_MISSING", "iterms[0].value"},
		{"add without value", upd(item("replace", "/carrier", "UPS"), item("add", "/trackingUrl", nil)), 400, "PARAMETER_MISSING", "iterms[1].value"},
		{"remove a required field", upd(item("remove", "/status", nil)), 400, "PARAMETER_INVALID", "iterms[0].op"},
		{"remove with a value", upd(item("remove", "/trackingUrl", "x")), 400, "PARAMETER_INVALID", "iterms[0].value"},
		{"status not in the enum", upd(item("replace", "/status", "LOST")), 400, "PARAMETER_INVALID", "iterms[0].value"},
		{"carrier not in the enum", upd(item("replace", "/carrier", "Fedex")), 400, "PARAMETER_INVALID", "iterms[0].value"},
		{"bad date", upd(item("replace", "/shipmentDate", "22/11/2026")), 400, "PARAMETER_INVALID", "iterms[0].value"},
		{"bad url", upd(item("add", "/trackingUrl", "ftp://x")), 400, "PARAMETER_INVALID", "iterms[0].value"},
		{"bad direction", upd(item("replace", "/shipmentDirection", "SIDEWAYS")), 400, "PARAMETER_INVALID", "iterms[0].value"},
		{"value not a string", upd(item("replace", "/status", 5)), 400, "PARAMETER_INVALID", "iterms[0].value"},
		{"no items", upd(), 400, "PARAMETER_INVALID", "iterms"},
		{"unknown record", map[string]any{"orderNo": orderNo, "trackingNo": "NOPE", "iterms": []any{item("replace", "/status", "DELIVERED")}}, 404, "NOT_FOUND", "trackingNo"},
		{"illegal transition, all or none", upd(item("replace", "/carrier", "UPS"), item("replace", "/status", "LOCAL_PICKUP")), 409, "STATUS_CONFLICT", "iterms[1].value"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { wantError(t, g.patch("/tracking", c.body), c.status, c.code, c.field) })
	}
	if r := must(t, g.post("/tracking/retrieve", map[string]any{"orderNo": orderNo, "trackingNo": "V1"}), 200); r["carrier"] != "DHL" {
		t.Fatalf("a refused update changed the record: %v", r)
	}
	ok := must(t, g.patch("/tracking", map[string]any{"orderNo": orderNo, "trackingNo": "V1", "matedata": map[string]any{"k": "v"}, "iterms": []any{
		item("replace", "/status", "ON_HOLD"), item("add", "/trackingUrl", "https://track.example/V1"), item("replace", "/carrier", "UPS"),
		item("replace", "/shipmentDate", "2026-11-23"), item("replace", "/trackingNumberType", "E2E_PARTNER_PROVIDED"), item("replace", "/shipmentDirection", "RETURN"),
	}}), 200)
	if ok["shippingStatus"] != "ON_HOLD" || ok["trackingUrl"] != "https://track.example/V1" || ok["carrier"] != "UPS" || simtest.FieldString(ok, "matedata.k") != "v" ||
		ok["shipmentDate"] != "2026-11-23" || ok["trackingNumberType"] != "E2E_PARTNER_PROVIDED" || ok["shipmentDirection"] != "RETURN" {
		t.Fatalf("%v", ok)
	}
	ok = must(t, g.patch("/tracking", upd(item("remove", "/trackingUrl", nil), item("replace", "/status", "DELIVERED"))), 200)
	if ok["trackingUrl"] != nil || ok["shippingStatus"] != "DELIVERED" {
		t.Fatalf("%v", ok)
	}
	wantError(t, g.patch("/tracking", upd(item("replace", "/carrier", "DHL"))), 409, "STATUS_CONFLICT", "")
	// Cancelling is replacing /status with CANCELLED; a cancelled record is final.
	must(t, g.post("/tracking", tracking(orderNo, "V2")), 200)
	c := must(t, g.patch("/tracking", map[string]any{"orderNo": orderNo, "trackingNo": "V2", "iterms": []any{item("replace", "/status", "CANCELLED")}}), 200)
	if c["shippingStatus"] != "CANCELLED" {
		t.Fatalf("%v", c)
	}
	wantError(t, g.patch("/tracking", map[string]any{"orderNo": orderNo, "trackingNo": "V2", "iterms": []any{item("replace", "/status", "SHIPPED")}}), 409, "STATUS_CONFLICT", "")
}
