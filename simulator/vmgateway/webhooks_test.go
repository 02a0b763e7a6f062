package vmgateway_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pspsim/pspsim/simulator/delivery"
	"github.com/pspsim/pspsim/simulator/simtest"
	"github.com/pspsim/pspsim/simulator/vmgateway"
)

// received is one webhook delivery as a receiver saw it.
type received struct {
	at                  time.Time
	eventID, stamp, sig string
	body                []byte
}

// receiver is an httptest webhook endpoint answering status.
type receiver struct {
	mu     sync.Mutex
	status int
	got    []received
	srv    *httptest.Server
	clock  func() time.Time
}

func newReceiver(t *testing.T, status int, clock func() time.Time) *receiver {
	rc := &receiver{status: status, clock: clock}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		rc.got = append(rc.got, received{at: rc.clock(), eventID: r.Header.Get(vmgateway.HeaderEventID), stamp: r.Header.Get(vmgateway.HeaderTimestamp), sig: r.Header.Get(vmgateway.HeaderSignature), body: b})
		st := rc.status
		rc.mu.Unlock()
		w.WriteHeader(st)
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) list() []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]received(nil), rc.got...)
}

func (rc *receiver) set(status int) { rc.mu.Lock(); rc.status = status; rc.mu.Unlock() }

func (g *gw) subscribe(url string) string {
	g.T.Helper()
	m := must(g.T, g.post("/webhooks/subscriptions", map[string]any{"apiVersion": "20250703", "signMethod": "sha256", "subscribeUrl": url}), 200)
	return m["secret"].(string)
}

// settled waits until the sender judged n attempts of webhooks (each
// delivered, failed or scheduled for a retry), so the clock may move.
func (g *gw) settled(n int) {
	g.T.Helper()
	simtest.Eventually(g.T, "webhook attempts to settle", func() bool {
		c := 0
		for _, k := range []string{"delivery.scheduled", "delivery.delivered", "delivery.failed"} {
			for _, e := range g.events(k, nil) {
				if e.Data["deliveryKind"] == "webhook" {
					c++
				}
			}
		}
		return c >= n
	})
}

func TestWebhookIsSignedWithTheSubscriptionSecret(t *testing.T) {
	g := newGW(t)
	rc := newReceiver(t, 200, g.Clock.Now)
	secret := g.subscribe(rc.srv.URL + "/hooks")
	p := g.pay(g.order(), "4000123456000019")
	simtest.Eventually(t, "the event", func() bool { return len(rc.list()) == 1 })
	got := rc.list()[0]
	if !vmgateway.Verify(secret, got.stamp, got.body, got.sig) {
		t.Fatal("the signature does not verify with the subscription's secret")
	}
	if vmgateway.Verify("whsec_other", got.stamp, got.body, got.sig) {
		t.Fatal("the signature verifies with any secret")
	}
	var ev struct {
		EventID, EventType, APIVersion string
		Data                           map[string]any
	}
	json.Unmarshal(got.body, &ev)
	if ev.EventID != got.eventID || ev.EventType != "payment.status_changed" || ev.APIVersion != "20250703" ||
		ev.Data["status"] != "CAPTURED" || ev.Data["tradeNo"] != p["tradeNo"] || got.stamp != strconv.FormatInt(simtest.Start.Unix(), 10) {
		t.Fatalf("%+v %s", ev, got.stamp)
	}
	// The event validates against the spec's WebhookEvent.
	doc := g.Sim.Mount("vmgateway").Doc()
	var v any
	json.Unmarshal(got.body, &v)
	if err := doc.Components.Schemas["WebhookEvent"].Value.VisitJSON(v); err != nil {
		t.Fatalf("event breaks the spec: %v", err)
	}
	// Rotation: subscribing the URL again gives a new secret; the old one stops signing.
	secret2 := g.subscribe(rc.srv.URL + "/hooks")
	g.pay(g.order(), "4000123456000019")
	simtest.Eventually(t, "the second event", func() bool { return len(rc.list()) == 2 })
	got = rc.list()[1]
	if secret2 == secret || !vmgateway.Verify(secret2, got.stamp, got.body, got.sig) || vmgateway.Verify(secret, got.stamp, got.body, got.sig) {
		t.Fatal("rotation")
	}
}

