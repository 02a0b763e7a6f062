package genstore

import (
	"errors"
	"strings"
	"testing"

	"github.com/pspsim/pspsim/simulator/apierr"
)

// TestPaymentTransitionTable pins every cell of the payment's table: the
// listed transitions and nothing else (final states have no way out).
func TestPaymentTransitionTable(t *testing.T) {
	allowed := map[Status]map[payEvent]Status{
		StatusProcessing:  {evPaid: StatusSuccess, evAuthorized: StatusAuthSuccess, evFailed: StatusFailure},
		StatusAuthSuccess: {evCaptured: StatusSuccess, evVoided: StatusAuthVoid},
	}
	for _, from := range []Status{StatusProcessing, StatusSuccess, StatusAuthVoid, StatusAuthSuccess, StatusFailure} {
		for _, ev := range []payEvent{evPaid, evAuthorized, evFailed, evCaptured, evVoided} {
			to, err := transitionPayment(from, ev)
			want, ok := allowed[from][ev]
			if ok != (err == nil) || (ok && to != want) {
				t.Errorf("%s --%s--> %s, %v (want %v, allowed %t)", from, ev, to, err, want, ok)
			}
		}
	}
	for _, from := range []OpStatus{OpProcessing, OpSucceeded, OpFailed} {
		for _, r := range []bool{true, false} {
			to, err := transitionOperation(from, r)
			if (from == OpProcessing) != (err == nil) || (err == nil && (to == OpSucceeded) != r) {
				t.Errorf("%s --%t--> %s, %v", from, r, to, err)
			}
		}
	}
}

func TestParseChallengeVariants(t *testing.T) {
	page := "https://acs.example/3ds/page?x=1"
	cases := []struct {
		name, html string
		action     string
		fields     string
		err        string
	}{
		{"the contract's form", `<form id="pspsim-challenge" method="post" action="/3ds/answer"><input name="otp"><button name="action" value="submit">OK</button><button name="action" value="cancel">No</button></form>`,
			"https://acs.example/3ds/answer", "", ""},
		{"single quotes, upper case, other attribute order, entities", `<FORM ACTION='answer?a=1&amp;b=2' METHOD=POST ID='pspsim-challenge'><INPUT TYPE=hidden NAME=tx VALUE="a&quot;b"><input name=otp type=text><input type=submit name=action value=submit></FORM>`,
			"https://acs.example/3ds/answer?a=1&b=2", "tx=a%22b", ""},
		{"another form first", `<form id="search" action="/s"></form><form id="pspsim-challenge" method="post" action="https://other.example/a"><input name="otp"></form>`,
			"https://other.example/a", "", ""},
		{"unchecked box left out", `<form id="pspsim-challenge" method="post" action="/a"><input name="otp"><input type="checkbox" name="remember" value="1"><input type="checkbox" name="agree" value="y" checked></form>`,
			"https://acs.example/a", "agree=y", ""},
		{"no form", `<html><form id="login" method="post" action="/l"><input name="otp"></form></html>`, "", "", "no form#pspsim-challenge"},
		{"a GET form", `<form id="pspsim-challenge" method="get" action="/a"><input name="otp"></form>`, "", "", "method must be post"},
		{"no otp input", `<form id="pspsim-challenge" method="post" action="/a"><input name="code"></form>`, "", "", "otp"},
		{"javascript action", `<form id="pspsim-challenge" method="post" action="javascript:go()"><input name="otp"></form>`, "", "", "action"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f, err := parseChallenge(page, []byte(c.html))
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("%v, want an error about %s", err, c.err)
				}
				return
			}
			if err != nil || f.Action != c.action || f.Fields.Encode() != c.fields {
				t.Fatalf("%+v %v", f, err)
			}
		})
	}
}

func TestDecodeCallbackNamesTheFieldAndRule(t *testing.T) {
	for _, c := range []struct {
		kind, body  string
		field, rule string
	}{
		{"payment", `{"pay":{"result":"true","paymentId":"P1"}}`, "", ""},
		{"payment", `{"pay":{"result":false,"reason":"x","paymentId":"P1","channelPaymentId":"c"}}`, "", ""},
		{"refund", `{"pay":{"result":"true","refundId":"R1","channelRefundId":"c"}}`, "", ""},
		{"capture", `{"pay":{"result":"true","captureId":"C1","channelPaymentId":"c"}}`, "pay.channelPaymentId", "additionalProperties"},
		{"void", `{"pay":{"result":"true"}}`, "pay.voidId", "required"},
		{"void", `{"pay":{"result":"true","voidId":"V 1"}}`, "pay.voidId", "pattern"},
		{"void", `{"pay":{"result":"true","voidId":7}}`, "pay.voidId", "type"},
		{"payment", `{"pay":{"result":"TRUE","paymentId":"P1"}}`, "pay.result", "enum"},
		{"payment", `{"pay":{"result":"false","paymentId":"P1"}}`, "pay.reason", "required"},
		{"payment", `{"pay":{"result":"true","paymentId":"P1","reason":` + `"` + strings.Repeat("x", 513) + `"}}`, "pay.reason", "maxLength"},
		{"payment", `{"pay":[]}`, "pay", "type"},
		{"payment", `{"pay":{}, "extra":1}`, "extra", "additionalProperties"},
		{"payment", `{}`, "pay", "required"},
		{"payment", `null`, "", "malformed"},
		{"payment", `{"pay":{"result":"true","paymentId":"P1"}} {}`, "", "malformed"},
	} {
		cb, e := DecodeCallback(c.kind, []byte(c.body))
		switch {
		case c.field == "" && c.rule == "":
			if e != nil || cb.ID == "" {
				t.Errorf("%s: %v", c.body, e)
			}
		case c.rule == "malformed":
			if e == nil || e.Kind != apierr.Malformed {
				t.Errorf("%s: %v", c.body, e)
			}
		default:
			if e == nil || e.Field != c.field || e.Rule != c.rule || !strings.HasPrefix(e.Message, c.field) {
				t.Errorf("%s: %+v, want %s/%s", c.body, e, c.field, c.rule)
			}
		}
	}
}

// FuzzDecodeCallback: whatever the body, the decoder answers a callback or
// a 4xx error naming what is wrong, and never panics.
func FuzzDecodeCallback(f *testing.F) {
	for _, s := range []string{
		`{"pay":{"result":"true","reason":"Insufficient balance of bank card","paymentId":"PI00202510281513381","channelPaymentId":"2025102815"}}`,
		`{"pay":{"result":false,"reason":"x","refundId":"R1"}}`, `{"pay":null}`, `[]`, `{"pay":{"result":"true","paymentId":"\u0000"}}`, ``,
	} {
		f.Add("payment", []byte(s))
		f.Add("refund", []byte(s))
		f.Add("", []byte(s))
	}
	f.Fuzz(func(t *testing.T, kind string, body []byte) {
		cb, e := DecodeCallback(kind, body)
		if e != nil {
			var ae *apierr.Error
			if !errors.As(e, &ae) || ae.Message == "" || HTTPStatus(ae) >= 500 || HTTPStatus(ae) < 400 {
				t.Fatalf("refusal without a 4xx message: %+v", e)
			}
			return
		}
		if cb.ID == "" || (!cb.Result && strings.TrimSpace(cb.Reason) == "") {
			t.Fatalf("accepted an incomplete callback: %+v", cb)
		}
	})
}
