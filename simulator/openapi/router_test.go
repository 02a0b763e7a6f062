package openapi

import (
	"errors"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/routers"
)

// TestRouterMatchesGorillaMux checks the segment router against kin-openapi's
// gorillamux router (which the mount used before) on every operation's
// path, with its method and others, and on odd variations of each path.
func TestRouterMatchesGorillaMux(t *testing.T) {
	n := 0
	for _, ds := range loadDiffSpecs(t) {
		ours, err := newRouter(ds.doc, diffMounts[ds.name])
		if err != nil {
			t.Fatal(err)
		}
		var paths []string
		for _, oc := range operationCases(t, []*diffSpec{ds}) {
			p := oc.path
			paths = append(paths, p, p+"/", strings.Replace(p, "/", "//", 2), p+"%20x", p+"/extra", strings.TrimSuffix(p, p[strings.LastIndex(p, "/"):]),
				strings.ReplaceAll(p, "1", "%31"), p+"/a%2Fb", strings.ToUpper(p), p+"?q=1")
		}
		paths = append(paths, "/", diffMounts[ds.name], diffMounts[ds.name]+"/", "/nothing", "relative")
		for _, p := range paths {
			for _, method := range []string{"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"} {
				u, err := url.Parse(p)
				if err != nil {
					continue
				}
				req := &http.Request{Method: method, URL: u, Header: http.Header{}}
				wantRoute, wantParams, wantErr := ds.router.FindRoute(req)
				gotRoute, gotParams, gotErr := ours.find(req)
				n++
				switch {
				case wantErr != nil || gotErr != nil:
					if errKind(wantErr) != errKind(gotErr) {
						t.Errorf("%s %s: gorillamux %v, ours %v", method, p, wantErr, gotErr)
					}
				case wantRoute.Path != gotRoute.Path || wantRoute.Operation != gotRoute.Operation || wantRoute.Method != gotRoute.Method:
					t.Errorf("%s %s: gorillamux %s %s, ours %s %s", method, p, wantRoute.Method, wantRoute.Path, gotRoute.Method, gotRoute.Path)
				case !reflect.DeepEqual(wantParams, gotParams) && (len(wantParams) > 0 || len(gotParams) > 0):
					// (a route without parameters gives nil, read as gorillamux's empty map)
					t.Errorf("%s %s: gorillamux params %v, ours %v", method, p, wantParams, gotParams)
				}
			}
		}
	}
	t.Logf("%d requests routed", n)
}

func errKind(err error) string {
	switch {
	case err == nil:
		return "none"
	case errors.Is(err, routers.ErrMethodNotAllowed):
		return "method"
	case errors.Is(err, routers.ErrPathNotFound):
		return "path"
	}
	return err.Error()
}
