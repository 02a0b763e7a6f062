package vmgateway

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/pspsim/pspsim/fixtures"
	"github.com/pspsim/pspsim/simulator/apierr"
	"github.com/pspsim/pspsim/simulator/gate"
	"github.com/pspsim/pspsim/simulator/money"
	"github.com/pspsim/pspsim/simulator/store"
	"github.com/pspsim/pspsim/simulator/threeds"
)

// --------------------------------------------------------------- request bodies

type cardIn struct {
	CaptureMethod string `json:"captureMethod"`
	CardNo        string `json:"cardNo"`
	CVC           string `json:"cvc"`
	ExpiryMonth   string `json:"expiryMonth"`
	ExpiryYear    string `json:"expiryYear"`
}

type threeDSDataIn struct {
	AuthenticationResultCode string `json:"authenticationResultCode"`
	Cavv                     string `json:"cavv"`
	DsTransID                string `json:"dsTransId"`
	DsVersion                string `json:"dsVersion"`
	Eci                      string `json:"eci"`
	Xid                      string `json:"xid"`
}

type billingIn struct {
	CustomerInitiatedReason string `json:"customerInitiatedReason"`
	Email                   string `json:"email"`
	Storedcredentials       string `json:"storedcredentials"`
}

type deviceIn struct {
	Browser *struct {
		AcceptHeader string `json:"acceptHeader"`
		UserAgent    string `json:"userAgent"`
	} `json:"browser"`
	ClientIP string `json:"clientIp"`
	Mobile   *struct {
		OsType string `json:"osType"`
	} `json:"mobile"`
}

type walletIn struct {
	AuthCode    string `json:"authCode"`
	ProductType string `json:"productType"`
}

type applePayIn struct {
	Network string `json:"network"`
}

type googlePayIn struct {
	CardNetwork string `json:"cardNetwork"`
}

type productIn struct {
	Price       string `json:"price"`
	ProductName string `json:"productName"`
	Quantity    string `json:"quantity"`
}

// paymentIn is the createPayment body.
type paymentIn struct {
	Amount            string         `json:"amount"`
	Currency          string         `json:"currency"`
	OrderNo           string         `json:"orderNo"`
	PaymentMethodType string         `json:"paymentMethodType"`
	Description       string         `json:"description"`
	BillingDesc       string         `json:"billingDesc"`
	ExpiryTime        string         `json:"expiryTime"`
	FraudMode         string         `json:"fraudMode"`
	FrontURL          string         `json:"frontUrl"`
	NotificationURL   string         `json:"notificationUrl"`
	ThreeDsMode       string         `json:"threeDsMode"`
	Card              *cardIn        `json:"card"`
	ThreeDsData       *threeDSDataIn `json:"threeDsData"`
	Billing           *billingIn     `json:"billing"`
	DeviceInfo        *deviceIn      `json:"deviceInfo"`
	Shipping          *struct {
		Email string `json:"email"`
	} `json:"shipping"`
	ProductInfo []productIn  `json:"productInfo"`
	Alipay      *walletIn    `json:"alipay"`
	AlipayPlus  *walletIn    `json:"alipayPlus"`
	Wechat      *walletIn    `json:"wechat"`
	Upay        *walletIn    `json:"upay"`
	PayNow      *walletIn    `json:"payNow"`
	GrabPay     *walletIn    `json:"grabPay"`
	ShopeePay   *walletIn    `json:"shopeePay"`
	Paypal      *walletIn    `json:"paypal"`
	ApplePay    *applePayIn  `json:"applePay"`
	GooglePay   *googlePayIn `json:"googlePay"`
}

// --------------------------------------------------------------- the internal payment order

// cardData is a card as it arrives; it lives only for the request.
type cardData struct {
	Number, ExpiryMonth, ExpiryYear string
}

// newPayment is a payment to create, from the API, a token payment or the
// cashier page, after validation.
type newPayment struct {
	tok         Token
	merchant    Merchant
	orderNo     string
	tradeNo     string // reserved by a checkout session's attempt, else drawn
	sessionID   string
	method      string
	productType string
	amount      int64
	currency    string
	capture     string
	threeDSMode string
	fraudMode   string
	description string
	billingDesc string
	frontURL    string
	notifyURL   string
	expiry      time.Duration
	card        *cardData
	expiryMonth string
	expiryYear  string
	external    *threeDSDataIn
	storeCard   bool
	cir         string
	emails      []string
	clientIP    string
	walletBrand string
	// token payments
	token      bool
	mit        bool
	credential *Credential
}

