package simulator

// Observe is the access-log and metrics layer, for the overhead benchmark.
var Observe = observe