func TestFailingReceiverGetsRetriesOnTheSchedule(t *testing.T) {
	g := newGW(t)
	rc := newReceiver(t, 500, g.Clock.Now)
	secret := g.subscribe(rc.srv.URL)
	p := g.pay(g.order(), "4000123456000019")
	g.settled(1)
	start := simtest.Start
	var offset time.Duration
	for i, wait := range vmgateway.RetrySchedule {
		if i == 5 {
			break
		}
		g.Advance(wait)
		offset += wait
		g.settled(i + 2)
		got := rc.list()
		if len(got) != i+2 {
			t.Fatalf("after %s: %d attempts", offset, len(got))
		}
		last := got[len(got)-1]
		if !last.at.Equal(start.Add(offset)) {
			t.Fatalf("attempt %d at %s, want %s", i+2, last.at, start.Add(offset))
		}
		if last.eventID != got[0].eventID || string(last.body) != string(got[0].body) || !vmgateway.Verify(secret, last.stamp, last.body, last.sig) {
			t.Fatalf("attempt %d is not the same signed event", i+2)
		}
		// Each attempt is signed afresh: its timestamp is when it was sent.
		if want := strconv.FormatInt(start.Add(offset).Unix(), 10); last.stamp != want {
			t.Fatalf("attempt %d stamped %s, want %s (a stale stamp makes receivers refuse late retries)", i+2, last.stamp, want)
		}
	}
	rc.set(204)
	g.Advance(vmgateway.RetrySchedule[5])
	g.settled(7)
	if n := len(rc.list()); n != 7 {
		t.Fatalf("%d attempts", n)
	}
	// Nothing more comes once delivered.
	g.Advance(24 * time.Hour)
	if n := len(rc.list()); n != 7 {
		t.Fatalf("%d attempts after delivery", n)
	}
	att := g.events("delivery.attempt", map[string]string{"tradeNo": simtest.FieldString(p, "tradeNo")})
	if len(att) != 7 || att[6].Data["outcome"] != "delivered" || att[0].Data["status"] != float64(500) {
		t.Fatalf("journal: %+v", att)
	}
	if len(g.events("delivery.delivered", map[string]string{"eventId": rc.list()[0].eventID})) != 1 {
		t.Fatal("delivery not journaled as delivered")
	}
}

func TestRetriesGiveUpAfterTheSchedule(t *testing.T) {
	g := newGW(t)
	rc := newReceiver(t, 503, g.Clock.Now)
	g.subscribe(rc.srv.URL)
	g.pay(g.order(), "4000123456000019")
	g.settled(1)
	for i, wait := range vmgateway.RetrySchedule {
		g.Advance(wait)
		g.settled(i + 2)
	}
	if n := len(rc.list()); n != 1+len(vmgateway.RetrySchedule) {
		t.Fatalf("%d attempts", n)
	}
	if len(g.events("delivery.failed", nil)) != 1 {
		t.Fatal("the abandoned delivery is not journaled")
	}
}

// TestNotificationURLAndRefundEvents: the order's notificationUrl gets the
// same events signed with the merchant's secret; refunds have events too.
func TestNotificationURLAndRefundEvents(t *testing.T) {
	g := newGW(t)
	rc := newReceiver(t, 200, g.Clock.Now)
	orderNo := g.order()
	g.pay(orderNo, "4000123456000019", simtest.SetField("notificationUrl", rc.srv.URL+"/notify"))
	simtest.Eventually(t, "payment event", func() bool { return len(rc.list()) == 1 })
	must(t, g.post("/refunds", map[string]any{"orderNo": orderNo, "amount": "5.00", "clientIp": "10.0.0.1", "reason": "r", "refundNumber": "RF0001", "notificationUrl": rc.srv.URL + "/notify"}), 200)
	simtest.Eventually(t, "refund pending event", func() bool { return len(rc.list()) == 2 })
	g.Advance(5 * time.Second)
	g.settled(4)
	got := rc.list()
	types := []string{}
	for _, r := range got {
		if !vmgateway.Verify("184E52CF5365D2D7EE8EDA************", r.stamp, r.body, r.sig) {
			t.Fatal("notificationUrl deliveries are signed with the merchant's secret")
		}
		var ev struct {
			EventType string
			Data      map[string]any
		}
		json.Unmarshal(r.body, &ev)
		types = append(types, ev.EventType+":"+ev.Data["status"].(string))
	}
	// The refund's settlement changes the payment too; only the refund URL
	// was given for the refund, the payment's URL hears the payment.
	want := map[string]bool{"payment.status_changed:CAPTURED": true, "refund.status_changed:PENDING": true, "refund.status_changed:SUCCEEDED": true, "payment.status_changed:PARTIALLY_REFUNDED": true}
	for _, ty := range types {
		if !want[ty] {
			t.Fatalf("unexpected %s in %v", ty, types)
		}
		delete(want, ty)
	}
	if len(want) != 0 {
		t.Fatalf("missing %v (got %v)", want, types)
	}
}

