package codepay

import (
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/pspsim/pspsim/fixtures"
	"github.com/pspsim/pspsim/simulator/apierr"
	"github.com/pspsim/pspsim/simulator/journal"
	"github.com/pspsim/pspsim/simulator/live"
	"github.com/pspsim/pspsim/simulator/money"
	"github.com/pspsim/pspsim/simulator/pan"
)

// Routes serves CodePay's pages beside its API: the virtual terminals'
// screens (each redraws itself when its terminal changes: a few lines of
// JavaScript on a server-sent stream, simulator/live), the list of
// terminals, the hosted checkout and the 3-D Secure hand-over. Plain HTML
// forms; card numbers appear masked only (test cards are chosen by their
// TESTCARDS row, not sent as numbers).
func (s *System) Routes(mux *http.ServeMux) {
	mux.HandleFunc("GET "+Prefix+"/terminals", s.terminalsPage)
	mux.HandleFunc("GET "+Prefix+"/terminals/{sn}", s.terminalPage)
	mux.HandleFunc("GET "+Prefix+"/terminals/{sn}/live", s.terminalLive)
	mux.HandleFunc("POST "+Prefix+"/terminals/{sn}", s.terminalForm)
	mux.HandleFunc("GET "+Prefix+"/checkout/{transNo}", s.checkoutPage)
	mux.HandleFunc("POST "+Prefix+"/checkout/{transNo}", s.checkoutForm)
	mux.HandleFunc("GET "+Prefix+"/3ds/{transNo}", s.threeDSRedirect)
	mux.HandleFunc("GET "+Prefix+"/3ds/{transNo}/return", s.returnToMerchant)
}

const pageStyle = `body{font-family:system-ui,sans-serif;max-width:46rem;margin:1.5rem auto;padding:0 1rem;color:#222}
.screen{border:3px solid #333;border-radius:12px;padding:1rem;background:#f4f7fb;margin:1rem 0}
.offline{background:#eee;color:#777}.msg{padding:.5rem;background:#fff3cd;border:1px solid #e0c060}
table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #ccc;padding:.25rem;text-align:left}
form{display:inline-block;margin:.25rem .25rem .25rem 0}input{padding:.3rem}button{padding:.35rem .8rem}
.amount{font-size:2rem;font-weight:bold}.hint{color:#777;font-size:.8rem}
form.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(12.5rem,1fr));gap:.3rem}.cards button{text-align:left;margin:0;font-size:.8rem}.cards small{color:#555}`

