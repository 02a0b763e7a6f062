package vmgateway

import (
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/skip2/go-qrcode"

	"github.com/pspsim/pspsim/simulator/apierr"
	"github.com/pspsim/pspsim/simulator/money"
	"github.com/pspsim/pspsim/simulator/mountpath"
)

// The gateway's pages: the hosted cashier of a checkout session, the wallet
// approval page that stands in for a wallet app, and the return page that
// sends the customer to frontUrl. They never show card data but the masked
// number, and never echo a submitted card number back.
//
// Form contracts (for robots and Gherkin steps):
//
//	<form id="pspsim-cashier-card" method="post">   method=card, cardNo, expiryMonth, expiryYear, cvc, holderName
//	<form id="pspsim-cashier-wallet" method="post"> buttons name=method value=<wallet>
//	<form id="pspsim-cashier-express" method="post"> buttons name=method value=applePay|googlePay
//	<form id="pspsim-wallet" method="post">         buttons name=action value=approve|decline
//	<form id="pspsim-cashier-cancel" method="post"> button name=method value=cancel: back to frontUrl

var walletMethods = []string{"alipay", "alipayPlus", "wechat", "upay", "payNow", "grabPay", "shopeePay", "paypal"}

// expressMethods are the device wallets the cashier offers as buttons when
// the merchant has them: the payment sheet a phone would show is skipped
// (a sandbox has no device), and the wallet pays with its Visa card, which
// the issuer approves, as an applePay/googlePay payment through the API is.
var expressMethods = []string{"applePay", "googlePay"}

// expressLabel is a device wallet's name as its button shows it.
var expressLabel = map[string]string{"applePay": "Apple Pay", "googlePay": "Google Pay"}

const pageStyle = `<style>body{font-family:system-ui,sans-serif;max-width:30rem;margin:3rem auto;padding:0 1rem;color:#222}
.box{border:1px solid #ccc;border-radius:8px;padding:1.5rem;margin-bottom:1rem}label{display:block;margin-top:.6rem;font-size:.85rem;color:#555}
input{font-size:1rem;padding:.3rem;width:100%;box-sizing:border-box}.row{display:flex;gap:.5rem}button{margin:.8rem .4rem 0 0;padding:.45rem 1rem}
.msg{color:#a00}.ok{color:#070}.hint{color:#666;font-size:.8rem}td{padding:.15rem .5rem}</style>`

