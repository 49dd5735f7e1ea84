package lockfile

import (
	"strings"
)

type npmEntry struct {
	Name                 string            `json:"name"`
	Version              string            `json:"version"`
	Link                 bool              `json:"link"`
	Dev                  bool              `json:"dev"`
	DevOptional          bool              `json:"devOptional"`
	Dependencies         map[string]string `json:"dependencies"`
	DevDependencies      map[string]string `json:"devDependencies"`
	OptionalDependencies map[string]string `json:"optionalDependencies"`
	PeerDependencies     map[string]string `json:"peerDependencies"`
}

type npmPositioned struct {
	path string
	line int
	npmEntry
}

// parseNPMLock reads package-lock.json and npm-shrinkwrap.json, versions 1
// (nested "dependencies"), 2 and 3 ("packages" keyed by install path).
func parseNPMLock(file string, data []byte) ([]Package, error) {
	w := newJSONWalker(file, data)
	var packages []npmPositioned
	var v1 []Package
	sawPackages := false
	err := w.object(func(key string, line int) error {
		switch key {
		case "packages":
			sawPackages = true
			return w.object(func(path string, line int) error {
				var e npmEntry
				if err := w.decode(&e); err != nil {
					return err
				}
				packages = append(packages, npmPositioned{path: path, line: line, npmEntry: e})
				return nil
			})
		case "dependencies":
			return w.npmV1(&v1, 0)
		}
		return w.skip()
	})
	if err != nil {
		return nil, err
	}
	if err := w.end(); err != nil {
		return nil, err
	}
	if !sawPackages {
		return v1, nil
	}
	direct := map[string]bool{}
	for _, p := range packages {
		if p.path == "" {
			for _, m := range []map[string]string{p.Dependencies, p.DevDependencies, p.OptionalDependencies, p.PeerDependencies} {
				for name := range m {
					direct[name] = true
				}
			}
		}
	}
	out := make([]Package, 0, len(packages))
	for _, p := range packages {
		i := strings.LastIndex(p.path, "node_modules/")
		if i < 0 || p.Link {
			continue // the root, a workspace, or a link to one
		}
		name := p.path[i+len("node_modules/"):]
		if p.Name != "" {
			// An alias installs "real@1" under node_modules/alias; name says which.
			name = p.Name
		}
		if p.Version == "" {
			return nil, perr(file, p.line, "package %q has no version", p.path)
		}
		if !npmRegistryVersion(p.Version) {
			continue
		}
		kind := Transitive
		if i == 0 && direct[p.path[len("node_modules/"):]] {
			kind = Direct
		}
		out = append(out, Package{Name: name, Version: p.Version, Ecosystem: NPM, Dependency: kind,
			Dev: p.Dev || p.DevOptional, File: file, Line: p.line})
	}
	return out, nil
}

// npmV1 walks lockfileVersion 1's nested "dependencies" objects.
func (w *jsonWalker) npmV1(out *[]Package, depth int) error {
	return w.object(func(name string, line int) error {
		var version string
		var dev bool
		err := w.object(func(key string, _ int) error {
			switch key {
			case "version":
				return w.decode(&version)
			case "dev":
				return w.decode(&dev)
			case "dependencies":
				return w.npmV1(out, depth+1)
			}
			return w.skip()
		})
		if err != nil {
			return err
		}
		if version == "" {
			return perr(w.file, line, "package %q has no version", name)
		}
		if strings.HasPrefix(version, "npm:") {
			// An alias: "npm:real@1.2.3".
			rest := version[len("npm:"):]
			if at := strings.LastIndex(rest, "@"); at > 0 {
				name, version = rest[:at], rest[at+1:]
			}
		}
		if npmRegistryVersion(version) {
			*out = append(*out, Package{Name: name, Version: version, Ecosystem: NPM, Dev: dev, File: w.file, Line: line})
		}
		return nil
	})
}

// npmRegistryVersion leaves out git, file, link and tarball URL versions,
// which OSV's npm records cannot describe.
func npmRegistryVersion(v string) bool {
	return v != "" && !strings.ContainsAny(v, ":/")
}
