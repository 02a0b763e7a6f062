package codepay_test

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pspsim/pspsim/simulator/codepay"
	"github.com/pspsim/pspsim/simulator/delivery"
	"github.com/pspsim/pspsim/simulator/journal"
)

// TestNotificationRetriesOnTheSchedule: a merchant that does not answer
// HTTP 200 `success` gets the same signed notification again at 5 s, 10 s,
// 15 s, 30 s, 60 s, 3 min, 10 min, 15 min, 30 min ×3, 3 h ×3, then never.
func TestNotificationRetriesOnTheSchedule(t *testing.T) {
	c := newCP(t)
	// Wrong answers of every kind: a 500, a 200 without "success", then silence.
	n := newNotifyServer(t, "HTTP 500", "ok", "SUCCESS", "fail")
	c.paidSale("N1", "8.00", visaOK, map[string]any{"notify_url": n.URL + "/cb"})
	first := n.wait(t, 1)[0]
	c.waitDeliveries("N1", 1)
	total := 1
	for i, wait := range codepay.NotificationSchedule {
		c.advance(wait - time.Millisecond)
		if got := n.count(); got != total {
			t.Fatalf("retry %d came early (%d attempts before %s)", i+1, got, wait)
		}
		c.advance(time.Millisecond)
		total++
		got := n.wait(t, total)
		c.waitDeliveries("N1", total)
		if !bytes.Equal(got[total-1], first) {
			t.Fatalf("retry %d changed the payload:\n%s\n%s", i+1, got[total-1], first)
		}
	}
	c.advance(24 * time.Hour)
	if n.count() != 15 {
		t.Fatalf("%d attempts, want 15", n.count())
	}
	if err := codepay.Verify(c.gw, first); err != nil {
		t.Fatalf("notification signature: %v", err)
	}
	var f map[string]any
	json.Unmarshal(first, &f)
	for _, k := range []string{"app_id", "merchant_no", "sign_type", "sign", "timestamp", "version", "trans_no", "merchant_order_no", "trans_status",
		"trans_type", "price_currency", "order_amount", "paid_amount", "terminal_sn"} {
		if _, ok := f[k]; !ok {
			t.Errorf("notification lacks %s", k)
		}
	}
	// The notification is what the spec's Notification schema (closed) says.
	var doc any
	json.Unmarshal(first, &doc)
	schema := c.sys.Mount().Doc().Components.Schemas["Notification"].Value
	if err := schema.VisitJSON(doc); err != nil {
		t.Fatalf("notification breaks the spec's Notification schema: %v", err)
	}
	attempts := c.h.Sim.Journal().Query(journal.Filter{Kind: "delivery.attempt", IDs: map[string]string{"merchant_order_no": "N1"}})
	if len(attempts) != 15 {
		t.Fatalf("%d attempts journaled", len(attempts))
	}
	if len(c.h.Sim.Journal().Query(journal.Filter{Kind: "delivery.failed"})) != 1 {
		t.Fatal("the abandoned delivery is not journaled")
	}
}

// TestNotificationDeliveredOnSuccess: `success` (whitespace ignored) ends
// the deliveries; a test card can hold the notification back 60 s.
func TestNotificationDeliveredOnSuccess(t *testing.T) {
	c := newCP(t)
	n := newNotifyServer(t, "HTTP 503", " success\n")
	c.paidSale("N2", "8.00", visaOK, map[string]any{"notify_url": n.URL})
	c.waitDeliveries("N2", 1)
	c.advance(5 * time.Second)
	n.wait(t, 2)
	c.waitDeliveries("N2", 2)
	c.advance(time.Hour)
	if n.count() != 2 {
		t.Fatalf("%d attempts after success", n.count())
	}
	// TESTCARDS row 12: approved, notification 60 s late.
	late := newNotifyServer(t)
	c.paidSale("N3", "8.00", visaLate, map[string]any{"notify_url": late.URL, "terminal_sn": termB})
	c.advance(59 * time.Second)
	if late.count() != 0 {
		t.Fatal("the late notification came early")
	}
	c.advance(time.Second)
	late.wait(t, 1)
}

// TestNotificationFaultHooks: every notification carries its tags, a
// correctly signed contradiction and a tampered copy, for the fault engine.
func TestNotificationFaultHooks(t *testing.T) {
	c := newCP(t)
	var mu sync.Mutex
	var seen []delivery.Request
	c.h.Sim.Env().Sender.SetHook(func(ctx context.Context, req *delivery.Request, attempt int, send delivery.SendFunc) (*delivery.Response, error) {
		mu.Lock()
		seen = append(seen, *req)
		mu.Unlock()
		return send(ctx, req, attempt)
	})
	n := newNotifyServer(t)
	c.paidSale("F1", "8.00", visaOK, map[string]any{"notify_url": n.URL})
	n.wait(t, 1)
	mu.Lock()
	req := seen[0]
	mu.Unlock()
	for k, v := range map[string]string{"app": appID, "merchant": merchant, "store": store, "terminal": termA, "environment": "sandbox"} {
		if req.Tags[k] != v {
			t.Errorf("tag %s = %q, want %q", k, req.Tags[k], v)
		}
	}
	if req.IDs["merchant_order_no"] != "F1" || req.IDs["terminal_sn"] != termA {
		t.Errorf("ids %v", req.IDs)
	}
	contra, ok := req.Contradict()
	if !ok {
		t.Fatal("no contradiction")
	}
	if err := codepay.Verify(c.gw, contra.Body); err != nil || !strings.Contains(string(contra.Body), `"trans_status":1`) {
		t.Fatalf("contradiction %v: %s", err, contra.Body)
	}
	tampered := req.Tamper(req)
	if err := codepay.Verify(c.gw, tampered.Body); err == nil {
		t.Fatal("the tampered copy still verifies")
	}
	if err := codepay.Verify(c.gw, req.Body); err != nil {
		t.Fatalf("Tamper changed the original: %v", err)
	}
}
