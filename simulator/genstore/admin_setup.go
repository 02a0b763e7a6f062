package genstore

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/pspsim/pspsim/simulator/admin"
	"github.com/pspsim/pspsim/simulator/apierr"
	"github.com/pspsim/pspsim/simulator/store"
)

// Set-up through the admin API: apps, shops and installations, the objects a
// payment needs before it can start. Each handler returns its failure
// (admin.HandlerFunc renders it in the admin dialect).

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

// configError turns a checkApp or checkShop error, whose text starts with the
// field it names (the same text stops `pspsim serve` on a bad config), into
// the admin API's error for that field.
func configError(err error) *apierr.Error {
	msg := err.Error()
	field, _, _ := strings.Cut(msg, ":")
	return apierr.Field(apierr.Invalid, field, "valid", "%s", msg)
}

func (s *System) adminRegisterApp(w http.ResponseWriter, r *http.Request) error {
	var a App
	if e := decode(r, &a); e != nil {
		return e
	}
	if len(a.Scopes) == 0 {
		a.Scopes = slices.Clone(KnownScopes)
	}
	if err := checkApp(a); err != nil {
		return configError(err)
	}
	a.CreatedAt = s.env.Clock.Now()
	if err := s.apps.Create(r.Context(), a.ClientID, a); errors.Is(err, store.ErrExists) {
		return apierr.Field(apierr.Conflict, "clientId", "unique", "an app %s is already registered (PATCH it instead)", a.ClientID)
	} else if err != nil {
		return fmt.Errorf("register app %s: %w", a.ClientID, err)
	}
	s.record("app.registered", fmt.Sprintf("app %s (%s) registered with scopes %s", a.ClientID, a.Name, strings.Join(a.Scopes, ",")),
		map[string]string{"clientId": a.ClientID}, map[string]any{"endpoints": a.Endpoints, "hasPublicKey": a.PublicKey != ""})
	admin.WriteJSON(w, http.StatusCreated, appView(a))
	return nil
}

func (s *System) adminListApps(w http.ResponseWriter, r *http.Request) error {
	apps, err := s.apps.List(r.Context(), nil)
	if err != nil {
		return fmt.Errorf("list apps: %w", err)
	}
	admin.WriteJSON(w, http.StatusOK, map[string]any{"apps": views(apps, appView)})
	return nil
}

func (s *System) adminGetApp(w http.ResponseWriter, r *http.Request) error {
	id := pathParam(r, "clientId")
	a, aerr := s.adminApp(r.Context(), id)
	if aerr != nil {
		return aerr
	}
	admin.WriteJSON(w, http.StatusOK, appView(a))
	return nil
}

