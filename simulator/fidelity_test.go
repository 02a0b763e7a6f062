package simulator_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/pspsim/pspsim/fixtures"
	"github.com/pspsim/pspsim/simulator/codepay"
	"github.com/pspsim/pspsim/simulator/openapi"
	"github.com/pspsim/pspsim/simulator/simtest"
)

// departure is one request that departs from a documented table in ways the
// spec tolerates (x-pspsim-lenient).
type departure struct {
	name string
	// send sends the request and returns the answer.
	send func(h *simtest.Harness) simtest.Response
	// warnings are the "field/rule" departures the default mode reports.
	warnings []string
	// accepted checks the default mode's answer (and that the normalised
	// value reached the handler).
	accepted func(t *testing.T, h *simtest.Harness, r simtest.Response)
	// strictField is the field --strict names in its refusal.
	strictField string
	// refused says whether an answer is the dialect's refusal.
	refused func(r simtest.Response) bool
}

// codepaySigned signs m as the demo app does, its timestamp the clock's.
func codepaySigned(t *testing.T, h *simtest.Harness, m map[string]any) []byte {
	t.Helper()
	keyPEM, _ := fixtures.Read("keys/codepay-app-demo.pem")
	key, err := codepay.ParsePrivateKey(keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	m["timestamp"] = strconv.FormatInt(h.Clock.Now().UnixMilli(), 10)
	delete(m, "sign")
	b, _ := json.Marshal(m)
	m["sign"], _ = codepay.Sign(key, b)
	b, _ = json.Marshal(m)
	return b
}

func warningsOf(r simtest.Response) []string {
	var out []string
	for _, v := range r.Header.Values(openapi.WarningHeader) {
		field, rest, _ := strings.Cut(v, ": ")
		rule, _, _ := strings.Cut(rest, " ")
		out = append(out, field+"/"+rule)
	}
	return out
}

// TestDeparturesAreWarnedByDefaultAndRefusedWhenStrict sends, to each
// system, requests that depart from the documented tables the way the
// vendors' own samples do. By default each is answered normally, with one
// X-Pspsim-Warning per departure, a request.warning journal event, and the
// value normalised before the handler (an amount sent as text is stored as
// that amount; an enumerated value in another case is the documented one).
// With --strict each is refused in the system's dialect, naming the field.
func TestDeparturesAreWarnedByDefaultAndRefusedWhenStrict(t *testing.T) {
	codepayRefused := func(r simtest.Response) bool {
		code, _ := r.JSON()["code"].(string)
		return code == codepay.CodeInvalidParameter || code == codepay.CodeMissingParameter
	}
	cases := []departure{
		{
			name: "codepay: amount as text, an unknown field, an empty optional field",
			send: func(h *simtest.Harness) simtest.Response {
				m := requestExample(t, h, "codepay", "/api/entry", "post", "wisehub.cloud.pay.order")
				m["merchant_no"], m["app_id"], m["terminal_sn"] = "302100041048", "wz9f2a175d0e0ef632", "WPYB001234567890"
				m["merchant_order_no"] = "FID-1"
				m["order_amount"] = "12.34"
				m["loyalty_card"] = "L-77"
				m["attach"] = ""
				delete(m, "store_no")
				return h.Do("POST", "/codepay/api/entry", codepaySigned(t, h, m))
			},
			warnings: []string{"loyalty_card/additionalProperties", "order_amount/type"},
			accepted: func(t *testing.T, h *simtest.Harness, r simtest.Response) {
				if r.JSON()["code"] != "0" {
					t.Fatalf("not accepted: %s", r.Body)
				}
				q := h.Do("POST", "/codepay/api/entry", codepaySigned(t, h, map[string]any{
					"app_id": "wz9f2a175d0e0ef632", "method": "order.query", "format": "JSON", "charset": "UTF-8", "sign_type": "RSA2",
					"version": "1.0", "merchant_no": "302100041048", "merchant_order_no": "FID-1", "trans_no": ""}))
				var data map[string]any
				json.Unmarshal([]byte(fmt.Sprint(q.JSON()["data"])), &data)
				if data["order_amount"] != "12.34" {
					t.Fatalf("the amount sent as text was not stored as 12.34: %s", q.Body)
				}
				if got := warningsOf(q); !slices.Equal(got, []string{"trans_no/minLength", "trans_no/pattern"}) {
					t.Fatalf(`trans_no "" beside merchant_order_no: warnings %q`, got)
				}
			},
			strictField: "loyalty_card",
			refused:     codepayRefused,
		},
		{
			name: "codepay: a card operation without the timestamp the tables do not list",
			send: func(h *simtest.Harness) simtest.Response {
				m := map[string]any{"app_id": "wz9f2a175d0e0ef632", "merchant_no": "302100041048"}
				b, _ := json.Marshal(m)
				keyPEM, _ := fixtures.Read("keys/codepay-app-demo.pem")
				key, _ := codepay.ParsePrivateKey(keyPEM)
				m["sign"], _ = codepay.Sign(key, b)
				return h.Do("POST", "/codepay/api/card/batch/open", m)
			},
			warnings: []string{"timestamp/required"},
			accepted: func(t *testing.T, h *simtest.Harness, r simtest.Response) {
				if r.JSON()["code"] != "0" {
					t.Fatalf("not accepted: %s", r.Body)
				}
			},
			strictField: "timestamp",
			refused:     codepayRefused,
		},
		{
			name: "genstore: a result in capitals and a field the table lacks",
			send: func(h *simtest.Harness) simtest.Response {
				return h.Do("PUT", "/genstore/api/202412/app/payment/PI00202510281513381",
					`{"pay":{"result":"TRUE","paymentId":"PI00202510281513381","channelPaymentId":"2025102815","note":"x"}}`,
					"X-Genstore-Access-Token", simtest.GenstoreToken)
			},
			warnings: []string{"pay.note/additionalProperties", "pay.result/enum"},
			accepted: func(t *testing.T, h *simtest.Harness, r simtest.Response) {
				if r.Status != 200 {
					t.Fatalf("not accepted: %d %s", r.Status, r.Body)
				}
				g := h.Do("GET", "/genstore/api/202412/payment/PI00202510281513381", nil, "X-Genstore-Access-Token", simtest.GenstoreToken)
				if simtest.FieldString(g.JSON(), "payment.status") != "2" {
					t.Fatalf(`"TRUE" did not reach the handler as "true": %s`, g.Body)
				}
			},
			strictField: "pay.note",
			refused:     func(r simtest.Response) bool { return r.Status == 422 },
		},
		{
			name: "vmgateway: placeholder URLs and a carrier in another case",
			send: func(h *simtest.Harness) simtest.Response {
				m := requestExample(t, h, "vmgateway", "/v1/checkout/sessions", "post", "")
				m["notificationUrl"] = "string"
				m["orderNo"] = "FID-SESSION-1"
				if ship, ok := m["shipping"].(map[string]any); ok {
					ship["carrier"] = "Fedex"
				}
				return h.Do("POST", "/vm/v1/checkout/sessions", m, "Authorization", "Bearer "+h.VMToken("sandbox"))
			},
			warnings: []string{"notificationUrl/format", "notificationUrl/pattern", "shipping.carrier/enum"},
			accepted: func(t *testing.T, h *simtest.Harness, r simtest.Response) {
				if r.Status != 200 {
					t.Fatalf("not accepted: %d %s", r.Status, r.Body)
				}
			},
			strictField: "notificationUrl",
			refused:     func(r simtest.Response) bool { return r.Status == 400 },
		},
	}
	for _, c := range cases {
		t.Run("default/"+c.name, func(t *testing.T) {
			h := simtest.New(t)
			r := c.send(h)
			if got := warningsOf(r); !slices.Equal(got, c.warnings) {
				t.Fatalf("warnings %q, want %q (%d %s)", got, c.warnings, r.Status, r.Body)
			}
			for _, v := range r.Header.Values(openapi.WarningHeader) {
				if !strings.Contains(v, " -- ") || strings.ContainsAny(v, "\r\n") {
					t.Errorf("a warning says what pspsim did and why, on one line: %q", v)
				}
			}
			c.accepted(t, h, r)
			ev := h.Do("GET", "/_sim/events?kind=request.warning", nil)
			var page struct {
				Events []struct {
					Data struct {
						Warnings []openapi.Warning `json:"warnings"`
					} `json:"data"`
				} `json:"events"`
			}
			if err := json.Unmarshal(ev.Body, &page); err != nil || len(page.Events) == 0 {
				t.Fatalf("no request.warning event: %s", ev.Body)
			}
			var journaled []string
			for _, w := range page.Events[0].Data.Warnings {
				journaled = append(journaled, w.Field+"/"+w.Rule)
				if w.Why == "" || w.Did == "" || w.Class == "" {
					t.Errorf("journaled warning without class, action or reason: %+v", w)
				}
			}
			if !slices.Equal(journaled, c.warnings) {
				t.Fatalf("journaled %q, want %q", journaled, c.warnings)
			}
		})
		t.Run("strict/"+c.name, func(t *testing.T) {
			h := simtest.New(t, simtest.Strict())
			r := c.send(h)
			if !c.refused(r) || !strings.Contains(dialectError(strings.SplitN(c.name, ":", 2)[0], r), c.strictField) {
				t.Fatalf("want a refusal naming %s, got %d %s", c.strictField, r.Status, r.Body)
			}
			if !strings.Contains(string(r.Body), "--strict") {
				t.Errorf("the refusal does not say that --strict refused a tolerated departure: %s", r.Body)
			}
			if w := r.Header.Values(openapi.WarningHeader); len(w) != 0 {
				t.Fatalf("--strict warned instead of refusing: %q", w)
			}
		})
	}
}

// TestStrictFromTheConfig reads strict: true from the config file.
func TestStrictFromTheConfig(t *testing.T) {
	h := simtest.New(t, simtest.WithConfig("strict: true\n"))
	r := h.Do("PUT", "/genstore/api/202412/app/payment/PI00202510281513381",
		`{"pay":{"result":"true","paymentId":"PI00202510281513381","channelPaymentId":"2025102815","note":"x"}}`,
		"X-Genstore-Access-Token", simtest.GenstoreToken)
	if r.Status != http.StatusUnprocessableEntity || !strings.Contains(string(r.Body), "pay.note") {
		t.Fatalf("strict: true in the config did not refuse: %d %s", r.Status, r.Body)
	}
	if _, err := newSim("strict: maybe\n"); err == nil {
		t.Fatal("strict: maybe accepted")
	}
}
