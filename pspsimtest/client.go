package pspsimtest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/pspsim/pspsim/simulator/control"
)

// Client is a typed client for pspsim's control API (/_sim, specs/admin.yaml)
// of a sandbox started by Start or of any running `pspsim serve`.
//
// It is written by hand rather than generated: the spec has some sixty
// operations whose bodies are mostly open objects, of which a test needs a
// dozen verbs, several of them not single calls at all (waiting for an
// event polls the journal's pages). A generated client would bring a runtime
// module and map[string]any types for the parts that matter; this one is
// the verbs, and TestClientMatchesAdminSpec keeps it honest: each operation
// below must exist in the spec with its method, path and success status, and
// each field of its types must be a property of the spec's schema.
type Client struct {
	base string
	http *http.Client
	// Poll is how often WaitEvent reads the journal (wall time); default
	// 10ms.
	Poll time.Duration
}

// NewClient returns a client of the pspsim at baseURL (http://host:port).
// token is its admin token when it has one ("" reads none).
func NewClient(baseURL, token string) *Client {
	return &Client{base: strings.TrimRight(baseURL, "/"), http: &http.Client{Transport: control.Transport(nil, token), Timeout: time.Minute}}
}

// operation is one control-API call: its spec identity and success status.
type operation struct {
	id, method, path string // path with {params}, below /_sim
	status           int
	req, resp        any // zero values of the request and answer types (nil: none), for the drift test
}

// ops are the operations the client calls.
var ops = map[string]operation{
	"getHealth":                 {"getHealth", "GET", "/health", 200, nil, Health{}},
	"resetSimulator":            {"resetSimulator", "POST", "/reset", 200, nil, nil},
	"getClock":                  {"getClock", "GET", "/clock", 200, nil, Clock{}},
	"advanceClock":              {"advanceClock", "POST", "/clock/advance", 200, advanceRequest{}, ClockMove{}},
	"setClock":                  {"setClock", "POST", "/clock/set", 200, setClockRequest{}, ClockMove{}},
	"listEvents":                {"listEvents", "GET", "/events", 200, nil, EventPage{}},
	"createFaultRule":           {"createFaultRule", "POST", "/faults", 201, FaultRule{}, FaultStatus{}},
	"listFaultRules":            {"listFaultRules", "GET", "/faults", 200, nil, faultList{}},
	"deleteFaultRule":           {"deleteFaultRule", "DELETE", "/faults/{id}", 200, nil, nil},
	"clearFaultRules":           {"clearFaultRules", "DELETE", "/faults", 200, nil, cleared{}},
	"registerCanaries":          {"registerCanaries", "POST", "/canaries", 201, canaryRequest{}, canaryList{}},
	"listCanaries":              {"listCanaries", "GET", "/canaries", 200, nil, canaryList{}},
	"clearCanaries":             {"clearCanaries", "DELETE", "/canaries", 200, nil, cleared{}},
	"registerGenstoreApp":       {"registerGenstoreApp", "POST", "/genstore/apps", 201, App{}, nil},
	"installGenstoreApp":        {"installGenstoreApp", "POST", "/genstore/shops/{shopId}/installations", 201, installRequest{}, Installation{}},
	"createGenstorePayment":     {"createGenstorePayment", "POST", "/genstore/shops/{shopId}/payments", 201, PaymentRequest{}, Payment{}},
	"getGenstorePayment":        {"getGenstorePayment", "GET", "/genstore/shops/{shopId}/payments/{paymentId}", 200, nil, Payment{}},
	"captureGenstorePayment":    {"captureGenstorePayment", "POST", "/genstore/shops/{shopId}/payments/{paymentId}/captures", 201, operationRequest{}, OperationResult{}},
	"voidGenstorePayment":       {"voidGenstorePayment", "POST", "/genstore/shops/{shopId}/payments/{paymentId}/voids", 201, operationRequest{}, OperationResult{}},
	"refundGenstorePayment":     {"refundGenstorePayment", "POST", "/genstore/shops/{shopId}/payments/{paymentId}/refunds", 201, operationRequest{}, OperationResult{}},
	"followGenstoreRedirect":    {"followGenstoreRedirect", "POST", "/genstore/shops/{shopId}/payments/{paymentId}/buyer/redirect", 200, nil, Page{}},
	"completeGenstoreChallenge": {"completeGenstoreChallenge", "POST", "/genstore/shops/{shopId}/payments/{paymentId}/buyer/challenge", 200, challengeRequest{}, ChallengeResult{}},
	"getCodePayTerminal":        {"getCodePayTerminal", "GET", "/codepay/terminals/{sn}", 200, nil, Terminal{}},
	"actOnCodePayTerminal":      {"actOnCodePayTerminal", "POST", "/codepay/terminals/{sn}/actions/{action}", 200, TerminalAction{}, Terminal{}},
}