var pageTmpl = template.Must(template.New("pages").Parse(`
{{define "cashier"}}<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Pay {{.Merchant}} – pspsim cashier</title>
<meta name="viewport" content="width=device-width, initial-scale=1">` + pageStyle + `</head><body>
<div class="box"><h1>{{.Merchant}}</h1><p>Order {{.OrderNo}}{{if .Description}} – {{.Description}}{{end}}</p>
{{if .Products}}<table id="pspsim-products">{{range .Products}}<tr><td>{{.Name}}</td><td>{{.Quantity}}</td><td>{{.Price}}</td></tr>{{end}}</table>
{{if .Mismatch}}<p class="msg" id="pspsim-products-mismatch">{{.Mismatch}}</p>{{end}}{{end}}
<p><strong id="pspsim-amount">{{.Amount}}</strong></p>
{{if .Message}}<p class="msg" id="pspsim-cashier-message">{{.Message}}</p>{{end}}</div>
{{if .Open}}
<div class="box"><h2>Card</h2>
<form id="pspsim-cashier-card" method="post" action="{{.Action}}" autocomplete="off">
<input type="hidden" name="method" value="card">
<label for="cardNo">Card number</label><input id="cardNo" name="cardNo" inputmode="numeric" autocomplete="cc-number" maxlength="19">
<div class="row"><div><label for="expiryMonth">Month (MM)</label><input id="expiryMonth" name="expiryMonth" maxlength="2"></div>
<div><label for="expiryYear">Year (YYYY)</label><input id="expiryYear" name="expiryYear" maxlength="4"></div>
<div><label for="cvc">CVC</label><input id="cvc" name="cvc" maxlength="4" autocomplete="cc-csc"></div></div>
<label for="holderName">Name on card</label><input id="holderName" name="holderName" maxlength="64">
<button type="submit">Pay {{.Amount}}</button></form>
<p class="hint">Sandbox: the magic cards of TESTCARDS.md decide the outcome.</p></div>
{{if .Express}}<div class="box"><h2>Express checkout</h2><form id="pspsim-cashier-express" method="post" action="{{.Action}}">
{{range .Express}}<button type="submit" name="method" value="{{.Method}}">Pay with {{.Label}}</button>{{end}}</form>
<p class="hint">Sandbox: no payment sheet; the wallet pays with its Visa card, approved.</p></div>{{end}}
{{if .Wallets}}<div class="box"><h2>Wallet</h2><form id="pspsim-cashier-wallet" method="post" action="{{.Action}}">
{{range .Wallets}}<button type="submit" name="method" value="{{.}}">{{.}}</button>{{end}}</form></div>{{end}}
<form id="pspsim-cashier-cancel" method="post" action="{{.Action}}"><button type="submit" name="method" value="cancel">Cancel and return to {{.Merchant}}</button></form>
{{end}}
</body></html>{{end}}

{{define "wallet"}}<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{{.Method}} – pspsim wallet</title>
<meta name="viewport" content="width=device-width, initial-scale=1">` + pageStyle + `</head><body>
<div class="box"><h1>{{.Method}}</h1><p>Simulated wallet app.</p>
<p>{{.Merchant}} asks for <strong>{{.Amount}}</strong> (order {{.OrderNo}}).</p>
{{if and .Open .QR}}<p><img id="pspsim-wallet-qr" src="{{.QR}}" width="200" height="200" alt="QR code of {{.Payload}}"><br><span class="hint">Scan with a phone to open this page there: {{.Payload}}</span></p>{{end}}
{{if .Open}}<form id="pspsim-wallet" method="post" action="{{.Action}}">
<button type="submit" name="action" value="approve">Approve</button>
<button type="submit" name="action" value="decline">Decline</button></form>
{{else}}<p id="pspsim-wallet-result" data-status="{{.Status}}">This payment is {{.Status}}.</p>{{end}}
</div></body></html>{{end}}

{{define "result"}}<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Payment {{.Status}} – pspsim</title>
{{if .Waiting}}<meta http-equiv="refresh" content="5">{{end}}
<meta name="viewport" content="width=device-width, initial-scale=1">` + pageStyle + `</head><body>
<div class="box"><h1>Payment {{.Status}}</h1>
<p id="pspsim-result" data-status="{{.Status}}">Order {{.OrderNo}}, {{.Amount}}{{if .Card}}, card {{.Card}}{{end}}.</p>
{{if .Message}}<p class="{{if .Failed}}msg{{else}}ok{{end}}">{{.Message}}</p>{{end}}
{{if .Waiting}}<p class="hint">Waiting for the outcome; this page refreshes itself.</p>{{end}}
</div></body></html>{{end}}
`))

type cashierData struct {
	Merchant, OrderNo, Description, Amount, Message, Action, Mismatch string
	Products                                                          []struct{ Name, Quantity, Price string }
	Open                                                              bool
	Wallets                                                           []string
	Express                                                           []struct{ Method, Label string }
}

func (s *System) renderPage(w http.ResponseWriter, status int, name string, data any) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	pageTmpl.ExecuteTemplate(w, name, data)
}

// notFoundPage answers a page whose object is not there. err is the
// lookup's error: one the store did not answer is a 503 page (the buyer
// may reload), not "no such payment".
func (s *System) notFoundPage(w http.ResponseWriter, err error, what string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if e := unanswered(err); e != nil {
		s.env.Log.Error("vmgateway: a page could not be read", "page", what, "err", err)
		w.WriteHeader(http.StatusServiceUnavailable)
		w.Write([]byte("<!doctype html><title>Try again</title><p>" + template.HTMLEscapeString(e.Message) + "</p>"))
		return
	}
	w.WriteHeader(http.StatusNotFound)
	w.Write([]byte("<!doctype html><title>Not found</title><p>No " + template.HTMLEscapeString(what) + " with this id.</p>"))
}

