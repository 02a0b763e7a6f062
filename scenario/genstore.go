package scenario

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"

	"github.com/pspsim/pspsim/simulator/genstore/genstoretest"
)

// The Genstore steps script a payment app that QA does not have to write:
// a scripted app (genstoretest.App) runs beside the scenario on a loopback
// port, receives what Genstore sends, verifies and records it, answers as
// the scenario says, and calls Genstore back when told. The merchant's and
// buyer's actions go through the admin API.
//
// Remembered values: {shopId}, {paymentId}, {captureId}, {voidId},
// {refundId}, {clientId}, {token}.

// genstoreWorld is a scenario's Genstore state, carried in the context.
type genstoreWorld struct {
	mu   sync.Mutex
	apps map[string]*genstoretest.App
	app  *genstoretest.App // the latest registered
	// concurrent holds the answers of the last burst of callbacks.
	concurrent []burstAnswer
}

type burstAnswer struct {
	ok     bool
	status int
}

type genstoreKey struct{}

// genstoreOf returns the scenario's Genstore state, creating it (and
// arranging for its apps to stop when the scenario ends).
func genstoreOf(ctx context.Context) (context.Context, *genstoreWorld) {
	if g, ok := ctx.Value(genstoreKey{}).(*genstoreWorld); ok {
		return ctx, g
	}
	g := &genstoreWorld{apps: map[string]*genstoretest.App{}}
	context.AfterFunc(ctx, func() {
		g.mu.Lock()
		defer g.mu.Unlock()
		for _, a := range g.apps {
			a.Close()
		}
	})
	return context.WithValue(ctx, genstoreKey{}, g), g
}

func (g *genstoreWorld) current() (*genstoretest.App, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.app == nil {
		return nil, fmt.Errorf(`no payment app yet: start with Given a payment app "my-app" is registered with Genstore`)
	}
	return g.app, nil
}

// currentApp returns the scenario's latest registered app, with the context
// that carries the scenario's Genstore state (the step returns it).
func currentApp(ctx context.Context) (context.Context, *genstoretest.App, error) {
	ctx, g := genstoreOf(ctx)
	app, err := g.current()
	return ctx, app, err
}

// admin sends an admin request, expects want, and decodes the answer.
func (w *World) admin(ctx context.Context, method, path string, body any, want int) (map[string]any, error) {
	var raw []byte
	if body != nil {
		raw, _ = json.Marshal(body)
	}
	r, err := w.Do(ctx, method, path, raw)
	if err != nil {
		return nil, err
	}
	if r.Status != want {
		return nil, fmt.Errorf("%s %s: %d %s (want %d)", method, path, r.Status, clip(r.Body), want)
	}
	var m map[string]any
	json.Unmarshal(r.Body, &m)
	return m, nil
}

func (w *World) shop() (string, error) {
	id, ok := w.Get("shopId")
	if !ok {
		return "", fmt.Errorf(`no shop yet: install the app first (the app "my-app" is installed on shop "1001")`)
	}
	return id, nil
}

func (w *World) paymentPath(suffix string) (string, error) {
	shop, err := w.shop()
	if err != nil {
		return "", err
	}
	id, ok := w.Get("paymentId")
	if !ok {
		return "", fmt.Errorf("no payment yet: a buyer must pay first")
	}
	return "/_sim/genstore/shops/" + shop + "/payments/" + id + suffix, nil
}

// payment reads the merchant's view of the remembered payment.
func (w *World) payment(ctx context.Context) (map[string]any, error) {
	saved := w.Last
	defer func() { w.Last = saved }()
	p, err := w.paymentPath("")
	if err != nil {
		return nil, err
	}
	return w.admin(ctx, "GET", p, nil, 200)
}

func (w *World) operationOf(ctx context.Context, kind string) (map[string]any, error) {
	v, err := w.payment(ctx)
	if err != nil {
		return nil, err
	}
	id, ok := w.Get(kind + "Id")
	if !ok {
		return nil, fmt.Errorf("no %s yet", kind)
	}
	ops, _ := v["operations"].([]any)
	for _, o := range ops {
		if m, _ := o.(map[string]any); m["id"] == id {
			return m, nil
		}
	}
	return nil, fmt.Errorf("the payment has no %s %s", kind, id)
}

func kindID(w *World, kind string) (string, error) {
	id, ok := w.Get(kind + "Id")
	if !ok {
		return "", fmt.Errorf("no %s to report on yet", kind)
	}
	return id, nil
}

func genstoreSteps() Group {
	return Group{
		Name: "Genstore",
		Doc: "Drive Genstore against a scripted payment app that runs beside the scenario: register and install it, let a buyer pay, " +
			"let the merchant capture, void and refund, script the app's answers and callbacks, and check what the app received and what Genstore recorded. " +
			"Remembered: `{shopId}`, `{paymentId}`, `{captureId}`, `{voidId}`, `{refundId}`, `{clientId}`, `{token}`.",
		Steps: slices.Concat(genstoreSetupSteps(), genstoreActionSteps(), genstoreCheckSteps(), genstoreChallengeSteps()),
	}
}
