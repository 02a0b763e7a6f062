// Package openapi turns the embedded specs into HTTP handlers. A Mount is one
// spec served under one path prefix: it finds the operation with kin-openapi's
// gorillamux router, authenticates and validates the request against the spec,
// and calls the handler registered for the operation — by operationId, or,
// for operations marked `x-pspsim-dispatch: <field>`, by the value of that
// body field (CodePay's `method`). An operation without a handler answers its
// spec example; a request that breaks the spec gets an error naming the field
// and rule, rendered by the system's apierr.Dialect.
package openapi

import (
	"context"
	"fmt"
	"io/fs"
	"net/url"
	"path"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
)

// Load reads the spec name from fsys, resolves its $refs inside fsys only, and
// rewrites its servers to prefix, so that the router matches requests on any
// host (an absolute server URL in a spec would match nothing on 127.0.0.1).
// validate runs kin-openapi's full document validation (examples included);
// the spec tests always do, the server may skip it to start faster.
func Load(ctx context.Context, fsys fs.FS, name, prefix string, validate bool) (*openapi3.T, error) {
	loader := openapi3.NewLoader()
	loader.Context = ctx
	loader.IsExternalRefsAllowed = true
	loader.ReadFromURIFunc = func(_ *openapi3.Loader, u *url.URL) ([]byte, error) {
		if u.Scheme != "" || u.Host != "" {
			return nil, fmt.Errorf("spec %s: refusing $ref to %s: only files beside the spec may be referenced", name, u.Redacted())
		}
		p := path.Clean(strings.TrimPrefix(u.Path, "/"))
		return fs.ReadFile(fsys, p)
	}
	// Prefer the generated JSON twin (specs/json/): decoding JSON skips the
	// YAML parse, a third of start-up time. The YAML stays the source.
	raw, err := fs.ReadFile(fsys, "json/"+strings.TrimSuffix(name, ".yaml")+".json")
	if err != nil {
		raw, err = fs.ReadFile(fsys, name)
	}
	if err != nil {
		return nil, fmt.Errorf("read spec %s: %w", name, err)
	}
	doc, err := loader.LoadFromDataWithPath(raw, &url.URL{Path: name})
	if err != nil {
		return nil, fmt.Errorf("load spec %s: %w", name, err)
	}
	if validate {
		if err := doc.Validate(ctx, openapi3.EnableExamplesValidation(), openapi3.EnableSchemaFormatValidation()); err != nil {
			return nil, fmt.Errorf("validate spec %s: %w", name, err)
		}
	}
	doc.Servers = openapi3.Servers{{URL: prefix}}
	return doc, nil
}