// walletObject returns the method object of a wallet payment.
func (in *paymentIn) walletObject() (*walletIn, bool) {
	w, ok := map[string]*walletIn{
		"alipay": in.Alipay, "alipayPlus": in.AlipayPlus, "wechat": in.Wechat, "upay": in.Upay,
		"payNow": in.PayNow, "grabPay": in.GrabPay, "shopeePay": in.ShopeePay, "paypal": in.Paypal,
	}[in.PaymentMethodType]
	return w, ok
}

// parseAmount parses an amount field strictly in the currency's exponent,
// naming the field (or "currency" for an unknown code).
func parseAmount(text, currency, field string, positive bool) (int64, *apierr.Error) {
	parse := money.Parse
	if positive {
		parse = money.ParsePositive
	}
	v, err := parse(text, currency)
	if err != nil {
		var pe *money.ParseError
		if errors.As(err, &pe) && pe.Rule == money.RuleCurrency {
			return 0, apierr.Field(apierr.Invalid, "currency", "currency", "must be an ISO 4217 currency code")
		}
		rule := "amount"
		if pe != nil {
			rule = string(pe.Rule)
		}
		return 0, apierr.Field(apierr.Invalid, field, rule, "%s", err.Error())
	}
	return v, nil
}

// parseExpiryTime reads "expiryTime" (minutes, 30–120; absent: 30).
func parseExpiryTime(text string) (time.Duration, *apierr.Error) {
	if text == "" {
		return 30 * time.Minute, nil
	}
	n, err := strconv.Atoi(text)
	if err != nil || n < 30 || n > 120 {
		return 0, apierr.Field(apierr.Invalid, "expiryTime", "range", "must be 30 to 120 minutes")
	}
	return time.Duration(n) * time.Minute, nil
}

// --------------------------------------------------------------- createPayment

// createPayment makes a payment of any method: a card (3-D Secure per
// threeDsMode, or external 3-D Secure data), Apple Pay, Google Pay, a wallet
// or a QR code. What it leads to is decided in outcome.go.
func (s *System) createPayment(w http.ResponseWriter, r *http.Request) error {
	req := callInfoFrom(r.Context()).takeCreate()
	tok, m, err := s.request(r, &req.in)
	if err != nil {
		return err
	}
	note(r.Context(), "orderNo", req.in.OrderNo)
	np, aerr := s.paymentInput(tok, m, req)
	if aerr != nil {
		return aerr
	}
	return s.answerNew(w, r, np)
}

// answerNew creates the payment np describes (createPayment,
// createTokenPayment) and answers it, unless the processor never answers.
func (s *System) answerNew(w http.ResponseWriter, r *http.Request, np *newPayment) error {
	p, hold, err := s.create(r.Context(), np)
	if err != nil {
		return err
	}
	note(r.Context(), "tradeNo", p.TradeNo)
	if hold {
		s.withhold(w, r, p)
	}
	s.writePayment(w, http.StatusOK, &p)
	return nil
}

// createRequest is what a createPayment allocates: its body, the payment
// it describes and that payment's card, in one allocation instead of three
// (each would go to the heap on its own).
type createRequest struct {
	in   paymentIn
	np   newPayment
	card cardData
}

