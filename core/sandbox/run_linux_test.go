//go:build linux

package sandbox

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestMain(m *testing.M) {
	Init()
	if ws := os.Getenv(envRootlessRun); ws != "" {
		os.Exit(rootlessRun(ws))
	}
	os.Exit(m.Run())
}

// run runs a shell script in a sandbox with the given workspace.
func run(t *testing.T, ws, script string, mod func(*Spec)) (Result, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	spec := Spec{Argv: []string{"/bin/sh", "-c", script}, Workspace: ws, Timeout: 30 * time.Second, Stdout: &out, Stderr: &errb, Strict: true}
	if mod != nil {
		mod(&spec)
	}
	res, err := runTracked(t, spec)
	if err != nil {
		t.Fatalf("Run(%q): %v", script, err)
	}
	return res, out.String(), errb.String()
}

// runTracked is Run, then checks that this sandbox left nothing behind:
// no process in its PID namespace, no cgroup directory. (Other packages'
// tests run sandboxes at the same time, so the check is per sandbox.)
func runTracked(t *testing.T, spec Spec) (Result, error) {
	t.Helper()
	p, err := spawn(context.Background(), shapeOf(spec))
	if err != nil {
		return Result{}, err
	}
	pidNS, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/pid", p.cmd.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	dirs := slices.Clone(p.cg.dirs)
	res, err := p.run(context.Background(), spec)
	for _, d := range dirs {
		if _, serr := os.Stat(d); serr == nil {
			t.Errorf("cgroup %s left behind", d)
		}
	}
	statuses, _ := filepath.Glob("/proc/[0-9]*/ns/pid")
	for _, f := range statuses {
		if ns, _ := os.Readlink(f); ns == pidNS {
			t.Errorf("process %s left behind in the sandbox's PID namespace", f)
		}
	}
	return res, err
}

func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatal("the sandbox tests run as root (scripts/test runs them so, and CI is root)")
	}
}

func TestEverydayCommands(t *testing.T) {
	requireRoot(t)
	ws := t.TempDir()
	res, out, errs := run(t, ws, `set -e
echo hello
mkdir -p a b
echo data > a/f
mv a/f b/f
cat b/f
python3 -c 'print(6*7)'
ls / | tr '\n' ' '
echo
id -u
pwd
echo to-stderr >&2
exit 3`, nil)
	want := "hello\ndata\n42\nbin dev etc lib lib64 proc sbin tmp usr workspace \n0\n/workspace\n"
	if res.ExitCode != 3 || out != want || errs != "to-stderr\n" {
		t.Fatalf("exit %d\nstdout %q\nwant   %q\nstderr %q", res.ExitCode, out, want, errs)
	}
	if b, err := os.ReadFile(filepath.Join(ws, "b", "f")); err != nil || string(b) != "data\n" {
		t.Fatalf("workspace file on the host: %q %v", b, err)
	}
	l := res.Layers
	if !l.Seccomp || l.Landlock == 0 || len(l.Namespaces) != 7 || l.UIDMap != "0 100000 65536" || l.Limits == "" {
		t.Fatalf("layers: %+v", l)
	}
	// Everyday work is not an escape attempt.
	if res.Violation != "" || len(res.Refused) > 0 {
		t.Fatalf("violation in everyday commands: %q %v", res.Violation, res.Refused)
	}
}

// Large output arrives complete on both streams.
func TestOutputComplete(t *testing.T) {
	requireRoot(t)
	res, out, errs := run(t, t.TempDir(), `head -c 3000000 /dev/zero | tr '\0' a; head -c 2000000 /dev/zero | tr '\0' b >&2`, nil)
	if res.ExitCode != 0 || len(out) != 3000000 || len(errs) != 2000000 || strings.Trim(out, "a") != "" || strings.Trim(errs, "b") != "" {
		t.Fatalf("exit %d, stdout %d bytes, stderr %d bytes", res.ExitCode, len(out), len(errs))
	}
}

