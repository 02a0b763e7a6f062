package openapi

import (
	"context"
	"encoding/json"
	"io/fs"
	"net/url"
	"reflect"
	"testing"
	"testing/fstest"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/pspsim/pspsim/specs"
)

// TestDecodeSpecMatchesKinOpenAPI holds the fast load of every embedded
// spec to kin-openapi's own: the same document, unexported fields and
// resolved references included, and the fast path actually taken.
func TestDecodeSpecMatchesKinOpenAPI(t *testing.T) {
	ctx := context.Background()
	for _, name := range specs.Names() {
		t.Run(name, func(t *testing.T) {
			raw, err := fs.ReadFile(specs.FS(), specs.JSONTwin(name))
			if err != nil {
				t.Fatal(err)
			}
			location := &url.URL{Path: name}
			want, err := specLoader(ctx, specs.FS(), name).LoadFromDataWithPath(raw, location)
			if err != nil {
				t.Fatal(err)
			}
			got, err := loadTwin(specLoader(ctx, specs.FS(), name), raw, location)
			if err != nil {
				t.Fatalf("the fast path declined an embedded spec (start-up falls back to the slow one): %v", err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatal("the fast load differs from kin-openapi's")
			}
			// DeepEqual must be able to fail: a changed schema is told apart.
			got.Components.Schemas = nil
			if reflect.DeepEqual(got, want) {
				t.Fatal("DeepEqual did not see a missing components.schemas")
			}
		})
	}
}

// TestDecodeSpecDeclines checks the inputs decodeSpec leaves to
// kin-openapi, and that Load still loads such a twin.
func TestDecodeSpecDeclines(t *testing.T) {
	for _, tc := range []struct{ name, doc string }{
		{"key twice", `{"openapi":"3.0.3","info":{"title":"a","version":"1"},"paths":{},"openapi":"3.0.3"}`},
		{"escaped key", `{"openapi":"3.0.3","info":{"title":"a","version":"1"},"paths":{"/a":{"g\u0065t":{}}}}`},
		{"long number", `{"openapi":"3.0.3","info":{"title":"a","version":"1"},"paths":{},"x-n":12345678901234567891}`},
		{"case-insensitive field", `{"openapi":"3.0.3","info":{"title":"a","version":"1"},"Paths":{}}`},
		{"not JSON", `{"openapi":`},
	} {
		if _, err := decodeSpec([]byte(tc.doc)); err == nil {
			t.Errorf("%s: decodeSpec accepted %s", tc.name, tc.doc)
		}
	}
	doc := `{"openapi":"3.0.3","info":{"title":"a","version":"1"},"paths":{"/a":{"get":{"responses":{"200":{"description":"ok"}}}}},"x-n":1,"x-n":2}`
	fsys := fstest.MapFS{"a.yaml": {Data: []byte("openapi: 3.0.3")}, "json/a.json": {Data: []byte(doc)}}
	got, err := Load(context.Background(), fsys, "a.yaml", "/a", false)
	if err != nil {
		t.Fatal(err)
	}
	if got.Paths.Value("/a") == nil || got.Extensions["x-n"] != 2.0 {
		t.Fatalf("the declined twin was not loaded by kin-openapi: %+v", got)
	}
}

// FuzzDecodeSpecMatchesKinOpenAPI compares decodeSpec with kin-openapi's
// decode of the same text (before references are resolved): whenever
// decodeSpec accepts a document, kin-openapi decodes it too, to the same
// value.
func FuzzDecodeSpecMatchesKinOpenAPI(f *testing.F) {
	// Seeds: each path and each component schema of the smallest spec as
	// a document of its own (whole specs make each run too slow to explore).
	raw, err := fs.ReadFile(specs.FS(), specs.JSONTwin("genstore.yaml"))
	if err != nil {
		f.Fatal(err)
	}
	var parts struct {
		Paths      map[string]json.RawMessage
		Components struct{ Schemas map[string]json.RawMessage }
	}
	if err := json.Unmarshal(raw, &parts); err != nil {
		f.Fatal(err)
	}
	for p, item := range parts.Paths {
		f.Add([]byte(`{"openapi":"3.0.3","paths":{"` + p + `":` + string(item) + `}}`))
	}
	for name, schema := range parts.Components.Schemas {
		f.Add([]byte(`{"components":{"schemas":{"` + name + `":` + string(schema) + `}}}`))
	}
	f.Add([]byte(`{"paths":{"/a":{"get":{"responses":{"200":{"content":{"application/json":{"schema":{"type":"object","properties":{"a":{"items":{"type":"string"}}},"prefixItems":[{}],"x-k":{"a":1}}}}},"x-r":[1]}}}},"components":{"schemas":{"A":{"$ref":"#/components/schemas/B","type":"string"},"B":true}}}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		got, err := decodeSpec(raw)
		if err != nil {
			return
		}
		var want openapi3.T
		if err := json.Unmarshal(raw, &want); err != nil {
			t.Fatalf("decodeSpec accepted what kin-openapi refuses (%v): %s", err, raw)
		}
		if !reflect.DeepEqual(got, &want) {
			t.Fatalf("decodeSpec differs from kin-openapi on %s", raw)
		}
	})
}
