package vmgateway

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/getkin/kin-openapi/openapi3filter"

	"github.com/pspsim/pspsim/simulator/apierr"
	"github.com/pspsim/pspsim/simulator/openapi"
	"github.com/pspsim/pspsim/simulator/store"
)

// Access tokens: an app exchanges its secret for a bearer token
// (createAccessToken), and every other operation is authenticated by it. The
// secret chooses the environment, so a token says both who calls and where.

// App is a merchant's API client with separate sandbox and live secrets.
type App struct {
	AppID         string `json:"appId" yaml:"appId"`
	MerchantID    string `json:"merchantId" yaml:"merchantId"`
	Name          string `json:"name" yaml:"name"`
	SandboxSecret string `json:"sandboxSecret" yaml:"sandboxSecret"`
	LiveSecret    string `json:"liveSecret" yaml:"liveSecret"`
}

// secret returns the app's secret of an environment: it authenticates
// createAccessToken and signs deliveries to notificationUrl.
func (a App) secret(environment string) string {
	if environment == Live {
		return a.LiveSecret
	}
	return a.SandboxSecret
}

// Token is an issued access token.
type Token struct {
	Token       string    `json:"token"`
	AppID       string    `json:"appId"`
	MerchantID  string    `json:"merchantId"`
	Environment string    `json:"environment"`
	IssuedAt    time.Time `json:"issuedAt"`
	ExpiresAt   time.Time `json:"expiresAt"`
	Revoked     bool      `json:"revoked"`
}

// createAccessToken exchanges appId + secret for a bearer token. The secret
// decides the environment: the sandbox secret gives a sandbox token, the
// live secret a live one.
func (s *System) createAccessToken(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		AppID  string `json:"appId"`
		Secret string `json:"secret"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	app, err := s.apps.Get(r.Context(), in.AppID)
	if e := unanswered(err); e != nil {
		return e
	}
	environment := ""
	if err == nil {
		switch {
		case subtle.ConstantTimeCompare([]byte(in.Secret), []byte(app.SandboxSecret)) == 1:
			environment = Sandbox
		case subtle.ConstantTimeCompare([]byte(in.Secret), []byte(app.LiveSecret)) == 1:
			environment = Live
		}
	}
	if environment == "" {
		s.env.Record(Name, "auth.refused", "access token refused: unknown appId or wrong secret", map[string]string{"appId": in.AppID}, nil)
		return apierr.New(apierr.Unauthorized, "appId or secret is wrong")
	}
	m, err := s.merchants.Get(r.Context(), app.MerchantID)
	if e := unanswered(err); e != nil {
		return e
	}
	if err == nil && !m.allowsEnvironment(environment) {
		s.env.Record(Name, "auth.refused", "access token refused: the merchant is not activated in "+environment,
			map[string]string{"appId": app.AppID, "merchant": app.MerchantID}, map[string]any{"environment": environment})
		return apierr.New(apierr.Forbidden, "the merchant is not activated in the %s environment", environment)
	}
	now := s.now()
	lifetime := s.settings().tokenLifetime
	t, err := s.tokens.CreateNew(r.Context(), func(int) string { return "vm_" + environment[:1] + "_" + s.env.IDs.Hex(24) },
		func(id string) Token {
			return Token{Token: id, AppID: app.AppID, MerchantID: app.MerchantID, Environment: environment, IssuedAt: now, ExpiresAt: now.Add(lifetime)}
		})
	if err != nil {
		return fmt.Errorf("store token: %w", err)
	}
	tagCaller(r.Context(), t)
	s.env.Record(Name, "auth.token_issued", "access token issued for "+environment, map[string]string{"appId": app.AppID, "merchant": app.MerchantID},
		map[string]any{"environment": environment, "expiresAt": t.ExpiresAt})
	WriteJSON(w, http.StatusOK, map[string]any{
		"accessToken": t.Token, "tokenType": "Bearer", "expiresIn": int(lifetime / time.Second),
		"expiresAt": t.ExpiresAt.UTC().Format(time.RFC3339), "environment": environment,
	})
	return nil
}

// authenticate checks the bearer token: unknown, expired or revoked → 401.
func (s *System) authenticate(ctx context.Context, in *openapi3filter.AuthenticationInput) error {
	h := in.RequestValidationInput.Request.Header.Get("Authorization")
	scheme, token, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return apierr.New(apierr.Unauthorized, "Authorization: a Bearer access token is required")
	}
	// Every request reads its token and tokens seldom change (a
	// revocation stores a new encoding, seen by the next read): the value
	// decoded once is shared (Table.GetShared), where Get decoded it, four
	// strings, on every request.
	t, err := s.tokens.GetShared(ctx, token)
	switch {
	case unanswered(err) != nil:
		return unanswered(err) // 503: a valid token is not "unknown" because the store did not answer
	case err != nil:
		return apierr.New(apierr.Unauthorized, "Authorization: unknown access token")
	case t.Revoked:
		return apierr.New(apierr.Unauthorized, "Authorization: the access token was revoked")
	case !s.now().Before(t.ExpiresAt):
		return apierr.New(apierr.Unauthorized, "Authorization: the access token expired at %s", t.ExpiresAt.UTC().Format(time.RFC3339))
	}
	if req := openapi.FromContext(ctx); req != nil {
		req.SetPrincipal(t)
	}
	tagCaller(ctx, t)
	return nil
}

// tagCaller tags the request with the token's app, merchant and environment,
// so that fault rules can match on them.
func tagCaller(ctx context.Context, t Token) {
	if req := openapi.FromContext(ctx); req != nil {
		req.Tag(openapi.TagApp, t.AppID)
		req.Tag(openapi.TagMerchant, t.MerchantID)
		req.Tag(openapi.TagEnvironment, t.Environment)
	}
}

// TokenFrom returns the caller's token inside a handler.
func TokenFrom(ctx context.Context) (Token, bool) {
	req := openapi.FromContext(ctx)
	if req == nil {
		return Token{}, false
	}
	t, ok := req.Principal().(Token)
	return t, ok
}

// caller returns the token and the merchant of an authenticated request.
// The merchant's lists are shared with every other request
// (Table.GetShared): the handlers only read them.
func (s *System) caller(ctx context.Context) (Token, Merchant, error) {
	t, ok := TokenFrom(ctx)
	if !ok {
		return Token{}, Merchant{}, apierr.New(apierr.Unauthorized, "Authorization: a Bearer access token is required")
	}
	m, err := s.merchants.GetShared(ctx, t.MerchantID)
	if errors.Is(err, store.ErrNotFound) {
		m = Merchant{MerchantID: t.MerchantID, Name: t.MerchantID, ThreeDSUnavailable: "fail"}
	} else if err != nil {
		return Token{}, Merchant{}, fmt.Errorf("load merchant: %w", err)
	}
	if m.Name == "" {
		m.Name = m.MerchantID
	}
	return t, m, nil
}