func TestSignalReported(t *testing.T) {
	requireRoot(t)
	res, _, _ := run(t, t.TempDir(), `kill -TERM $$; sleep 5`, nil)
	if res.Signal != "SIGTERM" || res.ExitCode != -1 {
		t.Fatalf("signal %q exit %d", res.Signal, res.ExitCode)
	}
}

// The environment is only what the spec gives.
func TestEnvironmentIsolated(t *testing.T) {
	requireRoot(t)
	t.Setenv("WARDEN_TEST_SECRET", "s3cr3t-value")
	_, out, _ := run(t, t.TempDir(), `env; cat /proc/1/environ 2>/dev/null`, nil)
	if strings.Contains(out, "s3cr3t") || !strings.Contains(out, "HOME=/workspace") {
		t.Fatalf("environment:\n%s", out)
	}
}

func TestStdin(t *testing.T) {
	requireRoot(t)
	_, out, _ := run(t, t.TempDir(), `tr a-z A-Z`, func(s *Spec) { s.Stdin = strings.NewReader("quiet\n") })
	if out != "QUIET\n" {
		t.Fatalf("stdout %q", out)
	}
}

func TestInvalidSpec(t *testing.T) {
	if _, err := Run(context.Background(), Spec{Argv: []string{"sh"}, Workspace: t.TempDir()}); err == nil {
		t.Fatal("a relative program path was accepted")
	}
	if _, err := Run(context.Background(), Spec{Argv: []string{"/bin/true"}}); err == nil {
		t.Fatal("no workspace was accepted")
	}
	if _, err := Run(context.Background(), Spec{Argv: []string{"/bin/true"}, Workspace: filepath.Join(t.TempDir(), "missing")}); err == nil {
		t.Fatal("a missing workspace was accepted")
	}
}

// A missing program is the command's failure (127), not the sandbox's.
func TestMissingProgram(t *testing.T) {
	requireRoot(t)
	var errb bytes.Buffer
	_, err := Run(context.Background(), Spec{Argv: []string{"/usr/bin/no-such-program"}, Workspace: t.TempDir(), Stderr: &errb})
	if err == nil || !strings.Contains(err.Error(), "no such file") {
		t.Fatalf("err %v", err)
	}
}

// attack is one escape or abuse attempt. The script prints ESCAPED when
// the attempt worked; check (optional) looks at the host afterwards.
type attack struct {
	name   string
	script string
	mod    func(*Spec)
	// contained decides from the result (nil: no ESCAPED on stdout).
	contained func(res Result, out string) bool
	// bwrap: also run under bubblewrap for the differential test
	// (attacks on resource limits are Warden's alone: bwrap has none).
	bwrap bool
}

// host is what the attacks aim at on the host.
type host struct {
	dir      string // a directory outside the workspace
	port     int    // a TCP listener on 127.0.0.1
	accepted *atomic.Int64
	marker   string // the argument of a host process
	pid      int    // its host pid
}

func newHost(t *testing.T) host {
	t.Helper()
	dir, err := os.MkdirTemp("/var/tmp", "warden-host-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.WriteFile(filepath.Join(dir, "secret"), []byte("host-secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	h := host{dir: dir, port: ln.Addr().(*net.TCPAddr).Port, accepted: new(atomic.Int64)}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			h.accepted.Add(1)
			c.Close()
		}
	}()
	h.marker = fmt.Sprintf("%d.%03d", 900+time.Now().Nanosecond()%99, time.Now().Nanosecond()%1000)
	sleep := exec.Command("sleep", h.marker)
	if err := sleep.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sleep.Process.Kill(); sleep.Wait() })
	h.pid = sleep.Process.Pid
	return h
}

