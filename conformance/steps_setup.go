package conformance

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/pspsim/pspsim/scenario"
	"github.com/pspsim/pspsim/simulator/ecies"
	"github.com/pspsim/pspsim/simulator/genstore"
)

// installSteps: the shop, the installation.
func installSteps() scenario.Group {
	return scenario.Group{
		Name: "Installation",
		Doc: "Every scenario starts with a fresh Genstore shop in test mode (a Before hook), on which the app is not yet installed. " +
			"The merchant installs the app through Genstore's admin; Genstore's browser follows the app's onboarding URL (CONTRACT.md §1).",
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
					w.direct = w.h.send(ctx, "the onboarding link with a forged hmac", "GET", u.String(), nil, nil)
					return nil
				},
			},
			{
				Pattern: `^the installation code was not exchanged$`,
				Doc:     "Once the app is quiet: no access token was issued to the shop (SIGNATURE_NOT_ENFORCED otherwise).",
				Example: `And the installation code was not exchanged`,
				Func: func(ctx context.Context) error {
					w := mustWorld(ctx)
					if err := w.settle(ctx); err != nil {
						return err
					}
					evs, err := w.myEvents(ctx, "system", "genstore", "kind", "installation.token_issued", "shopId", w.shopID)
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

// forge changes a hex hmac so that it no longer verifies.
func forge(h string) string {
	if h == "" {
		return strings.Repeat("0", 64)
	}
	last := h[len(h)-1]
	repl := byte('0')
	if last == '0' {
		repl = '1'
	}
	return h[:len(h)-1] + string(repl)
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

// ---------------------------------------------------------------- direct requests to the app

// send makes a request to the app directly (the suite playing Genstore, or a
// forger) and keeps its answer.
func (h *Harness) send(ctx context.Context, what, method, target string, header http.Header, body []byte) *answer {
	a := &answer{what: what}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	ctx, cancel := context.WithTimeout(ctx, h.Timing.ResultWait)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, target, rd)
	if err != nil {
		a.err = err
		return a
	}
	for k, v := range header {
		req.Header[k] = v
	}
	client := &http.Client{Transport: h.client.Transport, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := client.Do(req)
	if err != nil {
		a.err = err
		return a
	}
	defer res.Body.Close()
	a.status = res.StatusCode
	a.body, a.err = io.ReadAll(io.LimitReader(res.Body, 1<<20))
	return a
}

// signedURL is one of the app's URLs signed as Genstore signs it, at a chosen
// time (a stale or future one to test the window), with extra parameters.
func (w *world) signedURL(raw string, at time.Time, extra ...string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("app URL %q: %w", raw, err)
	}
	q := u.Query()
	q.Set("shop", w.shopName)
	q.Set("shopId", w.shopID)
	q.Set("timestamp", strconv.FormatInt(at.Unix(), 10))
	for i := 0; i+1 < len(extra); i += 2 {
		q.Set(extra[i], extra[i+1])
	}
	q.Del("hmac")
	q.Set("hmac", genstore.QueryHMAC(w.h.App.ClientSecret, q))
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// directPayment sends the app a Payment Object for an id Genstore never
// issued, signed at the given offset from now (wall time, as apps check).
func (w *world) directPayment(ctx context.Context, offset time.Duration) error {
	card, err := w.testCard("Visa", "00")
	if err != nil {
		return err
	}
	recipient, err := ecies.ParsePublicKey(w.h.App.ECIESPublicKey)
	if err != nil {
		return err
	}
	w.directPaymentID = fmt.Sprintf("PIX%s%s", w.h.run, w.shopID)
	pkg, err := ecies.SealCard(rand.Reader, recipient, ecies.Card{Number: card, ExpiryMonth: "12", ExpiryYear: "2030", CVV: "123", HolderName: "Ada Lovelace"},
		w.h.URL+"/genstore/checkouts/"+w.shopID+"/"+w.directPaymentID+"/return", ecies.Settings{})
	if err != nil {
		return err
	}
	obj := genstore.PaymentObject{Amount: "20.00", Currency: "USD", Test: !w.live, PaymentID: w.directPaymentID, PaymentMethod: genstore.PaymentMethod{Data: pkg},
		ClientDetails: json.RawMessage(`{"acceptLanguage":"en-US","ipAddress":"203.0.113.7","userAgent":"Mozilla/5.0 (conformance suite)"}`)}
	body, err := json.Marshal(obj)
	if err != nil {
		return err
	}
	u, err := w.signedURL(w.h.App.Endpoints.PaymentURL, time.Now().Add(offset))
	if err != nil {
		return err
	}
	hdr := http.Header{"Content-Type": {"application/json"}, "Idempotency-Key": {w.directPaymentID}, "X-Genstore-Hmac-Sha256": {genstore.BodyHMAC(w.h.App.ClientSecret, body)}}
	w.direct = w.h.send(ctx, fmt.Sprintf("a payment request signed %s", offsetText(offset)), "POST", u, hdr, body)
	return nil
}

func offsetText(d time.Duration) string {
	if d < 0 {
		return (-d).String() + " ago"
	}
	return d.String() + " from now"
}
