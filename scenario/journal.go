package scenario

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/pspsim/pspsim/internal/godog"
)

func kindAbout(kind, id string) string {
	q := "kind=" + url.QueryEscape(kind)
	if id != "" {
		q += "&id=" + url.QueryEscape(id)
	}
	return q
}

// kindMatches is the journal's kind filter: exact, or a prefix ending at a dot.
func kindMatches(kind, want string) bool {
	return kind == want || strings.HasPrefix(kind, want+".")
}

type event struct {
	Seq     int64             `json:"seq"`
	Time    time.Time         `json:"time"`
	System  string            `json:"system"`
	Kind    string            `json:"kind"`
	IDs     map[string]string `json:"ids"`
	Message string            `json:"message"`
	Data    map[string]any    `json:"data"`
}

// Events reads the whole journal matching query (listEvents' filters:
// "kind=delivery&paymentId=PI1") through the admin API, page after page.
func (w *World) Events(ctx context.Context, query string) ([]event, error) {
	var all []event
	for after := int64(0); ; {
		q := query
		if q != "" {
			q += "&"
		}
		r, err := w.peek(ctx, "GET", "/_sim/events?"+q+"limit=10000&after="+strconv.FormatInt(after, 10), nil)
		if err != nil {
			return nil, err
		}
		if r.Status != 200 {
			return nil, fmt.Errorf("reading the journal: %d %s", r.Status, clip(r.Body))
		}
		var page struct {
			Events  []event
			HasMore bool
			Next    int64
		}
		if err := json.Unmarshal(r.Body, &page); err != nil {
			return nil, fmt.Errorf("reading the journal: %w", err)
		}
		all = append(all, page.Events...)
		if !page.HasMore {
			return all, nil
		}
		after = page.Next
	}
}

