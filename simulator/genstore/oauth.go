package genstore

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/pspsim/pspsim/simulator/apierr"
	"github.com/pspsim/pspsim/simulator/openapi"
	"github.com/pspsim/pspsim/simulator/store"
)

// Installation by the OAuth code grant (CONTRACT.md §1, our choice): the
// merchant's browser is sent to the app's onboardingUrl with a one-time code
// (valid CodeLifetime, 10 min by default) in a signed query; the app
// exchanges the code with its client credentials for the shop's access
// token.

// issueCode creates an installation code and the signed onboarding URL (empty
// when the app registered no onboardingUrl).
func (s *System) issueCode(ctx context.Context, shop Shop, app App) (InstallCode, string, error) {
	now := s.env.Clock.Now()
	c, err := s.codes.CreateNew(ctx, func(int) string { return s.env.IDs.Hex(16) }, func(code string) InstallCode {
		return InstallCode{Code: code, ShopID: shop.ShopID, ClientID: app.ClientID, IssuedAt: now, ExpiresAt: now.Add(s.settings.CodeLifetime.Std())}
	})
	if err != nil {
		return InstallCode{}, "", fmt.Errorf("installation code: %w", err)
	}
	var u string
	if app.Endpoints.OnboardingURL != "" {
		var err error
		if u, err = signURL(app.Endpoints.OnboardingURL, app.ClientSecret, shop, s.env.Stamps.Now(), "code", c.Code); err != nil {
			return InstallCode{}, "", err
		}
	}
	s.record("installation.code_issued", fmt.Sprintf("installation of app %s on shop %s started: code valid until %s", app.ClientID, shop.ShopID, c.ExpiresAt.UTC().Format(time.RFC3339)),
		map[string]string{"shopId": shop.ShopID, "clientId": app.ClientID}, map[string]any{"expiresAt": c.ExpiresAt, "onboardingUrl": app.Endpoints.OnboardingURL})
	return c, u, nil
}

// exchangeAccessToken is POST /api/202412/oauth/access_token.
func (s *System) exchangeAccessToken(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	var in struct {
		ClientID     string `json:"client_id"`
		ClientSecret string `json:"client_secret"`
		Code         string `json:"code"`
	}
	if err := json.Unmarshal(openapi.FromContext(ctx).Body, &in); err != nil {
		s.writeError(w, r, apierr.New(apierr.Malformed, "the body must be {\"client_id\", \"client_secret\", \"code\"}"))
		return
	}
	ids := map[string]string{"clientId": in.ClientID}
	app, err := s.apps.Get(ctx, in.ClientID)
	if err != nil {
		s.writeError(w, r, orAbsent(err, apierr.Field(apierr.Unauthorized, "client_id", "exists", "no app is registered with this client_id")))
		return
	}
	if subtle.ConstantTimeCompare([]byte(in.ClientSecret), []byte(app.ClientSecret)) != 1 {
		s.writeError(w, r, apierr.Field(apierr.Unauthorized, "client_secret", "matches", "does not match client_id"))
		return
	}
	now := s.env.Clock.Now()
	refuse := func(why string) error {
		return apierr.Field(apierr.Invalid, "code", "valid", "%s", why).WithStatus(http.StatusBadRequest)
	}
	code, err := s.codes.Update(ctx, in.Code, func(c *InstallCode) error {
		switch {
		case c.ClientID != app.ClientID:
			return refuse("was issued to another app")
		case c.UsedAt != nil:
			return refuse("was already used (a code is single-use)")
		case !now.Before(c.ExpiresAt):
			return refuse(fmt.Sprintf("expired at %s (a code is valid %s)", c.ExpiresAt.UTC().Format(time.RFC3339), s.settings.CodeLifetime.Std()))
		}
		c.UsedAt = &now
		return nil
	})
	if errors.Is(err, store.ErrNotFound) {
		err = refuse("is unknown")
	}
	if err != nil {
		s.writeError(w, r, apierr.Wrap(err))
		return
	}
	ids["shopId"] = code.ShopID
	tok, err := s.tokens.CreateNew(ctx, func(int) string { return "gst_" + s.env.IDs.Hex(16) }, func(id string) Token {
		return Token{Token: id, ShopID: code.ShopID, ClientID: app.ClientID, Scopes: append([]string(nil), app.Scopes...), IssuedAt: now}
	})
	if err != nil {
		s.writeError(w, r, apierr.Wrap(fmt.Errorf("token: %w", err)))
		return
	}
	key := installationKey(code.ShopID, app.ClientID)
	var previous string
	in2, err := s.installations.Update(ctx, key, func(i *Installation) error {
		previous = i.AccessToken
		i.AccessToken, i.Scopes, i.InstalledAt = tok.Token, tok.Scopes, now
		return nil
	})
	if errors.Is(err, store.ErrNotFound) {
		in2 = Installation{ShopID: code.ShopID, ClientID: app.ClientID, AccessToken: tok.Token, Scopes: tok.Scopes, InstalledAt: now}
		err = s.installations.Create(ctx, key, in2)
	}
	if err != nil {
		s.writeError(w, r, apierr.Wrap(fmt.Errorf("installation %s: %w", key, err)))
		return
	}
	if previous != "" && previous != tok.Token {
		// One installation, one token: a new exchange revokes the old token.
		_, err := s.tokens.Update(ctx, previous, func(t *Token) error { t.Revoked = true; return nil })
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			// Not silent: the old token stays valid until it is revoked.
			s.env.Log.Error("genstore: the replaced access token was not revoked", "shop", code.ShopID, "app", app.ClientID, "error", err)
			s.record("installation.revoke_failed", fmt.Sprintf("app %s on shop %s: the replaced access token could not be revoked (the store did not answer); it stays valid", app.ClientID, code.ShopID),
				ids, nil)
		}
	}
	s.record("installation.token_issued", fmt.Sprintf("app %s installed on shop %s: access token issued with scopes %s (ready: %t)", app.ClientID, code.ShopID, strings.Join(tok.Scopes, ","), in2.Ready),
		ids, map[string]any{"scopes": tok.Scopes, "reinstall": previous != ""})
	WriteJSON(w, http.StatusOK, map[string]string{"access_token": tok.Token, "scope": strings.Join(tok.Scopes, ",")})
}
