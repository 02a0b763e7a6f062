package genstore

import (
	"bytes"
	"context"
	"crypto/ecdh"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/pspsim/pspsim/fixtures"
	"github.com/pspsim/pspsim/simulator/admin"
	"github.com/pspsim/pspsim/simulator/apierr"
	"github.com/pspsim/pspsim/simulator/ecies"
	"github.com/pspsim/pspsim/simulator/money"
	"github.com/pspsim/pspsim/simulator/openapi"
	"github.com/pspsim/pspsim/simulator/pan"
	"github.com/pspsim/pspsim/simulator/store"
)

// AdminHandlers returns the handlers of the admin operations of the genstore
// region of specs/admin.yaml: set-up (apps, shops, installations), the
// merchant's actions (payments, captures, voids, refunds, reconciliation)
// and the buyer's (a redirect, a challenge).
func (s *System) AdminHandlers() map[string]http.Handler {
	hs := map[string]http.HandlerFunc{
		"registerGenstoreApp":       s.adminRegisterApp,
		"listGenstoreApps":          s.adminListApps,
		"getGenstoreApp":            s.adminGetApp,
		"updateGenstoreApp":         s.adminUpdateApp,
		"createGenstoreShop":        s.adminCreateShop,
		"listGenstoreShops":         s.adminListShops,
		"getGenstoreShop":           s.adminGetShop,
		"updateGenstoreShop":        s.adminUpdateShop,
		"installGenstoreApp":        s.adminInstall,
		"listGenstoreInstallations": s.adminListInstallations,
		"createGenstorePayment":     s.adminCreatePayment,
		"listGenstorePayments":      s.adminListPayments,
		"getGenstorePayment":        s.adminGetPayment,
		"captureGenstorePayment":    s.adminOperation(KindCapture),
		"voidGenstorePayment":       s.adminOperation(KindVoid),
		"refundGenstorePayment":     s.adminOperation(KindRefund),
		"reconcileGenstorePayment":  s.adminReconcile,
		"followGenstoreRedirect":    s.adminFollowRedirect,
		"completeGenstoreChallenge": s.adminChallenge,
	}
	out := make(map[string]http.Handler, len(hs))
	for k, h := range hs {
		out[k] = h
	}
	return out
}

func body(r *http.Request) []byte {
	if req := openapi.FromContext(r.Context()); req != nil {
		return req.Body
	}
	return nil
}

func pathParam(r *http.Request, name string) string {
	if req := openapi.FromContext(r.Context()); req != nil {
		return req.PathParams[name]
	}
	return ""
}

func decode(r *http.Request, v any) *apierr.Error {
	if err := json.Unmarshal(body(r), v); err != nil {
		return apierr.New(apierr.Malformed, "the body is not the JSON object this operation takes: %v", jsonProblem(err))
	}
	return nil
}

// jsonProblem describes a decoding error without quoting input.
func jsonProblem(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Sprintf("%s must be %s", te.Field, te.Type)
	}
	return "malformed JSON"
}

func adminNotFound(what, field, id string) *apierr.Error {
	return apierr.Field(apierr.NotFound, field, "exists", "%s: no %s %s", field, what, id)
}

// ---------------------------------------------------------------- apps

// AppView is an app as the admin API shows it: everything but the secret.
type AppView struct {
	ClientID     string    `json:"clientId"`
	Name         string    `json:"name"`
	Scopes       []string  `json:"scopes"`
	Endpoints    Endpoints `json:"endpoints"`
	PublicKey    string    `json:"publicKey,omitempty"`
	HasPublicKey bool      `json:"hasPublicKey"`
	CreatedAt    time.Time `json:"createdAt"`
}

func appView(a App) AppView {
	return AppView{ClientID: a.ClientID, Name: a.Name, Scopes: a.Scopes, Endpoints: a.Endpoints, PublicKey: a.PublicKey, HasPublicKey: a.PublicKey != "", CreatedAt: a.CreatedAt}
}

func configError(err error) *apierr.Error {
	msg := err.Error()
	field, _, _ := strings.Cut(msg, ":")
	return apierr.Field(apierr.Invalid, field, "valid", "%s", msg)
}

