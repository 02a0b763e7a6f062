package specs_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers/gorillamux"
	"github.com/pspsim/pspsim/simulator/openapi"
	"github.com/pspsim/pspsim/specs"
)

// seedSample is one request sample of a vendor seed, kept verbatim.
type seedSample struct {
	Name    string            `json:"name"`
	Source  string            `json:"source"`
	Method  string            `json:"method"`
	Path    string            `json:"path"`
	Headers map[string]string `json:"headers"`
	Query   string            `json:"query"`
	Body    json.RawMessage   `json:"body"`
	Expect  struct {
		OK    bool   `json:"ok"`
		Field string `json:"field"`
		Rule  string `json:"rule"`
		Why   string `json:"why"`
	} `json:"expect"`
}

var specOfSystem = map[string]string{
	"genstore":  "genstore.yaml",
	"codepay":   "codepay.yaml",
	"vmgateway": "vmgateway.yaml",
	"admin":     "admin.yaml",
}

// TestSeedSamplesAgainstSpecs validates every seed request sample against its
// spec alone (no server, no authentication): a sample marked ok must validate;
// a sample the seed contradicts must fail on exactly the field and rule named.
func TestSeedSamplesAgainstSpecs(t *testing.T) {
	files, _ := filepath.Glob("testdata/seeds/*.json")
	for _, file := range files {
		system := strings.TrimSuffix(filepath.Base(file), ".json")
		t.Run(system, func(t *testing.T) {
			raw, err := specs.Read(specOfSystem[system])
			if err != nil {
				t.Fatal(err)
			}
			doc, err := openapi3.NewLoader().LoadFromData(raw)
			if err != nil {
				t.Fatal(err)
			}
			router, err := gorillamux.NewRouter(doc)
			if err != nil {
				t.Fatal(err)
			}
			var samples []seedSample
			b, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(b, &samples); err != nil {
				t.Fatalf("%s: %v", file, err)
			}
			if len(samples) == 0 {
				t.Fatalf("%s holds no samples", file)
			}
			for _, s := range samples {
				t.Run(s.Name, func(t *testing.T) {
					if !s.Expect.OK && (s.Expect.Field == "" || s.Expect.Rule == "" || s.Expect.Why == "") {
						t.Fatalf("a sample that is not ok must name field, rule and why")
					}
					url := s.Path
					if s.Query != "" {
						url += "?" + s.Query
					}
					req, _ := http.NewRequest(s.Method, url, bytes.NewReader(s.Body))
					if len(s.Body) > 0 {
						req.Header.Set("Content-Type", "application/json")
					}
					for k, v := range s.Headers {
						req.Header.Set(k, v)
					}
					route, params, err := router.FindRoute(req)
					if err != nil {
						t.Fatalf("no route for %s %s: %v", s.Method, s.Path, err)
					}
					err = openapi3filter.ValidateRequest(context.Background(), &openapi3filter.RequestValidationInput{
						Request: req, PathParams: params, Route: route,
						Options: &openapi3filter.Options{
							MultiError:          true,
							SkipSettingDefaults: true,
							AuthenticationFunc:  openapi3filter.NoopAuthenticationFunc,
						},
					})
					vs := openapi.Violations(err)
					if s.Expect.OK {
						if err != nil {
							t.Fatalf("sample should validate, got %+v", vs)
						}
						return
					}
					for _, v := range vs {
						if v.Field == s.Expect.Field && v.Rule == s.Expect.Rule {
							return
						}
					}
					t.Fatalf("want violation %s/%s (%s), got %+v", s.Expect.Field, s.Expect.Rule, s.Expect.Why, vs)
				})
			}
		})
	}
}
