package scenario

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/pspsim/pspsim/internal/godog"
)

// httpFaultSteps are the HTTP steps QA needs to see faults from the client's
// side: timeouts, resets, answers cut short, repeated requests.
func httpFaultSteps() []Step {
	return []Step{
		{
			Pattern: `^requests time out after "([^"]*)"$`,
			Doc:     "Gives up on any later request of the scenario that has no complete answer after this long (wall time), as an app's HTTP client would. Without it the scenario waits as long as the simulator holds the connection.",
			Example: `Given requests time out after "2s"`,
			Func: func(ctx context.Context, d string) error {
				dur, err := time.ParseDuration(d)
				if err != nil || dur <= 0 {
					return fmt.Errorf("%q is not a positive duration like 2s", d)
				}
				WorldFrom(ctx).Client.Timeout = dur
				return nil
			},
		},
		{
			Pattern: `^I send (GET|POST|PUT|PATCH|DELETE) "([^"]*)" (\d+) times$`,
			Doc:     "Sends the same request without a body several times, one after the other, and keeps every outcome for the steps about \"those answers\".",
			Example: `When I send GET "/_sim/health" 10 times`,
			Func: func(ctx context.Context, method, path string, n int) error {
				return WorldFrom(ctx).repeat(ctx, method, path, nil, n)
			},
		},
		{
			Pattern: `^I send (POST|PUT|PATCH|DELETE) "([^"]*)" (\d+) times with JSON:$`,
			Doc:     "Sends the same request with the doc string as its JSON body several times and keeps every outcome.",
			Example: "When I send POST \"/vm/v1/auth/token\" 5 times with JSON:\n  \"\"\"\n  {\"appId\": \"086666075137001\", \"secret\": \"184E52CF5365D2D7EE8EDA************\"}\n  \"\"\"",
			Func: func(ctx context.Context, method, path string, n int, body *godog.DocString) error {
				w := WorldFrom(ctx)
				return w.repeat(ctx, method, path, []byte(w.Expand(body.Content)), n)
			},
		},
		{
			Pattern: `^those answers were "([^"]*)"$`,
			Doc:     "Checks the outcomes of the repeated request, in order, comma-separated: an HTTP status, or `timeout`, `reset`, `closed` (no answer), `cut` (a body that broke off).",
			Example: `Then those answers were "503, 200, 200, 503, 200, 200"`,
			Func: func(ctx context.Context, want string) error {
				w := WorldFrom(ctx)
				var got []string
				for _, r := range w.Batch {
					got = append(got, r.Outcome())
				}
				if norm(want) != strings.Join(got, ",") {
					return fmt.Errorf("those answers were %q, not %q", strings.Join(got, ", "), want)
				}
				return nil
			},
		},
		{
			Pattern: `^(\d+) of those answers (?:was|were) "([^"]*)"$`,
			Doc:     "Counts the outcomes of the repeated request that were this status or failure.",
			Example: `Then 3 of those answers were "503"`,
			Func: func(ctx context.Context, n int, outcome string) error {
				count := 0
				for _, r := range WorldFrom(ctx).Batch {
					if r.Outcome() == outcome {
						count++
					}
				}
				if count != n {
					return fmt.Errorf("%d of those answers were %s, not %d", count, outcome, n)
				}
				return nil
			},
		},
		{
			Pattern: `^the request times out$`,
			Doc:     "Checks that the last request got no answer before the client gave up (see \"requests time out after\").",
			Example: `Then the request times out`,
			Func: func(ctx context.Context) error {
				return expectFailure(ctx, "timeout", "a client timeout")
			},
		},
		{
			Pattern: `^the connection is reset$`,
			Doc:     "Checks that the last request's connection was reset (TCP RST: \"connection reset by peer\").",
			Example: `Then the connection is reset`,
			Func: func(ctx context.Context) error {
				return expectFailure(ctx, "reset", "a connection reset")
			},
		},
		{
			Pattern: `^the connection closes without an answer$`,
			Doc:     "Checks that the simulator closed the last request's connection without answering.",
			Example: `Then the connection closes without an answer`,
			Func: func(ctx context.Context) error {
				return expectFailure(ctx, "closed", "a connection closed without an answer")
			},
		},
		{
			Pattern: `^the answer is cut short$`,
			Doc:     "Checks that the last answer's status and headers came but its body broke off before its announced length.",
			Example: `Then the answer is cut short`,
			Func: func(ctx context.Context) error {
				w := WorldFrom(ctx)
				if w.Last == nil {
					return fmt.Errorf("no request was sent yet")
				}
				if w.Last.Outcome() != "cut" || !errors.Is(w.Last.Err, io.ErrUnexpectedEOF) {
					return fmt.Errorf("the answer was not cut short: %s", describe(w.Last))
				}
				return nil
			},
		},
		{
			Pattern: `^the response body is not JSON$`,
			Doc:     "Checks that the last answer's body cannot be parsed as JSON (a proxy's HTML page, a broken body).",
			Example: `Then the response body is not JSON`,
			Func: func(ctx context.Context) error {
				_, r, err := last(ctx)
				if err != nil {
					return err
				}
				if json.Valid(r.Body) {
					return fmt.Errorf("the body is valid JSON: %s", clip(r.Body))
				}
				return nil
			},
		},
		{
			Pattern: `^the response header "([^"]*)" is "([^"]*)"$`,
			Doc:     "Checks a header of the last answer (`X-Pspsim-Fault` names the fault rule that answered).",
			Example: `Then the response header "Retry-After" is "30"`,
			Func: func(ctx context.Context, name, want string) error {
				w, r, err := last(ctx)
				if err != nil {
					return err
				}
				if got := r.Header.Get(name); got != w.Expand(want) {
					return fmt.Errorf("header %s is %q, not %q", name, got, want)
				}
				return nil
			},
		},
		{
			Pattern: `^the request took at least "([^"]*)"$`,
			Doc:     "Checks that the last request took at least this long (wall time), e.g. under an added latency.",
			Example: `Then the request took at least "1s"`,
			Func: func(ctx context.Context, d string) error {
				return tookCheck(ctx, d, true)
			},
		},
		{
			Pattern: `^the request took less than "([^"]*)"$`,
			Doc:     "Checks that the last request took less than this long (wall time).",
			Example: `Then the request took less than "500ms"`,
			Func: func(ctx context.Context, d string) error {
				return tookCheck(ctx, d, false)
			},
		},
	}
}

