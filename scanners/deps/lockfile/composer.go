package lockfile

import "strings"

// parseComposerLock reads composer.lock: "packages" and "packages-dev".
func parseComposerLock(file string, data []byte) ([]Package, error) {
	w := newJSONWalker(file, data)
	var out []Package
	err := w.object(func(key string, _ int) error {
		if key != "packages" && key != "packages-dev" {
			return w.skip()
		}
		return w.array(func(line int) error {
			var p struct {
				Name    string `json:"name"`
				Version string `json:"version"`
			}
			if err := w.decode(&p); err != nil {
				return err
			}
			if p.Name == "" || p.Version == "" {
				return perr(file, line, "package entry without name or version")
			}
			if strings.HasPrefix(p.Version, "dev-") {
				return nil // a branch, not a release
			}
			out = append(out, Package{Name: p.Name, Version: strings.TrimPrefix(p.Version, "v"), Ecosystem: Packagist,
				Dev: key == "packages-dev", File: file, Line: line})
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	return out, w.end()
}

// parsePipfileLock reads Pipfile.lock: "default" and "develop" map names to
// {"version": "==1.2.3"}; entries without a pinned version (VCS, editable)
// are left out.
func parsePipfileLock(file string, data []byte) ([]Package, error) {
	w := newJSONWalker(file, data)
	var out []Package
	err := w.object(func(key string, _ int) error {
		if key != "default" && key != "develop" {
			return w.skip()
		}
		return w.object(func(name string, line int) error {
			var p struct {
				Version string `json:"version"`
			}
			if err := w.decode(&p); err != nil {
				return err
			}
			if p.Version == "" {
				return nil
			}
			v, ok := strings.CutPrefix(p.Version, "==")
			if !ok {
				return perr(file, line, "%s: version %q is not pinned with ==", name, p.Version)
			}
			out = append(out, Package{Name: normalizePyPI(name), Version: strings.TrimPrefix(v, "="), Ecosystem: PyPI,
				Dev: key == "develop", File: file, Line: line})
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	return out, w.end()
}
