package simulator_test

import (
	"bytes"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/pspsim/pspsim/simulator/codepay"
	"github.com/pspsim/pspsim/simulator/simtest"
)

// TestNoOperationAnswers5xxToBadInput sweeps every operation of every mounted
// spec with the inputs a careless client sends: the operation's own example,
// an empty body, the example with each top-level field removed, and with each
// top-level field of the wrong type or (for text) naming nothing that exists,
// with path ids that do not exist either. No answer
// may be a 5xx (or CodePay's system error 50000): a client's mistake is a 4xx
// (or a CodePay code) naming what is wrong, in the system's own dialect.
// CodePay bodies are re-signed, so that they pass the signature check and
// reach the handlers.
func TestNoOperationAnswers5xxToBadInput(t *testing.T) {
	if testing.Short() {
		t.Skip("sends a few thousand requests")
	}
	h := simtest.New(t)
	cpKey := demoAppKey(t)
	auth := map[string][]string{
		"genstore":  {"X-Genstore-Access-Token", simtest.GenstoreToken},
		"vmgateway": {"Authorization", "Bearer " + h.VMToken("sandbox")},
	}
	// Operations that would change the sweep itself: fault rules would inject
	// the very 5xx this test forbids; reset drops the tokens above.
	skip := map[string]bool{"resetSimulator": true}
	sent, refused := 0, 0
	for _, system := range []string{"genstore", "codepay", "vmgateway", "admin"} {
		doc := h.Sim.Mount(system).Doc()
		prefix := h.Sim.Mount(system).Prefix()
		paths := doc.Paths.InMatchingOrder()
		sort.Strings(paths)
		for _, p := range paths {
			for method, op := range doc.Paths.Value(p).Operations() {
				if _, stream := op.Extensions["x-pspsim-stream"]; stream {
					continue // a live event stream never ends, by design
				}
				if skip[op.OperationID] || strings.Contains(p, "/faults") || strings.Contains(op.OperationID, "Fault") {
					continue
				}
				url := prefix + pathWithUnknownIDs(p, op)
				for _, variant := range bodyVariants(op) {
					body := variant.body
					if system == "codepay" && body != nil {
						body = resignCodePay(t, cpKey, body, h.Clock.Now())
					}
					var payload any
					if body != nil {
						payload = body
					}
					r := h.Do(method, url, payload, auth[system]...)
					sent++
					if r.Status >= 500 || (system == "codepay" && r.JSON()["code"] == codepay.CodeSystemError) {
						t.Errorf("%s %s %s (%s): %d %.300s", system, method, url, variant.name, r.Status, r.Body)
						continue
					}
					if r.Status >= 400 || (system == "codepay" && r.JSON()["code"] != "0") {
						refused++
						if msg := dialectError(system, r); msg == "" && system != "admin" {
							t.Errorf("%s %s %s (%s): refusal not in the dialect: %d %.300s", system, method, url, variant.name, r.Status, r.Body)
						}
					}
				}
			}
		}
	}
	t.Logf("%d requests, %d refused with a named error", sent, refused)
	if refused == 0 {
		t.Fatal("nothing was refused: the sweep did not reach the validation")
	}
}

// pathWithUnknownIDs fills path parameters with a value that is valid for
// their schema where possible, and names nothing that exists.
func pathWithUnknownIDs(p string, op *openapi3.Operation) string {
	out := p
	for _, pr := range op.Parameters {
		if pr.Value == nil || pr.Value.In != "path" {
			continue
		}
		v := "UNKNOWN0001"
		if s := pr.Value.Schema; s != nil && s.Value != nil && s.Value.Pattern != "" && strings.Contains(s.Value.Pattern, `\.yaml`) {
			v = "nothing.yaml"
		}
		out = strings.ReplaceAll(out, "{"+pr.Value.Name+"}", v)
	}
	// Parameters declared on the path item.
	for strings.Contains(out, "{") {
		i, j := strings.Index(out, "{"), strings.Index(out, "}")
		out = out[:i] + "UNKNOWN0001" + out[j+1:]
	}
	return out
}

type variant struct {
	name string
	body []byte
}

// bodyVariants returns the request bodies to try for an operation.
func bodyVariants(op *openapi3.Operation) []variant {
	if op.RequestBody == nil || op.RequestBody.Value == nil {
		return []variant{{"no body", nil}}
	}
	mt := op.RequestBody.Value.Content.Get("application/json")
	if mt == nil {
		return []variant{{"no body", nil}}
	}
	var examples []any
	if mt.Example != nil {
		examples = append(examples, mt.Example)
	}
	names := make([]string, 0, len(mt.Examples))
	for n := range mt.Examples {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if e := mt.Examples[n]; e != nil && e.Value != nil {
			examples = append(examples, e.Value.Value)
		}
	}
	out := []variant{{"empty object", []byte(`{}`)}, {"not JSON", []byte(`{"`)}}
	for i, ex := range examples {
		b, _ := json.Marshal(ex)
		out = append(out, variant{fmt.Sprintf("example %d", i), b})
		var m map[string]any
		if json.Unmarshal(b, &m) != nil {
			continue
		}
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if k == "method" || k == "app_id" || k == "sign" || k == "sign_type" || k == "timestamp" {
				continue // CodePay's envelope: covered by the guard's own tests
			}
			without := clone(m)
			delete(without, k)
			b1, _ := json.Marshal(without)
			out = append(out, variant{fmt.Sprintf("example %d without %s", i, k), b1})
			wrong := clone(m)
			switch m[k].(type) {
			case string:
				wrong[k] = 12345
			default:
				wrong[k] = "wrong type"
			}
			b2, _ := json.Marshal(wrong)
			out = append(out, variant{fmt.Sprintf("example %d with %s of the wrong type", i, k), b2})
			if _, isString := m[k].(string); isString {
				// An id (or any text) that names nothing the simulator holds.
				unknown := clone(m)
				unknown[k] = "ZZUNKNOWN0001"
				b3, _ := json.Marshal(unknown)
				out = append(out, variant{fmt.Sprintf("example %d with an unknown %s", i, k), b3})
			}
		}
	}
	return out
}

// resignCodePay sets a fresh timestamp and a valid RSA2 signature (the demo
// app key) on a CodePay body, leaving everything else as it is.
func resignCodePay(t *testing.T, key *rsa.PrivateKey, body []byte, now time.Time) []byte {
	t.Helper()
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if dec.Decode(&m) != nil || m == nil {
		return body
	}
	m["timestamp"] = strconv.FormatInt(now.UnixMilli(), 10)
	m["sign_type"] = "RSA2"
	delete(m, "sign")
	unsigned, _ := json.Marshal(m)
	sign, err := codepay.Sign(key, unsigned)
	if err != nil {
		t.Fatal(err)
	}
	m["sign"] = sign
	signed, _ := json.Marshal(m)
	return signed
}
