package openapi_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3filter"

	"github.com/pspsim/pspsim/simulator/apierr"
	"github.com/pspsim/pspsim/simulator/openapi"
)

// testDialect renders errors as {kind, field, rule, message} with the
// conventional HTTP status.
var testDialect = apierr.DialectFunc(func(w http.ResponseWriter, _ *http.Request, e *apierr.Error) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(apierr.HTTPStatus(e.Kind))
	json.NewEncoder(w).Encode(map[string]string{"kind": string(e.Kind), "field": e.Field, "rule": e.Rule, "message": e.Message})
})

// tokenAuth knows two tokens: "w" with scope write, "r" with scope read.
func tokenAuth(ctx context.Context, in *openapi3filter.AuthenticationInput) error {
	tok := in.RequestValidationInput.Request.Header.Get("X-Token")
	scopes := map[string][]string{"w": {"write"}, "r": {"read"}}[tok]
	if scopes == nil {
		return apierr.New(apierr.Unauthorized, "X-Token: missing or unknown token")
	}
	for _, need := range in.Scopes {
		ok := false
		for _, s := range scopes {
			ok = ok || s == need
		}
		if !ok {
			return apierr.New(apierr.Forbidden, "token lacks scope %s", need)
		}
	}
	openapi.FromContext(ctx).SetPrincipal(tok)
	return nil
}

type violation struct {
	op     string
	status int
	err    error
}

