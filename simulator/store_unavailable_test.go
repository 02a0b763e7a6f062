package simulator_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/pspsim/pspsim/fixtures"
	"github.com/pspsim/pspsim/simulator"
	"github.com/pspsim/pspsim/simulator/codepay"
	"github.com/pspsim/pspsim/simulator/genstore/genstoretest"
	"github.com/pspsim/pspsim/simulator/journal"
	"github.com/pspsim/pspsim/simulator/simtest"
	"github.com/pspsim/pspsim/simulator/store"
	"github.com/pspsim/pspsim/simulator/store/storetest"
)

// unavailableCase is one request whose lookup the store stops answering:
// absent is the same request for an object that is not there (or a
// credential that is not), which must keep its old answer.
type unavailableCase struct {
	name   string
	system string // the dialect: "admin", "genstore", "codepay", "vmgateway"
	// ops and kinds choose what the store fails (nil: every operation, of
	// every kind).
	ops   []string
	kinds []string
	send  func(t *testing.T, h *simtest.Harness) simtest.Response
	// absent sends the request for what is not there; absentStatus and
	// absentCode are its answer (the code: CodePay's, the gateway's).
	absent       func(t *testing.T, h *simtest.Harness) simtest.Response
	absentStatus int
	absentCode   string
}

// TestAStoreThatDoesNotAnswerIsUnavailable: while the store fails (the
// crash test's PostgreSQL refusing connections, "too many clients"), a
// lookup of something that exists is 503 in the system's own envelope —
// never 404 "no shop", 401 "unknown token" or 500 — and says nothing of the
// cause; absence, with the store answering, keeps its old 404/401.
func TestAStoreThatDoesNotAnswerIsUnavailable(t *testing.T) {
	failing := storetest.NewFailing(store.NewMemory())
	h := simtest.New(t, func(o *simulator.Options) { o.Store = failing })
	vmToken := h.VMToken("sandbox")
	gatewayPEM, _ := fixtures.Read("keys/codepay-gateway.pub.pem")
	gatewayPub, err := codepay.ParsePublicKey(gatewayPEM)
	if err != nil {
		t.Fatal(err)
	}
	query := func(orderNo string) func(t *testing.T, h *simtest.Harness) simtest.Response {
		return func(t *testing.T, h *simtest.Harness) simtest.Response {
			return h.Do("POST", "/codepay/api/entry", codepaySigned(t, h, map[string]any{
				"app_id": "wz9f2a175d0e0ef632", "method": "order.query", "format": "JSON", "charset": "UTF-8", "sign_type": "RSA2",
				"version": "1.0", "merchant_no": "302100041048", "merchant_order_no": orderNo}))
		}
	}
	callback := func(token string) func(t *testing.T, h *simtest.Harness) simtest.Response {
		return func(t *testing.T, h *simtest.Harness) simtest.Response {
			return h.Do("PUT", "/genstore/api/202412/app/payment/PI00202510281513381",
				map[string]any{"pay": map[string]any{"result": "true", "paymentId": "PI00202510281513381"}},
				"X-Genstore-Access-Token", token)
		}
	}
	inquiry := func(token, orderNo string) func(t *testing.T, h *simtest.Harness) simtest.Response {
		return func(t *testing.T, h *simtest.Harness) simtest.Response {
			return h.Do("POST", "/vm/v1/payments/inquiry", map[string]string{"orderNo": orderNo}, "Authorization", "Bearer "+token)
		}
	}
	get := func(path string) func(t *testing.T, h *simtest.Harness) simtest.Response {
		return func(t *testing.T, h *simtest.Harness) simtest.Response { return h.Do("GET", path, nil) }
	}
	cases := []unavailableCase{
		{name: "genstore admin: payment list", system: "admin",
			send:   get("/_sim/genstore/shops/1001/payments"),
			absent: get("/_sim/genstore/shops/7301/payments"), absentStatus: http.StatusNotFound},
		{name: "genstore admin: payments listed, the shop read", system: "admin", ops: []string{storetest.OpList, storetest.OpGet},
			kinds:  []string{"genstore.payment"},
			send:   get("/_sim/genstore/shops/1001/payments"),
			absent: get("/_sim/genstore/shops/7301/payments"), absentStatus: http.StatusNotFound},
		{name: "genstore admin: payment", system: "admin",
			send:   get("/_sim/genstore/shops/1001/payments/PI00202510281513381"),
			absent: get("/_sim/genstore/shops/1001/payments/PI_NOPE"), absentStatus: http.StatusNotFound},
		{name: "genstore: callback with a valid token", system: "genstore",
			send:   callback(simtest.GenstoreToken),
			absent: callback("gst_nobody"), absentStatus: http.StatusUnauthorized},
		{name: "genstore: callback, the token read, the payment not", system: "genstore", kinds: []string{"genstore.payment"},
			send: callback(simtest.GenstoreToken),
			absent: func(t *testing.T, h *simtest.Harness) simtest.Response {
				return h.Do("PUT", "/genstore/api/202412/app/payment/PI_NOPE",
					map[string]any{"pay": map[string]any{"result": "true", "paymentId": "PI_NOPE"}},
					"X-Genstore-Access-Token", simtest.GenstoreToken)
			}, absentStatus: http.StatusNotFound},
		{name: "codepay: signed entry (the app not read)", system: "codepay",
			send: query("NOPE-1"), absent: query("NOPE-1"), absentStatus: http.StatusOK, absentCode: codepay.CodeOrderNotFound},
		{name: "codepay: order.query (the order not read)", system: "codepay", ops: []string{storetest.OpLookup}, kinds: []string{"codepay.txn"},
			send: query("NOPE-1"), absent: query("NOPE-1"), absentStatus: http.StatusOK, absentCode: codepay.CodeOrderNotFound},
		{name: "vmgateway: inquiry (the token not read)", system: "vmgateway",
			send:   inquiry(vmToken, "20220828000002"),
			absent: inquiry("vm_s_nobody", "20220828000002"), absentStatus: http.StatusUnauthorized, absentCode: "UNAUTHORIZED"},
		{name: "vmgateway: inquiry (the payment not read)", system: "vmgateway", kinds: []string{"vm.order", "vm.payment"},
			send:   inquiry(vmToken, "20220828000002"),
			absent: inquiry(vmToken, "NOPE-1"), absentStatus: http.StatusNotFound, absentCode: "NOT_FOUND"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			failing.Heal()
			if r := c.absent(t, h); r.Status != c.absentStatus || (c.absentCode != "" && r.JSON()["code"] != c.absentCode) {
				t.Fatalf("absence: %d %s, want %d %s", r.Status, r.Body, c.absentStatus, c.absentCode)
			}
			failing.Fail(c.ops...)
			failing.OnlyKinds(c.kinds...)
			hits := failing.Hits()
			r := c.send(t, h)
			failing.Heal()
			if failing.Hits() == hits {
				t.Fatalf("the store was not asked: %d %s", r.Status, r.Body)
			}
			if r.Status != http.StatusServiceUnavailable {
				t.Fatalf("a store that does not answer: %d %s, want 503", r.Status, r.Body)
			}
			body := string(r.Body)
			if strings.Contains(body, "hunter2") || strings.Contains(body, "postgres://") || strings.Contains(body, "too many clients") {
				t.Fatalf("the answer tells the cause: %s", body)
			}
			m := r.JSON()
			var msg any
			switch c.system {
			case "admin":
				e, _ := m["error"].(map[string]any)
				if e["code"] != "unavailable" {
					t.Fatalf("not the admin envelope of an unavailable store: %s", body)
				}
				msg = e["message"]
			case "genstore":
				msg = m["errors"]
			case "codepay":
				if m["code"] != codepay.CodeSystemError {
					t.Fatalf("code %v, want %s: %s", m["code"], codepay.CodeSystemError, body)
				}
				if err := codepay.Verify(gatewayPub, r.Body); err != nil {
					t.Fatalf("the answer is not signed by the gateway: %v", err)
				}
				msg = m["msg"]
			case "vmgateway":
				if m["code"] != "INTERNAL_ERROR" || m["traceId"] == nil {
					t.Fatalf("not the gateway's envelope: %s", body)
				}
				msg = m["message"]
			}
			if msg != store.UnavailableMessage {
				t.Fatalf("message %v, want %q: %s", msg, store.UnavailableMessage, body)
			}
			// The store answers again: so does the system.
			if r := c.send(t, h); r.Status == http.StatusServiceUnavailable {
				t.Fatalf("still 503 once the store answers: %s", r.Body)
			}
		})
	}
}

// TestAReplacedTokenNotRevokedIsSaid: a reinstallation issues a new token
// and revokes the old one; when the store does not answer that revocation,
// the old token stays valid, and the journal says so instead of nothing.
func TestAReplacedTokenNotRevokedIsSaid(t *testing.T) {
	failing := storetest.NewFailing(store.NewMemory())
	h := simtest.New(t, func(o *simulator.Options) { o.Store = failing })
	app, err := genstoretest.New("revoke-app", "revoke-app-secret-0001", h.URL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(app.Close)
	app.Now = h.Clock.Now
	gsInstall(t, h, app)
	first := app.Token()
	failing.Fail(storetest.OpUpdate)
	failing.OnlyKinds("genstore.token")
	r := h.Do("POST", "/_sim/genstore/shops/"+gsShop+"/installations", map[string]any{"clientId": app.ClientID})
	failing.Heal()
	if r.Status != 201 || app.Token() == first {
		t.Fatalf("reinstallation: %d %s, token replaced %t", r.Status, r.Body, app.Token() != first)
	}
	if got := h.Sim.Journal().Query(journal.Filter{Kind: "installation.revoke_failed"}); len(got) != 1 {
		t.Fatalf("journaled %d failed revocations, want 1", len(got))
	}
}
