package policy

import (
	"path"
	"strings"
)

// escapeTools maps program base names to their escape signal identifier.
var escapeTools = map[string]string{
	"nsenter":     "namespace-tool",
	"unshare":     "namespace-tool",
	"mount":       "mount-tool",
	"umount":      "mount-tool",
	"pivot_root":  "mount-tool",
	"switch_root": "mount-tool",
	"chroot":      "chroot",
	"capsh":       "capability-tool",
	"setcap":      "capability-tool",
	"setpriv":     "capability-tool",
	"insmod":      "kernel-module",
	"modprobe":    "kernel-module",
	"rmmod":       "kernel-module",
	"kexec":       "kexec",
	"debugfs":     "debugfs",
	"docker":      "container-cli",
	"podman":      "container-cli",
	"nerdctl":     "container-cli",
	"ctr":         "container-cli",
	"crictl":      "container-cli",
	"runc":        "container-cli",
}

// tracers attach to other processes with ptrace when given -p or --pid.
var tracers = set([]string{"gdb", "strace", "ltrace"})

var sockets = set([]string{"docker.sock", "containerd.sock", "podman.sock", "crio.sock", "dockershim.sock", "containerd-shim.sock"})

// Escapes returns the escape patterns present in an argv (two or more
// arguments) or in one shell command string. Each match is reported once, in
// the order found, as a stable identifier, a colon and what matched, for
// example "proc-root: /proc/1/root" or "namespace-tool: nsenter".
//
// Identifiers: proc-root (/proc/PID/root or cwd, also self, thread-self and
// task/TID), proc-ns, proc-mem, proc-sys-kernel, core-pattern, sysrq,
// cgroupfs (/sys/fs/cgroup), release-agent (release_agent,
// notify_on_release), container-socket (docker.sock, containerd.sock,
// /var/run/docker, /run/containerd, ...), dev-mem (/dev/mem, /dev/kmem,
// /dev/port), namespace-tool (nsenter, unshare), mount-tool (mount, umount,
// pivot_root, switch_root), chroot, capability-tool (capsh, setcap, setpriv),
// kernel-module (insmod, modprobe, rmmod), kexec, debugfs, container-cli
// (docker, podman, ctr, nerdctl, crictl, runc) and ptrace (gdb/strace/ltrace
// -p, or "ptrace" in the text).
//
// Paths are matched after removing shell quoting and cleaning "//", "./" and
// ".." (so /proc/self/../1/root is /proc/1/root), and compare case-sensitively;
// tools are matched on the base name of a command, also through wrappers such
// as env, xargs, find -exec and sh -c, and inside command substitutions.
// Relative paths that only make sense after a cd (cd /proc; cat 1/root/x) are
// not recognised.
func Escapes(argvOrShell ...string) []string {
	e := &escapes{seen: map[string]bool{}}
	if len(argvOrShell) == 1 {
		e.shell(argvOrShell[0], 0)
	} else if len(argvOrShell) > 1 {
		e.argv(argvOrShell, 0)
	}
	return e.found
}

type escapes struct {
	found []string
	seen  map[string]bool
}

func (e *escapes) add(id, what string) {
	s := id + ": " + what
	if !e.seen[s] {
		e.seen[s] = true
		e.found = append(e.found, s)
	}
}

func (e *escapes) shell(s string, depth int) {
	if depth > maxDepth {
		return
	}
	e.text(s)
	ps := parseShell(s)
	for _, w := range ps.words {
		e.text(w.val)
	}
	for _, c := range ps.cmds {
		if len(c.words) > 0 {
			e.command(c.argv(), depth)
		}
	}
	for _, sub := range ps.subs {
		e.shell(sub, depth+1)
	}
}

func (e *escapes) argv(argv []string, depth int) {
	if depth > maxDepth {
		return
	}
	for _, a := range argv {
		e.text(a)
		// Arguments often carry code or paths in shell-like quoting.
		for _, w := range parseShell(a).words {
			e.text(w.val)
		}
	}
	e.command(argv, depth)
}