func newMount(t *testing.T, violations *[]violation) *openapi.Mount {
	t.Helper()
	doc, err := openapi.Load(context.Background(), os.DirFS("testdata"), "shop.yaml", "/shop", true)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	m, err := openapi.New(openapi.Config{System: "shop", Prefix: "/shop", Doc: doc, Dialect: testDialect, Auth: tokenAuth, MaxBody: 4096,
		CheckResponses: func(_ *http.Request, op string, status int, err error) {
			if err != nil {
				mu.Lock()
				*violations = append(*violations, violation{op, status, err})
				mu.Unlock()
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func do(t *testing.T, h http.Handler, method, path, token, body string) (int, map[string]any, http.Header) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, path, rd)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("X-Token", token)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	var out map[string]any
	json.Unmarshal(rec.Body.Bytes(), &out)
	return rec.Code, out, rec.Header()
}

func TestMountValidationErrorsNameFieldAndRule(t *testing.T) {
	var vs []violation
	m := newMount(t, &vs)
	cases := []struct {
		name, method, path, token, body string
		status                          int
		kind, field, rule               string
	}{
		{"missing field", "POST", "/shop/orders", "w", `{"orderNo":"A0001"}`, 400, "missing", "amount", "required"},
		{"wrong type", "POST", "/shop/orders", "w", `{"orderNo":"A0001","amount":12}`, 400, "invalid", "amount", "type"},
		{"too long", "POST", "/shop/orders", "w", `{"orderNo":"A000000001","amount":"1"}`, 400, "invalid", "orderNo", "maxLength"},
		{"too short", "POST", "/shop/orders", "w", `{"orderNo":"A1","amount":"1"}`, 400, "invalid", "orderNo", "minLength"},
		{"bad enum", "POST", "/shop/orders", "w", `{"orderNo":"A0001","amount":"1","mode":"sometimes"}`, 400, "invalid", "mode", "enum"},
		{"bad amount", "POST", "/shop/orders", "w", `{"orderNo":"A0001","amount":"1e5"}`, 400, "invalid", "amount", "pattern"},
		{"bad email", "POST", "/shop/orders", "w", `{"orderNo":"A0001","amount":"1","email":"nope"}`, 400, "invalid", "email", "format"},
		{"unknown field", "POST", "/shop/orders", "w", `{"orderNo":"A0001","amount":"1","amuont":"2"}`, 400, "invalid", "amuont", "additionalProperties"},
		{"nested array field", "POST", "/shop/orders", "w", `{"orderNo":"A0001","amount":"1","items":[{"sku":"a"},{"sku":"long"}]}`, 400, "invalid", "items[1].sku", "maxLength"},
		{"malformed json", "POST", "/shop/orders", "w", `{"orderNo":`, 400, "malformed", "", "parse"},
		{"path parameter", "GET", "/shop/orders/a-b", "r", "", 400, "invalid", "orderNo", "pattern"},
		{"no token", "POST", "/shop/orders", "", `{"orderNo":"A0001","amount":"1"}`, 401, "unauthorized", "", ""},
		{"auth wins over body errors", "POST", "/shop/orders", "nope", `{"x":`, 401, "unauthorized", "", ""},
		{"scope missing", "POST", "/shop/orders", "r", `{"orderNo":"A0001","amount":"1"}`, 403, "forbidden", "", ""},
		{"unknown path", "GET", "/shop/nothing", "w", "", 404, "not_found", "", ""},
		{"wrong method", "DELETE", "/shop/orders", "w", "", 405, "method_not_allowed", "", ""},
		{"body too large", "POST", "/shop/orders", "w", `{"orderNo":"` + strings.Repeat("x", 5000) + `"}`, 413, "too_large", "", ""},
		{"dispatch: unknown method", "POST", "/shop/entry", "", `{"method":"pay.nothing"}`, 400, "invalid", "method", "discriminator"},
		{"dispatch: missing method", "POST", "/shop/entry", "", `{"amount":1}`, 400, "invalid", "method", "discriminator"},
		{"dispatch: field of the mapped schema", "POST", "/shop/entry", "", `{"method":"order.query","trans_no":"12345"}`, 400, "invalid", "trans_no", "maxLength"},
		{"dispatch: field of the other schema refused", "POST", "/shop/entry", "", `{"method":"order.query","trans_no":"1","amount":1}`, 400, "invalid", "amount", "additionalProperties"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			status, out, _ := do(t, m, c.method, c.path, c.token, c.body)
			if status != c.status || out["kind"] != c.kind || out["field"] != c.field || (c.rule != "" && out["rule"] != c.rule) {
				t.Fatalf("got %d %v; want %d %s %s %s", status, out, c.status, c.kind, c.field, c.rule)
			}
			if msg, _ := out["message"].(string); c.field != "" && !strings.Contains(msg, c.field) {
				t.Fatalf("message %q does not name %s", msg, c.field)
			}
		})
	}
}

func TestMountDispatchesByOperationIDAndByMethod(t *testing.T) {
	var vs []violation
	m := newMount(t, &vs)
	var seen []string
	if err := m.HandleFunc("createOrder", func(w http.ResponseWriter, r *http.Request) {
		req := openapi.FromContext(r.Context())
		body, _ := io.ReadAll(r.Body)
		seen = append(seen, req.Key+":"+req.Principal().(string)+":"+string(body))
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(201)
		w.Write([]byte(`{"orderNo":"A0001","status":"PAID"}`))
	}); err != nil {
		t.Fatal(err)
	}
	if err := m.HandleFunc("order.query", func(w http.ResponseWriter, r *http.Request) {
		seen = append(seen, openapi.FromContext(r.Context()).Key)
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"code":"0","data":{"status":9}}`))
	}); err != nil {
		t.Fatal(err)
	}
	if err := m.HandleFunc("createOrdr", nil); err == nil {
		t.Fatal("a handler for an operation the spec lacks was accepted")
	}
	status, out, _ := do(t, m, "POST", "/shop/orders", "w", `{"orderNo":"A0001","amount":"1"}`)
	if status != 201 || out["status"] != "PAID" {
		t.Fatalf("%d %v", status, out)
	}
	status, out, _ = do(t, m, "POST", "/shop/entry", "", `{"method":"order.query","trans_no":"1"}`)
	if status != 200 || out["data"].(map[string]any)["status"] != 9.0 {
		t.Fatalf("%d %v", status, out)
	}
	// pay.order has no handler: it answers its own example, not order.query's.
	status, out, hdr := do(t, m, "POST", "/shop/entry", "", `{"method":"pay.order","amount":1}`)
	if status != 200 || out["data"].(map[string]any)["paid"] != true || hdr.Get("X-Pspsim-Answer") != "spec-example" {
		t.Fatalf("%d %v %v", status, out, hdr)
	}
	if len(seen) != 2 || seen[0] != `createOrder:w:{"orderNo":"A0001","amount":"1"}` || seen[1] != "order.query" {
		t.Fatalf("handlers saw %q", seen)
	}
	if got := strings.Join(m.Unhandled(), ","); got != "getOrder,pay.order,watchOrders" {
		t.Fatalf("unhandled = %s", got)
	}
	if len(vs) != 0 {
		t.Fatalf("valid responses reported as violations: %+v", vs)
	}
}

func TestMountChecksResponsesAgainstTheSpec(t *testing.T) {
	var vs []violation
	m := newMount(t, &vs)
	m.HandleFunc("getOrder", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"orderNo":"A0001","status":"LOST"}`)) // not in the enum
	})
	status, _, _ := do(t, m, "GET", "/shop/orders/A0001", "r", "")
	if status != 200 {
		t.Fatalf("status %d", status)
	}
	if len(vs) != 1 || vs[0].op != "getOrder" {
		t.Fatalf("want one violation on getOrder, got %+v", vs)
	}
	// An undeclared status is a violation too.
	vs = nil
	m.HandleFunc("getOrder", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(418) })
	do(t, m, "GET", "/shop/orders/A0001", "r", "")
	if len(vs) != 1 {
		t.Fatalf("undeclared status not reported: %+v", vs)
	}
}

