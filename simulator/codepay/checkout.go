package codepay

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/pspsim/pspsim/simulator/apierr"
	"github.com/pspsim/pspsim/simulator/openapi"
	"github.com/pspsim/pspsim/simulator/pan"
	"github.com/pspsim/pspsim/simulator/store"
)

// checkoutIn is the body of pay.checkout and pay.merchant.checkout.
type checkoutIn struct {
	MerchantOrderNo string          `json:"merchant_order_no"`
	PriceCurrency   string          `json:"price_currency"`
	OrderAmount     json.Number     `json:"order_amount"`
	Expires         int64           `json:"expires"`
	Description     string          `json:"description"`
	ReturnURL       string          `json:"return_url"`
	NotifyURL       string          `json:"notify_url"`
	Attach          string          `json:"attach"`
	OrderDetail     json.RawMessage `json:"order_detail"`
	Card            string          `json:"card"`
	// TransType is pay.merchant.checkout's pspsim extension (specs/codepay.yaml):
	// 1 a sale (absent: the seed's behaviour), 4 a pre-authorization.
	TransType int `json:"trans_type"`
}

func (s *System) newOnlineOrder(c *Caller, in checkoutIn, channel string) (Txn, *apierr.Error) {
	if aerr := knownCurrency(in.PriceCurrency); aerr != nil {
		return Txn{}, aerr
	}
	amt, aerr := amount("order_amount", in.OrderAmount, in.PriceCurrency, true, true)
	if aerr != nil {
		return Txn{}, aerr
	}
	tt := TypeSale
	switch in.TransType {
	case 0, TypeSale:
	case TypePreAuth:
		if channel != ChannelMerchant {
			return Txn{}, invalid("trans_type", "enum", "pay.checkout takes sales only")
		}
		tt = TypePreAuth
	default:
		return Txn{}, invalid("trans_type", "enum", "must be 1 (sale) or 4 (pre-authorization)")
	}
	now := s.env.Clock.Now()
	return Txn{
		TransNo: s.newTransNo(), Environment: c.Environment, AppID: c.App.AppID, MerchantNo: c.MerchantNo, StoreNo: c.StoreNo,
		MerchantOrderNo: in.MerchantOrderNo, TransType: tt, Status: StatusCreated, Channel: channel, Currency: in.PriceCurrency,
		Amount: amt, Description: in.Description, Attach: in.Attach, NotifyURL: in.NotifyURL, ReturnURL: in.ReturnURL,
		CreatedAt: now, ExpiresAt: now.Add(time.Duration(in.Expires) * time.Second),
	}, nil
}

// hostedCheckout saves an order and answers the URL of pspsim's hosted
// checkout page (pay.checkout).
func (s *System) hostedCheckout(ctx context.Context, c *Caller, in *checkoutIn) (reply, error) {
	t, aerr := s.newOnlineOrder(c, *in, ChannelHosted)
	if aerr != nil {
		return reply{}, aerr
	}
	if len(in.OrderDetail) > 0 && string(in.OrderDetail) != "null" {
		detail, aerr := s.orderDetail(in.OrderDetail)
		if aerr != nil {
			return reply{}, aerr
		}
		t.OrderDetail = detail
	}
	err := s.do(false, func(fx *effects) error {
		if err := s.create(ctx, &t); err != nil {
			return err
		}
		s.record("order.created", fmt.Sprintf("hosted checkout %s (%s) of %s %s", t.MerchantOrderNo, t.TransNo, fmtAmount(t.Amount, t.Currency), t.Currency), &t,
			map[string]any{"transType": t.TransType, "amount": fmtAmount(t.Amount, t.Currency), "currency": t.Currency, "expires": in.Expires})
		s.scheduleExpiry(&t)
		return nil
	})
	if err != nil {
		return reply{}, err
	}
	return txnReply(&t, map[string]any{"pay_url": s.env.BaseURL() + Prefix + "/checkout/" + t.TransNo}), nil
}

