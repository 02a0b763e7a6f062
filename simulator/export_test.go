package simulator

import "net/http"

// Observe is the access-log and metrics layer, for the overhead benchmark.
var Observe = observe

// Mux is the simulator's router, with or without the mounts' method
// patterns, for TestMountMethodPatternsRouteAlike.
func Mux(s *Simulator, methodPatterns bool) *http.ServeMux { return s.mux(methodPatterns) }
