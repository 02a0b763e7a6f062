package vmgateway

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pspsim/pspsim/fixtures"
	"github.com/pspsim/pspsim/simulator/apierr"
	"github.com/pspsim/pspsim/simulator/money"
	"github.com/pspsim/pspsim/simulator/pan"
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

type paymentRequest struct {
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
func (in *paymentRequest) walletObject() (*walletIn, bool) {
	switch in.PaymentMethodType {
	case "alipay":
		return in.Alipay, true
	case "alipayPlus":
		return in.AlipayPlus, true
	case "wechat":
		return in.Wechat, true
	case "upay":
		return in.Upay, true
	case "payNow":
		return in.PayNow, true
	case "grabPay":
		return in.GrabPay, true
	case "shopeePay":
		return in.ShopeePay, true
	case "paypal":
		return in.Paypal, true
	}
	return nil, false
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
		return 0, apierr.Field(apierr.Invalid, "expiryTime", "range", "expiryTime: must be 30 to 120 minutes")
	}
	return time.Duration(n) * time.Minute, nil
}

// checkCard validates a card number and expiry fields (field is the
// object's path, "card" or "").
func (s *System) checkCard(prefix, number, month, year string) *apierr.Error {
	f := func(n string) string {
		if prefix == "" {
			return n
		}
		return prefix + "." + n
	}
	// UnionPay numbers (62…) need not pass the Luhn check; every other brand's must.
	if !strings.HasPrefix(number, "62") && !pan.Luhn(number) {
		return apierr.Field(apierr.Invalid, f("cardNo"), "luhn", "%s: is not a valid card number (Luhn check)", f("cardNo"))
	}
	y, err := strconv.Atoi(year)
	if err != nil || y > s.now().Year()+20 {
		return apierr.Field(apierr.Invalid, f("expiryYear"), "range", "%s: must be a year within 20 years", f("expiryYear"))
	}
	if m, err := strconv.Atoi(month); err != nil || m < 1 || m > 12 {
		return apierr.Field(apierr.Invalid, f("expiryMonth"), "range", "%s: must be 01 to 12", f("expiryMonth"))
	}
	return nil
}

// expired reports whether a card's expiry month has passed.
func expired(month, year string, now time.Time) bool {
	m, _ := strconv.Atoi(month)
	y, _ := strconv.Atoi(year)
	// A card is valid through the last day of its expiry month.
	return !now.Before(time.Date(y, time.Month(m)+1, 1, 0, 0, 0, 0, time.UTC))
}

// fingerprint identifies a card without keeping its number.
func (s *System) fingerprint(number string) string {
	m := hmac.New(sha256.New, s.cardKey)
	m.Write([]byte(number))
	return hex.EncodeToString(m.Sum(nil)[:16])
}

// checkExternal checks external 3-D Secure data for consistency with itself
// and the card's brand (THREEDS_DATA_INVALID, naming the field).
func checkExternal(d *threeDSDataIn, brand string) *apierr.Error {
	bad := func(field, format string, args ...any) *apierr.Error {
		return apierr.Field(apierr.Unprocessable, "threeDsData."+field, "consistency", format, args...).WithCode(CodeThreeDSDataInvalid)
	}
	if d.AuthenticationResultCode == "" {
		return bad("authenticationResultCode", "threeDsData.authenticationResultCode: is required")
	}
	if d.Eci == "" {
		return bad("eci", "threeDsData.eci: is required")
	}
	status := d.AuthenticationResultCode
	if (status == "Y" || status == "A") && d.Cavv == "" {
		return bad("cavv", "threeDsData.cavv: is required when authenticationResultCode is Y or A")
	}
	v1 := strings.HasPrefix(d.DsVersion, "1.")
	if v1 && d.Xid == "" {
		return bad("xid", "threeDsData.xid: is required for 3-D Secure 1")
	}
	if !v1 && d.DsTransID == "" {
		return bad("dsTransId", "threeDsData.dsTransId: is required for 3-D Secure 2")
	}
	if d.DsVersion != "" && !v1 && !strings.HasPrefix(d.DsVersion, "2.") {
		return bad("dsVersion", "threeDsData.dsVersion: must be 1.x or 2.x")
	}
	if brand == "visa" || brand == "mastercard" {
		want := threeds.ECI(brand, status)
		if d.Eci != want {
			return bad("eci", "threeDsData.eci: a %s authentication with result %s carries ECI %s", cardBrand(brand), status, want)
		}
		if d.Cavv != "" && !threeds.ValidAuthenticationValueShape(d.Cavv) {
			return bad("cavv", "threeDsData.cavv: must be 20 bytes, base64 (28 characters) or hex (40)")
		}
	}
	return nil
}