var terminalTmpl = template.Must(template.New("terminal").Funcs(template.FuncMap{"pathesc": url.PathEscape}).Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>Terminal {{.V.SN}} · pspsim CodePay</title><style>` + pageStyle + `</style></head><body>
<div id="live" data-live="{{pathesc .V.SN}}/live">
<p><a href="../terminals">all terminals</a></p>
<h1>CodePay Register · {{.V.SN}}</h1>
<p id="state" data-live-part data-online="{{.V.Online}}">{{if .V.Online}}<b>online</b>{{else}}<b>offline</b>{{end}}
{{range .V.Merchants}} · merchant {{.MerchantNo}} store {{.StoreNo}}{{end}}
 · <span class="hint">this screen updates by itself when an order arrives</span></p>
{{if .Msg}}<p class="msg" id="msg">{{.Msg}}</p>{{end}}
<div id="controls" data-live-part><form method="post"><input type="hidden" name="action" value="{{if .V.Online}}offline{{else}}online{{end}}"><button>Go {{if .V.Online}}offline{{else}}online{{end}}</button></form></div>
<div id="screen" data-live-part class="screen{{if not .V.Online}} offline{{end}}" data-step="{{with .V.Screen}}{{.Step}}{{end}}" data-order="{{with .V.Screen}}{{.MerchantOrderNo}}{{end}}">
{{with .V.Screen}}
<p>{{.TransTypeName}} · order {{.MerchantOrderNo}} · {{.Environment}}</p>
<p class="amount">{{.TransAmount}} {{.Currency}}</p>
<p>order {{.OrderAmount}} · tip {{.TipAmount}}{{if .CashbackAmount}} · cashback {{.CashbackAmount}}{{end}}{{if .Card}} · card {{.Card}}{{end}}</p>
<p>{{.Description}}</p>
<p>Screen: <b>{{.Step}}</b></p>
{{if eq .Step "confirm"}}<form method="post"><input type="hidden" name="trans_no" value="{{.TransNo}}"><button name="action" value="confirm">Confirm</button></form>{{end}}
{{if eq .Step "approval"}}<form method="post"><input type="hidden" name="trans_no" value="{{.TransNo}}"><button name="action" value="approve">Manager approves</button><button name="action" value="decline">Manager refuses</button></form>{{end}}
{{if eq .Step "tip"}}<form method="post"><input type="hidden" name="trans_no" value="{{.TransNo}}"><input name="tip_amount" placeholder="tip, e.g. 2.50" size="10"><button name="action" value="tip">Enter tip</button> <button name="action" value="tip" formnovalidate>No tip</button></form>{{end}}
{{if eq .Step "payment"}}<h3>Present a test card</h3>
<form method="post" id="testcards" class="cards"><input type="hidden" name="trans_no" value="{{.TransNo}}"><input type="hidden" name="action" value="card">
{{range $.Cards}}<button name="testcard" value="{{.Value}}" title="{{.Title}}"><b>{{.NN}}</b> {{.Brand}} {{.Masked}}<br><small>{{.Outcome}}</small></button>{{end}}</form>
<form method="post" autocomplete="off"><input type="hidden" name="trans_no" value="{{.TransNo}}"><input name="card" placeholder="or type a card number" size="22" inputmode="numeric"><button name="action" value="card">Present card</button></form>
<form method="post"><input type="hidden" name="trans_no" value="{{.TransNo}}"><input type="hidden" name="action" value="wallet">{{range $.Wallets}}<button name="wallet" value="{{.}}">Scan {{.}} QR</button>{{end}}</form>{{end}}
{{if eq .Step "signature"}}<form method="post"><input type="hidden" name="trans_no" value="{{.TransNo}}"><button name="action" value="sign">Sign</button></form>{{end}}
{{if ne .Step "host"}}<form method="post"><input type="hidden" name="trans_no" value="{{.TransNo}}"><button name="action" value="cancel">Cancel</button></form>{{else}}<p>Waiting for the host…</p>{{end}}
{{else}}<p>{{if .V.Online}}CodePay Register is idle: no order.{{else}}The terminal is offline; pushed orders wait in its queue.{{end}}</p>{{end}}
</div>
<div id="queue" data-live-part data-count="{{len .V.Queue}}"><h2>Queue</h2>
<table><tr><th>#</th><th>order</th><th>type</th><th>amount</th><th>status</th></tr>
{{range $i, $q := .V.Queue}}<tr><td>{{$i}}</td><td>{{$q.MerchantOrderNo}}</td><td>{{$q.TransTypeName}}</td><td>{{$q.TransAmount}} {{$q.Currency}}</td><td>{{$q.Status}} {{$q.Step}}</td></tr>{{end}}
</table></div>
<div id="batches" data-live-part><h2>Open batches</h2>
<table><tr><th>batch</th><th>merchant</th><th>environment</th><th>count</th><th>total</th></tr>
{{range .V.Batches}}<tr><td>{{.BatchNo}}</td><td>{{.MerchantNo}}</td><td>{{.Environment}}</td><td>{{.Count}}</td><td>{{.Total}}</td></tr>{{end}}
</table></div>
<div id="pilot" data-live-part><h2>Autopilot</h2>
{{with .V.Autopilot}}<p>on: after {{.Delay}}, pay with {{if .Card}}{{.Card}}{{else}}{{.Wallet}}{{end}}{{if .Tip}}, tip {{.Tip}}{{end}}, sign {{.Sign}}, approve {{.Approve}}</p>
<form method="post"><button name="action" value="pilot-off">Autopilot off</button></form>{{else}}
<form method="post" autocomplete="off"><select name="testcard">{{range $.Cards}}<option value="{{.Value}}">{{.NN}} {{.Brand}} {{.Masked}} · {{.Outcome}}</option>{{end}}</select> after <input name="delay" value="5s" size="5"> tip <input name="tip_amount" size="6"><button name="action" value="pilot-on">Autopilot on</button></form>{{end}}
</div></div>
` + live.Script + `
</body></html>`))

var terminalsTmpl = template.Must(template.New("terminals").Funcs(template.FuncMap{"pathesc": url.PathEscape}).Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>Terminals · pspsim CodePay</title><style>` + pageStyle + `</style></head><body>
<h1>CodePay terminals</h1>
<table id="terminals"><tr><th>terminal</th><th>merchant · store</th><th>state</th><th>on screen</th><th>queue</th></tr>
{{range .}}<tr><td><a href="terminals/{{pathesc .SN}}">{{.SN}}</a></td><td>{{range .Merchants}}{{.MerchantNo}} · {{.StoreNo}} {{end}}</td><td>{{if .Online}}online{{else}}offline{{end}}</td>
<td>{{with .Screen}}{{.MerchantOrderNo}} {{.TransAmount}} {{.Currency}} · {{.Step}}{{else}}idle{{end}}</td><td>{{len .Queue}}</td></tr>
{{else}}<tr><td colspan="5">No terminal: add them to a merchant's stores (fixtures, --config, PUT /_sim/codepay/merchants/{merchantNo}).</td></tr>{{end}}
</table></body></html>`))

