package config

import (
	"fmt"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Kind is the type of a config value.
type Kind int

// Kinds of values.
const (
	KindObject Kind = iota
	KindArray
	KindString
	KindBool
	KindInt
	KindDuration
	KindSize
	KindDate
	KindSecret
)

func (k Kind) String() string {
	return [...]string{"object", "list", "string", "boolean", "integer", "duration", "size", "date", "secret"}[k]
}

// Field describes one key of the config. The tree is derived from the
// struct tags of Config, and is the single definition the validator, the
// decoder, the JSON Schema and the reference docs use.
type Field struct {
	Key      string // YAML key ("" for the root and list items)
	Path     string // dotted path; list items appear as name[]
	Doc      string
	Kind     Kind
	Enum     []string
	Pattern  *regexp.Regexp
	Format   string // hostport, path, url, origin, cidr, token
	Secret   bool
	Required bool
	// Min and Max bound integers (as is), durations (nanoseconds) and
	// sizes (bytes); MinText and MaxText keep the tag's spelling.
	Min, Max         *int64
	MinText, MaxText string
	Fields           []*Field // objects
	Elem             *Field   // lists

	index []int
}

// Child returns the object field with the given key.
func (f *Field) Child(key string) *Field {
	for _, c := range f.Fields {
		if c.Key == key {
			return c
		}
	}
	return nil
}

// Walk visits f and every field below it, depth first, in declaration order.
func (f *Field) Walk(fn func(*Field)) {
	fn(f)
	for _, c := range f.Fields {
		c.Walk(fn)
	}
	if f.Elem != nil {
		f.Elem.Walk(fn)
	}
}

// Lookup finds a field by its schema path (a.b, list items as a.list[].c).
func (f *Field) Lookup(path string) *Field {
	var found *Field
	f.Walk(func(c *Field) {
		if c.Path == path && found == nil {
			found = c
		}
	})
	return found
}

var schemaOnce = sync.OnceValue(func() *Field {
	f, err := buildField(reflect.TypeOf(Config{}), "", "", reflect.StructTag(""))
	if err != nil {
		panic("config schema: " + err.Error())
	}
	return f
})

// Schema returns the config's field tree.
func Schema() *Field { return schemaOnce() }

var (
	typeDuration = reflect.TypeOf(Duration(0))
	typeSize     = reflect.TypeOf(ByteSize(0))
	typeDate     = reflect.TypeOf(Date{})
	typeSecret   = reflect.TypeOf(Secret{})
)

func buildField(t reflect.Type, key, path string, tag reflect.StructTag) (*Field, error) {
	f := &Field{Key: key, Path: path, Doc: tag.Get("doc"), Format: tag.Get("format"),
		Secret: tag.Get("secret") == "true", Required: tag.Get("required") == "true"}
	if e := tag.Get("enum"); e != "" {
		f.Enum = strings.Split(e, "|")
	}
	if p := tag.Get("pattern"); p != "" {
		re, err := regexp.Compile(p)
		if err != nil {
			return nil, fmt.Errorf("%s: pattern: %w", path, err)
		}
		f.Pattern = re
	}
	switch {
	case t == typeDuration:
		f.Kind = KindDuration
	case t == typeSize:
		f.Kind = KindSize
	case t == typeDate:
		f.Kind = KindDate
	case t == typeSecret:
		f.Kind = KindSecret
	case t.Kind() == reflect.Struct:
		f.Kind = KindObject
		for i := 0; i < t.NumField(); i++ {
			sf := t.Field(i)
			if !sf.IsExported() {
				continue
			}
			k := strings.Split(sf.Tag.Get("yaml"), ",")[0]
			if k == "" || k == "-" {
				return nil, fmt.Errorf("%s.%s: missing yaml tag", path, sf.Name)
			}
			if sf.Tag.Get("doc") == "" {
				return nil, fmt.Errorf("%s: missing doc tag", join(path, k))
			}
			c, err := buildField(sf.Type, k, join(path, k), sf.Tag)
			if err != nil {
				return nil, err
			}
			c.index = sf.Index
			f.Fields = append(f.Fields, c)
		}
	case t.Kind() == reflect.Slice:
		f.Kind = KindArray
		// Constraints in the tag apply to the items.
		elemTag := reflect.StructTag(fmt.Sprintf(`pattern:%q format:%q enum:%q`, tag.Get("pattern"), tag.Get("format"), tag.Get("enum")))
		e, err := buildField(t.Elem(), "", path+"[]", elemTag)
		if err != nil {
			return nil, err
		}
		f.Elem = e
		f.Pattern, f.Format, f.Enum = nil, "", nil
	case t.Kind() == reflect.String:
		f.Kind = KindString
	case t.Kind() == reflect.Bool:
		f.Kind = KindBool
	case t.Kind() == reflect.Int || t.Kind() == reflect.Int64:
		f.Kind = KindInt
	default:
		return nil, fmt.Errorf("%s: unsupported type %s", path, t)
	}
	var err error
	if f.Min, err = bound(f.Kind, tag.Get("min")); err != nil {
		return nil, fmt.Errorf("%s: min: %w", path, err)
	}
	if f.Max, err = bound(f.Kind, tag.Get("max")); err != nil {
		return nil, fmt.Errorf("%s: max: %w", path, err)
	}
	f.MinText, f.MaxText = tag.Get("min"), tag.Get("max")
	return f, nil
}

func bound(k Kind, s string) (*int64, error) {
	if s == "" {
		return nil, nil
	}
	var v int64
	var err error
	switch k {
	case KindInt:
		v, err = strconv.ParseInt(s, 10, 64)
	case KindDuration:
		var d time.Duration
		d, err = ParseDuration(s)
		v = int64(d)
	case KindSize:
		v, err = ParseByteSize(s)
	default:
		return nil, fmt.Errorf("bounds on a %s", k)
	}
	if err != nil {
		return nil, err
	}
	return &v, nil
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}
