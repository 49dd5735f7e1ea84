package lockfile

import (
	"debug/buildinfo"
	"strings"

	"github.com/google/osv-scalibr/semantic"
)

// goStdlib is the name OSV's Go records give the standard library and toolchain.
const goStdlib = "stdlib"

type goReplace struct{ path, version string }

// parseGoMod reads go.mod: every require line (indirect ones are
// transitive), with replace directives applied, and the standard library at
// the toolchain (or go) version.
func parseGoMod(file string, data []byte) ([]Package, error) {
	type req struct {
		path, version string
		indirect      bool
		line          int
	}
	var reqs []req
	replaces := map[string]goReplace{} // "path" or "path@version"
	goVersion, goLine, toolchain, toolchainLine := "", 0, "", 0
	handle := func(verb, line, comment string, n int) error {
		switch verb {
		case "require":
			f := strings.Fields(line)
			if len(f) != 2 || !strings.HasPrefix(f[1], "v") {
				return perr(file, n, "malformed require: %q", line)
			}
			reqs = append(reqs, req{path: unquote(f[0]), version: f[1], indirect: strings.HasPrefix(comment, "indirect"), line: n})
		case "replace":
			from, to, ok := strings.Cut(line, "=>")
			ff, tf := strings.Fields(from), strings.Fields(to)
			if !ok || len(ff) < 1 || len(ff) > 2 || len(tf) < 1 || len(tf) > 2 {
				return perr(file, n, "malformed replace: %q", line)
			}
			key := unquote(ff[0])
			if len(ff) == 2 {
				key += "@" + ff[1]
			}
			r := goReplace{path: unquote(tf[0])}
			if len(tf) == 2 {
				r.version = tf[1]
			}
			replaces[key] = r
		}
		return nil
	}
	block, blockLine := "", 0
	for i, raw := range strings.Split(string(data), "\n") {
		n := i + 1
		line := strings.TrimSpace(raw)
		comment := ""
		if j := strings.Index(line, "//"); j >= 0 {
			line, comment = strings.TrimSpace(line[:j]), strings.TrimSpace(line[j+2:])
		}
		if line == "" {
			continue
		}
		if block != "" {
			if line == ")" {
				block = ""
			} else if err := handle(block, line, comment, n); err != nil {
				return nil, err
			}
			continue
		}
		verb, rest, _ := strings.Cut(line, " ")
		rest = strings.TrimSpace(rest)
		switch verb {
		case "go":
			goVersion, goLine = rest, n
		case "toolchain":
			toolchain, toolchainLine = strings.TrimPrefix(rest, "go"), n
		case "require", "replace", "exclude", "retract", "tool", "ignore", "godebug":
			if rest == "(" {
				block, blockLine = verb, n
			} else if err := handle(verb, rest, comment, n); err != nil {
				return nil, err
			}
		case "module":
		default:
			return nil, perr(file, n, "unknown directive %q", verb)
		}
	}
	if block != "" {
		return nil, perr(file, blockLine, "unterminated %s block", block)
	}
	var out []Package
	for _, r := range reqs {
		path, version := r.path, r.version
		rep, ok := replaces[path+"@"+version]
		if !ok {
			rep, ok = replaces[path]
		}
		if ok {
			if rep.version == "" {
				continue // replaced by a local directory
			}
			path, version = rep.path, rep.version
		}
		kind := Direct
		if r.indirect {
			kind = Transitive
		}
		out = append(out, Package{Name: path, Version: strings.TrimPrefix(version, "v"), Ecosystem: Go, Dependency: kind, File: file, Line: r.line})
	}
	switch {
	case toolchain != "":
		out = append(out, Package{Name: goStdlib, Version: toolchain, Ecosystem: Go, Dependency: Direct, File: file, Line: toolchainLine})
	case goVersion != "":
		out = append(out, Package{Name: goStdlib, Version: goVersion, Ecosystem: Go, Dependency: Direct, File: file, Line: goLine})
	}
	return out, nil
}

func unquote(s string) string { return strings.Trim(s, "\"`") }

// parseGoSum reads a go.sum without its go.mod: for each module the
// highest version whose code (not only its go.mod) was downloaded.
func parseGoSum(file string, data []byte) ([]Package, error) {
	best := map[string]Package{}
	var order []string
	for i, raw := range strings.Split(string(data), "\n") {
		line := strings.TrimSpace(raw)
		if line == "" {
			continue
		}
		f := strings.Fields(line)
		if len(f) != 3 || !strings.HasPrefix(f[1], "v") || !strings.HasPrefix(f[2], "h1:") {
			return nil, perr(file, i+1, "malformed go.sum line: %q", line)
		}
		if strings.HasSuffix(f[1], "/go.mod") {
			continue
		}
		v := strings.TrimPrefix(f[1], "v")
		cur, ok := best[f[0]]
		if !ok {
			order = append(order, f[0])
		} else if c, err := semantic.ParseSemverVersion(cur.Version).CompareStr(v); err != nil || c >= 0 {
			continue
		}
		best[f[0]] = Package{Name: f[0], Version: v, Ecosystem: Go, File: file, Line: i + 1}
	}
	out := make([]Package, 0, len(order))
	for _, m := range order {
		out = append(out, best[m])
	}
	return out, nil
}

// ParseGoBinary reads the modules and Go version embedded in a Go binary's
// build info. The main module itself is left out.
func ParseGoBinary(file string) ([]Package, error) {
	bi, err := buildinfo.ReadFile(file)
	if err != nil {
		return nil, &ParseError{File: file, Msg: "no Go build info", Err: err}
	}
	var out []Package
	for _, d := range bi.Deps {
		m := d
		if d.Replace != nil {
			if d.Replace.Version == "" {
				continue // a local directory
			}
			m = d.Replace
		}
		out = append(out, Package{Name: m.Path, Version: strings.TrimPrefix(m.Version, "v"), Ecosystem: Go, File: file})
	}
	if v, ok := strings.CutPrefix(bi.GoVersion, "go"); ok {
		// "go1.26.8" or "go1.26.8 X:boringcrypto"
		v, _, _ = strings.Cut(v, " ")
		out = append(out, Package{Name: goStdlib, Version: v, Ecosystem: Go, Dependency: Direct, File: file})
	}
	return out, nil
}