func (s *System) cashierData(r *http.Request, ss Session, msg string) cashierData {
	m, _ := s.merchants.Get(r.Context(), ss.MerchantID)
	d := cashierData{
		Merchant: orString(m.Name, ss.MerchantID), OrderNo: ss.OrderNo, Description: ss.Description,
		Amount: money.Format(ss.Amount, ss.Currency) + " " + ss.Currency, Message: msg, Action: mountpath.Join(r, Prefix+"/cashier/"+ss.SessionID),
		Open: ss.open(s.now()),
	}
	var sum int64
	summable := true
	for _, p := range ss.Products {
		d.Products = append(d.Products, struct{ Name, Quantity, Price string }{p.Name, p.Quantity, money.Format(p.Price, ss.Currency)})
		q, err := strconv.ParseInt(orString(p.Quantity, "1"), 10, 64)
		if err != nil {
			summable = false
		}
		sum += p.Price * q
	}
	// The seed sets no rule tying productInfo to amount; the customer is
	// charged amount. The page says where the basket disagrees with it.
	if summable && len(ss.Products) > 0 && sum != ss.Amount {
		d.Mismatch = fmt.Sprintf("The items add up to %s %s, not the amount charged, %s.", money.Format(sum, ss.Currency), ss.Currency, d.Amount)
	}
	for _, wm := range walletMethods {
		if m.allowsMethod(wm) {
			d.Wallets = append(d.Wallets, wm)
		}
	}
	for _, em := range expressMethods {
		if m.allowsMethod(em) {
			d.Express = append(d.Express, struct{ Method, Label string }{em, expressLabel[em]})
		}
	}
	if !d.Open && msg == "" {
		switch ss.Status {
		case SessionCompleted:
			d.Message = "This order is paid."
		default:
			d.Message = "This checkout session has expired."
		}
	}
	return d
}

func (s *System) cashierPage(w http.ResponseWriter, r *http.Request) {
	ss, err := s.sessions.Get(r.Context(), r.PathValue("sessionId"))
	if err != nil {
		s.notFoundPage(w, err, "checkout session")
		return
	}
	msg := ""
	if failed := r.URL.Query().Get("failed"); failed != "" {
		if p, err := s.payments.Get(r.Context(), failed); err == nil && p.SessionID == ss.SessionID && p.FailureMessage != "" {
			msg = "The payment did not go through: " + p.FailureMessage + ". Try again."
		}
	}
	s.renderPage(w, http.StatusOK, "cashier", s.cashierData(r, ss, msg))
}

