package vmgateway

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/pspsim/pspsim/simulator/apierr"
	"github.com/pspsim/pspsim/simulator/store"
)

type sessionRequest struct {
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
func (s *System) createCheckoutSession(w http.ResponseWriter, r *http.Request) {
	tok, m, ok := s.caller(w, r)
	if !ok {
		return
	}
	var in sessionRequest
	if !s.decode(w, r, &in) {
		return
	}
	note(r.Context(), "orderNo", in.OrderNo)
	ctx := r.Context()
	modes := m.LinkModes
	if len(modes) == 0 {
		modes = []string{"session"}
	}
	if in.LinkMode != "" && !slices.Contains(modes, in.LinkMode) {
		s.fail(w, r, apierr.Field(apierr.Forbidden, "linkMode", "activated", "linkMode: this cashier mode is not activated for this merchant"))
		return
	}
	amount, aerr := parseAmount(in.Amount, in.Currency, "amount", true)
	if aerr != nil {
		s.fail(w, r, aerr)
		return
	}
	expiry, aerr := parseExpiryTime(in.ExpiryTime)
	if aerr != nil {
		s.fail(w, r, aerr)
		return
	}
	var products []Product
	for i, pi := range in.ProductInfo {
		var price int64
		if pi.Price != "" {
			if price, aerr = parseAmount(pi.Price, in.Currency, fmt.Sprintf("productInfo[%d].price", i), false); aerr != nil {
				s.fail(w, r, aerr)
				return
			}
		}
		products = append(products, Product{Name: pi.ProductName, Quantity: pi.Quantity, Price: price})
	}
	now := s.now()
	ss := Session{
		SessionID: "cs_" + s.env.IDs.Hex(8), OrderNo: in.OrderNo, AppID: tok.AppID, MerchantID: tok.MerchantID, Environment: tok.Environment,
		Status: SessionOpen, Amount: amount, Currency: in.Currency, CaptureMethod: orString(in.CaptureMethod, "auto"),
		ThreeDSMode: orString(in.ThreeDsMode, "auto"), FraudMode: orString(in.FraudMode, "N"), Description: in.Description,
		FrontURL: in.FrontURL, NotificationURL: in.NotificationURL, Products: products,
		CreatedAt: now, UpdatedAt: now, ExpiresAt: now.Add(expiry),
		History: []Transition{{To: SessionOpen, At: now, Why: "created"}},
	}
	if err := s.orders.Create(ctx, orderKey(tok.MerchantID, tok.Environment, in.OrderNo), orderClaim{Kind: "session", Ref: ss.SessionID}); err != nil {
		if errors.Is(err, store.ErrExists) {
			s.fail(w, r, apierr.Field(apierr.Conflict, "orderNo", "unique", "orderNo: is already used by another order of this merchant").WithCode(CodeDuplicateOrder))
			return
		}
		s.fail(w, r, fmt.Errorf("claim orderNo: %w", err))
		return
	}
	if err := s.sessions.Create(ctx, ss.SessionID, ss); err != nil {
		s.fail(w, r, fmt.Errorf("store session: %w", err))
		return
	}
	note(ctx, "sessionId", ss.SessionID)
	s.env.Record(Name, "session.created", fmt.Sprintf("checkout session for %s opened until %s", describeAmount(amount, in.Currency), ts(ss.ExpiresAt)),
		map[string]string{"orderNo": ss.OrderNo, "sessionId": ss.SessionID, "merchant": ss.MerchantID}, map[string]any{"environment": ss.Environment})
	id := ss.SessionID
	s.env.Clock.AfterFunc(expiry, func() { s.expireSession(id) })
	WriteJSON(w, http.StatusOK, s.viewSession(ss))
}

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
	if p.Status != StatusAuthorized && p.Status != StatusCaptured {
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

// errAttemptRunning refuses a second cashier payment while one is running.
var errAttemptRunning = errors.New("a payment of this session is already in progress")

// startAttempt reserves a new payment attempt on an OPEN session whose
// previous attempt (if any) failed, and returns the session and the tradeNo
// reserved for the attempt.
func (s *System) startAttempt(ctx context.Context, id string) (Session, string, error) {
	var tradeNo string
	ss, err := s.sessions.Update(ctx, id, func(ss *Session) error {
		now := s.now()
		if ss.Status != SessionOpen || !now.Before(ss.ExpiresAt) {
			return fmt.Errorf("the session is %s", ss.Status)
		}
		if ss.TradeNo != "" {
			if prev, err := s.payments.Get(ctx, ss.TradeNo); err == nil && !slices.Contains([]string{StatusFailed, StatusCancelled, StatusExpired}, prev.Status) {
				return errAttemptRunning
			}
		}
		tradeNo = s.newTradeNo(ctx, now)
		ss.TradeNo = tradeNo
		ss.Attempts = append(ss.Attempts, tradeNo)
		ss.UpdatedAt = now
		return nil
	})
	return ss, tradeNo, err
}

// walletDecision applies the buyer's answer on the wallet page (or the admin
// action): approve captures, decline fails with WALLET_DECLINED.
func (s *System) walletDecision(ctx context.Context, tradeNo string, approve bool) (Payment, error) {
	return s.updatePayment(ctx, tradeNo, func(p *Payment, now time.Time) error {
		if p.Method == "card" {
			return apierr.New(apierr.Conflict, "payment %s is a card payment; the buyer acts on the 3-D Secure challenge", p.TradeNo).WithCode(CodeStatusConflict)
		}
		if p.Status != StatusRequiresAction {
			return apierr.New(apierr.Conflict, "payment is %s; the buyer can only act on a payment waiting for them", p.Status).WithCode(CodeStatusConflict)
		}
		if !approve {
			return p.fail(FailWalletDeclined, "the customer declined in the wallet", now)
		}
		return s.authorize(p, now)
	})
}
