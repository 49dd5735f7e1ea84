package config

import (
	"encoding/json"
	"reflect"
	"strings"
)

const jsonSchemaDialect = "https://json-schema.org/draft/2020-12/schema"

// JSONSchema returns the JSON Schema (draft 2020-12) of warden.yaml,
// generated from the same field tree the validator uses. Defaults come
// from Defaults().
func JSONSchema() ([]byte, error) {
	s := fieldSchema(Schema(), reflect.ValueOf(Defaults()).Elem())
	s["$schema"] = jsonSchemaDialect
	s["title"] = "warden.yaml"
	s["description"] = "Configuration of Warden, the hardened gateway and security toolkit for self-hosted AI agents."
	return json.MarshalIndent(s, "", "  ")
}

func fieldSchema(f *Field, def reflect.Value) map[string]any {
	s := map[string]any{}
	if f.Doc != "" {
		s["description"] = f.Doc
	}
	switch f.Kind {
	case KindObject:
		s["type"] = "object"
		s["additionalProperties"] = false
		props := map[string]any{}
		var required []string
		for _, c := range f.Fields {
			props[c.Key] = fieldSchema(c, def.FieldByIndex(c.index))
			if c.Required {
				required = append(required, c.Key)
			}
		}
		s["properties"] = props
		if len(required) > 0 {
			s["required"] = required
		}
		return s
	case KindArray:
		s["type"] = "array"
		s["items"] = fieldSchema(f.Elem, reflect.New(def.Type().Elem()).Elem())
		if def.Len() > 0 {
			s["default"] = def.Interface()
		}
		return s
	case KindString:
		s["type"] = "string"
		if len(f.Enum) > 0 {
			s["enum"] = f.Enum
		}
		if f.Pattern != nil {
			s["pattern"] = f.Pattern.String()
		}
		switch f.Format {
		case "url":
			s["format"] = "uri"
		case "hostport":
			s["pattern"] = `^(\[[0-9a-fA-F:.]+\]|[^:\s/]*):[0-9]{1,5}$`
		}
	case KindBool:
		s["type"] = "boolean"
	case KindInt:
		s["type"] = "integer"
		if f.Min != nil {
			s["minimum"] = *f.Min
		}
		if f.Max != nil {
			s["maximum"] = *f.Max
		}
	case KindDuration:
		s["type"] = "string"
		s["pattern"] = `^(0|([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h|d))+)$`
		s["description"] = appendRange(f.Doc, f, "a duration such as 15m, 24h or 30d")
	case KindSize:
		s["type"] = []string{"integer", "string"}
		s["pattern"] = `^[0-9]+\s*([KMGT]i?B|[kKMGT]B|B)?$`
		s["minimum"] = 0
		s["description"] = appendRange(f.Doc, f, "bytes, or a size such as 512KiB or 10MiB")
	case KindDate:
		s["type"] = "string"
		s["format"] = "date"
	case KindSecret:
		s["type"] = "string"
		s["description"] = f.Doc + " Write secret:NAME to read it from the encrypted secret store; a value written here is only accepted in an encrypted config."
		s["writeOnly"] = true
		return s
	}
	if !def.IsZero() {
		s["default"] = defaultJSON(def)
	}
	return s
}

func appendRange(doc string, f *Field, what string) string {
	out := doc
	if !strings.HasSuffix(out, ".") && out != "" {
		out += "."
	}
	out += " Written as " + what
	if f.MinText != "" && f.MaxText != "" {
		out += ", from " + f.MinText + " to " + f.MaxText
	}
	return out + "."
}

func defaultJSON(v reflect.Value) any {
	switch x := v.Interface().(type) {
	case Duration:
		return x.String()
	case ByteSize:
		return x.String()
	case Date:
		return x.String()
	}
	return v.Interface()
}