// cashierPost pays a checkout session from the cashier's forms.
func (s *System) cashierPost(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	ss, err := s.sessions.Get(ctx, r.PathValue("sessionId"))
	if err != nil {
		s.notFoundPage(w, err, "checkout session")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		s.renderPage(w, http.StatusBadRequest, "cashier", s.cashierData(r, ss, "The form could not be read."))
		return
	}
	f := r.PostForm
	method := f.Get("method")
	if method == "cancel" {
		s.cashierCancel(w, r, ss)
		return
	}
	m, _ := s.merchants.Get(ctx, ss.MerchantID)
	express := slices.Contains(expressMethods, method)
	if method != "card" && !express && !slices.Contains(walletMethods, method) {
		s.renderPage(w, http.StatusBadRequest, "cashier", s.cashierData(r, ss, "Choose a card or a wallet."))
		return
	}
	if method != "card" && !m.allowsMethod(method) {
		s.renderPage(w, http.StatusBadRequest, "cashier", s.cashierData(r, ss, method+" is not available for this merchant."))
		return
	}
	var card *cardData
	if method == "card" {
		number := strings.Map(func(c rune) rune {
			if c == ' ' || c == '-' {
				return -1
			}
			return c
		}, f.Get("cardNo"))
		month, year := f.Get("expiryMonth"), f.Get("expiryYear")
		if len(month) == 1 {
			month = "0" + month
		}
		if len(year) == 2 {
			year = "20" + year
		}
		if len(number) < 13 || len(number) > 19 || strings.Trim(number, "0123456789") != "" {
			s.renderPage(w, http.StatusOK, "cashier", s.cashierData(r, ss, "Enter a card number of 13 to 19 digits."))
			return
		}
		if aerr := s.checkCard("", number, month, year); aerr != nil {
			s.renderPage(w, http.StatusOK, "cashier", s.cashierData(r, ss, "Check the card details: "+aerr.Message+"."))
			return
		}
		card = &cardData{Number: number, ExpiryMonth: month, ExpiryYear: year}
	}
	ss, tradeNo, err := s.startAttempt(ctx, ss.SessionID)
	if err != nil {
		if errors.Is(err, errAttemptRunning) {
			if ss.TradeNo != "" {
				http.Redirect(w, r, mountpath.Join(r, Prefix+"/return/"+ss.TradeNo), http.StatusSeeOther)
				return
			}
		}
		ss, _ = s.sessions.Get(ctx, ss.SessionID)
		s.renderPage(w, http.StatusConflict, "cashier", s.cashierData(r, ss, ""))
		return
	}
	ip, _, _ := net.SplitHostPort(r.RemoteAddr)
	np := &newPayment{
		tok:      Token{AppID: ss.AppID, MerchantID: ss.MerchantID, Environment: ss.Environment},
		merchant: m, orderNo: ss.OrderNo, tradeNo: tradeNo, sessionID: ss.SessionID, method: method,
		amount: ss.Amount, currency: ss.Currency, capture: ss.CaptureMethod, threeDSMode: ss.ThreeDSMode, fraudMode: ss.FraudMode,
		description: ss.Description, frontURL: ss.FrontURL, notifyURL: ss.NotificationURL, expiry: ss.ExpiresAt.Sub(s.now()),
		card: card, clientIP: ip,
	}
	if m.Name == "" {
		np.merchant.Name = ss.MerchantID
	}
	switch {
	case card != nil:
		np.expiryMonth, np.expiryYear = card.ExpiryMonth, card.ExpiryYear
	case express:
		np.walletBrand = "visa"
	default:
		np.productType = "h5"
		if slices.Contains([]string{"payNow", "grabPay", "shopeePay", "paypal", "upay"}, method) {
			np.productType = "qr-code"
		}
	}
	p, _, err := s.create(ctx, np)
	s.env.Record(Name, "cashier.attempt", fmt.Sprintf("cashier of session %s: the customer paid with %s", ss.SessionID, method),
		map[string]string{"orderNo": ss.OrderNo, "sessionId": ss.SessionID, "tradeNo": tradeNo, "merchant": ss.MerchantID},
		map[string]any{"environment": ss.Environment, "method": method, "status": p.Status})
	if err != nil {
		msg := "The payment could not be processed; try again."
		var ae *apierr.Error
		if errors.As(err, &ae) && ae.Kind != apierr.Internal {
			msg = ae.Message
		}
		s.renderPage(w, http.StatusOK, "cashier", s.cashierData(r, ss, msg))
		return
	}
	switch {
	case p.Status == StatusFailed:
		s.renderPage(w, http.StatusOK, "cashier", s.cashierData(r, ss, "The payment did not go through: "+p.FailureMessage+". Try again."))
	case p.Status == StatusRequiresAction && p.NextAction != nil:
		target := p.NextAction.RedirectURL
		if target == "" {
			target = p.NextAction.QRCode
		}
		http.Redirect(w, r, target, http.StatusSeeOther)
	default:
		http.Redirect(w, r, mountpath.Join(r, Prefix+"/return/"+p.TradeNo), http.StatusSeeOther)
	}
}

type walletData struct {
	Method, Merchant, Amount, OrderNo, Status, Action, Payload string
	QR                                                         template.URL
	Open                                                       bool
}

// qrImage is a PNG data URL of a QR code of payload: the wallet page shows
// the code a wallet app would scan (its payload is this page's URL, so a
// phone on the same network opens the stand-in there).
func qrImage(payload string) template.URL {
	png, err := qrcode.Encode(payload, qrcode.Medium, 256)
	if err != nil {
		return ""
	}
	return template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(png))
}