// orderDetail validates pay.checkout's order_detail (an object, or its JSON
// text as the seed's sample sends it) against the spec's OrderDetail and
// returns the object's compact JSON.
func (s *System) orderDetail(raw json.RawMessage) ([]byte, *apierr.Error) {
	text := raw
	if raw[0] == '"' {
		var inner string
		if err := json.Unmarshal(raw, &inner); err != nil {
			return nil, invalid("order_detail", "type", "is not a string")
		}
		text = []byte(inner)
	}
	var v any
	dec := json.NewDecoder(bytes.NewReader(text))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return nil, invalid("order_detail", "format", "is not JSON: %v", err)
	}
	var plain any
	if err := json.Unmarshal(text, &plain); err != nil {
		return nil, invalid("order_detail", "format", "is not JSON")
	}
	ref := s.mount.Doc().Components.Schemas["OrderDetail"]
	if ref == nil || ref.Value == nil {
		return nil, apierr.Wrap(errors.New("spec has no OrderDetail schema"))
	}
	if err := ref.Value.VisitJSON(plain, openapi3.MultiErrors()); err != nil {
		vs := openapi.Violations(err)
		if len(vs) > 0 {
			f := "order_detail"
			if vs[0].Field != "" {
				f += "." + vs[0].Field
			}
			return nil, invalid(f, vs[0].Rule, "%s", vs[0].Reason)
		}
		return nil, invalid("order_detail", "schema", "does not match OrderDetail")
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, text); err != nil {
		return nil, invalid("order_detail", "format", "is not JSON")
	}
	return buf.Bytes(), nil
}

// merchantCheckout pays with a card the merchant's page collected and
// encrypted to the gateway's key (pay.merchant.checkout): the answer is the
// result, or redirect_url_3dsecure when the card needs a challenge. 3-D
// Secure runs before the ledger lock is taken.
func (s *System) merchantCheckout(ctx context.Context, c *Caller, in *checkoutIn) (reply, error) {
	t, aerr := s.newOnlineOrder(c, *in, ChannelMerchant)
	if aerr != nil {
		return reply{}, aerr
	}
	cd, aerr := s.decryptCard(in.Card)
	if aerr != nil {
		return reply{}, aerr
	}
	// A merchant_order_no already used is refused before 3-D Secure runs.
	if _, err := s.byOrderNo(ctx, c.Environment, c.MerchantNo, in.MerchantOrderNo); err == nil {
		return reply{}, duplicateOrder(in.MerchantOrderNo, c.MerchantNo)
	}
	// 3-D Secure knows the transaction by its trans_no before it is stored
	// (and claimed, by create): a candidate another transaction holds
	// already is replaced now, so that create keeps it — it could draw
	// another only if a concurrent order drew the same 21 digits meanwhile.
	for _, err := s.txns.Get(ctx, t.TransNo); err == nil; _, err = s.txns.Get(ctx, t.TransNo) {
		t.TransNo = s.newTransNo()
	}
	useCard(&t, cd, InstrumentCardOnline)
	res, aerr := s.authenticate(ctx, &t, cd)
	if aerr != nil {
		return reply{}, aerr
	}
	err := s.do(false, func(fx *effects) error {
		if err := s.create(ctx, &t); err != nil {
			return err
		}
		s.record("order.created", fmt.Sprintf("merchant checkout %s (%s) of %s %s with card %s", t.MerchantOrderNo, t.TransNo,
			fmtAmount(t.Amount, t.Currency), t.Currency, t.CardMasked), &t,
			map[string]any{"transType": t.TransType, "amount": fmtAmount(t.Amount, t.Currency), "currency": t.Currency, "card": t.CardMasked, "expires": in.Expires})
		s.scheduleExpiry(&t)
		return s.settleOnline(ctx, fx, &t, res)
	})
	if err != nil {
		return reply{}, err
	}
	data := map[string]any{"trans_no": t.TransNo, "trans_status": int(t.Status), "pay_user_account_id": t.PayUserAccountID, "pay_method_id": t.PayMethodID}
	if t.PayChannelNo != "" {
		data["pay_channel_trans_no"] = t.PayChannelNo
	}
	if t.RefNo != "" {
		data["ref_no"] = t.RefNo
	}
	if t.EndAt != nil {
		data["trans_end_time"] = fmtTime(*t.EndAt)
	}
	if t.ThreeDS != nil && t.ThreeDS.Challenge != "" && t.Status == StatusProcessing {
		data["redirect_url_3dsecure"] = s.env.BaseURL() + Prefix + "/3ds/" + t.TransNo
	}
	return txnReply(&t, data), nil
}

