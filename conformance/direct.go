package conformance

// The suite's own requests to the app, not through Genstore: it plays Genstore
// (a signed query, a Payment Object for an id Genstore never issued) or a
// forger (an hmac that does not verify), and keeps the app's raw answer to
// judge it against genstore-app.yaml.

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/pspsim/pspsim/simulator/ecies"
	"github.com/pspsim/pspsim/simulator/genstore"
	"github.com/pspsim/pspsim/simulator/pan"
)

// answer is an app's answer to a request the suite sent it directly.
type answer struct {
	what   string
	status int
	body   []byte
	err    error
}

// describe renders a direct answer as evidence (card numbers masked).
func (a *answer) describe() string {
	if a.err != nil && a.status == 0 {
		return fmt.Sprintf("%s: no answer (%v)", a.what, a.err)
	}
	return fmt.Sprintf("%s: the app answered HTTP %d %s", a.what, a.status, pan.Scrub(clip(a.body, 300)))
}

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

// send is h.send for a scenario: the answer is kept, so that the end of the
// scenario searches it for the scenario's cards (it never passed through the
// simulator's canary checks).
func (w *world) send(ctx context.Context, what, method, target string, header http.Header, body []byte) *answer {
	a := w.h.send(ctx, what, method, target, header, body)
	w.answers = append(w.answers, a)
	return a
}

// signedURL is one of the app's URLs signed as Genstore signs it, at a chosen
// time (a stale or future one to test the window), with extra parameters.
func (w *world) signedURL(raw string, at time.Time, extra ...string) (string, error) {
	return genstore.SignURL(raw, w.h.App.ClientSecret, w.shopName, w.shopID, at, extra...)
}

// directPayment sends the app a Payment Object for an id Genstore never
// issued, signed at the given offset from now (wall time, as apps check).
func (w *world) directPayment(ctx context.Context, offset time.Duration) error {
	card, err := w.testCard("Visa", "00")
	if err != nil {
		return err
	}
	if err := w.registerCard(ctx, card); err != nil {
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
	w.direct = w.send(ctx, fmt.Sprintf("a payment request signed %s", offsetText(offset)), "POST", u, hdr, body)
	return nil
}

func offsetText(d time.Duration) string {
	if d < 0 {
		return (-d).String() + " ago"
	}
	return d.String() + " from now"
}

// ask sends the app a signed query about an id.
func (w *world) ask(ctx context.Context, kind, id string, forged bool) (*queryCheck, error) {
	u, path, err := w.queryURL(kind, id, forged)
	if err != nil {
		return nil, err
	}
	what := fmt.Sprintf("the query about %s %s", kind, id)
	if forged {
		what += " with a forged hmac"
	}
	a := w.send(ctx, what, "GET", u, nil, nil)
	w.query = &queryCheck{kind: kind, id: id, path: path, ans: *a}
	return w.query, nil
}

// queryURL is an app query URL signed for the scenario's shop.
func (w *world) queryURL(kind, id string, forged bool) (string, string, error) {
	raw, path := w.h.App.Endpoints.PaymentQueryURL, "/payment_query"
	if kind == genstore.KindRefund {
		raw, path = w.h.App.Endpoints.RefundQueryURL, "/refund_query"
	}
	u, err := w.signedURL(raw, time.Now(), kind+"Id", id)
	if err != nil {
		return "", "", err
	}
	if forged {
		pu, _ := url.Parse(u)
		q := pu.Query()
		q.Set("hmac", forge(q.Get("hmac")))
		pu.RawQuery = q.Encode()
		u = pu.String()
	}
	return u, path, nil
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
