package genstore

import (
	"bytes"
	"context"
	"crypto/ecdh"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/pspsim/pspsim/fixtures"
	"github.com/pspsim/pspsim/simulator/admin"
	"github.com/pspsim/pspsim/simulator/apierr"
	"github.com/pspsim/pspsim/simulator/delivery"
	"github.com/pspsim/pspsim/simulator/ecies"
	"github.com/pspsim/pspsim/simulator/money"
	"github.com/pspsim/pspsim/simulator/openapi"
	"github.com/pspsim/pspsim/simulator/pan"
	"github.com/pspsim/pspsim/simulator/store"
)

// Payment creation through the admin API: the buyer paying at checkout, and
// the merchant's view of the payments. Whether a payment may start, and
// which installation it goes to, is decided in states.go (startPayment,
// paymentInstallation).

// CardInput is the card the buyer enters at checkout.
type CardInput struct {
	Number      string `json:"number"`
	ExpiryMonth string `json:"expiryMonth"`
	ExpiryYear  string `json:"expiryYear"`
	CVV         string `json:"cvv"`
	HolderName  string `json:"holderName"`
}

// DefaultCard is the card of a payment created without one: TESTCARDS.md
// row 00, approved without 3-D Secure.
const DefaultCard = "4000123456000001"

type paymentInput struct {
	ClientID      string          `json:"clientId"`
	Amount        string          `json:"amount"`
	Currency      string          `json:"currency"`
	ManualCapture bool            `json:"manualCapture"`
	Card          *CardInput      `json:"card"`
	Customer      json.RawMessage `json:"customer"`
	ClientDetails json.RawMessage `json:"clientDetails"`
	PurchaseInfo  json.RawMessage `json:"purchaseInfo"`
	OutOrderNo    string          `json:"outOrderNo"`
	ReturnURL     string          `json:"returnUrl"`
	// PaymentMethodData is sent as paymentMethod.data verbatim instead of a
	// sealed card (test vectors, broken packages).
	PaymentMethodData json.RawMessage `json:"paymentMethodData"`
}