var expiryRE = regexp.MustCompile(`^(0[1-9]|1[0-2])([0-9]{2})$`)

// decryptCard opens pay.merchant.checkout's card: base64 of RSA PKCS#1 v1.5
// ciphertext, under the gateway's key, of the compact JSON of
// {pan, holder, cvv, expiry}. Errors name the field, never its value.
func (s *System) decryptCard(b64 string) (card, *apierr.Error) {
	ct, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return card{}, invalid("card", "format", "is not base64")
	}
	plain, err := rsa.DecryptPKCS1v15(rand.Reader, s.key(), ct)
	if err != nil {
		return card{}, invalid("card", "decrypt", "does not decrypt with the gateway's key (RSA PKCS#1 v1.5 over the card JSON, with gateway_rsa_public_key from GET /_sim/codepay/gateway-key)")
	}
	var in struct {
		PAN    *string `json:"pan"`
		Holder string  `json:"holder"`
		CVV    string  `json:"cvv"`
		Expiry *string `json:"expiry"`
	}
	dec := json.NewDecoder(bytes.NewReader(plain))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		return card{}, invalid("card", "format", "the decrypted text is not the card JSON {pan, holder, cvv, expiry} (%s)", scrubJSONError(err))
	}
	switch {
	case in.PAN == nil || *in.PAN == "":
		return card{}, missing("card.pan", "is required")
	case !allDigits(*in.PAN) || len(*in.PAN) < 12 || len(*in.PAN) > 19:
		return card{}, invalid("card.pan", "pattern", "must be 12 to 19 digits")
	case !pan.Luhn(*in.PAN):
		return card{}, invalid("card.pan", "luhn", "fails the Luhn check")
	case in.Expiry == nil || *in.Expiry == "":
		return card{}, missing("card.expiry", "is required")
	case !expiryRE.MatchString(*in.Expiry):
		return card{}, invalid("card.expiry", "pattern", "must be MMYY")
	case in.CVV != "" && (!allDigits(in.CVV) || len(in.CVV) < 3 || len(in.CVV) > 4):
		return card{}, invalid("card.cvv", "pattern", "must be 3 or 4 digits")
	case len(in.Holder) > 64:
		return card{}, invalid("card.holder", "maxLength", "at most 64 characters")
	}
	m := expiryRE.FindStringSubmatch(*in.Expiry)
	now := s.env.Clock.Now().UTC()
	month, year := int(m[1][0]-'0')*10+int(m[1][1]-'0'), 2000+int(m[2][0]-'0')*10+int(m[2][1]-'0')
	if year < now.Year() || (year == now.Year() && month < int(now.Month())) {
		return card{}, invalid("card.expiry", "future", "the card has expired")
	}
	c := s.lookupCard(*in.PAN)
	c.expiry, c.holder = *in.Expiry, in.Holder
	return c, nil
}

func allDigits(v string) bool {
	for i := 0; i < len(v); i++ {
		if v[i] < '0' || v[i] > '9' {
			return false
		}
	}
	return v != ""
}

// scrubJSONError keeps a JSON error's shape without any value from the text.
func scrubJSONError(err error) string {
	msg := err.Error()
	if i := strings.Index(msg, "unknown field"); i >= 0 {
		return pan.Scrub(msg[i:])
	}
	return "malformed"
}

