package codepay

import (
	"context"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/pspsim/pspsim/simulator/apierr"
	"github.com/pspsim/pspsim/simulator/bodies"
	"github.com/pspsim/pspsim/simulator/openapi"
)

// TimestampWindow is how far a request's timestamp may be from the clock.
const TimestampWindow = 15 * time.Minute

// Caller is who sent a request that passed the guard: the app, the
// environment its credentials belong to, and the merchant it named (empty on
// the card operations, which name a transaction instead).
type Caller struct {
	App         App
	Environment string
	MerchantNo  string
	StoreNo     string
	TerminalSN  string
	// SignForm is the canonical form of the string to sign the request's
	// signature verified with ("" for sign_type NONE).
	SignForm Form
}

// callerOf returns the caller the guard recorded.
func callerOf(ctx context.Context) *Caller {
	if req := openapi.FromContext(ctx); req != nil {
		if c, ok := req.Principal().(*Caller); ok {
			return c
		}
	}
	return &Caller{}
}

// guard runs after schema validation and before faults and the handler: the
// app must be known; an RSA2 request must verify with the app's registered
// key exactly as the SDKs build the string to sign; a NONE request must carry
// the app's Basic credentials; the timestamp must lie within ±15 minutes of
// the clock; the merchant, store and terminals named must exist and belong to
// the app. The environment is the one whose credentials matched.
func (s *System) guard(w http.ResponseWriter, r *http.Request) bool {
	req := openapi.FromContext(r.Context())
	caller, err := s.check(r, req)
	if err != nil {
		s.envelope.WriteError(w, r, err)
		return false
	}
	if caller.SignForm != "" && caller.SignForm != FormSDK {
		// A departure from the SDK's string to sign, tolerated: said on the
		// answer and journaled like the schema's departures.
		wn := openapi.Warning{Field: "sign", Rule: "signature", Class: "sign-form",
			Did: "verified with the " + string(caller.SignForm) + " string to sign",
			Why: "CodePay's published clients disagree on empty values and booleans in the string to sign and the document does not settle it; the SDK's form is " + string(FormSDK) + ", the only one --strict accepts."}
		w.Header().Add(openapi.WarningHeader, wn.Header())
		req.Warnings = append(req.Warnings, wn)
		s.env.WarningsFor(Name)(r, req, []openapi.Warning{wn})
	}
	req.SetPrincipal(caller)
	req.Tag(openapi.TagApp, caller.App.AppID)
	req.Tag(openapi.TagEnvironment, caller.Environment)
	for tag, v := range map[string]string{openapi.TagMerchant: caller.MerchantNo, openapi.TagStore: caller.StoreNo, openapi.TagTerminal: caller.TerminalSN} {
		if v != "" {
			req.Tag(tag, v)
		}
	}
	return true
}

func (s *System) check(r *http.Request, req *openapi.Request) (*Caller, *apierr.Error) {
	ctx := r.Context()
	var f map[string]json.RawMessage
	if err := json.Unmarshal(req.Body, &f); err != nil || f == nil {
		return nil, apierr.New(apierr.Malformed, "request body is not a JSON object")
	}
	str := func(k string) string {
		var v string
		json.Unmarshal(f[k], &v)
		return v
	}
	appID := str("app_id")
	req.Tag(openapi.TagApp, appID)
	app, err := s.apps.Get(ctx, appID)
	if err != nil {
		return nil, orAbsent(err, apierr.Field(apierr.Unauthorized, "app_id", "unknown", "no application %s is registered with the gateway", appID).WithCode(CodeUnknownApp))
	}
	signType := str("sign_type")
	if signType == "" {
		signType = "RSA2" // the card operations may omit it
	}
	caller := &Caller{App: app}
	if signType == "NONE" {
		env, aerr := basicEnvironment(r, app)
		if aerr != nil {
			return nil, aerr
		}
		caller.Environment = env
	}
	if raw, ok := f["timestamp"]; ok && string(raw) != "null" {
		if aerr := s.checkTimestamp(raw); aerr != nil {
			return nil, aerr
		}
	}
	if signType == "RSA2" {
		// The signature covers the body as sent, before pspsim dropped or
		// rewrote what it tolerates (see the spec's x-pspsim-lenient).
		signed := f
		if req.Sent != nil {
			signed = nil
			if err := json.Unmarshal(req.Sent, &signed); err != nil || signed == nil {
				return nil, apierr.New(apierr.Malformed, "request body is not a JSON object")
			}
		}
		env, form, aerr := s.signatureEnvironment(signed, app)
		if aerr != nil {
			return nil, aerr
		}
		caller.Environment, caller.SignForm = env, form
	}
	if aerr := s.checkParties(ctx, f, caller); aerr != nil {
		return nil, aerr
	}
	return caller, nil
}

