package codepay_test

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pspsim/pspsim/fixtures"
	"github.com/pspsim/pspsim/simulator/codepay"
	"github.com/pspsim/pspsim/simulator/journal"
	"github.com/pspsim/pspsim/simulator/simtest"
)

// Fixture identities used throughout the tests.
const (
	appID    = "wz9f2a175d0e0ef632"
	merchant = "302100041048"
	store    = "4021000008"
	termA    = "WPYB001234567890"
	termB    = "WPYB001234567891"

	visaOK        = "4000123456000001" // 00 approved
	visaFrictionY = "4000123456000019" // 01 frictionless Y
	visaChallenge = "4000123456000068" // 06 challenge → Y
	visaChalFail  = "4000123456000076" // 07 challenge → N
	visaAbandon   = "4000123456000084" // 08 challenge abandoned
	visaNoFunds   = "4000123456000209" // 20 insufficient funds
	visaTimeout   = "4000123456000266" // 26 host timeout
	visaPSPError  = "4000123456000258" // 25 processing error
	visaLate      = "4000123456000126" // 12 notification 60 s late
	mcOK          = "5100123456000007"
)

// cp is a CodePay client for tests: it signs like the SDKs, with the demo
// app key, and reads answers the way the PHP demo verifies them.
type cp struct {
	t     testing.TB
	h     *simtest.Harness
	sys   *codepay.System
	key   *rsa.PrivateKey
	gw    *rsa.PublicKey
	app   string
	basic string // when set, requests go as sign_type NONE with this password
}

func newCP(t testing.TB, opts ...simtest.Option) *cp {
	t.Helper()
	h := simtest.New(t, opts...)
	sys := h.Sim.System("codepay").(*codepay.System)
	return &cp{t: t, h: h, sys: sys, key: simtest.CodePayKey(t, "codepay-app-demo.pem"), gw: sys.GatewayPublicKey(), app: appID}
}

func liveKey(t testing.TB) *rsa.PrivateKey { return simtest.CodePayKey(t, "codepay-app-demo-live.pem") }

// answer is a parsed CodePay answer.
type answer struct {
	Status int
	Code   string
	Msg    string
	Data   map[string]any
	Raw    []byte
}

func (a answer) str(k string) string { return fmt.Sprint(a.Data[k]) }

func (a answer) String() string { return fmt.Sprintf("HTTP %d %s", a.Status, a.Raw) }

// now is the simulator's clock in milliseconds, as text.
func (c *cp) now() string { return strconv.FormatInt(c.h.Clock.Now().UnixMilli(), 10) }

// envelope returns the fields every entry request carries.
func (c *cp) envelope(method string) map[string]any {
	st := "RSA2"
	if c.basic != "" {
		st = "NONE"
	}
	return map[string]any{"app_id": c.app, "format": "JSON", "charset": "UTF-8", "sign_type": st, "version": "1.0",
		"timestamp": c.now(), "method": method, "merchant_no": merchant}
}

// body merges fields over base (a nil value removes a field) and signs it.
func (c *cp) body(base, fields map[string]any) []byte {
	c.t.Helper()
	for k, v := range fields {
		if v == nil {
			delete(base, k)
		} else {
			base[k] = v
		}
	}
	delete(base, "sign")
	raw, err := json.Marshal(base)
	if err != nil {
		c.t.Fatal(err)
	}
	if c.basic != "" {
		return raw
	}
	sign, err := codepay.Sign(c.key, raw)
	if err != nil {
		c.t.Fatal(err)
	}
	base["sign"] = sign
	raw, _ = json.Marshal(base)
	return raw
}

func (c *cp) headers() []string {
	if c.basic == "" {
		return nil
	}
	return []string{"Authorization", "Basic " + base64.StdEncoding.EncodeToString([]byte(c.app+":"+c.basic))}
}

// call sends an entry method.
func (c *cp) call(method string, fields map[string]any) answer {
	c.t.Helper()
	return c.send("/codepay/api/entry", c.body(c.envelope(method), fields))
}

// card sends a card operation (path under /codepay/api/card/).
func (c *cp) card(path string, fields map[string]any) answer {
	c.t.Helper()
	base := map[string]any{"app_id": c.app, "timestamp": c.now()}
	if c.basic != "" {
		base["sign_type"] = "NONE"
		base["sign"] = ""
	}
	b := c.body(base, fields)
	if c.basic != "" {
		var m map[string]any
		json.Unmarshal(b, &m)
		m["sign"] = ""
		b, _ = json.Marshal(m)
	}
	return c.send("/codepay/api/card/"+path, b)
}

