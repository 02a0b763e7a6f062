package threeds_test

import (
	"context"
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pspsim/pspsim/fixtures"
	"github.com/pspsim/pspsim/simulator/clock"
	"github.com/pspsim/pspsim/simulator/ids"
	"github.com/pspsim/pspsim/simulator/journal"
	"github.com/pspsim/pspsim/simulator/pan"
	"github.com/pspsim/pspsim/simulator/store"
	"github.com/pspsim/pspsim/simulator/threeds"
)

var start = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

type env struct {
	svc   *threeds.Service
	clock *clock.Sim
	jr    *journal.Journal
	srv   *httptest.Server
}

func newEnv(t *testing.T) *env {
	t.Helper()
	c := clock.NewSim(start)
	j := journal.New(c, 0)
	e := &env{clock: c, jr: j}
	e.srv = httptest.NewServer(nil)
	t.Cleanup(e.srv.Close)
	svc, err := threeds.New(threeds.Options{Clock: c, Store: store.NewMemory(), Journal: j, IDs: ids.New(7), BaseURL: func() string { return e.srv.URL }})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	svc.Routes(mux)
	e.srv.Config.Handler = mux
	e.svc = svc
	return e
}

func req(card string) threeds.Request {
	return threeds.Request{System: "test", MerchantID: "M1", MerchantName: "Shop", Reference: "T1", CardNumber: card,
		Amount: 1999, Currency: "USD", ReturnURL: "https://merchant.example/return?o=1"}
}

var uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestAuthenticationValueIsTwentyBytesAndDeterministic(t *testing.T) {
	a := threeds.AuthenticationValue("6f1d2a3b-4c5d-4e6f-8a9b-0c1d2e3f4a5b")
	b, err := base64.StdEncoding.DecodeString(a)
	if err != nil || len(b) != 20 {
		t.Fatalf("%q: %d bytes, %v", a, len(b), err)
	}
	if a != threeds.AuthenticationValue("6f1d2a3b-4c5d-4e6f-8a9b-0c1d2e3f4a5b") || a == threeds.AuthenticationValue("other") {
		t.Fatal("not a function of the dsTransID")
	}
	if !threeds.ValidAuthenticationValueShape(a) || threeds.ValidAuthenticationValueShape("a772a34d-d58a-4896-bf22-40b2af96eabd") {
		t.Fatal("shape check")
	}
}

func TestECIPerBrand(t *testing.T) {
	for _, c := range []struct{ brand, status, want string }{
		{"visa", "Y", "05"}, {"visa", "A", "06"}, {"visa", "N", "07"}, {"visa", "", "07"},
		{"mastercard", "Y", "02"}, {"mastercard", "A", "01"}, {"mastercard", "U", "00"}, {"mastercard", "R", "00"},
		{"amex", "Y", "05"},
	} {
		if got := threeds.ECI(c.brand, c.status); got != c.want {
			t.Errorf("ECI(%s, %s) = %s, want %s", c.brand, c.status, got, c.want)
		}
	}
}

