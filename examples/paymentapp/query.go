package paymentapp

import (
	"context"
	"net/http"
	"time"
)

// The reconciliation queries (CONTRACT.md §2). When Genstore has had no callback some
// minutes after an acknowledgement, it asks. The answer is the app's own view — the same
// result the callback carries, once there is one — and when the app does not know yet, it
// asks the gateway first, so that a lost webhook cannot leave Genstore waiting forever.

// queryTimeout bounds the gateway inquiry a query may make.
const queryTimeout = 3 * time.Second

type paymentQueryAnswer struct {
	ChannelPaymentID string `json:"channelPaymentId"`
	Status           string `json:"status"`
	Error            string `json:"error"`
}

type refundQueryAnswer struct {
	ChannelRefundID string `json:"channelRefundId"`
	Status          string `json:"status"`
	Error           string `json:"error"`
}

// queryStatus maps a result to PROCESSING, SUCCESS or FAILURE, with the failure's reason.
func queryStatus(r Result) (status, reason string) {
	switch {
	case !r.Final:
		return "PROCESSING", ""
	case r.Success:
		return "SUCCESS", ""
	}
	return "FAILURE", r.Reason
}

func (a *App) handlePaymentQuery(w http.ResponseWriter, r *http.Request) {
	sp, _, ok := a.verified(w, r)
	if !ok {
		return
	}
	id := sp.Query.Get("paymentId")
	p, err := a.store.Payment(r.Context(), sp.ShopID, id)
	if err != nil {
		writeJSON(w, http.StatusNotFound, appError{Error: "paymentId: unknown"})
		return
	}
	if !p.Result.Final && p.Answered {
		ctx, cancel := context.WithTimeout(r.Context(), queryTimeout)
		p = a.refreshPayment(ctx, p)
		cancel()
	}
	status, reason := queryStatus(p.Result)
	writeJSON(w, http.StatusOK, paymentQueryAnswer{ChannelPaymentID: p.TradeNo, Status: status, Error: reason})
}

func (a *App) handleRefundQuery(w http.ResponseWriter, r *http.Request) {
	sp, _, ok := a.verified(w, r)
	if !ok {
		return
	}
	id := sp.Query.Get("refundId")
	o, err := a.store.Operation(r.Context(), Refund, sp.ShopID, id)
	if err != nil {
		writeJSON(w, http.StatusNotFound, appError{Error: "refundId: unknown"})
		return
	}
	if !o.Result.Final && o.Answered && o.RefundNumber != "" {
		ctx, cancel := context.WithTimeout(r.Context(), queryTimeout)
		if rf, err := a.gw.inquireRefund(ctx, o.Env, o.RefundNumber); err == nil {
			a.observeRefund(ctx, o, rf)
		} else if errorCode(err) != "NOT_FOUND" {
			a.log.Warn("refund inquiry failed", "refundId", id, "err", err)
		}
		cancel()
		if cur, err := a.store.Operation(r.Context(), Refund, sp.ShopID, id); err == nil {
			o = cur
		}
	}
	status, reason := queryStatus(o.Result)
	writeJSON(w, http.StatusOK, refundQueryAnswer{ChannelRefundID: o.ChannelID, Status: status, Error: reason})
}