// TestLateNotification: row 12's events arrive 60 s late.
func TestLateNotification(t *testing.T) {
	g := newGW(t)
	rc := newReceiver(t, 200, g.Clock.Now)
	g.subscribe(rc.srv.URL)
	if p := g.pay(g.order(), "4000123456000126"); p["status"] != "CAPTURED" {
		t.Fatalf("%v", p)
	}
	time.Sleep(50 * time.Millisecond)
	g.Advance(59 * time.Second)
	if n := len(rc.list()); n != 0 {
		t.Fatalf("%d deliveries before 60 s", n)
	}
	g.Advance(time.Second)
	got := rc.list()
	if len(got) != 1 || !got[0].at.Equal(simtest.Start.Add(60*time.Second)) {
		t.Fatalf("%+v", got)
	}
}

// TestContradictAndTamper: what the fault engine gets from a webhook
// delivery: tags, a correctly signed opposite result, a copy whose signature
// fails.
func TestContradictAndTamper(t *testing.T) {
	g := newGW(t)
	rc := newReceiver(t, 200, g.Clock.Now)
	secret := g.subscribe(rc.srv.URL)
	var mu sync.Mutex
	var reqs []delivery.Request
	g.Sim.Env().Sender.SetHook(func(ctx context.Context, req *delivery.Request, attempt int, send delivery.SendFunc) (*delivery.Response, error) {
		mu.Lock()
		reqs = append(reqs, *req)
		mu.Unlock()
		return send(ctx, req, attempt)
	})
	g.pay(g.order(), "4000123456000019")
	g.pay(g.order(), "4000123456000209")
	simtest.Eventually(t, "two deliveries", func() bool { mu.Lock(); defer mu.Unlock(); return len(reqs) == 2 })
	for _, req := range reqs {
		if req.Tags["app"] != "086666075137001" || req.Tags["merchant"] != "M086666075137" || req.Tags["environment"] != "sandbox" {
			t.Fatalf("tags %v", req.Tags)
		}
		var orig map[string]any
		json.Unmarshal(req.Body, &orig)
		c, ok := req.Contradict()
		if !ok {
			t.Fatal("no contradiction for a final status")
		}
		var ev map[string]any
		json.Unmarshal(c.Body, &ev)
		was, now := orig["data"].(map[string]any)["status"], ev["data"].(map[string]any)["status"]
		if (was == "CAPTURED" && now != "FAILED") || (was == "FAILED" && now != "CAPTURED") || ev["eventId"] == orig["eventId"] {
			t.Fatalf("contradiction of %v: %v", was, ev)
		}
		if !vmgateway.Verify(secret, c.Header.Get(vmgateway.HeaderTimestamp), c.Body, c.Header.Get(vmgateway.HeaderSignature)) {
			t.Fatal("the contradiction is not correctly signed")
		}
		tm := req.Tamper(req)
		if vmgateway.Verify(secret, tm.Header.Get(vmgateway.HeaderTimestamp), tm.Body, tm.Header.Get(vmgateway.HeaderSignature)) ||
			!vmgateway.Verify(secret, req.Header.Get(vmgateway.HeaderTimestamp), req.Body, req.Header.Get(vmgateway.HeaderSignature)) {
			t.Fatal("tamper")
		}
	}
}

// TestTimerEventsAreSentWithinTheClockMove: a status change made by the
// clock (a decoupled authentication resolving) makes its first delivery
// attempt before the clock move returns, so its retries are on the clock.
func TestTimerEventsAreSentWithinTheClockMove(t *testing.T) {
	g := newGW(t)
	rc := newReceiver(t, 500, g.Clock.Now)
	g.subscribe(rc.srv.URL)
	g.pay(g.order(), "5100123456000130")
	g.settled(1)
	g.Advance(30 * time.Second)
	// At +30 s: the decoupled result (CAPTURED, first attempt) and the
	// PENDING event's first retry.
	got := rc.list()
	captured := 0
	for _, r := range got {
		if strings.Contains(string(r.body), `"status":"CAPTURED"`) {
			captured++
		}
	}
	if len(got) != 3 || captured != 1 {
		t.Fatalf("%d deliveries after the move (%d CAPTURED)", len(got), captured)
	}
	g.Advance(30 * time.Second) // the CAPTURED event's first retry
	if n := len(rc.list()); n != 4 {
		t.Fatalf("%d deliveries", n)
	}
}
