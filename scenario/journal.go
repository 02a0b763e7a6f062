package scenario

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
)

type event struct {
	Seq     int64             `json:"seq"`
	System  string            `json:"system"`
	Kind    string            `json:"kind"`
	IDs     map[string]string `json:"ids"`
	Message string            `json:"message"`
}

// Events reads the journal through the admin API; query is listEvents'
// query string ("kind=delivery&paymentId=PI1").
func (w *World) Events(ctx context.Context, query string) ([]event, error) {
	saved := w.Last
	defer func() { w.Last = saved }()
	r, err := w.Do(ctx, "GET", "/_sim/events?"+query, nil)
	if err != nil {
		return nil, err
	}
	if r.Status != 200 {
		return nil, fmt.Errorf("reading the journal: %d %s", r.Status, clip(r.Body))
	}
	var out struct{ Events []event }
	if err := json.Unmarshal(r.Body, &out); err != nil {
		return nil, fmt.Errorf("reading the journal: %w", err)
	}
	return out.Events, nil
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
					saved := w.Last
					defer func() { w.Last = saved }()
					r, err := w.Do(ctx, "GET", "/_sim/events", nil)
					if err != nil {
						return err
					}
					if strings.Contains(string(r.Body), w.Expand(needle)) {
						return fmt.Errorf("the journal contains %q", needle)
					}
					return nil
				},
			},
		},
	}
}