// send posts a raw body and checks the answer is signed by the gateway, as
// the PHP demo checks it.
func (c *cp) send(path string, body []byte) answer {
	c.t.Helper()
	r := c.h.Do("POST", path, body, c.headers()...)
	return c.parse(r.Status, r.Body)
}

func (c *cp) parse(status int, raw []byte) answer {
	c.t.Helper()
	if err := phpVerify(c.gw, raw); err != nil {
		c.t.Fatalf("answer does not verify like the PHP demo: %v\n%s", err, raw)
	}
	var env struct {
		Code string          `json:"code"`
		Msg  string          `json:"msg"`
		Data json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(raw, &env); err != nil {
		c.t.Fatalf("answer is not JSON: %s", raw)
	}
	a := answer{Status: status, Code: env.Code, Msg: env.Msg, Raw: raw}
	if len(env.Data) > 0 {
		var text string
		if err := json.Unmarshal(env.Data, &text); err != nil {
			c.t.Fatalf("data is not a JSON string (the default): %s", raw)
		}
		dec := json.NewDecoder(strings.NewReader(text))
		dec.UseNumber()
		if err := dec.Decode(&a.Data); err != nil {
			c.t.Fatalf("data string is not a JSON object: %s", raw)
		}
	}
	return a
}

// phpVerify checks an answer the way CodePay's official PHP demo does:
// json_decode the answer, ksort its top-level fields, drop sign and empty
// values, join key=value with &, and openssl_verify the base64 signature
// with SHA256. The demo only handles string values, which is why the
// gateway sends data as a JSON-encoded string by default.
func phpVerify(pub *rsa.PublicKey, raw []byte) error {
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		return err
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		if k == "sign" {
			continue
		}
		s, ok := m[k].(string)
		if !ok {
			return fmt.Errorf("field %s is not a string: the PHP demo cannot verify it", k)
		}
		if s == "" {
			continue
		}
		parts = append(parts, k+"="+s)
	}
	sign, _ := m["sign"].(string)
	return codepay.VerifyString(pub, strings.Join(parts, "&"), sign)
}

// admin calls the control API.
func (c *cp) admin(method, path string, body any) (int, map[string]any) {
	c.t.Helper()
	r := c.h.Do(method, "/_sim"+path, body)
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(r.Body))
	dec.UseNumber()
	dec.Decode(&m)
	return r.Status, m
}

// act performs a terminal action and fails the test unless it is accepted.
func (c *cp) act(sn, action string, body any) map[string]any {
	c.t.Helper()
	st, m := c.admin("POST", "/codepay/terminals/"+sn+"/actions/"+action, body)
	if st != 200 {
		c.t.Fatalf("terminal %s %s: %d %v", sn, action, st, m)
	}
	return m
}

// terminal reads a terminal's view.
func (c *cp) terminal(sn string) map[string]any {
	c.t.Helper()
	st, m := c.admin("GET", "/codepay/terminals/"+sn, nil)
	if st != 200 {
		c.t.Fatalf("terminal %s: %d %v", sn, st, m)
	}
	return m
}

// step returns the screen of the order a terminal shows, or "".
func (c *cp) step(sn string) string {
	s, _ := c.terminal(sn)["screen"].(map[string]any)
	if s == nil {
		return ""
	}
	return fmt.Sprint(s["step"])
}

// order pushes a sale (or any trans_type) to a terminal and returns its
// trans_no. Fields override the defaults.
func (c *cp) order(orderNo string, fields map[string]any) string {
	c.t.Helper()
	base := map[string]any{"terminal_sn": termA, "message_receiving_application": "CodePay Register", "price_currency": "USD",
		"order_amount": json.Number("20.00"), "trans_type": 1, "merchant_order_no": orderNo, "description": "test order", "expires": 300,
		"api_version": "2.0", "on_screen_signature": false}
	for k, v := range fields {
		base[k] = v
	}
	a := c.call("wisehub.cloud.pay.order", base)
	if a.Code != "0" {
		c.t.Fatalf("create order %s: %s", orderNo, a)
	}
	return a.str("trans_no")
}