func (w *World) repeat(ctx context.Context, method, path string, body []byte, n int) error {
	if n < 1 || n > 10000 {
		return fmt.Errorf("send between 1 and 10000 times, not %d", n)
	}
	w.Batch = nil
	for i := 0; i < n; i++ {
		if err := w.send(ctx, method, path, body); err != nil {
			return err
		}
		w.Batch = append(w.Batch, w.Last)
	}
	return nil
}

func norm(list string) string {
	parts := strings.Split(list, ",")
	for i := range parts {
		parts[i] = strings.TrimSpace(parts[i])
	}
	return strings.Join(parts, ",")
}

func describe(r *Response) string {
	if r.Err != nil {
		if r.Status != 0 {
			return fmt.Sprintf("HTTP %d, then %v", r.Status, r.Err)
		}
		return r.Err.Error()
	}
	return fmt.Sprintf("HTTP %d %s", r.Status, clip(r.Body))
}

func expectFailure(ctx context.Context, outcome, what string) error {
	w := WorldFrom(ctx)
	if w.Last == nil {
		return fmt.Errorf("no request was sent yet")
	}
	if got := w.Last.Outcome(); got != outcome {
		return fmt.Errorf("want %s, got: %s", what, describe(w.Last))
	}
	return nil
}

func tookCheck(ctx context.Context, d string, atLeast bool) error {
	w := WorldFrom(ctx)
	dur, err := time.ParseDuration(d)
	if err != nil {
		return fmt.Errorf("%q is not a duration", d)
	}
	if w.Last == nil {
		return fmt.Errorf("no request was sent yet")
	}
	if atLeast && w.Last.Took < dur {
		return fmt.Errorf("the request took %s, less than %s", w.Last.Took, dur)
	}
	if !atLeast && w.Last.Took >= dur {
		return fmt.Errorf("the request took %s, not less than %s", w.Last.Took, dur)
	}
	return nil
}
