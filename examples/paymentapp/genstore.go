package paymentapp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// genstore is the client of what Genstore serves apps (specs/genstore.yaml): the OAuth code
// exchange and the PUT /api/202412/app/... calls, each with the shop's access token.
type genstore struct {
	baseURL      string // may contain "{shop}"
	clientID     string
	clientSecret string
	client       *http.Client
}

// callTimeout bounds one call to Genstore.
const callTimeout = 10 * time.Second

func (g *genstore) url(shop, path string) string {
	return strings.ReplaceAll(g.baseURL, "{shop}", shop) + path
}

// exchangeCode trades an installation code for the shop's access token (CONTRACT.md §1).
func (g *genstore) exchangeCode(ctx context.Context, shop, code string) (token, scope string, err error) {
	body := map[string]string{"client_id": g.clientID, "client_secret": g.clientSecret, "code": code}
	status, data, err := g.send(ctx, http.MethodPost, g.url(shop, "/api/202412/oauth/access_token"), "", body)
	if err != nil {
		return "", "", fmt.Errorf("exchange the installation code: %w", err)
	}
	if status != http.StatusOK {
		return "", "", fmt.Errorf("exchange the installation code: Genstore answered %d: %s", status, genstoreError(data))
	}
	var res struct {
		AccessToken string `json:"access_token"`
		Scope       string `json:"scope"`
	}
	if err := json.Unmarshal(data, &res); err != nil || res.AccessToken == "" {
		return "", "", errors.New("exchange the installation code: Genstore's answer has no access_token")
	}
	return res.AccessToken, res.Scope, nil
}

// send makes one call and returns the status and the body of the answer.
func (g *genstore) send(ctx context.Context, method, url, token string, body any) (int, []byte, error) {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	payload, err := json.Marshal(body)
	if err != nil {
		return 0, nil, fmt.Errorf("encode body: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, bytes.NewReader(payload))
	if err != nil {
		return 0, nil, fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	if token != "" {
		req.Header.Set("X-Genstore-Access-Token", token)
	}
	resp, err := g.client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return resp.StatusCode, nil, fmt.Errorf("read answer: %w", err)
	}
	return resp.StatusCode, data, nil
}

// genstoreError extracts the message of Genstore's error dialect {"errors": "..."}.
func genstoreError(data []byte) string {
	var e struct {
		Errors any `json:"errors"`
	}
	if json.Unmarshal(data, &e) == nil && e.Errors != nil {
		return fmt.Sprint(e.Errors)
	}
	return strings.TrimSpace(truncate(string(data), 200))
}

// callback is one PUT /api/202412/app/... call to Genstore.
type callback struct {
	ShopID string
	Shop   string
	Path   string // e.g. /api/202412/app/payment/PI0020241010151755224
	Body   any
}

// underPSPID is the callback as BugRetryWrongID rebuilds it for a retry: the path names
// the PSP's id of the operation instead of Genstore's.
func (cb callback) underPSPID() callback {
	body, ok := cb.Body.(map[string]map[string]string)
	if !ok {
		return cb
	}
	for k, v := range body["pay"] {
		if strings.HasPrefix(k, "channel") && v != "" {
			cb.Path = cb.Path[:strings.LastIndexByte(cb.Path, '/')+1] + v
			return cb
		}
	}
	return cb
}

// errCallbackRefused is returned when Genstore answers a callback with a final refusal.
var errCallbackRefused = errors.New("Genstore refused the callback")

// deliver sends a callback until Genstore takes it, retrying what can succeed later: no
// answer, a broken connection, 5xx, 408 and 429 (CONTRACT.md §3). Any other 4xx is final:
// 409 means Genstore already holds a different final result (ours was late or wrong; the
// first stands), 422 that the body or the kind of callback is wrong, 401/403 the token.
func (a *App) deliver(ctx context.Context, cb callback, attempts int) error {
	log := a.log.With("callback", cb.Path, "shopId", cb.ShopID)
	for attempt := 1; ; attempt++ {
		if attempt == 2 && a.bugs.on(BugRetryWrongID) {
			cb = cb.underPSPID()
		}
		status, data, err := a.putCallback(ctx, cb)
		switch {
		case err == nil && status/100 == 2:
			log.Info("callback delivered", "attempt", attempt)
			return nil
		case errors.Is(err, ErrNotFound):
			log.Error("callback not sent: the shop has no installation (no access token)")
			return err
		case err == nil && status == http.StatusConflict:
			log.Warn("Genstore already holds a different final result; it stands", "answer", genstoreError(data))
			return fmt.Errorf("%w: 409 %s", errCallbackRefused, genstoreError(data))
		case !a.retryable(status, err):
			log.Error("Genstore refused the callback", "status", status, "answer", genstoreError(data))
			return fmt.Errorf("%w: %d %s", errCallbackRefused, status, genstoreError(data))
		case attempt >= attempts:
			log.Error("callback abandoned after its last attempt", "attempts", attempt, "status", status, "err", err)
			return fmt.Errorf("callback abandoned after %d attempts", attempt)
		}
		wait := backoff(a.cfg.CallbackBackoff, attempt-1)
		log.Warn("callback failed; will retry", "attempt", attempt, "status", status, "err", err, "retryIn", wait)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
	}
}

// retryable says whether a callback attempt may succeed if sent again.
func (a *App) retryable(status int, err error) bool {
	if err != nil {
		return true // no answer: Genstore may never have seen it
	}
	if a.bugs.on(BugNoCallbackRetry) {
		// The mistake: "an HTTP answer is an answer". Only network errors are retried, so
		// a 503 from a Genstore that was restarting loses the result for good.
		return false
	}
	return status >= 500 || status == http.StatusRequestTimeout || status == http.StatusTooManyRequests
}

// putCallback makes one attempt, with the shop's current access token.
func (a *App) putCallback(ctx context.Context, cb callback) (int, []byte, error) {
	inst, err := a.store.Installation(ctx, cb.ShopID)
	if err != nil {
		return 0, nil, err
	}
	token := inst.AccessToken
	if a.bugs.on(BugStaleToken) && cb.Path != accountAuthorizePath {
		// The mistake: result callbacks go through a client made once per shop, with the
		// token of the shop's first installation.
		a.mu.Lock()
		if first, ok := a.firstTokens[cb.ShopID]; ok {
			token = first
		} else {
			a.firstTokens[cb.ShopID] = token
		}
		a.mu.Unlock()
	}
	return a.gs.send(ctx, http.MethodPut, a.gs.url(inst.Shop, cb.Path), token, cb.Body)
}

// accountAuthorizePath is where an installation reports ready (docs/CONTRACT.md §1.3).
const accountAuthorizePath = "/api/202412/app/account_authorize"
