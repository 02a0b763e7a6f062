package paymentapp

import (
	"context"
	"net/http"
	"net/url"
	"time"
)

// The correct variants (bugs.go): another design, the same contract.
//
// VariantAckFirst acknowledges a request as soon as it has recorded it and does the work
// in the background (docs/CONTRACT.md §2.4: 200 means received; the channel id may be ""
// until the PSP gives one, and comes with the callback). A payment's acknowledgement
// cannot know yet whether the issuer will want to challenge the buyer, so it always sends
// the buyer to the app's own checkout page (/checkout/{token}); the page waits for the
// PSP's first answer and sends the buyer on to the challenge, or straight back to the shop.
//
// Variant5xxWhilePSPDown lives where the PSP's failures are handled (payment.go,
// operations.go): PaymentAck.busy and OpAck.busy become a 503 that is never stored.

// checkoutWait bounds how long the checkout page waits for the PSP's first answer.
const checkoutWait = 10 * time.Second

// acceptPayment records a payment, acknowledges it, and charges it in the background.
func (a *App) acceptPayment(sp signedParams, req paymentRequest, hash string) PaymentAck {
	token := newReturnToken()
	ack := PaymentAck{RedirectURL: a.cfg.PublicURL + "/checkout/" + token}
	_, err := a.store.UpdatePayment(a.ctx, sp.ShopID, req.PaymentID, func(p *PaymentRecord, found bool) error {
		*p = PaymentRecord{Shop: sp.Shop, BodyHash: hash, ReturnToken: token, ReturnURL: req.PaymentMethod.Data.ReturnURL, Answered: true, Ack: ack}
		return nil
	})
	if err != nil {
		a.log.Error("cannot record the payment", "paymentId", req.PaymentID, "err", err)
		return PaymentAck{Error: "the payment app could not record the payment; please retry", busy: true}
	}
	a.goAsync(func(ctx context.Context) { a.processPayment(ctx, sp, req, hash) })
	return ack
}

// acceptOperation records a capture, void or refund, acknowledges it, and carries it out
// in the background.
func (a *App) acceptOperation(kind OpKind, sp signedParams, req opRequest, hash string) OpAck {
	_, err := a.store.UpdateOperation(a.ctx, kind, sp.ShopID, req.id(kind), func(o *OperationRecord, found bool) error {
		*o = OperationRecord{Shop: sp.Shop, PaymentID: req.PaymentID, BodyHash: hash, Answered: true}
		return nil
	})
	if err != nil {
		a.log.Error("cannot record an operation", "kind", kind, "id", req.id(kind), "err", err)
		return OpAck{Error: "the payment app could not record the request; please retry", busy: true}
	}
	a.goAsync(func(ctx context.Context) { a.processOperation(ctx, kind, sp, req, hash) })
	return OpAck{}
}

// noteChallenge records where the PSP wants the buyer, for the checkout page.
func (a *App) noteChallenge(ctx context.Context, p PaymentRecord, challengeURL string) {
	_, _ = a.store.UpdatePayment(ctx, p.ShopID, p.PaymentID, func(r *PaymentRecord, found bool) error {
		if !found {
			return ErrNotFound
		}
		r.ChallengeURL = challengeURL
		return nil
	})
}

// handleCheckout is the page an acknowledge-first payment sends the buyer to: once the PSP
// has answered, on to its challenge, or back to the shop.
func (a *App) handleCheckout(w http.ResponseWriter, r *http.Request) {
	token := r.PathValue("token")
	deadline := time.Now().Add(checkoutWait)
	for {
		p, err := a.store.PaymentByReturnToken(r.Context(), token)
		if err != nil {
			writePage(w, http.StatusNotFound, "Unknown payment", "This payment is not known here.")
			return
		}
		late := time.Now().After(deadline)
		switch {
		case p.ChallengeURL != "" && !p.Result.Final:
			http.Redirect(w, r, p.ChallengeURL, http.StatusSeeOther)
			return
		case p.PSPStatus == gwRequiresAction && !p.Result.Final && !late:
			// the challenge's URL is being recorded
		case p.Result.Final || p.PSPStatus != "" || late:
			if u, err := url.Parse(p.ReturnURL); err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != "" {
				http.Redirect(w, r, p.ReturnURL, http.StatusSeeOther)
				return
			}
			writePage(w, http.StatusOK, "Payment received", "You can return to the shop.")
			return
		}
		select {
		case <-r.Context().Done():
			return
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// unreserve gives back what reserve held for an operation that the app declined for now
// (Variant5xxWhilePSPDown): Genstore's retry reserves afresh.
func (a *App) unreserve(ctx context.Context, o OperationRecord) {
	cur, err := a.store.Operation(ctx, o.Kind, o.ShopID, o.ID)
	if err != nil {
		return
	}
	_, _ = a.store.UpdatePayment(ctx, o.ShopID, o.PaymentID, func(p *PaymentRecord, found bool) error {
		if !found {
			return ErrNotFound
		}
		if p.Busy == string(o.Kind)+":"+o.ID {
			p.Busy = ""
		}
		p.RefundsPending -= cur.Reserved
		return nil
	})
	_, _ = a.store.UpdateOperation(ctx, o.Kind, o.ShopID, o.ID, func(r *OperationRecord, found bool) error {
		r.Reserved = 0
		return nil
	})
}
