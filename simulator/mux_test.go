package simulator_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/pspsim/pspsim/simulator"
)

// TestMountMethodPatternsRouteAlike: the mux with the mounts' method
// patterns ("GET /genstore/" besides "/genstore/") routes every request as
// the mux without them: the same pattern (but for the method the added
// ones name), the same kind of handler, and the same redirects.
func TestMountMethodPatternsRouteAlike(t *testing.T) {
	sim, err := simulator.New(context.Background(), simulator.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	with, without := simulator.Mux(sim, true), simulator.Mux(sim, false)
	mounts := []string{"/genstore/", "/codepay/", "/vm/"}
	// normal names the pattern as the mux without method patterns does.
	normal := func(p string) string {
		for _, m := range []string{"GET ", "POST "} {
			for _, mt := range mounts {
				if p == m+mt {
					return mt
				}
			}
		}
		return p
	}
	// operationOf says that p is an operation's pattern under mount (a
	// method, the mount and more): a path the mount prefix took.
	operationOf := func(p, mount string) bool {
		method, path, ok := strings.Cut(p, " ")
		return ok && method != "" && slices.Contains(mounts, mount) && strings.HasPrefix(path, mount) && len(path) > len(mount)
	}
	var paths []string
	for _, p := range []string{"/genstore", "/codepay", "/vm", "/_sim", "/3ds", "/dash"} {
		for _, rest := range []string{"", "/", "/x", "/x/", "/api/202412/payment/PI0020241010151755224", "/api/202412/payment/PI1/",
			"/v1/payments", "/v1/payments/inquiry", "/api/entry", "/return", "/terminals", "/terminals/", "/terminals/S1", "/terminals/S1/live",
			"/checkout/T1", "/3ds/T1", "/3ds/T1/return", "/cashier/s1", "/wallet/t1", "/return/t1", "/checkouts/s/p/return",
			"/challenge/a1", "/health", "/events/stream", "/search", "/assets/x.css", "//x", "/./x", "/../_sim/health", "/x/../y", "/%2e%2e/x"} {
			paths = append(paths, p+rest)
		}
	}
	paths = append(paths, "/", "", "/nope", "/GENSTORE/x", "/genstore%2Fx")
	// Every operation's path, its parameters given a few values, and
	// variations of it.
	for _, name := range []string{"genstore", "codepay", "vmgateway", "admin"} {
		for _, op := range sim.Mount(name).OperationPaths() {
			for _, v := range []string{"x", "PI1", "a%2Fb", "return", "live", "inquiry", "%7Bx%7D"} {
				p := op.Path
				for strings.Contains(p, "{") && strings.Contains(p, "}") {
					p = p[:strings.Index(p, "{")] + v + p[strings.Index(p, "}")+1:]
				}
				paths = append(paths, p, p+"/", p+"/x", strings.ToUpper(p), strings.Replace(p, "/", "//", 2))
			}
		}
	}
	n, redirects := 0, 0
	for _, method := range []string{"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "CONNECT"} {
		for _, path := range paths {
			r := httptest.NewRequest(method, "http://localhost"+path, nil)
			h1, p1 := with.Handler(r)
			h2, p2 := without.Handler(r)
			n++
			if normal(p1) != p2 && !operationOf(p1, p2) || fmt.Sprintf("%T", h1) != fmt.Sprintf("%T", h2) {
				t.Errorf("%s %s: %q (%T) with method patterns, %q (%T) without", method, path, p1, h1, p2, h2)
				continue
			}
			if strings.Contains(fmt.Sprintf("%T", h1), "redirect") {
				// The mux's own redirect: the same one.
				redirects++
				w1, w2 := httptest.NewRecorder(), httptest.NewRecorder()
				h1.ServeHTTP(w1, r)
				h2.ServeHTTP(w2, r)
				if w1.Code != w2.Code || w1.Header().Get("Location") != w2.Header().Get("Location") {
					t.Errorf("%s %s: %d %q with method patterns, %d %q without", method, path,
						w1.Code, w1.Header().Get("Location"), w2.Code, w2.Header().Get("Location"))
				}
			}
		}
	}
	// The operations' patterns are what the hot requests meet.
	for _, c := range [][3]string{{"GET", "/genstore/api/202412/payment/PI1", "GET /genstore/api/202412/payment/{p4}"},
		{"POST", "/vm/v1/payments", "POST /vm/v1/payments"}, {"POST", "/vm/v1/payments/inquiry", "POST /vm/v1/payments/inquiry"}} {
		if _, p := with.Handler(httptest.NewRequest(c[0], c[1], nil)); p != c[2] {
			t.Errorf("%s %s: pattern %q, want %q", c[0], c[1], p, c[2])
		}
	}
	if redirects == 0 {
		t.Error("no request was redirected: the paths miss the mux's redirects")
	}
	t.Logf("%d requests routed alike, %d of them redirected", n, redirects)
}
