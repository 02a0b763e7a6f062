package openapi

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/routers"
)

// router finds the operation of a request as kin-openapi's gorillamux router
// does — the first path template, in the spec's matching order (literal
// segments before parameters), that matches the escaped path; then the
// method, or 405 — without walking a regular expression per route: the
// templates are split into segments once. Path parameters are given as
// gorillamux gives them: as they appear in the escaped path.
type router struct {
	routes []*route
	// bySegments holds the routes by their number of segments, each list
	// in matching order: a path is tried only against the routes of its
	// own length, the only ones that can match it (route.matches), instead
	// of every route before its own (a Genstore GET tried dozens).
	bySegments [][]*route
}

type route struct {
	segments []segment
	// lead is the literal segments before the first parameter, each with
	// the slash after it (all of them, without a trailing slash, for a
	// route without parameters): a path the route matches starts with it,
	// so that one comparison turns most routes away.
	lead     string
	params   int
	byMethod map[string]*routers.Route // prepared once; shared, never changed
}

type segment struct {
	literal string
	param   string // the parameter's name, for a {name} segment
}

// newRouter prepares doc's routes under prefix (the mount). It fails on a
// template it cannot match exactly as gorillamux would (a parameter within
// a segment).
func newRouter(doc *openapi3.T, prefix string) (*router, error) {
	r := &router{}
	server := &openapi3.Server{URL: prefix}
	if len(doc.Servers) > 0 {
		server = doc.Servers[0]
	}
	for _, path := range doc.Paths.InMatchingOrder() {
		item := doc.Paths.Value(path)
		rt := &route{byMethod: map[string]*routers.Route{}}
		for _, part := range strings.Split(strings.TrimPrefix(strings.TrimSuffix(prefix, "/")+path, "/"), "/") {
			switch {
			case strings.HasPrefix(part, "{") && strings.HasSuffix(part, "}") && strings.Count(part, "{") == 1:
				rt.segments = append(rt.segments, segment{param: part[1 : len(part)-1]})
				rt.params++
			case strings.ContainsAny(part, "{}"):
				return nil, fmt.Errorf("path %s: a parameter must be a whole segment", path)
			default:
				rt.segments = append(rt.segments, segment{literal: part})
			}
		}
		var lead strings.Builder
		for i, sg := range rt.segments {
			if sg.param != "" {
				break
			}
			lead.WriteString(sg.literal)
			if i < len(rt.segments)-1 {
				lead.WriteByte('/')
			}
		}
		rt.lead = lead.String()
		for method, op := range item.Operations() {
			rt.byMethod[method] = &routers.Route{Spec: doc, Server: server, Path: path, PathItem: item, Method: method, Operation: op}
		}
		r.routes = append(r.routes, rt)
		n := len(rt.segments)
		for len(r.bySegments) <= n {
			r.bySegments = append(r.bySegments, nil)
		}
		r.bySegments[n] = append(r.bySegments[n], rt)
	}
	return r, nil
}

// find returns the route of req and its path parameters, or
// routers.ErrPathNotFound / routers.ErrMethodNotAllowed.
func (r *router) find(req *http.Request) (*routers.Route, map[string]string, error) {
	path := req.URL.EscapedPath()
	if !strings.HasPrefix(path, "/") {
		return nil, nil, routers.ErrPathNotFound
	}
	path = path[1:]
	n := strings.Count(path, "/") + 1
	if n >= len(r.bySegments) {
		return nil, nil, routers.ErrPathNotFound
	}
	for _, rt := range r.bySegments[n] {
		if !strings.HasPrefix(path, rt.lead) || !rt.matches(path) {
			continue
		}
		found := rt.byMethod[req.Method]
		if found == nil {
			return nil, nil, routers.ErrMethodNotAllowed
		}
		var params map[string]string
		if rt.params > 0 {
			params = make(map[string]string, rt.params)
			rest := path
			for _, s := range rt.segments {
				part, after, _ := strings.Cut(rest, "/")
				if s.param != "" {
					params[s.param] = part
				}
				rest = after
			}
		}
		// A route without parameters has none: nil, read as the empty map
		// (an empty map was an allocation on every such request).
		return found, params, nil
	}
	return nil, nil, routers.ErrPathNotFound
}

// matches reports whether path (without its leading slash) has exactly the
// route's segments, a parameter matching any non-empty segment.
func (rt *route) matches(path string) bool {
	for i, s := range rt.segments {
		part, rest, more := strings.Cut(path, "/")
		if s.param != "" {
			if part == "" {
				return false
			}
		} else if part != s.literal {
			return false
		}
		if i == len(rt.segments)-1 {
			return !more
		}
		if !more {
			return false
		}
		path = rest
	}
	return false
}