// testCardChoice is a TESTCARDS row as a one-click choice on the terminal:
// the button sends the row and brand, never the number, so the page holds
// no card number but the masked one.
type testCardChoice struct {
	Value, NN, Brand, Masked, Outcome, Title string
}

// terminalWallets are the wallet QR codes a terminal can scan.
var terminalWallets = []string{"Alipay+", "WeChat Pay", "UnionPay"}

// testCardChoices lists the TESTCARDS rows (Visa and Mastercard) for a
// card-present payment: the 3-D Secure columns do not apply at a terminal.
func testCardChoices() []testCardChoice {
	cards, err := fixtures.TestCards()
	if err != nil {
		return nil
	}
	var out []testCardChoice
	for _, c := range cards.Cards {
		for _, b := range []struct{ brand, number string }{{"Visa", c.Visa}, {"Mastercard", c.Mastercard}} {
			outcome := c.Outcome
			if c.DeclineReason != "" {
				outcome += ": " + c.DeclineReason
			}
			out = append(out, testCardChoice{Value: c.NN + ":" + strings.ToLower(b.brand), NN: c.NN, Brand: b.brand, Masked: pan.Mask(b.number),
				Outcome: outcome, Title: c.Note})
		}
	}
	return out
}

// testCardNumber resolves a choice ("06:visa") to its number.
func testCardNumber(choice string) (string, bool) {
	nn, brand, ok := strings.Cut(choice, ":")
	cards, err := fixtures.TestCards()
	if !ok || err != nil {
		return "", false
	}
	for _, c := range cards.Cards {
		if c.NN == nn {
			if brand == "mastercard" {
				return c.Mastercard, true
			}
			return c.Visa, true
		}
	}
	return "", false
}

