package scenario

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/pspsim/pspsim/internal/godog"
)

// Response is an answer the scenario got — or what went wrong getting it.
type Response struct {
	Status int // 0 when no answer came
	Header http.Header
	Body   []byte
	// Err is the transport error: no answer (a timeout, a reset or closed
	// connection), or an answer whose body broke off (Status is then set).
	Err  error
	Took time.Duration // wall time from sending to the end of the body
}

// Outcome names what happened in a word, for repeated requests and
// messages: the status ("200"), or "timeout", "reset", "closed", "cut".
func (r *Response) Outcome() string {
	switch {
	case r.Err == nil:
		return strconv.Itoa(r.Status)
	case r.Status != 0:
		return "cut"
	case isTimeout(r.Err):
		return "timeout"
	case errors.Is(r.Err, syscall.ECONNRESET):
		return "reset"
	}
	return "closed"
}

func isTimeout(err error) bool {
	var ne interface{ Timeout() bool }
	return errors.As(err, &ne) && ne.Timeout()
}

// Do sends a request to the target and records the answer as Last. A
// transport failure is recorded too (Last.Err) and returned, so that the
// steps that expect one can judge it.
func (w *World) Do(ctx context.Context, method, path string, body []byte) (*Response, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, w.Target+w.Expand(path), rd)
	if err != nil {
		return nil, err
	}
	for k, v := range w.Headers {
		req.Header[k] = v
	}
	if body != nil && req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", "application/json")
	}
	start := time.Now() // wall time: how long the client waited
	res, err := w.Client.Do(req)
	if err != nil {
		w.Last = &Response{Err: err, Took: time.Since(start)}
		return w.Last, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	w.Last = &Response{Status: res.StatusCode, Header: res.Header, Body: b, Err: err, Took: time.Since(start)}
	if err != nil {
		return w.Last, fmt.Errorf("%s %s: reading the answer: %w", method, path, err)
	}
	return w.Last, nil
}

// peek is Do for the requests a step makes for its own bookkeeping (reading
// the clock, the journal, a fault rule; moving the clock): its answer does
// not replace Last, so that the steps about "the response" still judge the
// request the scenario sent.
func (w *World) peek(ctx context.Context, method, path string, body []byte) (*Response, error) {
	saved := w.Last
	defer func() { w.Last = saved }()
	return w.Do(ctx, method, path, body)
}

// quietly runs f, which may send several requests, without replacing the
// scenario's last answer (peek for one request).
func quietly(w *World, f func() error) error {
	saved := w.Last
	defer func() { w.Last = saved }()
	return f()
}

// send is Do for the steps that send: a transport failure is an outcome the
// scenario may expect (a fault), not a failed step.
func (w *World) send(ctx context.Context, method, path string, body []byte) error {
	_, err := w.Do(ctx, method, path, body)
	if err != nil && w.Last == nil {
		return err
	}
	return nil
}

// Field returns the value at a dotted path ("data.trans_no", "events[0].kind")
// in a JSON document. CodePay's data, when it is a JSON-encoded string, is
// entered as if it were an object.
func Field(body []byte, path string) (any, bool) {
	var v any
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return nil, false
	}
	for _, part := range splitPath(path) {
		if s, ok := v.(string); ok && (strings.HasPrefix(s, "{") || strings.HasPrefix(s, "[")) {
			var inner any
			d := json.NewDecoder(strings.NewReader(s))
			d.UseNumber()
			if d.Decode(&inner) == nil {
				v = inner
			}
		}
		switch x := v.(type) {
		case map[string]any:
			var ok bool
			if v, ok = x[part]; !ok {
				return nil, false
			}
		case []any:
			i, err := strconv.Atoi(part)
			if err != nil || i < 0 || i >= len(x) {
				return nil, false
			}
			v = x[i]
		default:
			return nil, false
		}
	}
	return v, true
}

func splitPath(path string) []string {
	path = strings.ReplaceAll(path, "[", ".")
	path = strings.ReplaceAll(path, "]", "")
	var out []string
	for _, p := range strings.Split(path, ".") {
		if p != "" {
			out = append(out, p)
		}
	}
	return out
}

// text renders a JSON value the way a feature file writes it.
func text(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case nil:
		return "null"
	case map[string]any, []any:
		b, _ := json.Marshal(x)
		return string(b)
	default:
		return fmt.Sprint(x)
	}
}

// last returns the latest answer; a request that got none fails the
// assertion with what happened instead.
func last(ctx context.Context) (*World, *Response, error) {
	w := WorldFrom(ctx)
	if w.Last == nil {
		return w, nil, fmt.Errorf("no request was sent yet")
	}
	if w.Last.Err != nil {
		return w, w.Last, fmt.Errorf("the request got no complete answer (%s): %v", w.Last.Outcome(), w.Last.Err)
	}
	return w, w.Last, nil
}