// adminCreatePayment is the buyer paying at checkout: Genstore builds the
// Payment Object, encrypts the card to the app's key and sends it.
func (s *System) adminCreatePayment(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	shopID := pathParam(r, "shopId")
	var in paymentInput
	if e := decode(r, &in); e != nil {
		return e
	}
	shop, aerr := s.adminShop(ctx, shopID)
	if aerr != nil {
		return aerr
	}
	inst, aerr := s.readyInstallation(ctx, shop, in.ClientID)
	if aerr != nil {
		return aerr
	}
	app, err := s.apps.Get(ctx, inst.ClientID)
	if err != nil {
		return fmt.Errorf("app %s of an installation: %w", inst.ClientID, err)
	}
	verbatim := len(in.PaymentMethodData) > 0
	switch {
	case verbatim && in.Card != nil:
		return apierr.Field(apierr.Invalid, "card", "exclusive", "give a card or paymentMethodData, not both")
	case verbatim && in.ReturnURL != "":
		return apierr.Field(apierr.Invalid, "returnUrl", "exclusive", "paymentMethodData is sent verbatim, with its own returnUrl")
	}
	if e := startPayment(app, verbatim); e != nil {
		return e
	}
	var recipient *ecdh.PublicKey
	if !verbatim {
		if recipient, err = ecies.ParsePublicKey(app.PublicKey); err != nil {
			return apierr.Field(apierr.Conflict, "clientId", "publicKey", "the public key of app %s is unusable", app.ClientID)
		}
	}
	if in.Currency == "" {
		in.Currency = shop.Currency
	}
	amount, err := money.ParsePositive(in.Amount, in.Currency)
	if err != nil {
		var pe *money.ParseError
		field, rule := "amount", "amount"
		if errors.As(err, &pe) {
			rule = string(pe.Rule)
			if pe.Rule == money.RuleCurrency {
				field = "currency"
			}
		}
		// The prefix stays: money's messages start with "amount", which
		// apierr.Field would take for the field's own prefix.
		return apierr.Field(apierr.Invalid, field, rule, "%s: %v", field, err)
	}
	for _, part := range []struct {
		field, schema string
		raw           json.RawMessage
	}{{"customer", "Customer", in.Customer}, {"clientDetails", "ClientDetails", in.ClientDetails}, {"purchaseInfo", "PurchaseInfo", in.PurchaseInfo}} {
		if e := s.checkAppSchema(ctx, part.field, part.schema, part.raw); e != nil {
			return e
		}
	}
	now := s.env.Clock.Now()
	p := Payment{
		ShopID: shop.ShopID, ClientID: app.ClientID, Amount: amount, Currency: in.Currency, ManualCapture: in.ManualCapture,
		Test: shop.TestMode, Status: StatusProcessing, CreatedAt: now, OutOrderNo: in.OutOrderNo,
	}
	if p.OutOrderNo == "" {
		p.OutOrderNo = s.env.IDs.Digits(21)
	}
	if len(in.Customer) == 0 {
		in.Customer, _ = fakeCustomer(s.env.Fake)
	}
	if len(in.ClientDetails) == 0 {
		in.ClientDetails = fakeClientDetails(s.env.Fake)
	}
	if len(in.PurchaseInfo) == 0 {
		in.PurchaseInfo = fakePurchase(s.env.Fake, shop, p.OutOrderNo, amount, in.Currency)
	}
	card := s.cardFor(in.Card, in.Customer, now)
	var raw json.RawMessage
	if verbatim {
		raw = compact(in.PaymentMethodData)
		var data struct {
			ReturnURL string `json:"returnUrl"`
		}
		json.Unmarshal(raw, &data)
		in.ReturnURL = data.ReturnURL
	} else {
		p.Card = cardSummary(card)
	}
	// The id is in the body and the return URL, so a clash (two payments in
	// the same second drawing the same digits) rebuilds both. Ids are a
	// shop's: the fixtures show one id in two shops.
	// The request's delivery is prepared (its row written) before the
	// payment is stored: see prepareRequest.
	var prepared *delivery.Delivery
	_, err = store.NewID(func(attempt int) string { return s.env.IDs.Stamped("PI00", now, 5, attempt) }, func(id string) error {
		p.PaymentID = id
		p.ReturnURL = in.ReturnURL
		if p.ReturnURL == "" && !verbatim {
			p.ReturnURL = s.returnURL(p)
		}
		method := PaymentMethod{Raw: raw}
		if !verbatim {
			pkg, err := ecies.SealCard(s.rand, recipient, card, p.ReturnURL, s.settings.ECIES.Ecies())
			if err != nil {
				return fmt.Errorf("sealing the card: %w", err)
			}
			method.Data = pkg
		}
		obj := PaymentObject{
			PurchaseInfo: compact(in.PurchaseInfo), Amount: money.Format(amount, in.Currency), ClientDetails: compact(in.ClientDetails),
			Test: p.Test, ManualCapture: p.ManualCapture, PaymentID: p.PaymentID, PaymentMethod: method,
			Currency: p.Currency, Customer: compact(in.Customer),
		}
		body, err := json.Marshal(obj)
		if err != nil {
			return fmt.Errorf("payment object %s: %w", p.PaymentID, err)
		}
		p.Request = Outbound{URL: app.Endpoints.PaymentURL, IdempotencyKey: p.PaymentID, State: DeliveryPending}
		if prepared != nil {
			prepared.Discard() // the id clashed: drawn again
		}
		prepared = s.prepareRequest(p, shop, app, KindPayment, p.PaymentID, app.Endpoints.PaymentURL, body)
		return s.payments.Create(ctx, paymentKey(p.ShopID, p.PaymentID), p)
	})
	if err != nil {
		if prepared != nil {
			prepared.Discard()
		}
		return fmt.Errorf("store payment: %w", err)
	}
	masked, testCard := "given verbatim (paymentMethodData)", ""
	if p.Card != nil {
		masked, testCard = p.Card.Masked, p.Card.TestCard
	}
	s.record("payment.created", fmt.Sprintf("payment %s of %s %s created on shop %s for app %s (card %s, manualCapture %t, test %t)",
		p.PaymentID, money.Format(amount, p.Currency), p.Currency, shop.ShopID, app.ClientID, masked, p.ManualCapture, p.Test),
		p.ids(KindPayment, p.PaymentID), map[string]any{"amount": money.Format(amount, p.Currency), "currency": p.Currency, "manualCapture": p.ManualCapture,
			"test": p.Test, "card": masked, "testCard": testCard, "outOrderNo": p.OutOrderNo, "verbatimPaymentMethod": verbatim})
	s.scheduleDeadline(p, KindPayment, p.PaymentID, false)
	s.deliver(p, shop.ShopID, KindPayment, p.PaymentID, app.Endpoints.PaymentURL, prepared)
	return s.answerPayment(w, r, shop.ShopID, p.PaymentID, http.StatusCreated)
}

// compact removes the insignificant whitespace of supplied JSON, so the
// Payment Object is compact whatever the admin request looked like.
func compact(raw json.RawMessage) json.RawMessage {
	if len(raw) == 0 {
		return nil
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		return raw
	}
	return buf.Bytes()
}

