package specjson_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/pspsim/pspsim/specs/specjson"
)

const spec = `
openapi: 3.0.3
info: {title: t, version: "1", description: "long prose"}
paths:
  /orders:
    post:
      operationId: create
      summary: make an order
      description: more prose
      requestBody:
        content:
          application/json:
            schema:
              type: object
              description: the body
              required: [description]
              properties:
                description: {type: string, maxLength: 5, description: "a field called description"}
            example: {description: "keep"}
      responses:
        '200':
          description: ok
          content:
            application/json:
              schema: {type: object}
              examples:
                one: {summary: "drop me", value: {summary: "keep me too"}}
      x-note: {description: "extensions are data"}
`

// TestToJSONDropsDocsButNotNamesOrData: a property named "description",
// example values and extensions survive; prose fields do not.
func TestToJSONDropsDocsButNotNamesOrData(t *testing.T) {
	out, err := specjson.ToJSON([]byte(spec))
	if err != nil {
		t.Fatal(err)
	}
	s := string(out)
	for _, gone := range []string{"long prose", "make an order", "more prose", "the body", "a field called description", "drop me"} {
		if strings.Contains(s, gone) {
			t.Errorf("runtime twin keeps %q", gone)
		}
	}
	for _, kept := range []string{`"required":["description"]`, `"maxLength":5`, `"keep"`, `"keep me too"`, `"extensions are data"`} {
		if !strings.Contains(s, kept) {
			t.Errorf("runtime twin lost %s: %s", kept, s)
		}
	}
	doc, err := openapi3.NewLoader().LoadFromData(out)
	if err != nil {
		t.Fatalf("twin does not load: %v", err)
	}
	if err := doc.Validate(t.Context()); err != nil {
		t.Fatalf("twin does not validate: %v", err)
	}
	// The schema still refuses what it refused.
	schema := doc.Paths.Value("/orders").Post.RequestBody.Value.Content.Get("application/json").Schema.Value
	var v any
	json.Unmarshal([]byte(`{"description":"too long"}`), &v)
	if schema.VisitJSON(v) == nil {
		t.Error("maxLength of the description property was lost")
	}
}
