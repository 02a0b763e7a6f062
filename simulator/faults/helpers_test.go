package faults_test

import (
	"context"
	"encoding/json"
	"errors"
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
	"github.com/pspsim/pspsim/simulator/clock"
	"github.com/pspsim/pspsim/simulator/faults"
	"github.com/pspsim/pspsim/simulator/ids"
	"github.com/pspsim/pspsim/simulator/journal"
	"github.com/pspsim/pspsim/simulator/openapi"
)

var t0 = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

// testDialect renders errors as {kind, code, message} with the kind's status
// unless the error carries one.
var testDialect = apierr.DialectFunc(func(w http.ResponseWriter, _ *http.Request, e *apierr.Error) {
	status := e.Status
	if status == 0 {
		status = apierr.HTTPStatus(e.Kind)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"kind": string(e.Kind), "code": e.Code, "message": e.Message})
})

func tokenAuth(ctx context.Context, in *openapi3filter.AuthenticationInput) error {
	if in.RequestValidationInput.Request.Header.Get("X-Token") == "" {
		return apierr.New(apierr.Unauthorized, "X-Token: missing")
	}
	openapi.FromContext(ctx).Tag(openapi.TagMerchant, in.RequestValidationInput.Request.Header.Get("X-Merchant"))
	return nil
}

// shop is a small API (../openapi/testdata/shop.yaml) served on a real socket
// through the fault engine: createOrder commits an order that getOrder
// finds, so a test can see whether an operation ran whatever the client got.
type shop struct {
	t       *testing.T
	eng     *faults.Engine
	clock   *clock.Sim
	journal *journal.Journal
	srv     *httptest.Server
	created atomic.Int32

	mu     sync.Mutex
	orders map[string]string
}

func newShop(t *testing.T, seed uint64) *shop {
	t.Helper()
	c := clock.NewSim(t0)
	j := journal.New(c, 0)
	s := &shop{t: t, clock: c, journal: j, orders: map[string]string{}}
	s.eng = faults.New(faults.Options{Clock: c, Journal: j, IDs: ids.New(seed)})
	doc, err := openapi.Load(context.Background(), os.DirFS("../openapi/testdata"), "shop.yaml", "/shop", false)
	if err != nil {
		t.Fatal(err)
	}
	m, err := openapi.New(openapi.Config{System: "shop", Prefix: "/shop", Doc: doc, Dialect: testDialect, Auth: tokenAuth,
		Wrap: s.eng.Wrap("shop"),
		CheckResponses: func(r *http.Request, op string, status int, err error) {
			if err != nil {
				t.Errorf("%s answered %d against its spec: %v", op, status, err)
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	m.HandleFunc("createOrder", func(w http.ResponseWriter, r *http.Request) {
		var in struct{ OrderNo string }
		json.Unmarshal(openapi.FromContext(r.Context()).Body, &in)
		s.mu.Lock()
		s.orders[in.OrderNo] = "CREATED"
		s.mu.Unlock()
		s.created.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(201)
		w.Write([]byte(`{"orderNo":"` + in.OrderNo + `","status":"CREATED"}`))
	})
	m.HandleFunc("getOrder", func(w http.ResponseWriter, r *http.Request) {
		no := openapi.FromContext(r.Context()).PathParams["orderNo"]
		s.mu.Lock()
		st, ok := s.orders[no]
		s.mu.Unlock()
		if !ok {
			testDialect.WriteError(w, r, apierr.New(apierr.NotFound, "no order %s", no).WithStatus(400))
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"orderNo":"` + no + `","status":"` + st + `"}`))
	})
	s.srv = httptest.NewServer(m)
	t.Cleanup(s.srv.Close)
	t.Cleanup(s.eng.Close) // runs first: held connections let go
	return s
}

// rule installs one rule written in YAML.
func (s *shop) rule(yamlText string) faults.Status {
	s.t.Helper()
	f, err := faults.ParseFile([]byte(yamlText), faults.SourceAPI)
	if err != nil {
		s.t.Fatalf("parse %s: %v", yamlText, err)
	}
	if len(f.Rules) != 1 {
		s.t.Fatalf("want one rule in %s", yamlText)
	}
	st, err := s.eng.Add(f.Rules[0])
	if err != nil {
		s.t.Fatalf("add %s: %v", yamlText, err)
	}
	return st
}

type answer struct {
	status int
	body   []byte
	header http.Header
	err    error // transport error, or an error reading the body
	took   time.Duration
}

func (s *shop) create(client *http.Client, orderNo, amount string, headers ...string) answer {
	s.t.Helper()
	req, _ := http.NewRequest("POST", s.srv.URL+"/shop/orders", strings.NewReader(`{"orderNo":"`+orderNo+`","amount":"`+amount+`"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Token", "w")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	if client == nil {
		client = s.srv.Client()
	}
	start := time.Now()
	res, err := client.Do(req)
	if err != nil {
		return answer{err: err, took: time.Since(start)}
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return answer{status: res.StatusCode, body: b, header: res.Header, err: err, took: time.Since(start)}
}

// committed asks the API whether an order exists.
func (s *shop) committed(orderNo string) bool {
	s.t.Helper()
	req, _ := http.NewRequest("GET", s.srv.URL+"/shop/orders/"+orderNo, nil)
	req.Header.Set("X-Token", "r")
	res, err := s.srv.Client().Do(req)
	if err != nil {
		s.t.Fatalf("query %s: %v", orderNo, err)
	}
	res.Body.Close()
	return res.StatusCode == 200
}

func (s *shop) events(kind string) []journal.Event {
	return s.journal.Query(journal.Filter{System: faults.System, Kind: kind})
}

func isTimeout(err error) bool {
	var ne interface{ Timeout() bool }
	return errors.As(err, &ne) && ne.Timeout()
}

// fresh returns a client with its own connections, so that one test's broken
// connection is never reused by another request (net/http silently retries
// some requests on a reused connection that breaks).
func fresh(timeout time.Duration) *http.Client {
	return &http.Client{Timeout: timeout, Transport: &http.Transport{DisableKeepAlives: true}}
}