// authenticate runs 3-D Secure for an online card payment, when a service
// is wired. A card whose host fails before any authentication completes
// (TESTCARDS row 25), or a 3-D Secure service that cannot be reached, is a
// retryable system error: no order is kept, so the merchant may retry with
// the same merchant_order_no. A directory server error (row 10) is an
// authentication result like the others: the payment fails (resp_code 96),
// as it does on the card gateway (THREEDS_SERVER_ERROR), and the merchant
// retries with a new merchant_order_no — one row, one behaviour.
func (s *System) authenticate(ctx context.Context, t *Txn, c card) (*ThreeDSResult, *apierr.Error) {
	tds := s.authenticator()
	if tds == nil {
		if issuerDecision(c.profile).retryable {
			return nil, retryable("the host failed to process card %s; retry", t.CardMasked)
		}
		return nil, nil
	}
	transNo := t.TransNo
	res, err := tds.Authenticate(ctx, ThreeDSRequest{
		System: Name, Reference: t.TransNo, MerchantID: t.MerchantNo, PAN: c.number, Expiry: c.expiry, Holder: c.holder,
		Amount: t.Amount, Currency: t.Currency, ReturnURL: s.env.BaseURL() + Prefix + "/3ds/" + t.TransNo + "/return",
	}, func(final ThreeDSResult) { s.completeAuthentication(transNo, final) })
	if err != nil {
		return nil, retryable("3-D Secure is unavailable (%v); retry", err)
	}
	switch res.Outcome {
	case ThreeDSAuthenticated, ThreeDSNotEnrolled:
		if issuerDecision(c.profile).retryable {
			return nil, retryable("the host failed to process card %s; retry", t.CardMasked)
		}
	}
	return &res, nil
}

// settleOnline acts on an online card payment's authentication: authorize,
// fail, or wait for the challenge or decoupled result. t is stored at 9.
func (s *System) settleOnline(ctx context.Context, fx *effects, t *Txn, res *ThreeDSResult) error {
	if err := s.setStatus(t, StatusProcessing, "card submitted"); err != nil {
		return err
	}
	if res == nil {
		return s.authorizeOnline(ctx, fx, t)
	}
	t.ThreeDS = &ThreeDSInfo{Outcome: string(res.Outcome), TransStatus: res.TransStatus, ECI: res.ECI, DSTransID: res.DSTransID, ACSTransID: res.ACSTransID,
		HasCAVV: res.CAVV != "", ReasonCode: res.ReasonCode}
	s.record("order.3ds", fmt.Sprintf("3-D Secure for %s: %s (transStatus %s)", t.MerchantOrderNo, res.Outcome, res.TransStatus), t,
		map[string]any{"outcome": string(res.Outcome), "transStatus": res.TransStatus, "eci": res.ECI})
	switch res.Outcome {
	case ThreeDSChallenge:
		t.ThreeDS.Challenge = res.ChallengeURL
		return s.save(ctx, t)
	case ThreeDSDecoupled:
		return s.save(ctx, t)
	}
	return s.afterAuthentication(ctx, fx, t, *res, false)
}

// afterAuthentication authorizes or fails a payment on a final
// authentication result.
// After a challenge, U means abandoned or timed out (TESTCARDS 08): failed,
// whatever the merchant's setting for an unavailable 3-D Secure.
func (s *System) afterAuthentication(ctx context.Context, fx *effects, t *Txn, res ThreeDSResult, afterChallenge bool) error {
	fail := func(code, why string) error {
		t.RespCode, t.RespMsg = code, "["+code+"]"+why
		if err := s.setStatus(t, StatusFailed, why); err != nil {
			return err
		}
		return s.finalize(ctx, fx, t)
	}
	switch res.Outcome {
	case ThreeDSAuthenticated, ThreeDSNotEnrolled:
		return s.authorizeOnline(ctx, fx, t)
	case ThreeDSUnavailable:
		if afterChallenge {
			return fail("05", "3-D SECURE CHALLENGE ABANDONED OR TIMED OUT")
		}
		m, err := s.merchants.Get(ctx, t.MerchantNo)
		if err != nil && !isNotFound(err) {
			// Not the merchant's "fail" setting: the setting was not read.
			return fmt.Errorf("merchant %s: %w", t.MerchantNo, err)
		}
		if err == nil && m.ThreeDSUnavailable == "proceed" {
			return s.authorizeOnline(ctx, fx, t)
		}
		return fail("05", "3-D SECURE UNAVAILABLE (merchant setting: fail)")
	case ThreeDSRejected:
		return fail("05", "3-D SECURE REJECTED BY THE ISSUER")
	case ThreeDSError:
		return fail("96", "3-D SECURE DIRECTORY SERVER ERROR; RETRY WITH A NEW MERCHANT_ORDER_NO")
	}
	return fail("05", "3-D SECURE AUTHENTICATION FAILED")
}