// cashierCancel is the customer leaving the cashier: back to frontUrl (with
// orderNo and status=CANCELLED in its query), or a page saying so. The
// session stays OPEN until it expires, as the seed's sessions have no
// cancel: the customer may come back and pay.
func (s *System) cashierCancel(w http.ResponseWriter, r *http.Request, ss Session) {
	s.env.Record(Name, "cashier.cancelled", fmt.Sprintf("cashier of session %s: the customer cancelled and went back to the merchant", ss.SessionID),
		map[string]string{"orderNo": ss.OrderNo, "sessionId": ss.SessionID, "merchant": ss.MerchantID}, map[string]any{"environment": ss.Environment})
	if u, err := url.Parse(ss.FrontURL); err == nil && ss.FrontURL != "" {
		q := u.Query()
		q.Set("orderNo", ss.OrderNo)
		q.Set("status", "CANCELLED")
		u.RawQuery = q.Encode()
		http.Redirect(w, r, u.String(), http.StatusSeeOther)
		return
	}
	s.renderPage(w, http.StatusOK, "result", resultData{Status: "CANCELLED", OrderNo: ss.OrderNo, Amount: money.Format(ss.Amount, ss.Currency) + " " + ss.Currency,
		Message: "You left the checkout. The merchant gave no frontUrl to return to; the session stays open until it expires."})
}

func (s *System) walletPage(w http.ResponseWriter, r *http.Request) {
	p, err := s.payments.Get(r.Context(), r.PathValue("tradeNo"))
	if err != nil || p.Method == "card" {
		s.notFoundPage(w, err, "wallet payment")
		return
	}
	m, _ := s.merchants.Get(r.Context(), p.MerchantID)
	d := walletData{
		Method: p.Method, Merchant: orString(m.Name, p.MerchantID), Amount: money.Format(p.Amount, p.Currency) + " " + p.Currency,
		OrderNo: p.OrderNo, Status: p.Status, Action: mountpath.Join(r, Prefix+"/wallet/"+p.TradeNo), Open: p.Status == StatusRequiresAction,
	}
	if na := p.NextAction; na != nil && d.Open {
		d.Payload = orString(na.QRCode, na.RedirectURL)
		d.QR = qrImage(d.Payload)
	}
	s.renderPage(w, http.StatusOK, "wallet", d)
}

func (s *System) walletPost(w http.ResponseWriter, r *http.Request) {
	tradeNo := r.PathValue("tradeNo")
	p, err := s.payments.Get(r.Context(), tradeNo)
	if err != nil || p.Method == "card" {
		s.notFoundPage(w, err, "wallet payment")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	r.ParseForm()
	switch r.PostForm.Get("action") {
	case "approve", "decline":
		if p.Status == StatusRequiresAction {
			s.walletDecision(r.Context(), tradeNo, r.PostForm.Get("action") == "approve")
		}
		http.Redirect(w, r, mountpath.Join(r, Prefix+"/return/"+tradeNo), http.StatusSeeOther)
	default:
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusBadRequest)
		w.Write([]byte("<!doctype html><title>Bad request</title><p>action must be approve or decline.</p>"))
	}
}

type resultData struct {
	Status, OrderNo, Amount, Card, Message string
	Waiting, Failed                        bool
}

// returnPage is where the customer lands after a challenge or the wallet: it
// sends them to frontUrl (with orderNo, tradeNo and status added to its
// query), back to the cashier after a failed session attempt, or shows the
// outcome.
func (s *System) returnPage(w http.ResponseWriter, r *http.Request) {
	p, err := s.payments.Get(r.Context(), r.PathValue("tradeNo"))
	if err != nil {
		s.notFoundPage(w, err, "payment")
		return
	}
	if p.SessionID != "" && (p.Status == StatusFailed || p.Status == StatusExpired) {
		if ss, err := s.sessions.Get(r.Context(), p.SessionID); err == nil && ss.open(s.now()) {
			http.Redirect(w, r, mountpath.Join(r, Prefix+"/cashier/"+ss.SessionID)+"?failed="+url.QueryEscape(p.TradeNo), http.StatusSeeOther)
			return
		}
	}
	wait := waiting(p.Status)
	if p.FrontURL != "" && !wait {
		if u, err := url.Parse(p.FrontURL); err == nil {
			q := u.Query()
			q.Set("orderNo", p.OrderNo)
			q.Set("tradeNo", p.TradeNo)
			q.Set("status", p.Status)
			u.RawQuery = q.Encode()
			http.Redirect(w, r, u.String(), http.StatusSeeOther)
			return
		}
	}
	s.renderPage(w, http.StatusOK, "result", resultData{
		Status: p.Status, OrderNo: p.OrderNo, Amount: money.Format(p.Amount, p.Currency) + " " + p.Currency, Card: p.MaskedCardNo,
		Message: p.FailureMessage, Waiting: wait, Failed: p.Status == StatusFailed,
	})
}
