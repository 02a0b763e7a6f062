package simulator_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pspsim/pspsim/simulator"
	"github.com/pspsim/pspsim/simulator/clock"
	"github.com/pspsim/pspsim/simulator/simtest"
)

// TestSoakMemoryIsFlat sends a long mixed load — card payments (approved,
// declined, some refunded), inquiries, Genstore pay-transaction queries,
// CodePay orders and queries, journal pages and the gateway's records —
// with the simulated clock moving on, and checks that memory stops growing
// once retention holds: over the last half of the run the live heap's peaks
// stay level (within 10%, plus 4 MB).
//
// By default it runs 60 000 requests with small limits (a few seconds);
// PSPSIM_SOAK=1 runs 1 000 000 requests at the default retention (the
// figure of docs/PERFORMANCE.md; minutes), PSPSIM_SOAK=N runs N. Skipped
// under -short.
func TestSoakMemoryIsFlat(t *testing.T) {
	if testing.Short() {
		t.Skip("soak test: skipped under -short")
	}
	total := 60_000
	if v, err := strconv.Atoi(os.Getenv("PSPSIM_SOAK_SMALL")); err == nil {
		total = v // the small limits, for longer
	}
	retention := simulator.Retention{Events: 20_000, Objects: 5_000}
	if v := os.Getenv("PSPSIM_SOAK"); v != "" {
		retention = simulator.Retention{} // the defaults, with serve's memory limit
		defer debug.SetMemoryLimit(debug.SetMemoryLimit(simulator.DefaultMemoryLimit))
		total = 1_000_000
		if n, err := strconv.Atoi(v); err == nil && n > 1 {
			total = n
		}
	}
	c := clock.NewSim(simtest.Start)
	sim, err := simulator.New(context.Background(), simulator.Options{Clock: c, Seed: 1, Retention: retention})
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	l := &load{t: t, h: sim.Handler(), clock: c}
	l.vmToken()

	type sample struct {
		requests int
		heap     uint64 // live heap after a collection
		rss      uint64
	}
	var samples []sample
	measure := func(n int) {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		if f := os.Getenv("PSPSIM_SOAK_HEAP"); f != "" {
			// Heap profiles at every sample, to compare with go tool pprof -base.
			if out, err := os.Create(fmt.Sprintf("%s.%d", f, n)); err == nil {
				pprof.WriteHeapProfile(out)
				out.Close()
			}
		}
		s := sample{n, m.HeapAlloc, rss()}
		samples = append(samples, s)
		t.Logf("after %7d requests: live heap %6.1f MB, RSS %6.1f MB", s.requests, float64(s.heap)/1e6, float64(s.rss)/1e6)
	}
	start := time.Now()
	for n := 1; n <= total; n++ {
		l.next(n)
		if n%(total/20) == 0 {
			measure(n)
		}
	}
	elapsed := time.Since(start)
	t.Logf("%d requests in %s (%d failed); the journal keeps %d events", total, elapsed.Round(time.Second), l.failed, sim.Journal().Len())
	// Retention evicts in rounds (a tenth at a time), so memory saw-tooths:
	// flat means the peaks of the last quarter are no higher than those of
	// the third (growth would raise them by a third).
	peak := func(part []sample) uint64 {
		var m uint64
		for _, s := range part {
			m = max(m, s.heap)
		}
		return m
	}
	q3, q4 := peak(samples[len(samples)/2:len(samples)*3/4]), peak(samples[len(samples)*3/4:])
	if q4 > q3+q3/10+4<<20 {
		t.Errorf("live heap still grows in the second half: peaks %.1f MB, then %.1f MB", float64(q3)/1e6, float64(q4)/1e6)
	}
	if l.failed > total/100 {
		t.Errorf("%d of %d requests failed", l.failed, total)
	}
	debug.FreeOSMemory()
}

// rss is the process's resident set, from /proc (0 elsewhere).
func rss() uint64 {
	raw, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseUint(f[1], 10, 64)
			return kb * 1024
		}
	}
	return 0
}

// load is the mix of the soak test: out of every 20 requests, 7 card
// payments (one in 7 declined), 4 inquiries, 1 refund, 3 Genstore queries,
// 1 CodePay order and 1 query (sign_type NONE: the answers are still
// signed), 1 journal page, 1 gateway records lookup and 1 health check; the
// clock moves a minute every 500 requests, so that refunds settle, orders
// left at the terminal expire and deliveries' schedules run. Every kind
// reaches the default limits within the first half of a 1M run.
type load struct {
	t        *testing.T
	h        http.Handler
	clock    *clock.Sim
	auth     string
	payments int
	orders   int
	failed   int
}