// query returns order.query's data for a merchant_order_no.
func (c *cp) query(orderNo string) answer {
	c.t.Helper()
	return c.call("order.query", map[string]any{"merchant_order_no": orderNo})
}

// statusOf returns an order's trans_status.
func (c *cp) statusOf(orderNo string) string {
	c.t.Helper()
	a := c.query(orderNo)
	if a.Code != "0" {
		c.t.Fatalf("query %s: %s", orderNo, a)
	}
	return a.str("trans_status")
}

// paidSale pushes a sale to termA and pays it with a card.
func (c *cp) paidSale(orderNo, amount, cardNo string, fields map[string]any) string {
	c.t.Helper()
	f := map[string]any{"order_amount": json.Number(amount)}
	for k, v := range fields {
		f[k] = v
	}
	transNo := c.order(orderNo, f)
	sn := termA
	if s, ok := f["terminal_sn"].(string); ok {
		sn = s
	}
	c.act(sn, "card", map[string]any{"card": cardNo})
	return transNo
}

func (c *cp) events(kind string) []journal.Event {
	return c.h.Sim.Journal().Query(journal.Filter{System: "codepay", Kind: kind})
}

func (c *cp) advance(d time.Duration) { c.t.Helper(); c.h.Advance(d) }

// notifyServer is a merchant's notify_url: it answers each notification
// with the next of answers (the last one repeats) and records every body.
type notifyServer struct {
	*httptest.Server
	mu      sync.Mutex
	answers []string
	got     [][]byte
	arrived chan struct{}
}

func newNotifyServer(t testing.TB, answers ...string) *notifyServer {
	n := &notifyServer{answers: answers, arrived: make(chan struct{}, 100)}
	n.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var buf bytes.Buffer
		buf.ReadFrom(r.Body)
		n.mu.Lock()
		i := len(n.got)
		n.got = append(n.got, buf.Bytes())
		ans := "success"
		if len(n.answers) > 0 {
			ans = n.answers[min(i, len(n.answers)-1)]
		}
		n.mu.Unlock()
		if strings.HasPrefix(ans, "HTTP ") {
			code, _ := strconv.Atoi(strings.TrimPrefix(ans, "HTTP "))
			w.WriteHeader(code)
		} else {
			w.Write([]byte(ans))
		}
		n.arrived <- struct{}{}
	}))
	t.Cleanup(n.Close)
	return n
}

// wait blocks until n notifications arrived in total.
func (n *notifyServer) wait(t testing.TB, total int) [][]byte {
	t.Helper()
	deadline := time.After(simtest.Patience)
	for {
		n.mu.Lock()
		got := len(n.got)
		n.mu.Unlock()
		if got >= total {
			n.mu.Lock()
			defer n.mu.Unlock()
			return append([][]byte(nil), n.got...)
		}
		select {
		case <-n.arrived:
		case <-deadline:
			t.Fatalf("%d notifications arrived, want %d", got, total)
		}
	}
}

func (n *notifyServer) count() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return len(n.got)
}

// encryptCard encrypts a card JSON to the gateway's key, as a merchant's
// page does for pay.merchant.checkout.
func encryptCard(t testing.TB, pub *rsa.PublicKey, card map[string]string) string {
	t.Helper()
	plain, _ := json.Marshal(card)
	ct, err := rsa.EncryptPKCS1v15(rand.Reader, pub, plain)
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(ct)
}

func readFixture(t testing.TB, name string) ([]byte, error) {
	t.Helper()
	b, err := fixtures.Read(name)
	if err != nil {
		t.Fatal(err)
	}
	return b, nil
}

// waitDeliveries blocks until an order's notifications have settled: n
// attempts made, each followed by its retry being scheduled or the
// delivery ending (the first attempt runs in its own goroutine).
func (c *cp) waitDeliveries(orderNo string, n int) {
	c.t.Helper()
	deadline := time.Now().Add(simtest.Patience)
	for time.Now().Before(deadline) {
		f := journal.Filter{IDs: map[string]string{"merchant_order_no": orderNo}}
		count := func(kind string) int { f.Kind = kind; return len(c.h.Sim.Journal().Query(f)) }
		if count("delivery.attempt") >= n && count("delivery.scheduled")+count("delivery.delivered")+count("delivery.failed") >= n {
			return
		}
		time.Sleep(2 * time.Millisecond)
	}
	c.t.Fatalf("deliveries of %s did not settle after %d attempts", orderNo, n)
}
