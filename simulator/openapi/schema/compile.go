// Package schema compiles the OpenAPI 3.0 schemas of pspsim's specs into
// validators that check a request body in one pass over its bytes.
//
// kin-openapi validates a request by decoding its body into maps and
// interfaces and walking the schema over them: 40–55 µs for a 30-field
// body, most of it allocation. A compiled Schema parses the body once into a
// flat node slice (strings stay spans of the body; nothing is allocated per
// value) and checks it against precompiled rules (regular expressions
// compiled once, enums and property tables prepared).
//
// It reports the violations kin-openapi reports — the same field paths,
// schema keywords and reasons, every one of them — so that error answers do
// not change; a differential test in package openapi holds it to that. It
// implements exactly the keywords the specs use and Compile fails on any
// other (stripe-mock's habit): a spec that starts using a new keyword must
// teach the validator first, never have the keyword silently ignored.
package schema

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
)

// typeMask is a set of JSON schema types.
type typeMask uint8

const (
	tString typeMask = 1 << iota
	tNumber
	tInteger
	tBoolean
	tObject
	tArray
)

var typeBits = map[string]typeMask{
	openapi3.TypeString: tString, openapi3.TypeNumber: tNumber, openapi3.TypeInteger: tInteger,
	openapi3.TypeBoolean: tBoolean, openapi3.TypeObject: tObject, openapi3.TypeArray: tArray,
}

// Schema is a compiled schema.
type Schema struct {
	// scalars recycles ValidateScalar's one-node documents: the pool of the
	// Compiler that compiled the schema (one per spec, shared by all its
	// schemas), nil for a schema compiled otherwise.
	scalars *sync.Pool

	empty    bool // kin-openapi's IsEmpty: accepts any value but null
	nullable bool
	types    typeMask // 0: every type is permitted (no `type`)
	typeMsg  string   // the reason of a type mismatch

	enum       []enumValue
	enumReason string

	allOf, oneOf, anyOf []*Schema
	// disc is the discriminator of oneOf/anyOf: property name and the
	// alternative each value maps to.
	disc *discriminator

	// strings
	minLength, maxLength int64 // maxLength < 0: none
	pattern              *pattern
	patternReason        string
	format               string
	stringFormat         openapi3.StringFormatValidator
	intFormat            openapi3.IntegerFormatValidator

	// numbers
	minimum, maximum *float64
	exclMin, exclMax bool

	// objects
	props     map[string]*Schema
	propIndex map[string]int // property name → its position in propNames
	propQuick *quickNames    // propNames, found without hashing
	propNames []string
	propList  []*Schema // by index, as propIndex numbers them
	required  []string
	// requiredIndex is each required name's propIndex, -1 for a name
	// that is not a property: found once here, not on every object.
	requiredIndex []int
	addAllowed    bool    // additionalProperties is not false
	addSchema     *Schema // additionalProperties' schema, or nil
	minProps      int64
	maxProps      int64 // < 0: none

	// arrays
	items    *Schema
	minItems int64
	maxItems int64 // < 0: none
	unique   bool

	// lenient is the schema's own x-pspsim-lenient, docLenient the
	// document's (see LenientExtension); nil when none.
	lenient, docLenient *lenience
}

type discriminator struct {
	property string
	// choice maps a discriminator value to the index of its alternative.
	choice map[string]int
}

type enumValue struct {
	kind Kind
	str  string
	num  float64
	b    bool
}

// Formats are string format validators beyond kin-openapi's defaults
// (byte, date, date-time), by format name.
type Formats map[string]openapi3.StringFormatValidator

// Compile compiles s. It fails, naming the keyword, on anything the
// validator does not implement, and on rules that cannot work (a pattern
// that does not compile, a format nobody checks, a discriminator value that
// maps to no alternative). formats adds string formats (uuid, email, uri).
func Compile(s *openapi3.Schema, formats Formats) (*Schema, error) {
	return NewCompiler(formats).Compile(s)
}

