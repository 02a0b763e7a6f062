package paymentapp

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
)

// The card gateway's webhooks (specs/vmgateway.yaml, createWebhookSubscription). At start
// the app subscribes one URL per environment — /webhooks/vm/sandbox and /webhooks/vm/live,
// so that each delivery says which secret signs it — and keeps the secret the gateway
// shows once. Each delivery:
//
//   - is verified first: X-VM-Signature over X-VM-Timestamp + "." + body, timestamp fresh;
//   - is deduplicated by the eventId in its (signed) body: retries and duplicates repeat it;
//   - may be late or out of order: a status older than one already seen is ignored, and a
//     final result already reported is never changed (results.go);
//   - is acknowledged with 2xx once handled, even when it is about an order the app does
//     not know, since a refusal would only make the gateway retry for hours.

// webhookURL is where the gateway posts env's events.
func (a *App) webhookURL(env Env) string { return a.cfg.PublicURL + "/webhooks/vm/" + string(env) }

// subscribeWebhooks subscribes each configured environment now, and keeps retrying in the
// background any that fails.
func (a *App) subscribeWebhooks() {
	if !a.gw.webhooks() {
		return // the PSP notifies each order at the URL the order names
	}
	for _, env := range []Env{Sandbox, Live} {
		if !a.gw.configured(env) {
			continue
		}
		if a.subscribe(a.ctx, env) {
			continue
		}
		a.watch("webhooks/"+string(env), func(ctx context.Context) bool { return a.subscribe(ctx, env) })
	}
}

func (a *App) subscribe(ctx context.Context, env Env) bool {
	secret, err := a.gw.subscribe(ctx, env, a.webhookURL(env))
	if err != nil {
		a.log.Warn("webhook subscription failed; will retry", "env", env, "err", err)
		return false
	}
	a.mu.Lock()
	a.webhookSecrets[env] = secret
	a.mu.Unlock()
	a.log.Info("subscribed to the card gateway's webhooks", "env", env, "url", a.webhookURL(env))
	return true
}

func (a *App) webhookSecret(env Env) string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.webhookSecrets[env]
}

// webhookEvent is WebhookEvent; data is decoded by eventType.
type webhookEvent struct {
	EventID   string          `json:"eventId"`
	EventType string          `json:"eventType"`
	Data      json.RawMessage `json:"data"`
}

func (a *App) handleWebhook(w http.ResponseWriter, r *http.Request) {
	env := Env(r.PathValue("env"))
	if env != Sandbox && env != Live {
		http.NotFound(w, r)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		writeJSON(w, http.StatusRequestEntityTooLarge, appError{Error: "body: too large or unreadable"})
		return
	}
	secret := a.webhookSecret(env)
	if secret == "" {
		// Not subscribed yet (or the secret was lost with a restart): not acknowledged, so
		// the gateway delivers it again later.
		writeJSON(w, http.StatusServiceUnavailable, appError{Error: "not ready for webhooks"})
		return
	}
	if err := verifyWebhook(secret, r.Header.Get("X-VM-Timestamp"), r.Header.Get("X-VM-Signature"), body, a.now(), a.cfg.SignatureWindow); err != nil && !a.bugs.on(BugUnverifiedNotification) {
		a.log.Warn("refused a webhook whose signature does not verify", "env", env, "err", err)
		writeJSON(w, http.StatusUnauthorized, appError{Error: "signature: does not verify"})
		return
	}
	var evt webhookEvent
	if err := json.Unmarshal(body, &evt); err != nil || evt.EventID == "" {
		writeJSON(w, http.StatusBadRequest, appError{Error: "body: is not a webhook event"})
		return
	}
	first, err := a.store.FirstDelivery(r.Context(), evt.EventID)
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, appError{Error: "cannot record the event"})
		return
	}
	if !first {
		a.log.Info("duplicate webhook ignored", "eventId", evt.EventID)
		writeJSON(w, http.StatusOK, struct{}{})
		return
	}
	switch evt.EventType {
	case "payment.status_changed":
		var gp gwPayment
		if json.Unmarshal(evt.Data, &gp) == nil {
			a.onPaymentEvent(r.Context(), env, evt.EventID, gp)
		}
	case "refund.status_changed":
		var rf gwRefund
		if json.Unmarshal(evt.Data, &rf) == nil {
			a.onRefundEvent(r.Context(), env, evt.EventID, rf)
		}
	default:
		a.log.Info("webhook of an unknown type ignored", "eventId", evt.EventID, "type", evt.EventType)
	}
	writeJSON(w, http.StatusOK, struct{}{})
}

func (a *App) onPaymentEvent(ctx context.Context, env Env, eventID string, gp gwPayment) {
	if gp.Environment != "" && Env(gp.Environment) != env {
		a.log.Warn("webhook names another environment than its URL; ignored", "eventId", eventID, "env", env, "dataEnv", gp.Environment)
		return
	}
	p, err := a.paymentForEvent(ctx, env, gp)
	if err != nil {
		a.log.Info("webhook about an order this app does not know; ignored", "eventId", eventID, "orderNo", gp.OrderNo)
		return
	}
	a.log.Info("payment webhook", "eventId", eventID, "paymentId", p.PaymentID, "status", gp.Status)
	a.observePayment(ctx, p, gp)
}

// paymentForEvent finds the payment an event is about, by the orderNo the app chose.
func (a *App) paymentForEvent(ctx context.Context, env Env, gp gwPayment) (PaymentRecord, error) {
	if a.bugs.on(BugNoCallbackAfterTimeout) {
		// The mistake: payments are known by the gateway's tradeNo — which a payment whose
		// creation timed out never received.
		return a.store.PaymentByTradeNo(ctx, env, gp.TradeNo)
	}
	return a.store.PaymentByOrderNo(ctx, env, gp.OrderNo)
}

func (a *App) onRefundEvent(ctx context.Context, env Env, eventID string, rf gwRefund) {
	o, err := a.store.RefundByNumber(ctx, env, rf.RefundNumber)
	if err != nil {
		a.log.Info("webhook about a refund this app does not know; ignored", "eventId", eventID, "refundNumber", rf.RefundNumber)
		return
	}
	a.log.Info("refund webhook", "eventId", eventID, "refundId", o.ID, "status", rf.Status)
	a.observeRefund(ctx, o, rf)
}
