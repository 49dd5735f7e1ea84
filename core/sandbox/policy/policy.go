package policy

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// DefaultPath is the PATH used to resolve program names when Policy.Path is empty.
const DefaultPath = "/usr/local/bin:/usr/bin:/bin"

// maxDepth bounds how deep wrappers (env, xargs, sh -c, ...) are looked through.
const maxDepth = 8

// maxLinks bounds the symbolic links followed while resolving one path.
const maxLinks = 40

// Policy is the command policy for one sandbox. The zero value allows
// DefaultAllowed(), refuses network tools and resolves names through DefaultPath.
type Policy struct {
	// Allowed lists programs by name ("python3") or absolute path; nil means DefaultAllowed().
	Allowed []string
	// Network: when false, network tools (NetworkTools()) are refused even if allowed.
	Network bool
	// Path is the PATH used to resolve names (default "/usr/local/bin:/usr/bin:/bin").
	Path string
	// Root, if set, resolves paths under this directory instead of / (tests).
	Root string
}

// Decision is the outcome of a check.
type Decision struct {
	Allowed bool
	// Reason says why the command was refused, in one sentence a user understands.
	Reason string
	// Argv is the argv to execute when Allowed: argv[0] (and the program of
	// every wrapped command such as "env X" or "find -exec X") replaced by its
	// absolute path with symbolic links resolved. For CheckShell it is the
	// resolved /bin/sh, "-c" and the command.
	Argv []string
	// Escapes lists the escape signals found (see Escapes), also when Allowed is false.
	Escapes []string
}

// CheckArgv decides on an argv vector (no shell involved).
func (p Policy) CheckArgv(argv []string) Decision {
	d := Decision{Escapes: Escapes(argv...)}
	out, reason := p.checkArgv(argv, 0)
	if reason != "" {
		d.Reason = reason
		return d
	}
	d.Allowed = true
	d.Argv = out
	return d
}

// CheckShell decides on a command given as one string, to be run by /bin/sh -c.
func (p Policy) CheckShell(cmd string) Decision {
	d := Decision{Escapes: Escapes(cmd)}
	if reason := p.checkShell(cmd, 0); reason != "" {
		d.Reason = reason
		return d
	}
	sh, reason := p.checkArgv([]string{"/bin/sh"}, 0)
	if reason != "" {
		d.Reason = "the shell cannot be used: " + reason
		return d
	}
	d.Allowed = true
	d.Argv = []string{sh[0], "-c", cmd}
	return d
}

type allowList struct {
	names map[string]bool
	paths map[string]bool
}

func (p Policy) allowList() allowList {
	list := p.Allowed
	if list == nil {
		list = defaultAllowed
	}
	a := allowList{names: map[string]bool{}, paths: map[string]bool{}}
	for _, e := range list {
		if strings.Contains(e, "/") {
			a.paths[path.Clean(e)] = true
		} else if e != "" {
			a.names[e] = true
		}
	}
	return a
}

func (a allowList) name(base string) bool {
	for _, c := range candidates(base) {
		if a.names[c] {
			return true
		}
	}
	return false
}

// candidates returns the names a program base name may stand for: itself,
// the part before the first dot (python3.13, which.debianutils, nc.openbsd)
// and the name without a "-N" version suffix (gcc-14, clang-18).
func candidates(base string) []string {
	c := []string{base}
	if i := strings.IndexByte(base, '.'); i > 0 {
		c = append(c, base[:i])
	}
	if i := strings.LastIndexByte(base, '-'); i > 0 && isVersion(base[i+1:]) {
		c = append(c, base[:i])
	}
	return c
}

func isVersion(s string) bool {
	if s == "" || s[0] < '0' || s[0] > '9' {
		return false
	}
	for _, r := range s {
		if (r < '0' || r > '9') && r != '.' {
			return false
		}
	}
	return true
}

// canonical returns the first candidate of base found in m, or "".
func canonical(base string, m map[string]bool) string {
	for _, c := range candidates(base) {
		if m[c] {
			return c
		}
	}
	return ""
}

// networkName returns the network tool base stands for, or "".
func networkName(base string, args []string) string {
	if n := canonical(base, networkSet); n != "" {
		return n
	}
	if canonical(base, map[string]bool{"openssl": true}) != "" && len(args) > 0 && opensslNetwork[args[0]] {
		return "openssl " + args[0]
	}
	return ""
}

func (p Policy) refuseName(shown, base string, args []string) string {
	if n := canonical(base, privileged); n != "" {
		return fmt.Sprintf("%q changes user or privileges and is never allowed in the sandbox", shown)
	}
	if n := networkName(base, args); n != "" && !p.Network {
		return fmt.Sprintf("%q is a network tool and this sandbox has no network (set sandbox.network: true)", n)
	}
	return ""
}

