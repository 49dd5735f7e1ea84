package config

import (
	"fmt"
	"net"
	"net/url"
	"reflect"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/warden-sec/warden/core/secrets"
	"github.com/warden-sec/warden/internal/suggest"
)

// decoder checks a YAML node tree against the schema and, where a value is
// valid, stores it in the config. One pass does both, so the validator and
// the decoder cannot disagree.
type decoder struct {
	file      string
	diags     []Diagnostic
	positions map[string]*yaml.Node // value nodes by concrete path (a.b[2].c)
}

func (d *decoder) add(n *yaml.Node, path, msg string, args ...any) {
	line := 0
	if n != nil {
		line = n.Line
	}
	d.diags = append(d.diags, Diagnostic{File: d.file, Line: line, Path: path, Message: fmt.Sprintf(msg, args...)})
}

func (d *decoder) addHint(n *yaml.Node, path, hint, msg string, args ...any) {
	d.add(n, path, msg, args...)
	d.diags[len(d.diags)-1].Hint = hint
}

func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	}
	switch n.ShortTag() {
	case "!!bool":
		return "a boolean"
	case "!!int":
		return "an integer"
	case "!!float":
		return "a number"
	case "!!null":
		return "null"
	case "!!timestamp":
		return "a timestamp"
	}
	return "text"
}

func isNull(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" }

// decode stores node n, described by f, in v.
func (d *decoder) decode(f *Field, n *yaml.Node, v reflect.Value, path string) {
	if n.Kind == yaml.AliasNode {
		d.add(n, path, "YAML aliases are not supported in the config")
		return
	}
	d.positions[path] = n
	if isNull(n) {
		if f.Required {
			d.add(n, path, "is required")
		}
		return // keep the default
	}
	switch f.Kind {
	case KindObject:
		d.object(f, n, v, path)
	case KindArray:
		if n.Kind != yaml.SequenceNode {
			d.add(n, path, "expected a list, got %s", describe(n))
			return
		}
		if len(n.Content) == 0 {
			v.Set(reflect.Zero(v.Type()))
			return
		}
		s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
		for i, item := range n.Content {
			d.decode(f.Elem, item, s.Index(i), fmt.Sprintf("%s[%d]", path, i))
		}
		v.Set(s)
	default:
		if n.Kind != yaml.ScalarNode {
			d.add(n, path, "expected %s, got %s", expectation(f), describe(n))
			return
		}
		d.scalar(f, n, v, path)
	}
}

func (d *decoder) object(f *Field, n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.MappingNode {
		d.add(n, path, "expected a mapping, got %s", describe(n))
		return
	}
	seen := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode || k.ShortTag() != "!!str" {
			d.add(k, path, "keys must be text, got %s", describe(k))
			continue
		}
		kp := join(path, k.Value)
		if prev, dup := seen[k.Value]; dup {
			d.add(k, kp, "duplicate key (first set on line %d)", prev.Line)
			continue
		}
		seen[k.Value] = k
		c := f.Child(k.Value)
		if c == nil {
			keys := make([]string, 0, len(f.Fields))
			for _, fc := range f.Fields {
				keys = append(keys, fc.Key)
			}
			if s := suggest.Closest(k.Value, keys); s != "" {
				d.add(k, kp, "unknown key (did you mean %s?)", s)
			} else {
				d.add(k, kp, "unknown key (valid keys: %s)", strings.Join(keys, ", "))
			}
			continue
		}
		d.decode(c, val, v.FieldByIndex(c.index), kp)
	}
	for _, c := range f.Fields {
		if c.Required && seen[c.Key] == nil {
			d.add(n, join(path, c.Key), "is required")
		}
	}
}

func expectation(f *Field) string {
	switch f.Kind {
	case KindBool:
		return "true or false"
	case KindInt:
		return "an integer"
	case KindDuration:
		return "a duration such as 15m, 24h or 30d"
	case KindSize:
		return "a size such as 512KiB or 10MiB"
	case KindDate:
		return "a date (YYYY-MM-DD)"
	}
	return "text"
}