// --------------------------------------------------------------- createPayment

func (s *System) createPayment(w http.ResponseWriter, r *http.Request) {
	tok, m, ok := s.caller(w, r)
	if !ok {
		return
	}
	var in paymentRequest
	if !s.decode(w, r, &in) {
		return
	}
	note(r.Context(), "orderNo", in.OrderNo)
	np, aerr := s.paymentInput(tok, m, &in)
	if aerr != nil {
		s.fail(w, r, aerr)
		return
	}
	p, hold, err := s.create(r.Context(), np)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	note(r.Context(), "tradeNo", p.TradeNo)
	if hold {
		s.withhold(w, r, p)
		return
	}
	WriteJSON(w, http.StatusOK, viewPayment(p))
}

// paymentInput validates a createPayment body beyond its schema.
func (s *System) paymentInput(tok Token, m Merchant, in *paymentRequest) (*newPayment, *apierr.Error) {
	if !m.allowsMethod(in.PaymentMethodType) {
		return nil, apierr.Field(apierr.Forbidden, "paymentMethodType", "activated", "paymentMethodType: %s is not activated for this merchant", in.PaymentMethodType)
	}
	if in.BillingDesc != "" && !m.BillingDesc {
		return nil, apierr.Field(apierr.Forbidden, "billingDesc", "activated", "billingDesc: the statement descriptor is not activated for this merchant")
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
	np := &newPayment{
		tok: tok, merchant: m, orderNo: in.OrderNo, method: in.PaymentMethodType, amount: amount, currency: in.Currency,
		capture: "auto", threeDSMode: orString(in.ThreeDsMode, "auto"), fraudMode: orString(in.FraudMode, "N"),
		description: in.Description, billingDesc: in.BillingDesc, frontURL: in.FrontURL, notifyURL: in.NotificationURL, expiry: expiry,
	}
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
		np.card = &cardData{Number: c.CardNo, ExpiryMonth: c.ExpiryMonth, ExpiryYear: c.ExpiryYear}
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
					"%s: is required for 3-D Secure (threeDsMode %s) in a browser; an app sends deviceInfo.mobile", field, np.threeDSMode)
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
				"%s.authCode: is required when productType is pay (the merchant scans the customer's code)", in.PaymentMethodType)
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

// newTradeNo draws an unused tradeNo: the clock's time and six digits.
func (s *System) newTradeNo(ctx context.Context, now time.Time) string {
	for {
		id := now.UTC().Format("20060102150405") + s.env.IDs.Digits(6)
		if _, err := s.payments.Get(ctx, id); errors.Is(err, store.ErrNotFound) {
			return id
		}
	}
}

// fraudHit applies fraudMode Y's screening rules (fixtures fraudScreening).
func (s *System) fraudHit(np *newPayment) (string, bool) {
	if np.fraudMode != "Y" {
		return "", false
	}
	rules := s.settings().fraud
	for _, e := range np.emails {
		if _, domain, ok := strings.Cut(e, "@"); ok && slices.Contains(rules.BlockedEmailDomains, strings.ToLower(domain)) {
			return "the e-mail domain is on the block list", true
		}
	}
	if np.clientIP != "" && slices.Contains(rules.BlockedClientIPs, np.clientIP) {
		return "the client IP is on the block list", true
	}
	return "", false
}