func (s *System) adminRegisterApp(w http.ResponseWriter, r *http.Request) {
	var a App
	if e := decode(r, &a); e != nil {
		admin.Error(w, r, e)
		return
	}
	if len(a.Scopes) == 0 {
		a.Scopes = slices.Clone(KnownScopes)
	}
	if err := checkApp(a); err != nil {
		admin.Error(w, r, configError(err))
		return
	}
	a.CreatedAt = s.env.Clock.Now()
	if err := s.apps.Create(r.Context(), a.ClientID, a); errors.Is(err, store.ErrExists) {
		admin.Error(w, r, apierr.Field(apierr.Conflict, "clientId", "unique", "clientId: an app %s is already registered (PATCH it instead)", a.ClientID))
		return
	} else if err != nil {
		admin.Error(w, r, apierr.Wrap(err))
		return
	}
	s.record("app.registered", fmt.Sprintf("app %s (%s) registered with scopes %s", a.ClientID, a.Name, strings.Join(a.Scopes, ",")),
		map[string]string{"clientId": a.ClientID}, map[string]any{"endpoints": a.Endpoints, "hasPublicKey": a.PublicKey != ""})
	admin.WriteJSON(w, http.StatusCreated, appView(a))
}

func (s *System) adminListApps(w http.ResponseWriter, r *http.Request) {
	apps, err := s.apps.List(r.Context(), nil)
	if err != nil {
		admin.Error(w, r, apierr.Wrap(err))
		return
	}
	out := []AppView{}
	for _, a := range apps {
		out = append(out, appView(a))
	}
	admin.WriteJSON(w, http.StatusOK, map[string]any{"apps": out})
}

func (s *System) adminGetApp(w http.ResponseWriter, r *http.Request) {
	id := pathParam(r, "clientId")
	a, err := s.apps.Get(r.Context(), id)
	if err != nil {
		admin.Error(w, r, adminNotFound("app", "clientId", id))
		return
	}
	admin.WriteJSON(w, http.StatusOK, appView(a))
}

// adminUpdateApp changes what is given: name, secret, scopes, public key, and
// each endpoint given (an empty string removes it).
func (s *System) adminUpdateApp(w http.ResponseWriter, r *http.Request) {
	id := pathParam(r, "clientId")
	var in struct {
		Name         *string            `json:"name"`
		ClientSecret *string            `json:"clientSecret"`
		Scopes       []string           `json:"scopes"`
		PublicKey    *string            `json:"publicKey"`
		Endpoints    map[string]*string `json:"endpoints"`
	}
	if e := decode(r, &in); e != nil {
		admin.Error(w, r, e)
		return
	}
	a, err := s.apps.Update(r.Context(), id, func(a *App) error {
		if in.Name != nil {
			a.Name = *in.Name
		}
		if in.ClientSecret != nil {
			a.ClientSecret = *in.ClientSecret
		}
		if in.Scopes != nil {
			a.Scopes = in.Scopes
		}
		if in.PublicKey != nil {
			a.PublicKey = *in.PublicKey
		}
		for name, v := range in.Endpoints {
			val := ""
			if v != nil {
				val = *v
			}
			if !a.Endpoints.set(name, val) {
				return apierr.Field(apierr.Invalid, "endpoints."+name, "additionalProperties", "endpoints.%s: is not an endpoint", name)
			}
		}
		if err := checkApp(*a); err != nil {
			return configError(err)
		}
		return nil
	})
	if errors.Is(err, store.ErrNotFound) {
		admin.Error(w, r, adminNotFound("app", "clientId", id))
		return
	}
	if err != nil {
		admin.Error(w, r, apierr.Wrap(err))
		return
	}
	s.record("app.updated", fmt.Sprintf("app %s updated", id), map[string]string{"clientId": id}, map[string]any{"endpoints": a.Endpoints, "hasPublicKey": a.PublicKey != ""})
	admin.WriteJSON(w, http.StatusOK, appView(a))
}

func (e *Endpoints) set(name, v string) bool {
	switch name {
	case "onboardingUrl":
		e.OnboardingURL = v
	case "paymentUrl":
		e.PaymentURL = v
	case "captureUrl":
		e.CaptureURL = v
	case "voidUrl":
		e.VoidURL = v
	case "refundUrl":
		e.RefundURL = v
	case "paymentQueryUrl":
		e.PaymentQueryURL = v
	case "refundQueryUrl":
		e.RefundQueryURL = v
	default:
		return false
	}
	return true
}

// ---------------------------------------------------------------- shops