// TestEveryRowAuthenticates runs Authenticate on both numbers of every row
// of the test card table and checks the immediate answer.
func TestEveryRowAuthenticates(t *testing.T) {
	cards, _ := fixtures.TestCards()
	e := newEnv(t)
	ctx := context.Background()
	for _, row := range cards.Cards {
		for brand, number := range map[string]string{"visa": row.Visa, "mastercard": row.Mastercard} {
			t.Run(row.NN+"/"+brand, func(t *testing.T) {
				res, err := e.svc.Authenticate(ctx, req(number))
				if err != nil {
					t.Fatal(err)
				}
				if !uuidRE.MatchString(res.ThreeDSServerTransID) || res.Version != threeds.Version || res.Brand != brand {
					t.Fatalf("%+v", res)
				}
				if strings.Contains(res.MaskedPAN, number[6:12]) || res.MaskedPAN[:6] != number[:6] {
					t.Fatalf("masked %q", res.MaskedPAN)
				}
				want := map[string]struct{ flow, status string }{
					"frictionless": {threeds.FlowFrictionless, row.ThreeDS.TransStatus}, "unavailable": {threeds.FlowFrictionless, "U"},
					"challenge": {threeds.FlowChallenge, "C"}, "challenge_abandoned": {threeds.FlowChallenge, "C"},
					"decoupled": {threeds.FlowDecoupled, "D"}, "not_enrolled": {threeds.FlowNotEnrolled, ""}, "ds_error": {threeds.FlowDSError, ""},
					"not_requested": {threeds.FlowFrictionless, "Y"}, "none": {threeds.FlowFrictionless, "Y"},
				}[row.ThreeDS.Flow]
				if res.Flow != want.flow || res.TransStatus != want.status {
					t.Fatalf("flow %s/%s, want %s/%s", res.Flow, res.TransStatus, want.flow, want.status)
				}
				switch res.Flow {
				case threeds.FlowDSError:
					if res.DSTransID != "" || res.ECI != "" || !res.Final {
						t.Fatalf("%+v", res)
					}
				case threeds.FlowNotEnrolled:
					if res.DSTransID != "" || res.ECI != row.ECIFor(brand) || res.LiabilityShift {
						t.Fatalf("%+v", res)
					}
				case threeds.FlowFrictionless:
					if !uuidRE.MatchString(res.DSTransID) || !uuidRE.MatchString(res.ACSTransID) || !res.Final {
						t.Fatalf("%+v", res)
					}
					if row.ThreeDS.Flow != "not_requested" && row.ECIFor(brand) != "" && res.ECI != row.ECIFor(brand) {
						t.Fatalf("ECI %s, want %s", res.ECI, row.ECIFor(brand))
					}
					if shift := res.TransStatus == "Y" || res.TransStatus == "A"; shift != res.LiabilityShift || shift != (res.AuthenticationValue == threeds.AuthenticationValue(res.DSTransID)) {
						t.Fatalf("%+v", res)
					}
					if res.TransStatusReason != row.ThreeDS.ReasonCode {
						t.Fatalf("reason %q, want %q", res.TransStatusReason, row.ThreeDS.ReasonCode)
					}
				case threeds.FlowChallenge:
					if res.Final || res.ChallengeURL != e.srv.URL+"/3ds/challenge/"+res.ACSTransID || res.AuthenticationValue != "" {
						t.Fatalf("%+v", res)
					}
				case threeds.FlowDecoupled:
					if res.Final || res.ExpiresAt == nil || !res.ExpiresAt.Equal(start.Add(30*time.Second)) {
						t.Fatalf("%+v", res)
					}
				}
			})
		}
	}
}