// create makes a payment of any kind: it claims the orderNo, decides the
// outcome (fraud screening, 3-D Secure, authorization) and stores the
// payment. hold means the processor "never answers": the caller withholds
// the HTTP answer (TESTCARDS.md 26).
func (s *System) create(ctx context.Context, np *newPayment) (Payment, bool, error) {
	now := s.now()
	var row fixtures.TestCard
	brand := ""
	if np.card != nil {
		row, brand, _ = s.cards.Lookup(np.card.Number)
		if row.Outcome == fixtures.PSPError {
			// TESTCARDS.md 25: the processor fails before anything is kept, so
			// an inquiry answers 404 and a retry with the same orderNo is safe.
			s.env.Record(Name, "payment.processor_error", "processor error for "+maskPAN(np.card.Number)+": nothing was recorded",
				map[string]string{"orderNo": np.orderNo, "merchant": np.tok.MerchantID}, map[string]any{"environment": np.tok.Environment})
			return Payment{}, false, apierr.New(apierr.Internal, "processor error, retry later (inquire by orderNo first)").WithCode(CodeInternalError)
		}
	}
	tradeNo := np.tradeNo
	if tradeNo == "" {
		tradeNo = s.newTradeNo(ctx, now)
	}
	p := Payment{
		TradeNo: tradeNo, OrderNo: np.orderNo, AppID: np.tok.AppID, MerchantID: np.tok.MerchantID, Environment: np.tok.Environment,
		SessionID: np.sessionID, Method: np.method, ProductType: np.productType, Token: np.token,
		Amount: np.amount, Currency: np.currency, CaptureMethod: np.capture, Description: np.description, BillingDesc: np.billingDesc,
		FraudMode: np.fraudMode, NotificationURL: np.notifyURL, FrontURL: np.frontURL,
		StoreCard: np.storeCard, CustomerInitiatedReason: np.cir, MerchantInitiated: np.mit,
		CreatedAt: now, UpdatedAt: now, NextAction: &NextAction{Type: "none"},
	}
	exp := now.Add(np.expiry)
	p.ExpiresAt = &exp
	if np.card != nil {
		p.CardBrand, p.MaskedCardNo, p.CardFingerprint, p.CardNN = cardBrand(brand), maskPAN(np.card.Number), s.fingerprint(np.card.Number), row.NN
		p.CardExpiry = np.card.ExpiryMonth + "/" + np.card.ExpiryYear
		p.NotificationDelay = row.NotificationDelay.Std()
		if row.Outcome == fixtures.Declined {
			p.Outcome = declineCodes[row.DeclineReason]
		}
	} else if np.credential != nil {
		c := np.credential
		p.CardBrand, p.MaskedCardNo, p.CardFingerprint, p.CardNN = c.CardBrand, c.MaskedCardNo, c.CardFingerprint, c.CardNN
		row = s.rowOf(c.CardNN)
		p.NotificationDelay = row.NotificationDelay.Std()
		if row.Outcome == fixtures.Declined {
			p.Outcome = declineCodes[row.DeclineReason]
		}
	}
	if np.credential != nil {
		p.TransactionIdentifier = np.credential.TransactionIdentifier
		if np.card == nil {
			brand = strings.ToLower(np.credential.CardBrand)
			p.CardExpiry = np.expiryMonth + "/" + np.expiryYear
		}
	}
	if row.Outcome == fixtures.PSPError && np.card == nil {
		return Payment{}, false, apierr.New(apierr.Internal, "processor error, retry later (inquire by orderNo first)").WithCode(CodeInternalError)
	}

	// External 3-D Secure data that is ours must belong to this payment:
	// checked before the orderNo is claimed, so a refusal leaves nothing behind.
	binding := threeds.Binding{}
	boundExternally := false
	if np.external != nil && (np.external.AuthenticationResultCode == "Y" || np.external.AuthenticationResultCode == "A") {
		binding = threeds.Binding{DSTransID: np.external.DsTransID, AuthenticationValue: np.external.Cavv, ECI: np.external.Eci,
			MerchantID: np.tok.MerchantID, Reference: tradeNo, Amount: np.amount, Currency: np.currency, CardNumber: np.card.Number}
		_, err := s.tds.Verify(ctx, binding)
		var be *threeds.BindError
		switch {
		case errors.As(err, &be):
			return Payment{}, false, apierr.Field(apierr.Unprocessable, "threeDsData."+be.Field, "binding", "threeDsData.%s: %s", be.Field, be.Reason).WithCode(CodeThreeDSDataInvalid)
		case err == nil:
			boundExternally = true
		case !errors.Is(err, threeds.ErrNotFound):
			return Payment{}, false, fmt.Errorf("verify threeDsData: %w", err)
		}
	}

	if np.sessionID == "" {
		if err := s.orders.Create(ctx, orderKey(p.MerchantID, p.Environment, p.OrderNo), orderClaim{Kind: "payment", Ref: tradeNo}); err != nil {
			if errors.Is(err, store.ErrExists) {
				return Payment{}, false, apierr.Field(apierr.Conflict, "orderNo", "unique", "orderNo: is already used by another order of this merchant").WithCode(CodeDuplicateOrder)
			}
			return Payment{}, false, fmt.Errorf("claim orderNo: %w", err)
		}
	}

	hold := false
	var err error
	switch {
	case np.method == "card" || np.token:
		hold, err = s.decideCard(ctx, &p, np, row, brand, binding, boundExternally, now)
	case np.method == "applePay" || np.method == "googlePay":
		p.CardBrand = cardBrand(np.walletBrand)
		if p.CardBrand == "OTHER" {
			p.CardBrand = ""
		}
		err = s.screenThenAuthorize(&p, np, now)
	default:
		err = s.decideWallet(&p, np, now)
	}
	if err != nil {
		return Payment{}, false, err
	}
	if err := s.payments.Create(ctx, p.TradeNo, p); err != nil {
		return Payment{}, false, fmt.Errorf("store payment: %w", err)
	}
	s.afterChange(ctx, "", p)
	return p, hold, nil
}