func (s *System) adminCreateShop(w http.ResponseWriter, r *http.Request) {
	sh := Shop{Currency: "USD", TestMode: true, FeePlan: FeePlan{PercentBasisPoints: 290, FixedMinor: 30}}
	if e := decode(r, &sh); e != nil {
		admin.Error(w, r, e)
		return
	}
	if sh.ShopID == "" {
		sh.ShopID = s.env.IDs.Digits(8)
	}
	if sh.Name == "" {
		sh.Name = sh.Handle
	}
	if err := checkShop(sh); err != nil {
		admin.Error(w, r, configError(err))
		return
	}
	sh.CreatedAt = s.env.Clock.Now()
	if err := s.shops.Create(r.Context(), sh.ShopID, sh, "handle/"+sh.Handle); errors.Is(err, store.ErrExists) {
		admin.Error(w, r, apierr.Field(apierr.Conflict, "shopId", "unique", "shopId: a shop %s or a shop named %s already exists", sh.ShopID, sh.Handle))
		return
	} else if err != nil {
		admin.Error(w, r, apierr.Wrap(err))
		return
	}
	s.record("shop.created", fmt.Sprintf("shop %s (%s) created: %s, test mode %t, fee %d bp + %d minor", sh.ShopID, sh.Handle, sh.Currency, sh.TestMode, sh.FeePlan.PercentBasisPoints, sh.FeePlan.FixedMinor),
		map[string]string{"shopId": sh.ShopID}, map[string]any{"testMode": sh.TestMode, "feePlan": sh.FeePlan})
	admin.WriteJSON(w, http.StatusCreated, sh)
}

func (s *System) adminListShops(w http.ResponseWriter, r *http.Request) {
	shops, err := s.shops.List(r.Context(), nil)
	if err != nil {
		admin.Error(w, r, apierr.Wrap(err))
		return
	}
	if shops == nil {
		shops = []Shop{}
	}
	admin.WriteJSON(w, http.StatusOK, map[string]any{"shops": shops})
}

func (s *System) adminGetShop(w http.ResponseWriter, r *http.Request) {
	id := pathParam(r, "shopId")
	sh, err := s.shops.Get(r.Context(), id)
	if err != nil {
		admin.Error(w, r, adminNotFound("shop", "shopId", id))
		return
	}
	admin.WriteJSON(w, http.StatusOK, sh)
}

// adminUpdateShop changes a shop's name, test mode, fee plan or time zone.
// Payments already made keep their test flag; fees are computed when asked.
func (s *System) adminUpdateShop(w http.ResponseWriter, r *http.Request) {
	id := pathParam(r, "shopId")
	var in struct {
		Name     *string  `json:"name"`
		TestMode *bool    `json:"testMode"`
		FeePlan  *FeePlan `json:"feePlan"`
		Timezone *string  `json:"timezone"`
	}
	if e := decode(r, &in); e != nil {
		admin.Error(w, r, e)
		return
	}
	sh, err := s.shops.Update(r.Context(), id, func(sh *Shop) error {
		if in.Name != nil {
			sh.Name = *in.Name
		}
		if in.TestMode != nil {
			sh.TestMode = *in.TestMode
		}
		if in.FeePlan != nil {
			sh.FeePlan = *in.FeePlan
		}
		if in.Timezone != nil {
			sh.Timezone = *in.Timezone
		}
		if err := checkShop(*sh); err != nil {
			return configError(err)
		}
		return nil
	})
	if errors.Is(err, store.ErrNotFound) {
		admin.Error(w, r, adminNotFound("shop", "shopId", id))
		return
	}
	if err != nil {
		admin.Error(w, r, apierr.Wrap(err))
		return
	}
	s.record("shop.updated", fmt.Sprintf("shop %s updated: test mode %t, fee %d bp + %d minor", id, sh.TestMode, sh.FeePlan.PercentBasisPoints, sh.FeePlan.FixedMinor),
		map[string]string{"shopId": id}, map[string]any{"testMode": sh.TestMode, "feePlan": sh.FeePlan, "timezone": sh.Timezone})
	admin.WriteJSON(w, http.StatusOK, sh)
}

// ---------------------------------------------------------------- installations

