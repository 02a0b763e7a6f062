package simtest

import (
	"crypto/rsa"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/pspsim/pspsim/fixtures"
	"github.com/pspsim/pspsim/simulator/codepay"
)

// JSONRequest builds a server-side request for a handler under test (or a
// benchmark): the body, when not empty, is sent as application/json; headers
// are name/value pairs.
func JSONRequest(method, path, body string, headers ...string) *http.Request {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, path, rd)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	return req
}

// Field reads a dotted path ("payment.amount") out of decoded JSON, or nil
// when any step of the path is missing or not an object.
func Field(m map[string]any, path string) any {
	var cur any = m
	for _, p := range strings.Split(path, ".") {
		mm, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = mm[p]
	}
	return cur
}

// FieldString is Field printed with fmt.Sprint, "" when absent.
func FieldString(m map[string]any, path string) string {
	v := Field(m, path)
	if v == nil {
		return ""
	}
	return fmt.Sprint(v)
}

// SetField returns a body modifier that sets a dotted path to v, creating the
// objects on the way; v == nil deletes the field. Tests build variants of a
// valid body with it (one field missing, one value wrong).
func SetField(path string, v any) func(map[string]any) {
	return func(b map[string]any) {
		parts := strings.Split(path, ".")
		cur := b
		for _, p := range parts[:len(parts)-1] {
			next, ok := cur[p].(map[string]any)
			if !ok {
				next = map[string]any{}
				cur[p] = next
			}
			cur = next
		}
		if v == nil {
			delete(cur, parts[len(parts)-1])
		} else {
			cur[parts[len(parts)-1]] = v
		}
	}
}

// Patience is how long Eventually waits. Deliveries and timers of the real
// clock run on their own goroutines; on a busy two-core machine they can take
// far longer than on an idle one, so the wait is generous — a passing test
// returns as soon as its condition holds.
const Patience = 20 * time.Second

// Eventually polls cond (wall time) until it holds, failing t after Patience.
func Eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(Patience)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", Patience, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// CodePayKey is a CodePay app's private key among the fixtures
// (fixtures/keys/<name>: codepay-app-demo.pem for the demo app's sandbox,
// codepay-app-demo-live.pem for its live environment).
func CodePayKey(t testing.TB, name string) *rsa.PrivateKey {
	t.Helper()
	b, err := fixtures.Read("keys/" + name)
	if err != nil {
		t.Fatal(err)
	}
	k, err := codepay.ParsePrivateKey(b)
	if err != nil {
		t.Fatal(err)
	}
	return k
}
