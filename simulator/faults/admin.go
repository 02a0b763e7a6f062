package faults

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/pspsim/pspsim/simulator/admin"
	"github.com/pspsim/pspsim/simulator/apierr"
	"github.com/pspsim/pspsim/simulator/delivery"
	"github.com/pspsim/pspsim/simulator/mountpath"
	"github.com/pspsim/pspsim/simulator/openapi"
)

// SignatureHeader carries the signature of a test delivery: the hex
// HMAC-SHA256 of the raw body, keyed with the secret the caller chose.
const SignatureHeader = "X-Pspsim-Signature"

// AdminHandlers returns the handlers of the faults region of
// specs/admin.yaml, by operationId.
func (e *Engine) AdminHandlers() map[string]http.Handler {
	return map[string]http.Handler{
		"listFaultRules":    http.HandlerFunc(e.listRules),
		"createFaultRule":   admin.HandlerFunc(e.createRule),
		"replaceFaultRules": admin.HandlerFunc(e.replaceRules),
		"clearFaultRules":   http.HandlerFunc(e.clearRules),
		"getFaultRule":      admin.HandlerFunc(e.getRule),
		"deleteFaultRule":   admin.HandlerFunc(e.deleteRule),
		"listFaultActions":  http.HandlerFunc(e.listActions),
		"sendTestDelivery":  admin.HandlerFunc(e.sendTestDelivery),
	}
}

func decodeBody(r *http.Request) (any, *apierr.Error) {
	var body []byte
	if req := openapi.FromContext(r.Context()); req != nil {
		body = req.Body
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber() // amounts keep their exact text
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, apierr.New(apierr.Malformed, "the body is not JSON")
	}
	return v, nil
}

// ruleErr says a rule's problem in the admin API's terms: a *FieldError
// names the field; anything else is internal.
func ruleErr(err error) error {
	if fe, ok := err.(*FieldError); ok {
		return fe.APIError()
	}
	return err
}

// listRules, clearRules and listActions cannot fail, so they stay plain
// handlers; the others are admin.HandlerFunc and return their failure.

func (e *Engine) listRules(w http.ResponseWriter, r *http.Request) {
	admin.WriteJSON(w, http.StatusOK, map[string]any{"rules": e.List()})
}

func (e *Engine) createRule(w http.ResponseWriter, r *http.Request) error {
	v, aerr := decodeBody(r)
	if aerr != nil {
		return aerr
	}
	rule, err := ParseRule(v, "")
	if err != nil {
		return ruleErr(err)
	}
	st, err := e.Add(rule)
	if err != nil {
		return ruleErr(err)
	}
	w.Header().Set("Location", mountpath.Join(r, admin.Prefix+"/faults/"+url.PathEscape(st.ID)))
	admin.WriteJSON(w, http.StatusCreated, st)
	return nil
}

func (e *Engine) replaceRules(w http.ResponseWriter, r *http.Request) error {
	v, aerr := decodeBody(r)
	if aerr != nil {
		return aerr
	}
	m, _ := v.(map[string]any)
	list, _ := m["rules"].([]any)
	rules := make([]Rule, 0, len(list))
	for i, item := range list {
		rule, err := ParseRule(item, fmt.Sprintf("rules[%d]", i))
		if err != nil {
			if fe, ok := err.(*FieldError); ok {
				fe.Field = fmt.Sprintf("rules[%d].%s", i, fe.Field)
			}
			return ruleErr(err)
		}
		rules = append(rules, rule)
	}
	out, err := e.Replace(rules)
	if err != nil {
		return ruleErr(err)
	}
	admin.WriteJSON(w, http.StatusOK, map[string]any{"rules": out})
	return nil
}

func (e *Engine) clearRules(w http.ResponseWriter, r *http.Request) {
	all := r.URL.Query().Get("all") == "true"
	n := e.Clear(all)
	admin.WriteJSON(w, http.StatusOK, map[string]any{"cleared": n})
}

func pathRuleID(r *http.Request) string {
	return openapi.FromContext(r.Context()).PathParams["id"]
}

func noRule(id string) *apierr.Error {
	return apierr.Field(apierr.NotFound, "id", "exists", "no fault rule %q", id)
}

func (e *Engine) getRule(w http.ResponseWriter, r *http.Request) error {
	id := pathRuleID(r)
	st, ok := e.Get(id)
	if !ok {
		return noRule(id)
	}
	admin.WriteJSON(w, http.StatusOK, st)
	return nil
}

func (e *Engine) deleteRule(w http.ResponseWriter, r *http.Request) error {
	id := pathRuleID(r)
	if !e.Delete(id) {
		return noRule(id)
	}
	admin.WriteJSON(w, http.StatusOK, map[string]any{"deleted": id})
	return nil
}

func (e *Engine) listActions(w http.ResponseWriter, r *http.Request) {
	kinds := e.reg.Kinds()
	for i := range kinds {
		if kinds[i].Params == nil {
			kinds[i].Params = []Param{}
		}
	}
	admin.WriteJSON(w, http.StatusOK, map[string]any{"actions": kinds})
}

