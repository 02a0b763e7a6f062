package scenario

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/pspsim/pspsim/internal/godog"

	"github.com/pspsim/pspsim/simulator/faults"
)

// freq is the optional frequency at the end of the fault steps.
const freq = `(?: (always|once|twice|the first \d+ times|every \d+(?:st|nd|rd|th) time|with probability [0-9.]+|on the \d+(?:st|nd|rd|th) call))?`

var (
	firstRE = regexp.MustCompile(`^the first (\d+) times$`)
	everyRE = regexp.MustCompile(`^every (\d+)(?:st|nd|rd|th) time$`)
	probRE  = regexp.MustCompile(`^with probability ([0-9.]+)$`)
	nthRE   = regexp.MustCompile(`^on the (\d+)(?:st|nd|rd|th) call$`)
)

// frequency turns the words of a step into a rule's frequency (or nth).
func frequency(words string, rule map[string]any) error {
	n := func(s string) int { v, _ := strconv.Atoi(s); return v }
	switch {
	case words == "" || words == "always":
	case words == "once":
		rule["frequency"] = map[string]any{"first": 1}
	case words == "twice":
		rule["frequency"] = map[string]any{"first": 2}
	case firstRE.MatchString(words):
		rule["frequency"] = map[string]any{"first": n(firstRE.FindStringSubmatch(words)[1])}
	case everyRE.MatchString(words):
		rule["frequency"] = map[string]any{"every": n(everyRE.FindStringSubmatch(words)[1])}
	case probRE.MatchString(words):
		p, err := strconv.ParseFloat(probRE.FindStringSubmatch(words)[1], 64)
		if err != nil {
			return fmt.Errorf("%q: not a probability", words)
		}
		rule["frequency"] = map[string]any{"probability": p}
	case nthRE.MatchString(words):
		m, _ := rule["match"].(map[string]any)
		m["nth"] = n(nthRE.FindStringSubmatch(words)[1])
	default:
		return fmt.Errorf("%q: not a frequency", words)
	}
	return nil
}

// AddRule sends one rule (JSON) to the simulator's admin API and remembers
// its id as LastRule (and {rule}).
func (w *World) AddRule(ctx context.Context, rule []byte) error {
	r, err := w.peek(ctx, "POST", "/_sim/faults", []byte(w.Expand(string(rule))))
	if err != nil {
		return fmt.Errorf("adding the fault rule: %w", err)
	}
	if r.Status != 201 {
		return fmt.Errorf("the simulator refused the fault rule: %d %s", r.Status, clip(r.Body))
	}
	var out struct{ ID string }
	json.Unmarshal(r.Body, &out)
	w.LastRule = out.ID
	w.Set("rule", out.ID)
	return nil
}

func (w *World) addStepRule(ctx context.Context, match map[string]any, action map[string]any, words string) error {
	rule := map[string]any{"match": match, "action": action}
	if err := frequency(words, rule); err != nil {
		return err
	}
	b, err := json.Marshal(rule)
	if err != nil {
		return err
	}
	return w.AddRule(ctx, b)
}

func opMatch(system, op string) map[string]any {
	return map[string]any{"system": system, "operation": op}
}

// ruleStatus reads one rule from the admin API.
func (w *World) ruleStatus(ctx context.Context, id string) (map[string]any, error) {
	r, err := w.peek(ctx, "GET", "/_sim/faults/"+url.PathEscape(w.Expand(id)), nil)
	if err != nil {
		return nil, err
	}
	if r.Status != 200 {
		return nil, fmt.Errorf("no fault rule %s: %d %s", id, r.Status, clip(r.Body))
	}
	var out map[string]any
	json.Unmarshal(r.Body, &out)
	return out, nil
}

