package dashboard_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/pspsim/pspsim/simulator/simtest"
	"github.com/pspsim/pspsim/simulator/store"
)

// fill copies one document of kind n times under new ids (the id field
// idField changed in each), after the first was made by the real create
// path: the same data as n real payments, without n deliveries.
func fill(t testing.TB, st store.Store, kind, idField string, n int) {
	t.Helper()
	ctx := context.Background()
	var proto map[string]any
	st.List(ctx, kind, func(id string, doc []byte) bool {
		json.Unmarshal(doc, &proto)
		return proto == nil
	})
	if proto == nil {
		t.Fatalf("no %s to copy", kind)
	}
	for i := range n {
		id := fmt.Sprintf("FILL%07d", i)
		proto[idField] = id
		doc, _ := json.Marshal(proto)
		if err := st.Create(ctx, kind, fmt.Sprint(proto["shopId"], "/", id), doc); err != nil {
			t.Fatal(err)
		}
	}
}

// busySandbox is a simulator whose store holds n Genstore payments and n
// card gateway payments, each first made by the real create path.
func busySandbox(t testing.TB, n int) *simtest.Harness {
	h := simtest.New(t)
	ra := startRefApp(t, h)
	ra.pay(t, "12.34", "4000123456000019")
	st := h.Sim.Env().Store
	fill(t, st, "genstore.payment", "paymentId", n)
	fill(t, st, "vm.payment", "tradeNo", n)
	return h
}

// paint renders the dashboard's first page as a browser asks for it and
// returns the server time.
func paint(t testing.TB, h http.Handler) time.Duration {
	req := httptest.NewRequest("GET", "/", nil)
	req.Host = "127.0.0.1" // the control API answers its own host only
	req.Header.Set("Accept", "text/html,application/xhtml+xml")
	rec := httptest.NewRecorder()
	start := time.Now()
	h.ServeHTTP(rec, req)
	d := time.Since(start)
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), "Genstore payments") {
		t.Fatalf("first paint: %d %s", rec.Code, rec.Body.String()[:min(300, rec.Body.Len())])
	}
	return d
}

// TestFirstPaintWith10000Payments: the dashboard's first page, with 10,000
// payments in Genstore and 10,000 in the card gateway, renders in under
// 200 ms of server time. The best of five renders is judged (a busy machine
// slows some; the page's own cost is the best one), and its count says the
// whole store was seen.
func TestFirstPaintWith10000Payments(t *testing.T) {
	if testing.Short() {
		t.Skip("fills 20,000 payments")
	}
	h := busySandbox(t, 10_000)
	best := time.Hour
	for range 5 {
		best = min(best, paint(t, h.Sim.Handler()))
	}
	t.Logf("first paint with 10,000 + 10,000 payments: best of 5 = %s", best)
	if best > 200*time.Millisecond {
		t.Errorf("first paint took %s with 10,000 payments, want under 200ms", best)
	}
	stored := 0
	h.Sim.Env().Store.List(context.Background(), "genstore.payment", func(string, []byte) bool { stored++; return true })
	r := h.Do("GET", "/", nil, "Accept", "text/html")
	if want := fmt.Sprintf("Genstore payments</a> <small>%d</small>", stored); stored < 10_001 || !strings.Contains(string(r.Body), want) {
		t.Errorf("the overview does not count the %d Genstore payments (%q)", stored, want)
	}
}

// BenchmarkFirstPaint measures the first page with 100 and 10,000 payments
// per system: compare the two in one run (ratio), the machine is noisy.
func BenchmarkFirstPaint(b *testing.B) {
	for _, n := range []int{100, 10_000} {
		b.Run(fmt.Sprintf("payments=%d", n), func(b *testing.B) {
			h := busySandbox(b, n)
			handler := h.Sim.Handler()
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				paint(b, handler)
			}
		})
	}
}
