package pspsimtest

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/pspsim/pspsim/simulator/openapi"
	"github.com/pspsim/pspsim/specs"
)

// TestClientMatchesAdminSpec fails when the client and specs/admin.yaml
// drift: every operation the client calls must be in the spec with the
// same operationId, method, path and success status, and every JSON field of
// its request and answer types must be a property of the spec's schema
// (nested objects and arrays included).
func TestClientMatchesAdminSpec(t *testing.T) {
	doc, err := openapi.Load(context.Background(), specs.FS(), "admin.yaml", "/_sim", false)
	if err != nil {
		t.Fatal(err)
	}
	for id, op := range ops {
		if id != op.id {
			t.Errorf("ops[%q] names operation %q", id, op.id)
		}
		item := doc.Paths.Value(op.path)
		if item == nil {
			t.Errorf("%s: no path %s in admin.yaml", id, op.path)
			continue
		}
		o := item.GetOperation(op.method)
		if o == nil {
			t.Errorf("%s: no %s %s in admin.yaml", id, op.method, op.path)
			continue
		}
		if o.OperationID != id {
			t.Errorf("%s %s is %q in admin.yaml, the client calls it %q", op.method, op.path, o.OperationID, id)
		}
		resp := o.Responses.Value(strconv.Itoa(op.status))
		if resp == nil {
			t.Errorf("%s: admin.yaml declares no %d answer", id, op.status)
			continue
		}
		if op.resp != nil {
			mt := resp.Value.Content.Get("application/json")
			if mt == nil || mt.Schema == nil {
				t.Errorf("%s: the %d answer has no JSON schema", id, op.status)
			} else {
				checkFields(t, id+" answer", reflect.TypeOf(op.resp), mt.Schema.Value)
			}
		}
		if op.req != nil {
			if o.RequestBody == nil || o.RequestBody.Value.Content.Get("application/json") == nil {
				t.Errorf("%s: the client sends a body, admin.yaml takes none", id)
			} else {
				checkFields(t, id+" request", reflect.TypeOf(op.req), o.RequestBody.Value.Content.Get("application/json").Schema.Value)
			}
		}
	}
}

var (
	timeType = reflect.TypeOf(time.Time{})
	rawType  = reflect.TypeOf(json.RawMessage{})
)

// checkFields checks that each JSON field of t is a property of s, down
// through structs, pointers and slices.
func checkFields(t interface{ Errorf(string, ...any) }, where string, typ reflect.Type, s *openapi3.Schema) {
	for typ.Kind() == reflect.Pointer {
		typ = typ.Elem()
	}
	if typ == timeType || typ == rawType || s == nil {
		return
	}
	switch typ.Kind() {
	case reflect.Slice:
		if s.Items != nil {
			checkFields(t, where+"[]", typ.Elem(), s.Items.Value)
		}
		return
	case reflect.Struct:
	default:
		return
	}
	props := properties(s)
	for i := range typ.NumField() {
		f := typ.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" || name == "-" {
			continue
		}
		p, ok := props[name]
		if !ok {
			t.Errorf("%s: field %s (%s.%s) is not in admin.yaml's schema", where, name, typ.Name(), f.Name)
			continue
		}
		checkFields(t, where+"."+name, f.Type, p)
	}
}

// properties merges the properties of s and its allOf parts.
func properties(s *openapi3.Schema) map[string]*openapi3.Schema {
	out := map[string]*openapi3.Schema{}
	for k, v := range s.Properties {
		out[k] = v.Value
	}
	for _, part := range s.AllOf {
		for k, v := range properties(part.Value) {
			out[k] = v
		}
	}
	return out
}

// TestDriftCheckCatchesAFieldTheSpecLacks: the check itself has teeth.
func TestDriftCheckCatchesAFieldTheSpecLacks(t *testing.T) {
	type wrong struct {
		Mode  string `json:"mode"`
		Speed int    `json:"speed"`
	}
	doc, err := openapi.Load(context.Background(), specs.FS(), "admin.yaml", "/_sim", false)
	if err != nil {
		t.Fatal(err)
	}
	schema := doc.Components.Schemas["Clock"].Value
	var got errs
	checkFields(&got, "clock", reflect.TypeOf(wrong{}), schema)
	if len(got) != 1 || !strings.Contains(got[0], "speed") {
		t.Errorf("the check said %q about a field admin.yaml's Clock lacks (speed)", got)
	}
}

type errs []string

func (e *errs) Errorf(format string, args ...any) { *e = append(*e, fmt.Sprintf(format, args...)) }