// InstallationView is an installation without its access token (the app
// received it; the merchant never sees it).
type InstallationView struct {
	ShopID      string     `json:"shopId"`
	ClientID    string     `json:"clientId"`
	Scopes      []string   `json:"scopes"`
	Ready       bool       `json:"ready"`
	ReadyAt     *time.Time `json:"readyAt,omitempty"`
	InstalledAt time.Time  `json:"installedAt"`
}

func installationView(i Installation) InstallationView {
	return InstallationView{ShopID: i.ShopID, ClientID: i.ClientID, Scopes: i.Scopes, Ready: i.Ready, ReadyAt: i.ReadyAt, InstalledAt: i.InstalledAt}
}

func (s *System) adminListInstallations(w http.ResponseWriter, r *http.Request) {
	id := pathParam(r, "shopId")
	if _, err := s.shops.Get(r.Context(), id); err != nil {
		admin.Error(w, r, adminNotFound("shop", "shopId", id))
		return
	}
	list, err := s.installations.List(r.Context(), func(i *Installation) bool { return i.ShopID == id })
	if err != nil {
		admin.Error(w, r, apierr.Wrap(err))
		return
	}
	out := []InstallationView{}
	for _, i := range list {
		out = append(out, installationView(i))
	}
	admin.WriteJSON(w, http.StatusOK, map[string]any{"installations": out})
}

// adminInstall starts an installation: a code and the signed onboarding
// URL; with followRedirect (the default when the app has an onboardingUrl),
// Genstore's admin also plays the merchant's browser and opens it.
func (s *System) adminInstall(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	shopID := pathParam(r, "shopId")
	var in struct {
		ClientID       string `json:"clientId"`
		FollowRedirect *bool  `json:"followRedirect"`
	}
	if e := decode(r, &in); e != nil {
		admin.Error(w, r, e)
		return
	}
	shop, err := s.shops.Get(ctx, shopID)
	if err != nil {
		admin.Error(w, r, adminNotFound("shop", "shopId", shopID))
		return
	}
	app, err := s.apps.Get(ctx, in.ClientID)
	if err != nil {
		admin.Error(w, r, adminNotFound("app", "clientId", in.ClientID))
		return
	}
	follow := app.Endpoints.OnboardingURL != ""
	if in.FollowRedirect != nil {
		follow = *in.FollowRedirect
	}
	if follow && app.Endpoints.OnboardingURL == "" {
		admin.Error(w, r, apierr.Field(apierr.Conflict, "followRedirect", "onboardingUrl", "followRedirect: app %s registered no onboardingUrl to send the browser to", app.ClientID))
		return
	}
	code, u, err := s.issueCode(ctx, shop, app)
	if err != nil {
		admin.Error(w, r, apierr.Wrap(err))
		return
	}
	out := map[string]any{"shopId": shop.ShopID, "clientId": app.ClientID, "code": code.Code, "expiresAt": code.ExpiresAt}
	if u != "" {
		out["onboardingUrl"] = u
	}
	if follow {
		page := s.browser.get(ctx, "install/"+shop.ShopID+"/"+app.ClientID, u)
		out["redirect"] = page.view()
		s.record("installation.redirect_followed", fmt.Sprintf("the merchant's browser opened the onboarding URL of app %s: %s", app.ClientID, page.summary()),
			map[string]string{"shopId": shop.ShopID, "clientId": app.ClientID}, map[string]any{"status": page.Status, "finalUrl": page.URL, "error": page.Err})
	}
	admin.WriteJSON(w, http.StatusCreated, out)
}

