package lockfile

import (
	"fmt"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// parsePNPMLock reads pnpm-lock.yaml, lockfile versions 5 to 9. Packages
// are the keys of "packages"; direct dependencies are those of the root
// importer (or, before version 6, the top-level dependencies).
func parsePNPMLock(file string, data []byte) ([]Package, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, yamlError(file, err)
	}
	if len(doc.Content) == 0 {
		return nil, nil
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return nil, perr(file, root.Line, "expected a mapping at the top level")
	}
	major := 0
	if v := mapGet(root, "lockfileVersion"); v != nil {
		f, err := strconv.ParseFloat(strings.Trim(v.Value, "'\""), 64)
		if err != nil {
			return nil, perr(file, v.Line, "lockfileVersion %q is not a number", v.Value)
		}
		major = int(f)
	}
	direct := map[string]bool{}
	addDirect := func(m *yaml.Node) {
		for _, group := range []string{"dependencies", "devDependencies", "optionalDependencies"} {
			deps := mapGet(m, group)
			if deps == nil || deps.Kind != yaml.MappingNode {
				continue
			}
			for i := 0; i+1 < len(deps.Content); i += 2 {
				name, val := deps.Content[i].Value, deps.Content[i+1]
				version := val.Value
				if val.Kind == yaml.MappingNode {
					if v := mapGet(val, "version"); v != nil {
						version = v.Value
					}
				}
				direct[name+"@"+pnpmCleanVersion(version)] = true
			}
		}
	}
	if imp := mapGet(root, "importers"); imp != nil {
		if dot := mapGet(imp, "."); dot != nil {
			addDirect(dot)
		}
	} else {
		addDirect(root)
	}
	pkgs := mapGet(root, "packages")
	if pkgs == nil {
		return nil, nil
	}
	if pkgs.Kind != yaml.MappingNode {
		return nil, perr(file, pkgs.Line, "packages: expected a mapping")
	}
	var out []Package
	for i := 0; i+1 < len(pkgs.Content); i += 2 {
		k := pkgs.Content[i]
		name, version, ok := pnpmKey(k.Value, major)
		if !ok {
			return nil, perr(file, k.Line, "cannot read a package and version from %q", k.Value)
		}
		val := pkgs.Content[i+1]
		if v := mapGet(val, "version"); v != nil && version == "" {
			version = v.Value
		}
		if n := mapGet(val, "name"); n != nil && n.Value != "" {
			name = n.Value
		}
		if !npmRegistryVersion(version) {
			continue
		}
		dev := false
		if d := mapGet(val, "dev"); d != nil {
			dev = d.Value == "true"
		}
		kind := Transitive
		if direct[name+"@"+version] {
			kind = Direct
		}
		out = append(out, Package{Name: name, Version: version, Ecosystem: NPM, Dependency: kind, Dev: dev, File: file, Line: k.Line})
	}
	return out, nil
}

// pnpmKey reads a package key: "/name/1.2.3_peer" (v5), "/name@1.2.3(peer)"
// (v6) or "name@1.2.3(peer)" (v9), scoped names included. Keys of tarball or
// git packages give an empty or non-registry version.
func pnpmKey(key string, major int) (string, string, bool) {
	key = strings.TrimPrefix(key, "/")
	if key == "" {
		return "", "", false
	}
	if major > 0 && major < 6 {
		i := strings.LastIndex(key, "/")
		if i <= 0 {
			return "", "", false
		}
		v := key[i+1:]
		if j := strings.Index(v, "_"); j >= 0 {
			v = v[:j]
		}
		return key[:i], v, true
	}
	if j := strings.Index(key, "("); j >= 0 {
		key = key[:j]
	}
	name, version := splitNameAt(key)
	if name == "" {
		return "", "", false
	}
	return name, version, true
}

func pnpmCleanVersion(v string) string {
	if j := strings.Index(v, "("); j >= 0 {
		v = v[:j]
	}
	if j := strings.Index(v, "_"); j >= 0 {
		v = v[:j]
	}
	return v
}

func mapGet(m *yaml.Node, key string) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

// yamlError reads the line out of a yaml.v3 error ("yaml: line 3: …").
func yamlError(file string, err error) error {
	msg := err.Error()
	var line int
	if _, scanErr := fmt.Sscanf(msg, "yaml: line %d:", &line); scanErr == nil {
		_, rest, _ := strings.Cut(msg, ": ")
		_, rest, _ = strings.Cut(rest, ": ")
		return perr(file, line, "invalid YAML: %s", rest)
	}
	return &ParseError{File: file, Msg: "invalid YAML", Err: err}
}