// pageError answers a buyer's or terminal's page that could not be shown:
// 404 absent when the object is not there (err nil: it is, but not of the
// page's kind), 503 when the store did not answer (the page may be
// reloaded), 500 otherwise. The cause goes to the log, never to the page.
func (s *System) pageError(w http.ResponseWriter, err error, absent string) {
	e := apierr.Wrap(err)
	switch {
	case err == nil || isNotFound(err) || e.Kind == apierr.NotFound:
		http.Error(w, absent, http.StatusNotFound)
	case e.Kind == apierr.Unavailable:
		s.env.Log.Error("codepay: a page could not be read", "error", err)
		http.Error(w, e.Message, http.StatusServiceUnavailable)
	default:
		s.env.Log.Error("codepay: a page could not be read", "error", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
	}
}

func (s *System) terminalPage(w http.ResponseWriter, r *http.Request) {
	v, err := s.terminalView(r.Context(), r.PathValue("sn"))
	if err != nil {
		s.pageError(w, err, "no such terminal")
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	terminalTmpl.Execute(w, map[string]any{"V": v, "Msg": r.URL.Query().Get("msg"), "Cards": testCardChoices(), "Wallets": terminalWallets})
}

// terminalsPage lists every terminal with a link to its screen.
func (s *System) terminalsPage(w http.ResponseWriter, r *http.Request) {
	list, err := s.ListTerminals(r.Context())
	if err != nil {
		http.Error(w, "the terminals could not be read", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	terminalsTmpl.Execute(w, list)
}

// terminalLive tells an open terminal page that its terminal changed (an
// order pushed, paid, cancelled; online or offline), so it redraws itself.
func (s *System) terminalLive(w http.ResponseWriter, r *http.Request) {
	sn := r.PathValue("sn")
	if _, err := s.terminals.Get(r.Context(), sn); err != nil {
		s.pageError(w, err, "no such terminal")
		return
	}
	live.Stream(w, r, s.env.Journal, journal.Filter{System: Name, IDs: map[string]string{"terminal_sn": sn}}, s.env.Done)
}

func (s *System) terminalForm(w http.ResponseWriter, r *http.Request) {
	sn := r.PathValue("sn")
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	f := r.PostForm
	var err error
	msg := "done: " + f.Get("action")
	card := strings.ReplaceAll(f.Get("card"), " ", "")
	if choice := f.Get("testcard"); choice != "" {
		n, ok := testCardNumber(choice)
		if !ok {
			err = apierr.Field(apierr.Invalid, "testcard", "enum", "no test card %q", choice)
		}
		card = n
	}
	switch {
	case err != nil:
	case f.Get("action") == "pilot-on":
		d, perr := parseDuration(f.Get("delay"))
		if perr != nil {
			err = apierr.Field(apierr.Invalid, "delay", "duration", "%v", perr)
			break
		}
		_, err = s.SetAutopilot(r.Context(), sn, &Autopilot{Card: card, Delay: d, Tip: f.Get("tip_amount"), Sign: true, Approve: true})
	case f.Get("action") == "pilot-off":
		_, err = s.SetAutopilot(r.Context(), sn, nil)
	default:
		_, err = s.Act(r.Context(), sn, Action{Kind: f.Get("action"), TransNo: f.Get("trans_no"), Tip: f.Get("tip_amount"),
			Card: card, Wallet: f.Get("wallet")})
	}
	if err != nil {
		var ae *apierr.Error
		msg = "refused"
		if errors.As(err, &ae) {
			msg = ae.Message
		}
	}
	// Relative: the page is wherever the simulator is served.
	http.Redirect(w, r, url.PathEscape(sn)+"?msg="+url.QueryEscape(msg), http.StatusSeeOther)
}

var checkoutTmpl = template.Must(template.New("checkout").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>CodePay checkout · {{.T.MerchantOrderNo}}</title><style>` + pageStyle + `</style></head><body>
<h1>CodePay checkout</h1>
<p>{{.T.Description}} · order {{.T.MerchantOrderNo}}</p>
<p class="amount">{{.Amount}} {{.T.Currency}}</p>
{{if .Items}}<table id="items"><tr><th>item</th><th>qty</th><th>unit price</th><th>amount</th></tr>{{range .Items}}<tr><td>{{.Name}}</td><td>{{.Quantity}}</td><td>{{.UnitPrice}}</td><td>{{.Amount}}</td></tr>{{end}}</table>
{{if .Mismatch}}<p class="msg" id="items-mismatch">{{.Mismatch}}</p>{{end}}{{end}}
{{if .Msg}}<p class="msg">{{.Msg}}</p>{{end}}
{{if .Payable}}
{{if .Card}}<h2>Pay by card</h2>
<form method="post" autocomplete="off"><input type="hidden" name="action" value="card">
<p><input name="pan" placeholder="card number" size="22" inputmode="numeric" required></p>
<p><input name="expiry" placeholder="MM/YY" size="6" required> <input name="cvv" placeholder="CVV" size="4"> <input name="holder" placeholder="name on card" size="20"></p>
<p><button>Pay {{.Amount}} {{.T.Currency}}</button></p></form>{{end}}
{{range .Wallets}}<form method="post"><input type="hidden" name="action" value="wallet"><button name="wallet" value="{{.}}">Pay with {{.}}</button></form>{{end}}
<form method="post"><button name="action" value="cancel">Cancel and return to the shop</button></form>
{{else}}<p>Status: <b>{{.Status}}</b>{{if .T.CardMasked}} · card {{.T.CardMasked}}{{end}}</p>
{{if .T.ReturnURL}}<p><a href="{{.Return}}">Return to the shop</a></p>{{end}}{{end}}
</body></html>`))

type itemView struct {
	Name      string      `json:"name"`
	Quantity  json.Number `json:"quantity"`
	UnitPrice json.Number `json:"unit_price"`
	Amount    json.Number `json:"amount"`
}

// itemsMismatch says, for the buyer and the merchant's developer, where
// order_detail's items disagree with the order: lines whose unit_price ×
// quantity is not their amount, and items whose amounts do not add up to
// order_amount (CodePay's seed sample itself sends 350.69 of items for an
// order of 150.34). CodePay charges order_amount; the page says so rather
// than refuse the checkout (the documents set no such rule). "" when they
// agree or cannot be read.
func itemsMismatch(items []itemView, total int64, currency string) string {
	var sum int64
	var notes []string
	for _, it := range items {
		amount, err := money.Parse(it.Amount.String(), currency)
		if err != nil {
			return ""
		}
		sum += amount
		if it.UnitPrice == "" || it.Quantity == "" {
			continue
		}
		unit, err1 := money.Parse(it.UnitPrice.String(), currency)
		qty, err2 := it.Quantity.Int64()
		if err1 == nil && err2 == nil && unit*qty != amount {
			notes = append(notes, fmt.Sprintf("%s: %d × %s is %s, not %s", it.Name, qty, it.UnitPrice, fmtAmount(unit*qty, currency), it.Amount))
		}
	}
	if sum != total {
		notes = append([]string{fmt.Sprintf("The items add up to %s %s, not the order total %s %s; the order total is what is charged", fmtAmount(sum, currency), currency, fmtAmount(total, currency), currency)}, notes...)
	}
	return strings.Join(notes, "; ")
}

// checkoutOptions reads order_detail's items and payment options: card
// unless disallowed, and the wallets allowed (Alipay+ when none is named).
func checkoutOptions(detail []byte) (items []itemView, cardOK bool, wallets []string) {
	var d struct {
		Data struct {
			Items   []itemView `json:"items"`
			Payment struct {
				Allow    json.RawMessage `json:"allow_options"`
				Disallow json.RawMessage `json:"disallow_options"`
			} `json:"payment"`
		} `json:"data"`
	}
	cardOK = true
	if len(detail) > 0 {
		dec := json.NewDecoder(strings.NewReader(string(detail)))
		dec.UseNumber()
		dec.Decode(&d)
	}
	list := func(raw json.RawMessage) []string {
		var out []string
		if json.Unmarshal(raw, &out) == nil {
			return out
		}
		var text string
		if json.Unmarshal(raw, &text) == nil {
			json.Unmarshal([]byte(text), &out)
		}
		return out
	}
	allow, disallow := list(d.Data.Payment.Allow), list(d.Data.Payment.Disallow)
	banned := map[string]bool{}
	for _, o := range disallow {
		banned[strings.ToLower(strings.TrimSpace(o))] = true
	}
	if len(allow) == 0 {
		allow = []string{"Card", "Alipay+"}
	}
	for _, o := range allow {
		o = strings.TrimSpace(o)
		switch {
		case banned[strings.ToLower(o)]:
		case strings.EqualFold(o, "Card"):
		default:
			wallets = append(wallets, o)
		}
	}
	cardOK = !banned["card"] && slices.Contains(lower(allow), "card")
	return d.Data.Items, cardOK, wallets
}

func lower(in []string) []string {
	out := make([]string, len(in))
	for i, v := range in {
		out[i] = strings.ToLower(strings.TrimSpace(v))
	}
	return out
}

func (s *System) renderCheckout(w http.ResponseWriter, r *http.Request, transNo, msg string) {
	t, err := s.txns.Get(r.Context(), transNo)
	if err != nil || t.Channel != ChannelHosted {
		s.pageError(w, err, "no such checkout")
		return
	}
	items, cardOK, wallets := checkoutOptions(t.OrderDetail)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	checkoutTmpl.Execute(w, map[string]any{
		"T": t, "Amount": fmtAmount(t.Amount, t.Currency), "Items": items, "Card": cardOK, "Wallets": wallets, "Msg": msg,
		"Mismatch": itemsMismatch(items, t.Amount, t.Currency),
		"Payable":  t.Status == StatusCreated, "Status": t.Status.String(), "Return": template.URL(returnURL(&t)),
	})
}

func (s *System) checkoutPage(w http.ResponseWriter, r *http.Request) {
	s.renderCheckout(w, r, r.PathValue("transNo"), r.URL.Query().Get("msg"))
}

func (s *System) checkoutForm(w http.ResponseWriter, r *http.Request) {
	transNo := r.PathValue("transNo")
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	f := r.PostForm
	var t Txn
	var err error
	switch f.Get("action") {
	case "card":
		var aerr *apierr.Error
		t, aerr = s.payHosted(r.Context(), transNo, f.Get("pan"), f.Get("expiry"), f.Get("cvv"), f.Get("holder"))
		if aerr != nil {
			err = aerr
		}
	case "wallet":
		t, err = s.payHostedWallet(r.Context(), transNo, firstNonEmpty(f.Get("wallet"), "Alipay+"))
	case "cancel":
		t, err = s.cancelHosted(r.Context(), transNo)
	default:
		err = apierr.New(apierr.Invalid, "unknown action")
	}
	if err != nil {
		msg := "refused"
		var ae *apierr.Error
		if errors.As(err, &ae) {
			msg = ae.Message
		} else if u := apierr.Unavailability(err); u != nil {
			msg = u.Message
		}
		s.renderCheckout(w, r, transNo, msg)
		return
	}
	if t.Status == StatusProcessing && t.ThreeDS != nil && t.ThreeDS.Challenge != "" {
		http.Redirect(w, r, "../3ds/"+url.PathEscape(t.TransNo), http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, "../3ds/"+url.PathEscape(t.TransNo)+"/return", http.StatusSeeOther)
}

// threeDSRedirect sends the buyer to the challenge of a payment that awaits
// one; a payment past its challenge goes back to the merchant.
func (s *System) threeDSRedirect(w http.ResponseWriter, r *http.Request) {
	t, err := s.txns.Get(r.Context(), r.PathValue("transNo"))
	if err != nil || t.Instrument != InstrumentCardOnline {
		s.pageError(w, err, "no such payment")
		return
	}
	if t.Status == StatusProcessing && t.ThreeDS != nil && t.ThreeDS.Challenge != "" {
		http.Redirect(w, r, t.ThreeDS.Challenge, http.StatusSeeOther)
		return
	}
	s.returnToMerchant(w, r)
}

// returnURL is the merchant's return_url with the order's numbers added, so
// the merchant knows which order to query (it must query: the redirect is
// no proof of payment).
func returnURL(t *Txn) string {
	u, err := url.Parse(t.ReturnURL)
	if err != nil || t.ReturnURL == "" {
		return ""
	}
	q := u.Query()
	q.Set("merchant_order_no", t.MerchantOrderNo)
	q.Set("trans_no", t.TransNo)
	u.RawQuery = q.Encode()
	return u.String()
}

var resultTmpl = template.Must(template.New("result").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>CodePay · {{.T.MerchantOrderNo}}</title><style>` + pageStyle + `</style></head><body>
<h1>CodePay</h1><p>Order {{.T.MerchantOrderNo}}: <b>{{.Status}}</b>{{if .T.CardMasked}} · card {{.T.CardMasked}}{{end}}</p>
<p>The merchant gave no return_url; it learns the result from its notification or order.query.</p></body></html>`))

// returnToMerchant sends the buyer's browser back to the merchant's
// return_url once a payment is past its page or challenge.
func (s *System) returnToMerchant(w http.ResponseWriter, r *http.Request) {
	t, err := s.txns.Get(r.Context(), r.PathValue("transNo"))
	if err != nil || (t.Channel != ChannelHosted && t.Channel != ChannelMerchant) {
		s.pageError(w, err, "no such payment")
		return
	}
	s.record("checkout.returned", "buyer sent back to the merchant for "+t.MerchantOrderNo, &t, map[string]any{"trans_status": int(t.Status)})
	if u := returnURL(&t); u != "" {
		http.Redirect(w, r, u, http.StatusSeeOther)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	resultTmpl.Execute(w, map[string]any{"T": t, "Status": t.Status.String()})
}
