package lockfile

import (
	"strconv"
	"strings"
)

// tomlPackage is one [[package]] table of a Cargo.lock, poetry.lock or
// uv.lock: the few keys Warden reads, with the table's line. These files are
// written by tools in a regular shape, so a line reader is enough and keeps
// every line number.
type tomlPackage struct {
	line         int
	name         string
	version      string
	source       string   // Cargo: source = "registry+…"; uv: the inline table's text
	sourceType   string   // poetry: [package.source] type
	category     string   // poetry < 1.5: category = "dev"
	dependencies []string // Cargo: dependency specs; uv: names of the inline tables
}

// parseTOMLPackages reads the [[package]] tables of a lockfile.
func parseTOMLPackages(file string, data []byte) ([]*tomlPackage, error) {
	var out []*tomlPackage
	var cur *tomlPackage
	table := ""   // the current table header
	inArray := "" // the key of a multi-line array being read
	lines := strings.Split(string(data), "\n")
	for i, raw := range lines {
		n := i + 1
		line := strings.TrimSpace(strings.TrimSuffix(raw, "\r"))
		if inArray != "" {
			if cur != nil && inArray == "dependencies" && table == "package" {
				cur.dependencies = append(cur.dependencies, arrayItems(line)...)
			}
			if strings.HasPrefix(line, "]") {
				inArray = ""
			}
			continue
		}
		if line == "" || line[0] == '#' {
			continue
		}
		if strings.HasPrefix(line, "[") {
			header := strings.TrimSpace(strings.Trim(line, "[]"))
			if !strings.HasSuffix(line, "]") || header == "" {
				return nil, perr(file, n, "malformed table header %q", line)
			}
			table = header
			if strings.HasPrefix(line, "[[") && header == "package" {
				cur = &tomlPackage{line: n}
				out = append(out, cur)
			} else if !strings.HasPrefix(header, "package.") {
				cur = nil
			}
			continue
		}
		key, value, ok := strings.Cut(line, "=")
		if !ok {
			return nil, perr(file, n, "expected key = value, found %q", line)
		}
		key, value = strings.TrimSpace(key), strings.TrimSpace(value)
		if strings.HasPrefix(value, "[") && !strings.HasSuffix(value, "]") {
			inArray = key
			if cur != nil && key == "dependencies" && table == "package" {
				cur.dependencies = append(cur.dependencies, arrayItems(value[1:])...)
			}
			continue
		}
		if cur == nil {
			continue
		}
		switch {
		case table == "package":
			switch key {
			case "name", "version", "category":
				s, err := tomlString(value)
				if err != nil {
					return nil, perr(file, n, "%s: %v", key, err)
				}
				switch key {
				case "name":
					cur.name = s
				case "version":
					cur.version = s
				default:
					cur.category = s
				}
			case "source":
				cur.source = value
			case "dependencies":
				cur.dependencies = append(cur.dependencies, arrayItems(strings.TrimSuffix(strings.TrimPrefix(value, "["), "]"))...)
			}
		case table == "package.source" && key == "type":
			s, err := tomlString(value)
			if err != nil {
				return nil, perr(file, n, "%s: %v", key, err)
			}
			cur.sourceType = s
		}
	}
	if inArray != "" {
		return nil, perr(file, len(lines), "unterminated array %q", inArray)
	}
	for _, p := range out {
		if p.name == "" || p.version == "" {
			if p.name != "" && p.version == "" && strings.Contains(p.source, "virtual") {
				continue
			}
			return nil, perr(file, p.line, "[[package]] without name or version")
		}
	}
	return out, nil
}

// tomlString decodes a basic or literal TOML string.
func tomlString(v string) (string, error) {
	if strings.HasPrefix(v, "'") {
		if len(v) < 2 || !strings.HasSuffix(v, "'") {
			return "", errString(v)
		}
		return v[1 : len(v)-1], nil
	}
	if end := strings.LastIndex(v, `"`); end > 0 && strings.HasPrefix(v, `"`) {
		s, err := strconv.Unquote(v[:end+1])
		if err != nil {
			return "", errString(v)
		}
		return s, nil
	}
	return "", errString(v)
}

