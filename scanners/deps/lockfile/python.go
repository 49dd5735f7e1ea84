package lockfile

import (
	"os"
	"path/filepath"
	"strings"

	"github.com/warden-sec/warden/internal/lazyre"
)

var pypiSeparators = lazyre.New(`[-_.]+`)

// normalizePyPI is the PEP 503 normal form of a distribution name, the
// form OSV's PyPI records use.
func normalizePyPI(name string) string {
	return strings.ToLower(pypiSeparators.ReplaceAllString(name, "-"))
}

var (
	reqName    = lazyre.New(`^([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)\s*(\[[^\]]*\])?\s*(.*)$`)
	reqVersion = lazyre.New(`^[A-Za-z0-9][A-Za-z0-9.+!_-]*$`)
)

// parseRequirements reads a pip requirements file. Only pinned
// requirements (name==version or name===version) name one version; others
// are left out. -r and --requirement includes are followed.
func parseRequirements(file string, seen map[string]bool) ([]Package, error) {
	abs, _ := filepath.Abs(file)
	if seen[abs] {
		return nil, nil
	}
	seen[abs] = true
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	var out []Package
	lines := strings.Split(string(data), "\n")
	for i := 0; i < len(lines); i++ {
		n := i + 1
		line := strings.TrimSuffix(lines[i], "\r")
		for strings.HasSuffix(line, `\`) && i+1 < len(lines) {
			i++
			line = strings.TrimSuffix(line, `\`) + " " + strings.TrimSuffix(lines[i], "\r")
		}
		if j := strings.Index(line, " #"); j >= 0 {
			line = line[:j]
		}
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if strings.HasPrefix(line, "-") {
			opt, arg, _ := strings.Cut(line, " ")
			if o, a, ok := strings.Cut(opt, "="); ok {
				opt, arg = o, a
			}
			if opt == "-r" || opt == "--requirement" {
				inc := strings.TrimSpace(arg)
				if !filepath.IsAbs(inc) {
					inc = filepath.Join(filepath.Dir(file), inc)
				}
				more, err := parseRequirements(inc, seen)
				if err != nil {
					return nil, &ParseError{File: file, Line: n, Msg: "include", Err: err}
				}
				out = append(out, more...)
			}
			continue // other options (-e, -c, --index-url, --hash …)
		}
		if strings.Contains(line, "://") && !strings.Contains(line, "@") || strings.HasPrefix(line, ".") || strings.HasPrefix(line, "/") {
			continue // a URL or a path
		}
		// Drop environment markers and per-requirement options.
		if j := strings.Index(line, ";"); j >= 0 {
			line = line[:j]
		}
		if j := strings.Index(line, " --"); j >= 0 {
			line = line[:j]
		}
		m := reqName.FindStringSubmatch(strings.TrimSpace(line))
		if m == nil {
			return nil, perr(file, n, "not a requirement: %q", line)
		}
		spec := strings.TrimSpace(m[3])
		if strings.HasPrefix(spec, "@") {
			continue // name @ URL
		}
		var version string
		if v, ok := strings.CutPrefix(spec, "==="); ok {
			version = strings.TrimSpace(v)
		} else if v, ok := strings.CutPrefix(spec, "=="); ok {
			version = strings.TrimSpace(v)
		} else {
			if spec != "" && !strings.ContainsAny(spec[:1], "<>=!~(") {
				return nil, perr(file, n, "not a requirement: %q", line)
			}
			continue // not pinned: no single version to check
		}
		if strings.ContainsAny(version, "*,") {
			continue // a wildcard or several clauses: not one version
		}
		if !reqVersion.MatchString(version) {
			return nil, perr(file, n, "%s: %q is not a version", m[1], version)
		}
		out = append(out, Package{Name: normalizePyPI(m[1]), Version: version, Ecosystem: PyPI, File: file, Line: n})
	}
	return out, nil
}