func attacks(h host) []attack {
	return []attack{
		{name: "see host processes", bwrap: true,
			script: fmt.Sprintf(`[ "$(tr '\0' ' ' < /proc/%d/cmdline 2>/dev/null)" = "sleep %s " ] && echo ESCAPED; [ $(ls -d /proc/[0-9]* | wc -l) -gt 8 ] && echo ESCAPED; true`, h.pid, h.marker)},
		{name: "connect to a host 127.0.0.1 listener", bwrap: true,
			script: fmt.Sprintf(`python3 -c 'import socket; socket.create_connection(("127.0.0.1", %d), 2); print("ESCAPED")'`, h.port)},
		{name: "with network: connect to a host 127.0.0.1 listener",
			script: fmt.Sprintf(`python3 -c '
import socket
for host in ("127.0.0.1", "::ffff:127.0.0.1"):
    try:
        socket.create_connection((host, %d), 2); print("ESCAPED", host)
    except OSError:
        pass'`, h.port),
			mod: func(s *Spec) { s.Network = true }},
		{name: "write outside the workspace", bwrap: true,
			script: fmt.Sprintf(`for f in %s/pwned /usr/pwned /etc/pwned /pwned; do echo x > $f 2>/dev/null && echo ESCAPED $f; done; true`, h.dir)},
		{name: "read a host file outside the workspace", bwrap: true,
			script: fmt.Sprintf(`cat %s/secret 2>/dev/null | grep -q host-secret && echo ESCAPED; true`, h.dir)},
		{name: "read /etc/shadow", bwrap: true,
			script: `cat /etc/shadow >/dev/null 2>&1 && echo ESCAPED; cat /.oldroot/etc/shadow >/dev/null 2>&1 && echo ESCAPED; true`},
		{name: "write a root-owned sysctl", bwrap: true,
			script: `echo '|/tmp/x' > /proc/sys/kernel/core_pattern 2>/dev/null && echo ESCAPED; true`},
		{name: "exec a binary written into the workspace", bwrap: true,
			script: `cp /bin/echo ./e && chmod +x ./e && ./e ESCAPED; cp /bin/echo /tmp/e 2>/dev/null && chmod +x /tmp/e && /tmp/e ESCAPED; true`},
		{name: "create a set-user-id file in the workspace", bwrap: true,
			script: `cp /bin/sh s && chmod 4755 s 2>/dev/null; chmod g+s s 2>/dev/null
install -m 6755 /bin/sh i 2>/dev/null
python3 -c 'import os; os.close(os.open("o", os.O_CREAT | os.O_WRONLY, 0o4755))' 2>/dev/null
for f in s i o; do [ -u $f -o -g $f ] && echo ESCAPED $f; done; true`},
		{name: "memfd_create + execveat", bwrap: true,
			script: `python3 -c '
import os
fd = os.memfd_create("x", 0)
os.write(fd, open("/bin/echo", "rb").read())
os.execve(fd, ["echo", "ESCAPED"], {})'`},
		{name: "ptrace", bwrap: true,
			script: `python3 -c '
import ctypes
if ctypes.CDLL(None, use_errno=True).ptrace(0, 0, 0, 0) == 0: print("ESCAPED")'`},
		{name: "mount", bwrap: true,
			script: `python3 -c '
import ctypes
if ctypes.CDLL(None, use_errno=True).mount(b"none", b"/tmp", b"tmpfs", 0, None) == 0: print("ESCAPED")'`},
		{name: "unshare a new user namespace", bwrap: true,
			script: `python3 -c '
import ctypes
if ctypes.CDLL(None, use_errno=True).unshare(0x10000000) == 0: print("ESCAPED")'`},
		{name: "setns into PID 1's mount namespace", bwrap: true,
			script: `python3 -c '
import ctypes, os
fd = os.open("/proc/1/ns/mnt", os.O_RDONLY)
if ctypes.CDLL(None, use_errno=True).setns(fd, 0) == 0: print("ESCAPED")'`},
		{name: "kill a host process", bwrap: true,
			script: fmt.Sprintf(`kill -0 %d 2>/dev/null && echo ESCAPED; kill -9 %d 2>/dev/null && echo ESCAPED; true`, h.pid, h.pid)},
		{name: "fork bomb (held at the pids limit, cleaned up)",
			script: `bomb() { bomb | bomb & }; bomb; sleep 3; echo done`,
			mod:    func(s *Spec) { s.Limits.Pids = 64; s.Timeout = 5 * time.Second },
			contained: func(res Result, _ string) bool {
				return contains(res.LimitsHit, LimitPids)
			}},
		{name: "memory bomb",
			script: `python3 -c 'b = bytearray(1 << 30); print("ESCAPED")'`,
			mod:    func(s *Spec) { s.Limits.Memory = 64 << 20 },
			contained: func(res Result, out string) bool {
				return !strings.Contains(out, "ESCAPED") && res.ExitCode != 0
			}},
		{name: "CPU spin past the limit",
			script: `while :; do :; done`,
			mod:    func(s *Spec) { s.Limits.CPUSeconds = 1 },
			contained: func(res Result, _ string) bool {
				return res.Limit == LimitCPU
			}},
		{name: "a file past the size limit",
			script: `exec dd if=/dev/zero of=big bs=1M count=3 status=none`,
			mod:    func(s *Spec) { s.Limits.FileSize = 1 << 20 },
			contained: func(res Result, _ string) bool {
				return res.Limit == LimitFileSize
			}},
		{name: "a file past the size limit, written by a child",
			script: `head -c 3000000 /dev/zero > big; [ $(stat -c %s big) -gt 1048576 ] && echo ESCAPED; true`,
			mod:    func(s *Spec) { s.Limits.FileSize = 1 << 20 }},
		{name: "a child that outlives the timeout",
			script: `(setsid sleep 600 &); sleep 600`,
			mod:    func(s *Spec) { s.Timeout = time.Second },
			contained: func(res Result, _ string) bool {
				return res.Limit == LimitTimeout
			}},
	}
}

