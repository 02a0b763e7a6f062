package genstore_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/pspsim/pspsim/simulator/genstore"
	"github.com/pspsim/pspsim/simulator/genstore/genstoretest"
	"github.com/pspsim/pspsim/simulator/simtest"
)

// challengePage is a 3-D Secure challenge page following the contract the
// 3-D Secure simulator (issue 5) and Genstore's buyer share: a
// form#pspsim-challenge posting otp and action, answered by a 303 to the
// return URL. It sets a session cookie and a hidden field, which a browser
// must send back.
type challengePage struct {
	srv      *httptest.Server
	mu       sync.Mutex
	returnTo string
	posted   []url.Values
	cookies  []bool
	status   int // answer to the post; 303 when 0
}

func newChallengePage(t *testing.T) *challengePage {
	c := &challengePage{}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /acs/challenge", func(w http.ResponseWriter, r *http.Request) {
		http.SetCookie(w, &http.Cookie{Name: "acs_session", Value: "abc", Path: "/"})
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, `<!DOCTYPE html><html><head><title>Verify your payment</title></head><body>
<FORM method='POST' id="pspsim-challenge" action="/acs/challenge/answer?tx=7">
  <input type="hidden" name="threeDSSessionData" value="eyJ0eCI6N30=">
  <label>Code <input name="otp" autocomplete="one-time-code"></label>
  <button type="submit" name="action" value="submit">Submit</button>
  <button type="submit" name="action" value="cancel">Cancel</button>
</FORM></body></html>`)
	})
	mux.HandleFunc("POST /acs/challenge/answer", func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		_, err := r.Cookie("acs_session")
		c.mu.Lock()
		c.posted = append(c.posted, r.PostForm)
		c.cookies = append(c.cookies, err == nil)
		to, status := c.returnTo, c.status
		c.mu.Unlock()
		if status != 0 {
			w.WriteHeader(status)
			return
		}
		http.Redirect(w, r, to+"?transStatus=Y", http.StatusSeeOther)
	})
	c.srv = httptest.NewServer(mux)
	t.Cleanup(c.srv.Close)
	return c
}

// challenged creates a payment the app acknowledges with a redirect to the
// challenge page, and points the page's 303 at the payment's returnUrl.
func (e *env) challenged(c *challengePage) string {
	e.t.Helper()
	e.app.Queue(genstore.KindPayment, genstoretest.Reply{Redirect: c.srv.URL + "/acs/challenge"})
	v := e.pay(map[string]any{"amount": "10.00", "card": map[string]any{"number": "4000123456000068"}})
	c.mu.Lock()
	c.returnTo = str(v["returnUrl"])
	c.mu.Unlock()
	if simtest.Field(v, "ack.redirectUrl") != c.srv.URL+"/acs/challenge" {
		e.t.Fatalf("ack %v", v["ack"])
	}
	return str(v["paymentId"])
}

func TestBuyerCompletesTheChallenge(t *testing.T) {
	e := setup(t)
	c := newChallengePage(t)
	id := e.challenged(c)
	base := "/_sim/genstore/shops/" + testShop + "/payments/" + id + "/buyer/"
	page := e.admin("POST", base+"redirect", nil, 200)
	if page["challenge"] != true || page["title"] != "Verify your payment" || page["returned"] != false {
		t.Fatalf("redirect page: %v", page)
	}
	out := e.admin("POST", base+"challenge", map[string]any{"otp": "123456"}, 200)
	if out["challengeStatus"] != float64(303) || out["returned"] != true || !strings.HasPrefix(str(out["location"]), e.h.URL+"/genstore/checkouts/") {
		t.Fatalf("challenge: %v", out)
	}
	if simtest.Field(out, "final.status") != float64(200) || simtest.Field(out, "final.title") != "Payment processing" {
		t.Fatalf("final page: %v", out["final"])
	}
	c.mu.Lock()
	posted, cookie := c.posted[0], c.cookies[0]
	c.mu.Unlock()
	if posted.Get("otp") != "123456" || posted.Get("action") != "submit" || posted.Get("threeDSSessionData") != "eyJ0eCI6N30=" || !cookie {
		t.Fatalf("posted %v, cookie %t", posted, cookie)
	}
	v := e.payment(id)
	if simtest.Field(v, "buyer.challenge") != "submitted" || simtest.Field(v, "buyer.returnedAt") == nil {
		t.Fatalf("buyer %v", v["buyer"])
	}
	ev := e.events("buyer", id)
	var kinds []string
	for _, x := range ev {
		kinds = append(kinds, x.Kind)
	}
	if strings.Join(kinds, ",") != "buyer.redirect_followed,buyer.challenge_submitted,buyer.returned" {
		t.Fatalf("buyer events %v", kinds)
	}
	if strings.Contains(fmt.Sprint(ev[1].Data), "123456") {
		t.Fatal("the OTP is in the journal")
	}
}