// authorizeOnline asks the host for an online card payment.
func (s *System) authorizeOnline(ctx context.Context, fx *effects, t *Txn) error {
	d := issuerDecision(s.profileByName(t.CardProfile))
	switch {
	case d.timeout:
		t.HostTimeout = true
		s.record("order.host_timeout", fmt.Sprintf("the host accepted %s and does not answer; it fails when the order expires", t.MerchantOrderNo), t, nil)
		return s.save(ctx, t)
	case !d.approved:
		t.RespCode, t.RespMsg = d.code, d.msg
		if err := s.setStatus(t, StatusFailed, "declined: "+d.msg); err != nil {
			return err
		}
		return s.finalize(ctx, fx, t)
	}
	s.approve(t, d)
	if t.TransType == TypePreAuth {
		t.Authorized = t.TransAmount()
	}
	if err := s.setStatus(t, StatusSuccess, "approved"); err != nil {
		return err
	}
	return s.finalize(ctx, fx, t)
}

// completeAuthentication receives the final result of a challenge or a
// decoupled authentication. The result is told once (threeds), so a store
// that does not answer is asked again (store.Retry); if it still does not,
// the order keeps waiting until its expiry, and the journal says why.
func (s *System) completeAuthentication(transNo string, res ThreeDSResult) {
	ctx := context.Background()
	err := store.Retry(ctx, func() error {
		return s.do(true, func(fx *effects) error {
			t, err := s.txns.Get(ctx, transNo)
			if isNotFound(err) {
				return nil
			}
			if err != nil {
				return err
			}
			if t.Status != StatusProcessing || t.ThreeDS == nil {
				return nil
			}
			t.ThreeDS.TransStatus, t.ThreeDS.ECI, t.ThreeDS.ReasonCode = res.TransStatus, res.ECI, res.ReasonCode
			t.ThreeDS.HasCAVV = res.CAVV != ""
			s.record("order.3ds_completed", fmt.Sprintf("3-D Secure for %s ended: %s (transStatus %s)", t.MerchantOrderNo, res.Outcome, res.TransStatus), &t,
				map[string]any{"outcome": string(res.Outcome), "transStatus": res.TransStatus, "eci": res.ECI})
			return s.afterAuthentication(ctx, fx, &t, res, true)
		})
	})
	if err != nil {
		s.unresolved(transNo, res.DSTransID, err)
	}
}

// unresolved says that a 3-D Secure result could not be handed to the order
// transNo: the store did not answer, or the order could not be completed.
func (s *System) unresolved(transNo, dsTransID string, err error) {
	s.env.Log.Error("codepay: a 3-D Secure result did not reach its order", "trans_no", transNo, "err", err)
	s.env.Record(Name, "order.3ds_unresolved", "a 3-D Secure result could not be handed to its order ("+apierr.Wrap(err).Message+"); the order waits until it expires",
		map[string]string{"trans_no": transNo, "dsTransId": dsTransID}, nil)
}

