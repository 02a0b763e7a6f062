package scenario

import (
	"context"
	"fmt"

	"github.com/pspsim/pspsim/fixtures"
)

// Reset empties the simulator (POST /_sim/reset): state, journal, pending
// deliveries and the fault rules added at run time.
func (w *World) Reset(ctx context.Context) error {
	r, err := w.peek(ctx, "POST", "/_sim/reset", nil)
	if err != nil {
		return fmt.Errorf("resetting the simulator at %s: %w", w.Target, err)
	}
	if r.Status != 200 {
		return fmt.Errorf("resetting the simulator: %d %s", r.Status, clip(r.Body))
	}
	return nil
}

func setupSteps() Group {
	return Group{
		Name: "Set-up",
		Doc: "Start from a known state. Each scenario gets a fresh simulator (in process) or a reset one (`pspsim scenario --target`). " +
			"The systems' own steps add merchants, shops, apps and terminals; the sandbox fixtures (`pspsim fixtures`) are there from the start.",
		Steps: []Step{
			{
				Pattern: `^the simulator is reset$`,
				Doc:     "Empties the simulator: objects, the journal, pending deliveries and the fault rules added at run time; fixtures, rule files and magic amounts come back. The clock does not move back.",
				Example: `Given the simulator is reset`,
				Func:    func(ctx context.Context) error { return WorldFrom(ctx).Reset(ctx) },
			},
			{
				Pattern: `^I use the (Visa|Mastercard) test card (\d\d) as "([^"]*)"$`,
				Doc:     "Remembers a magic test card number (docs/TESTCARDS.md, `pspsim fixtures`) under a name; `{name}` inserts it. The card's row decides the outcome (00 approved, 06 challenge, 20 insufficient funds, 26 PSP timeout...).",
				Example: `Given I use the Visa test card 20 as "card"`,
				Func: func(ctx context.Context, brand, nn, name string) error {
					cs, err := fixtures.TestCards()
					if err != nil {
						return err
					}
					for _, c := range cs.Cards {
						if c.NN == nn {
							number := c.Visa
							if brand == "Mastercard" {
								number = c.Mastercard
							}
							WorldFrom(ctx).Set(name, number)
							return nil
						}
					}
					return fmt.Errorf("no test card %s (pspsim fixtures lists them)", nn)
				},
			},
			{
				Pattern: `^I remember "([^"]*)" as "([^"]*)"$`,
				Doc:     "Remembers a value under a name; later steps write it `{name}`.",
				Example: `Given I remember "A0001" as "order"`,
				Func: func(ctx context.Context, value, name string) error {
					w := WorldFrom(ctx)
					w.Set(name, w.Expand(value))
					return nil
				},
			},
		},
	}
}
