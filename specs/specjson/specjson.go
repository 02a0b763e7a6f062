// Package specjson converts a YAML spec to the runtime twin the server loads
// (specs/json/): kin-openapi's own serialisation of the document it reads,
// compact and without the human documentation (description and summary
// fields), because decoding the specs is nearly all of pspsim's start-up time
// and kin-openapi's decoder re-scans every nested object. Nothing the server
// uses is dropped: schemas, examples, extensions and names stay; the YAML
// stays the source and is what /_sim/specs and `pspsim specs` serve.
package specjson

import (
	"encoding/json"
	"reflect"

	"github.com/getkin/kin-openapi/openapi3"
)

// ToJSON converts one YAML spec to its runtime twin.
func ToJSON(yamlSpec []byte) ([]byte, error) {
	doc, err := openapi3.NewLoader().LoadFromData(yamlSpec)
	if err != nil {
		return nil, err
	}
	StripDocs(doc)
	b, err := json.Marshal(doc)
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// StripDocs blanks every string field named Description or Summary in the
// document's object model. It walks typed fields only: map keys (property,
// header and path names — a property may well be called "description") and
// values of type any (examples, defaults, enums, extensions) are left alone.
func StripDocs(doc *openapi3.T) {
	seen := map[uintptr]bool{}
	strip(reflect.ValueOf(doc), seen)
}

func strip(v reflect.Value, seen map[uintptr]bool) {
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return
		}
		if seen[v.Pointer()] {
			return // shared components are reached from many places
		}
		seen[v.Pointer()] = true
		// Paths, Responses and Callback keep their entries in an unexported
		// map behind a Map method.
		if m := v.MethodByName("Map"); m.IsValid() && m.Type().NumIn() == 0 && m.Type().NumOut() == 1 && m.Type().Out(0).Kind() == reflect.Map {
			strip(m.Call(nil)[0], seen)
		}
		strip(v.Elem(), seen)
	case reflect.Struct:
		t := v.Type()
		for i := 0; i < v.NumField(); i++ {
			f := v.Field(i)
			if !t.Field(i).IsExported() {
				continue
			}
			name := t.Field(i).Name
			if f.Kind() == reflect.String && (name == "Description" || name == "Summary") && f.CanSet() {
				f.SetString("")
				continue
			}
			strip(f, seen)
		}
	case reflect.Map:
		if v.Type().Elem().Kind() == reflect.Interface {
			return // extensions and other free-form data
		}
		iter := v.MapRange()
		for iter.Next() {
			strip(iter.Value(), seen)
		}
	case reflect.Slice, reflect.Array:
		for i := 0; i < v.Len(); i++ {
			strip(v.Index(i), seen)
		}
	}
}