func (l *load) do(r *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	r.Host = "127.0.0.1" // the control API answers loopback names only
	l.h.ServeHTTP(rec, r)
	if rec.Code >= 300 {
		l.failed++
		if l.failed <= 5 {
			l.t.Logf("%s %s: %d %s", r.Method, r.URL, rec.Code, rec.Body)
		}
	}
	return rec
}

func (l *load) vmToken() {
	rec := l.do(simtest.JSONRequest("POST", "/vm/v1/auth/token", `{"appId":"086666075137001","secret":"184E52CF5365D2D7EE8EDA************"}`))
	i := strings.Index(rec.Body.String(), `"accessToken":"`)
	if i < 0 {
		l.t.Fatalf("token: %s", rec.Body)
	}
	tok := rec.Body.String()[i+len(`"accessToken":"`):]
	l.auth = "Bearer " + tok[:strings.IndexByte(tok, '"')]
}

func (l *load) orderNo(i int) string { return "S" + strconv.Itoa(100000000+i) }

func (l *load) next(n int) {
	if n%500 == 0 {
		l.clock.Advance(time.Minute)
	}
	if n%20_000 == 0 {
		l.vmToken() // tokens last two hours on the clock
	}
	switch n % 20 {
	case 0, 1, 2, 3, 4, 5, 6:
		l.payments++
		card := "4000123456000019"
		if l.payments%7 == 0 {
			card = "4000123456000027" // declined
		}
		body := strings.Replace(vmPaymentBody(l.orderNo(l.payments)), "4000123456000019", card, 1)
		l.do(simtest.JSONRequest("POST", "/vm/v1/payments", body, "Authorization", l.auth))
	case 7, 8, 9, 10:
		l.do(simtest.JSONRequest("POST", "/vm/v1/payments/inquiry", `{"orderNo":"`+l.orderNo(max(1, l.payments-n%50))+`"}`, "Authorization", l.auth))
	case 11:
		p := max(1, l.payments-3)
		if p%7 == 0 {
			p-- // a declined payment has nothing to refund
		}
		l.do(simtest.JSONRequest("POST", "/vm/v1/refunds", fmt.Sprintf(`{"orderNo":"%s","amount":"1.00","clientIp":"10.1.1.1","reason":"soak","refundNumber":"RF%08d"}`,
			l.orderNo(p), n), "Authorization", l.auth))
	case 12, 13, 14:
		r := httptest.NewRequest("GET", "/genstore/api/202412/payment/PI0020241010151755224", nil)
		r.Header.Set("X-Genstore-Access-Token", simtest.GenstoreToken)
		l.do(r)
	case 15, 16:
		l.codepay(n)
	case 17:
		l.do(httptest.NewRequest("GET", "/_sim/events?system=vmgateway&kind=payment&limit=20", nil))
	case 18:
		l.do(httptest.NewRequest("GET", "/_sim/vmgateway/payments?orderNo="+l.orderNo(max(1, l.payments-7)), nil))
	case 19:
		l.do(httptest.NewRequest("GET", "/_sim/health", nil))
	}
}

// codepay creates an order on a terminal or queries the last one, with
// Basic credentials (sign_type NONE).
func (l *load) codepay(n int) {
	fields := `"app_id":"wz9f2a175d0e0ef632","format":"JSON","charset":"UTF-8","sign_type":"NONE","version":"1.0","merchant_no":"302100041048",` +
		`"timestamp":"` + strconv.FormatInt(l.clock.Now().UnixMilli(), 10) + `"`
	var body string
	if n%20 == 15 {
		l.orders++
		body = `{` + fields + `,"method":"wisehub.cloud.pay.order","terminal_sn":"WPYB001234567890","message_receiving_application":"CodePay Register",` +
			`"price_currency":"USD","order_amount":12.34,"trans_type":1,"merchant_order_no":"SOAK` + strconv.Itoa(l.orders) + `","description":"soak","expires":60,"api_version":"2.0"}`
	} else {
		body = `{` + fields + `,"method":"order.query","merchant_order_no":"SOAK` + strconv.Itoa(max(1, l.orders)) + `"}`
	}
	r := simtest.JSONRequest("POST", "/codepay/api/entry", body,
		"Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte("wz9f2a175d0e0ef632:demo-basic-password")))
	rec := l.do(r)
	if !strings.Contains(rec.Body.String(), `"code":"0"`) {
		l.failed++
		if l.failed <= 5 {
			l.t.Logf("codepay: %s", rec.Body)
		}
	}
}