// basicEnvironment checks Authorization: Basic app_id:password against the
// app's sandbox and live passwords.
func basicEnvironment(r *http.Request, app App) (string, *apierr.Error) {
	refuse := func(format string, args ...any) *apierr.Error {
		return apierr.Field(apierr.Unauthorized, "Authorization", "basic", format, args...).WithCode(CodeUnknownApp)
	}
	h := r.Header.Get("Authorization")
	scheme, payload, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Basic") {
		return "", refuse("sign_type NONE requires HTTP Basic credentials (user app_id, password the app's API secret)")
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(payload))
	if err != nil {
		return "", refuse("the Basic credentials are not base64")
	}
	user, pass, _ := strings.Cut(string(raw), ":")
	if user != app.AppID {
		return "", refuse("the Basic user must be the app_id %s", app.AppID)
	}
	for _, c := range []struct {
		env  string
		cred Credentials
	}{{Sandbox, app.Sandbox}, {Live, app.Live}} {
		if c.cred.BasicPassword != "" && subtle.ConstantTimeCompare([]byte(pass), []byte(c.cred.BasicPassword)) == 1 {
			return c.env, nil
		}
	}
	return "", refuse("wrong password for app_id %s", app.AppID)
}

// checkTimestamp accepts 13 digits as a JSON number or string, within ±15
// minutes of the gateway's time. With a simulated clock there are two
// candidates, and either will do: the simulated time (what `pspsim codepay
// sign --url` stamps with) and the clock of real-world timestamps
// (env.Stamps, which CodePay's own notifications carry) — a merchant stamps
// its requests with its own clock, which a simulated clock moved days ahead
// by a test would leave far behind (specs/codepay.yaml, Timestamp).
func (s *System) checkTimestamp(raw json.RawMessage) *apierr.Error {
	text := strings.Trim(string(raw), `"`)
	ms, err := strconv.ParseInt(text, 10, 64)
	if err != nil || len(text) != 13 {
		return apierr.Field(apierr.Invalid, "timestamp", "pattern", "must be 13 digits of milliseconds since the epoch").WithCode(CodeInvalidParameter)
	}
	at := time.UnixMilli(ms)
	within := func(now time.Time) bool { d := at.Sub(now); return d <= TimestampWindow && d >= -TimestampWindow }
	now := s.env.Clock.Now()
	if within(now) {
		return nil
	}
	if s.env.Stamps != nil {
		if within(s.env.Stamps.Now()) {
			return nil
		}
		now = s.env.Stamps.Now()
	}
	return apierr.Field(apierr.Invalid, "timestamp", "window",
		"%s is %s the gateway's time %s; at most 15 minutes either way",
		at.UTC().Format(time.RFC3339), roundDiff(at.Sub(now)), now.UTC().Format(time.RFC3339)).WithCode(CodeTimestamp)
}

func roundDiff(d time.Duration) string {
	if d < 0 {
		return (-d).Round(time.Second).String() + " behind"
	}
	return d.Round(time.Second).String() + " ahead of"
}

// signatureEnvironment verifies sign over the string to sign with the app's
// sandbox key, then its live key; the one that verifies is the environment.
// The string to sign is built in the SDK's form, then (unless --strict) in
// each other canonical form published clients use; the form that verified
// is returned.
func (s *System) signatureEnvironment(f map[string]json.RawMessage, app App) (string, Form, *apierr.Error) {
	var sign string
	for k, v := range f {
		if strings.EqualFold(k, "sign") {
			json.Unmarshal(v, &sign)
		}
	}
	if sign == "" {
		return "", "", apierr.Field(apierr.Missing, "sign", "required", "is required with sign_type RSA2").WithCode(CodeMissingParameter)
	}
	forms := Forms
	if s.env.Strict {
		forms = Forms[:1]
	}
	var texts []string
	for _, form := range forms {
		text, err := canonical(f, form)
		if err != nil {
			return "", "", apierr.New(apierr.Malformed, "request body: %v", err)
		}
		texts = append(texts, text)
	}
	for _, c := range []struct {
		env  string
		cred Credentials
	}{{Sandbox, app.Sandbox}, {Live, app.Live}} {
		if c.cred.PublicKeyPEM == "" {
			continue
		}
		pub, err := s.publicKeyOf(c.cred.PublicKeyPEM)
		if err != nil {
			continue
		}
		for i, text := range texts {
			// Two forms often give the same text (no empty value, no
			// boolean): verify each distinct text once.
			if i > 0 && slices.Contains(texts[:i], text) {
				continue
			}
			if VerifyString(pub, text, sign) == nil {
				return c.env, forms[i], nil
			}
		}
	}
	also := " (nor in the other canonical forms published clients use: empty values kept, booleans as 1/empty)"
	if s.env.Strict {
		also = " (--strict accepts the SDK's form only)"
	}
	return "", "", apierr.Field(apierr.Unauthorized, "sign", "signature",
		"does not verify with the public key registered for app_id %s (SHA256withRSA over the sorted key=value string of every non-empty field except sign%s)", app.AppID, also).WithCode(CodeBadSignature)
}

