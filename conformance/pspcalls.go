package conformance

import (
	"context"
	"fmt"
	"sort"
)

// The calls an app makes to the card gateway. "No call to the PSP" means no
// call (docs/CONTRACT.md §2.6, §5.2): a request the gateway refused, or that
// one of the scenario's faults answered instead of the gateway, is a call
// the app made all the same. The gateway journals every request with the
// caller's app and environment: api.request when its handler ran,
// api.refused when it was refused before (a body that breaks the spec, say);
// a fault that answers instead of the operation leaves fault.fired.

// pspCall is one request the app made to its PSP during the scenario.
type pspCall struct {
	Seq         int64
	System      string // the PSP: vmgateway, codepay
	Operation   string // the PSP's operation: createPayment, capturePayment, pay.merchant.checkout, ...
	Kind        string // the Genstore kind of operation it carries out when it moves money, else ""
	Environment string // sandbox or live, from the credentials ("" when a fault answered)
	Status      int    // the answer's HTTP status (0 when a fault answered)
	Code        string // the gateway's error code, if any
	OrderNo     string
	TradeNo     string
	Fault       string // the fault action that answered instead of the gateway
	ev          Event
}

// ref renders a call as evidence.
func (c pspCall) ref() string {
	if c.Fault != "" {
		return fmt.Sprintf("journal #%d: %s answered by fault %s (%s)", c.Seq, c.Operation, c.Fault, c.ev.IDs["rule"])
	}
	s := fmt.Sprintf("journal #%d %s %s: %s → %d", c.Seq, c.System, c.ev.Kind, c.Operation, c.Status)
	if c.Code != "" {
		s += " " + c.Code
	}
	if c.Environment != "" {
		s += " with " + c.Environment + " credentials"
	}
	if c.OrderNo != "" {
		s += ", orderNo " + c.OrderNo
	}
	return s
}

// definitive reports whether the gateway answered the call itself, with a
// result the app can act on: a 2xx or a 4xx, not a 5xx or a fault.
func (c pspCall) definitive() bool { return c.Fault == "" && c.Status >= 200 && c.Status < 500 }

// faultAnswers are the fault actions that answer a served API instead of its
// operation (the others let the operation run, and it journals the call).
var faultAnswers = map[string]bool{"status": true, "error": true, "timeout": true, "reset": true, "malformed": true}

// ownApp reports whether a gateway appId is one of the app's (app.yaml psp:).
func (h *Harness) ownApp(appID string) bool {
	return appID != "" && (appID == h.App.PSP.Sandbox.AppID || appID == h.App.PSP.Live.AppID)
}

// pspCalls returns the calls the app made to its PSP during the scenario,
// oldest first.
func (w *world) pspCalls(ctx context.Context) ([]pspCall, error) {
	v := w.h.psp
	evs, err := w.myEvents(ctx, "system", v.system(), "kind", v.callKind())
	if err != nil {
		return nil, err
	}
	out := v.calls(w.h, evs)
	fired, err := w.faultsFired(ctx)
	if err != nil {
		return nil, err
	}
	for _, f := range fired {
		if f.str("system") == v.system() && faultAnswers[f.str("action")] {
			op := f.str("operation")
			out = append(out, pspCall{Seq: f.Seq, System: v.system(), Operation: op, Kind: faultKind(v, op), Fault: f.str("action"), ev: f})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Seq < out[j].Seq })
	return out, nil
}

// moneyCalls returns the calls that move money for a kind of operation
// (payment, capture, void, refund; "" for any) made after seq.
func moneyCalls(calls []pspCall, kind string, after int64) []pspCall {
	var out []pspCall
	for _, c := range calls {
		if c.Kind != "" && (kind == "" || c.Kind == kind) && c.Seq > after {
			out = append(out, c)
		}
	}
	return out
}

// callRefs renders calls as evidence.
func callRefs(cs []pspCall) []string {
	out := make([]string, 0, len(cs))
	for _, c := range cs {
		out = append(out, c.ref())
	}
	return out
}

// wrongEnvironment returns the calls of the scenario about its PSP orders
// (or that move money) made with the other environment's credentials than
// the shop's mode asks for (docs/CONTRACT.md §6), and the verdict code.
func (w *world) wrongEnvironment(ctx context.Context) ([]string, Code, error) {
	want, code := "sandbox", TestModeLiveCredentials
	if w.live {
		want, code = "live", TestModeSandboxCredentials
	}
	ps, err := w.h.pspPayments(ctx, w.start)
	if err != nil {
		return nil, code, err
	}
	ours := map[string]bool{}
	var wrong []string
	for _, p := range ps {
		ours[p.TradeNo], ours[p.OrderNo] = true, true
		if p.Environment != want {
			wrong = append(wrong, p.ref())
		}
		for _, r := range p.Refunds {
			if r.Environment != want {
				wrong = append(wrong, fmt.Sprintf("PSP refund %s of %s in %s", r.RefundID, p.TradeNo, r.Environment))
			}
		}
	}
	calls, err := w.pspCalls(ctx)
	if err != nil {
		return nil, code, err
	}
	for _, c := range calls {
		if (ours[c.TradeNo] || ours[c.OrderNo] || c.Kind != "") && c.Environment != "" && c.Environment != want {
			wrong = append(wrong, c.ref())
		}
	}
	return wrong, code, nil
}

// faultKind is the Genstore kind of operation of a PSP operation a fault
// answered instead of the PSP.
func faultKind(v pspView, op string) string {
	if v.system() == "codepay" {
		return cpMoneyOps[op]
	}
	return vmMoneyOps[op]
}
