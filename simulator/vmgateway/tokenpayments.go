package vmgateway

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/pspsim/pspsim/simulator/apierr"
)

// tokenPaymentIn is the createTokenPayment body.
type tokenPaymentIn struct {
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
func (s *System) createTokenPayment(w http.ResponseWriter, r *http.Request) error {
	var in tokenPaymentIn
	tok, m, err := s.request(r, &in)
	if err != nil {
		return err
	}
	note(r.Context(), "orderNo", in.OrderNo, "transactionIdentifier", in.TransactionIdentifier)
	np, aerr := s.tokenInput(r.Context(), tok, m, &in)
	if aerr != nil {
		return aerr
	}
	return s.answerNew(w, r, np)
}

// tokenInput validates a createTokenPayment body beyond its schema and finds
// the stored card it charges (states.go's rules decide whether it may).
func (s *System) tokenInput(ctx context.Context, tok Token, m Merchant, in *tokenPaymentIn) (*newPayment, *apierr.Error) {
	if !m.allowsMethod("card") {
		return nil, apierr.Field(apierr.Forbidden, "paymentMethodType", "activated", "card payments are not activated for this merchant")
	}
	mit := in.CustomerInitiatedReason != ""
	if aerr := needsCredential(in.TransactionIdentifier, mit, in.CardNo != ""); aerr != nil {
		return nil, aerr
	}
	if in.CardNo != "" {
		if aerr := s.checkCard("", in.CardNo, in.ExpiryMonth, in.ExpiryYear); aerr != nil {
			return nil, aerr
		}
	} else if _, err := strconv.Atoi(in.ExpiryYear); err != nil {
		return nil, apierr.Field(apierr.Invalid, "expiryYear", "range", "must be a year")
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
		var stored *Credential
		c, err := s.creds.Get(ctx, in.TransactionIdentifier)
		if e := unanswered(err); e != nil {
			return nil, e // not INVALID_TRANSACTION_IDENTIFIER for a stored one
		}
		if err == nil {
			stored = &c
		}
		fingerprint := ""
		if in.CardNo != "" {
			fingerprint = s.fingerprint(in.CardNo)
		}
		if aerr := canCharge(stored, tok, fingerprint, mit, in.CustomerInitiatedReason); aerr != nil {
			return nil, aerr
		}
		np.credential = stored
		if currency == "" {
			currency = stored.Currency
		}
	} else {
		// A customer-initiated payment with a card on file stores it.
		np.storeCard = true
	}
	if currency == "" {
		return nil, apierr.Field(apierr.Missing, "currency", "required", "is required when only cardNo is sent")
	}
	amount, aerr := parseAmount(in.Amount, currency, "amount", true)
	if aerr != nil {
		return nil, aerr
	}
	np.amount, np.currency = amount, currency
	if !mit && np.threeDSMode != "no" && np.card == nil {
		return nil, apierr.Field(apierr.Missing, "cardNo", "required", "is required for 3-D Secure (threeDsMode %s)", np.threeDSMode)
	}
	// The stored card is charged with the expiry the merchant sends now (cards
	// are re-issued with new dates); a past expiry declines.
	np.expiryMonth, np.expiryYear = in.ExpiryMonth, in.ExpiryYear
	return np, nil
}