// rowOf returns the test card row of NN (the default row for "").
func (s *System) rowOf(nn string) fixtures.TestCard {
	for _, c := range s.cards.Cards {
		if c.NN == nn && nn != "" {
			return c
		}
	}
	return s.cards.Default
}

func (s *System) paymentIDs(p Payment) map[string]string {
	return map[string]string{"orderNo": p.OrderNo, "tradeNo": p.TradeNo, "merchant": p.MerchantID, "appId": p.AppID}
}

// screenThenAuthorize runs fraud screening, then the authorization.
func (s *System) screenThenAuthorize(p *Payment, np *newPayment, now time.Time) error {
	if why, hit := s.fraudHit(np); hit {
		return p.fail(FailFraudSuspected, "fraud screening: "+why, now)
	}
	return s.authorize(p, now)
}

// authorize asks the (simulated) issuer: approved unless the card's row
// declines. An approved payment is captured at once (captureMethod auto) or
// held (manual), and a card to store gets its transactionIdentifier.
func (s *System) authorize(p *Payment, now time.Time) error {
	if p.Outcome != "" {
		return p.fail(p.Outcome, "declined by the issuer", now)
	}
	p.Authorized = p.Amount
	if p.StoreCard && p.TransactionIdentifier == "" {
		p.TransactionIdentifier = s.env.IDs.Digits(15)
	}
	if p.CaptureMethod == "manual" {
		if err := p.transition(StatusAuthorized, "approved by the issuer; captureMethod manual", now); err != nil {
			return err
		}
		exp := now.Add(s.settings().authorizationLifetime)
		p.AuthorizationExpiresAt = &exp
		return nil
	}
	if err := p.transition(StatusCaptured, "approved by the issuer and captured", now); err != nil {
		return err
	}
	p.Captured = p.Amount
	return nil
}

