package scenario

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"

	"github.com/pspsim/pspsim/internal/godog"

	"github.com/pspsim/pspsim/simulator/faults"
)

// Received is one request a Receiver got.
type Received struct {
	Method string
	Path   string
	Header http.Header
	Body   []byte
}

// Receiver stands in for an app's endpoint: an HTTP server in the scenario's
// process that records what the simulator sends it and answers as told. Its
// URL is remembered under its name, so `{app}` in a step is its address.
// Against a remote simulator it must be reachable from there (same host).
type Receiver struct {
	Name string
	URL  string

	mu       sync.Mutex
	got      []Received
	status   int // the answer after the first `times` answers
	first    int // answer `firstSt` to the first `first` requests
	firstSt  int
	answered int
}

func (rc *Receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	rc.mu.Lock()
	rc.got = append(rc.got, Received{Method: r.Method, Path: r.URL.Path, Header: r.Header.Clone(), Body: b})
	rc.answered++
	status := rc.status
	if rc.answered <= rc.first {
		status = rc.firstSt
	}
	rc.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write([]byte(`{}`))
}

// Got returns a copy of what the receiver got, in arrival order.
func (rc *Receiver) Got() []Received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]Received(nil), rc.got...)
}

// Receiver returns the scenario's receiver called name.
func (w *World) Receiver(name string) (*Receiver, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	rc := w.receivers[name]
	if rc == nil {
		return nil, fmt.Errorf("no receiver %q: start one with `Given a receiver %q`", name, name)
	}
	return rc, nil
}

// messageSettings shape the test messages a scenario sends.
type messageSettings struct {
	secret     string
	retry      []string
	contradict json.RawMessage
}

const defaultSecret = "pspsim-test-secret"

func (w *World) testMessage(ctx context.Context, system, kind, receiver, path string, body string) error {
	rc, err := w.Receiver(receiver)
	if err != nil {
		return err
	}
	w.mu.Lock()
	ms := w.messages
	w.mu.Unlock()
	if ms.secret == "" {
		ms.secret = defaultSecret
	}
	if !json.Valid([]byte(body)) {
		return fmt.Errorf("the message body is not JSON: %s", clip([]byte(body)))
	}
	req := map[string]any{"url": rc.URL + path, "system": system, "kind": kind, "body": json.RawMessage(body), "secret": ms.secret}
	if len(ms.retry) > 0 {
		req["retry"] = ms.retry
	}
	if ms.contradict != nil {
		req["contradict"] = ms.contradict
	}
	var probe map[string]any
	json.Unmarshal([]byte(body), &probe)
	ids := map[string]string{}
	for _, k := range []string{"orderNo", "paymentId", "merchant_order_no", "refundId", "captureId"} {
		if v, ok := probe[k].(string); ok {
			ids[k] = v
		}
	}
	if len(ids) > 0 {
		req["ids"] = ids
	}
	b, _ := json.Marshal(req)
	r, err := w.peek(ctx, "POST", "/_sim/deliveries/test", b)
	if err != nil {
		return err
	}
	if r.Status != 200 {
		return fmt.Errorf("sending the test message: %d %s", r.Status, clip(r.Body))
	}
	return nil
}

