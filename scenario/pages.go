package scenario

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"golang.org/x/net/html"
)

// The page steps drive the sandbox's pages as a buyer or a cashier would:
// by their links and forms, over HTTP, without a browser — so QA runs them
// anywhere. A page step follows the simulator's redirects and stops at the
// first one that leaves it (the merchant's frontUrl or return_url), which it
// remembers as {leftTo}; the page it lands on is the scenario's current page.

// page is the scenario's current page.
type page struct {
	URL  string
	Body []byte
}

func (w *World) currentPage() (*page, error) {
	if w.page == nil {
		return nil, fmt.Errorf("no page is open: open one first (the buyer opens …)")
	}
	return w.page, nil
}

// browse sends a request as a browser would and follows the simulator's
// own redirects; it never leaves the simulator.
func (w *World) browse(ctx context.Context, method, target string, form url.Values) error {
	for hops := 0; hops < 10; hops++ {
		var body io.Reader
		if form != nil {
			body = strings.NewReader(form.Encode())
		}
		req, err := http.NewRequestWithContext(ctx, method, target, body)
		if err != nil {
			return err
		}
		req.Header.Set("Accept", "text/html")
		if form != nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		res, err := w.noRedirect().Do(req)
		if err != nil {
			return fmt.Errorf("%s %s: %w", method, target, err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		w.Last = &Response{Status: res.StatusCode, Header: res.Header, Body: b}
		if res.StatusCode < 300 || res.StatusCode >= 400 {
			w.page = &page{URL: target, Body: b}
			return nil
		}
		loc, err := res.Request.URL.Parse(res.Header.Get("Location"))
		if err != nil {
			return fmt.Errorf("%s %s: bad redirect %q", method, target, res.Header.Get("Location"))
		}
		base, _ := url.Parse(w.Target)
		if loc.Host != base.Host {
			w.Set("leftTo", loc.String())
			w.page = &page{URL: loc.String()}
			return nil
		}
		target, method, form = loc.String(), "GET", nil
	}
	return fmt.Errorf("more than 10 redirects from %s", target)
}

// absolute resolves a URL written in a step against the target.
func (w *World) absolute(u string) string {
	u = w.Expand(u)
	if strings.HasPrefix(u, "/") {
		return w.Target + u
	}
	return u
}

// formOf finds the form matching sel ("#id", or "" for the first) on the
// current page and returns its action (absolute) and its hidden fields.
func (w *World) formOf(sel string, pick func(*html.Node) bool) (string, url.Values, error) {
	p, err := w.currentPage()
	if err != nil {
		return "", nil, err
	}
	doc, err := html.Parse(bytes.NewReader(p.Body))
	if err != nil {
		return "", nil, fmt.Errorf("the page %s is not HTML: %w", p.URL, err)
	}
	var found *html.Node
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if found != nil {
			return
		}
		if n.Type == html.ElementNode && n.Data == "form" && (sel == "" || "#"+attr(n, "id") == sel) && (pick == nil || pick(n)) {
			found = n
			return
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	if found == nil {
		return "", nil, fmt.Errorf("the page %s has no form %s; it shows: %s", p.URL, sel, clip([]byte(pageText(p.Body))))
	}
	base, _ := url.Parse(p.URL)
	action, err := base.Parse(attr(found, "action"))
	if err != nil {
		return "", nil, err
	}
	values := url.Values{}
	var fields func(*html.Node)
	fields = func(n *html.Node) {
		if n.Type == html.ElementNode && n.Data == "input" && attr(n, "type") == "hidden" {
			values.Set(attr(n, "name"), attr(n, "value"))
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			fields(c)
		}
	}
	fields(found)
	return action.String(), values, nil
}

// hasButton reports whether a form holds a button name=value.
func hasButton(name, value string) func(*html.Node) bool {
	return func(f *html.Node) bool {
		ok := false
		var walk func(*html.Node)
		walk = func(n *html.Node) {
			if n.Type == html.ElementNode && n.Data == "button" && attr(n, "name") == name && attr(n, "value") == value {
				ok = true
			}
			for c := n.FirstChild; c != nil && !ok; c = c.NextSibling {
				walk(c)
			}
		}
		walk(f)
		return ok
	}
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

// pageText is a page's visible text, whitespace folded.
func pageText(b []byte) string {
	doc, err := html.Parse(bytes.NewReader(b))
	if err != nil {
		return string(b)
	}
	var sb strings.Builder
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode && (n.Data == "script" || n.Data == "style") {
			return
		}
		if n.Type == html.TextNode {
			sb.WriteString(n.Data)
			sb.WriteByte(' ')
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	return strings.Join(strings.Fields(sb.String()), " ")
}

// submit posts a form of the current page with the given fields added.
func (w *World) submit(ctx context.Context, sel string, pick func(*html.Node) bool, fields url.Values) error {
	action, values, err := w.formOf(sel, pick)
	if err != nil {
		return err
	}
	for k, v := range fields {
		values[k] = v
	}
	return w.browse(ctx, "POST", action, values)
}

// encryptToCodePay seals a card for pay.merchant.checkout: RSA PKCS#1 v1.5
// to the gateway's published key, as CodePay's merchants do.
func encryptToCodePay(ctx context.Context, w *World, card map[string]string) (string, error) {
	r, err := w.peek(ctx, "GET", "/_sim/codepay/gateway-key", nil)
	if err != nil {
		return "", err
	}
	v, _ := Field(r.Body, "publicKeyPem")
	block, _ := pem.Decode([]byte(text(v)))
	if block == nil {
		return "", fmt.Errorf("the gateway key is not PEM: %s", clip(r.Body))
	}
	pub, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return "", fmt.Errorf("the gateway key: %w", err)
	}
	rk, ok := pub.(*rsa.PublicKey)
	if !ok {
		return "", fmt.Errorf("the gateway key is not RSA")
	}
	plain, _ := json.Marshal(card)
	ct, err := rsa.EncryptPKCS1v15(rand.Reader, rk, plain)
	if err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(ct), nil
}

func pageSteps() Group {
	return Group{
		Name: "Pages: buyer and cashier",
		Doc: "Drive the sandbox's pages as a buyer or a cashier would — the card gateway's hosted cashier and wallet page, CodePay's hosted checkout " +
			"and terminal screens, the 3-D Secure challenge — by their forms, over HTTP (no browser needed). The page a step lands on is the current " +
			"page; a redirect that leaves the sandbox (the merchant's frontUrl or return_url) ends there and is remembered as `{leftTo}`.",
		Steps: []Step{
			{
				Pattern: `^the buyer opens "([^"]*)"$`,
				Doc:     "Opens a page (a path, a full URL, or a remembered one such as `{cashierUrl}`), following the sandbox's redirects.",
				Example: `When the buyer opens "{cashierUrl}"`,
				Func: func(ctx context.Context, u string) error {
					w := WorldFrom(ctx)
					return w.browse(ctx, "GET", w.absolute(u), nil)
				},
			},
			{
				Pattern: `^a checkout session of "([^"]*)" ([A-Z]{3}) is created as order "([^"]*)"(?: with frontUrl "([^"]*)")?$`,
				Doc:     "Creates a card gateway checkout session (with the scenario's access token) and remembers its cashier as `{cashierUrl}`.",
				Example: `Given a checkout session of "42.00" HKD is created as order "SESSION-1"`,
				Func: func(ctx context.Context, amount, currency, orderNo, front string) error {
					w := WorldFrom(ctx)
					body := map[string]any{"amount": amount, "currency": currency, "orderNo": w.Expand(orderNo), "expiryTime": "60", "captureMethod": "auto",
						"threeDsMode": "auto", "linkMode": "session", "description": "Basket"}
					if front != "" {
						body["frontUrl"] = w.Expand(front)
					}
					r, err := w.vmPost(ctx, "/checkout/sessions", body)
					if err != nil {
						return err
					}
					if err := want(r, 200, "createCheckoutSession"); err != nil {
						return err
					}
					v, _ := Field(r.Body, "cashierUrl")
					w.Set("cashierUrl", text(v))
					return nil
				},
			},
			{
				Pattern: `^the buyer pays on the cashier with the card "(\d{13,19})"$`,
				Doc:     "Fills the cashier's card form (expiry 12/2030, CVC 123) and pays; the buyer lands on the challenge, the result, or the merchant's frontUrl.",
				Example: `When the buyer pays on the cashier with the card "4000123456000068"`,
				Func: func(ctx context.Context, number string) error {
					return WorldFrom(ctx).submit(ctx, "#pspsim-cashier-card", nil, url.Values{"cardNo": {number}, "expiryMonth": {"12"}, "expiryYear": {"2030"}, "cvc": {"123"}, "holderName": {"Jane Doe"}})
				},
			},
			{
				Pattern: `^the buyer pays on the cashier with the wallet "([^"]*)"$`,
				Doc:     "Presses a wallet button of the cashier (only the wallets the merchant has activated are there).",
				Example: `When the buyer pays on the cashier with the wallet "alipay"`,
				Func: func(ctx context.Context, wallet string) error {
					return WorldFrom(ctx).submit(ctx, "#pspsim-cashier-wallet", hasButton("method", wallet), url.Values{"method": {wallet}})
				},
			},
			{
				Pattern: `^the buyer cancels on the cashier$`,
				Doc:     "Presses the cashier's Cancel: back to the merchant's frontUrl (`{leftTo}`) with status CANCELLED.",
				Example: `When the buyer cancels on the cashier`,
				Func: func(ctx context.Context) error {
					return WorldFrom(ctx).submit(ctx, "#pspsim-cashier-cancel", nil, url.Values{"method": {"cancel"}})
				},
			},
			{
				Pattern: `^the buyer (approves|declines) on the wallet page$`,
				Doc:     "Presses Approve or Decline on the wallet stand-in page (the current page).",
				Example: `When the buyer approves on the wallet page`,
				Func: func(ctx context.Context, choice string) error {
					action := map[string]string{"approves": "approve", "declines": "decline"}[choice]
					return WorldFrom(ctx).submit(ctx, "#pspsim-wallet", nil, url.Values{"action": {action}})
				},
			},
			{
				Pattern: `^the buyer answers the challenge page with "(\d+)"$`,
				Doc:     "Types the code into the 3-D Secure challenge page (the current page) and submits it (`123456` passes, `000000` fails).",
				Example: `When the buyer answers the challenge page with "123456"`,
				Func: func(ctx context.Context, otp string) error {
					return WorldFrom(ctx).submit(ctx, "#pspsim-challenge", nil, url.Values{"otp": {otp}, "action": {"submit"}})
				},
			},
			{
				Pattern: `^the page shows "([^"]*)"$`,
				Doc:     "Checks the current page's visible text (HTML tags and spacing ignored).",
				Example: `Then the page shows "Payment CAPTURED"`,
				Func: func(ctx context.Context, s string) error {
					w := WorldFrom(ctx)
					p, err := w.currentPage()
					if err != nil {
						return err
					}
					if t := pageText(p.Body); !strings.Contains(t, w.Expand(s)) {
						return fmt.Errorf("the page %s does not show %q; it shows: %s", p.URL, s, clip([]byte(t)))
					}
					return nil
				},
			},
			{
				Pattern: `^the buyer is back at "([^"]*)" with "([^"]*)" in the query$`,
				Doc:     "Checks where the sandbox sent the buyer off to (`{leftTo}`): the URL starts with the first text and its query holds the second (`status=CANCELLED`).",
				Example: `Then the buyer is back at "https://shop.example/back" with "status=CANCELLED" in the query`,
				Func: func(ctx context.Context, prefix, pair string) error {
					w := WorldFrom(ctx)
					left, ok := w.Get("leftTo")
					if !ok {
						return fmt.Errorf("the buyer has not left the sandbox")
					}
					u, err := url.Parse(left)
					if err != nil || !strings.HasPrefix(left, w.Expand(prefix)) {
						return fmt.Errorf("the buyer was sent to %s, not %s…", left, prefix)
					}
					k, v, _ := strings.Cut(w.Expand(pair), "=")
					if u.Query().Get(k) != v {
						return fmt.Errorf("the buyer was sent to %s: %s is %q, not %q", left, k, u.Query().Get(k), v)
					}
					return nil
				},
			},
			{
				Pattern: `^the buyer pays the CodePay checkout with the card "(\d{13,19})"$`,
				Doc:     "Fills CodePay's hosted checkout (the current page: a `pay_url`) with the card (expiry 12/30, CVV 123) and pays.",
				Example: `When the buyer pays the CodePay checkout with the card "4000123456000001"`,
				Func: func(ctx context.Context, number string) error {
					return WorldFrom(ctx).submit(ctx, "", hasButtonOrAction("card"), url.Values{"action": {"card"}, "pan": {number}, "expiry": {"12/30"}, "cvv": {"123"}, "holder": {"Jane Doe"}})
				},
			},
			{
				Pattern: `^the buyer cancels the CodePay checkout$`,
				Doc:     "Presses Cancel on CodePay's hosted checkout: back to the merchant's return_url.",
				Example: `When the buyer cancels the CodePay checkout`,
				Func: func(ctx context.Context) error {
					return WorldFrom(ctx).submit(ctx, "", hasButton("action", "cancel"), url.Values{"action": {"cancel"}})
				},
			},
			{
				Pattern: `^I pay CodePay merchant checkout "([^"]*)" of ([0-9.]+) ([A-Z]{3}) with the encrypted card "(\d{13,19})"$`,
				Doc: "Sends pay.merchant.checkout with the card encrypted to the gateway's key (RSA, as `pspsim codepay encrypt-card`), " +
					"and remembers `redirect_url_3dsecure` as `{challenge3ds}` when the card needs a challenge.",
				Example: `When I pay CodePay merchant checkout "MC-1" of 34.50 USD with the encrypted card "4000123456000068"`,
				Func: func(ctx context.Context, orderNo, amount, currency, number string) error {
					w := WorldFrom(ctx)
					card, err := encryptToCodePay(ctx, w, map[string]string{"pan": number, "holder": "Jane Doe", "cvv": "123", "expiry": "1230"})
					if err != nil {
						return err
					}
					doc, _ := json.Marshal(map[string]any{"card": card, "billing_address": map[string]any{"name": "Jane Doe", "country": "US"},
						"merchant_order_no": w.Expand(orderNo), "price_currency": currency, "order_amount": json.Number(amount), "expires": 600,
						"description": "merchant checkout", "return_url": "https://shop.example/return"})
					if err := cpEntry(ctx, "pay.merchant.checkout", string(doc)); err != nil {
						return err
					}
					if v, ok := Field(w.Last.Body, "data.redirect_url_3dsecure"); ok && text(v) != "" {
						w.Set("challenge3ds", text(v))
					}
					return nil
				},
			},
			{
				Pattern: `^the cashier opens the screen of terminal "([^"]*)"$`,
				Doc:     "Opens a CodePay terminal's screen page (`/codepay/terminals/{sn}`).",
				Example: `When the cashier opens the screen of terminal "WPYB001234567890"`,
				Func: func(ctx context.Context, sn string) error {
					w := WorldFrom(ctx)
					return w.browse(ctx, "GET", w.Target+"/codepay/terminals/"+url.PathEscape(w.Expand(sn)), nil)
				},
			},
			{
				Pattern: `^the cashier taps test card "(\d\d)"(?: \((visa|mastercard)\))? on the terminal screen$`,
				Doc:     "Presents a TESTCARDS row (Visa unless told) with the screen's one-click test card buttons.",
				Example: `When the cashier taps test card "20" on the terminal screen`,
				Func: func(ctx context.Context, nn, brand string) error {
					if brand == "" {
						brand = "visa"
					}
					return WorldFrom(ctx).submit(ctx, "#testcards", nil, url.Values{"testcard": {nn + ":" + brand}})
				},
			},
			{
				Pattern: `^the cashier presses "(confirm|approve|decline|sign|cancel|offline|online)" on the terminal screen$`,
				Doc:     "Presses a button of the terminal's screen (the current page): confirm, approve or decline (the manager), sign, cancel, or the online switch.",
				Example: `When the cashier presses "confirm" on the terminal screen`,
				Func: func(ctx context.Context, action string) error {
					w := WorldFrom(ctx)
					pick := hasButton("action", action)
					if action == "online" || action == "offline" {
						pick = hasHidden("action", action)
					}
					return w.submit(ctx, "", pick, url.Values{"action": {action}})
				},
			},
			{
				Pattern: `^the terminal screen says "([^"]*)"$`,
				Doc:     "Checks the message the terminal's screen shows after the last press (`done: card`, or the refusal).",
				Example: `Then the terminal screen says "done: card"`,
				Func: func(ctx context.Context, s string) error {
					w := WorldFrom(ctx)
					p, err := w.currentPage()
					if err != nil {
						return err
					}
					u, _ := url.Parse(p.URL)
					if got := u.Query().Get("msg"); !strings.Contains(got, w.Expand(s)) {
						return fmt.Errorf("the terminal says %q, not %q", got, s)
					}
					return nil
				},
			},
		},
	}
}

// hasHidden picks a form that holds a hidden input name=value.
func hasHidden(name, value string) func(*html.Node) bool {
	return func(f *html.Node) bool {
		ok := false
		var walk func(*html.Node)
		walk = func(n *html.Node) {
			if n.Type == html.ElementNode && n.Data == "input" && attr(n, "name") == name && attr(n, "value") == value {
				ok = true
			}
			for c := n.FirstChild; c != nil && !ok; c = c.NextSibling {
				walk(c)
			}
		}
		walk(f)
		return ok
	}
}

// hasButtonOrAction picks the form whose hidden action is value.
func hasButtonOrAction(value string) func(*html.Node) bool {
	return func(f *html.Node) bool { return hasHidden("action", value)(f) || hasButton("action", value)(f) }
}
