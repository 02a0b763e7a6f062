package conformance

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/pspsim/pspsim/fixtures"
	"github.com/pspsim/pspsim/simulator/control"
	"github.com/pspsim/pspsim/simulator/openapi"
	"github.com/pspsim/pspsim/specs"
)

// Timing is the suite's patience, in wall time: the app runs in real time,
// while Genstore's and the PSPs' schedules run on the simulated clock.
type Timing struct {
	// ResultWait bounds the wait for something the app must do (a callback,
	// an installation). A correct app is usually done in milliseconds.
	ResultWait time.Duration
	// Quiet is how long nothing must happen before the suite accepts that
	// nothing more will.
	Quiet time.Duration
	// Poll is how often the suite looks.
	Poll time.Duration
	// RequestTimeout is Genstore's wait for an acknowledgement (the
	// simulator's genstore.settings.requestTimeout); the suite provokes
	// Genstore timeouts with a PSP latency just above it.
	RequestTimeout time.Duration
}

// DefaultTiming is the timing of `pspsim conformance` unless app.yaml's
// suite section changes it.
var DefaultTiming = Timing{ResultWait: 10 * time.Second, Quiet: 300 * time.Millisecond, Poll: 20 * time.Millisecond, RequestTimeout: 3 * time.Second}

// withDefaults fills the zero fields of t from DefaultTiming and the app's
// suite settings.
func (t Timing) withDefaults(s SuiteSettings) Timing {
	pick := func(v, fromApp, def time.Duration) time.Duration {
		switch {
		case v > 0:
			return v
		case fromApp > 0:
			return fromApp
		}
		return def
	}
	return Timing{
		ResultWait:     pick(t.ResultWait, s.ResultWait.Std(), DefaultTiming.ResultWait),
		Quiet:          pick(t.Quiet, s.Quiet.Std(), DefaultTiming.Quiet),
		Poll:           pick(t.Poll, 0, DefaultTiming.Poll),
		RequestTimeout: pick(t.RequestTimeout, s.RequestTimeout.Std(), DefaultTiming.RequestTimeout),
	}
}

// Harness is what every scenario of one run shares: the sandbox the app is
// wired to, the app's registration, and the run's counters. Scenarios of one
// harness run one after the other: they share the simulator's clock.
type Harness struct {
	// URL is the base URL of the pspsim the app uses.
	URL string
	// App is the app under test.
	App AppConfig
	// Timing is the suite's patience.
	Timing Timing

	client     *http.Client
	adminToken string
	run        string // distinguishes this run's shops from another's on the same pspsim
	shops      atomic.Int64
	cards      *fixtures.Cards
	vectors    *vectorSet
	psp        pspView // the PSP app.yaml names

	specOnce sync.Once
	spec     *openapi3.T
	specErr  error
}

// NewHarness prepares a run against the pspsim at url for app.
func NewHarness(url string, app AppConfig, t Timing) (*Harness, error) {
	cards, err := fixtures.TestCards()
	if err != nil {
		return nil, err
	}
	vs, err := loadVectors(app.ECIESPublicKey)
	if err != nil {
		return nil, err
	}
	return &Harness{
		URL: strings.TrimRight(url, "/"), App: app, Timing: t.withDefaults(app.Suite),
		// One connection per request: a fault that breaks a connection must
		// not be hidden by a transport retrying on a reused one.
		client: &http.Client{Transport: control.Transport(&http.Transport{DisableKeepAlives: true, Proxy: nil}, ""), Timeout: time.Minute},
		run:    strconv.FormatInt(time.Now().UnixNano()%1_000_000, 36),
		cards:  cards, vectors: vs, psp: newPSPView(app.PSP.System),
	}, nil
}

// ---------------------------------------------------------------- HTTP to the simulator

// SetAdminToken makes the harness (and the scenarios' step worlds) send the
// simulator's admin token with every request to its control API.
func (h *Harness) SetAdminToken(token string) {
	h.adminToken = token
	h.client.Transport = control.Transport(&http.Transport{DisableKeepAlives: true, Proxy: nil}, token)
}

// call sends a request to the simulator and returns the status and body.
func (h *Harness) call(ctx context.Context, method, path string, body any) (int, []byte, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, nil, fmt.Errorf("encode %s %s: %w", method, path, err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, h.URL+path, rd)
	if err != nil {
		return 0, nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := h.client.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(io.LimitReader(res.Body, 32<<20))
	if err != nil {
		return res.StatusCode, nil, fmt.Errorf("%s %s: reading the answer: %w", method, path, err)
	}
	return res.StatusCode, data, nil
}

// admin sends an admin request, insists on the status want and decodes the
// answer into out (when not nil).
func (h *Harness) admin(ctx context.Context, method, path string, body any, want int, out any) error {
	status, data, err := h.call(ctx, method, path, body)
	if err != nil {
		return err
	}
	if status != want {
		return fmt.Errorf("%s %s: pspsim answered %d %s (want %d)", method, path, status, clip(data, 300), want)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("%s %s: decode the answer: %w", method, path, err)
		}
	}
	return nil
}