func TestAuthenticateRefusesBadInput(t *testing.T) {
	e := newEnv(t)
	for name, mod := range map[string]func(*threeds.Request){
		"luhn":     func(r *threeds.Request) { r.CardNumber = "4000123456000010" },
		"amount":   func(r *threeds.Request) { r.Amount = 0 },
		"currency": func(r *threeds.Request) { r.Currency = "XXX" },
		"return":   func(r *threeds.Request) { r.ReturnURL = "javascript:alert(1)" },
		"merchant": func(r *threeds.Request) { r.MerchantID = "" },
	} {
		r := req("4000123456000019")
		mod(&r)
		var inv *threeds.InvalidError
		if _, err := e.svc.Authenticate(context.Background(), r); !errors.As(err, &inv) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// noRedirect is a client that shows redirects instead of following them.
func noRedirect() *http.Client {
	return &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func TestChallengePageContract(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	var mu sync.Mutex
	var got []threeds.Result
	cases := []struct {
		name, card, action, otp string
		status, reason, eci     string
	}{
		{"pass", "4000123456000068", "submit", "123456", "Y", "", "05"},
		{"fail", "5100123456000072", "submit", "000000", "N", "01", "00"},
		{"cancel", "4000123456000084", "cancel", "", "U", "14", "07"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := req(c.card)
			r.Reference = "T-" + c.name
			r.OnComplete = func(_ context.Context, res threeds.Result) { mu.Lock(); got = append(got, res); mu.Unlock() }
			res, err := e.svc.Authenticate(ctx, r)
			if err != nil || res.TransStatus != "C" {
				t.Fatalf("%+v %v", res, err)
			}
			page, err := http.Get(res.ChallengeURL)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(page.Body)
			page.Body.Close()
			html := string(body)
			for _, want := range []string{`<form id="pspsim-challenge" method="post" action="/3ds/challenge/` + res.ACSTransID + `"`,
				`name="otp"`, `name="action" value="submit"`, `name="action" value="cancel"`, res.MaskedPAN, "19.99 USD", "Shop"} {
				if !strings.Contains(html, want) {
					t.Fatalf("page lacks %q:\n%s", want, html)
				}
			}
			if strings.Contains(html, c.card) {
				t.Fatal("the page shows the card number")
			}
			resp, err := noRedirect().PostForm(res.ChallengeURL, url.Values{"otp": {c.otp}, "action": {c.action}})
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != r.ReturnURL {
				t.Fatalf("%d %s", resp.StatusCode, resp.Header.Get("Location"))
			}
			final, _ := e.svc.Get(ctx, res.DSTransID)
			if final.TransStatus != c.status || final.TransStatusReason != c.reason || final.ECI != c.eci || !final.Final {
				t.Fatalf("%+v", final)
			}
			if (c.status == "Y") != (final.AuthenticationValue == threeds.AuthenticationValue(res.DSTransID)) {
				t.Fatalf("authentication value %q", final.AuthenticationValue)
			}
			// A second submit goes where the first went and changes nothing.
			resp, _ = noRedirect().PostForm(res.ChallengeURL, url.Values{"otp": {"123456"}, "action": {"submit"}})
			resp.Body.Close()
			again, _ := e.svc.Get(ctx, res.ACSTransID)
			if resp.StatusCode != http.StatusSeeOther || again.TransStatus != c.status {
				t.Fatalf("second submit: %d %+v", resp.StatusCode, again)
			}
		})
	}
	if len(got) != len(cases) {
		t.Fatalf("callbacks: %d", len(got))
	}
	if r, _ := http.Get(e.srv.URL + "/3ds/challenge/nope"); r.StatusCode != 404 {
		t.Fatalf("unknown challenge: %d", r.StatusCode)
	}
}

func TestWrongCodesThenFailure(t *testing.T) {
	e := newEnv(t)
	res, _ := e.svc.Authenticate(context.Background(), req("4000123456000068"))
	for i := 1; i < threeds.MaxOTPAttempts; i++ {
		resp, _ := noRedirect().PostForm(res.ChallengeURL, url.Values{"otp": {"111111"}, "action": {"submit"}})
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(b), "attempts left") {
			t.Fatalf("attempt %d: %d %s", i, resp.StatusCode, b)
		}
	}
	resp, _ := noRedirect().PostForm(res.ChallengeURL, url.Values{"otp": {"111111"}, "action": {"submit"}})
	resp.Body.Close()
	final, _ := e.svc.Get(context.Background(), res.DSTransID)
	if resp.StatusCode != http.StatusSeeOther || final.TransStatus != "N" {
		t.Fatalf("%d %+v", resp.StatusCode, final)
	}
}

func TestChallengeTimesOutAndDecoupledResolvesOnTheClock(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	var calls []threeds.Result
	cb := func(_ context.Context, r threeds.Result) { calls = append(calls, r) }
	r := req("4000123456000068")
	r.OnComplete = cb
	ch, _ := e.svc.Authenticate(ctx, r)
	r = req("5100123456000130")
	r.OnComplete = cb
	dc, _ := e.svc.Authenticate(ctx, r)
	e.clock.Advance(29 * time.Second)
	if len(calls) != 0 {
		t.Fatalf("early: %+v", calls)
	}
	e.clock.Advance(time.Second)
	if len(calls) != 1 || calls[0].DSTransID != dc.DSTransID || calls[0].TransStatus != "Y" || calls[0].ECI != "02" || calls[0].Flow != threeds.FlowDecoupled {
		t.Fatalf("decoupled: %+v", calls)
	}
	e.clock.Advance(threeds.DefaultChallengeTimeout)
	if len(calls) != 2 || calls[1].DSTransID != ch.DSTransID || calls[1].TransStatus != "U" || calls[1].TransStatusReason != "14" {
		t.Fatalf("timeout: %+v", calls)
	}
	if _, err := e.svc.Complete(ctx, ch.ACSTransID, threeds.Completion{Action: "submit", OTP: "123456"}); !errors.Is(err, threeds.ErrNotPending) {
		t.Fatalf("completing a final authentication: %v", err)
	}
}

func TestAdminCompletionFollowsTheCardsIntent(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	for card, want := range map[string]string{"4000123456000068": "Y", "4000123456000076": "N", "4000123456000084": "U"} {
		res, _ := e.svc.Authenticate(ctx, req(card))
		got, err := e.svc.Complete(ctx, res.ACSTransID, threeds.Completion{Action: "result"})
		if err != nil || got.TransStatus != want {
			t.Errorf("%s: %+v %v", card, got, err)
		}
	}
}

// TestBindingRefusesForeignResults runs with the binding naming the
// authentication by its id (the gateway's own payments: one store update)
// and without (an external 3-D Secure result: looked up by dsTransID), and
// with an id that names another authentication (ignored): the same answers.
func TestBindingRefusesForeignResults(t *testing.T) {
	for _, by := range []string{"dsTransId", "threeDsServerTransId", "another authentication's id"} {
		t.Run(by, func(t *testing.T) { bindingRefusesForeignResults(t, by) })
	}
}

func bindingRefusesForeignResults(t *testing.T, by string) {
	e := newEnv(t)
	ctx := context.Background()
	a, _ := e.svc.Authenticate(ctx, req("4000123456000019"))
	r := req("4000123456000019")
	r.Reference = "T2"
	b, _ := e.svc.Authenticate(ctx, r)
	standalone := req("5100123456000015")
	standalone.Reference = ""
	s, _ := e.svc.Authenticate(ctx, standalone)

	good := threeds.Binding{DSTransID: a.DSTransID, AuthenticationValue: a.AuthenticationValue, ECI: "05", MerchantID: "M1", Reference: "T1", Amount: 1999, Currency: "USD", CardNumber: "4000123456000019"}
	switch by {
	case "threeDsServerTransId":
		good.ThreeDSServerTransID = a.ThreeDSServerTransID
	case "another authentication's id":
		good.ThreeDSServerTransID = b.ThreeDSServerTransID
	}
	cases := []struct {
		name  string
		mod   func(*threeds.Binding)
		field string
	}{
		{"cavv of another transaction", func(b2 *threeds.Binding) { b2.AuthenticationValue = b.AuthenticationValue }, "cavv"},
		{"another reference", func(b2 *threeds.Binding) { b2.Reference = "T9" }, "cavv"},
		{"another merchant", func(b2 *threeds.Binding) { b2.MerchantID = "M2" }, "dsTransId"},
		{"another amount", func(b2 *threeds.Binding) { b2.Amount = 2000 }, "dsTransId"},
		{"another card", func(b2 *threeds.Binding) { b2.CardNumber = "4111111111111111" }, "dsTransId"},
		{"wrong eci", func(b2 *threeds.Binding) { b2.ECI = "07" }, "eci"},
		{"our cavv under a foreign dsTransId", func(b2 *threeds.Binding) { b2.DSTransID = "020100006afa60729412446b96732f98b3ee98a2" }, "cavv"},
	}
	for _, c := range cases {
		bb := good
		c.mod(&bb)
		var be *threeds.BindError
		if _, err := e.svc.Bind(ctx, bb); !errors.As(err, &be) || be.Field != c.field {
			t.Errorf("%s: %v", c.name, err)
		}
	}
	if _, err := e.svc.Bind(ctx, threeds.Binding{DSTransID: "unknown", MerchantID: "M1"}); !errors.Is(err, threeds.ErrNotFound) {
		t.Errorf("unknown: %v", err)
	}
	if _, err := e.svc.Bind(ctx, good); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Bind(ctx, good); err != nil {
		t.Fatalf("binding again to the same authorization: %v", err)
	}
	if got, err := e.svc.Get(ctx, a.ThreeDSServerTransID); err != nil || got.BoundTo != "T1" {
		t.Fatalf("bound to %q, %v; want T1", got.BoundTo, err)
	}
	other := good
	other.Reference = "T3"
	var be *threeds.BindError
	if _, err := e.svc.Bind(ctx, other); !errors.As(err, &be) || be.Field != "cavv" {
		t.Fatalf("binding to a second authorization: %v", err)
	}
	// A standalone result binds to the first authorization that presents it, only.
	sb := threeds.Binding{AuthenticationValue: s.AuthenticationValue, MerchantID: "M1", Reference: "P1", Amount: 1999, Currency: "USD"}
	if _, err := e.svc.Bind(ctx, sb); err != nil {
		t.Fatal(err)
	}
	sb.Reference = "P2"
	if _, err := e.svc.Bind(ctx, sb); err == nil {
		t.Fatal("a standalone result bound twice")
	}
	if len(e.jr.Query(journal.Filter{Kind: "threeds.binding_refused"})) < len(cases) {
		t.Fatal("refusals not journaled")
	}
	for _, ev := range e.jr.Query(journal.Filter{System: threeds.Name}) {
		if strings.Contains(ev.Message, "4000123456000019") {
			t.Fatalf("card number in the journal: %s", ev.Message)
		}
	}
}

func TestEveryEventCarriesTheCallersJournalIDs(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	r := req("4000123456000019")
	r.JournalIDs = map[string]string{"orderNo": "O1", "tradeNo": "T1"}
	res, err := e.svc.Authenticate(ctx, r)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Bind(ctx, threeds.Binding{DSTransID: res.DSTransID, AuthenticationValue: res.AuthenticationValue,
		MerchantID: "M1", Reference: "T1", Amount: 1999, Currency: "USD"}); err != nil {
		t.Fatal(err)
	}
	if res.AuthenticationValue != threeds.AuthenticationValue(res.DSTransID) {
		t.Errorf("authentication value %s is not AuthenticationValue(dsTransId)", res.AuthenticationValue)
	}
	evs := e.jr.Query(journal.Filter{System: threeds.Name})
	kinds := map[string]bool{}
	for _, ev := range evs {
		kinds[ev.Kind] = true
		if ev.IDs["orderNo"] != "O1" || ev.IDs["tradeNo"] != "T1" || ev.IDs["threeDsServerTransId"] != res.ThreeDSServerTransID ||
			ev.IDs["dsTransId"] != res.DSTransID || ev.IDs["merchant"] != "M1" {
			t.Errorf("%s ids = %v", ev.Kind, ev.IDs)
		}
	}
	if !kinds["threeds.authentication"] || !kinds["threeds.bound"] {
		t.Fatalf("events %v", kinds)
	}
}

// TestMaskedPANGivenIsKept: an authentication given its card's masked
// number (Request.MaskedPAN, as pan.Mask makes it) answers what one masking
// the number itself answers.
func TestMaskedPANGivenIsKept(t *testing.T) {
	ctx := context.Background()
	a, b := newEnv(t), newEnv(t)
	for _, number := range []string{"4000123456000019", "5100123456000015", "4000123456000068"} {
		plain := req(number)
		given := req(number)
		given.MaskedPAN = pan.Mask(number)
		ra, err := a.svc.Authenticate(ctx, plain)
		if err != nil {
			t.Fatal(err)
		}
		rb, err := b.svc.Authenticate(ctx, given)
		if err != nil {
			t.Fatal(err)
		}
		if ra.MaskedPAN != rb.MaskedPAN || ra.MaskedPAN != pan.Mask(number) {
			t.Errorf("%s: masked %q without, %q with the caller's", number[:6], ra.MaskedPAN, rb.MaskedPAN)
		}
	}
}