// decideCard runs the card path: expiry, fraud screening, the processor's
// silence (26), 3-D Secure per threeDsMode or external data, authorization.
func (s *System) decideCard(ctx context.Context, p *Payment, np *newPayment, row fixtures.TestCard, brand string, binding threeds.Binding, boundExternally bool, now time.Time) (bool, error) {
	mode := np.threeDSMode
	if np.mit {
		mode = "no"
	}
	p.ThreeDS = &ThreeDSInfo{Mode: mode, Flow: "not_requested", ECI: threeds.ECI(brand, "")}
	if np.expiryMonth != "" && expired(np.expiryMonth, np.expiryYear, now) {
		return false, p.fail(FailExpiredCard, "the card's expiry date has passed", now)
	}
	if why, hit := s.fraudHit(np); hit {
		return false, p.fail(FailFraudSuspected, "fraud screening: "+why, now)
	}
	if row.Outcome == fixtures.PSPTimeout {
		// TESTCARDS.md 26: accepted, then silence. The payment waits, PENDING,
		// until it expires.
		return true, p.transition(StatusPending, "the processor accepted the payment and never answered", now)
	}
	if d := np.external; d != nil {
		p.ThreeDS = &ThreeDSInfo{Mode: np.threeDSMode, Flow: "external", Version: d.DsVersion, TransStatus: d.AuthenticationResultCode,
			ECI: d.Eci, DSTransID: d.DsTransID, LiabilityShift: threeds.LiabilityShift(d.AuthenticationResultCode)}
		if boundExternally {
			if _, err := s.tds.Bind(ctx, binding); err != nil {
				return false, p.fail(FailAuthenticationFailed, "the 3-D Secure result was used by another authorization meanwhile", now)
			}
		}
		switch d.AuthenticationResultCode {
		case "N":
			return false, p.fail(FailAuthenticationFailed, "external 3-D Secure result N", now)
		case "R":
			return false, p.fail(FailAuthenticationRejected, "external 3-D Secure result R", now)
		case "U":
			if np.merchant.ThreeDSUnavailable != "proceed" {
				return false, p.fail(FailAuthenticationUnavailable, "external 3-D Secure result U; the merchant setting fails it", now)
			}
		}
		return false, s.authorize(p, now)
	}
	asks := row.ThreeDS.Flow != "not_requested" && row.ThreeDS.Flow != "none"
	if mode == "no" || (mode == "auto" && !asks) {
		return false, s.authorize(p, now)
	}
	tradeNo := p.TradeNo
	res, err := s.tds.Authenticate(ctx, threeds.Request{
		System: Name, MerchantID: p.MerchantID, MerchantName: np.merchant.Name, Reference: tradeNo, CardNumber: np.card.Number,
		Amount: p.Amount, Currency: p.Currency, ReturnURL: s.env.BaseURL() + Prefix + "/return/" + tradeNo,
		JournalIDs: map[string]string{"orderNo": p.OrderNo, "tradeNo": tradeNo},
		OnComplete: func(ctx context.Context, r threeds.Result) { s.onAuthenticated(ctx, tradeNo, r) },
	})
	if err != nil {
		return false, fmt.Errorf("3-D Secure: %w", err)
	}
	return false, s.apply3DS(ctx, p, res, np.merchant.ThreeDSUnavailable, now)
}

// apply3DS moves a payment on with an authentication result, at creation or
// when a challenge or decoupled authentication ends.
func (s *System) apply3DS(ctx context.Context, p *Payment, res threeds.Result, unavailable string, now time.Time) error {
	mode := "auto"
	if p.ThreeDS != nil {
		mode = p.ThreeDS.Mode
	}
	p.ThreeDS = &ThreeDSInfo{Mode: mode, Flow: res.Flow, Version: res.Version, TransStatus: res.TransStatus, TransStatusReason: res.TransStatusReason,
		ECI: res.ECI, DSTransID: res.DSTransID, ACSTransID: res.ACSTransID, ThreeDSServerTransID: res.ThreeDSServerTransID, LiabilityShift: res.LiabilityShift}
	switch {
	case res.Flow == threeds.FlowDSError:
		p.ThreeDS.Flow = "error"
		p.ThreeDS.Version = ""
		return p.fail(FailThreeDSServerError, "3-D Secure directory server error", now)
	case res.Flow == threeds.FlowNotEnrolled:
		p.ThreeDS.Version = ""
		return s.authorize(p, now)
	}
	switch res.TransStatus {
	case threeds.StatusC:
		if err := p.transition(StatusRequiresAction, "3-D Secure challenge", now); err != nil {
			return err
		}
		p.NextAction = &NextAction{Type: "redirect", RedirectURL: res.ChallengeURL, ExpiresAt: res.ExpiresAt}
		return nil
	case threeds.StatusD:
		return p.transition(StatusPending, "decoupled 3-D Secure authentication", now)
	case threeds.StatusY, threeds.StatusA:
		if _, err := s.tds.Bind(ctx, threeds.Binding{DSTransID: res.DSTransID, AuthenticationValue: res.AuthenticationValue,
			MerchantID: p.MerchantID, Reference: p.TradeNo, Amount: p.Amount, Currency: p.Currency}); err != nil {
			return p.fail(FailAuthenticationFailed, "the 3-D Secure result could not be bound: "+err.Error(), now)
		}
		return s.authorize(p, now)
	case threeds.StatusN:
		return p.fail(FailAuthenticationFailed, "3-D Secure result N", now)
	case threeds.StatusR:
		return p.fail(FailAuthenticationRejected, "3-D Secure result R", now)
	case threeds.StatusU:
		if res.TransStatusReason == threeds.ReasonTimedOut {
			return p.fail(FailAuthenticationAbandoned, "3-D Secure "+res.Flow+" abandoned or timed out", now)
		}
		if mode == "standard" || unavailable != "proceed" {
			return p.fail(FailAuthenticationUnavailable, "3-D Secure result U", now)
		}
		return s.authorize(p, now)
	}
	return p.fail(FailAuthenticationFailed, "unexpected 3-D Secure result "+res.TransStatus, now)
}