type errString string

func (e errString) Error() string { return "not a string: " + string(e) }

// arrayItems pulls the items of one line of an array: quoted strings, or
// the name of inline tables { name = "x", … }.
func arrayItems(line string) []string {
	var out []string
	for _, part := range strings.Split(line, ",") {
		part = strings.TrimSpace(strings.Trim(strings.TrimSpace(part), "[]"))
		if part == "" {
			continue
		}
		if strings.HasPrefix(part, "{") {
			part = strings.TrimSpace(strings.TrimPrefix(part, "{"))
			if k, v, ok := strings.Cut(part, "="); ok && strings.TrimSpace(k) == "name" {
				if s, err := tomlString(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "}"))); err == nil {
					out = append(out, s)
				}
			}
			continue
		}
		if s, err := tomlString(part); err == nil {
			out = append(out, s)
		}
	}
	return out
}

// parseCargoLock reads Cargo.lock. Crates without a source are the
// workspace's own; crates from git have no crates.io version. Both are left
// out. The dependencies of workspace crates are direct.
func parseCargoLock(file string, data []byte) ([]Package, error) {
	pkgs, err := parseTOMLPackages(file, data)
	if err != nil {
		return nil, err
	}
	direct := map[string]bool{}
	for _, p := range pkgs {
		if p.source == "" {
			for _, d := range p.dependencies {
				// "name", "name version" or "name version (source)"
				f := strings.Fields(d)
				if len(f) == 1 {
					direct[f[0]] = true
				} else if len(f) > 1 {
					direct[f[0]+" "+f[1]] = true
				}
			}
		}
	}
	var out []Package
	for _, p := range pkgs {
		src, _ := tomlString(p.source)
		if !strings.HasPrefix(src, "registry+") && !strings.HasPrefix(src, "sparse+") {
			continue
		}
		kind := Transitive
		if direct[p.name] || direct[p.name+" "+p.version] {
			kind = Direct
		}
		out = append(out, Package{Name: p.name, Version: p.version, Ecosystem: CratesIO, Dependency: kind, File: file, Line: p.line})
	}
	return out, nil
}

// parsePoetryLock reads poetry.lock; packages from git, a directory, a
// file or a URL are left out.
func parsePoetryLock(file string, data []byte) ([]Package, error) {
	pkgs, err := parseTOMLPackages(file, data)
	if err != nil {
		return nil, err
	}
	var out []Package
	for _, p := range pkgs {
		if p.sourceType != "" && p.sourceType != "legacy" {
			continue
		}
		out = append(out, Package{Name: normalizePyPI(p.name), Version: p.version, Ecosystem: PyPI,
			Dev: p.category == "dev", File: file, Line: p.line})
	}
	return out, nil
}

// parseUVLock reads uv.lock. The project itself (an editable or virtual
// source) is left out and its dependencies are direct; packages from git,
// paths or URLs are left out.
func parseUVLock(file string, data []byte) ([]Package, error) {
	pkgs, err := parseTOMLPackages(file, data)
	if err != nil {
		return nil, err
	}
	direct := map[string]bool{}
	local := func(p *tomlPackage) bool {
		return strings.Contains(p.source, "editable") || strings.Contains(p.source, "virtual")
	}
	for _, p := range pkgs {
		if local(p) {
			for _, d := range p.dependencies {
				direct[normalizePyPI(d)] = true
			}
		}
	}
	var out []Package
	for _, p := range pkgs {
		if local(p) || (p.source != "" && !strings.Contains(p.source, "registry")) {
			continue
		}
		name := normalizePyPI(p.name)
		kind := Transitive
		if direct[name] {
			kind = Direct
		}
		out = append(out, Package{Name: name, Version: p.version, Ecosystem: PyPI, Dependency: kind, File: file, Line: p.line})
	}
	return out, nil
}
