//go:build tools

// Package pins keeps modules the project has chosen, but does not import yet,
// pinned in go.mod (`go mod tidy` would drop them): golang.org/x/crypto
// provides HKDF for the ECIES of CONTRACT.md §5. Remove a line once real code
// imports the module.
package pins

import (
	_ "golang.org/x/crypto/hkdf"
)