// checkParties resolves merchant_no, store_no, terminal_sn and
// terminal_sn_list against the app. On the card operations, which name no
// merchant, the transaction's parties are recorded for fault matching when
// it belongs to the app.
func (s *System) checkParties(ctx context.Context, f map[string]json.RawMessage, c *Caller) *apierr.Error {
	str := func(k string) string {
		var v string
		json.Unmarshal(f[k], &v)
		return v
	}
	unknown := func(field, format string, args ...any) *apierr.Error {
		return apierr.Field(apierr.NotFound, field, "unknown", format, args...).WithCode(CodeUnknownMerchant)
	}
	merchantNo := str("merchant_no")
	if merchantNo == "" {
		if transNo := str("trans_no"); transNo != "" {
			t, err := s.txns.Get(ctx, transNo)
			if err != nil && !isNotFound(err) {
				return apierr.Wrap(fmt.Errorf("transaction %s: %w", transNo, err))
			}
			if err == nil && c.App.ActsFor(t.MerchantNo) && t.Environment == c.Environment {
				c.MerchantNo, c.StoreNo, c.TerminalSN = t.MerchantNo, t.StoreNo, t.TerminalSN
			}
		}
		return nil
	}
	m, err := s.merchants.Get(ctx, merchantNo)
	if err != nil {
		return orAbsent(err, unknown("merchant_no", "no merchant %s", merchantNo))
	}
	if !c.App.ActsFor(merchantNo) {
		return unknown("merchant_no", "merchant %s is not bound to app_id %s", merchantNo, c.App.AppID)
	}
	c.MerchantNo = merchantNo
	storeNo := str("store_no")
	if storeNo != "" {
		if !m.hasStore(storeNo) {
			return unknown("store_no", "merchant %s has no store %s", merchantNo, storeNo)
		}
		c.StoreNo = storeNo
	}
	bound := func(field, sn string) *apierr.Error {
		st, ok := m.storeOf(sn)
		if !ok {
			return unknown(field, "terminal %s is not bound to merchant %s", sn, merchantNo)
		}
		if storeNo != "" && st != storeNo {
			return unknown(field, "terminal %s belongs to store %s, not %s", sn, st, storeNo)
		}
		return nil
	}
	if sn := str("terminal_sn"); sn != "" {
		if err := bound("terminal_sn", sn); err != nil {
			return err
		}
		c.TerminalSN = sn
		if c.StoreNo == "" {
			c.StoreNo, _ = m.storeOf(sn)
		}
	}
	var list []string
	json.Unmarshal(f["terminal_sn_list"], &list)
	for i, sn := range list {
		if err := bound(fmt.Sprintf("terminal_sn_list[%d]", i), sn); err != nil {
			return err
		}
	}
	return nil
}

// observeError journals every error answer, with the environment of the
// key that signed when the request got past the signature check (an
// operation's own refusal): a call made with the wrong environment's key is
// a call in that environment, refused or not.
func (s *System) observeError(r *http.Request, code, msg string) {
	ids := map[string]string{}
	method := r.URL.Path
	data := map[string]any{"method": method, "code": code}
	if c := callerOf(r.Context()); c.Environment != "" {
		data["environment"] = c.Environment
	}
	if req := openapi.FromContext(r.Context()); req != nil {
		method = req.Key
		data["method"] = method
		for k, v := range bodyIDs(req.Body) {
			ids[k] = v
		}
		if b := bodies.Of(req.Body); b != nil {
			data["request"] = b
		}
	}
	s.env.Record(Name, "request.refused", fmt.Sprintf("%s refused: %s %s", method, code, msg), ids, data)
}

// bodyIDs picks the journal ids out of a request body. A value that is not
// valid text (refused for that very reason) is left out rather than
// journaled with the replacement characters decoding would put in it.
func bodyIDs(body []byte) map[string]string {
	var f map[string]json.RawMessage
	if json.Unmarshal(body, &f) != nil {
		return nil
	}
	out := map[string]string{}
	for _, k := range []string{"app_id", "merchant_no", "merchant_order_no", "trans_no", "terminal_sn"} {
		var v string
		if json.Unmarshal(f[k], &v) == nil && v != "" && !strings.ContainsRune(v, utf8.RuneError) {
			out[k] = v
		}
	}
	return out
}