func TestMountRefusesSpecsItCannotServe(t *testing.T) {
	doc, err := openapi.Load(context.Background(), os.DirFS("testdata"), "shop.yaml", "/shop", false)
	if err != nil {
		t.Fatal(err)
	}
	doc.Paths.Value("/orders").Post.Responses.Status(201).Value.Content.Get("application/json").Example = nil
	if _, err := openapi.New(openapi.Config{System: "shop", Doc: doc, Dialect: testDialect}); err == nil || !strings.Contains(err.Error(), "no example") {
		t.Fatalf("a success response without example was accepted: %v", err)
	}
}

func TestLoadRewritesServersToTheMount(t *testing.T) {
	doc, err := openapi.Load(context.Background(), os.DirFS("testdata"), "shop.yaml", "/shop", false)
	if err != nil {
		t.Fatal(err)
	}
	if len(doc.Servers) != 1 || doc.Servers[0].URL != "/shop" {
		t.Fatalf("servers = %v", doc.Servers)
	}
}

func BenchmarkMountValidatedRequest(b *testing.B) {
	doc, _ := openapi.Load(context.Background(), os.DirFS("testdata"), "shop.yaml", "/shop", false)
	m, _ := openapi.New(openapi.Config{System: "shop", Prefix: "/shop", Doc: doc, Dialect: testDialect, Auth: tokenAuth})
	m.HandleFunc("createOrder", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(201) })
	body := `{"orderNo":"A0001","amount":"12.50","mode":"auto","items":[{"sku":"a1"}]}`
	for b.Loop() {
		req := httptest.NewRequest("POST", "/shop/orders", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Token", "w")
		rec := httptest.NewRecorder()
		m.ServeHTTP(rec, req)
		if rec.Code != 201 {
			b.Fatal(rec.Code, rec.Body.String())
		}
	}
}

func TestGuardRunsAfterValidationAndCanRefuse(t *testing.T) {
	var vs []violation
	m := newMount(t, &vs)
	doc := m.Doc()
	var order []string
	guarded, err := openapi.New(openapi.Config{System: "shop", Prefix: "/shop", Doc: doc, Dialect: testDialect, Auth: tokenAuth,
		Guard: func(w http.ResponseWriter, r *http.Request) bool {
			order = append(order, "guard")
			req := openapi.FromContext(r.Context())
			req.Tag(openapi.TagMerchant, "m1")
			if strings.Contains(string(req.Body), "REFUSE") {
				testDialect.WriteError(w, r, apierr.New(apierr.Unauthorized, "bad signature"))
				return false
			}
			return true
		},
		Wrap: func(next http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				order = append(order, "wrap:"+openapi.FromContext(r.Context()).Tags()[openapi.TagMerchant])
				next.ServeHTTP(w, r)
			})
		}})
	if err != nil {
		t.Fatal(err)
	}
	guarded.HandleFunc("createOrder", func(w http.ResponseWriter, r *http.Request) { order = append(order, "handler"); w.WriteHeader(201) })
	if status, _, _ := do(t, guarded, "POST", "/shop/orders", "w", `{"orderNo":"A0001"}`); status != 400 || len(order) != 0 {
		t.Fatalf("an invalid request reached the guard: %d %v", status, order)
	}
	if status, _, _ := do(t, guarded, "POST", "/shop/orders", "w", `{"orderNo":"REFUSE","amount":"1"}`); status != 401 || strings.Join(order, ",") != "guard" {
		t.Fatalf("refusal: %d %v", status, order)
	}
	order = nil
	if status, _, _ := do(t, guarded, "POST", "/shop/orders", "w", `{"orderNo":"A0001","amount":"1"}`); status != 201 || strings.Join(order, ",") != "guard,wrap:m1,handler" {
		t.Fatalf("order: %d %v", status, order)
	}
}

