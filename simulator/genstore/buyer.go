package genstore

import (
	"context"
	"errors"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/pspsim/pspsim/simulator/admin"
	"github.com/pspsim/pspsim/simulator/apierr"
)

// The buyer's (and the merchant's) browser: Genstore's admin actions follow
// a redirectUrl or an onboarding URL as a browser would — cookies kept per
// session, redirects followed — and fill in the challenge pages of this
// project's 3-D Secure simulator, whose contract is:
//
//	<form id="pspsim-challenge" method="post" action="..."> with an
//	<input name="otp"> and submit buttons name="action" valued "submit" and
//	"cancel"; posting it answers 303 to the return URL.

const maxPage = 1 << 20

// browserTimeout bounds one page load, redirects included.
const browserTimeout = 30 * time.Second

type browser struct {
	timeout time.Duration
	mu      sync.Mutex
	jars    map[string]http.CookieJar
}

func newBrowser(timeout time.Duration) *browser {
	return &browser{timeout: timeout, jars: map[string]http.CookieJar{}}
}

func (b *browser) reset() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.jars = map[string]http.CookieJar{}
}

// client returns a client with the session's cookies; follow says whether
// it follows redirects (at most 10, http and https only).
func (b *browser) client(session string, follow bool, trail *[]string) *http.Client {
	b.mu.Lock()
	jar := b.jars[session]
	if jar == nil {
		jar, _ = cookiejar.New(nil)
		b.jars[session] = jar
	}
	b.mu.Unlock()
	return &http.Client{Jar: jar, Timeout: b.timeout, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if !follow {
			return http.ErrUseLastResponse
		}
		if len(via) >= 10 {
			return errors.New("more than 10 redirects")
		}
		if req.URL.Scheme != "http" && req.URL.Scheme != "https" {
			return fmt.Errorf("redirect to a %s URL", req.URL.Scheme)
		}
		if trail != nil {
			*trail = append(*trail, req.URL.String())
		}
		return nil
	}}
}

// page is what the browser ended up with.
type page struct {
	Status    int
	URL       string
	Redirects []string
	Location  string // of an unfollowed redirect
	Body      []byte
	Err       string
}

func (p page) view() map[string]any {
	v := map[string]any{"status": p.Status, "url": p.URL, "redirects": p.Redirects, "challenge": false}
	if p.Redirects == nil {
		v["redirects"] = []string{}
	}
	if p.Err != "" {
		v["error"] = p.Err
	}
	if t := pageTitle(p.Body); t != "" {
		v["title"] = t
	}
	if f, err := parseChallenge(p.URL, p.Body); err == nil && f != nil {
		v["challenge"] = true
	}
	return v
}

func (p page) summary() string {
	if p.Err != "" {
		return p.Err
	}
	return fmt.Sprintf("HTTP %d at %s", p.Status, p.URL)
}

