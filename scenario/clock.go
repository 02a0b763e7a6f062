package scenario

import (
	"context"
	"fmt"
	"time"
)

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
					w := WorldFrom(ctx)
					r, err := w.Do(ctx, "POST", "/_sim/clock/advance", []byte(fmt.Sprintf(`{"by":%q}`, by)))
					if err != nil {
						return err
					}
					if r.Status != 200 {
						return fmt.Errorf("advancing the clock by %s: %d %s", by, r.Status, clip(r.Body))
					}
					return nil
				},
			},
			{
				Pattern: `^the clock reads "([^"]*)"$`,
				Doc:     "Checks the simulator's time (RFC 3339).",
				Example: `Then the clock reads "2026-11-24T10:00:00Z"`,
				Func: func(ctx context.Context, want string) error {
					w := WorldFrom(ctx)
					r, err := w.Do(ctx, "GET", "/_sim/clock", nil)
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
		},
	}
}
