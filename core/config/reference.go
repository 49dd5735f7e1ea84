package config

import (
	"fmt"
	"reflect"
	"strings"
)

// KeyInfo describes one config key for reference docs.
type KeyInfo struct {
	Path    string `json:"path"`    // a.b, list items as a.list[].c
	Type    string `json:"type"`    // human description of the accepted values
	Default string `json:"default"` // the default, rendered as YAML would show it
	Doc     string `json:"doc"`
	Secret  bool   `json:"secret,omitempty"`
	Section bool   `json:"section,omitempty"` // an object holding other keys
}

// Reference lists every key of the config with its type, default and
// documentation, in schema order.
func Reference() []KeyInfo {
	var out []KeyInfo
	var visit func(f *Field, def reflect.Value)
	visit = func(f *Field, def reflect.Value) {
		if f.Path != "" {
			k := KeyInfo{Path: f.Path, Type: typeText(f), Doc: f.Doc, Secret: f.Secret, Section: f.Kind == KindObject}
			if f.Kind != KindObject && def.IsValid() {
				k.Default = defaultText(f, def)
			}
			out = append(out, k)
		}
		switch f.Kind {
		case KindObject:
			for _, c := range f.Fields {
				var cv reflect.Value
				if def.IsValid() {
					cv = def.FieldByIndex(c.index)
				}
				visit(c, cv)
			}
		case KindArray:
			if f.Elem.Kind == KindObject {
				visit(f.Elem, reflect.Value{})
			}
		}
	}
	visit(Schema(), reflect.ValueOf(Defaults()).Elem())
	return out
}

func typeText(f *Field) string {
	rng := func() string {
		switch {
		case f.MinText != "" && f.MaxText != "":
			return fmt.Sprintf(", %s to %s", f.MinText, f.MaxText)
		case f.MinText != "":
			return ", at least " + f.MinText
		case f.MaxText != "":
			return ", at most " + f.MaxText
		}
		return ""
	}
	switch f.Kind {
	case KindObject:
		return "section"
	case KindArray:
		if f.Elem.Kind == KindObject {
			return "list of entries"
		}
		return "list of " + typeText(f.Elem)
	case KindString:
		switch {
		case len(f.Enum) > 0:
			return "one of " + strings.Join(f.Enum, ", ")
		case f.Format == "hostport":
			return "host:port"
		case f.Format == "url":
			return "https URL"
		case f.Format == "origin":
			return "origin (scheme://host[:port])"
		case f.Format == "cidr":
			return "IP or CIDR"
		case f.Format == "path":
			return "path"
		}
		return "text"
	case KindBool:
		return "true or false"
	case KindInt:
		return "integer" + rng()
	case KindDuration:
		return "duration" + rng()
	case KindSize:
		return "size" + rng()
	case KindDate:
		return "date (YYYY-MM-DD)"
	case KindSecret:
		return "secret (secret:NAME)"
	}
	return f.Kind.String()
}

func defaultText(f *Field, v reflect.Value) string {
	switch f.Kind {
	case KindArray:
		if v.Len() == 0 {
			return "[]"
		}
	case KindString, KindSecret:
		s := fmt.Sprint(v.Interface())
		if s == "" {
			return `""`
		}
		return s
	case KindDate:
		if v.Interface().(Date).IsZero() {
			return "none"
		}
	}
	return fmt.Sprint(v.Interface())
}
