package vmgateway

import (
	"context"
	"fmt"
	"net/http"
	"slices"

	"github.com/pspsim/pspsim/simulator/apierr"
)

// sessionIn is the createCheckoutSession body.
type sessionIn struct {
	Amount          string      `json:"amount"`
	CaptureMethod   string      `json:"captureMethod"`
	Currency        string      `json:"currency"`
	Description     string      `json:"description"`
	ExpiryTime      string      `json:"expiryTime"`
	FraudMode       string      `json:"fraudMode"`
	FrontURL        string      `json:"frontUrl"`
	LinkMode        string      `json:"linkMode"`
	NotificationURL string      `json:"notificationUrl"`
	OrderNo         string      `json:"orderNo"`
	ProductInfo     []productIn `json:"productInfo"`
	ThreeDsMode     string      `json:"threeDsMode"`
}

// createCheckoutSession opens a hosted cashier for an order. The buyer pays
// at cashierUrl; the payment carries the session's orderNo. The session
// expires (EXPIRED) at expiresAt unless a payment of it is approved first
// (COMPLETED).
func (s *System) createCheckoutSession(w http.ResponseWriter, r *http.Request) error {
	var in sessionIn
	tok, m, err := s.request(r, &in)
	if err != nil {
		return err
	}
	note(r.Context(), "orderNo", in.OrderNo)
	ctx := r.Context()
	modes := m.LinkModes
	if len(modes) == 0 {
		modes = []string{"session"}
	}
	if in.LinkMode != "" && !slices.Contains(modes, in.LinkMode) {
		return apierr.Field(apierr.Forbidden, "linkMode", "activated", "this cashier mode is not activated for this merchant")
	}
	amount, aerr := parseAmount(in.Amount, in.Currency, "amount", true)
	if aerr != nil {
		return aerr
	}
	expiry, aerr := parseExpiryTime(in.ExpiryTime)
	if aerr != nil {
		return aerr
	}
	var products []Product
	for i, pi := range in.ProductInfo {
		var price int64
		if pi.Price != "" {
			if price, aerr = parseAmount(pi.Price, in.Currency, fmt.Sprintf("productInfo[%d].price", i), false); aerr != nil {
				return aerr
			}
		}
		products = append(products, Product{Name: pi.ProductName, Quantity: pi.Quantity, Price: price})
	}
	now := s.now()
	id, err := s.claimOrder(ctx, tok.MerchantID, tok.Environment, in.OrderNo, "session", func(int) string { return "cs_" + s.env.IDs.Hex(8) })
	if err != nil {
		return err
	}
	ss := Session{
		SessionID: id, OrderNo: in.OrderNo, AppID: tok.AppID, MerchantID: tok.MerchantID, Environment: tok.Environment,
		Status: SessionOpen, Amount: amount, Currency: in.Currency, CaptureMethod: orString(in.CaptureMethod, "auto"),
		ThreeDSMode: orString(in.ThreeDsMode, "auto"), FraudMode: orString(in.FraudMode, "N"), Description: in.Description,
		FrontURL: in.FrontURL, NotificationURL: in.NotificationURL, Products: products,
		CreatedAt: now, UpdatedAt: now, ExpiresAt: now.Add(expiry),
		History: []Transition{{To: SessionOpen, At: now, Why: "created"}},
	}
	// The sessionId is the order claim's: no other session can hold it.
	if err := s.sessions.Create(ctx, ss.SessionID, ss); err != nil {
		return fmt.Errorf("store session: %w", err)
	}
	note(ctx, "sessionId", ss.SessionID)
	s.env.Record(Name, "session.created", fmt.Sprintf("checkout session for %s opened until %s", describeAmount(amount, in.Currency), ts(ss.ExpiresAt)),
		map[string]string{"orderNo": ss.OrderNo, "sessionId": ss.SessionID, "merchant": ss.MerchantID}, map[string]any{"environment": ss.Environment})
	s.later(ctx, jobExpireSession, id, ss.ExpiresAt)
	WriteJSON(w, http.StatusOK, s.viewSession(ss))
	return nil
}

// expireSession ends an OPEN session whose expiresAt has passed.
func (s *System) expireSession(id string) {
	ss, err := s.sessions.Update(context.Background(), id, func(ss *Session) error {
		if ss.Status != SessionOpen || s.now().Before(ss.ExpiresAt) {
			return errLate
		}
		return ss.transition(SessionExpired, "expiresAt passed", s.now())
	})
	if err == nil {
		s.env.Record(Name, "session.expired", "checkout session expired", map[string]string{"orderNo": ss.OrderNo, "sessionId": ss.SessionID}, nil)
	}
}

// sessionFollows completes a session when one of its payments is approved.
func (s *System) sessionFollows(ctx context.Context, p Payment) {
	if !approved(p.Status) {
		return
	}
	ss, err := s.sessions.Update(ctx, p.SessionID, func(ss *Session) error {
		if ss.Status != SessionOpen {
			return errLate
		}
		ss.TradeNo = p.TradeNo
		return ss.transition(SessionCompleted, "payment "+p.TradeNo+" approved", s.now())
	})
	if err == nil {
		s.env.Record(Name, "session.completed", "checkout session completed by payment "+p.TradeNo,
			map[string]string{"orderNo": ss.OrderNo, "sessionId": ss.SessionID, "tradeNo": p.TradeNo}, nil)
	}
}

// startAttempt reserves a new payment attempt on an OPEN session whose
// previous attempt (if any) failed, and returns the session and the tradeNo
// reserved for the attempt.
func (s *System) startAttempt(ctx context.Context, id string) (Session, string, error) {
	var tradeNo string
	ss, err := s.sessions.Update(ctx, id, func(ss *Session) error {
		now := s.now()
		var prev *Payment
		if ss.TradeNo != "" {
			if p, err := s.payments.Get(ctx, ss.TradeNo); err == nil {
				prev = &p
			}
		}
		if err := canAttempt(ss, prev, now); err != nil {
			return err
		}
		// The attempt's tradeNo is claimed at the session's order claim,
		// where every tradeNo of the orderNo is.
		id, err := s.orders.ClaimNew(ctx, orderKey(ss.MerchantID, ss.Environment, ss.OrderNo), s.tradeNos(now),
			func(id string) string { return refKey("payment", id) })
		if err != nil {
			return fmt.Errorf("claim a tradeNo: %w", err)
		}
		tradeNo = id
		ss.TradeNo = tradeNo
		ss.Attempts = append(ss.Attempts, tradeNo)
		ss.UpdatedAt = now
		return nil
	})
	return ss, tradeNo, err
}
