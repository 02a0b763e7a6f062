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
	"reflect"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
)

// Load reads the spec name from fsys, resolves its $refs inside fsys only, and
// rewrites its servers to prefix, so that the router matches requests on any
// host (an absolute server URL in a spec would match nothing on 127.0.0.1).
// validate runs kin-openapi's full document validation (examples included);
// the spec tests always do, the server may skip it to start faster.
func Load(ctx context.Context, fsys fs.FS, name, prefix string, validate bool) (*openapi3.T, error) {
	newLoader := func() *openapi3.Loader { return specLoader(ctx, fsys, name) }
	location := &url.URL{Path: name}
	// Prefer the generated JSON twin (specs/json/): decoding JSON skips the
	// YAML parse, and the twin decodes without kin-openapi's repeated
	// scans (decodeSpec). The YAML stays the source.
	var doc *openapi3.T
	raw, err := fs.ReadFile(fsys, "json/"+strings.TrimSuffix(name, ".yaml")+".json")
	if err == nil {
		// A twin decodeSpec declines is decoded by kin-openapi below.
		doc, _ = loadTwin(newLoader(), raw, location)
	} else {
		raw, err = fs.ReadFile(fsys, name)
	}
	if err != nil {
		return nil, fmt.Errorf("read spec %s: %w", name, err)
	}
	if doc == nil {
		if doc, err = newLoader().LoadFromDataWithPath(raw, location); err != nil {
			return nil, fmt.Errorf("load spec %s: %w", name, err)
		}
	}
	if validate {
		if err := doc.Validate(ctx, openapi3.EnableExamplesValidation(), openapi3.EnableSchemaFormatValidation()); err != nil {
			return nil, fmt.Errorf("validate spec %s: %w", name, err)
		}
	}
	doc.Servers = openapi3.Servers{{URL: prefix}}
	return doc, nil
}

// specLoader returns a loader for the spec name that resolves $refs inside
// fsys only.
func specLoader(ctx context.Context, fsys fs.FS, name string) *openapi3.Loader {
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
	return loader
}

// loadTwin is loader.LoadFromDataWithPath(raw, location) with the document
// decoded by decodeSpec. The loader keeps the document's location in an
// unexported field, and resolves references against it: it loads an empty
// document at the location, which then receives the decoded one's fields,
// and resolves its references as LoadFromDataWithPath does.
func loadTwin(loader *openapi3.Loader, raw []byte, location *url.URL) (*openapi3.T, error) {
	decoded, err := decodeSpec(raw)
	if err != nil {
		return nil, err
	}
	doc, err := loader.LoadFromDataWithPath([]byte("{}"), location)
	if err != nil {
		return nil, err
	}
	dst, src := reflect.ValueOf(doc).Elem(), reflect.ValueOf(decoded).Elem()
	for i := range dst.NumField() {
		if dst.Type().Field(i).IsExported() {
			dst.Field(i).Set(src.Field(i))
		}
	}
	if err := loader.ResolveRefsIn(doc, location); err != nil {
		return nil, err
	}
	return doc, nil
}
