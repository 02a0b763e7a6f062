package queueapp

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// ---- signatures (docs/CONTRACT.md §2.2) -----------------------------------------------

// signed reads a request from Genstore and checks its signature; on failure it answers 401
// and the caller does nothing else.
func (a *App) signed(w http.ResponseWriter, r *http.Request) (url.Values, []byte, bool) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		refuse(w, http.StatusBadRequest, "body: unreadable")
		return nil, nil, false
	}
	q := r.URL.Query()
	if why := a.checkSignature(q, body, r.Header.Get("X-Genstore-Hmac-Sha256")); why != "" {
		a.log.Warn("refused an unsigned request", "path", r.URL.Path, "why", why)
		refuse(w, http.StatusUnauthorized, why)
		return nil, nil, false
	}
	return q, body, true
}

func (a *App) checkSignature(q url.Values, body []byte, bodyMAC string) string {
	keys := make([]string, 0, len(q))
	for k := range q {
		if k != "hmac" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		for _, v := range q[k] {
			parts = append(parts, k+"="+v)
		}
	}
	m := hmac.New(sha256.New, []byte(a.cfg.ClientSecret))
	m.Write([]byte(strings.Join(parts, "&")))
	got, err := hex.DecodeString(q.Get("hmac"))
	if err != nil || !hmac.Equal(got, m.Sum(nil)) {
		return "hmac: does not verify"
	}
	ts, err := strconv.ParseInt(q.Get("timestamp"), 10, 64)
	if err != nil {
		return "timestamp: missing"
	}
	if d := time.Since(time.Unix(ts, 0)); d > 300*time.Second || d < -300*time.Second {
		return "timestamp: more than 300 s off"
	}
	if bodyMAC != "" {
		bm := hmac.New(sha256.New, []byte(a.cfg.ClientSecret))
		bm.Write(body)
		if want := base64.StdEncoding.EncodeToString(bm.Sum(nil)); !hmac.Equal([]byte(want), []byte(bodyMAC)) {
			return "X-Genstore-Hmac-Sha256: does not verify"
		}
	}
	return ""
}

// ---- installation (docs/CONTRACT.md §1) --------------------------------------------------

func (a *App) onboarding(w http.ResponseWriter, r *http.Request) {
	q, _, ok := a.signed(w, r)
	if !ok {
		return
	}
	shop, shopID, code := q.Get("shop"), q.Get("shopId"), q.Get("code")
	status, data, err := a.genstore(r.Context(), http.MethodPost, "/api/202412/oauth/access_token", "",
		map[string]string{"client_id": a.cfg.ClientID, "client_secret": a.cfg.ClientSecret, "code": code})
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err != nil || status != http.StatusOK || json.Unmarshal(data, &tok) != nil || tok.AccessToken == "" {
		a.log.Error("code exchange failed", "shopId", shopID, "status", status, "err", err)
		http.Error(w, "installation failed: Genstore did not take the code", http.StatusBadGateway)
		return
	}
	a.mu.Lock()
	a.tokens[shopID], a.shops[shopID] = tok.AccessToken, shop // the newest token replaces any earlier one
	a.mu.Unlock()
	// The gateway account is the app's own: linking it is checking the credentials.
	for _, env := range []string{"sandbox", "live"} {
		if _, err := a.gw.token(r.Context(), env, false); err != nil {
			a.log.Error("the card gateway refused the credentials", "env", env, "err", err)
			http.Error(w, "installation failed: the card gateway refused the "+env+" credentials", http.StatusBadGateway)
			return
		}
	}
	status, _, err = a.genstore(r.Context(), http.MethodPut, "/api/202412/app/account_authorize", tok.AccessToken,
		map[string]map[string]string{"pay": {"ready": "true"}})
	if err != nil || status != http.StatusOK {
		a.log.Error("account_authorize failed", "status", status, "err", err)
		http.Error(w, "installation failed: Genstore did not take account_authorize", http.StatusBadGateway)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	fmt.Fprint(w, "<!doctype html><title>Installed</title><p>The queue payment app is ready.</p>")
}

// genstore makes one call to Genstore's API.
func (a *App) genstore(ctx context.Context, method, path, token string, body any) (int, []byte, error) {
	b, err := json.Marshal(body)
	if err != nil {
		return 0, nil, err
	}
	req, err := http.NewRequestWithContext(ctx, method, a.cfg.GenstoreURL+path, bytes.NewReader(b))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("X-Genstore-Access-Token", token)
	}
	res, err := a.gs.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer res.Body.Close()
	data, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	return res.StatusCode, data, err
}