func journalSteps() Group {
	return Group{
		Name: "Journal",
		Doc:  "Check what the simulator recorded: every request, delivery attempt, callback and state change, card numbers masked.",
		Steps: []Step{
			{
				Pattern: `^the journal has an event of kind "([^"]*)"$`,
				Doc:     "At least one event of this kind (or of a kind under it: `delivery` matches `delivery.attempt`).",
				Example: `Then the journal has an event of kind "clock.moved"`,
				Func: func(ctx context.Context, kind string) error {
					ev, err := WorldFrom(ctx).Events(ctx, "kind="+url.QueryEscape(kind))
					if err != nil {
						return err
					}
					if len(ev) == 0 {
						return fmt.Errorf("the journal has no event of kind %s", kind)
					}
					return nil
				},
			},
			{
				Pattern: `^the journal has (\d+) events? of kind "([^"]*)"$`,
				Doc:     "Exactly this many events of this kind.",
				Example: `Then the journal has 4 events of kind "delivery.attempt"`,
				Func: func(ctx context.Context, n int, kind string) error {
					ev, err := WorldFrom(ctx).Events(ctx, "kind="+url.QueryEscape(kind))
					if err != nil {
						return err
					}
					if len(ev) != n {
						var kinds []string
						for _, e := range ev {
							kinds = append(kinds, e.Message)
						}
						return fmt.Errorf("the journal has %d events of kind %s, not %d: %s", len(ev), kind, n, strings.Join(kinds, " | "))
					}
					return nil
				},
			},
			{
				Pattern: `^the journal does not contain "([^"]*)"$`,
				Doc:     "No event anywhere mentions this text (use it with card numbers: they must appear masked only).",
				Example: `Then the journal does not contain "4000123456000019"`,
				Func: func(ctx context.Context, needle string) error {
					w := WorldFrom(ctx)
					ev, err := w.Events(ctx, "")
					if err != nil {
						return err
					}
					raw, _ := json.Marshal(ev)
					if strings.Contains(string(raw), w.Expand(needle)) {
						return fmt.Errorf("the journal contains %q", needle)
					}
					return nil
				},
			},
			{
				Pattern: `^the journal has an event of kind "([^"]*)" about "([^"]*)"$`,
				Doc:     "At least one event of this kind about this id (an order number, a payment id, a fault rule...), whatever the id's name.",
				Example: `Then the journal has an event of kind "delivery.delivered" about "A1"`,
				Func: func(ctx context.Context, kind, id string) error {
					w := WorldFrom(ctx)
					ev, err := w.Events(ctx, kindAbout(kind, w.Expand(id)))
					if err != nil {
						return err
					}
					if len(ev) == 0 {
						return fmt.Errorf("the journal has no event of kind %s about %s", kind, id)
					}
					return nil
				},
			},
			{
				Pattern: `^the journal has (\d+) events? of kind "([^"]*)" about "([^"]*)"$`,
				Doc:     "Exactly this many events of this kind about this id.",
				Example: `Then the journal has 3 events of kind "delivery.attempt" about "A1"`,
				Func: func(ctx context.Context, n int, kind, id string) error {
					w := WorldFrom(ctx)
					ev, err := w.Events(ctx, kindAbout(kind, w.Expand(id)))
					if err != nil {
						return err
					}
					if len(ev) != n {
						return fmt.Errorf("the journal has %d events of kind %s about %s, not %d%s", len(ev), kind, id, n, messages(ev))
					}
					return nil
				},
			},
			{
				Pattern: `^the journal has no event of kind "([^"]*)"$`,
				Doc:     "No event of this kind (or under it) was recorded.",
				Example: `Then the journal has no event of kind "fault.fired"`,
				Func: func(ctx context.Context, kind string) error {
					ev, err := WorldFrom(ctx).Events(ctx, kindAbout(kind, ""))
					if err != nil {
						return err
					}
					if len(ev) != 0 {
						return fmt.Errorf("the journal has %d events of kind %s%s", len(ev), kind, messages(ev))
					}
					return nil
				},
			},
			{
				Pattern: `^the journal has an event of kind "([^"]*)" whose message contains "([^"]*)"$`,
				Doc:     "At least one event of this kind whose message contains a text.",
				Example: `Then the journal has an event of kind "fault.effect.timeout" whose message contains "the client gave up"`,
				Func: func(ctx context.Context, kind, text string) error {
					w := WorldFrom(ctx)
					ev, err := w.Events(ctx, kindAbout(kind, ""))
					if err != nil {
						return err
					}
					for _, e := range ev {
						if strings.Contains(e.Message, w.Expand(text)) {
							return nil
						}
					}
					return fmt.Errorf("no event of kind %s mentions %q%s", kind, text, messages(ev))
				},
			},
			{
				Pattern: `^the journal has an event of kind "([^"]*)" at "([^"]*)"$`,
				Doc:     "At least one event of this kind recorded at this simulated time (RFC 3339): when a retry, an expiry or a delayed message happened.",
				Example: `Then the journal has an event of kind "fault.rule.expired" at "2026-11-23T10:00:00Z"`,
				Func: func(ctx context.Context, kind, at string) error {
					want, err := time.Parse(time.RFC3339Nano, at)
					if err != nil {
						return fmt.Errorf("%q is not an RFC 3339 time", at)
					}
					ev, err := WorldFrom(ctx).Events(ctx, kindAbout(kind, ""))
					if err != nil {
						return err
					}
					var seen []string
					for _, e := range ev {
						if e.Time.Equal(want) {
							return nil
						}
						seen = append(seen, e.Time.UTC().Format(time.RFC3339))
					}
					return fmt.Errorf("no event of kind %s at %s (seen at: %s)", kind, at, strings.Join(seen, ", "))
				},
			},
			{
				Pattern: `^the journal shows these kinds in this order:$`,
				Doc:     "The events of the kinds listed (one per row; a kind also matches the kinds under it) happened in this order, and no other event of those kinds came in between.",
				Example: "Then the journal shows these kinds in this order:\n  | fault.fired.drop   |\n  | delivery.scheduled |\n  | delivery.delivered |",
				Func: func(ctx context.Context, table *godog.Table) error {
					var want []string
					for _, row := range table.Rows {
						if len(row.Cells) > 0 {
							want = append(want, strings.TrimSpace(row.Cells[0].Value))
						}
					}
					ev, err := WorldFrom(ctx).Events(ctx, "")
					if err != nil {
						return err
					}
					var got []string
					for _, e := range ev {
						for _, k := range want {
							if kindMatches(e.Kind, k) {
								got = append(got, e.Kind)
								break
							}
						}
					}
					ok := len(got) == len(want)
					for i := 0; ok && i < len(got); i++ {
						ok = kindMatches(got[i], want[i])
					}
					if !ok {
						return fmt.Errorf("the journal shows %s, not %s", strings.Join(got, " → "), strings.Join(want, " → "))
					}
					return nil
				},
			},
		},
	}
}

func messages(ev []event) string {
	var b strings.Builder
	for _, e := range ev {
		fmt.Fprintf(&b, "\n  %d %s %s: %s", e.Seq, e.Time.UTC().Format(time.RFC3339), e.Kind, e.Message)
	}
	return b.String()
}