func faultSteps() Group {
	apiAction := func(pattern, doc, example string, action map[string]any) Step {
		return Step{
			Pattern: `^the (genstore|codepay|vmgateway) operation "([^"]*)" ` + pattern + freq + `$`,
			Doc:     doc,
			Example: example,
			Func: func(ctx context.Context, system, op, words string) error {
				return WorldFrom(ctx).addStepRule(ctx, opMatch(system, op), action, words)
			},
		}
	}
	deliveryAction := func(pattern, doc, example string, action map[string]any) Step {
		return Step{
			Pattern: `^(genstore|codepay|vmgateway|sim) "([^"]*)" messages are ` + pattern + freq + `$`,
			Doc:     doc,
			Example: example,
			Func: func(ctx context.Context, system, kind, words string) error {
				return WorldFrom(ctx).addStepRule(ctx, opMatch(system, kind), action, words)
			},
		}
	}
	return Group{
		Name: "Faults",
		Doc: "Make the simulator fail on purpose. Each step adds a fault rule through `POST /_sim/faults` and remembers its id as `{rule}`. " +
			"An operation is an operationId (`createPayment`), or for CodePay a method (`wisehub.cloud.pay.order`); a message kind is what a system sends (`notification`, `webhook`, `payment`). " +
			"Every fault step may end with how often: `always` (the default), `once`, `twice`, `the first 3 times`, `every 2nd time`, `with probability 0.3` (decided from the run's seed, so a run repeats), `on the 4th call`. " +
			"`POST /_sim/reset` (\"the simulator is reset\") removes the rules a scenario added.",
		Steps: []Step{
			{
				Pattern: `^a fault rule:$`,
				Doc:     "Adds fault rules written in YAML or JSON (one rule, a list, or `{rules: [...]}`) with every field of the rule format: match, action, frequency, after, for. `{name}` is expanded.",
				Example: "Given a fault rule:\n  \"\"\"\n  id: slow-capture\n  match: {system: vmgateway, operation: capturePayment, amount: {min: \"100\"}}\n  action: {type: latency, min: 1s, max: 3s}\n  frequency: {probability: 0.5}\n  \"\"\"",
				Func: func(ctx context.Context, doc *godog.DocString) error {
					w := WorldFrom(ctx)
					docs, err := faults.RuleDocuments([]byte(w.Expand(doc.Content)))
					if err != nil {
						return err
					}
					for _, d := range docs {
						if err := w.AddRule(ctx, d); err != nil {
							return err
						}
					}
					return nil
				},
			},
			apiAction(`times out`,
				"The operation never answers: the connection is held (up to 60 s, wall time) until the client gives up. The operation does not run.",
				`Given the vmgateway operation "createPayment" times out once`,
				map[string]any{"type": "timeout"}),
			apiAction(`resets the connection`,
				"The connection is reset (TCP RST) without running the operation.",
				`Given the codepay operation "wisehub.cloud.pay.order" resets the connection`,
				map[string]any{"type": "reset"}),
			{
				Pattern: `^the (genstore|codepay|vmgateway) operation "([^"]*)" is slowed by "([^"]*)"` + freq + `$`,
				Doc:     "Adds latency (wall time) before the operation runs: a duration (`2s`) or a range (`1s-3s`, drawn from the run's seed).",
				Example: `Given the vmgateway operation "capturePayment" is slowed by "500ms-1500ms" every 2nd time`,
				Func: func(ctx context.Context, system, op, d, words string) error {
					action := map[string]any{"type": "latency"}
					if lo, hi, ok := strings.Cut(d, "-"); ok {
						action["min"], action["max"] = strings.TrimSpace(lo), strings.TrimSpace(hi)
					} else {
						action["delay"] = d
					}
					return WorldFrom(ctx).addStepRule(ctx, opMatch(system, op), action, words)
				},
			},
			{
				Pattern: `^the (genstore|codepay|vmgateway) operation "([^"]*)" answers HTTP (\d{3})` + freq + `$`,
				Doc:     "Answers this HTTP status with an empty body instead of running the operation (a proxy in the way).",
				Example: `Given the genstore operation "updatePaymentResult" answers HTTP 502 the first 2 times`,
				Func: func(ctx context.Context, system, op string, status int, words string) error {
					return WorldFrom(ctx).addStepRule(ctx, opMatch(system, op), map[string]any{"type": "status", "status": status}, words)
				},
			},
			{
				Pattern: `^the (genstore|codepay|vmgateway) operation "([^"]*)" fails with a system error` + freq + `$`,
				Doc:     "Answers a temporary system error in the system's own dialect instead of running the operation: CodePay `50000` in a signed envelope, the gateway's `INTERNAL_ERROR` with 503, Genstore `{\"errors\"}` with 503.",
				Example: `Given the codepay operation "order.query" fails with a system error once`,
				Func: func(ctx context.Context, system, op, words string) error {
					return WorldFrom(ctx).addStepRule(ctx, opMatch(system, op), map[string]any{"type": "error", "kind": "unavailable"}, words)
				},
			},
			{
				Pattern: `^the (genstore|codepay|vmgateway) operation "([^"]*)" fails with error code "([^"]*)"` + freq + `$`,
				Doc:     "Answers the system's own error code (in its own envelope) instead of running the operation.",
				Example: `Given the vmgateway operation "createRefund" fails with error code "AMOUNT_EXCEEDED"`,
				Func: func(ctx context.Context, system, op, code, words string) error {
					return WorldFrom(ctx).addStepRule(ctx, opMatch(system, op), map[string]any{"type": "error", "kind": "unprocessable", "code": code}, words)
				},
			},
			apiAction(`answers with a malformed body`,
				"Answers an HTML proxy page labelled application/json instead of running the operation.",
				`Given the vmgateway operation "inquirePayment" answers with a malformed body`,
				map[string]any{"type": "malformed"}),
			apiAction(`is cut short`,
				"Runs the operation (it commits), then sends only half of its answer's body and closes the connection.",
				`Given the vmgateway operation "createRefund" is cut short`,
				map[string]any{"type": "truncate"}),
			apiAction(`is processed but its answer is lost`,
				"Processed, answer lost: the operation runs and commits, then the connection is reset. A retry must find the operation done.",
				`Given the vmgateway operation "createPayment" is processed but its answer is lost once`,
				map[string]any{"type": "lost", "then": "reset"}),
			apiAction(`is processed but the connection hangs`,
				"The operation runs and commits, then the connection hangs without an answer until the client gives up.",
				`Given the codepay operation "order.refund.submit" is processed but the connection hangs`,
				map[string]any{"type": "lost", "then": "hang"}),
			{
				Pattern: `^the (genstore|codepay|vmgateway) operation "([^"]*)" is processed but answers HTTP (5\d\d)` + freq + `$`,
				Doc:     "The operation runs and commits, then the client gets this 5xx in the system's dialect instead of the answer.",
				Example: `Given the vmgateway operation "capturePayment" is processed but answers HTTP 502`,
				Func: func(ctx context.Context, system, op string, status int, words string) error {
					return WorldFrom(ctx).addStepRule(ctx, opMatch(system, op), map[string]any{"type": "lost", "then": "error", "status": status}, words)
				},
			},
			deliveryAction(`dropped`,
				"Drops attempts of the messages this system sends of this kind: they never arrive, and the sender retries on its schedule.",
				`Given codepay "notification" messages are dropped once`,
				map[string]any{"type": "drop"}),
			{
				Pattern: `^(genstore|codepay|vmgateway|sim) "([^"]*)" messages are delayed by "([^"]*)"` + freq + `$`,
				Doc:     "Delays the messages on the simulator's clock: they leave when the clock has moved this far.",
				Example: `Given vmgateway "webhook" messages are delayed by "2m"`,
				Func: func(ctx context.Context, system, kind, by, words string) error {
					return WorldFrom(ctx).addStepRule(ctx, opMatch(system, kind), map[string]any{"type": "delay", "by": by}, words)
				},
			},
			deliveryAction(`duplicated`,
				"Sends each message twice, one copy after the other, byte-identical.",
				`Given genstore "payment" messages are duplicated`,
				map[string]any{"type": "duplicate"}),
			deliveryAction(`duplicated concurrently`,
				"Sends each message twice at the same moment.",
				`Given genstore "refund" messages are duplicated concurrently once`,
				map[string]any{"type": "duplicate", "concurrent": true}),
			deliveryAction(`reordered with the next one`,
				"Holds a message until the next message of the same system has gone, so they arrive in the wrong order (a lone message leaves after 5 minutes on the clock).",
				`Given codepay "notification" messages are reordered with the next one once`,
				map[string]any{"type": "reorder"}),
			deliveryAction(`contradicted`,
				"Sends each message, then its contradiction: the opposite result for the same order, signed like a genuine message.",
				`Given codepay "notification" messages are contradicted`,
				map[string]any{"type": "contradict"}),
			deliveryAction(`sent with a tampered signature`,
				"Sends the messages with a signature that does not verify.",
				`Given vmgateway "webhook" messages are sent with a tampered signature once`,
				map[string]any{"type": "tamper"}),
			{
				Pattern: `^the fault rule "([^"]*)" has fired (\d+) times?$`,
				Doc:     "Checks how often a rule fired (`{rule}` is the rule the scenario added last).",
				Example: `Then the fault rule "{rule}" has fired 2 times`,
				Func: func(ctx context.Context, id string, n int) error {
					id = WorldFrom(ctx).Expand(id)
					st, err := WorldFrom(ctx).ruleStatus(ctx, id)
					if err != nil {
						return err
					}
					if got := text(st["hits"]); got != strconv.Itoa(n) {
						return fmt.Errorf("fault rule %s fired %s times, not %d", id, got, n)
					}
					return nil
				},
			},
			{
				Pattern: `^the fault rule "([^"]*)" is (active|inactive)$`,
				Doc:     "Checks whether a rule is in force now (rules with `after`/`for` have a window on the simulator's clock).",
				Example: `Then the fault rule "outage" is inactive`,
				Func: func(ctx context.Context, id, want string) error {
					id = WorldFrom(ctx).Expand(id)
					st, err := WorldFrom(ctx).ruleStatus(ctx, id)
					if err != nil {
						return err
					}
					if active, _ := st["active"].(bool); active != (want == "active") {
						return fmt.Errorf("fault rule %s is not %s", id, want)
					}
					return nil
				},
			},
			{
				Pattern: `^the fault rules are cleared$`,
				Doc:     "Removes the rules added at run time (rules from files and the magic amounts stay).",
				Example: `When the fault rules are cleared`,
				Func: func(ctx context.Context) error {
					w := WorldFrom(ctx)
					r, err := w.peek(ctx, "DELETE", "/_sim/faults", nil)
					if err != nil {
						return err
					}
					if r.Status != 200 {
						return fmt.Errorf("clearing the fault rules: %d %s", r.Status, clip(r.Body))
					}
					return nil
				},
			},
		},
	}
}