// ---------------------------------------------------------------- payments

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
func (s *System) adminCreatePayment(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	shopID := pathParam(r, "shopId")
	var in paymentInput
	if e := decode(r, &in); e != nil {
		admin.Error(w, r, e)
		return
	}
	shop, err := s.shops.Get(ctx, shopID)
	if err != nil {
		admin.Error(w, r, adminNotFound("shop", "shopId", shopID))
		return
	}
	inst, aerr := s.readyInstallation(ctx, shop, in.ClientID)
	if aerr != nil {
		admin.Error(w, r, aerr)
		return
	}
	app, err := s.apps.Get(ctx, inst.ClientID)
	if err != nil {
		admin.Error(w, r, apierr.Wrap(err))
		return
	}
	verbatim := len(in.PaymentMethodData) > 0
	switch {
	case verbatim && in.Card != nil:
		admin.Error(w, r, apierr.Field(apierr.Invalid, "card", "exclusive", "card: give a card or paymentMethodData, not both"))
		return
	case verbatim && in.ReturnURL != "":
		admin.Error(w, r, apierr.Field(apierr.Invalid, "returnUrl", "exclusive", "returnUrl: paymentMethodData is sent verbatim, with its own returnUrl"))
		return
	case app.Endpoints.PaymentURL == "":
		admin.Error(w, r, apierr.Field(apierr.Conflict, "clientId", "paymentUrl", "clientId: app %s registered no paymentUrl", app.ClientID))
		return
	case app.PublicKey == "" && !verbatim:
		admin.Error(w, r, apierr.Field(apierr.Conflict, "clientId", "publicKey", "clientId: app %s registered no ECIES public key to encrypt the card to", app.ClientID))
		return
	}
	var recipient *ecdh.PublicKey
	if !verbatim {
		if recipient, err = ecies.ParsePublicKey(app.PublicKey); err != nil {
			admin.Error(w, r, apierr.Field(apierr.Conflict, "clientId", "publicKey", "clientId: the public key of app %s is unusable", app.ClientID))
			return
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
		admin.Error(w, r, apierr.Field(apierr.Invalid, field, rule, "%s: %v", field, err))
		return
	}
	for _, part := range []struct {
		field, schema string
		raw           json.RawMessage
	}{{"customer", "Customer", in.Customer}, {"clientDetails", "ClientDetails", in.ClientDetails}, {"purchaseInfo", "PurchaseInfo", in.PurchaseInfo}} {
		if e := s.checkAppSchema(ctx, part.field, part.schema, part.raw); e != nil {
			admin.Error(w, r, e)
			return
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
	// the same second drawing the same digits) rebuilds both.
	var body []byte
	for attempt := 0; ; attempt++ {
		p.PaymentID = s.newPaymentID(now)
		p.ReturnURL = in.ReturnURL
		if p.ReturnURL == "" && !verbatim {
			p.ReturnURL = s.returnURL(p)
		}
		method := PaymentMethod{Raw: raw}
		if !verbatim {
			pkg, err := ecies.SealCard(s.rand, recipient, card, p.ReturnURL, s.settings.ECIES.Ecies())
			if err != nil {
				admin.Error(w, r, apierr.Wrap(fmt.Errorf("sealing the card: %w", err)))
				return
			}
			method.Data = pkg
		}
		obj := PaymentObject{
			PurchaseInfo: compact(in.PurchaseInfo), Amount: money.Format(amount, in.Currency), ClientDetails: compact(in.ClientDetails),
			Test: p.Test, ManualCapture: p.ManualCapture, PaymentID: p.PaymentID, PaymentMethod: method,
			Currency: p.Currency, Customer: compact(in.Customer),
		}
		if body, err = json.Marshal(obj); err != nil {
			admin.Error(w, r, apierr.Wrap(err))
			return
		}
		p.Request = Outbound{URL: app.Endpoints.PaymentURL, IdempotencyKey: p.PaymentID, State: DeliveryPending}
		err = s.payments.Create(ctx, paymentKey(p.ShopID, p.PaymentID), p)
		if errors.Is(err, store.ErrExists) && attempt < 20 {
			continue
		}
		if err != nil {
			admin.Error(w, r, apierr.Wrap(err))
			return
		}
		break
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
	s.deliver(p, shop, app, KindPayment, p.PaymentID, app.Endpoints.PaymentURL, body)
	s.answerPayment(w, r, shop.ShopID, p.PaymentID, http.StatusCreated)
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

// readyInstallation picks the installation a payment goes to: the named
// app's, or the only one on the shop; it must be ready (account_authorize).
func (s *System) readyInstallation(ctx context.Context, shop Shop, clientID string) (Installation, *apierr.Error) {
	if clientID != "" {
		in, err := s.installations.Get(ctx, installationKey(shop.ShopID, clientID))
		if err != nil {
			return in, apierr.Field(apierr.NotFound, "clientId", "installed", "clientId: app %s is not installed on shop %s", clientID, shop.ShopID)
		}
		if !in.Ready {
			return in, apierr.Field(apierr.Conflict, "clientId", "ready", "clientId: app %s on shop %s is not ready: it has not reported account_authorize ready=true, and Genstore sends no payment to it", clientID, shop.ShopID)
		}
		return in, nil
	}
	list, err := s.installations.List(ctx, func(i *Installation) bool { return i.ShopID == shop.ShopID })
	if err != nil {
		return Installation{}, apierr.Wrap(err)
	}
	var ready []Installation
	for _, i := range list {
		if i.Ready {
			ready = append(ready, i)
		}
	}
	switch {
	case len(ready) == 1:
		return ready[0], nil
	case len(ready) > 1:
		return Installation{}, apierr.Field(apierr.Missing, "clientId", "required", "clientId: is required: %d ready apps are installed on shop %s", len(ready), shop.ShopID)
	case len(list) > 0:
		return Installation{}, apierr.Field(apierr.Conflict, "clientId", "ready", "clientId: no app installed on shop %s is ready (account_authorize ready=true): Genstore sends no payment", shop.ShopID)
	}
	return Installation{}, apierr.Field(apierr.Conflict, "clientId", "installed", "clientId: no payment app is installed on shop %s", shop.ShopID)
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
		return apierr.Field(apierr.Malformed, field, "parse", "%s: is not JSON", field)
	}
	err = ref.Value.VisitJSON(v, openapi3.MultiErrors(), openapi3.WithStringFormatValidators(openapi.Formats()), openapi3.EnableFormatValidation())
	if err == nil {
		return nil
	}
	vs := openapi.Violations(err)
	if len(vs) == 0 {
		return apierr.Field(apierr.Invalid, field, "schema", "%s: does not match the %s schema of genstore-app.yaml", field, schema)
	}
	f := field
	if vs[0].Field != "" {
		f += "." + vs[0].Field
	}
	return apierr.Field(apierr.Invalid, f, vs[0].Rule, "%s: %s", f, vs[0].Reason)
}

// newPaymentID draws a Genstore-looking payment id: "PI00", the time to the
// second, five digits (the seed's ids have three; two more make a clash
// within a second rare, and Create still refuses one).
func (s *System) newPaymentID(now time.Time) string {
	return "PI00" + now.UTC().Format("20060102150405") + s.env.IDs.Digits(5)
}

// claimOpID draws a capture (CI), void (VI) or refund (RI) id and claims it
// on the payment, so that two operations started in the same second never
// share an id.
func (s *System) claimOpID(ctx context.Context, kind, shopID, paymentID string, now time.Time) (string, error) {
	prefix := map[string]string{KindCapture: "CI00", KindVoid: "VI00", KindRefund: "RI00"}[kind]
	for range 20 {
		id := prefix + now.UTC().Format("20060102150405") + s.env.IDs.Digits(5)
		err := s.payments.Claim(ctx, paymentKey(shopID, paymentID), opKey(kind, shopID, id))
		if err == nil {
			return id, nil
		}
		if !errors.Is(err, store.ErrExists) {
			return "", err
		}
	}
	return "", fmt.Errorf("no free %s id this second", kind)
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

func (s *System) adminListPayments(w http.ResponseWriter, r *http.Request) {
	shopID := pathParam(r, "shopId")
	shop, err := s.shops.Get(r.Context(), shopID)
	if err != nil {
		admin.Error(w, r, adminNotFound("shop", "shopId", shopID))
		return
	}
	list, err := s.payments.List(r.Context(), func(p *Payment) bool { return p.ShopID == shopID })
	if err != nil {
		admin.Error(w, r, apierr.Wrap(err))
		return
	}
	out := []PaymentView{}
	for _, p := range list {
		out = append(out, paymentView(p, shop))
	}
	admin.WriteJSON(w, http.StatusOK, map[string]any{"payments": out})
}

func (s *System) adminGetPayment(w http.ResponseWriter, r *http.Request) {
	s.answerPayment(w, r, pathParam(r, "shopId"), pathParam(r, "paymentId"), http.StatusOK)
}

func (s *System) answerPayment(w http.ResponseWriter, r *http.Request, shopID, paymentID string, status int) {
	shop, err := s.shops.Get(r.Context(), shopID)
	if err != nil {
		admin.Error(w, r, adminNotFound("shop", "shopId", shopID))
		return
	}
	p, err := s.payments.Get(r.Context(), paymentKey(shopID, paymentID))
	if err != nil {
		admin.Error(w, r, adminNotFound("payment", "paymentId", paymentID))
		return
	}
	admin.WriteJSON(w, status, paymentView(p, shop))
}

// adminOperation returns the handler that captures, voids or refunds a
// payment: the merchant's action in Genstore's admin.
func (s *System) adminOperation(kind string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		shopID, paymentID := pathParam(r, "shopId"), pathParam(r, "paymentId")
		var in struct {
			Amount    string `json:"amount"`
			Unchecked bool   `json:"unchecked"`
		}
		if len(body(r)) > 0 {
			if e := decode(r, &in); e != nil {
				admin.Error(w, r, e)
				return
			}
		}
		shop, err := s.shops.Get(ctx, shopID)
		if err != nil {
			admin.Error(w, r, adminNotFound("shop", "shopId", shopID))
			return
		}
		p, err := s.payments.Get(ctx, paymentKey(shopID, paymentID))
		if err != nil {
			admin.Error(w, r, adminNotFound("payment", "paymentId", paymentID))
			return
		}
		app, err := s.apps.Get(ctx, p.ClientID)
		if err != nil {
			admin.Error(w, r, apierr.Wrap(err))
			return
		}
		target := map[string]string{KindCapture: app.Endpoints.CaptureURL, KindVoid: app.Endpoints.VoidURL, KindRefund: app.Endpoints.RefundURL}[kind]
		if target == "" {
			admin.Error(w, r, apierr.Field(apierr.Conflict, "paymentId", kind+"Url", "paymentId: app %s registered no %sUrl", app.ClientID, kind))
			return
		}
		var amount int64
		if in.Amount != "" {
			if kind == KindVoid {
				admin.Error(w, r, apierr.Field(apierr.Invalid, "amount", "additionalProperties", "amount: a void releases the whole authorization and takes no amount"))
				return
			}
			if amount, err = money.ParsePositive(in.Amount, p.Currency); err != nil {
				admin.Error(w, r, apierr.Field(apierr.Invalid, "amount", "amount", "amount: %v", err))
				return
			}
		}
		now := s.env.Clock.Now()
		id, err := s.claimOpID(ctx, kind, shopID, paymentID, now)
		if err != nil {
			admin.Error(w, r, apierr.Wrap(err))
			return
		}
		p, err = s.payments.Update(ctx, paymentKey(shopID, paymentID), func(p *Payment) error {
			if p.Fixture && p.Request.URL == "" {
				return apierr.Field(apierr.Conflict, "paymentId", "fixture", "paymentId: %s is sample data of the fixtures, never sent to an app; create a payment to capture, void or refund", p.PaymentID)
			}
			op, e := newOperation(p, kind, id, amount, now, in.Unchecked)
			if e != nil {
				return e
			}
			op.Request = Outbound{URL: target, IdempotencyKey: id, State: DeliveryPending}
			p.Operations = append(p.Operations, op)
			return nil
		})
		if err != nil {
			admin.Error(w, r, apierr.Wrap(err))
			return
		}
		op := p.op(kind, id)
		var raw []byte
		amountText := money.Format(op.Amount, p.Currency)
		switch kind {
		case KindCapture:
			raw, err = json.Marshal(CaptureObject{Amount: amountText, Test: p.Test, PaymentID: p.PaymentID, CaptureID: id})
		case KindVoid:
			raw, err = json.Marshal(VoidObject{Test: p.Test, VoidID: id, PaymentID: p.PaymentID})
		case KindRefund:
			raw, err = json.Marshal(RefundObject{Amount: amountText, Test: p.Test, PaymentID: p.PaymentID, RefundID: id})
		}
		if err != nil {
			admin.Error(w, r, apierr.Wrap(err))
			return
		}
		msg := fmt.Sprintf("%s %s of payment %s created", kind, id, p.PaymentID)
		if kind != KindVoid {
			msg += fmt.Sprintf(" for %s %s", amountText, p.Currency)
		}
		s.record(kind+".created", msg, p.ids(kind, id), map[string]any{"amount": amountText, "currency": p.Currency, "test": p.Test})
		s.scheduleDeadline(p, kind, id, false)
		s.deliver(p, shop, app, kind, id, target, raw)
		cur, err := s.payments.Get(ctx, paymentKey(shopID, paymentID))
		if err != nil {
			admin.Error(w, r, apierr.Wrap(err))
			return
		}
		admin.WriteJSON(w, http.StatusCreated, map[string]any{"operation": opView(*cur.op(kind, id), cur.Currency), "payment": paymentView(cur, shop)})
	}
}

// newOperation checks that the merchant may start an operation now and
// builds it (CONTRACT.md §3: a capture or void of a payment in 4
// auth_success, one at a time; refunds of a payment in 2 success, several,
// never more in total than was captured). unchecked skips the amount limits
// (not the states), so that a test can see whether the app enforces them too.
func newOperation(p *Payment, kind, id string, amount int64, now time.Time, unchecked bool) (Operation, *apierr.Error) {
	op := Operation{Kind: kind, ID: id, Status: OpProcessing, CreatedAt: now}
	state := func(want Status) *apierr.Error {
		return apierr.Field(apierr.Conflict, "paymentId", "state", "paymentId: payment %s is in status %s (%s); a %s needs status %s (%s)", p.PaymentID, p.Status.Code(), p.Status, kind, want.Code(), want)
	}
	switch kind {
	case KindCapture, KindVoid:
		if !p.ManualCapture {
			return op, apierr.Field(apierr.Conflict, "paymentId", "manualCapture", "paymentId: payment %s was captured with its authorization (manualCapture:false); there is nothing to %s", p.PaymentID, kind)
		}
		if p.Status != StatusAuthSuccess {
			return op, state(StatusAuthSuccess)
		}
		for _, k := range []string{KindCapture, KindVoid} {
			if o := p.pending(k); o != nil {
				return op, apierr.Field(apierr.Conflict, "paymentId", "pending", "paymentId: %s %s of payment %s is still processing; wait for its result", k, o.ID, p.PaymentID)
			}
		}
		if kind == KindCapture {
			if amount == 0 {
				amount = p.Amount
			}
			if amount > p.Amount && !unchecked {
				return op, apierr.Field(apierr.Unprocessable, "amount", "maximum", "amount: %s is more than the authorized %s", money.Format(amount, p.Currency), money.Format(p.Amount, p.Currency))
			}
			op.Amount = amount
		}
	case KindRefund:
		if p.Status != StatusSuccess {
			return op, state(StatusSuccess)
		}
		left := p.refundable()
		if amount == 0 {
			amount = left
		}
		if amount <= 0 {
			return op, apierr.Field(apierr.Unprocessable, "amount", "maximum", "amount: payment %s is refunded in full (or the rest is being refunded)", p.PaymentID)
		}
		if left <= 0 && !unchecked {
			return op, apierr.Field(apierr.Unprocessable, "amount", "maximum", "amount: payment %s is refunded in full (or the rest is being refunded)", p.PaymentID)
		}
		if amount > left && !unchecked {
			return op, apierr.Field(apierr.Unprocessable, "amount", "maximum", "amount: %s is more than can still be refunded (%s of the captured %s)", money.Format(amount, p.Currency), money.Format(left, p.Currency), money.Format(p.CapturedMinor, p.Currency))
		}
		op.Amount = amount
	}
	return op, nil
}

// adminReconcile polls the app's query endpoint about the payment (or a
// refund of it) now, as the scheduled reconciliation would.
func (s *System) adminReconcile(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	shopID, paymentID := pathParam(r, "shopId"), pathParam(r, "paymentId")
	var in struct {
		RefundID string `json:"refundId"`
	}
	if len(body(r)) > 0 {
		if e := decode(r, &in); e != nil {
			admin.Error(w, r, e)
			return
		}
	}
	p, err := s.payments.Get(ctx, paymentKey(shopID, paymentID))
	if err != nil {
		admin.Error(w, r, adminNotFound("payment", "paymentId", paymentID))
		return
	}
	kind, id := KindPayment, paymentID
	if in.RefundID != "" {
		if p.op(KindRefund, in.RefundID) == nil {
			admin.Error(w, r, adminNotFound("refund of this payment", "refundId", in.RefundID))
			return
		}
		kind, id = KindRefund, in.RefundID
	}
	poll, err := s.reconcile(ctx, shopID, paymentID, kind, id, "admin")
	if err != nil {
		admin.Error(w, r, apierr.Wrap(err))
		return
	}
	shop, _ := s.shops.Get(ctx, shopID)
	cur, _ := s.payments.Get(ctx, paymentKey(shopID, paymentID))
	admin.WriteJSON(w, http.StatusOK, map[string]any{"poll": poll, "payment": paymentView(cur, shop)})
}
