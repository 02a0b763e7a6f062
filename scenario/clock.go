package scenario

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// moveClock posts a clock move and fails the step on anything but 200.
func (w *World) moveClock(ctx context.Context, path, body string) error {
	r, err := w.peek(ctx, "POST", path, []byte(body))
	if err != nil {
		return err
	}
	if r.Status != 200 {
		return fmt.Errorf("moving the clock (%s): %d %s", body, r.Status, clip(r.Body))
	}
	return nil
}

func clockSteps() Group {
	return Group{
		Name: "Clock",
		Doc:  "Move the simulated clock (the simulator runs with `--clock=sim`). Everything due on the way — expiries, retries, deliveries — happens, in order, before the step ends.",
		Steps: []Step{
			{
				Pattern: `^the clock advances by "([^"]*)"$`,
				Doc:     "Moves the clock forward by a Go duration (`90s`, `1h30m`, `48h`).",
				Example: `When the clock advances by "48h"`,
				Func: func(ctx context.Context, by string) error {
					return WorldFrom(ctx).moveClock(ctx, "/_sim/clock/advance", fmt.Sprintf(`{"by":%q}`, by))
				},
			},
			{
				Pattern: `^the clock reads "([^"]*)"$`,
				Doc:     "Checks the simulator's time (RFC 3339).",
				Example: `Then the clock reads "2026-11-24T10:00:00Z"`,
				Func: func(ctx context.Context, want string) error {
					w := WorldFrom(ctx)
					r, err := w.peek(ctx, "GET", "/_sim/clock", nil)
					if err != nil {
						return err
					}
					v, _ := Field(r.Body, "now")
					got, err1 := time.Parse(time.RFC3339Nano, text(v))
					exp, err2 := time.Parse(time.RFC3339Nano, want)
					if err1 != nil || err2 != nil || !got.Equal(exp) {
						return fmt.Errorf("the clock reads %s, not %s", text(v), want)
					}
					return nil
				},
			},
			{
				Pattern: `^the clock is set to "([^"]*)"$`,
				Doc:     "Moves the clock to a point in time (RFC 3339, never backwards); everything due on the way happens, in order.",
				Example: `When the clock is set to "2026-11-23T00:00:00Z"`,
				Func: func(ctx context.Context, to string) error {
					if _, err := time.Parse(time.RFC3339, to); err != nil {
						return fmt.Errorf("%q is not an RFC 3339 time", to)
					}
					return WorldFrom(ctx).moveClock(ctx, "/_sim/clock/set", fmt.Sprintf(`{"to":%q}`, to))
				},
			},
			{
				Pattern: `^the clock advances by "([^"]*)" in steps of "([^"]*)"$`,
				Doc:     "Moves the clock in equal steps, so that what falls due in each step happens before the next one starts (a long outage watched hour by hour).",
				Example: `When the clock advances by "48h" in steps of "8h"`,
				Func: func(ctx context.Context, by, step string) error {
					total, err1 := time.ParseDuration(by)
					st, err2 := time.ParseDuration(step)
					if err1 != nil || err2 != nil || st <= 0 || total < 0 {
						return fmt.Errorf("want two durations like 48h and 8h")
					}
					if total/st > 10000 {
						return fmt.Errorf("%s in steps of %s is more than 10000 steps", by, step)
					}
					w := WorldFrom(ctx)
					for moved := time.Duration(0); moved < total; moved += st {
						d := st
						if total-moved < st {
							d = total - moved
						}
						if err := w.moveClock(ctx, "/_sim/clock/advance", fmt.Sprintf(`{"by":%q}`, d.String())); err != nil {
							return err
						}
					}
					return nil
				},
			},
			{
				Pattern: `^(\d+) timers? (?:is|are) waiting on the clock$`,
				Doc:     "Checks how many timers (retries, expiries, delayed messages) wait on the simulated clock.",
				Example: `Then 0 timers are waiting on the clock`,
				Func: func(ctx context.Context, n int) error {
					w := WorldFrom(ctx)
					r, err := w.peek(ctx, "GET", "/_sim/clock", nil)
					if err != nil {
						return err
					}
					var c struct {
						PendingTimers *int `json:"pendingTimers"`
					}
					json.Unmarshal(r.Body, &c)
					if c.PendingTimers == nil {
						return fmt.Errorf("the clock is not simulated: %s", clip(r.Body))
					}
					if *c.PendingTimers != n {
						return fmt.Errorf("%d timers wait on the clock, not %d", *c.PendingTimers, n)
					}
					return nil
				},
			},
		},
	}
}
