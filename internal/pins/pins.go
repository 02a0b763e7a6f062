//go:build tools

// Package pins keeps modules the project has chosen, but does not import yet,
// pinned in go.mod (`go mod tidy` would drop them). Remove a line once real
// code imports the module. (golang.org/x/crypto left this list when
// simulator/ecies started using its HKDF.)
package pins
