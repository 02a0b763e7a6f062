package threeds

import (
	"errors"
	"html/template"
	"net/http"
	"time"

	"github.com/pspsim/pspsim/simulator/money"
	"github.com/pspsim/pspsim/simulator/mountpath"
	"github.com/pspsim/pspsim/simulator/store"
)

// Routes serves the challenge page:
//
//	GET  /3ds/challenge/{acsTransId}  the page: merchant, amount, masked card, an OTP form
//	POST /3ds/challenge/{acsTransId}  the form: otp + action=submit|cancel → 303 to the return URL
//
// The form is a contract other parts of pspsim (the Genstore buyer, Gherkin
// steps) rely on: <form id="pspsim-challenge" method="post">, an input named
// otp, submit buttons named action with values submit and cancel.
func (s *Service) Routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /3ds/challenge/{acsTransId}", s.challengePage)
	mux.HandleFunc("POST /3ds/challenge/{acsTransId}", s.challengePost)
}

// pageData is everything a challenge page shows. It holds no card data but
// the masked number.
type pageData struct {
	ACSTransID   string
	Action       string // where the form posts: this page, under the simulator's mount path
	Merchant     string
	Amount       string
	MaskedPAN    string
	Brand        string
	Status       string
	Final        bool
	Message      string
	AttemptsLeft int
	ReturnURL    string
	ExpiresAt    string
}

var challengeTmpl = template.Must(template.New("challenge").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>3-D Secure – pspsim</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{font-family:system-ui,sans-serif;max-width:28rem;margin:3rem auto;padding:0 1rem;color:#222}
.box{border:1px solid #ccc;border-radius:8px;padding:1.5rem}dt{color:#666;font-size:.85rem}dd{margin:0 0 .75rem}
input{font-size:1.2rem;letter-spacing:.2rem;width:8rem;padding:.3rem}button{margin:.75rem .5rem 0 0;padding:.4rem 1rem}
.msg{color:#a00}.hint{color:#666;font-size:.8rem}</style></head>
<body><div class="box">
<h1>Verify your payment</h1>
<p>Simulated issuer authentication (EMV 3-D Secure {{.Brand}}).</p>
<dl><dt>Merchant</dt><dd>{{.Merchant}}</dd><dt>Amount</dt><dd>{{.Amount}}</dd><dt>Card</dt><dd>{{.MaskedPAN}}</dd></dl>
{{if .Final}}
<p id="pspsim-challenge-result" data-trans-status="{{.Status}}">{{.Message}}</p>
<p><a id="pspsim-challenge-continue" href="{{.ReturnURL}}">Continue</a></p>
{{else}}
{{if .Message}}<p class="msg">{{.Message}}</p>{{end}}
<form id="pspsim-challenge" method="post" action="{{.Action}}">
<label for="otp">One-time code sent to your phone</label><br>
<input id="otp" name="otp" inputmode="numeric" autocomplete="one-time-code" maxlength="12" autofocus>
<br><button type="submit" name="action" value="submit">Submit</button>
<button type="submit" name="action" value="cancel" formnovalidate>Cancel</button>
</form>
<p class="hint">Sandbox: 123456 passes, 000000 fails, Cancel abandons. The page expires at {{.ExpiresAt}}.</p>
{{end}}
</div></body></html>
`))

func (s *Service) pageOf(r *http.Request, t Transaction, msg string) pageData {
	d := pageData{
		ACSTransID: t.ACSTransID, Action: mountpath.Join(r, "/3ds/challenge/"+t.ACSTransID), Merchant: t.MerchantName, Amount: money.Format(t.Amount, t.Currency) + " " + t.Currency,
		MaskedPAN: t.MaskedPAN, Brand: t.Brand, Status: t.TransStatus, Final: t.Final, Message: msg,
		AttemptsLeft: MaxOTPAttempts - t.OTPAttempts, ReturnURL: t.ReturnURL,
	}
	if d.Merchant == "" {
		d.Merchant = t.Merchant
	}
	if t.ExpiresAt != nil {
		d.ExpiresAt = t.ExpiresAt.UTC().Format(time.RFC3339)
	}
	if t.Final && msg == "" {
		d.Message = "Authentication finished (" + t.TransStatus + ")."
	}
	return d
}

func (s *Service) render(w http.ResponseWriter, status int, d pageData) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	challengeTmpl.Execute(w, d)
}

func (s *Service) challengeTxn(w http.ResponseWriter, r *http.Request) (Transaction, bool) {
	id := r.PathValue("acsTransId")
	t, err := s.txns.Lookup(r.Context(), "acs/"+id)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		// The store did not answer: the buyer may reload the page.
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusServiceUnavailable)
		w.Write([]byte("<!doctype html><title>Try again</title><p>" + store.UnavailableMessage + ".</p>"))
		return Transaction{}, false
	}
	if err != nil || t.Flow != FlowChallenge {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusNotFound)
		w.Write([]byte("<!doctype html><title>Not found</title><p>No 3-D Secure challenge with this id.</p>"))
		return Transaction{}, false
	}
	return t, true
}

func (s *Service) challengePage(w http.ResponseWriter, r *http.Request) {
	t, ok := s.challengeTxn(w, r)
	if !ok {
		return
	}
	s.render(w, http.StatusOK, s.pageOf(r, t, ""))
}

func (s *Service) challengePost(w http.ResponseWriter, r *http.Request) {
	t, ok := s.challengeTxn(w, r)
	if !ok {
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		s.render(w, http.StatusBadRequest, s.pageOf(r, t, "The form could not be read."))
		return
	}
	if t.Final {
		// A second submit (a double click, a retry) goes where the first went.
		http.Redirect(w, r, t.ReturnURL, http.StatusSeeOther)
		return
	}
	action := r.PostForm.Get("action")
	if action == "" {
		action = "submit"
	}
	if action != "submit" && action != "cancel" {
		s.render(w, http.StatusBadRequest, s.pageOf(r, t, "Unknown action: use Submit or Cancel."))
		return
	}
	res, err := s.Complete(r.Context(), t.ACSTransID, Completion{Action: action, OTP: r.PostForm.Get("otp")})
	var wrong *WrongOTPError
	switch {
	case errors.As(err, &wrong):
		t.OTPAttempts = MaxOTPAttempts - wrong.AttemptsLeft
		s.render(w, http.StatusOK, s.pageOf(r, t, wrong.Error()+"."))
		return
	case err != nil && !errors.Is(err, ErrNotPending):
		s.render(w, http.StatusInternalServerError, s.pageOf(r, t, "The authentication could not be completed; try again."))
		return
	}
	_ = res
	http.Redirect(w, r, t.ReturnURL, http.StatusSeeOther)
}
