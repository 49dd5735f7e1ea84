package lockfile

import (
	"strings"
)

// parseGemfileLock reads Gemfile.lock: the gems listed under GEM specs
// (GIT and PATH gems are not RubyGems releases), direct when named under
// DEPENDENCIES.
func parseGemfileLock(file string, data []byte) ([]Package, error) {
	section := ""
	inSpecs := false
	var out []Package
	direct := map[string]bool{}
	for i, raw := range strings.Split(string(data), "\n") {
		n := i + 1
		raw = strings.TrimRight(raw, "\r ")
		if raw == "" {
			inSpecs = false
			continue
		}
		if raw[0] != ' ' {
			section, inSpecs = raw, false
			continue
		}
		indent := len(raw) - len(strings.TrimLeft(raw, " "))
		text := strings.TrimSpace(raw)
		switch section {
		case "DEPENDENCIES":
			if indent == 2 {
				name, _, _ := strings.Cut(text, " ")
				direct[strings.TrimSuffix(name, "!")] = true
			}
		case "GEM":
			if indent == 2 {
				inSpecs = text == "specs:"
				continue
			}
			if !inSpecs || indent != 4 {
				continue
			}
			name, rest, ok := strings.Cut(text, " ")
			if !ok || !strings.HasPrefix(rest, "(") || !strings.HasSuffix(rest, ")") {
				return nil, perr(file, n, "expected \"name (version)\", found %q", text)
			}
			version := strings.TrimSuffix(strings.TrimPrefix(rest, "("), ")")
			if j := strings.Index(version, "-"); j >= 0 {
				version = version[:j] // a platform: 1.13.0-x86_64-linux
			}
			if version == "" {
				return nil, perr(file, n, "gem %q has no version", name)
			}
			out = append(out, Package{Name: name, Version: version, Ecosystem: RubyGems, File: file, Line: n})
		}
	}
	for i := range out {
		out[i].Dependency = Transitive
		if direct[out[i].Name] {
			out[i].Dependency = Direct
		}
	}
	return out, nil
}
