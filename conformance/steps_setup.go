package conformance

import (
	"context"
	"fmt"
	"net/http"
	"net/url"

	"github.com/pspsim/pspsim/scenario"
)

// installSteps: the shop, the installation.
func installSteps() scenario.Group {
	return scenario.Group{
		Name: "Installation",
		Doc: "Every scenario starts with a fresh Genstore shop in test mode (a Before hook), on which the app is not yet installed. " +
			"The merchant installs the app through Genstore's admin; Genstore's browser follows the app's onboarding URL (docs/CONTRACT.md §1).",
		Steps: []scenario.Step{
			{
				Pattern: `^the shop is in live mode$`,
				Doc:     `Switches the scenario's shop to live mode: Genstore sends "test": false.`,
				Example: `Given the shop is in live mode`,
				Func: func(ctx context.Context) error {
					w := mustWorld(ctx)
					w.live = true
					return w.h.admin(ctx, "PATCH", w.shopPath(), map[string]any{"testMode": false}, http.StatusOK, nil)
				},
			},
			{
				Pattern: `^the app is installed on the shop$`,
				Doc:     "The merchant installs the app and the suite waits until the app has exchanged the code and reported its account ready. A failure here is a verdict (INSTALL_CODE_NOT_EXCHANGED, INSTALL_NOT_READY).",
				Example: `Given the app is installed on the shop`,
				Func: func(ctx context.Context) error {
					w := mustWorld(ctx)
					if err := w.install(ctx); err != nil {
						return err
					}
					if err := w.checkTokenIssued(ctx); err != nil {
						return err
					}
					return w.checkReady(ctx)
				},
			},
			{
				Pattern: `^the merchant installs the app( again)?$`,
				Doc:     "The merchant installs (or reinstalls) the app: Genstore issues a single-use code and its browser opens the app's onboarding URL.",
				Example: `When the merchant installs the app`,
				Func: func(ctx context.Context, again string) error {
					w := mustWorld(ctx)
					if again != "" {
						w.reinstalled = true
					}
					return w.install(ctx)
				},
			},
			{
				Pattern: `^the app exchanged the installation code for an access token$`,
				Doc:     "Genstore issued the shop's access token for the latest code (INSTALL_CODE_NOT_EXCHANGED otherwise).",
				Example: `Then the app exchanged the installation code for an access token`,
				Func: func(ctx context.Context) error {
					w := mustWorld(ctx)
					return w.checkTokenIssued(ctx)
				},
			},
			{
				Pattern: `^the app reported its account ready$`,
				Doc:     "The installation is ready: the app called PUT account_authorize {\"pay\":{\"ready\":\"true\"}} (INSTALL_NOT_READY otherwise).",
				Example: `And the app reported its account ready`,
				Func: func(ctx context.Context) error {
					w := mustWorld(ctx)
					return w.checkReady(ctx)
				},
			},
			{
				Pattern: `^the merchant's browser opens the app's onboarding link with a forged hmac$`,
				Doc:     "Genstore issues an installation code; the suite opens the onboarding URL with its hmac changed. The app's answer is kept for `the app answers`.",
				Example: `When the merchant's browser opens the app's onboarding link with a forged hmac`,
				Func: func(ctx context.Context) error {
					w := mustWorld(ctx)
					var out struct {
						Code          string `json:"code"`
						OnboardingURL string `json:"onboardingUrl"`
					}
					if err := w.h.admin(ctx, "POST", w.shopPath()+"/installations", map[string]any{"clientId": w.h.App.ClientID, "followRedirect": false}, http.StatusCreated, &out); err != nil {
						return err
					}
					w.code = out.Code
					u, err := url.Parse(out.OnboardingURL)
					if err != nil {
						return fmt.Errorf("onboarding URL: %w", err)
					}
					q := u.Query()
					q.Set("hmac", forge(q.Get("hmac")))
					u.RawQuery = q.Encode()
					w.direct = w.send(ctx, "the onboarding link with a forged hmac", "GET", u.String(), nil, nil)
					return nil
				},
			},
			{
				Pattern: `^the installation code was not exchanged$`,
				Doc:     "Once the app is quiet: no access token was issued to the shop (SIGNATURE_NOT_ENFORCED otherwise).",
				Example: `And the installation code was not exchanged`,
				Func: func(ctx context.Context) error {
					w := mustWorld(ctx)
					evs, err := w.settledEvents(ctx, "system", "genstore", "kind", "installation.token_issued", "shopId", w.shopID)
					if err != nil {
						return err
					}
					if len(evs) > 0 {
						return verdict(SignatureNotEnforced, eventRefs(evs), "the app exchanged the code of an onboarding request whose hmac does not verify")
					}
					return nil
				},
			},
		},
	}
}

// install has the merchant install the app: Genstore's browser follows the
// onboarding URL before the admin call answers.
func (w *world) install(ctx context.Context) error {
	var out struct {
		Code     string         `json:"code"`
		Redirect map[string]any `json:"redirect"`
	}
	if err := w.h.admin(ctx, "POST", w.shopPath()+"/installations", map[string]any{"clientId": w.h.App.ClientID}, http.StatusCreated, &out); err != nil {
		return err
	}
	w.code = out.Code
	w.installs++
	return nil
}

func (w *world) checkTokenIssued(ctx context.Context) error {
	var evs []Event
	err := w.waitFor(ctx, w.h.Timing.ResultWait, func() (bool, error) {
		var err error
		evs, err = w.myEvents(ctx, "system", "genstore", "kind", "installation.token_issued", "shopId", w.shopID)
		if err != nil {
			return false, err
		}
		return len(evs) >= w.installs, nil
	})
	if err == errWaited {
		redirects, _ := w.myEvents(ctx, "system", "genstore", "kind", "installation.redirect_followed", "shopId", w.shopID)
		return verdict(InstallCodeNotExchanged, eventRefs(redirects), "Genstore issued no access token to shop %s within %s of the merchant's browser opening the onboarding URL", w.shopID, w.h.Timing.ResultWait)
	}
	return err
}

func (w *world) checkReady(ctx context.Context) error {
	var list struct {
		Installations []struct {
			ClientID string `json:"clientId"`
			Ready    bool   `json:"ready"`
		} `json:"installations"`
	}
	err := w.waitFor(ctx, w.h.Timing.ResultWait, func() (bool, error) {
		if err := w.h.admin(ctx, "GET", w.shopPath()+"/installations", nil, http.StatusOK, &list); err != nil {
			return false, err
		}
		for _, i := range list.Installations {
			if i.ClientID == w.h.App.ClientID && i.Ready {
				return true, nil
			}
		}
		return false, nil
	})
	if err == errWaited {
		evs, _ := w.myEvents(ctx, "system", "genstore", "kind", "installation", "shopId", w.shopID)
		refused, _ := w.myEvents(ctx, "system", "genstore", "kind", "request.refused", "shopId", w.shopID)
		return verdict(InstallNotReady, append(eventRefs(evs), eventRefs(refused)...), "the installation on shop %s is not ready %s after the onboarding: the app did not report account_authorize ready=true", w.shopID, w.h.Timing.ResultWait)
	}
	return err
}