// TestAttacks runs each attack inside Warden's sandbox and asserts it is
// refused or contained, and that nothing is left behind.
func TestAttacks(t *testing.T) {
	requireRoot(t)
	h := newHost(t)
	before := hostState(t)
	for _, a := range attacks(h) {
		t.Run(a.name, func(t *testing.T) {
			res, out, errs := run(t, t.TempDir(), a.script, a.mod)
			ok := a.contained
			if ok == nil {
				ok = func(_ Result, out string) bool { return !strings.Contains(out, "ESCAPED") }
			}
			if !ok(res, out) {
				t.Fatalf("not contained: %+v\nstdout %s\nstderr %s", res, out, errs)
			}
			t.Logf("contained: exit %d signal %q limit %q hit %v violation %q", res.ExitCode, res.Signal, res.Limit, res.LimitsHit, res.Violation)
		})
	}
	if n := h.accepted.Load(); n != 0 {
		t.Errorf("the host listener accepted %d connections", n)
	}
	if _, err := os.Stat(filepath.Join(h.dir, "pwned")); err == nil {
		t.Error("a file appeared in the host directory")
	}
	after := hostState(t)
	if before != after {
		t.Errorf("left behind:\nbefore %s\nafter  %s", before, after)
	}
}

// Escape-class system calls kill the command with SIGSYS and say so.
func TestViolationReported(t *testing.T) {
	requireRoot(t)
	res, _, _ := run(t, t.TempDir(), `exec python3 -c 'import ctypes; ctypes.CDLL(None).ptrace(0, 0, 0, 0)'`, nil)
	if res.Signal != "SIGSYS" || res.Violation == "" {
		t.Fatalf("the command itself: %+v", res)
	}
	// A shell reports a child killed by SIGSYS as status 128+31.
	res, _, _ = run(t, t.TempDir(), `python3 -c 'import ctypes; ctypes.CDLL(None).ptrace(0, 0, 0, 0)'`, nil)
	if res.ExitCode != 159 || res.Violation == "" {
		t.Fatalf("a child of the command: %+v", res)
	}
	res, _, _ = run(t, t.TempDir(), `exit 1`, nil)
	if res.Violation != "" {
		t.Fatalf("an ordinary failure: %+v", res)
	}
}

