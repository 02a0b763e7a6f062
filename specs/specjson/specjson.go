// Package specjson converts a YAML spec to the JSON twin the server loads
// (specs/json/): kin-openapi's own serialisation of the document it reads,
// so nothing is lost or reinterpreted (dates stay strings, extensions stay).
package specjson

import (
	"encoding/json"

	"github.com/getkin/kin-openapi/openapi3"
)

// ToJSON converts one YAML spec.
func ToJSON(yamlSpec []byte) ([]byte, error) {
	doc, err := openapi3.NewLoader().LoadFromData(yamlSpec)
	if err != nil {
		return nil, err
	}
	b, err := json.MarshalIndent(doc, "", " ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}
