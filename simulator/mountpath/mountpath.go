// Package mountpath tells a handler the path its simulator is served under:
// "" at the root URLs, "/ns/{name}" for a namespace (package host strips
// that prefix before the simulator sees the request). A page or an API
// answer that names one of the simulator's own URLs with a root-absolute
// path — a form's action, a redirect, a Location header — puts it in
// front, so that a browser or client in a namespace stays in it.
//
// URLs built for other parties without a request (hosted-page links,
// challenge URLs, notification targets) come from the simulator's BaseURL,
// which carries the same prefix.
package mountpath

import (
	"context"
	"net/http"
)

type key struct{}

// With returns r with its mount path set to prefix ("/ns/a", no trailing
// slash). The host layer calls it as it strips the prefix.
func With(r *http.Request, prefix string) *http.Request {
	return r.WithContext(context.WithValue(r.Context(), key{}, prefix))
}

// Of returns the mount path of r's simulator, "" at the root.
func Of(r *http.Request) string {
	p, _ := r.Context().Value(key{}).(string)
	return p
}

// Join returns the root-absolute path p ("/vm/return/x") as the client
// must ask for it: under r's mount path.
func Join(r *http.Request, p string) string { return Of(r) + p }