func (b *browser) do(ctx context.Context, session string, follow bool, method, target string, form url.Values) page {
	var trail []string
	c := b.client(session, follow, &trail)
	var rd io.Reader
	if form != nil {
		rd = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(ctx, method, target, rd)
	if err != nil {
		return page{URL: target, Err: "not a URL a browser can open"}
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	req.Header.Set("Accept", "text/html,application/xhtml+xml")
	req.Header.Set("User-Agent", "pspsim-buyer-browser")
	res, err := c.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return page{URL: target, Redirects: trail, Err: "the browser could not open the page: " + err.Error()}
	}
	defer res.Body.Close()
	bodyBytes, _ := io.ReadAll(io.LimitReader(res.Body, maxPage))
	return page{Status: res.StatusCode, URL: res.Request.URL.String(), Redirects: trail, Location: res.Header.Get("Location"), Body: bodyBytes}
}

func (b *browser) get(ctx context.Context, session, target string) page {
	return b.do(ctx, session, true, http.MethodGet, target, nil)
}

// challengeForm is the challenge form of a pspsim 3-D Secure page.
type challengeForm struct {
	Action  string // absolute
	Fields  url.Values
	Buttons []string // values of the action buttons
}

var (
	formRE    = regexp.MustCompile(`(?is)<form\b([^>]*)>(.*?)</form\s*>`)
	inputRE   = regexp.MustCompile(`(?is)<(input|button)\b([^>]*)>`)
	attrRE    = regexp.MustCompile(`(?s)([a-zA-Z_:][-a-zA-Z0-9_:.]*)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>` + "`" + `]+)))?`)
	titleRE   = regexp.MustCompile(`(?is)<title[^>]*>(.*?)</title\s*>`)
	errNoForm = errors.New("no form#pspsim-challenge on the page")
)

func attrs(s string) map[string]string {
	out := map[string]string{}
	for _, m := range attrRE.FindAllStringSubmatch(s, -1) {
		name := strings.ToLower(m[1])
		if _, seen := out[name]; seen {
			continue
		}
		out[name] = html.UnescapeString(m[2] + m[3] + m[4])
	}
	return out
}

func pageTitle(b []byte) string {
	if m := titleRE.FindSubmatch(b); m != nil {
		return clip(strings.TrimSpace(html.UnescapeString(string(m[1]))), 200)
	}
	return ""
}

// parseChallenge finds the challenge form of the contract in a page: its
// absolute action, the fields a browser would send (hidden and text inputs
// with their values) and the action buttons. A page without it is errNoForm;
// a form that breaks the contract is an error saying how.
func parseChallenge(pageURL string, body []byte) (*challengeForm, error) {
	base, err := url.Parse(pageURL)
	if err != nil {
		return nil, errNoForm
	}
	for _, m := range formRE.FindAllSubmatch(body, -1) {
		fa := attrs(string(m[1]))
		if fa["id"] != "pspsim-challenge" {
			continue
		}
		if !strings.EqualFold(fa["method"], "post") {
			return nil, errors.New("form#pspsim-challenge does not post (method must be post)")
		}
		action, err := base.Parse(fa["action"])
		if err != nil || (action.Scheme != "http" && action.Scheme != "https") {
			return nil, errors.New("form#pspsim-challenge has no http(s) action")
		}
		f := &challengeForm{Action: action.String(), Fields: url.Values{}}
		hasOTP := false
		for _, in := range inputRE.FindAllSubmatch(m[2], -1) {
			a := attrs(string(in[2]))
			name := a["name"]
			if name == "" {
				continue
			}
			typ := strings.ToLower(a["type"])
			if strings.EqualFold(string(in[1]), "button") || typ == "submit" {
				if name == "action" {
					f.Buttons = append(f.Buttons, a["value"])
				}
				continue
			}
			if name == "otp" {
				hasOTP = true
				continue
			}
			if typ == "checkbox" || typ == "radio" {
				if _, checked := a["checked"]; !checked {
					continue
				}
			}
			f.Fields.Add(name, a["value"])
		}
		if !hasOTP {
			return nil, errors.New(`form#pspsim-challenge has no <input name="otp">`)
		}
		return f, nil
	}
	return nil, errNoForm
}

func (f *challengeForm) has(button string) bool {
	for _, b := range f.Buttons {
		if b == button {
			return true
		}
	}
	return false
}

// adminFollowRedirect is the buyer's browser opening the payment's
// redirectUrl: the page is fetched (redirects followed) and described.
func (s *System) adminFollowRedirect(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	shopID, paymentID := pathParam(r, "shopId"), pathParam(r, "paymentId")
	p, aerr := s.redirectOf(ctx, shopID, paymentID)
	if aerr != nil {
		return aerr
	}
	pg := s.browser.get(ctx, paymentKey(shopID, paymentID), p.Ack.RedirectURL)
	s.markBuyer(ctx, p, func(b *Buyer, now time.Time) { b.RedirectFetchedAt = &now })
	v := pg.view()
	s.record("buyer.redirect_followed", fmt.Sprintf("the buyer opened the redirectUrl of payment %s: %s (challenge page: %v)", paymentID, pg.summary(), v["challenge"]),
		p.ids(KindPayment, paymentID), map[string]any{"status": pg.Status, "finalUrl": pg.URL, "challenge": v["challenge"], "error": pg.Err})
	cur, _ := s.payments.Get(ctx, paymentKey(shopID, paymentID))
	v["returned"] = cur.Buyer.ReturnedAt != nil
	admin.WriteJSON(w, http.StatusOK, v)
	return nil
}

// adminChallenge is the buyer completing (OTP, action "submit") or
// abandoning (action "cancel") the challenge page at the redirectUrl; the
// browser then follows the 303 back to the return URL.
func (s *System) adminChallenge(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	shopID, paymentID := pathParam(r, "shopId"), pathParam(r, "paymentId")
	var in struct {
		OTP    string `json:"otp"`
		Action string `json:"action"`
	}
	if e := decode(r, &in); e != nil {
		return e
	}
	if in.Action == "" {
		in.Action = "submit"
	}
	if in.Action == "submit" && in.OTP == "" {
		return apierr.Field(apierr.Missing, "otp", "required", "is required to submit the challenge (or send action cancel)")
	}
	p, aerr := s.redirectOf(ctx, shopID, paymentID)
	if aerr != nil {
		return aerr
	}
	session := paymentKey(shopID, paymentID)
	pg := s.browser.get(ctx, session, p.Ack.RedirectURL)
	if pg.Err != "" {
		return apierr.New(apierr.Unavailable, "the buyer's browser could not open the redirectUrl: %s", pg.Err)
	}
	form, err := parseChallenge(pg.URL, pg.Body)
	if err != nil {
		return apierr.Field(apierr.Conflict, "action", "challengePage", "the page at the redirectUrl (%s, HTTP %d) is not a pspsim challenge page: %v", pg.URL, pg.Status, err)
	}
	if !form.has(in.Action) {
		return apierr.Field(apierr.Conflict, "action", "challengePage", "the challenge page offers no %q button (it offers %v)", in.Action, form.Buttons)
	}
	values := url.Values{}
	for k, v := range form.Fields {
		values[k] = v
	}
	if in.Action == "submit" {
		values.Set("otp", in.OTP)
	} else {
		values.Set("otp", "")
	}
	values.Set("action", in.Action)
	posted := s.browser.do(ctx, session, false, http.MethodPost, form.Action, values)
	outcome := map[string]string{"submit": "submitted", "cancel": "cancelled"}[in.Action]
	s.markBuyer(ctx, p, func(b *Buyer, now time.Time) {
		b.Challenge = outcome
		if b.RedirectFetchedAt == nil {
			b.RedirectFetchedAt = &now
		}
	})
	ids := p.ids(KindPayment, paymentID)
	if posted.Err != "" || posted.Status != http.StatusSeeOther || posted.Location == "" {
		why := posted.Err
		if why == "" {
			why = fmt.Sprintf("HTTP %d (Location %q)", posted.Status, posted.Location)
		}
		s.record("buyer.challenge_"+outcome, fmt.Sprintf("the buyer %s the challenge of payment %s, but the page answered %s instead of a 303 to the return URL", outcome, paymentID, why), ids,
			map[string]any{"action": in.Action, "status": posted.Status, "error": posted.Err})
		return apierr.New(apierr.Conflict, "the challenge page answered %s, not the 303 to the return URL of the challenge contract", why)
	}
	back, err := url.Parse(form.Action)
	if err == nil {
		if loc, e := back.Parse(posted.Location); e == nil {
			posted.Location = loc.String()
		}
	}
	s.record("buyer.challenge_"+outcome, fmt.Sprintf("the buyer %s the challenge of payment %s; the page sends the browser to %s", outcome, paymentID, posted.Location), ids,
		map[string]any{"action": in.Action, "otp": in.OTP, "returnTo": posted.Location})
	final := s.browser.get(ctx, session, posted.Location)
	cur, _ := s.payments.Get(ctx, paymentKey(shopID, paymentID))
	admin.WriteJSON(w, http.StatusOK, map[string]any{
		"action": in.Action, "challengeStatus": posted.Status, "location": posted.Location,
		"final": final.view(), "returned": cur.Buyer.ReturnedAt != nil, "status": cur.Status.Code(),
	})
	return nil
}

// redirectOf loads a payment whose acknowledgement sent the buyer somewhere.
func (s *System) redirectOf(ctx context.Context, shopID, paymentID string) (Payment, *apierr.Error) {
	p, aerr := s.adminPayment(ctx, shopID, paymentID)
	if aerr != nil {
		return p, aerr
	}
	if p.Ack == nil || p.Ack.RedirectURL == "" {
		return p, apierr.Field(apierr.Conflict, "paymentId", "redirectUrl", "the app's acknowledgement of payment %s has no redirectUrl: there is nowhere to send the buyer", paymentID)
	}
	return p, nil
}

func (s *System) markBuyer(ctx context.Context, p Payment, f func(*Buyer, time.Time)) {
	now := s.env.Clock.Now()
	s.payments.Update(ctx, paymentKey(p.ShopID, p.PaymentID), func(p *Payment) error {
		f(&p.Buyer, now)
		return nil
	})
}