// ---- the outbox (docs/CONTRACT.md §3.1, §3.3) ------------------------------------------

// message is one result callback waiting to be delivered.
type message struct {
	shopID   string
	path     string
	body     map[string]map[string]string
	due      time.Time
	attempts int
}

// outbox delivers result callbacks: a dispatcher hands due messages to senders; one that
// Genstore did not take (a 5xx, 408, 429 or no answer) comes back with a growing delay,
// under the same path and body, until Genstore answers 200 (or a 4xx: the app's mistake).
type outbox struct {
	a    *App
	mu   sync.Mutex
	list []*message
	wake chan struct{}
}

func newOutbox(a *App) *outbox {
	o := &outbox{a: a, wake: make(chan struct{}, 1)}
	a.wg.Add(1)
	go o.dispatch()
	return o
}

// post queues a callback (the result it carries is recorded already).
func (o *outbox) post(shopID, path string, body map[string]map[string]string) {
	o.mu.Lock()
	o.list = append(o.list, &message{shopID: shopID, path: path, body: body, due: time.Now()})
	o.mu.Unlock()
	select {
	case o.wake <- struct{}{}:
	default:
	}
}

func (o *outbox) dispatch() {
	defer o.a.wg.Done()
	for {
		o.mu.Lock()
		now, next := time.Now(), time.Hour
		var due []*message
		keep := o.list[:0]
		for _, m := range o.list {
			if !m.due.After(now) {
				due = append(due, m)
				continue
			}
			next = min(next, m.due.Sub(now))
			keep = append(keep, m)
		}
		o.list = keep
		o.mu.Unlock()
		for _, m := range due {
			go o.send(m)
		}
		select {
		case <-o.a.ctx.Done():
			return
		case <-o.wake:
		case <-time.After(next):
		}
	}
}

func (o *outbox) send(m *message) {
	a := o.a
	a.mu.Lock()
	token := a.tokens[m.shopID]
	a.mu.Unlock()
	m.attempts++
	status, data, err := a.genstore(a.ctx, http.MethodPut, m.path, token, m.body)
	switch {
	case err == nil && status == http.StatusOK:
		a.log.Info("result delivered", "path", m.path, "attempts", m.attempts)
		return
	case err == nil && status != http.StatusRequestTimeout && status != http.StatusTooManyRequests && status < 500:
		a.log.Error("Genstore refused a result", "path", m.path, "status", status, "answer", string(data))
		return
	case m.attempts >= 40 || a.ctx.Err() != nil:
		a.log.Error("result abandoned", "path", m.path, "attempts", m.attempts)
		return
	}
	delay := min(time.Duration(m.attempts)*100*time.Millisecond, 5*time.Second)
	o.mu.Lock()
	m.due = time.Now().Add(delay)
	o.list = append(o.list, m)
	o.mu.Unlock()
	select {
	case o.wake <- struct{}{}:
	default:
	}
}

// report records nothing: the caller recorded the result; it queues its callback.
func (a *App) report(shopID, kind, id, channelID string, r result) {
	path := "/api/202412/app/" + kind + "/" + url.PathEscape(id)
	idField := map[string]string{"payment": "paymentId", "pre_authorize": "paymentId", "capture": "captureId", "void": "voidId", "refund": "refundId"}[kind]
	chField := map[string]string{"payment": "channelPaymentId", "pre_authorize": "channelPaymentId", "capture": "channelCaptureId", "void": "channelVoidId", "refund": "channelRefundId"}[kind]
	pay := map[string]string{"result": strconv.FormatBool(r.success), idField: id}
	if !r.success {
		pay["reason"] = r.reason
	}
	if channelID != "" {
		pay[chField] = channelID
	}
	a.outbox.post(shopID, path, map[string]map[string]string{"pay": pay})
}