// Error is a control-API refusal: the HTTP status and the admin dialect's
// error ({"error": {code, message, field}}).
type Error struct {
	Operation string
	Status    int
	Code      string
	Message   string
	Field     string
}

func (e *Error) Error() string {
	msg := fmt.Sprintf("pspsim %s: HTTP %d %s: %s", e.Operation, e.Status, e.Code, e.Message)
	if e.Field != "" {
		msg += " (field " + e.Field + ")"
	}
	return msg
}

// call runs operation id with the path parameters in order, query, body
// (nil: none) and decodes the answer into out (nil: discarded).
func (c *Client) call(ctx context.Context, id string, params []string, query url.Values, body, out any) error {
	op, ok := ops[id]
	if !ok {
		return fmt.Errorf("pspsimtest: unknown operation %s", id)
	}
	path := op.path
	for _, p := range params {
		i, j := strings.IndexByte(path, '{'), strings.IndexByte(path, '}')
		if i < 0 || j < i {
			return fmt.Errorf("pspsimtest: %s: too many path parameters", id)
		}
		path = path[:i] + url.PathEscape(p) + path[j+1:]
	}
	u := c.base + control.Prefix + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("pspsimtest: %s: %w", id, err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, op.method, u, rd)
	if err != nil {
		return fmt.Errorf("pspsimtest: %s: %w", id, err)
	}
	req.Header.Set("Accept", "application/json")
	if op.method != http.MethodGet {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("pspsimtest: %s: %w", id, err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(res.Body, 32<<20))
	if err != nil {
		return fmt.Errorf("pspsimtest: %s: reading the answer: %w", id, err)
	}
	if res.StatusCode != op.status {
		e := &Error{Operation: id, Status: res.StatusCode}
		var env struct {
			Error struct{ Code, Message, Field string } `json:"error"`
		}
		if json.Unmarshal(raw, &env) == nil && env.Error.Message != "" {
			e.Code, e.Message, e.Field = env.Error.Code, env.Error.Message, env.Error.Field
		} else {
			e.Message = strings.TrimSpace(string(raw))
		}
		return e
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("pspsimtest: %s: decoding the answer: %w", id, err)
	}
	return nil
}

// Health asks whether the simulator is up.
func (c *Client) Health(ctx context.Context) (Health, error) {
	var h Health
	return h, c.call(ctx, "getHealth", nil, nil, nil, &h)
}

// Reset forgets every object and event and reloads the fixtures; the clock
// does not move.
func (c *Client) Reset(ctx context.Context) error {
	return c.call(ctx, "resetSimulator", nil, nil, nil, nil)
}

// Clock returns the simulator's time.
func (c *Client) Clock(ctx context.Context) (Clock, error) {
	var out Clock
	return out, c.call(ctx, "getClock", nil, nil, nil, &out)
}

// Advance moves the simulated clock forward by d, firing the timers that
// fall due (retries, deadlines, reconciliation) in order before it answers.
func (c *Client) Advance(ctx context.Context, d time.Duration) (ClockMove, error) {
	var out ClockMove
	return out, c.call(ctx, "advanceClock", nil, nil, advanceRequest{By: d.String()}, &out)
}

// SetClock moves the simulated clock to t (not backwards).
func (c *Client) SetClock(ctx context.Context, t time.Time) (ClockMove, error) {
	var out ClockMove
	return out, c.call(ctx, "setClock", nil, nil, setClockRequest{To: t}, &out)
}

// Events returns one page of the journal, oldest first.
func (c *Client) Events(ctx context.Context, q EventQuery) (EventPage, error) {
	v := url.Values{}
	for k, s := range map[string]string{"system": q.System, "kind": q.Kind, "id": q.ID, "shopId": q.ShopID, "paymentId": q.PaymentID} {
		if s != "" {
			v.Set(k, s)
		}
	}
	// Reading forward from a cursor; 0 reads from the oldest event kept.
	v.Set("after", strconv.FormatInt(q.After, 10))
	if q.Limit > 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	var out EventPage
	return out, c.call(ctx, "listEvents", nil, v, nil, &out)
}

// WaitEvent returns the first event matching q (after q.After), polling the
// journal until one arrives or ctx ends. Give ctx a deadline.
func (c *Client) WaitEvent(ctx context.Context, q EventQuery) (Event, error) {
	poll := c.Poll
	if poll <= 0 {
		poll = 10 * time.Millisecond
	}
	for {
		page, err := c.Events(ctx, q)
		if err != nil {
			return Event{}, err
		}
		if len(page.Events) > 0 {
			return page.Events[0], nil
		}
		q.After = max(q.After, page.Next)
		select {
		case <-ctx.Done():
			return Event{}, fmt.Errorf("pspsimtest: no %s event (system %q, id %q, payment %q): %w", orAny(q.Kind), q.System, q.ID, q.PaymentID, ctx.Err())
		case <-time.After(poll):
		}
	}
}

func orAny(kind string) string {
	if kind == "" {
		return "matching"
	}
	return kind
}

// WaitCallback waits until Genstore has received the app's result callback
// for payment paymentID (journal kind callback.received) and returns it.
// Its data holds the callback's operation and result.
func (c *Client) WaitCallback(ctx context.Context, paymentID string) (Event, error) {
	return c.WaitEvent(ctx, EventQuery{System: "genstore", Kind: "callback.received", PaymentID: paymentID})
}

// AddFault installs a fault rule after the other run-time rules.
func (c *Client) AddFault(ctx context.Context, r FaultRule) (FaultStatus, error) {
	var out FaultStatus
	return out, c.call(ctx, "createFaultRule", nil, nil, r, &out)
}

// Faults lists the rules in evaluation order with their hit counts.
func (c *Client) Faults(ctx context.Context) ([]FaultStatus, error) {
	var out faultList
	return out.Rules, c.call(ctx, "listFaultRules", nil, nil, nil, &out)
}

// DeleteFault removes one rule.
func (c *Client) DeleteFault(ctx context.Context, id string) error {
	return c.call(ctx, "deleteFaultRule", []string{id}, nil, nil, nil)
}

// ClearFaults removes the run-time rules (not those of files, config and
// magic amounts) and says how many.
func (c *Client) ClearFaults(ctx context.Context) (int, error) {
	var out cleared
	return out.Cleared, c.call(ctx, "clearFaultRules", nil, nil, nil, &out)
}

// WatchCanaries registers card numbers that must never appear in what a
// payment app sends or answers; a sighting is journaled as privacy.leak.
func (c *Client) WatchCanaries(ctx context.Context, label string, numbers ...string) ([]Canary, error) {
	var out canaryList
	return out.Canaries, c.call(ctx, "registerCanaries", nil, nil, canaryRequest{Numbers: numbers, Label: label}, &out)
}

// Canaries lists the watched numbers, masked, with their sightings.
func (c *Client) Canaries(ctx context.Context) ([]Canary, error) {
	var out canaryList
	return out.Canaries, c.call(ctx, "listCanaries", nil, nil, nil, &out)
}

// ClearCanaries stops watching every canary.
func (c *Client) ClearCanaries(ctx context.Context) error {
	return c.call(ctx, "clearCanaries", nil, nil, nil, nil)
}

// RegisterApp registers a payment app with Genstore.
func (c *Client) RegisterApp(ctx context.Context, a App) error {
	return c.call(ctx, "registerGenstoreApp", nil, nil, a, nil)
}

// Install is the merchant installing an app on a shop: Genstore opens the
// app's onboarding URL with a code that the app exchanges for its access
// token, then the app reports itself ready (docs/CONTRACT.md §1).
func (c *Client) Install(ctx context.Context, shopID, clientID string) (Installation, error) {
	var out Installation
	return out, c.call(ctx, "installGenstoreApp", []string{shopID}, nil, installRequest{ClientID: clientID}, &out)
}

// Pay is a buyer paying at a Genstore shop's checkout: Genstore sends the
// Payment Object to the shop's payment app. The answer is the payment as
// created; the app's result arrives later (WaitCallback).
func (c *Client) Pay(ctx context.Context, shopID string, r PaymentRequest) (Payment, error) {
	var out Payment
	return out, c.call(ctx, "createGenstorePayment", []string{shopID}, nil, r, &out)
}

// Payment returns a Genstore payment as the merchant sees it.
func (c *Client) Payment(ctx context.Context, shopID, paymentID string) (Payment, error) {
	var out Payment
	return out, c.call(ctx, "getGenstorePayment", []string{shopID, paymentID}, nil, nil, &out)
}

// Capture is the merchant capturing an authorized payment; amount "" is
// the whole authorized amount.
func (c *Client) Capture(ctx context.Context, shopID, paymentID, amount string) (OperationResult, error) {
	var out OperationResult
	return out, c.call(ctx, "captureGenstorePayment", []string{shopID, paymentID}, nil, operationRequest{Amount: amount}, &out)
}

// Void is the merchant voiding an authorized, uncaptured payment.
func (c *Client) Void(ctx context.Context, shopID, paymentID string) (OperationResult, error) {
	var out OperationResult
	return out, c.call(ctx, "voidGenstorePayment", []string{shopID, paymentID}, nil, operationRequest{}, &out)
}

// Refund is the merchant refunding a successful payment; amount "" is what
// can still be refunded.
func (c *Client) Refund(ctx context.Context, shopID, paymentID, amount string) (OperationResult, error) {
	var out OperationResult
	return out, c.call(ctx, "refundGenstorePayment", []string{shopID, paymentID}, nil, operationRequest{Amount: amount}, &out)
}

// FollowRedirect is the buyer's browser opening the redirectUrl the app
// gave for the payment.
func (c *Client) FollowRedirect(ctx context.Context, shopID, paymentID string) (Page, error) {
	var out Page
	return out, c.call(ctx, "followGenstoreRedirect", []string{shopID, paymentID}, nil, nil, &out)
}

// CompleteChallenge is the buyer typing otp on the challenge page
// (TESTCARDS.md: 123456 passes, 000000 fails); otp "" abandons it.
func (c *Client) CompleteChallenge(ctx context.Context, shopID, paymentID, otp string) (ChallengeResult, error) {
	r := challengeRequest{OTP: otp, Action: "submit"}
	if otp == "" {
		r = challengeRequest{Action: "cancel"}
	}
	var out ChallengeResult
	return out, c.call(ctx, "completeGenstoreChallenge", []string{shopID, paymentID}, nil, r, &out)
}

// Terminal returns a virtual CodePay terminal: online or not, its screen
// and queue.
func (c *Client) Terminal(ctx context.Context, sn string) (Terminal, error) {
	var out Terminal
	return out, c.call(ctx, "getCodePayTerminal", []string{sn}, nil, nil, &out)
}

// TerminalAct does something on a terminal as its cashier or buyer would:
// online, offline, confirm, approve, decline, tip, card, wallet, sign,
// cancel.
func (c *Client) TerminalAct(ctx context.Context, sn, action string, a TerminalAction) (Terminal, error) {
	var out Terminal
	return out, c.call(ctx, "actOnCodePayTerminal", []string{sn, action}, nil, a, &out)
}

// IsNotFound reports whether err is the control API's 404.
func IsNotFound(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Status == http.StatusNotFound
}
