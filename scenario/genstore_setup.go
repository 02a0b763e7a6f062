package scenario

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/pspsim/pspsim/simulator/genstore"
	"github.com/pspsim/pspsim/simulator/genstore/genstoretest"
)

// genstoreSetupSteps set the scene: a shop, a scripted app registered and
// installed on it, and what the app will answer.
func genstoreSetupSteps() []Step {
	return []Step{
		{
			Pattern: `^a Genstore shop "([^"]*)" in (test|live) mode with a fee of (\d+) basis points plus (\d+)$`,
			Doc:     "Creates a shop (its name is `shop-<id>`, currency USD, UTC) and remembers it as {shopId}.",
			Example: `Given a Genstore shop "7001" in test mode with a fee of 290 basis points plus 30`,
			Func: func(ctx context.Context, id, mode string, bps, fixed int) (context.Context, error) {
				w := WorldFrom(ctx)
				_, err := w.admin(ctx, "POST", "/_sim/genstore/shops", map[string]any{"shopId": id, "shop": "shop-" + strings.ToLower(id),
					"testMode": mode == "test", "feePlan": map[string]any{"percentBasisPoints": bps, "fixedMinor": fixed}}, 201)
				w.Set("shopId", id)
				return ctx, err
			},
		},
		{
			Pattern: `^a payment app "([^"]*)" is registered with Genstore$`,
			Doc:     "Starts a scripted payment app (its own P-256 key, every endpoint) and registers it through the admin API. It acknowledges every request with 200 until told otherwise.",
			Example: `Given a payment app "my-app" is registered with Genstore`,
			Func: func(ctx context.Context, name string) (context.Context, error) {
				ctx, g := genstoreOf(ctx)
				w := WorldFrom(ctx)
				app, err := genstoretest.New(name, name+"-secret-0001", w.Target)
				if err != nil {
					return ctx, err
				}
				if w.Sim != nil {
					app.Now = w.Sim.Clock().Now
				}
				g.mu.Lock()
				g.apps[name], g.app = app, app
				g.mu.Unlock()
				w.Set("clientId", name)
				_, err = w.admin(ctx, "POST", "/_sim/genstore/apps", app.Registration(), 201)
				return ctx, err
			},
		},
		{
			Pattern: `^the app "([^"]*)" is installed on shop "([^"]*)"$`,
			Doc:     "The merchant installs the app: Genstore sends the browser to the app's onboarding URL with a code; the app exchanges it for the shop's token ({token}) and reports account_authorize ready. Remembers the shop as {shopId}.",
			Example: `And the app "my-app" is installed on shop "1001"`,
			Func: func(ctx context.Context, name, shop string) (context.Context, error) {
				ctx, g := genstoreOf(ctx)
				w := WorldFrom(ctx)
				g.mu.Lock()
				app := g.apps[name]
				g.mu.Unlock()
				if app == nil {
					return ctx, fmt.Errorf("no app %q is registered in this scenario", name)
				}
				if _, err := w.admin(ctx, "POST", "/_sim/genstore/shops/"+shop+"/installations", map[string]any{"clientId": name}, 201); err != nil {
					return ctx, err
				}
				if errs := app.Errors(); len(errs) > 0 || app.Token() == "" {
					return ctx, fmt.Errorf("the installation did not complete: %v", errs)
				}
				w.Set("shopId", shop)
				w.Set("token", app.Token())
				return ctx, nil
			},
		},
		{
			Pattern: `^the app reports its account (ready|not ready)$`,
			Doc:     "The app calls PUT /api/202412/app/account_authorize with ready true or false; the answer becomes the last response.",
			Example: `When the app reports its account not ready`,
			Func: func(ctx context.Context, state string) (context.Context, error) {
				ctx, app, err := currentApp(ctx)
				if err != nil {
					return ctx, err
				}
				r, err := app.Ready(ctx, state == "ready")
				WorldFrom(ctx).Last = &Response{Status: r.Status, Body: r.Body}
				return ctx, err
			},
		},
		{
			Pattern: `^the app answers (payment|capture|void|refund) requests with HTTP (\d{3})(?: the first (\d+) times?)?$`,
			Doc:     "Scripts the app's HTTP status for requests of a kind: always, or only the first n times (then 200 again). A non-200 answer carries {\"error\": \"scripted\"}.",
			Example: `Given the app answers payment requests with HTTP 503 the first 3 times`,
			Func: func(ctx context.Context, kind string, status int, times string) (context.Context, error) {
				ctx, app, err := currentApp(ctx)
				if err != nil {
					return ctx, err
				}
				rep := genstoretest.Reply{Status: status}
				if status != 200 {
					rep.Body = map[string]string{"error": "scripted"}
				}
				if times == "" {
					app.Default(kind, rep)
					return ctx, nil
				}
				n, _ := strconv.Atoi(times)
				for range n {
					app.Queue(kind, rep)
				}
				return ctx, nil
			},
		},
		{
			Pattern: `^the app asks the buyer for a one-time password$`,
			Doc:     "The app acknowledges the next payment with a redirectUrl to its own challenge page (the pspsim challenge contract), which sends the buyer back to the shop.",
			Example: `Given the app asks the buyer for a one-time password`,
			Func: func(ctx context.Context) (context.Context, error) {
				ctx, app, err := currentApp(ctx)
				if err != nil {
					return ctx, err
				}
				app.Queue(genstore.KindPayment, genstoretest.Reply{Challenge: true})
				return ctx, nil
			},
		},
		{
			Pattern: `^the app answers queries about the (payment|refund) with "(PROCESSING|SUCCESS|FAILURE)"$`,
			Doc:     "Scripts what the app's paymentQueryUrl (or refundQueryUrl) says about the remembered payment (or refund).",
			Example: `Given the app answers queries about the payment with "SUCCESS"`,
			Func: func(ctx context.Context, kind, status string) (context.Context, error) {
				ctx, app, err := currentApp(ctx)
				if err != nil {
					return ctx, err
				}
				id, err := kindID(WorldFrom(ctx), kind)
				if err != nil {
					return ctx, err
				}
				q := genstoretest.QueryAnswer{Status: status, ChannelID: "ch_" + id}
				if status == "FAILURE" {
					q.Error = "declined by the issuer"
				}
				app.Answer(id, q)
				return ctx, nil
			},
		},
	}
}
