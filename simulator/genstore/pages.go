package genstore

import (
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"sort"
	"strings"

	"github.com/pspsim/pspsim/simulator/money"
	"github.com/pspsim/pspsim/simulator/store"
)

// ReturnPath is where a buyer comes back after a redirect (3-D Secure
// challenge, offsite page): paymentMethod.data.returnUrl of every Payment
// Object points here, under the simulator's base URL.
const ReturnPath = Prefix + "/checkouts/{shopId}/{paymentId}/return"

// Routes serves the buyer's return page beside the API (simulator.Router).
func (s *System) Routes(mux *http.ServeMux) {
	mux.HandleFunc("GET "+ReturnPath, s.returnPage)
}

// returnURL is the absolute return URL of a payment.
func (s *System) returnURL(p Payment) string {
	base := ""
	if s.env.BaseURL != nil {
		base = strings.TrimRight(s.env.BaseURL(), "/")
	}
	if base == "" {
		base = "http://127.0.0.1:7357"
	}
	path := strings.NewReplacer("{shopId}", p.ShopID, "{paymentId}", p.PaymentID).Replace(ReturnPath)
	return base + path
}

var returnTemplate = template.Must(template.New("return").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{.Title}}</title></head>
<body>
<main id="genstore-return" data-payment-id="{{.PaymentID}}" data-status="{{.Status}}">
<h1>{{.Title}}</h1>
<p>{{.Text}}</p>
{{if .Amount}}<p>Order {{.OrderNo}} · {{.Amount}}</p>{{end}}
</main>
</body></html>
`))

// returnPage records the buyer's return (the first one starts the 30-second
// deadline for the final result, CONTRACT.md §4) and shows the order's state.
func (s *System) returnPage(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	shopID, paymentID := r.PathValue("shopId"), r.PathValue("paymentId")
	now := s.env.Clock.Now()
	first := false
	p, err := s.payments.Update(ctx, paymentKey(shopID, paymentID), func(p *Payment) error {
		if p.Buyer.ReturnedAt != nil {
			return errUnchanged
		}
		p.Buyer.ReturnedAt = &now
		first = true
		return nil
	})
	data := struct{ Title, Text, PaymentID, Status, OrderNo, Amount string }{PaymentID: paymentID}
	status := http.StatusOK
	if errors.Is(err, errUnchanged) {
		p, err = s.payments.Get(ctx, paymentKey(shopID, paymentID))
	}
	switch {
	case errors.Is(err, store.ErrNotFound):
		status = http.StatusNotFound
		data.Title, data.Text = "Unknown order", "No payment "+paymentID+" in this shop."
	case err != nil:
		// Not "unknown order": the store did not answer, the buyer may
		// reload the page.
		status = http.StatusServiceUnavailable
		data.Title, data.Text = "Please try again", "The shop could not load payment "+paymentID+" just now: reload this page."
		s.env.Log.Error("genstore: return page", "paymentId", paymentID, "error", err)
	default:
		data.Status, data.OrderNo = p.Status.Code(), p.OutOrderNo
		data.Amount = money.Format(p.Amount, p.Currency) + " " + p.Currency
		switch p.Status {
		case StatusSuccess, StatusAuthSuccess:
			data.Title, data.Text = "Thank you for your order", "Your payment is confirmed."
		case StatusFailure, StatusAuthVoid:
			data.Title, data.Text = "Payment not completed", "Your payment did not go through."
			if p.Result != nil && p.Result.Reason != "" {
				data.Text += " " + p.Result.Reason
			}
		default:
			data.Title, data.Text = "Payment processing", "We are waiting for the result of your payment."
		}
		if first {
			s.record("buyer.returned", fmt.Sprintf("the buyer is back from the redirect of payment %s (status %s); the final result is due within %s", paymentID, p.Status.Code(), s.settings.ResultDeadline.Std()),
				p.ids(KindPayment, paymentID), map[string]any{"query": queryKeys(r), "status": p.Status.Code()})
			if p.Result == nil {
				s.scheduleDeadline(p, KindPayment, paymentID, true)
			}
		}
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	returnTemplate.Execute(w, data)
}

// queryKeys lists the names (not values: they may be tokens) of the query
// parameters the PSP or app added to the return URL.
func queryKeys(r *http.Request) []string {
	keys := []string{}
	for k := range r.URL.Query() {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