// paymentInput validates a createPayment body (req.in) beyond its schema
// and returns the payment it describes (req.np).
func (s *System) paymentInput(tok Token, m Merchant, req *createRequest) (*newPayment, *apierr.Error) {
	in := &req.in
	if !m.allowsMethod(in.PaymentMethodType) {
		return nil, apierr.Field(apierr.Forbidden, "paymentMethodType", "activated", "%s is not activated for this merchant", in.PaymentMethodType)
	}
	if in.BillingDesc != "" && !m.BillingDesc {
		return nil, apierr.Field(apierr.Forbidden, "billingDesc", "activated", "the statement descriptor is not activated for this merchant")
	}
	amount, aerr := parseAmount(in.Amount, in.Currency, "amount", true)
	if aerr != nil {
		return nil, aerr
	}
	for i, pi := range in.ProductInfo {
		if pi.Price != "" {
			if _, aerr := parseAmount(pi.Price, in.Currency, fmt.Sprintf("productInfo[%d].price", i), false); aerr != nil {
				return nil, aerr
			}
		}
	}
	expiry, aerr := parseExpiryTime(in.ExpiryTime)
	if aerr != nil {
		return nil, aerr
	}
	req.np = newPayment{
		tok: tok, merchant: m, orderNo: in.OrderNo, method: in.PaymentMethodType, amount: amount, currency: in.Currency,
		capture: "auto", threeDSMode: orString(in.ThreeDsMode, "auto"), fraudMode: orString(in.FraudMode, "N"),
		description: in.Description, billingDesc: in.BillingDesc, frontURL: in.FrontURL, notifyURL: in.NotificationURL, expiry: expiry,
	}
	np := &req.np
	if in.Billing != nil {
		np.storeCard = in.Billing.Storedcredentials == "store"
		np.cir = in.Billing.CustomerInitiatedReason
		np.emails = append(np.emails, in.Billing.Email)
	}
	if in.Shipping != nil {
		np.emails = append(np.emails, in.Shipping.Email)
	}
	if in.DeviceInfo != nil {
		np.clientIP = in.DeviceInfo.ClientIP
	}
	switch in.PaymentMethodType {
	case "card":
		c := in.Card
		if c == nil {
			return nil, apierr.Required("card")
		}
		if aerr := s.checkCard("card", c.CardNo, c.ExpiryMonth, c.ExpiryYear); aerr != nil {
			return nil, aerr
		}
		req.card = cardData{Number: c.CardNo, ExpiryMonth: c.ExpiryMonth, ExpiryYear: c.ExpiryYear}
		np.card = &req.card
		np.expiryMonth, np.expiryYear = c.ExpiryMonth, c.ExpiryYear
		np.capture = orString(c.CaptureMethod, "auto")
		if in.ThreeDsData != nil {
			if aerr := checkExternal(in.ThreeDsData, brandOf(c.CardNo)); aerr != nil {
				return nil, aerr
			}
			np.external = in.ThreeDsData
		} else if np.threeDSMode != "no" {
			// EMV 3-D Secure needs the channel's data: the browser's, or an app's.
			d := in.DeviceInfo
			if d == nil || (d.Mobile == nil && (d.Browser == nil || d.Browser.UserAgent == "" || d.Browser.AcceptHeader == "")) {
				field := "deviceInfo.browser.userAgent"
				if d != nil && d.Browser != nil && d.Browser.UserAgent != "" {
					field = "deviceInfo.browser.acceptHeader"
				}
				return nil, apierr.Field(apierr.Missing, field, "required",
					"is required for 3-D Secure (threeDsMode %s) in a browser; an app sends deviceInfo.mobile", np.threeDSMode)
			}
		}
	case "applePay":
		if in.ApplePay == nil {
			return nil, apierr.Required("applePay")
		}
		np.walletBrand = strings.ToLower(in.ApplePay.Network)
	case "googlePay":
		if in.GooglePay == nil {
			return nil, apierr.Required("googlePay")
		}
		np.walletBrand = strings.ToLower(in.GooglePay.CardNetwork)
	default:
		wallet, _ := in.walletObject()
		if wallet == nil {
			return nil, apierr.Required(in.PaymentMethodType)
		}
		np.productType = orString(wallet.ProductType, "qr-code")
		if np.productType == "pay" && wallet.AuthCode == "" {
			return nil, apierr.Field(apierr.Missing, in.PaymentMethodType+".authCode", "required",
				"is required when productType is pay (the merchant scans the customer's code)")
		}
	}
	return np, nil
}