// readyInstallation loads the installations of the shop and picks the one a
// payment goes to (states.go: paymentInstallation).
func (s *System) readyInstallation(ctx context.Context, shop Shop, clientID string) (Installation, *apierr.Error) {
	list, err := s.installations.Find(ctx, "shop", shop.ShopID, nil)
	if err != nil {
		return Installation{}, apierr.Wrap(fmt.Errorf("installations of shop %s: %w", shop.ShopID, err))
	}
	return paymentInstallation(shop.ShopID, clientID, list)
}

// checkAppSchema validates buyer or basket data supplied by an admin
// request against the schema of genstore-app.yaml the app validates with,
// so that a typo fails here, naming the field, instead of at the app.
func (s *System) checkAppSchema(ctx context.Context, field, schema string, raw json.RawMessage) *apierr.Error {
	if len(raw) == 0 {
		return nil
	}
	doc, err := s.loadAppSpec(ctx)
	if err != nil {
		return apierr.Wrap(err)
	}
	ref := doc.Components.Schemas[schema]
	if ref == nil || ref.Value == nil {
		return apierr.Wrap(fmt.Errorf("genstore-app.yaml has no schema %s", schema))
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return apierr.Field(apierr.Malformed, field, "parse", "is not JSON")
	}
	err = ref.Value.VisitJSON(v, openapi3.MultiErrors(), openapi3.WithStringFormatValidators(openapi.Formats()), openapi3.EnableFormatValidation())
	if err == nil {
		return nil
	}
	vs := openapi.Violations(err)
	if len(vs) == 0 {
		return apierr.Field(apierr.Invalid, field, "schema", "does not match the %s schema of genstore-app.yaml", schema)
	}
	f := field
	if vs[0].Field != "" {
		f += "." + vs[0].Field
	}
	// The prefix stays: the reason is kin-openapi's text, which could start
	// with the field's name.
	return apierr.Field(apierr.Invalid, f, vs[0].Rule, "%s: %s", f, vs[0].Reason)
}

// cardFor completes the card the buyer entered: a valid expiry three years
// ahead, CVV 123 and the billing name when not given.
func (s *System) cardFor(in *CardInput, customer json.RawMessage, now time.Time) ecies.Card {
	c := ecies.Card{Number: DefaultCard}
	if in != nil {
		c = ecies.Card{Number: in.Number, ExpiryMonth: in.ExpiryMonth, ExpiryYear: in.ExpiryYear, CVV: in.CVV, HolderName: in.HolderName}
	}
	if c.ExpiryMonth == "" {
		c.ExpiryMonth = "12"
	}
	if c.ExpiryYear == "" {
		c.ExpiryYear = fmt.Sprint(now.Year() + 3)
	}
	if c.CVV == "" {
		c.CVV = "123"
	}
	if c.HolderName == "" {
		c.HolderName = holderFrom(customer)
	}
	return c
}

func cardSummary(c ecies.Card) *Card {
	out := &Card{Brand: fixtures.Brand(c.Number), Masked: pan.Mask(c.Number), ExpiryMonth: c.ExpiryMonth, ExpiryYear: c.ExpiryYear}
	if cards, err := fixtures.TestCards(); err == nil {
		tc, _, known := cards.Lookup(c.Number)
		out.Outcome = tc.Outcome
		if known {
			out.TestCard = tc.NN
		}
	}
	return out
}

func (s *System) adminListPayments(w http.ResponseWriter, r *http.Request) error {
	shopID := pathParam(r, "shopId")
	shop, aerr := s.adminShop(r.Context(), shopID)
	if aerr != nil {
		return aerr
	}
	list, err := s.payments.Find(r.Context(), "shop", shopID, nil)
	if err != nil {
		return fmt.Errorf("list payments of shop %s: %w", shopID, err)
	}
	view := func(p Payment) PaymentView { return paymentView(p, shop) }
	admin.WriteJSON(w, http.StatusOK, map[string]any{"payments": views(list, view)})
	return nil
}

func (s *System) adminGetPayment(w http.ResponseWriter, r *http.Request) error {
	return s.answerPayment(w, r, pathParam(r, "shopId"), pathParam(r, "paymentId"), http.StatusOK)
}

func (s *System) answerPayment(w http.ResponseWriter, r *http.Request, shopID, paymentID string, status int) error {
	shop, aerr := s.adminShop(r.Context(), shopID)
	if aerr != nil {
		return aerr
	}
	p, aerr := s.adminPayment(r.Context(), shopID, paymentID)
	if aerr != nil {
		return aerr
	}
	admin.WriteJSON(w, status, paymentView(p, shop))
	return nil
}