func clip(b []byte, n int) string {
	s := strings.TrimSpace(string(b))
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// Prepare registers the app with Genstore (or updates its registration, on
// a pspsim that already has it) and clears what earlier runs left: the
// run-time fault rules.
func (h *Harness) Prepare(ctx context.Context) error {
	reg := h.App.Registration()
	status, data, err := h.call(ctx, "POST", "/_sim/genstore/apps", reg)
	if err != nil {
		return fmt.Errorf("registering the app with Genstore: %w", err)
	}
	switch status {
	case http.StatusCreated:
	case http.StatusConflict:
		update := map[string]any{"name": reg["name"], "clientSecret": reg["clientSecret"], "scopes": reg["scopes"], "publicKey": reg["publicKey"], "endpoints": reg["endpoints"]}
		if err := h.admin(ctx, "PATCH", "/_sim/genstore/apps/"+url.PathEscape(h.App.ClientID), update, http.StatusOK, nil); err != nil {
			return fmt.Errorf("updating the app's registration: %w", err)
		}
	default:
		return fmt.Errorf("registering the app with Genstore: %d %s", status, clip(data, 300))
	}
	if err := h.registerCodePayKeys(ctx); err != nil {
		return err
	}
	return h.admin(ctx, "DELETE", "/_sim/faults", nil, http.StatusOK, nil)
}

// registerCodePayKeys registers a CodePay app's public keys (app.yaml
// psp.sandbox.publicKey, psp.live.publicKey) with the sandbox's CodePay, for
// the merchants app.yaml names. An app without keys in app.yaml must be one
// CodePay knows already (the fixtures' apps).
func (h *Harness) registerCodePayKeys(ctx context.Context) error {
	p := h.App.PSP
	if p.System != "codepay" || (p.Sandbox.PublicKey == "" && p.Live.PublicKey == "") {
		return nil
	}
	if p.Sandbox.AppID != p.Live.AppID {
		return fmt.Errorf("registering the app's CodePay keys: one app id holds both environments' keys, and app.yaml names %s and %s", p.Sandbox.AppID, p.Live.AppID)
	}
	body := map[string]any{"merchants": []string{p.Sandbox.MerchantNo}}
	if p.Sandbox.PublicKey != "" {
		body["sandbox"] = map[string]any{"publicKey": p.Sandbox.PublicKey}
	}
	if p.Live.PublicKey != "" {
		body["live"] = map[string]any{"publicKey": p.Live.PublicKey}
	}
	if err := h.admin(ctx, "PUT", "/_sim/codepay/apps/"+url.PathEscape(p.Sandbox.AppID), body, http.StatusOK, nil); err != nil {
		return fmt.Errorf("registering the app's CodePay keys: %w", err)
	}
	return nil
}

// ---------------------------------------------------------------- the journal

// Event is a journal event as the admin API answers it.
type Event struct {
	Seq     int64             `json:"seq"`
	Time    time.Time         `json:"time"`
	System  string            `json:"system"`
	Kind    string            `json:"kind"`
	IDs     map[string]string `json:"ids"`
	Message string            `json:"message"`
	Data    map[string]any    `json:"data"`
}

func (e Event) str(key string) string {
	switch v := e.Data[key].(type) {
	case string:
		return v
	case nil:
		return ""
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	default:
		return fmt.Sprint(v)
	}
}

func (e Event) num(key string) int {
	f, _ := e.Data[key].(float64)
	return int(f)
}

// ref names an event in evidence: "journal #412 genstore callback.refused".
func (e Event) ref() string { return fmt.Sprintf("journal #%d %s %s", e.Seq, e.System, e.Kind) }

// events reads the journal after seq with the filters of listEvents
// (system, kind, id, shopId, paymentId, or any id name).
// The journal answers a page at a time: this reads every page.
func (h *Harness) events(ctx context.Context, after int64, filters ...string) ([]Event, error) {
	q := url.Values{"limit": {"10000"}}
	for i := 0; i+1 < len(filters); i += 2 {
		q.Set(filters[i], filters[i+1])
	}
	var all []Event
	for {
		q.Set("after", strconv.FormatInt(after, 10))
		var page struct {
			Events  []Event `json:"events"`
			HasMore bool    `json:"hasMore"`
			Next    int64   `json:"next"`
		}
		if err := h.admin(ctx, "GET", "/_sim/events?"+q.Encode(), nil, http.StatusOK, &page); err != nil {
			return nil, err
		}
		all = append(all, page.Events...)
		if !page.HasMore {
			return all, nil
		}
		after = page.Next
	}
}

// lastSeq returns the journal's newest sequence number.
func (h *Harness) lastSeq(ctx context.Context) (int64, error) {
	var out struct {
		LastSeq int64 `json:"lastSeq"`
	}
	err := h.admin(ctx, "GET", "/_sim/events?limit=1", nil, http.StatusOK, &out)
	return out.LastSeq, err
}

// ---------------------------------------------------------------- the PSP's records

// PSPPayment is the PSP's record of a payment: the card gateway's as
// listVMPayments answers it, CodePay's told in the same words (pspview.go).
type PSPPayment struct {
	TradeNo          string `json:"tradeNo"`
	OrderNo          string `json:"orderNo"`
	AppID            string `json:"appId"`
	Environment      string `json:"environment"`
	Status           string `json:"status"`
	Amount           string `json:"amount"`
	Currency         string `json:"currency"`
	AuthorizedAmount string `json:"authorizedAmount"`
	CapturedAmount   string `json:"capturedAmount"`
	RefundedAmount   string `json:"refundedAmount"`
	CaptureMethod    string `json:"captureMethod"`
	MaskedCardNo     string `json:"maskedCardNo"`
	CardNN           string `json:"cardNN"`
	FailureCode      string `json:"failureCode"`
	ThreeDs          *struct {
		TransStatus string `json:"transStatus"`
		Flow        string `json:"flow"`
		ACSTransID  string `json:"acsTransId"`
	} `json:"threeDs"`
	Refunds []PSPRefund `json:"refunds"`
	// Seq is the journal event that recorded its creation.
	Seq int64 `json:"-"`
}

// PSPRefund is one refund of a PSPPayment.
type PSPRefund struct {
	RefundID     string `json:"refundId"`
	RefundNumber string `json:"refundNumber"`
	Amount       string `json:"amount"`
	Status       string `json:"status"`
	Environment  string `json:"environment"`
}

func (p PSPPayment) ref() string {
	return fmt.Sprintf("PSP payment tradeNo %s orderNo %s (%s, %s %s %s, card %s, journal #%d)", p.TradeNo, p.OrderNo, p.Environment, p.Status, p.Amount, p.Currency, p.MaskedCardNo, p.Seq)
}

// pspRefs renders the PSP's payments as evidence.
func pspRefs(ps []PSPPayment) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.ref())
	}
	return out
}