// payHosted pays a hosted-checkout order with a card the buyer typed on
// pspsim's page. A retryable failure leaves the order payable.
func (s *System) payHosted(ctx context.Context, transNo, number, expiry, cvv, holder string) (Txn, *apierr.Error) {
	t, err := s.txns.Get(ctx, transNo)
	if err != nil && !isNotFound(err) {
		return t, apierr.Wrap(err)
	}
	if err != nil || t.Channel != ChannelHosted {
		return t, notFound("trans_no", "no hosted checkout %s", transNo)
	}
	if aerr := mayPay(&t); aerr != nil {
		return t, aerr
	}
	number = strings.ReplaceAll(strings.ReplaceAll(number, " ", ""), "-", "")
	switch {
	case !allDigits(number) || len(number) < 12 || len(number) > 19 || !pan.Luhn(number):
		return t, invalid("card.pan", "luhn", "card number: 12 to 19 digits passing the Luhn check")
	case !expiryRE.MatchString(strings.ReplaceAll(expiry, "/", "")):
		return t, invalid("card.expiry", "pattern", "expiry: MM/YY")
	case cvv != "" && (!allDigits(cvv) || len(cvv) < 3 || len(cvv) > 4):
		return t, invalid("card.cvv", "pattern", "CVV: 3 or 4 digits")
	}
	c := s.lookupCard(number)
	c.expiry, c.holder = strings.ReplaceAll(expiry, "/", ""), holder
	useCard(&t, c, InstrumentCardOnline)
	res, aerr := s.authenticate(ctx, &t, c)
	if aerr != nil {
		return t, aerr
	}
	var out Txn
	err = s.do(false, func(fx *effects) error {
		cur, err := s.txns.Get(ctx, transNo)
		if err != nil && !isNotFound(err) {
			return err
		}
		if err != nil || mayPay(&cur) != nil {
			return statusForbids("checkout %s is no longer payable", t.MerchantOrderNo)
		}
		cur.Instrument, cur.CardMasked, cur.CardBrand, cur.CardProfile = t.Instrument, t.CardMasked, t.CardBrand, t.CardProfile
		cur.PayUserAccountID, cur.PayMethodID, cur.NotifyDelay = t.PayUserAccountID, t.PayMethodID, t.NotifyDelay
		s.record("checkout.card", fmt.Sprintf("buyer paid checkout %s with card %s", cur.MerchantOrderNo, cur.CardMasked), &cur, map[string]any{"card": cur.CardMasked})
		err = s.settleOnline(ctx, fx, &cur, res)
		out = cur
		return err
	})
	if err != nil {
		return out, apierr.Wrap(err)
	}
	return out, nil
}

// payHostedWallet pays a hosted-checkout order with a wallet.
func (s *System) payHostedWallet(ctx context.Context, transNo, wallet string) (Txn, error) {
	var out Txn
	err := s.do(false, func(fx *effects) error {
		t, err := s.txns.Get(ctx, transNo)
		if err != nil && !isNotFound(err) {
			return err
		}
		if err != nil || t.Channel != ChannelHosted {
			return notFound("trans_no", "no hosted checkout %s", transNo)
		}
		if aerr := mayPay(&t); aerr != nil {
			return aerr
		}
		t.Instrument, t.PayMethodID, t.PayScenario = InstrumentWallet, wallet, "SCANQR_PAY"
		t.PayUserAccountID, t.PayPlatformNo = s.env.IDs.Digits(16), s.env.IDs.Digits(22)
		s.record("checkout.wallet", fmt.Sprintf("buyer paid checkout %s with %s", t.MerchantOrderNo, wallet), &t, map[string]any{"wallet": wallet})
		if err := s.setStatus(&t, StatusProcessing, "wallet payment"); err != nil {
			return err
		}
		s.approve(&t, decision{code: "000", msg: "[000]APPROVAL"})
		if err := s.setStatus(&t, StatusSuccess, "paid by wallet"); err != nil {
			return err
		}
		out = t
		return s.finalize(ctx, fx, &t)
	})
	return out, err
}

// cancelHosted records the buyer leaving a hosted checkout with Cancel.
func (s *System) cancelHosted(ctx context.Context, transNo string) (Txn, error) {
	var out Txn
	err := s.do(false, func(fx *effects) error {
		t, err := s.txns.Get(ctx, transNo)
		if err != nil && !isNotFound(err) {
			return err
		}
		if err != nil || t.Channel != ChannelHosted {
			return notFound("trans_no", "no hosted checkout %s", transNo)
		}
		out = t
		if mayPay(&t) != nil {
			return nil // past the page already: leaving it changes nothing
		}
		if err := s.setStatus(&t, StatusCancelled, "the buyer cancelled on the checkout page"); err != nil {
			return err
		}
		out = t
		return s.finalize(ctx, fx, &t)
	})
	return out, err
}