// System calls the filter refuses with EPERM (the program goes on) are
// counted by name and reported as a violation, from the command and from
// its children, in a new sandbox and in a pooled one.
func TestRefusedSyscallsReported(t *testing.T) {
	requireRoot(t)
	script := `python3 -c '
import ctypes, os, socket
libc = ctypes.CDLL(None, use_errno=True)
# io_uring_setup: refused too, but quietly (a probe runtimes make)
print(libc.syscall(425, 1, 0) == -1 and ctypes.get_errno() == 1)
try:
    socket.socket(socket.AF_INET, socket.SOCK_STREAM)
except PermissionError:
    print(True)
try:
    os.memfd_create("x", 0)
except PermissionError:
    print(True)
' &
wait`
	want := "True\nTrue\nTrue\n"
	res, out, errs := run(t, t.TempDir(), script, nil)
	if out != want || res.ExitCode != 0 {
		t.Fatalf("exit %d stdout %q stderr %q", res.ExitCode, out, errs)
	}
	if res.Refused["socket"] != 1 || res.Refused["memfd_create"] != 1 || res.Violation != "seccomp: refused system calls (EPERM): memfd_create, socket" {
		t.Fatalf("refusals: %q %v", res.Violation, res.Refused)
	}

	ws := t.TempDir()
	p := NewPool(Spec{Workspace: ws}, 1)
	defer p.Close()
	// Run waits for the sandbox being set up: the command goes to a
	// sandbox confined before it was known.
	var stdout bytes.Buffer
	res, err := p.Run(context.Background(), Spec{Argv: []string{"/bin/sh", "-c", script}, Workspace: ws, Stdout: &stdout})
	if err != nil || stdout.String() != want {
		t.Fatalf("pooled: %v %q", err, stdout.String())
	}
	if res.Refused["socket"] != 1 || res.Refused["memfd_create"] != 1 || len(res.Refused) != 2 {
		t.Fatalf("pooled: refusals not reported: %q %v", res.Violation, res.Refused)
	}
}

// hostState summarises what any sandbox could leave behind on the host
// that is not per sandbox: mounts in the host's namespace and temp
// directories (runTracked checks processes and cgroups per sandbox).
func hostState(t *testing.T) string {
	t.Helper()
	mounts, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	tmp, _ := filepath.Glob(filepath.Join(os.TempDir(), "warden-sandbox*"))
	return fmt.Sprintf("mounts %d, temp dirs %d", strings.Count(string(mounts), "\n"), len(tmp))
}

// TestDifferentialBwrap runs every attack bubblewrap refuses under
// bubblewrap too: Warden must refuse everything bwrap refuses. Results
// go to the log as a table (docs/sandbox.md has a copy).
func TestDifferentialBwrap(t *testing.T) {
	requireRoot(t)
	bwrap, err := exec.LookPath("bwrap")
	if err != nil {
		t.Fatal("bwrap is not installed; scripts/test installs it (Debian package bubblewrap)")
	}
	h := newHost(t)
	var table strings.Builder
	table.WriteString("| attack | bubblewrap | warden |\n|---|---|---|\n")
	for _, a := range attacks(h) {
		if !a.bwrap {
			continue
		}
		ws := t.TempDir()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		cmd := exec.CommandContext(ctx, bwrap, "--unshare-all", "--cap-drop", "ALL", "--die-with-parent",
			"--ro-bind", "/", "/", "--tmpfs", "/tmp", "--dev", "/dev", "--proc", "/proc",
			"--bind", ws, ws, "--chdir", ws, "/bin/sh", "-c", "echo RAN; "+a.script)
		bout, err := cmd.Output()
		cancel()
		if !strings.HasPrefix(string(bout), "RAN\n") {
			t.Fatalf("%s: bwrap did not run the attack: %v\n%s", a.name, err, bout)
		}
		bwrapRefused := !strings.Contains(string(bout), "ESCAPED")
		_, out, _ := run(t, t.TempDir(), a.script, a.mod)
		wardenRefused := !strings.Contains(out, "ESCAPED")
		fmt.Fprintf(&table, "| %s | %s | %s |\n", a.name, verdict(bwrapRefused), verdict(wardenRefused))
		if bwrapRefused && !wardenRefused {
			t.Errorf("%s: bwrap refuses it, Warden does not:\n%s", a.name, out)
		}
		if !wardenRefused {
			t.Errorf("%s: Warden does not refuse it", a.name)
		}
	}
	t.Logf("\n%s", table.String())
}