// command looks at the program an argv runs and the commands it wraps.
func (e *escapes) command(argv []string, depth int) {
	if len(argv) == 0 || depth > maxDepth {
		return
	}
	base := path.Base(path.Clean(argv[0]))
	for _, c := range candidates(base) {
		if id, ok := escapeTools[c]; ok {
			e.add(id, c)
			break
		}
		if tracers[c] {
			for _, a := range argv[1:] {
				if a == "-p" || strings.HasPrefix(a, "--pid") || (strings.HasPrefix(a, "-p") && isDigits(a[2:])) {
					e.add("ptrace", c+" -p")
					break
				}
			}
		}
	}
	for _, in := range wrapped(programName(base), argv) {
		switch {
		case in.refuse != "":
		case in.shell:
			e.shell(in.cmd, depth+1)
		default:
			e.command(argv[in.start:in.end], depth+1)
		}
	}
}

// isPathByte reports whether c can be part of a path or name we look for.
func isPathByte(c byte) bool {
	return c == '/' || c == '.' || c == '_' || c == '-' || c == '*' || c == '?' || c == '[' || c == ']' || c == '+' || c == '@' || c == '%' || c == '~' ||
		(c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
}

// text looks for escape paths and names anywhere in s.
func (e *escapes) text(s string) {
	for i := 0; i < len(s); {
		if !isPathByte(s[i]) {
			i++
			continue
		}
		j := i
		for j < len(s) && isPathByte(s[j]) {
			j++
		}
		e.run(s[i:j])
		i = j
	}
}

// run checks one run of path characters.
func (e *escapes) run(r string) {
	if strings.Contains(r, "release_agent") {
		e.add("release-agent", "release_agent")
	}
	if strings.Contains(r, "notify_on_release") {
		e.add("release-agent", "notify_on_release")
	}
	if strings.Contains(r, "core_pattern") {
		e.add("core-pattern", "core_pattern")
	}
	if strings.Contains(strings.ToLower(r), "ptrace") {
		e.add("ptrace", r)
	}
	if !strings.Contains(r, "/") {
		if sockets[r] {
			e.add("container-socket", r)
		}
		return
	}
	c := path.Clean(r)
	segs := strings.Split(strings.TrimPrefix(c, "/"), "/")
	show := func(n int, i int) string { return "/" + strings.Join(segs[i:i+n], "/") }
	if base := segs[len(segs)-1]; sockets[base] {
		e.add("container-socket", c)
	}
	if id, ok := escapeTools[segs[len(segs)-1]]; ok && len(segs) > 1 && (segs[len(segs)-2] == "bin" || segs[len(segs)-2] == "sbin") {
		e.add(id, segs[len(segs)-1])
	}
	for i, s := range segs {
		at := func(k int) string {
			if i+k < len(segs) {
				return segs[i+k]
			}
			return ""
		}
		switch s {
		case "proc":
			switch at(1) {
			case "sys":
				if at(2) == "kernel" {
					e.add("proc-sys-kernel", show(3, i))
				}
				continue
			case "sysrq-trigger":
				e.add("sysrq", show(2, i))
				continue
			case "":
				continue
			}
			k := 2
			if at(2) == "task" && at(3) != "" {
				k = 4
			}
			switch at(k) {
			case "root", "cwd":
				e.add("proc-root", show(k+1, i))
			case "ns":
				e.add("proc-ns", show(k+1, i)+"/")
			case "mem":
				e.add("proc-mem", show(k+1, i))
			}
		case "sys":
			if at(1) == "fs" && at(2) == "cgroup" {
				e.add("cgroupfs", show(3, i))
			}
		case "dev":
			switch at(1) {
			case "mem", "kmem", "port":
				if i+2 == len(segs) {
					e.add("dev-mem", show(2, i))
				}
			}
		case "run":
			n := at(1)
			if strings.HasPrefix(n, "docker") || n == "containerd" || n == "podman" || n == "crio" {
				e.add("container-socket", c)
			}
		}
	}
}