// Compiler compiles the schemas of one document: a schema shared through
// $ref is compiled once, and so is each distinct pattern (a spec repeats
// its amount and id patterns dozens of times), which keeps start-up short.
type Compiler struct{ c compiler }

// NewCompiler returns a compiler checking formats (see Compile).
func NewCompiler(formats Formats) *Compiler {
	return &Compiler{compiler{done: map[*openapi3.Schema]*Schema{}, patterns: map[string]*regexp.Regexp{}, formats: formats,
		scalars: new(sync.Pool)}}
}

// Compile compiles s (see the package function Compile).
func (c *Compiler) Compile(s *openapi3.Schema) (*Schema, error) { return c.c.compile(s, "#") }

type compiler struct {
	done     map[*openapi3.Schema]*Schema
	patterns map[string]*regexp.Regexp
	formats  Formats
	lenient  *lenience  // the document's x-pspsim-lenient
	scalars  *sync.Pool // every compiled Schema's scalars
}

// SetDocumentLenience sets the classes the document tolerates everywhere:
// the value of the document's top-level x-pspsim-lenient (nil: none). Call
// it before compiling anything.
func (c *Compiler) SetDocumentLenience(v any) error {
	l, err := parseLenience(v)
	if err != nil {
		return err
	}
	if l != nil && (l.optional != nil || l.alias != nil) {
		return fmt.Errorf("%s: optional and alias belong on an object schema, not the document", LenientExtension)
	}
	c.c.lenient = l
	return nil
}

// Formats the validator knows besides string formats: int32 and int64 are
// range checks; float and double are annotations kin-openapi does not check
// either.
var integerFormats = map[string]bool{"int32": true, "int64": true}
var numberFormats = map[string]bool{"float": true, "double": true}