func deliverySteps() Group {
	return Group{
		Name: "Deliveries",
		Doc: "What the simulator sends — Genstore's requests to apps, CodePay notifications, gateway webhooks — arrives at receivers: HTTP endpoints the scenario starts, standing in for an app. " +
			"A receiver's address is remembered under its name (`{app}`), to configure as an app's URL. " +
			"Test messages (`POST /_sim/deliveries/test`) go through the same machinery — retries on the clock, the journal, delivery faults — so a scenario can rehearse lost, late, duplicated, reordered, contradicting and forged messages.",
		Steps: []Step{
			{
				Pattern: `^a receiver "([^"]*)"$`,
				Doc:     "Starts a receiver that answers 200 `{}` to everything and records what it gets; `{name}` is its base URL.",
				Example: `Given a receiver "app"`,
				Func: func(ctx context.Context, name string) error {
					w := WorldFrom(ctx)
					rc := &Receiver{Name: name, status: 200}
					srv := httptest.NewServer(rc)
					rc.URL = srv.URL
					w.mu.Lock()
					if w.receivers == nil {
						w.receivers = map[string]*Receiver{}
					}
					if w.receivers[name] != nil {
						w.mu.Unlock()
						srv.Close()
						return fmt.Errorf("there is already a receiver %q", name)
					}
					w.receivers[name] = rc
					w.mu.Unlock()
					w.OnClose(srv.Close)
					w.Set(name, srv.URL)
					return nil
				},
			},
			{
				Pattern: `^the receiver "([^"]*)" answers (\d{3})(?: the first (\d+) times?)?$`,
				Doc:     "Sets the receiver's answer status: always, or only for its next N requests (then 200 again).",
				Example: `Given the receiver "app" answers 503 the first 2 times`,
				Func: func(ctx context.Context, name string, status int, times string) error {
					rc, err := WorldFrom(ctx).Receiver(name)
					if err != nil {
						return err
					}
					rc.mu.Lock()
					defer rc.mu.Unlock()
					if times == "" {
						rc.status = status
						return nil
					}
					var n int
					fmt.Sscanf(times, "%d", &n)
					rc.first, rc.firstSt, rc.answered = n, status, 0
					return nil
				},
			},
			{
				Pattern: `^test messages are signed with the secret "([^"]*)"$`,
				Doc:     "Signs later test messages with this key (hex HMAC-SHA256 of the body in `X-Pspsim-Signature`); the default is `" + defaultSecret + "`.",
				Example: `Given test messages are signed with the secret "s3cret"`,
				Func: func(ctx context.Context, secret string) error {
					w := WorldFrom(ctx)
					w.mu.Lock()
					defer w.mu.Unlock()
					w.messages.secret = secret
					return nil
				},
			},
			{
				Pattern: `^test messages are retried after "([^"]*)"$`,
				Doc:     "Gives later test messages a retry schedule on the simulator's clock (comma-separated waits); by default a message is tried once.",
				Example: `Given test messages are retried after "30s, 2m, 10m"`,
				Func: func(ctx context.Context, list string) error {
					w := WorldFrom(ctx)
					var retry []string
					for _, p := range strings.Split(list, ",") {
						p = strings.TrimSpace(p)
						if d, err := time.ParseDuration(p); err != nil || d <= 0 {
							return fmt.Errorf("%q is not a positive duration", p)
						}
						retry = append(retry, p)
					}
					w.mu.Lock()
					defer w.mu.Unlock()
					w.messages.retry = retry
					return nil
				},
			},
			{
				Pattern: `^test messages are contradicted by:$`,
				Doc:     "Says what a test message's contradiction is: fields (JSON) that replace the message's own (`{\"status\": \"FAILED\"}`), used by the contradicting-result fault.",
				Example: "Given test messages are contradicted by:\n  \"\"\"\n  {\"status\": \"FAILED\"}\n  \"\"\"",
				Func: func(ctx context.Context, doc *godog.DocString) error {
					w := WorldFrom(ctx)
					raw := []byte(w.Expand(doc.Content))
					var probe map[string]any
					if json.Unmarshal(raw, &probe) != nil {
						return fmt.Errorf("the contradiction must be a JSON object")
					}
					w.mu.Lock()
					defer w.mu.Unlock()
					w.messages.contradict = raw
					return nil
				},
			},
			{
				Pattern: `^(genstore|codepay|vmgateway|sim) sends a "([^"]*)" test message to the receiver "([^"]*)"(?: at "([^"]*)")? with JSON:$`,
				Doc:     "Sends a test message of this kind, as this system, to the receiver (at a path, default /): the first attempt happens before the step ends; retries follow the clock.",
				Example: "When codepay sends a \"notification\" test message to the receiver \"app\" with JSON:\n  \"\"\"\n  {\"orderNo\": \"A1\", \"status\": \"SUCCESS\", \"order_amount\": 10.00}\n  \"\"\"",
				Func: func(ctx context.Context, system, kind, receiver, path string, doc *godog.DocString) error {
					w := WorldFrom(ctx)
					if path == "" {
						path = "/"
					}
					return w.testMessage(ctx, system, kind, receiver, path, w.Expand(doc.Content))
				},
			},
			{
				Pattern: `^the receiver "([^"]*)" got (\d+) requests?$`,
				Doc:     "Checks how many requests the receiver got.",
				Example: `Then the receiver "app" got 2 requests`,
				Func: func(ctx context.Context, name string, n int) error {
					rc, err := WorldFrom(ctx).Receiver(name)
					if err != nil {
						return err
					}
					if got := rc.Got(); len(got) != n {
						return fmt.Errorf("the receiver %s got %d requests, not %d%s", name, len(got), n, bodies(got))
					}
					return nil
				},
			},
			{
				Pattern: `^the receiver "([^"]*)" got nothing$`,
				Doc:     "Checks that the receiver got no request at all.",
				Example: `Then the receiver "app" got nothing`,
				Func: func(ctx context.Context, name string) error {
					rc, err := WorldFrom(ctx).Receiver(name)
					if err != nil {
						return err
					}
					if got := rc.Got(); len(got) != 0 {
						return fmt.Errorf("the receiver %s got %d requests%s", name, len(got), bodies(got))
					}
					return nil
				},
			},
			{
				Pattern: `^the receiver "([^"]*)" request (\d+) has the JSON field "([^"]*)" set to "([^"]*)"$`,
				Doc:     "Checks a field of the nth request the receiver got (counting from 1).",
				Example: `Then the receiver "app" request 2 has the JSON field "status" set to "FAILED"`,
				Func: func(ctx context.Context, name string, n int, path, want string) error {
					w := WorldFrom(ctx)
					req, err := nthReceived(w, name, n)
					if err != nil {
						return err
					}
					v, ok := Field(req.Body, path)
					if !ok || text(v) != w.Expand(want) {
						return fmt.Errorf("request %d to %s: field %s is %q, not %q", n, name, path, text(v), want)
					}
					return nil
				},
			},
			{
				Pattern: `^the receiver "([^"]*)" got the JSON field "([^"]*)" in this order: "([^"]*)"$`,
				Doc:     "Checks a field of every request the receiver got, in arrival order (comma-separated).",
				Example: `Then the receiver "app" got the JSON field "orderNo" in this order: "A2, A1"`,
				Func: func(ctx context.Context, name, path, want string) error {
					rc, err := WorldFrom(ctx).Receiver(name)
					if err != nil {
						return err
					}
					var got []string
					for _, r := range rc.Got() {
						v, _ := Field(r.Body, path)
						got = append(got, text(v))
					}
					if strings.Join(got, ",") != norm(want) {
						return fmt.Errorf("the receiver %s got %s in this order: %q, not %q", name, path, strings.Join(got, ", "), want)
					}
					return nil
				},
			},
			{
				Pattern: `^the receiver "([^"]*)" got identical requests$`,
				Doc:     "Checks that every request the receiver got had the same body (retries and duplicates are byte-identical).",
				Example: `Then the receiver "app" got identical requests`,
				Func: func(ctx context.Context, name string) error {
					rc, err := WorldFrom(ctx).Receiver(name)
					if err != nil {
						return err
					}
					got := rc.Got()
					for i, r := range got {
						if string(r.Body) != string(got[0].Body) {
							return fmt.Errorf("request %d differs from request 1%s", i+1, bodies(got))
						}
					}
					return nil
				},
			},
			{
				Pattern: `^the receiver "([^"]*)" request (\d+) has (a valid|an invalid) signature$`,
				Doc:     "Checks a test message's `X-Pspsim-Signature` against the scenario's secret.",
				Example: `Then the receiver "app" request 1 has an invalid signature`,
				Func: func(ctx context.Context, name string, n int, which string) error {
					w := WorldFrom(ctx)
					req, err := nthReceived(w, name, n)
					if err != nil {
						return err
					}
					w.mu.Lock()
					secret := w.messages.secret
					w.mu.Unlock()
					if secret == "" {
						secret = defaultSecret
					}
					valid := req.Header.Get(faults.SignatureHeader) == faults.Sign(secret, req.Body)
					if valid != (which == "a valid") {
						return fmt.Errorf("request %d to %s does not have %s signature", n, name, which)
					}
					return nil
				},
			},
		},
	}
}

func nthReceived(w *World, name string, n int) (Received, error) {
	rc, err := w.Receiver(name)
	if err != nil {
		return Received{}, err
	}
	got := rc.Got()
	if n < 1 || n > len(got) {
		return Received{}, fmt.Errorf("the receiver %s got %d requests, there is no request %d", name, len(got), n)
	}
	return got[n-1], nil
}

func bodies(got []Received) string {
	var b strings.Builder
	for i, r := range got {
		fmt.Fprintf(&b, "\n  %d: %s", i+1, clip(r.Body))
	}
	return b.String()
}
