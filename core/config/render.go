package config

import (
	"fmt"
	"reflect"
	"strconv"

	"go.yaml.in/yaml/v3"
)

// Node renders the effective config as YAML, keys in schema order. Secret
// values are never included: a reference shows as secret:NAME, a value as
// [REDACTED].
func (c *Config) Node() *yaml.Node {
	return valueNode(Schema(), reflect.ValueOf(c).Elem())
}

// Map renders the effective config as plain data for JSON, with the same
// redaction as Node.
func (c *Config) Map() map[string]any {
	return valueData(Schema(), reflect.ValueOf(c).Elem()).(map[string]any)
}

func valueNode(f *Field, v reflect.Value) *yaml.Node {
	switch f.Kind {
	case KindObject:
		n := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
		for _, c := range f.Fields {
			n.Content = append(n.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: c.Key},
				valueNode(c, v.FieldByIndex(c.index)))
		}
		return n
	case KindArray:
		n := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
		if v.Len() == 0 {
			n.Style = yaml.FlowStyle
		}
		for i := 0; i < v.Len(); i++ {
			n.Content = append(n.Content, valueNode(f.Elem, v.Index(i)))
		}
		return n
	case KindBool:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: strconv.FormatBool(v.Bool())}
	case KindInt:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: strconv.FormatInt(v.Int(), 10)}
	case KindDate:
		d := v.Interface().(Date)
		if d.IsZero() {
			return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Value: "null"}
		}
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: d.String()}
	default:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: fmt.Sprint(v.Interface())}
	}
}

func valueData(f *Field, v reflect.Value) any {
	switch f.Kind {
	case KindObject:
		m := map[string]any{}
		for _, c := range f.Fields {
			m[c.Key] = valueData(c, v.FieldByIndex(c.index))
		}
		return m
	case KindArray:
		out := make([]any, v.Len())
		for i := range out {
			out[i] = valueData(f.Elem, v.Index(i))
		}
		return out
	case KindBool:
		return v.Bool()
	case KindInt:
		return v.Int()
	case KindSize:
		return v.Int()
	case KindDate:
		d := v.Interface().(Date)
		if d.IsZero() {
			return nil
		}
		return d.String()
	default:
		return fmt.Sprint(v.Interface())
	}
}