// onAuthenticated continues a payment whose challenge or decoupled
// authentication ended.
func (s *System) onAuthenticated(ctx context.Context, tradeNo string, res threeds.Result) {
	p, err := s.payments.Get(ctx, tradeNo)
	if err != nil {
		s.env.Record(Name, "payment.authentication_orphaned", "a 3-D Secure result arrived for an unknown payment", map[string]string{"tradeNo": tradeNo, "dsTransId": res.DSTransID}, nil)
		return
	}
	m, _ := s.merchants.Get(ctx, p.MerchantID)
	_, err = s.updatePayment(ctx, tradeNo, func(p *Payment, now time.Time) error {
		if p.Status != StatusRequiresAction && p.Status != StatusPending {
			return errLate
		}
		return s.apply3DS(ctx, p, res, m.ThreeDSUnavailable, now)
	})
	if errors.Is(err, errLate) {
		s.env.Record(Name, "payment.authentication_late", "a 3-D Secure result arrived after the payment became "+p.Status+"; ignored",
			s.paymentIDs(p), map[string]any{"transStatus": res.TransStatus})
	}
}

var errLate = errors.New("the payment no longer waits for this")

// decideWallet starts a wallet or QR payment: the customer approves on the
// wallet page (or the admin action does), except productType pay, where the
// merchant scanned the customer's code and the answer comes at once.
func (s *System) decideWallet(p *Payment, np *newPayment, now time.Time) error {
	p.CaptureMethod = "auto"
	if why, hit := s.fraudHit(np); hit {
		return p.fail(FailFraudSuspected, "fraud screening: "+why, now)
	}
	if np.productType == "pay" {
		return s.authorize(p, now)
	}
	if err := p.transition(StatusRequiresAction, "waiting for the customer in the wallet", now); err != nil {
		return err
	}
	link := s.env.BaseURL() + Prefix + "/wallet/" + p.TradeNo
	if np.productType == "qr-code" {
		p.NextAction = &NextAction{Type: "qr_code", QRCode: link, ExpiresAt: p.ExpiresAt}
	} else {
		p.NextAction = &NextAction{Type: "redirect", RedirectURL: link, ExpiresAt: p.ExpiresAt}
	}
	return nil
}

// withhold keeps a request open without an answer until the client gives
// up (or holdLimit of wall time passes: it is a network timeout, not domain
// time), then drops the connection: TESTCARDS.md 26.
func (s *System) withhold(w http.ResponseWriter, r *http.Request, p Payment) {
	s.env.Record(Name, "payment.answer_withheld", "the processor never answers: the request is held until the client gives up",
		s.paymentIDs(p), map[string]any{"environment": p.Environment})
	t := time.NewTimer(s.settings().holdLimit)
	defer t.Stop()
	select {
	case <-r.Context().Done():
	case <-t.C:
	}
	panic(http.ErrAbortHandler)
}

// --------------------------------------------------------------- token payments

type tokenPaymentRequest struct {
	Amount                  string    `json:"amount"`
	CardNo                  string    `json:"cardNo"`
	Currency                string    `json:"currency"`
	CustomerInitiatedReason string    `json:"customerInitiatedReason"`
	Description             string    `json:"description"`
	DeviceInfo              *deviceIn `json:"deviceInfo"`
	ExpiryMonth             string    `json:"expiryMonth"`
	ExpiryYear              string    `json:"expiryYear"`
	OrderNo                 string    `json:"orderNo"`
	ThreeDsMode             string    `json:"threeDsMode"`
	TransactionIdentifier   string    `json:"transactionIdentifier"`
}