func verdict(refused bool) string {
	if refused {
		return "refused"
	}
	return "**escaped**"
}

func TestPool(t *testing.T) {
	requireRoot(t)
	ws := t.TempDir()
	before := hostState(t)
	p := NewPool(Spec{Workspace: ws}, 2)
	// Each command gets a sandbox of its own: a fresh PID namespace.
	seen := map[string]bool{}
	for i := 0; i < 5; i++ {
		var out bytes.Buffer
		res, err := p.Run(context.Background(), Spec{Argv: []string{"/bin/sh", "-c", "readlink /proc/self/ns/pid; touch f$$"}, Workspace: ws, Stdout: &out})
		if err != nil || res.ExitCode != 0 {
			t.Fatalf("run %d: %+v %v", i, res, err)
		}
		seen[out.String()] = true
		p.Fill()
	}
	if len(seen) != 5 {
		t.Fatalf("PID namespaces reused: %v", seen)
	}
	p.Close()
	if after := hostState(t); after != before {
		t.Fatalf("left behind:\nbefore %s\nafter  %s", before, after)
	}
}

func BenchmarkRunTrue(b *testing.B) {
	ws := b.TempDir()
	for b.Loop() {
		if _, err := Run(context.Background(), Spec{Argv: []string{"/bin/true"}, Workspace: ws}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkPoolTrue(b *testing.B) {
	ws := b.TempDir()
	p := NewPool(Spec{Workspace: ws}, 4)
	defer p.Close()
	time.Sleep(100 * time.Millisecond)
	for b.Loop() {
		if _, err := p.Run(context.Background(), Spec{Argv: []string{"/bin/true"}, Workspace: ws}); err != nil {
			b.Fatal(err)
		}
		p.Fill()
	}
}

// BenchmarkRunHostTrue is a host run (the owner's main session): a PID
// namespace and an init, nothing else.
func BenchmarkRunHostTrue(b *testing.B) {
	ws := b.TempDir()
	for b.Loop() {
		if _, err := RunHost(context.Background(), Spec{Argv: []string{"/bin/true"}, Workspace: ws, Env: []string{"PATH=/usr/bin:/bin"}}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkMeasureWorkspace walks a workspace of 10,000 files, as the
// quota watcher does.
func BenchmarkMeasureWorkspace(b *testing.B) {
	ws := b.TempDir()
	for i := range 100 {
		d := filepath.Join(ws, fmt.Sprint(i))
		if err := os.Mkdir(d, 0o755); err != nil {
			b.Fatal(err)
		}
		for j := range 100 {
			if err := os.WriteFile(filepath.Join(d, fmt.Sprint(j)), []byte("x"), 0o644); err != nil {
				b.Fatal(err)
			}
		}
	}
	for b.Loop() {
		if _, err := Measure(ws, true); err != nil {
			b.Fatal(err)
		}
	}
}

// Host runs are contained: what the command leaves behind ends with it.
func TestRunHostEndsWhatTheCommandLeft(t *testing.T) {
	ws := t.TempDir()
	marker := fmt.Sprintf("hostrun-%d", time.Now().UnixNano())
	res, err := RunHost(context.Background(), Spec{Argv: []string{"/bin/sh", "-c", "sleep 300 " + marker + " </dev/null >/dev/null 2>&1 & echo $$"},
		Workspace: ws, Env: []string{"PATH=/usr/bin:/bin"}, Timeout: 10 * time.Second})
	if err != nil || res.ExitCode != 0 || len(res.Layers.Namespaces) == 0 || res.Layers.Namespaces[len(res.Layers.Namespaces)-1] != "pid" {
		t.Fatalf("%+v %v", res, err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		left := false
		files, _ := filepath.Glob("/proc/[0-9]*/cmdline")
		for _, f := range files {
			if b, err := os.ReadFile(f); err == nil && strings.Contains(string(b), marker) {
				left = true
			}
		}
		if !left {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("a process the command left behind outlived it")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
