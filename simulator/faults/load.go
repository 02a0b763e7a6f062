package faults

import (
	"encoding/json"
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/pspsim/pspsim/fixtures"
)

// File is what a rules file (--faults) or the config file's faults section
// holds: rules, and whether the magic amounts apply.
//
//	magic: true            # optional; false turns the magic amounts off
//	rules:
//	  - id: gateway-down
//	    match: {system: vmgateway, operation: createPayment}
//	    action: {type: error, kind: unavailable}
//	    frequency: {probability: 0.2}
//
// A bare list of rules is accepted too, and so is a single rule.
type File struct {
	Rules []Rule
	Magic *bool // nil: not said
}

// ParseFile reads a rules file (YAML, or JSON, which is YAML). source is
// SourceFile or SourceConfig; errors name the rule and the field.
func ParseFile(data []byte, source string) (File, error) {
	var node yaml.Node
	if err := yaml.Unmarshal(data, &node); err != nil {
		return File{}, fmt.Errorf("faults: %w", err)
	}
	if node.Kind == 0 {
		return File{}, nil // empty
	}
	return ParseNode(&node, source)
}

// ParseNode reads a rules file already parsed as a YAML node (the config
// file's faults section).
func ParseNode(node *yaml.Node, source string) (File, error) {
	v, err := plain(node)
	if err != nil {
		return File{}, fmt.Errorf("faults: %w", err)
	}
	var f File
	var list []any
	single := false
	switch x := v.(type) {
	case nil:
		return f, nil
	case []any:
		list = x
	case map[string]any:
		_, hasRules := x["rules"]
		_, hasMagic := x["magic"]
		if !hasRules && !hasMagic {
			list, single = []any{x}, true // a single rule
			break
		}
		for k := range x {
			if k != "rules" && k != "magic" {
				return f, &FieldError{Field: k, Check: "unknown", Message: "a faults section has rules and magic"}
			}
		}
		if m, ok := x["magic"]; ok {
			b, isBool := m.(bool)
			if !isBool {
				return f, &FieldError{Field: "magic", Check: "type", Message: "must be true or false"}
			}
			f.Magic = &b
		}
		if r, ok := x["rules"]; ok && r != nil {
			if list, ok = r.([]any); !ok {
				return f, &FieldError{Field: "rules", Check: "type", Message: "must be a list of rules"}
			}
		}
	default:
		return f, &FieldError{Check: "type", Message: "a faults file is a list of rules, or {magic, rules}"}
	}
	for i, item := range list {
		where := fmt.Sprintf("rules[%d]", i)
		if single {
			where = ""
		}
		r, err := ParseRule(item, where)
		if err != nil {
			return File{}, err
		}
		r.Source = source
		f.Rules = append(f.Rules, r)
	}
	return f, nil
}

// RuleDocuments splits a rules text (YAML or JSON: one rule, a list, or
// {rules: [...]}) into one JSON document per rule, as the admin API takes
// them; numbers keep their literal text. Gherkin steps use it to send the
// rules QA write in YAML to a simulator that may run elsewhere.
func RuleDocuments(data []byte) ([]json.RawMessage, error) {
	var node yaml.Node
	if err := yaml.Unmarshal(data, &node); err != nil {
		return nil, fmt.Errorf("faults: %w", err)
	}
	v, err := plain(&node)
	if err != nil {
		return nil, fmt.Errorf("faults: %w", err)
	}
	var list []any
	switch x := v.(type) {
	case []any:
		list = x
	case map[string]any:
		if r, ok := x["rules"].([]any); ok {
			list = r
		} else {
			list = []any{x}
		}
	default:
		return nil, fmt.Errorf("faults: want a rule, a list of rules or {rules: [...]}")
	}
	out := make([]json.RawMessage, 0, len(list))
	for _, item := range list {
		b, err := json.Marshal(item)
		if err != nil {
			return nil, fmt.Errorf("faults: %w", err)
		}
		out = append(out, b)
	}
	return out, nil
}

// MagicRules returns the rules of fixtures/faults.yaml: amounts that trigger
// a fault, so that a developer can provoke one from their own app's UI.
func MagicRules() ([]Rule, error) {
	raw, err := fixtures.Read("faults.yaml")
	if err != nil {
		return nil, err
	}
	f, err := ParseFile(raw, SourceMagic)
	if err != nil {
		return nil, fmt.Errorf("fixtures/faults.yaml: %w", err)
	}
	return f.Rules, nil
}

// plain turns a YAML node into the values encoding/json produces with
// UseNumber: numbers keep their literal text (json.Number), so an amount
// written 10.51 is compared as "10.51", never as a float.
func plain(n *yaml.Node) (any, error) {
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return nil, nil
		}
		return plain(n.Content[0])
	case yaml.AliasNode:
		return plain(n.Alias)
	case yaml.SequenceNode:
		out := make([]any, 0, len(n.Content))
		for _, c := range n.Content {
			v, err := plain(c)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, nil
	case yaml.MappingNode:
		out := make(map[string]any, len(n.Content)/2)
		explicit := map[string]bool{}
		var merges []*yaml.Node
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, val := n.Content[i], n.Content[i+1]
			if k.Kind != yaml.ScalarNode {
				return nil, fmt.Errorf("line %d: keys must be plain strings", k.Line)
			}
			if k.ShortTag() == "!!merge" {
				merges = append(merges, val) // << *anchor: shared match criteria
				continue
			}
			v, err := plain(val)
			if err != nil {
				return nil, err
			}
			out[k.Value] = v
			explicit[k.Value] = true
		}
		for _, m := range merges {
			v, err := plain(m)
			if err != nil {
				return nil, err
			}
			list, isList := v.([]any)
			if !isList {
				list = []any{v}
			}
			for _, item := range list {
				mm, ok := item.(map[string]any)
				if !ok {
					return nil, fmt.Errorf("line %d: << merges mappings only", m.Line)
				}
				for key, x := range mm {
					if !explicit[key] {
						if _, done := out[key]; !done {
							out[key] = x
						}
					}
				}
			}
		}
		return out, nil
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!null":
			return nil, nil
		case "!!bool":
			var b bool
			if err := n.Decode(&b); err != nil {
				return nil, fmt.Errorf("line %d: %w", n.Line, err)
			}
			return b, nil
		case "!!int", "!!float":
			return json.Number(strings.ReplaceAll(n.Value, "_", "")), nil
		default:
			return n.Value, nil
		}
	}
	return nil, fmt.Errorf("line %d: unsupported YAML", n.Line)
}