// adminUpdateApp changes what is given: name, secret, scopes, public key, and
// each endpoint given (an empty string removes it).
func (s *System) adminUpdateApp(w http.ResponseWriter, r *http.Request) error {
	id := pathParam(r, "clientId")
	var in struct {
		Name         *string            `json:"name"`
		ClientSecret *string            `json:"clientSecret"`
		Scopes       []string           `json:"scopes"`
		PublicKey    *string            `json:"publicKey"`
		Endpoints    map[string]*string `json:"endpoints"`
	}
	if e := decode(r, &in); e != nil {
		return e
	}
	a, err := updateSetUp(r.Context(), s.apps, "app", "clientId", id, func(a *App) error {
		patch(&a.Name, in.Name)
		patch(&a.ClientSecret, in.ClientSecret)
		if in.Scopes != nil {
			a.Scopes = in.Scopes
		}
		patch(&a.PublicKey, in.PublicKey)
		for name, v := range in.Endpoints {
			val := ""
			if v != nil {
				val = *v
			}
			if !a.Endpoints.set(name, val) {
				return apierr.Field(apierr.Invalid, "endpoints."+name, "additionalProperties", "is not an endpoint")
			}
		}
		if err := checkApp(*a); err != nil {
			return configError(err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	s.record("app.updated", fmt.Sprintf("app %s updated", id), map[string]string{"clientId": id}, map[string]any{"endpoints": a.Endpoints, "hasPublicKey": a.PublicKey != ""})
	admin.WriteJSON(w, http.StatusOK, appView(a))
	return nil
}

// patch sets *dst to *v when the request gives v: a PATCH changes what it
// names and nothing else.
func patch[T any](dst *T, v *T) {
	if v != nil {
		*dst = *v
	}
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

func (s *System) adminCreateShop(w http.ResponseWriter, r *http.Request) error {
	sh := Shop{Currency: "USD", TestMode: true, FeePlan: FeePlan{PercentBasisPoints: 290, FixedMinor: 30}}
	if e := decode(r, &sh); e != nil {
		return e
	}
	// A shop id pspsim makes up is a candidate until the shop is stored:
	// a clash draws another; a clash on an id the caller chose is a conflict.
	draw := func(int) string { return s.env.IDs.Digits(8) }
	drawn := sh.ShopID == ""
	if drawn {
		sh.ShopID = draw(0)
	}
	if sh.Name == "" {
		sh.Name = sh.Handle
	}
	if err := checkShop(sh); err != nil {
		return configError(err)
	}
	sh.CreatedAt = s.env.Clock.Now()
	create := func(id string) error { sh.ShopID = id; return s.shops.Create(r.Context(), id, sh, "handle/"+sh.Handle) }
	var err error
	if drawn {
		_, err = store.NewID(store.Candidate(sh.ShopID, draw), create)
	} else {
		err = create(sh.ShopID)
	}
	if errors.Is(err, store.ErrExists) {
		return apierr.Field(apierr.Conflict, "shopId", "unique", "a shop %s or a shop named %s already exists", sh.ShopID, sh.Handle)
	} else if err != nil {
		return fmt.Errorf("create shop %s: %w", sh.ShopID, err)
	}
	s.record("shop.created", fmt.Sprintf("shop %s (%s) created: %s, test mode %t, fee %d bp + %d minor", sh.ShopID, sh.Handle, sh.Currency, sh.TestMode, sh.FeePlan.PercentBasisPoints, sh.FeePlan.FixedMinor),
		map[string]string{"shopId": sh.ShopID}, map[string]any{"testMode": sh.TestMode, "feePlan": sh.FeePlan})
	admin.WriteJSON(w, http.StatusCreated, sh)
	return nil
}

func (s *System) adminListShops(w http.ResponseWriter, r *http.Request) error {
	shops, err := s.shops.List(r.Context(), nil)
	if err != nil {
		return fmt.Errorf("list shops: %w", err)
	}
	if shops == nil {
		shops = []Shop{}
	}
	admin.WriteJSON(w, http.StatusOK, map[string]any{"shops": shops})
	return nil
}

func (s *System) adminGetShop(w http.ResponseWriter, r *http.Request) error {
	id := pathParam(r, "shopId")
	sh, aerr := s.adminShop(r.Context(), id)
	if aerr != nil {
		return aerr
	}
	admin.WriteJSON(w, http.StatusOK, sh)
	return nil
}

// adminUpdateShop changes a shop's name, test mode, fee plan or time zone.
// Payments already made keep their test flag; fees are computed when asked.
func (s *System) adminUpdateShop(w http.ResponseWriter, r *http.Request) error {
	id := pathParam(r, "shopId")
	var in struct {
		Name     *string  `json:"name"`
		TestMode *bool    `json:"testMode"`
		FeePlan  *FeePlan `json:"feePlan"`
		Timezone *string  `json:"timezone"`
	}
	if e := decode(r, &in); e != nil {
		return e
	}
	sh, err := updateSetUp(r.Context(), s.shops, "shop", "shopId", id, func(sh *Shop) error {
		patch(&sh.Name, in.Name)
		patch(&sh.TestMode, in.TestMode)
		patch(&sh.FeePlan, in.FeePlan)
		patch(&sh.Timezone, in.Timezone)
		if err := checkShop(*sh); err != nil {
			return configError(err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	s.record("shop.updated", fmt.Sprintf("shop %s updated: test mode %t, fee %d bp + %d minor", id, sh.TestMode, sh.FeePlan.PercentBasisPoints, sh.FeePlan.FixedMinor),
		map[string]string{"shopId": id}, map[string]any{"testMode": sh.TestMode, "feePlan": sh.FeePlan, "timezone": sh.Timezone})
	admin.WriteJSON(w, http.StatusOK, sh)
	return nil
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

func (s *System) adminListInstallations(w http.ResponseWriter, r *http.Request) error {
	id := pathParam(r, "shopId")
	if _, aerr := s.adminShop(r.Context(), id); aerr != nil {
		return aerr
	}
	list, err := s.installations.Find(r.Context(), "shop", id, nil)
	if err != nil {
		return fmt.Errorf("list installations of shop %s: %w", id, err)
	}
	admin.WriteJSON(w, http.StatusOK, map[string]any{"installations": views(list, installationView)})
	return nil
}

// adminInstall starts an installation: a code and the signed onboarding
// URL; with followRedirect (the default when the app has an onboardingUrl),
// Genstore's admin also plays the merchant's browser and opens it.
func (s *System) adminInstall(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	shopID := pathParam(r, "shopId")
	var in struct {
		ClientID       string `json:"clientId"`
		FollowRedirect *bool  `json:"followRedirect"`
	}
	if e := decode(r, &in); e != nil {
		return e
	}
	shop, aerr := s.adminShop(ctx, shopID)
	if aerr != nil {
		return aerr
	}
	app, aerr := s.adminApp(ctx, in.ClientID)
	if aerr != nil {
		return aerr
	}
	follow := app.Endpoints.OnboardingURL != ""
	if in.FollowRedirect != nil {
		follow = *in.FollowRedirect
	}
	if follow && app.Endpoints.OnboardingURL == "" {
		return apierr.Field(apierr.Conflict, "followRedirect", "onboardingUrl", "app %s registered no onboardingUrl to send the browser to", app.ClientID)
	}
	code, u, err := s.issueCode(ctx, shop, app)
	if err != nil {
		return fmt.Errorf("install app %s on shop %s: %w", app.ClientID, shop.ShopID, err)
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
	return nil
}
