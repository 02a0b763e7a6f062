package specs_test

import (
	"context"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/pspsim/pspsim/specs"
	"github.com/pspsim/pspsim/specs/specjson"
)

// TestSpecsLoadAndValidate loads every embedded spec and runs kin-openapi's
// document validation, which also validates every example against its schema
// and refuses keywords that OpenAPI 3.0 does not know.
func TestSpecsLoadAndValidate(t *testing.T) {
	names := specs.Names()
	if len(names) == 0 {
		t.Fatal("no specs embedded")
	}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			raw, err := specs.Read(name)
			if err != nil {
				t.Fatal(err)
			}
			loader := openapi3.NewLoader()
			doc, err := loader.LoadFromData(raw)
			if err != nil {
				t.Fatalf("load: %v", err)
			}
			if err := doc.Validate(context.Background(), openapi3.EnableExamplesValidation(), openapi3.EnableSchemaFormatValidation()); err != nil {
				t.Fatalf("validate: %v", err)
			}
			for path, item := range doc.Paths.Map() {
				for method, op := range item.Operations() {
					if op.OperationID == "" {
						t.Errorf("%s %s has no operationId", method, path)
					}
				}
			}
		})
	}
}

// TestJSONTwinsAreFresh checks that every generated JSON twin (what the server
// loads) is kin-openapi's serialisation of the current YAML.
func TestJSONTwinsAreFresh(t *testing.T) {
	for _, name := range specs.Names() {
		raw, _ := specs.Read(name)
		want, err := specjson.ToJSON(raw)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		got, err := specs.Read(specs.JSONTwin(name))
		if err != nil || string(got) != string(want) {
			t.Errorf("%s is stale or missing: run `go generate ./specs`", specs.JSONTwin(name))
		}
	}
}