// TestWrapGetsTheConnectionWhileResponsesAreChecked shows the plumbing the
// fault engine needs: with response checking on, the wrapper still receives
// the connection's own writer (it can hijack and reset it), the handler's
// answer is checked inside the wrapper, and a streamed operation is not
// buffered at all.
func TestWrapGetsTheConnectionWhileResponsesAreChecked(t *testing.T) {
	doc, err := openapi.Load(context.Background(), os.DirFS("testdata"), "shop.yaml", "/shop", true)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var checked []string
	m, err := openapi.New(openapi.Config{System: "shop", Prefix: "/shop", Doc: doc, Dialect: testDialect, Auth: tokenAuth,
		CheckResponses: func(_ *http.Request, op string, status int, err error) {
			mu.Lock()
			defer mu.Unlock()
			checked = append(checked, op)
			if err != nil {
				t.Errorf("%s: %v", op, err)
			}
		},
		Wrap: func(next http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.Header.Get("X-Reset") == "" {
					next.ServeHTTP(w, r)
					return
				}
				next.ServeHTTP(httptest.NewRecorder(), r) // the operation runs; its answer is lost
				conn, _, err := http.NewResponseController(w).Hijack()
				if err != nil {
					t.Errorf("the wrapper cannot hijack: %v", err)
					return
				}
				conn.Close()
			})
		}})
	if err != nil {
		t.Fatal(err)
	}
	var created atomic.Int32
	m.HandleFunc("createOrder", func(w http.ResponseWriter, r *http.Request) {
		created.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(201)
		w.Write([]byte(`{"orderNo":"A0001","status":"CREATED"}`))
	})
	m.HandleFunc("watchOrders", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(200)
		w.Write([]byte("data: {\"n\":1}\n\n"))
		if err := http.NewResponseController(w).Flush(); err != nil {
			t.Errorf("a stream cannot flush: %v", err)
		}
		<-r.Context().Done()
	})
	srv := httptest.NewServer(m)
	defer srv.Close()
	post := func(reset bool) (*http.Response, error) {
		req, _ := http.NewRequest("POST", srv.URL+"/shop/orders", strings.NewReader(`{"orderNo":"A0001","amount":"1"}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Token", "w")
		if reset {
			req.Header.Set("X-Reset", "1")
		}
		return srv.Client().Do(req)
	}
	res, err := post(false)
	if err != nil || res.StatusCode != 201 {
		t.Fatalf("plain request: %v %v", res, err)
	}
	res.Body.Close()
	if _, err := post(true); err == nil {
		t.Fatal("the connection was not broken")
	}
	if created.Load() != 2 {
		t.Fatalf("handler ran %d times, want 2", created.Load())
	}
	// The stream's first event arrives while the handler is still running.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/shop/feed", nil)
	res, err = srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(res.Body).ReadString('\n')
	if err != nil || line != "data: {\"n\":1}\n" {
		t.Fatalf("stream: %q %v", line, err)
	}
	cancel()
	res.Body.Close()
	mu.Lock()
	defer mu.Unlock()
	if strings.Join(checked, ",") != "createOrder,createOrder" {
		t.Fatalf("checked %v; want both createOrder answers and not the stream", checked)
	}
}

// TestWrapWrapsEveryRequest: the wrapper, applied once to a registered
// handler (at Handle) and per request to a spec-example answer, runs around
// every request that reaches a handler, with the request's Request in the
// context, and the last handler registered for a key is the one wrapped.
func TestWrapWrapsEveryRequest(t *testing.T) {
	doc, err := openapi.Load(context.Background(), os.DirFS("testdata"), "shop.yaml", "/shop", false)
	if err != nil {
		t.Fatal(err)
	}
	var around, handled []string
	m, err := openapi.New(openapi.Config{System: "shop", Prefix: "/shop", Doc: doc, Dialect: testDialect, Auth: tokenAuth,
		Wrap: func(next http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				around = append(around, openapi.FromContext(r.Context()).Key)
				next.ServeHTTP(w, r)
			})
		}})
	if err != nil {
		t.Fatal(err)
	}
	m.HandleFunc("createOrder", func(w http.ResponseWriter, r *http.Request) { handled = append(handled, "old"); w.WriteHeader(201) })
	m.HandleFunc("createOrder", func(w http.ResponseWriter, r *http.Request) { handled = append(handled, "create"); w.WriteHeader(201) })
	for range 3 {
		if status, _, _ := do(t, m, "POST", "/shop/orders", "w", `{"orderNo":"A0001","amount":"1"}`); status != 201 {
			t.Fatalf("createOrder: %d", status)
		}
	}
	// getOrder has no handler: its spec example answers, wrapped too.
	for range 2 {
		if status, _, h := do(t, m, "GET", "/shop/orders/A0001", "r", ""); status != 200 || h.Get("X-Pspsim-Answer") != "spec-example" {
			t.Fatalf("getOrder: %d %v", status, h)
		}
	}
	// A refused request reaches no handler, and no wrapper.
	if status, _, _ := do(t, m, "POST", "/shop/orders", "w", `{"orderNo":"A0001"}`); status != 400 {
		t.Fatalf("invalid order: %d", status)
	}
	if got, want := strings.Join(around, ","), "createOrder,createOrder,createOrder,getOrder,getOrder"; got != want {
		t.Errorf("wrapped: %s, want %s", got, want)
	}
	if got, want := strings.Join(handled, ","), "create,create,create"; got != want {
		t.Errorf("handled: %s, want %s", got, want)
	}
}
