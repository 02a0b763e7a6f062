package conformance

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/pspsim/pspsim/simulator/genstore"
)

// What the app owes, and the clock.
//
// The app runs in real time; Genstore's and the PSP's schedules run on the
// simulated clock, which moves only when a scenario moves it. Moving it while
// the app is still working on what already happened would judge the app by
// the order it does its work in rather than by what it does: a
// reconciliation poll that comes while the app's PSP call is in flight gets
// PROCESSING (which docs/CONTRACT.md §2.7 allows); a refund the app creates
// after the settlement moment has passed never settles. So before every
// clock move the world works out what the app owes for what has happened so
// far, and waits for it with the suite's patience (suite.resultWait), then
// for quiet (suite.quiet). For each operation Genstore handed the app that
// has no final result yet:
//
//   - while the app may still be working on it — it acknowledged the
//     request, or Genstore's attempt got no answer at all — it owes a call to
//     the PSP for it, or a callback (an app that refuses the operation
//     itself calls no PSP);
//   - once the PSP's outcome is final (its records say so, or it answered
//     the app's call for it with a 2xx or a 4xx), it owes a callback attempt.
//
// An app that answered Genstore 5xx has declined the request for now: it
// owes nothing until Genstore's retry, which the clock brings. What depends
// on the clock (a refund's settlement, a decoupled authentication) is not
// owed before the clock moves. A correct app is never judged by a clock it
// could not keep up with; a broken one is judged when the wait runs out, by
// the step that judges.

// debt is one thing the app owes.
type debt struct {
	kind, id string
	what     string
}

func (d debt) String() string { return fmt.Sprintf("%s %s: %s", d.kind, d.id, d.what) }

// advance moves the simulated clock once the app has done what it owes.
func (w *world) advance(ctx context.Context, d time.Duration) error {
	if err := w.awaitOwed(ctx); err != nil {
		return err
	}
	return w.h.admin(ctx, "POST", "/_sim/clock/advance", map[string]any{"by": d.String()}, http.StatusOK, nil)
}

// awaitOwed waits until the app owes nothing (at most suite.resultWait),
// then until it is quiet. A wait that runs out is not a verdict: the step
// that judges says what was missing.
func (w *world) awaitOwed(ctx context.Context) error {
	err := w.waitFor(ctx, w.h.Timing.ResultWait, func() (bool, error) {
		owed, err := w.owed(ctx)
		return len(owed) == 0, err
	})
	if err != nil && !errors.Is(err, errWaited) {
		return err
	}
	return w.settle(ctx)
}

// owed lists what the app owes right now.
func (w *world) owed(ctx context.Context) ([]debt, error) {
	if w.paymentID == "" {
		return nil, nil
	}
	p, err := w.payment(ctx)
	if err != nil {
		return nil, err
	}
	ops := []outcome{paymentOutcome(p)}
	for kind, id := range w.ops {
		if o := p.op(kind, id); o != nil {
			ops = append(ops, outcome{kind: kind, id: id, request: o.Request, ack: o.Ack, result: o.Result, payment: p})
		}
	}
	var calls []pspCall
	var callbacks []Event
	var out []debt
	for _, o := range ops {
		if o.result != nil || !mayBeWorking(o) {
			continue
		}
		if calls == nil {
			if calls, err = w.pspCalls(ctx); err != nil {
				return nil, err
			}
			if callbacks, err = w.callbackAttempts(ctx); err != nil {
				return nil, err
			}
		}
		since, err := w.requestSeq(ctx, o.kind, o.id)
		if err != nil {
			return nil, err
		}
		mine := moneyCalls(calls, o.kind, since)
		reported := reportedSince(callbacks, o.kind, o.id, since)
		switch {
		case reported:
		case len(mine) == 0:
			out = append(out, debt{o.kind, o.id, "a call to the PSP, or a callback"})
		default:
			final, err := w.pspFinal(ctx, o, mine)
			if err != nil {
				return nil, err
			}
			if final {
				out = append(out, debt{o.kind, o.id, "a callback: the PSP's outcome is final"})
			}
		}
	}
	return out, nil
}

// mayBeWorking reports whether the app may still be working on an operation
// Genstore sent it: it acknowledged it, or Genstore's last attempt got no
// answer at all (the app may be at its PSP). A 5xx or a final answer is the
// app declining it for now.
func mayBeWorking(o outcome) bool {
	if o.ack != nil {
		return true
	}
	return o.request.Attempts > 0 && o.request.LastStatus == 0 && o.request.LastError != ""
}

// requestSeq returns the journal sequence number of Genstore's request of an
// operation (its <kind>.request event): what the app does about it comes after.
func (w *world) requestSeq(ctx context.Context, kind, id string) (int64, error) {
	key := kind + "/" + id
	if seq, ok := w.reqSeq[key]; ok {
		return seq, nil
	}
	evs, err := w.myEvents(ctx, "system", "genstore", "kind", kind+".request", kind+"Id", id)
	if err != nil || len(evs) == 0 {
		return w.start, err
	}
	w.reqSeq[key] = evs[0].Seq
	return evs[0].Seq, nil
}

// callbackAttempts returns every callback the app sent Genstore for the
// scenario's shop — taken, refused, or failed on purpose by a fault.
func (w *world) callbackAttempts(ctx context.Context) ([]Event, error) {
	evs, err := w.myEvents(ctx, "system", "genstore", "kind", "callback", "shopId", w.shopID)
	if err != nil {
		return nil, err
	}
	fired, err := w.faultsFired(ctx)
	if err != nil {
		return nil, err
	}
	for _, f := range fired {
		if f.str("system") == genstore.Name && strings.HasPrefix(f.str("operation"), "update") {
			evs = append(evs, f)
		}
	}
	return evs, nil
}

// reportedSince reports whether a callback about an operation came after
// seq: one naming it, one Genstore refused without knowing what it was about
// (a wrong id), or one a fault failed on purpose.
func reportedSince(evs []Event, kind, id string, seq int64) bool {
	for _, e := range evs {
		if e.Seq <= seq {
			continue
		}
		switch {
		case e.IDs[kind+"Id"] == id:
			return true
		case e.System == genstore.Name && e.Kind == "callback.refused":
			return true
		case e.System != genstore.Name: // a fault's firing on a callback
			return true
		}
	}
	return false
}

// pspFinal reports whether the PSP's outcome of an operation is final: for a
// payment, the PSP's record left PENDING and REQUIRES_ACTION; for a capture,
// void or refund, the gateway answered the app's call for it itself (2xx or
// 4xx) and, for a refund, settled what it took.
func (w *world) pspFinal(ctx context.Context, o outcome, calls []pspCall) (bool, error) {
	if o.kind == genstore.KindPayment {
		ps, err := w.h.pspPayments(ctx, w.start)
		if err != nil {
			return false, err
		}
		for _, p := range ps {
			if p.Status != "PENDING" && p.Status != "REQUIRES_ACTION" {
				return true, nil
			}
		}
		return false, nil
	}
	answered := false
	for _, c := range calls {
		answered = answered || c.definitive()
	}
	if !answered || o.kind != genstore.KindRefund {
		return answered, nil
	}
	ps, err := w.h.pspPayments(ctx, w.start)
	if err != nil {
		return false, err
	}
	for _, p := range ps {
		for _, r := range p.Refunds {
			if r.Status == "PENDING" {
				return false, nil
			}
		}
	}
	return true, nil
}