func TestBuyerAbandonsTheChallenge(t *testing.T) {
	e := setup(t)
	c := newChallengePage(t)
	id := e.challenged(c)
	out := e.admin("POST", "/_sim/genstore/shops/"+testShop+"/payments/"+id+"/buyer/challenge", map[string]any{"action": "cancel"}, 200)
	c.mu.Lock()
	posted := c.posted[0]
	c.mu.Unlock()
	if out["returned"] != true || posted.Get("action") != "cancel" || posted.Get("otp") != "" {
		t.Fatalf("cancel: %v posted %v", out, posted)
	}
	if simtest.Field(e.payment(id), "buyer.challenge") != "cancelled" {
		t.Fatal("not recorded as cancelled")
	}
}

func TestBuyerActionsRefuseWhatTheyCannotDo(t *testing.T) {
	e := setup(t)
	c := newChallengePage(t)
	plain := str(e.pay(map[string]any{"amount": "1.00"})["paymentId"])
	e.app.Queue(genstore.KindPayment, genstoretest.Reply{Redirect: e.h.URL + "/_sim/health"})
	notChallenge := str(e.pay(map[string]any{"amount": "1.00"})["paymentId"])
	broken := e.challenged(c)
	c.mu.Lock()
	c.status = http.StatusOK
	c.mu.Unlock()
	for _, x := range []struct {
		id, action string
		body       map[string]any
		status     int
		says       string
	}{
		{plain, "redirect", nil, 409, "no redirectUrl"},
		{plain, "challenge", map[string]any{"otp": "1"}, 409, "no redirectUrl"},
		{notChallenge, "challenge", map[string]any{"otp": "1"}, 409, "not a pspsim challenge page"},
		{broken, "challenge", map[string]any{"otp": "123456"}, 409, "not the 303"},
		{broken, "challenge", map[string]any{}, 400, "otp"},
		{broken, "challenge", map[string]any{"otp": "1", "action": "later"}, 400, "action"},
		{"PI404", "redirect", nil, 404, "paymentId"},
	} {
		r := e.h.Do("POST", "/_sim/genstore/shops/"+testShop+"/payments/"+x.id+"/buyer/"+x.action, x.body)
		if r.Status != x.status || !strings.Contains(string(r.Body), x.says) {
			t.Errorf("%s %s %v: %d %s", x.id, x.action, x.body, r.Status, r.Body)
		}
	}
	// An offsite page that is not a challenge: the browser just opens it.
	page := e.admin("POST", "/_sim/genstore/shops/"+testShop+"/payments/"+notChallenge+"/buyer/redirect", nil, 200)
	if page["challenge"] != false || page["status"] != float64(200) {
		t.Fatalf("%v", page)
	}
	if r := e.h.Do("GET", "/genstore/checkouts/"+testShop+"/PI404/return", nil); r.Status != 404 || !strings.Contains(string(r.Body), "Unknown order") {
		t.Fatalf("return page of an unknown payment: %d", r.Status)
	}
}

// TestBuyerOnTheTestAppsChallengePage: the scripted app's own challenge
// page (used by the Gherkin steps) follows the same contract.
func TestBuyerOnTheTestAppsChallengePage(t *testing.T) {
	e := setup(t)
	e.app.Queue(genstore.KindPayment, genstoretest.Reply{Challenge: true})
	id := str(e.pay(map[string]any{"amount": "10.00"})["paymentId"])
	out := e.admin("POST", "/_sim/genstore/shops/"+testShop+"/payments/"+id+"/buyer/challenge", map[string]any{"otp": "000000"}, 200)
	ch := e.app.Challenges()
	if out["returned"] != true || len(ch) != 1 || ch[0] != (genstoretest.Challenge{PaymentID: id, OTP: "000000", Action: "submit"}) {
		t.Fatalf("%v %v", out, ch)
	}
}