// pspPayments returns the payments the app's PSP created after seq with the
// app's credentials (either environment), oldest first.
func (h *Harness) pspPayments(ctx context.Context, after int64) ([]PSPPayment, error) {
	return h.psp.payments(ctx, h, after)
}

// ---------------------------------------------------------------- the app's spec

// appSpec loads specs/genstore-app.yaml, which the app's answers must follow.
func (h *Harness) appSpec(ctx context.Context) (*openapi3.T, error) {
	h.specOnce.Do(func() {
		h.spec, h.specErr = openapi.Load(ctx, specs.FS(), "genstore-app.yaml", "/", false)
	})
	return h.spec, h.specErr
}

// checkAnswer validates an answer of the app to one of its operations
// (genstore-app.yaml) and returns what is wrong with it, or "".
func (h *Harness) checkAnswer(ctx context.Context, path, method string, status int, body []byte) string {
	doc, err := h.appSpec(ctx)
	if err != nil {
		return "genstore-app.yaml: " + err.Error()
	}
	item := doc.Paths.Value(path)
	if item == nil {
		return "genstore-app.yaml has no path " + path
	}
	op := item.GetOperation(method)
	if op == nil {
		return "genstore-app.yaml has no " + method + " " + path
	}
	resp := op.Responses.Status(status)
	if resp == nil || resp.Value == nil {
		return fmt.Sprintf("HTTP %d is not an answer genstore-app.yaml allows for %s %s", status, method, path)
	}
	media := resp.Value.Content.Get("application/json")
	if media == nil || media.Schema == nil || media.Schema.Value == nil {
		return ""
	}
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		return fmt.Sprintf("the %d answer is not JSON", status)
	}
	err = media.Schema.Value.VisitJSON(v, openapi3.MultiErrors(), openapi3.WithStringFormatValidators(openapi.Formats()), openapi3.EnableFormatValidation())
	if err == nil {
		return ""
	}
	var msgs []string
	for _, vi := range openapi.Violations(err) {
		msgs = append(msgs, vi.Message())
	}
	if len(msgs) == 0 {
		msgs = append(msgs, "does not match the schema")
	}
	return fmt.Sprintf("the %d answer breaks genstore-app.yaml: %s", status, strings.Join(msgs, "; "))
}