// testDelivery is the body of sendTestDelivery.
type testDelivery struct {
	URL        string            `json:"url"`
	System     string            `json:"system"`
	Kind       string            `json:"kind"`
	Body       json.RawMessage   `json:"body"`
	Headers    map[string]string `json:"headers"`
	IDs        map[string]string `json:"ids"`
	Tags       map[string]string `json:"tags"`
	Secret     string            `json:"secret"`
	Contradict map[string]any    `json:"contradict"`
	Retry      []string          `json:"retry"`
	Timeout    string            `json:"timeout"`
}

// sendTestDelivery sends a message of the caller's making through the
// delivery machinery — retries on the clock, the journal, the fault rules —
// so that a receiver's handling of dropped, delayed, duplicated, reordered,
// contradicting and tampered messages can be rehearsed before (or beside)
// the systems' own notifications. The first attempt is made before the call
// answers.
func (e *Engine) sendTestDelivery(w http.ResponseWriter, r *http.Request) error {
	if e.sender == nil {
		return apierr.New(apierr.Unavailable, "this simulator sends no deliveries")
	}
	var in testDelivery
	dec := json.NewDecoder(bytes.NewReader(openapi.FromContext(r.Context()).Body))
	dec.UseNumber()
	if err := dec.Decode(&in); err != nil {
		return apierr.New(apierr.Malformed, "the body is not a test delivery: %v", err)
	}
	u, err := url.Parse(in.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return apierr.Field(apierr.Invalid, "url", "format", "must be an absolute http(s) URL")
	}
	if u.Host == r.Host && strings.HasPrefix(u.Path, mountpath.Join(r, admin.Prefix+"/")) {
		// A test message to the control API could trigger itself without end.
		return apierr.Field(apierr.Invalid, "url", "target", "a test message cannot be sent to the simulator's own control API")
	}
	policy, aerr := in.policy()
	if aerr != nil {
		return aerr
	}
	d := e.sender.Send(in.message(), policy, nil)
	attempts := []map[string]any{}
	for _, a := range d.Attempts() {
		attempts = append(attempts, map[string]any{"n": a.N, "status": a.Status, "error": a.Error, "outcome": a.Outcome})
	}
	admin.WriteJSON(w, http.StatusOK, map[string]any{"state": string(d.State()), "attempts": attempts})
	return nil
}

// policy is the test delivery's retry schedule and timeout (10s when not
// given, at most 1m).
func (in testDelivery) policy() (delivery.Policy, *apierr.Error) {
	policy := delivery.Policy{Timeout: 10 * time.Second}
	for i, s := range in.Retry {
		d, err := time.ParseDuration(s)
		if err != nil || d <= 0 {
			return policy, apierr.Field(apierr.Invalid, fmt.Sprintf("retry[%d]", i), "duration", "must be a positive Go duration like 30s")
		}
		policy.Schedule = append(policy.Schedule, d)
	}
	if in.Timeout != "" {
		d, err := time.ParseDuration(in.Timeout)
		if err != nil || d <= 0 || d > time.Minute {
			return policy, apierr.Field(apierr.Invalid, "timeout", "duration", "must be a Go duration up to 1m")
		}
		policy.Timeout = d
	}
	return policy, nil
}

// message builds the test delivery: signed with the caller's secret when
// given (so that tamper has a signature to break), and able to contradict
// itself with the caller's patch (so that contradict has something to say).
func (in testDelivery) message() delivery.Request {
	if in.System == "" {
		in.System = "sim"
	}
	if in.Kind == "" {
		in.Kind = "test"
	}
	body := compactJSON(in.Body)
	header := http.Header{"Content-Type": {"application/json"}}
	for k, v := range in.Headers {
		header.Set(k, v)
	}
	msg := delivery.Request{System: in.System, Kind: in.Kind, URL: in.URL, Header: header, Body: body, IDs: in.IDs, Tags: in.Tags}
	secret := in.Secret
	if secret != "" {
		msg.Header.Set(SignatureHeader, Sign(secret, body))
		msg.Tamper = func(m delivery.Request) delivery.Request {
			m.Header = m.Header.Clone()
			m.Header.Set(SignatureHeader, TamperSignature(m.Header.Get(SignatureHeader)))
			return m
		}
	}
	if in.Contradict != nil {
		patch := in.Contradict
		orig := msg
		msg.Contradict = func() (delivery.Request, bool) {
			var doc map[string]any
			dec := json.NewDecoder(bytes.NewReader(orig.Body))
			dec.UseNumber()
			if dec.Decode(&doc) != nil || doc == nil {
				return delivery.Request{}, false
			}
			for k, v := range patch {
				doc[k] = v
			}
			c := orig
			c.Contradict, c.Tamper = nil, nil
			c.Body, _ = json.Marshal(doc)
			c.Header = orig.Header.Clone()
			if secret != "" {
				c.Header.Set(SignatureHeader, Sign(secret, c.Body))
			}
			return c, true
		}
	}
	return msg
}

func compactJSON(raw json.RawMessage) []byte {
	var buf bytes.Buffer
	if json.Compact(&buf, raw) != nil {
		return raw
	}
	return buf.Bytes()
}

// Sign returns the test-delivery signature of body: hex HMAC-SHA256.
func Sign(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// TamperSignature changes the last digit of a hex signature, so it no
// longer verifies but still looks like one.
func TamperSignature(sig string) string {
	if sig == "" {
		return "0"
	}
	last := sig[len(sig)-1]
	repl := byte('0')
	if last == '0' {
		repl = '1'
	}
	return sig[:len(sig)-1] + string(repl)
}