func (c *compiler) compile(s *openapi3.Schema, where string) (*Schema, error) {
	if s == nil {
		return nil, fmt.Errorf("%s: unresolved schema", where)
	}
	if out, ok := c.done[s]; ok {
		return out, nil
	}
	out := &Schema{maxLength: -1, maxProps: -1, maxItems: -1, addAllowed: true, scalars: c.scalars}
	c.done[s] = out
	var err error
	if err := unsupported(s); err != nil {
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	out.empty = s.IsEmpty()
	out.nullable = s.Nullable
	out.docLenient = c.lenient
	if out.lenient, err = parseLenience(s.Extensions[LenientExtension]); err != nil {
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	if l := out.lenient; l != nil {
		for f := range l.optional {
			if !slices.Contains(s.Required, f) {
				return nil, fmt.Errorf("%s: %s: optional %q is not a required member", where, LenientExtension, f)
			}
		}
		for name, a := range l.alias {
			if s.Properties[a.field] == nil || s.Properties[name] != nil {
				return nil, fmt.Errorf("%s: %s: alias %q must name an unlisted member and map to a listed one (%q)", where, LenientExtension, name, a.field)
			}
		}
	}
	if s.Type != nil {
		names := s.Type.Slice()
		for _, t := range names {
			bit, ok := typeBits[t]
			if !ok {
				return nil, fmt.Errorf("%s: type %q is not implemented", where, t)
			}
			out.types |= bit
		}
		out.typeMsg = expectedType(names)
	}
	if len(s.Enum) > 0 {
		for _, v := range s.Enum {
			ev, err := enumOf(v)
			if err != nil {
				return nil, fmt.Errorf("%s: enum: %w", where, err)
			}
			out.enum = append(out.enum, ev)
		}
		allowed, _ := json.Marshal(s.Enum)
		out.enumReason = "value is not one of the allowed values " + string(allowed)
	}
	if out.allOf, err = c.list(s.AllOf, where+"/allOf"); err != nil {
		return nil, err
	}
	if out.oneOf, err = c.list(s.OneOf, where+"/oneOf"); err != nil {
		return nil, err
	}
	if out.anyOf, err = c.list(s.AnyOf, where+"/anyOf"); err != nil {
		return nil, err
	}
	if d := s.Discriminator; d != nil {
		alts := s.OneOf
		if len(alts) == 0 {
			alts = s.AnyOf
		}
		if len(alts) == 0 {
			return nil, fmt.Errorf("%s: a discriminator without oneOf or anyOf is not implemented", where)
		}
		out.disc = &discriminator{property: d.PropertyName, choice: map[string]int{}}
		for value, ref := range d.Mapping {
			target := ref.Ref
			if target != "" && !strings.Contains(target, "/") {
				target = "#/components/schemas/" + target
			}
			idx := -1
			for i, alt := range alts {
				if alt.Ref == target {
					idx = i
				}
			}
			if idx < 0 {
				return nil, fmt.Errorf("%s: discriminator value %q maps to %s, which is not one of the alternatives", where, value, ref.Ref)
			}
			out.disc.choice[value] = idx
		}
		if len(d.Mapping) == 0 {
			return nil, fmt.Errorf("%s: a discriminator without an explicit mapping is not implemented", where)
		}
	}

	// strings
	out.minLength = int64(s.MinLength)
	if s.MaxLength != nil {
		out.maxLength = int64(*s.MaxLength)
	}
	if s.Pattern != "" {
		re := c.patterns[s.Pattern]
		if re == nil {
			// kin-openapi rewrites ECMAScript \uXXXX escapes into Go's \x{XXXX}.
			var err error
			if re, err = regexp.Compile(goPattern(s.Pattern)); err != nil {
				return nil, fmt.Errorf("%s: pattern %q: %w", where, s.Pattern, err)
			}
			c.patterns[s.Pattern] = re
		}
		out.pattern = newPattern(re)
		out.patternReason = fmt.Sprintf(`string doesn't match the regular expression "%s"`, s.Pattern)
	}
	if f := s.Format; f != "" {
		out.format = f
		switch {
		case integerFormats[f]:
			out.intFormat = openapi3.SchemaIntegerFormats[f]
		case numberFormats[f]:
		case c.formats[f] != nil:
			out.stringFormat = c.formats[f]
		case openapi3.SchemaStringFormats[f] != nil:
			out.stringFormat = openapi3.SchemaStringFormats[f]
		default:
			return nil, fmt.Errorf("%s: format %q is not implemented", where, f)
		}
	}

	// numbers
	out.minimum, out.maximum = s.Min, s.Max
	if s.ExclusiveMin.Value != nil || s.ExclusiveMax.Value != nil {
		return nil, fmt.Errorf("%s: numeric exclusiveMinimum/exclusiveMaximum (OpenAPI 3.1) is not implemented", where)
	}
	out.exclMin = s.ExclusiveMin.Bool != nil && *s.ExclusiveMin.Bool && s.Min != nil
	out.exclMax = s.ExclusiveMax.Bool != nil && *s.ExclusiveMax.Bool && s.Max != nil

	// objects
	if len(s.Properties) > 0 {
		out.props = make(map[string]*Schema, len(s.Properties))
		out.propIndex = make(map[string]int, len(s.Properties))
		names := make([]string, 0, len(s.Properties))
		for name := range s.Properties {
			names = append(names, name)
		}
		sort.Strings(names)
		for i, name := range names {
			ref := s.Properties[name]
			p, err := c.compile(ref.Value, where+"/properties/"+name)
			if err != nil {
				return nil, err
			}
			out.props[name] = p
			out.propIndex[name] = i
			out.propList = append(out.propList, p)
		}
		out.propNames = names
		out.propQuick = newQuickNames(names)
	}
	out.required = s.Required
	for _, k := range out.required {
		idx, ok := out.propIndex[k]
		if !ok {
			idx = -1
		}
		out.requiredIndex = append(out.requiredIndex, idx)
	}
	if h := s.AdditionalProperties.Has; h != nil && !*h {
		out.addAllowed = false
	}
	if ref := s.AdditionalProperties.Schema; ref != nil {
		if out.addSchema, err = c.compile(ref.Value, where+"/additionalProperties"); err != nil {
			return nil, err
		}
	}
	out.minProps = int64(s.MinProps)
	if s.MaxProps != nil {
		out.maxProps = int64(*s.MaxProps)
	}

	// arrays
	if ref := s.Items; ref != nil {
		if out.items, err = c.compile(ref.Value, where+"/items"); err != nil {
			return nil, err
		}
	}
	out.minItems = int64(s.MinItems)
	if s.MaxItems != nil {
		out.maxItems = int64(*s.MaxItems)
	}
	out.unique = s.UniqueItems
	return out, nil
}

func (c *compiler) list(refs openapi3.SchemaRefs, where string) ([]*Schema, error) {
	var out []*Schema
	for i, ref := range refs {
		s, err := c.compile(ref.Value, fmt.Sprintf("%s/%d", where, i))
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// unsupported names the first keyword of s the validator does not
// implement. Annotations (title, description, default, example, deprecated,
// externalDocs, xml, x-… extensions) are fine: they validate nothing.
// default is not applied either: kin-openapi runs with SkipSettingDefaults.
func unsupported(s *openapi3.Schema) error {
	var kw string
	switch {
	case s.Not != nil:
		kw = "not"
	case s.MultipleOf != nil:
		kw = "multipleOf"
	case s.ReadOnly:
		kw = "readOnly"
	case s.WriteOnly:
		kw = "writeOnly"
	case s.AllowEmptyValue:
		kw = "allowEmptyValue"
	case s.Const != nil:
		kw = "const"
	case len(s.Examples) > 0:
		kw = "examples"
	case len(s.PrefixItems) > 0:
		kw = "prefixItems"
	case s.Contains != nil || s.MinContains != nil || s.MaxContains != nil:
		kw = "contains"
	case len(s.PatternProperties) > 0:
		kw = "patternProperties"
	case len(s.DependentSchemas) > 0:
		kw = "dependentSchemas"
	case len(s.DependentRequired) > 0:
		kw = "dependentRequired"
	case s.PropertyNames != nil:
		kw = "propertyNames"
	case s.UnevaluatedItems.Has != nil || s.UnevaluatedItems.Schema != nil:
		kw = "unevaluatedItems"
	case s.UnevaluatedProperties.Has != nil || s.UnevaluatedProperties.Schema != nil:
		kw = "unevaluatedProperties"
	case s.If != nil || s.Then != nil || s.Else != nil:
		kw = "if/then/else"
	case s.Always != nil:
		kw = "a boolean schema"
	case len(s.Defs) > 0:
		kw = "$defs"
	}
	if kw == "" {
		return nil
	}
	return fmt.Errorf("schema keyword %s is not implemented by pspsim's validator (simulator/openapi/schema)", kw)
}

func enumOf(v any) (enumValue, error) {
	switch x := v.(type) {
	case nil:
		return enumValue{kind: Null}, nil
	case string:
		return enumValue{kind: String, str: x}, nil
	case bool:
		return enumValue{kind: Bool, b: x}, nil
	case float64:
		return enumValue{kind: Number, num: x}, nil
	case int:
		return enumValue{kind: Number, num: float64(x)}, nil
	case int64:
		return enumValue{kind: Number, num: float64(x)}, nil
	case json.Number:
		f, err := x.Float64()
		return enumValue{kind: Number, num: f}, err
	}
	return enumValue{}, fmt.Errorf("enum value of type %T is not implemented", v)
}

// expectedType is kin-openapi's reason for a type mismatch.
func expectedType(types []string) string {
	if len(types) == 1 {
		a := "a"
		switch types[0] {
		case openapi3.TypeArray, openapi3.TypeObject, openapi3.TypeInteger:
			a = "an"
		}
		return "value must be " + a + " " + types[0]
	}
	return "value must be one of " + strings.Join(types, ", ")
}

var codepoints = regexp.MustCompile(`(?P<replaced_with_slash_x>\\u)(?P<code>[0-9A-F]{4})`)

func goPattern(p string) string { return codepoints.ReplaceAllString(p, `\x{${code}}`) }