func httpSteps() Group {
	return Group{
		Name: "HTTP",
		Doc:  "Send any request to the simulator and check the answer. Paths start at the simulator's root (`/codepay/api/entry`); `{name}` inserts a remembered value.",
		Steps: append([]Step{
			{
				Pattern: `^I send (GET|POST|PUT|PATCH|DELETE) "([^"]*)"$`,
				Doc:     "Sends a request without a body. A request that gets no answer (a fault) does not fail the step: the next steps judge what happened.",
				Example: `When I send GET "/_sim/health"`,
				Func: func(ctx context.Context, method, path string) error {
					return WorldFrom(ctx).send(ctx, method, path, nil)
				},
			},
			{
				Pattern: `^I send (POST|PUT|PATCH|DELETE) "([^"]*)" with JSON:$`,
				Doc:     "Sends a request with the doc string as its JSON body (`{name}` is expanded).",
				Example: "When I send POST \"/_sim/clock/advance\" with JSON:\n  \"\"\"\n  {\"by\": \"1h\"}\n  \"\"\"",
				Func: func(ctx context.Context, method, path string, body *godog.DocString) error {
					w := WorldFrom(ctx)
					return w.send(ctx, method, path, []byte(w.Expand(body.Content)))
				},
			},
			{
				Pattern: `^I set the header "([^"]*)" to "([^"]*)"$`,
				Doc:     "Sends this header with every later request of the scenario.",
				Example: `Given I set the header "X-Genstore-Access-Token" to "gst_demo_0000000000000000000000000001"`,
				Func: func(ctx context.Context, name, value string) error {
					w := WorldFrom(ctx)
					w.Headers.Set(name, w.Expand(value))
					return nil
				},
			},
			{
				Pattern: `^the response status is (\d{3})$`,
				Doc:     "Checks the HTTP status of the last answer.",
				Example: `Then the response status is 200`,
				Func: func(ctx context.Context, status int) error {
					_, r, err := last(ctx)
					if err != nil {
						return err
					}
					if r.Status != status {
						return fmt.Errorf("status is %d, not %d; body: %s", r.Status, status, clip(r.Body))
					}
					return nil
				},
			},
			{
				Pattern: `^the JSON field "([^"]*)" is "([^"]*)"$`,
				Doc:     "Checks a field of the last answer (dotted path, `[i]` for arrays; numbers compare as written).",
				Example: `Then the JSON field "clock.mode" is "sim"`,
				Func: func(ctx context.Context, path, want string) error {
					w, r, err := last(ctx)
					if err != nil {
						return err
					}
					want = w.Expand(want)
					v, ok := Field(r.Body, path)
					if !ok {
						return fmt.Errorf("the answer has no field %s; body: %s", path, clip(r.Body))
					}
					if text(v) != want {
						return fmt.Errorf("field %s is %q, not %q", path, text(v), want)
					}
					return nil
				},
			},
			{
				Pattern: `^the JSON field "([^"]*)" contains "([^"]*)"$`,
				Doc:     "Checks that a field of the last answer contains a text.",
				Example: `Then the JSON field "errors" contains "pay.result"`,
				Func: func(ctx context.Context, path, want string) error {
					w, r, err := last(ctx)
					if err != nil {
						return err
					}
					v, ok := Field(r.Body, path)
					if !ok || !strings.Contains(text(v), w.Expand(want)) {
						return fmt.Errorf("field %s (%s) does not contain %q", path, text(v), want)
					}
					return nil
				},
			},
			{
				Pattern: `^the JSON field "([^"]*)" exists$`,
				Doc:     "Checks that the last answer has a field.",
				Example: `Then the JSON field "sign" exists`,
				Func: func(ctx context.Context, path string) error {
					_, r, err := last(ctx)
					if err != nil {
						return err
					}
					if _, ok := Field(r.Body, path); !ok {
						return fmt.Errorf("the answer has no field %s; body: %s", path, clip(r.Body))
					}
					return nil
				},
			},
			{
				Pattern: `^I remember the JSON field "([^"]*)" as "([^"]*)"$`,
				Doc:     "Remembers a field of the last answer; later steps write it {name}.",
				Example: `And I remember the JSON field "accessToken" as "token"`,
				Func: func(ctx context.Context, path, name string) error {
					w, r, err := last(ctx)
					if err != nil {
						return err
					}
					v, ok := Field(r.Body, path)
					if !ok {
						return fmt.Errorf("the answer has no field %s; body: %s", path, clip(r.Body))
					}
					w.Set(name, text(v))
					return nil
				},
			},
		}, httpFaultSteps()...),
	}
}

func clip(b []byte) string {
	if len(b) > 600 {
		return string(b[:600]) + "…"
	}
	return string(b)
}