func (d *decoder) scalar(f *Field, n *yaml.Node, v reflect.Value, path string) {
	tag := n.ShortTag()
	switch f.Kind {
	case KindBool:
		if tag != "!!bool" {
			d.add(n, path, "expected true or false, got %s %q", describe(n), n.Value)
			return
		}
		var b bool
		if err := n.Decode(&b); err != nil {
			d.add(n, path, "%v", err)
			return
		}
		v.SetBool(b)
	case KindInt:
		if tag != "!!int" {
			d.add(n, path, "expected an integer, got %s %q", describe(n), n.Value)
			return
		}
		var i int64
		if err := n.Decode(&i); err != nil {
			d.add(n, path, "integer %s is out of range", n.Value)
			return
		}
		if !d.inRange(f, n, path, i, strconv.FormatInt(i, 10)) {
			return
		}
		v.SetInt(i)
	case KindDuration:
		if tag != "!!str" && !(tag == "!!int" && n.Value == "0") {
			d.add(n, path, "expected a duration such as 15m, 24h or 30d, got %s %q", describe(n), n.Value)
			return
		}
		dur, err := ParseDuration(n.Value)
		if err != nil {
			d.add(n, path, "%v", err)
			return
		}
		if !d.inRange(f, n, path, int64(dur), FormatDuration(dur)) {
			return
		}
		v.SetInt(int64(dur))
	case KindSize:
		if tag != "!!str" && tag != "!!int" {
			d.add(n, path, "expected a size such as 512KiB or 10MiB, got %s %q", describe(n), n.Value)
			return
		}
		size, err := ParseByteSize(n.Value)
		if err != nil {
			d.add(n, path, "%v", err)
			return
		}
		if !d.inRange(f, n, path, size, ByteSize(size).String()) {
			return
		}
		v.SetInt(size)
	case KindDate:
		if tag != "!!str" && tag != "!!timestamp" {
			d.add(n, path, "expected a date (YYYY-MM-DD), got %s %q", describe(n), n.Value)
			return
		}
		date, err := ParseDate(n.Value)
		if err != nil {
			d.add(n, path, "%v", err)
			return
		}
		v.Set(reflect.ValueOf(date))
	case KindSecret:
		if tag != "!!str" {
			d.add(n, path, "expected text, got %s (quote the value)", describe(n))
			return
		}
		s := parseSecret(n.Value)
		if s.Ref() != "" || strings.HasPrefix(n.Value, SecretPrefix) {
			if err := secrets.ValidateName(s.Ref()); err != nil {
				d.add(n, path, "%v", err)
				return
			}
		}
		v.Set(reflect.ValueOf(s))
	case KindString:
		switch tag {
		case "!!str", "!!int", "!!float", "!!timestamp":
		default:
			d.add(n, path, "expected text, got %s %q (quote the value)", describe(n), n.Value)
			return
		}
		if r, ok := refusals[f.Path][n.Value]; ok {
			d.addHint(n, path, r.hint, "%s", r.message)
			return
		}
		if msg := checkString(f, n.Value); msg != "" {
			d.add(n, path, "%s", msg)
			return
		}
		v.SetString(n.Value)
	}
}

func (d *decoder) inRange(f *Field, n *yaml.Node, path string, v int64, shown string) bool {
	if f.Min != nil && v < *f.Min {
		d.add(n, path, "%s is below the minimum %s", shown, f.MinText)
		return false
	}
	if f.Max != nil && v > *f.Max {
		d.add(n, path, "%s is above the maximum %s", shown, f.MaxText)
		return false
	}
	return true
}

// checkString applies enum, pattern and format; "" means valid.
func checkString(f *Field, s string) string {
	if len(f.Enum) > 0 {
		for _, e := range f.Enum {
			if s == e {
				return ""
			}
		}
		return fmt.Sprintf("%q is not one of %s", s, strings.Join(f.Enum, ", "))
	}
	if f.Pattern != nil && !f.Pattern.MatchString(s) {
		return fmt.Sprintf("%q does not match %s", s, f.Pattern)
	}
	if s == "" {
		return ""
	}
	switch f.Format {
	case "hostport":
		host, port, err := net.SplitHostPort(s)
		if err != nil {
			return fmt.Sprintf("%q is not host:port (%v)", s, err)
		}
		if p, err := strconv.Atoi(port); err != nil || p < 0 || p > 65535 {
			return fmt.Sprintf("port %q is not a number from 0 to 65535", port)
		}
		if strings.ContainsAny(host, " /") {
			return fmt.Sprintf("host %q is not valid", host)
		}
	case "url":
		u, err := url.Parse(s)
		if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
			return fmt.Sprintf("%q is not an http(s) URL", s)
		}
		if u.Scheme == "http" && !IsLoopbackHost(u.Hostname()) {
			return fmt.Sprintf("%q must use https (plain http is only accepted for loopback addresses)", s)
		}
		if u.User != nil {
			return "URLs must not carry credentials; use a secret field"
		}
	case "origin":
		if s == "*" || strings.Contains(s, "*") {
			return "wildcard origins are not accepted: list each origin (scheme://host[:port])"
		}
		u, err := url.Parse(s)
		if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil {
			return fmt.Sprintf("%q is not an origin (scheme://host[:port])", s)
		}
	case "cidr":
		if net.ParseIP(s) == nil {
			if _, _, err := net.ParseCIDR(s); err != nil {
				return fmt.Sprintf("%q is not an IP address or CIDR range", s)
			}
		}
	case "path":
		if strings.ContainsRune(s, 0) {
			return "path contains a NUL byte"
		}
	}
	return ""
}

// IsLoopbackHost reports whether host (an IP or name, no port) is loopback.
func IsLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}