// createTokenPayment charges a stored card. With customerInitiatedReason
// (RECURRING, INSTALMENT, UNSCHEDULED) it is merchant-initiated: it needs
// the transactionIdentifier of the customer-initiated payment that stored
// the card, and is never authenticated. Without it, the customer is present
// and pays with a card on file (3-D Secure per threeDsMode, which needs
// cardNo); the card is then stored and a new identifier returned.
func (s *System) createTokenPayment(w http.ResponseWriter, r *http.Request) {
	tok, m, ok := s.caller(w, r)
	if !ok {
		return
	}
	var in tokenPaymentRequest
	if !s.decode(w, r, &in) {
		return
	}
	note(r.Context(), "orderNo", in.OrderNo, "transactionIdentifier", in.TransactionIdentifier)
	np, aerr := s.tokenInput(r.Context(), tok, m, &in)
	if aerr != nil {
		s.fail(w, r, aerr)
		return
	}
	p, hold, err := s.create(r.Context(), np)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	note(r.Context(), "tradeNo", p.TradeNo)
	if hold {
		s.withhold(w, r, p)
		return
	}
	WriteJSON(w, http.StatusOK, viewPayment(p))
}

func (s *System) tokenInput(ctx context.Context, tok Token, m Merchant, in *tokenPaymentRequest) (*newPayment, *apierr.Error) {
	if !m.allowsMethod("card") {
		return nil, apierr.Field(apierr.Forbidden, "paymentMethodType", "activated", "card payments are not activated for this merchant")
	}
	mit := in.CustomerInitiatedReason != ""
	if in.TransactionIdentifier == "" && (mit || in.CardNo == "") {
		return nil, apierr.Field(apierr.Missing, "transactionIdentifier", "required",
			"transactionIdentifier: is required for a merchant-initiated payment (customerInitiatedReason) or without cardNo")
	}
	if in.CardNo != "" {
		if aerr := s.checkCard("", in.CardNo, in.ExpiryMonth, in.ExpiryYear); aerr != nil {
			return nil, aerr
		}
	} else if _, err := strconv.Atoi(in.ExpiryYear); err != nil {
		return nil, apierr.Field(apierr.Invalid, "expiryYear", "range", "expiryYear: must be a year")
	}
	np := &newPayment{tok: tok, merchant: m, orderNo: in.OrderNo, method: "card", capture: "auto", token: true, mit: mit,
		cir: in.CustomerInitiatedReason, threeDSMode: orString(in.ThreeDsMode, "no"), fraudMode: "N", description: in.Description,
		expiry: 30 * time.Minute}
	if in.DeviceInfo != nil {
		np.clientIP = in.DeviceInfo.ClientIP
	}
	if in.CardNo != "" {
		np.card = &cardData{Number: in.CardNo, ExpiryMonth: in.ExpiryMonth, ExpiryYear: in.ExpiryYear}
	}
	currency := in.Currency
	if in.TransactionIdentifier != "" {
		c, err := s.creds.Get(ctx, in.TransactionIdentifier)
		invalid := func(reason string) *apierr.Error {
			return apierr.Field(apierr.Unprocessable, "transactionIdentifier", "credential", "transactionIdentifier: %s", reason).WithCode(CodeInvalidTransactionIdentifier)
		}
		switch {
		case err != nil || c.MerchantID != tok.MerchantID || c.Environment != tok.Environment:
			return nil, invalid("does not belong to a stored card of this merchant")
		case in.CardNo != "" && s.fingerprint(in.CardNo) != c.CardFingerprint:
			return nil, invalid("was issued for another card")
		case mit && c.CustomerInitiatedReason != "" && c.CustomerInitiatedReason != in.CustomerInitiatedReason:
			return nil, invalid(fmt.Sprintf("the card was stored for %s payments, not %s", c.CustomerInitiatedReason, in.CustomerInitiatedReason))
		}
		np.credential = &c
		if currency == "" {
			currency = c.Currency
		}
	} else {
		// A customer-initiated payment with a card on file stores it.
		np.storeCard = true
	}
	if currency == "" {
		return nil, apierr.Field(apierr.Missing, "currency", "required", "currency: is required when only cardNo is sent")
	}
	amount, aerr := parseAmount(in.Amount, currency, "amount", true)
	if aerr != nil {
		return nil, aerr
	}
	np.amount, np.currency = amount, currency
	if !mit && np.threeDSMode != "no" && np.card == nil {
		return nil, apierr.Field(apierr.Missing, "cardNo", "required", "cardNo: is required for 3-D Secure (threeDsMode %s)", np.threeDSMode)
	}
	// The stored card is charged with the expiry the merchant sends now (cards
	// are re-issued with new dates); a past expiry declines.
	np.expiryMonth, np.expiryYear = in.ExpiryMonth, in.ExpiryYear
	return np, nil
}
