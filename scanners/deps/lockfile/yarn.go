package lockfile

import (
	"strings"
)

// parseYarnLock reads yarn.lock, both yarn 1's format and berry's (yarn 2+)
// YAML. Each entry starts with its specifiers on an unindented line and
// gives the resolved version on an indented "version" line.
func parseYarnLock(file string, data []byte) ([]Package, error) {
	type entry struct {
		spec       string
		line       int
		version    string
		resolution string
	}
	var entries []*entry
	var cur *entry
	for i, raw := range strings.Split(string(data), "\n") {
		n := i + 1
		raw = strings.TrimSuffix(raw, "\r")
		trimmed := strings.TrimSpace(raw)
		if trimmed == "" || strings.HasPrefix(trimmed, "#") {
			continue
		}
		if raw[0] != ' ' && raw[0] != '\t' {
			if !strings.HasSuffix(trimmed, ":") {
				return nil, perr(file, n, "expected an entry header ending in ':', found %q", trimmed)
			}
			specs := strings.TrimSuffix(trimmed, ":")
			first, _, _ := strings.Cut(specs, ",")
			first = strings.Trim(strings.TrimSpace(first), `"`)
			if first == "__metadata" {
				cur = nil
				continue
			}
			cur = &entry{spec: first, line: n}
			entries = append(entries, cur)
			continue
		}
		if cur == nil {
			continue // __metadata
		}
		indent := len(raw) - len(strings.TrimLeft(raw, " \t"))
		if indent > 2 {
			continue // nested maps: dependencies, checksums
		}
		key, value := yarnField(trimmed)
		switch key {
		case "version":
			cur.version = value
		case "resolution":
			cur.resolution = value
		}
	}
	var out []Package
	for _, e := range entries {
		if e.version == "" {
			return nil, perr(file, e.line, "entry %q has no version", e.spec)
		}
		name, rng := splitNameAt(e.spec)
		if e.resolution != "" {
			// berry: "name@npm:1.2.3"; other protocols (workspace:, patch:,
			// link:, portal:, file:, git) are not registry packages.
			rn, rr := splitNameAt(e.resolution)
			if !strings.HasPrefix(rr, "npm:") {
				continue
			}
			name = rn
		} else if real, ok := strings.CutPrefix(rng, "npm:"); ok {
			// yarn 1 alias: "alias@npm:real@^1"
			if rn, _ := splitNameAt(real); rn != "" && strings.Contains(real[1:], "@") {
				name = rn
			}
		}
		if name == "" {
			return nil, perr(file, e.line, "cannot read a package name from %q", e.spec)
		}
		if !npmRegistryVersion(e.version) {
			continue
		}
		out = append(out, Package{Name: name, Version: e.version, Ecosystem: NPM, File: file, Line: e.line})
	}
	return out, nil
}

// yarnField splits `version "1.2.3"` (yarn 1) or `version: 1.2.3` (berry).
func yarnField(s string) (string, string) {
	if k, v, ok := strings.Cut(s, ": "); ok && !strings.Contains(k, " ") {
		return k, strings.Trim(strings.TrimSpace(v), `"'`)
	}
	k, v, _ := strings.Cut(s, " ")
	return strings.TrimSuffix(k, ":"), strings.Trim(strings.TrimSpace(v), `"'`)
}

// splitNameAt splits "name@range" and "@scope/name@range".
func splitNameAt(spec string) (string, string) {
	i := strings.Index(spec[min(1, len(spec)):], "@")
	if i < 0 {
		return spec, ""
	}
	i++
	if len(spec) > 0 && spec[0] != '@' {
		i = strings.Index(spec, "@")
	}
	return spec[:i], spec[i+1:]
}
