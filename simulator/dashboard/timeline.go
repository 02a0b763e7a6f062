package dashboard

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Event is a journal event as the control API answers it (masked already).
type Event struct {
	Seq     int64             `json:"seq"`
	Time    time.Time         `json:"time"`
	System  string            `json:"system"`
	Kind    string            `json:"kind"`
	IDs     map[string]string `json:"ids,omitempty"`
	Message string            `json:"message,omitempty"`
	Data    map[string]any    `json:"data,omitempty"`
}

// events reads the journal through the control API (GET /_sim/events),
// oldest first. It is the dashboard's one reader of the event list.
func (d *Dashboard) events(r *http.Request, q url.Values) ([]Event, error) {
	body, err := d.call(r, http.MethodGet, "/_sim/events?"+q.Encode(), nil)
	if err != nil {
		return nil, err
	}
	var out struct {
		Events []Event `json:"events"`
	}
	if err := json.Unmarshal(body, &out); err != nil {
		return nil, fmt.Errorf("read the journal: %w", err)
	}
	return out.Events, nil
}

// linkKeys are the ids that name one payment's objects in some system:
// following them from event to event joins Genstore's payment to the app's
// calls to a PSP (a reference app uses Genstore's paymentId as the gateway's
// orderNo; any app reports the PSP's id as channelPaymentId), the PSP's
// webhooks and notifications, and the 3-D Secure transactions. Parties
// (shops, apps, merchants, terminals) are not followed: they would join
// every payment they ever made.
var linkKeys = map[string]bool{
	"paymentId": true, "captureId": true, "voidId": true, "refundId": true,
	"orderNo": true, "tradeNo": true, "refundNumber": true, "sessionId": true, "eventId": true,
	"trans_no": true, "merchant_order_no": true, "orig_trans_no": true, "orig_merchant_order_no": true,
	"acsTransId": true, "dsTransId": true, "threeDsServerTransId": true,
}

// dataLinks are fields of an event's data that name another system's id of
// the same payment: what the app acknowledged or called back with.
var dataLinks = []string{"channelPaymentId", "channelCaptureId", "channelVoidId", "channelRefundId", "tradeNo", "orderNo", "trans_no"}

// Limits of one search: a runaway chain (an id shared by accident) stops
// here and says so.
const (
	maxRounds = 5
	maxIDs    = 60
	maxEvents = 2000
)

// Timeline is every event of one payment across systems, in time order.
type Timeline struct {
	Query     string
	IDs       []string // every id the chain reached, sorted
	Events    []Event
	Truncated bool
	Failures  int
	Systems   []string
}

// timeline follows q through the journal until no new id appears.
func (d *Dashboard) timeline(r *http.Request, q string) (Timeline, error) {
	t := Timeline{Query: q}
	known := map[string]bool{q: true}
	seen := map[int64]bool{}
	frontier := []string{q}
	for round := 0; round < maxRounds && len(frontier) > 0; round++ {
		var next []string
		for _, id := range frontier {
			evs, err := d.events(r, url.Values{"id": {id}, "limit": {strconv.Itoa(maxEvents)}})
			if err != nil {
				return t, err
			}
			for _, e := range evs {
				if seen[e.Seq] {
					continue
				}
				seen[e.Seq] = true
				t.Events = append(t.Events, e)
				for _, l := range links(e) {
					if known[l] {
						continue
					}
					if len(known) >= maxIDs {
						t.Truncated = true
						continue
					}
					known[l] = true
					next = append(next, l)
				}
			}
			if len(t.Events) >= maxEvents {
				t.Truncated = true
				next = nil
				break
			}
		}
		frontier = next
	}
	if len(frontier) > 0 {
		t.Truncated = true
	}
	sort.Slice(t.Events, func(i, j int) bool { return t.Events[i].Seq < t.Events[j].Seq })
	systems := map[string]bool{}
	for _, e := range t.Events {
		systems[e.System] = true
		if failedEvent(e) != "" {
			t.Failures++
		}
	}
	for s := range systems {
		t.Systems = append(t.Systems, s)
	}
	sort.Strings(t.Systems)
	for id := range known {
		t.IDs = append(t.IDs, id)
	}
	sort.Strings(t.IDs)
	return t, nil
}

// links returns the ids of e worth following.
func links(e Event) []string {
	var out []string
	for k, v := range e.IDs {
		if linkKeys[k] && v != "" {
			out = append(out, v)
		}
	}
	for _, k := range dataLinks {
		if s, ok := e.Data[k].(string); ok && s != "" {
			out = append(out, s)
		}
	}
	return out
}

// failedEvent says why an event is a failure or refusal worth standing out
// ("" when it is not): refused requests and callbacks, failed deliveries,
// error answers, faults that fired, leaks, missed deadlines.
func failedEvent(e Event) string {
	k := e.Kind
	switch {
	case strings.Contains(k, "refused"), strings.Contains(k, "failed"), strings.Contains(k, "leak"),
		strings.Contains(k, "missed"), strings.Contains(k, "error"), strings.Contains(k, "expired"),
		strings.HasPrefix(k, "fault.fired"):
		return k
	}
	if o, _ := e.Data["outcome"].(string); o != "" && o != "delivered" {
		return "delivery " + o
	}
	if s := num(e.Data["status"]); s >= 400 {
		return "HTTP " + strconv.Itoa(s)
	}
	if c, _ := e.Data["code"].(string); c != "" && c != "0" {
		return "code " + c
	}
	if to, _ := e.Data["to"].(string); to == "FAILED" || to == "DECLINED" {
		return "status " + to
	}
	return ""
}

func num(v any) int {
	switch x := v.(type) {
	case float64:
		return int(x)
	case json.Number:
		n, _ := x.Int64()
		return int(n)
	}
	return 0
}

func (d *Dashboard) search(r *http.Request, v *view) (string, error) {
	v.Page, v.Title = "search", "Payment timeline"
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	if q == "" {
		v.Data = Timeline{}
		return "search", nil
	}
	v.Title = "Timeline of " + q
	t, err := d.timeline(r, q)
	v.Data = t
	return "search", err
}