// checkArgv checks argv and returns it with programs resolved, or a reason.
func (p Policy) checkArgv(argv []string, depth int) ([]string, string) {
	if depth > maxDepth {
		return nil, fmt.Sprintf("the command wraps other commands more than %d levels deep", maxDepth)
	}
	if len(argv) == 0 || argv[0] == "" {
		return nil, "the command is empty"
	}
	name := argv[0]
	args := argv[1:]
	if strings.Contains(name, "/") && !strings.HasPrefix(name, "/") {
		return nil, fmt.Sprintf("%q is a relative path; give a program name or an absolute path", name)
	}
	base := path.Base(name)
	a := p.allowList()
	if r := p.refuseName(base, base, args); r != "" {
		return nil, r
	}
	reqOK := a.name(base) || (strings.HasPrefix(name, "/") && a.paths[path.Clean(name)])
	if !reqOK && len(a.paths) == 0 {
		return nil, fmt.Sprintf("%q is not in the allowed programs (sandbox.allowed_binaries)", base)
	}
	found, real, err := p.resolve(name)
	if err != nil {
		return nil, err.Error()
	}
	if !reqOK && !a.paths[found] && !a.paths[real] {
		return nil, fmt.Sprintf("%q is not in the allowed programs (sandbox.allowed_binaries)", base)
	}
	realBase := path.Base(real)
	if r := p.refuseName(realBase, realBase, args); r != "" {
		return nil, fmt.Sprintf("%q resolves to %s: %s", base, real, r)
	}
	if !a.name(realBase) && !a.paths[real] && !a.paths[found] {
		return nil, fmt.Sprintf("%q resolves to %s, and %q is not in the allowed programs (sandbox.allowed_binaries)", base, real, realBase)
	}

	out := append([]string(nil), argv...)
	out[0] = real
	// Wrappers are recognised by both the requested and the resolved name.
	prog := programName(base)
	if prog == "" {
		prog = programName(realBase)
	}
	for _, in := range wrapped(prog, argv) {
		switch {
		case in.refuse != "":
			return nil, in.refuse
		case in.shell:
			if r := p.checkShell(in.cmd, depth+1); r != "" {
				return nil, fmt.Sprintf("%s: %s", in.via, r)
			}
		default:
			sub, r := p.checkArgv(argv[in.start:in.end], depth+1)
			if r != "" {
				return nil, r
			}
			copy(out[in.start:in.end], sub)
		}
	}
	return out, ""
}

// host maps a path inside the sandbox to the host.
func (p Policy) host(name string) string {
	if p.Root == "" {
		return name
	}
	return filepath.Join(p.Root, filepath.FromSlash(name))
}

// resolve finds name (a program name or absolute path) and returns the path
// found and that path with every symbolic link resolved, both as seen inside
// the sandbox.
func (p Policy) resolve(name string) (found, real string, err error) {
	if strings.HasPrefix(name, "/") {
		real, err := p.executable(name)
		if err != nil {
			return "", "", fmt.Errorf("%s cannot be run: %w", name, err)
		}
		return path.Clean(name), real, nil
	}
	pathList := p.Path
	if pathList == "" {
		pathList = DefaultPath
	}
	for _, dir := range filepath.SplitList(pathList) {
		if !strings.HasPrefix(dir, "/") {
			continue // relative PATH entries are never searched
		}
		cand := path.Join(dir, name)
		if real, err := p.executable(cand); err == nil {
			return cand, real, nil
		}
	}
	return "", "", fmt.Errorf("%q was not found in PATH (%s)", name, pathList)
}

var errNotExecutable = errors.New("not an executable file")

// executable resolves name and checks that it is an executable regular file.
func (p Policy) executable(name string) (string, error) {
	real, err := p.realpath(name)
	if err != nil {
		return "", err
	}
	fi, err := os.Stat(p.host(real))
	if err != nil {
		return "", err
	}
	if !fi.Mode().IsRegular() || fi.Mode().Perm()&0o111 == 0 {
		return "", errNotExecutable
	}
	return real, nil
}

// realpath resolves every symbolic link in the absolute path name, keeping
// the walk inside Root: an absolute link target restarts at Root.
func (p Policy) realpath(name string) (string, error) {
	done := "/"
	rest := strings.Split(name, "/")
	links := 0
	for len(rest) > 0 {
		c := rest[0]
		rest = rest[1:]
		switch c {
		case "", ".":
			continue
		case "..":
			done = path.Dir(done)
			continue
		}
		next := path.Join(done, c)
		fi, err := os.Lstat(p.host(next))
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return "", fs.ErrNotExist
			}
			return "", err
		}
		if fi.Mode()&fs.ModeSymlink == 0 {
			done = next
			continue
		}
		links++
		if links > maxLinks {
			return "", errors.New("too many levels of symbolic links")
		}
		target, err := os.Readlink(p.host(next))
		if err != nil {
			return "", err
		}
		if strings.HasPrefix(target, "/") {
			done = "/"
		}
		rest = append(strings.Split(target, "/"), rest...)
	}
	return done, nil
}