func orString(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// claimOrder reserves an orderNo of a merchant and environment for a
// payment or a checkout session — one order, one orderNo (DUPLICATE_ORDER)
// — and, in the same write, the id of what it is for (kind "payment": a
// tradeNo; "session": a sessionId), drawn by draw and drawn again while it
// is another's. The first draw may return an id the caller already used as
// a candidate. It returns the id claimed.
func (s *System) claimOrder(ctx context.Context, merchant, environment, orderNo, kind string, draw func(attempt int) string) (string, error) {
	var claimed string
	_, err := store.NewID(draw, func(id string) error {
		// The id claimed is kept as the tail of its key, so that the claim,
		// the key and the payment (or session) share one copy of it; the
		// claim's own id (orderKey) and that key are made in one string,
		// which the store keeps for as long as the claim.
		claimID, key := claimKeys(merchant, environment, orderNo, kind, id)
		claimed = key[len(kind)+1:]
		err := s.orders.Create(ctx, claimID, orderClaim{Kind: kind, Ref: claimed}, key)
		switch {
		case errors.Is(err, store.ErrIDTaken): // the claim's own id is the orderNo
			return apierr.Field(apierr.Conflict, "orderNo", "unique", "is already used by another order of this merchant").WithCode(CodeDuplicateOrder)
		case err != nil:
			return store.DrawnKeys(err) // the key is the drawn id: a clash draws again
		}
		return nil
	})
	return claimed, err
}

// claimKeys returns orderKey(merchant, environment, orderNo) and
// refKey(kind, id) made in one string (one allocation, not two).
func claimKeys(merchant, environment, orderNo, kind, id string) (claimID, key string) {
	both := merchant + "\x1f" + environment + "\x1f" + "order" + "\x1f" + orderNo + kind + "/" + id
	split := len(both) - len(kind) - 1 - len(id)
	return both[:split], both[split:]
}

// refKey is the unique key by which an order claim holds the id of its
// payment or session: ids are claimed there, at the orderNo's claim, because
// a payment's tradeNo is known (3-D Secure, the journal) before the payment
// is decided and stored.
func refKey(kind, id string) string { return kind + "/" + id }

// tradeNos draws tradeNos as the gateway makes them: the clock's time and
// six digits (ids.Generator.Stamped).
func (s *System) tradeNos(now time.Time) func(attempt int) string {
	return func(attempt int) string { return s.env.IDs.Stamped("", now, 6, attempt) }
}

// create makes a payment of any kind: it claims the orderNo, decides the
// outcome (fraud screening, 3-D Secure, authorization) and stores the
// payment. hold means the processor "never answers": the caller withholds
// the HTTP answer (TESTCARDS.md 26).
func (s *System) create(ctx context.Context, np *newPayment) (Payment, bool, error) {
	now := s.now()
	var card cardFacts
	if np.card != nil {
		card.row, card.brand, _ = s.cards.Lookup(np.card.Number)
		if card.row.Outcome == fixtures.PSPError {
			// TESTCARDS.md 25: the processor fails before anything is kept, so
			// an inquiry answers 404 and a retry with the same orderNo is safe.
			s.env.Record(Name, "payment.processor_error", "processor error for "+maskPAN(np.card.Number)+": nothing was recorded",
				map[string]string{"orderNo": np.orderNo, "merchant": np.tok.MerchantID}, map[string]any{"environment": np.tok.Environment})
			return Payment{}, false, errProcessor()
		}
	}
	// A payment of a checkout session comes with the tradeNo its attempt
	// claimed; otherwise this one is a candidate until the orderNo's claim
	// below claims it too (or a clash draws another).
	tradeNo := np.tradeNo
	if tradeNo == "" {
		tradeNo = s.tradeNos(now)(0)
	}
	p := Payment{
		TradeNo: tradeNo, OrderNo: np.orderNo, AppID: np.tok.AppID, MerchantID: np.tok.MerchantID, Environment: np.tok.Environment,
		SessionID: np.sessionID, Method: np.method, ProductType: np.productType, Token: np.token,
		Amount: np.amount, Currency: np.currency, CaptureMethod: np.capture, Description: np.description, BillingDesc: np.billingDesc,
		FraudMode: np.fraudMode, NotificationURL: np.notifyURL, FrontURL: np.frontURL,
		StoreCard: np.storeCard, CustomerInitiatedReason: np.cir, MerchantInitiated: np.mit,
		CreatedAt: now, UpdatedAt: now,
	}
	// The first next action and the expiry in one allocation, with the 3-D
	// Secure part decideCard fills in for a card: nothing changes the first
	// two in place (a move replaces them), the third is this payment's own,
	// and the store keeps copies of its own.
	if np.method == "card" || np.token { // as decide: the card path
		first := &struct {
			next NextAction
			exp  time.Time
			tds  ThreeDSInfo
		}{next: NextAction{Type: "none"}, exp: now.Add(np.expiry)}
		p.NextAction, p.ExpiresAt, p.ThreeDS = &first.next, &first.exp, &first.tds
	} else {
		first := &struct {
			next NextAction
			exp  time.Time
		}{NextAction{Type: "none"}, now.Add(np.expiry)}
		p.NextAction, p.ExpiresAt = &first.next, &first.exp
	}
	if np.card != nil {
		p.CardBrand, p.MaskedCardNo, p.CardFingerprint, p.CardNN = cardBrand(card.brand), maskPAN(np.card.Number), s.fingerprint(np.card.Number), card.row.NN
		p.CardExpiry = np.card.ExpiryMonth + "/" + np.card.ExpiryYear
		plan(&p, card.row)
	} else if np.credential != nil {
		c := np.credential
		p.CardBrand, p.MaskedCardNo, p.CardFingerprint, p.CardNN = c.CardBrand, c.MaskedCardNo, c.CardFingerprint, c.CardNN
		card.row = s.rowOf(c.CardNN)
		plan(&p, card.row)
	}
	if np.credential != nil {
		p.TransactionIdentifier = np.credential.TransactionIdentifier
		if np.card == nil {
			card.brand = strings.ToLower(np.credential.CardBrand)
			p.CardExpiry = np.expiryMonth + "/" + np.expiryYear
		}
	}
	if card.row.Outcome == fixtures.PSPError && np.card == nil {
		return Payment{}, false, errProcessor()
	}

	// External 3-D Secure data that is ours must belong to this payment:
	// checked before the orderNo is claimed, so a refusal leaves nothing behind.
	if np.external != nil && (np.external.AuthenticationResultCode == "Y" || np.external.AuthenticationResultCode == "A") {
		card.binding = threeds.Binding{DSTransID: np.external.DsTransID, AuthenticationValue: np.external.Cavv, ECI: np.external.Eci,
			MerchantID: np.tok.MerchantID, Reference: tradeNo, Amount: np.amount, Currency: np.currency, CardNumber: np.card.Number}
		_, err := s.tds.Verify(ctx, card.binding)
		var be *threeds.BindError
		switch {
		case errors.As(err, &be):
			return Payment{}, false, apierr.Field(apierr.Unprocessable, "threeDsData."+be.Field, "binding", "%s", be.Reason).WithCode(CodeThreeDSDataInvalid)
		case err == nil:
			card.bound = true
		case !errors.Is(err, threeds.ErrNotFound):
			return Payment{}, false, fmt.Errorf("verify threeDsData: %w", err)
		}
	}

	if np.sessionID == "" {
		// The candidate first, then tradeNos' draws (store.Candidate of
		// s.tradeNos(now), written out: this closure need not escape).
		draw := func(attempt int) string {
			if attempt == 0 {
				return tradeNo
			}
			return s.env.IDs.Stamped("", now, 6, attempt)
		}
		claimed, err := s.claimOrder(ctx, p.MerchantID, p.Environment, p.OrderNo, "payment", draw)
		if err != nil {
			return Payment{}, false, err
		}
		p.TradeNo, card.binding.Reference = claimed, claimed
	}

	hold, err := s.decide(ctx, &p, np, card, now)
	if err != nil {
		return Payment{}, false, err
	}
	if err := s.payments.Create(ctx, p.TradeNo, p); err != nil {
		return Payment{}, false, fmt.Errorf("store payment: %w", err)
	}
	s.afterChange(ctx, "", &p)
	return p, hold, nil
}

func (s *System) paymentIDs(p Payment) map[string]string {
	return map[string]string{"orderNo": p.OrderNo, "tradeNo": p.TradeNo, "merchant": p.MerchantID, "appId": p.AppID}
}

// withhold keeps a request open without an answer until the client gives
// up (or holdLimit of wall time passes: it is a network timeout, not domain
// time), then drops the connection: TESTCARDS.md 26. It never returns.
func (s *System) withhold(w http.ResponseWriter, r *http.Request, p Payment) {
	s.env.Record(Name, "payment.answer_withheld", "the processor never answers: the request is held until the client gives up",
		s.paymentIDs(p), map[string]any{"environment": p.Environment})
	gate.Hold(w, r) // never back: nothing more happens in the world
	t := time.NewTimer(s.settings().holdLimit)
	defer t.Stop()
	select {
	case <-r.Context().Done():
	case <-t.C:
	}
	panic(http.ErrAbortHandler)
}
