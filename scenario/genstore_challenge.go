package scenario

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/pspsim/pspsim/simulator/genstore/genstoretest"
)

// genstoreChallengeSteps follow the buyer through the challenge page the
// app's acknowledgement redirected to, and back to the shop.
func genstoreChallengeSteps() []Step {
	return []Step{
		{
			Pattern: `^the buyer opens the redirect$`,
			Doc:     "The buyer's browser opens the redirectUrl the app acknowledged the payment with; the description of the page is the last response.",
			Example: `When the buyer opens the redirect`,
			Func: func(ctx context.Context) (context.Context, error) {
				return buyer(ctx, "redirect", nil)
			},
		},
		{
			Pattern: `^the buyer (enters the one-time password "([^"]*)"|cancels the challenge) on the redirect page$`,
			Doc:     "The buyer completes (or abandons) the challenge page the app's redirectUrl led to, and the browser follows the 303 back to the shop; the outcome is the last response. (For a card gateway challenge reached without Genstore, see the 3-D Secure steps.)",
			Example: `When the buyer enters the one-time password "123456" on the redirect page`,
			Func: func(ctx context.Context, what, otp string) (context.Context, error) {
				body := map[string]any{"otp": otp, "action": "submit"}
				if strings.HasPrefix(what, "cancels") {
					body = map[string]any{"action": "cancel"}
				}
				return buyer(ctx, "challenge", body)
			},
		},
		{
			Pattern: `^the app saw the buyer (submit the one-time password "([^"]*)"|cancel)$`,
			Doc:     "What the buyer did on the app's challenge page.",
			Example: `Then the app saw the buyer submit the one-time password "123456"`,
			Func: func(ctx context.Context, what, otp string) (context.Context, error) {
				ctx, app, err := currentApp(ctx)
				if err != nil {
					return ctx, err
				}
				ch := app.Challenges()
				if len(ch) == 0 {
					return ctx, fmt.Errorf("the buyer did nothing on the app's challenge page")
				}
				last := ch[len(ch)-1]
				want := genstoretest.Challenge{PaymentID: last.PaymentID, OTP: otp, Action: "submit"}
				if what == "cancel" {
					want.Action = "cancel"
				}
				if last != want {
					return ctx, fmt.Errorf("the buyer did %+v, not %+v", last, want)
				}
				return ctx, nil
			},
		},
		{
			Pattern: `^the buyer is back at the shop$`,
			Doc:     "The buyer reached the payment's returnUrl (Genstore's return page), which starts the 30-second deadline for the result.",
			Example: `Then the buyer is back at the shop`,
			Func: func(ctx context.Context) (context.Context, error) {
				v, err := WorldFrom(ctx).payment(ctx)
				if err != nil {
					return ctx, err
				}
				if b, _ := v["buyer"].(map[string]any); b["returnedAt"] == nil {
					return ctx, fmt.Errorf("the buyer has not come back: %v", v["buyer"])
				}
				return ctx, nil
			},
		},
	}
}

// buyer has Genstore's buyer act in the browser: open the redirect, or
// answer the challenge page it led to.
func buyer(ctx context.Context, action string, body map[string]any) (context.Context, error) {
	ctx, _ = genstoreOf(ctx)
	w := WorldFrom(ctx)
	path, err := w.paymentPath("/buyer/" + action)
	if err != nil {
		return ctx, err
	}
	var raw []byte
	if body != nil {
		raw, _ = json.Marshal(body)
	}
	_, err = w.Do(ctx, "POST", path, raw)
	return ctx, err
}
