//go:build linux

package landlock

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// The tests re-execute the test binary: with childEnv set, TestMain runs one
// child case instead of the tests. A child locks its OS thread, calls
// Restrict, tries operations and prints one line per operation on stdout:
// "<op> ok" or "<op> <ERRNO>". Directories come from the env vars below.
const (
	childEnv  = "WARDEN_LANDLOCK_CHILD"
	envRO     = "WARDEN_LANDLOCK_RO"      // granted ReadOnly; holds "data", "other" and "true"
	envRW     = "WARDEN_LANDLOCK_RW"      // granted ReadWrite (or ReadWriteExec); holds "true" (a copy of /bin/true)
	envRW2    = "WARDEN_LANDLOCK_RW2"     // granted ReadWrite
	envOut    = "WARDEN_LANDLOCK_OUT"     // outside every rule; holds "secret"
	envTCP    = "WARDEN_LANDLOCK_TCP"     // a TCP listener of the parent
	envUnix   = "WARDEN_LANDLOCK_UNIX"    // an abstract unix socket of the parent
	envNoSuch = "WARDEN_LANDLOCK_MISSING" // a path that does not exist
)

func TestMain(m *testing.M) {
	if name := os.Getenv(childEnv); name != "" {
		os.Exit(runChildCase(name))
	}
	os.Exit(m.Run())
}

// requireLandlock fails (never skips) when the kernel has no Landlock: the
// test machines are expected to have it, and a silent skip would hide a
// sandbox that enforces nothing.
func requireLandlock(t *testing.T, minABI int, feature string) {
	t.Helper()
	abi := ABI()
	if abi == 0 {
		t.Fatal("landlock is unavailable on this kernel (ABI 0): these tests need Linux >= 5.13 with landlock in the lsm= list; the reference hosts have ABI 7")
	}
	if abi < minABI {
		t.Skipf("kernel landlock ABI %d < %d: %s is not available, so it cannot be tested here", abi, minABI, feature)
	}
}

func TestABI(t *testing.T) {
	requireLandlock(t, 1, "")
	t.Logf("landlock ABI %d", ABI())
}

func TestAccessMatchesKernel(t *testing.T) {
	pairs := []struct {
		a Access
		k uint64
	}{
		{Execute, unix.LANDLOCK_ACCESS_FS_EXECUTE},
		{WriteFile, unix.LANDLOCK_ACCESS_FS_WRITE_FILE},
		{ReadFile, unix.LANDLOCK_ACCESS_FS_READ_FILE},
		{ReadDir, unix.LANDLOCK_ACCESS_FS_READ_DIR},
		{RemoveDir, unix.LANDLOCK_ACCESS_FS_REMOVE_DIR},
		{RemoveFile, unix.LANDLOCK_ACCESS_FS_REMOVE_FILE},
		{MakeChar, unix.LANDLOCK_ACCESS_FS_MAKE_CHAR},
		{MakeDir, unix.LANDLOCK_ACCESS_FS_MAKE_DIR},
		{MakeReg, unix.LANDLOCK_ACCESS_FS_MAKE_REG},
		{MakeSock, unix.LANDLOCK_ACCESS_FS_MAKE_SOCK},
		{MakeFifo, unix.LANDLOCK_ACCESS_FS_MAKE_FIFO},
		{MakeBlock, unix.LANDLOCK_ACCESS_FS_MAKE_BLOCK},
		{MakeSym, unix.LANDLOCK_ACCESS_FS_MAKE_SYM},
		{Refer, unix.LANDLOCK_ACCESS_FS_REFER},
		{Truncate, unix.LANDLOCK_ACCESS_FS_TRUNCATE},
		{IoctlDev, unix.LANDLOCK_ACCESS_FS_IOCTL_DEV},
	}
	for _, p := range pairs {
		if uint64(p.a) != p.k {
			t.Errorf("%s = %#x, kernel value %#x", p.a, uint64(p.a), p.k)
		}
	}
}

// fixture is the set of directories a child sees.
type fixture struct {
	ro, rw, rw2, out string
}

func newFixture(t *testing.T) fixture {
	t.Helper()
	base := t.TempDir()
	f := fixture{
		ro:  filepath.Join(base, "ro"),
		rw:  filepath.Join(base, "rw"),
		rw2: filepath.Join(base, "rw2"),
		out: filepath.Join(base, "out"),
	}
	for _, d := range []string{f.ro, f.rw, f.rw2, f.out} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	writeFile(t, filepath.Join(f.ro, "data"), "ro data\n", 0o644)
	writeFile(t, filepath.Join(f.ro, "other"), "other\n", 0o644)
	writeFile(t, filepath.Join(f.out, "secret"), "secret\n", 0o600)
	bin, err := os.ReadFile("/bin/true")
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(f.rw, "true"), string(bin), 0o755)
	writeFile(t, filepath.Join(f.ro, "true"), string(bin), 0o755)
	return f
}

func writeFile(t *testing.T, path, data string, perm os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), perm); err != nil {
		t.Fatal(err)
	}
}

func (f fixture) env() []string {
	return []string{envRO + "=" + f.ro, envRW + "=" + f.rw, envRW2 + "=" + f.rw2, envOut + "=" + f.out}
}

type childResult struct {
	ops            map[string]string // op -> "ok" or errno name
	stdout, stderr string
	exitCode       int
}

func runChild(t *testing.T, name string, env ...string) childResult {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	// Under -race a child would sleep 1s at exit (atexit_sleep_ms) unless
	// told otherwise; a GORACE set by the user comes later and wins.
	cmd.Env = append([]string{"GORACE=atexit_sleep_ms=0"}, os.Environ()...)
	cmd.Env = append(cmd.Env, childEnv+"="+name)
	cmd.Env = append(cmd.Env, env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	res := childResult{ops: map[string]string{}, stdout: stdout.String(), stderr: stderr.String()}
	var exitErr *exec.ExitError
	switch {
	case errors.As(err, &exitErr):
		res.exitCode = exitErr.ExitCode()
	case err != nil:
		t.Fatalf("child %s: %v", name, err)
	}
	for line := range strings.Lines(res.stdout) {
		op, result, _ := strings.Cut(strings.TrimSpace(line), " ")
		res.ops[op] = result
	}
	return res
}

// mustRunChild runs a child that is expected to exit 0.
func mustRunChild(t *testing.T, name string, env ...string) childResult {
	t.Helper()
	res := runChild(t, name, env...)
	if res.exitCode != 0 {
		t.Fatalf("child %s exited %d\nstdout:\n%s\nstderr:\n%s", name, res.exitCode, res.stdout, res.stderr)
	}
	return res
}

func expectOps(t *testing.T, res childResult, want map[string]string) {
	t.Helper()
	for op, w := range want {
		got, ok := res.ops[op]
		switch {
		case !ok:
			t.Errorf("%s: no result from the child\nstdout:\n%s\nstderr:\n%s", op, res.stdout, res.stderr)
		case got != w:
			t.Errorf("%s: got %s, want %s", op, got, w)
		}
	}
}

func TestFilesystem(t *testing.T) {
	requireLandlock(t, 3, "truncate and refer")
	f := newFixture(t)
	res := mustRunChild(t, "fs", f.env()...)
	expectOps(t, res, map[string]string{
		"read_ro":         "ok",
		"list_ro":         "ok",
		"read_outside":    "EACCES",
		"list_outside":    "EACCES",
		"write_ro":        "EACCES",
		"create_ro":       "EACCES",
		"create_rw":       "ok",
		"rename_rw_rw2":   "ok", // Refer: no EXDEV
		"link_rw2_rw":     "ok",
		"truncate_rw":     "ok",
		"mkdir_rw":        "ok",
		"rmdir_rw":        "ok",
		"symlink_rw":      "ok",
		"mkfifo_rw":       "ok",
		"mknod_char_rw":   "EACCES", // root, but ReadWrite has no make_char
		"remove_rw":       "ok",
		"rename_rw_out":   "EACCES",
		"exec_rw_noexec":  "EACCES",
		"exec_ro_noexec":  "EACCES",
		"read_ro_via_rw2": "ok",
		"symlink_out_rw":  "ok",
		// A symlink is checked where it leads, not where it lives.
		"read_outside_via_rw2": "EACCES",
	})
	if t.Failed() {
		t.Logf("child stderr:\n%s", res.stderr)
	}
}

// TestExecAllowed is the positive control for the execute checks: the same
// copy of /bin/true runs from a ReadWriteExec dir (so an EACCES above comes
// from Landlock, not from a noexec /tmp).
func TestExecAllowed(t *testing.T) {
	requireLandlock(t, 1, "")
	f := newFixture(t)
	res := mustRunChild(t, "exec-allowed", f.env()...)
	if _, failed := res.ops["exec_rw"]; failed || res.ops["restrict"] != "ok" {
		t.Fatalf("exec from a ReadWriteExec dir: stdout:\n%s\nstderr:\n%s", res.stdout, res.stderr)
	}
}

func TestRuleOnFile(t *testing.T) {
	requireLandlock(t, 1, "")
	f := newFixture(t)
	res := mustRunChild(t, "file-rule", f.env()...)
	expectOps(t, res, map[string]string{
		"restrict":   "ok", // ReadWrite on a file: directory rights dropped
		"read_data":  "ok",
		"write_data": "ok",
		"read_other": "EACCES",
		"list_ro":    "EACCES",
	})
}

func TestMissingPath(t *testing.T) {
	requireLandlock(t, 1, "")
	f := newFixture(t)
	missing := filepath.Join(f.ro, "no-such-dir")
	res := mustRunChild(t, "missing", append(f.env(), envNoSuch+"="+missing)...)
	expectOps(t, res, map[string]string{
		"restrict":     "ENOENT",
		"read_outside": "ok", // nothing was enforced
	})
	if msg := res.ops["message"]; !strings.Contains(msg, missing) {
		t.Errorf("error %q does not name the missing path %s", msg, missing)
	}
}

// TestRestrictErrorsInProcess checks errors returned before anything is
// enforced. The goroutine locks its thread and never unlocks it, so the
// thread is discarded if Restrict were to restrict it after all.
func TestRestrictErrorsInProcess(t *testing.T) {
	requireLandlock(t, 1, "")
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing")
	tests := []struct {
		r     Ruleset
		check func(error) bool
	}{
		{Ruleset{Paths: []PathRule{{Path: dir, Access: ReadOnly}, {Path: missing, Access: ReadOnly}}},
			func(err error) bool { return errors.Is(err, fs.ErrNotExist) && strings.Contains(err.Error(), missing) }},
		{Ruleset{Paths: []PathRule{{Path: dir, Access: ReadOnly | 1<<40}}},
			func(err error) bool { return err != nil && strings.Contains(err.Error(), "unknown access bits") }},
		{Ruleset{Paths: []PathRule{{Path: "", Access: ReadOnly}}},
			func(err error) bool { return err != nil && strings.Contains(err.Error(), "empty path") }},
	}
	for i, tt := range tests {
		errc := make(chan error)
		go func() {
			runtime.LockOSThread()
			_, err := Restrict(tt.r)
			errc <- err
		}()
		if err := <-errc; !tt.check(err) {
			t.Errorf("case %d: Restrict error = %v", i, err)
		}
	}
}

func TestDenyTCP(t *testing.T) {
	requireLandlock(t, 4, "TCP restriction")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	env := envTCP + "=" + ln.Addr().String()

	res := mustRunChild(t, "tcp-deny", env)
	expectOps(t, res, map[string]string{
		"restrict":    "ok",
		"connect_tcp": "EACCES",
		"bind_tcp":    "EACCES",
		"bind_udp":    "ok", // Landlock ABI <= 7 does not cover UDP
	})
	res = mustRunChild(t, "tcp-allow", env)
	expectOps(t, res, map[string]string{
		"restrict":    "ok",
		"connect_tcp": "ok",
		"bind_tcp":    "ok",
	})
}

// EphemeralBindOnly: connect is free, a bind only to a port the kernel
// picks.
func TestEphemeralBindOnly(t *testing.T) {
	requireLandlock(t, 4, "TCP restriction")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	res := mustRunChild(t, "tcp-ephemeral", envTCP+"="+ln.Addr().String())
	expectOps(t, res, map[string]string{
		"restrict":         "ok",
		"connect_tcp":      "ok",
		"bind_tcp_port0":   "ok",
		"bind_tcp_chosen":  "EACCES",
		"bind_udp_chosen":  "ok", // not covered
		"listen_tcp_port0": "ok",
	})
}

func TestScope(t *testing.T) {
	requireLandlock(t, 6, "signal and abstract unix socket scoping")
	name := fmt.Sprintf("@warden-landlock-test-%d", os.Getpid())
	ln, err := net.Listen("unix", name)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	env := envUnix + "=" + name

	res := mustRunChild(t, "scope", env)
	expectOps(t, res, map[string]string{
		"restrict":         "ok",
		"kill_parent":      "EPERM",
		"connect_abstract": "EPERM",
		"kill_self":        "ok",
	})
	res = mustRunChild(t, "scope-off", env)
	expectOps(t, res, map[string]string{
		"restrict":         "ok",
		"kill_parent":      "ok",
		"connect_abstract": "ok",
	})
}

// TestShell: ordinary life works under a realistic ruleset, after exec and
// after fork+exec from the restricted thread.
func TestShell(t *testing.T) {
	requireLandlock(t, 1, "")
	f := newFixture(t)

	res := mustRunChild(t, "sh-exec", f.env()...)
	if res.stdout != "ro data\n" {
		t.Errorf("sh -c 'cat data' printed %q, want %q\nstderr:\n%s", res.stdout, "ro data\n", res.stderr)
	}

	res = runChild(t, "sh-exec-outside", f.env()...)
	if res.exitCode == 0 || strings.Contains(res.stdout, "secret") || !strings.Contains(res.stderr, "Permission denied") {
		t.Errorf("sh -c 'cat secret' outside the rules: exit %d, stdout %q, stderr %q; want a permission error", res.exitCode, res.stdout, res.stderr)
	}

	res = mustRunChild(t, "sh-fork", f.env()...)
	expectOps(t, res, map[string]string{
		"restrict":    "ok",
		"cat_data":    "ok",
		"cat_outside": "failed",
	})
}

// ---- child side ----

var childCases = map[string]func() int{
	"fs":              childFS,
	"exec-allowed":    childExecAllowed,
	"file-rule":       childFileRule,
	"missing":         childMissing,
	"tcp-deny":        func() int { return childTCP(true) },
	"tcp-allow":       func() int { return childTCP(false) },
	"tcp-ephemeral":   childEphemeralBind,
	"scope":           func() int { return childScope(true) },
	"scope-off":       func() int { return childScope(false) },
	"sh-exec":         func() int { return childShellExec(envRO, "data") },
	"sh-exec-outside": func() int { return childShellExec(envOut, "secret") },
	"sh-fork":         childShellFork,
}

func runChildCase(name string) int {
	// Never unlocked: Restrict applies to this thread only, and the process
	// ends (or execs) from here.
	runtime.LockOSThread()
	fn, ok := childCases[name]
	if !ok {
		fmt.Fprintf(os.Stderr, "unknown child case %q\n", name)
		return 2
	}
	return fn()
}

func report(op string, err error) {
	fmt.Printf("%s %s\n", op, errResult(err))
}

func errResult(err error) string {
	if err == nil {
		return "ok"
	}
	var errno syscall.Errno
	if errors.As(err, &errno) {
		if name := unix.ErrnoName(errno); name != "" {
			return name
		}
	}
	return "other:" + strings.ReplaceAll(err.Error(), "\n", " ")
}

// restrict applies r and reports the outcome; false means the child must stop.
func restrict(r Ruleset) bool {
	e, err := Restrict(r)
	if err != nil {
		fmt.Fprintf(os.Stderr, "restrict: %v\n", err)
		report("restrict", err)
		return false
	}
	fmt.Fprintf(os.Stderr, "enforced: %+v (fs %s)\n", e, e.HandledFS)
	report("restrict", nil)
	return true
}

// systemRules grants ReadExec on the directories ordinary programs need.
func systemRules() []PathRule {
	var rules []PathRule
	dirs := []string{"/usr", "/bin", "/sbin", "/etc"}
	libs, _ := filepath.Glob("/lib*")
	for _, d := range append(dirs, libs...) {
		if _, err := os.Stat(d); err == nil {
			rules = append(rules, PathRule{Path: d, Access: ReadExec})
		}
	}
	return rules
}

func childFS() int {
	ro, rw, rw2, out := os.Getenv(envRO), os.Getenv(envRW), os.Getenv(envRW2), os.Getenv(envOut)
	if !restrict(Ruleset{Paths: []PathRule{
		{Path: ro, Access: ReadOnly},
		{Path: rw, Access: ReadWrite},
		{Path: rw2, Access: ReadWrite},
	}}) {
		return 1
	}
	_, err := os.ReadFile(filepath.Join(ro, "data"))
	report("read_ro", err)
	_, err = os.ReadDir(ro)
	report("list_ro", err)
	_, err = os.ReadFile(filepath.Join(out, "secret"))
	report("read_outside", err)
	_, err = os.ReadDir(out)
	report("list_outside", err)
	fd, err := unix.Open(filepath.Join(ro, "data"), unix.O_WRONLY|unix.O_CLOEXEC, 0)
	if err == nil {
		unix.Close(fd)
	}
	report("write_ro", err)
	report("create_ro", os.WriteFile(filepath.Join(ro, "new"), []byte("x"), 0o644))
	report("create_rw", os.WriteFile(filepath.Join(rw, "new"), []byte("hello"), 0o644))
	report("rename_rw_rw2", os.Rename(filepath.Join(rw, "new"), filepath.Join(rw2, "moved")))
	report("link_rw2_rw", os.Link(filepath.Join(rw2, "moved"), filepath.Join(rw, "linked")))
	report("truncate_rw", os.Truncate(filepath.Join(rw2, "moved"), 1))
	report("mkdir_rw", os.Mkdir(filepath.Join(rw, "sub"), 0o755))
	report("rmdir_rw", os.Remove(filepath.Join(rw, "sub")))
	report("symlink_rw", os.Symlink(filepath.Join(ro, "data"), filepath.Join(rw2, "sym")))
	_, err = os.ReadFile(filepath.Join(rw2, "sym"))
	report("read_ro_via_rw2", err)
	report("symlink_out_rw", os.Symlink(filepath.Join(out, "secret"), filepath.Join(rw2, "leak")))
	_, err = os.ReadFile(filepath.Join(rw2, "leak"))
	report("read_outside_via_rw2", err)
	report("mkfifo_rw", unix.Mkfifo(filepath.Join(rw, "fifo"), 0o600))
	report("mknod_char_rw", unix.Mknod(filepath.Join(rw, "null"), unix.S_IFCHR|0o600, int(unix.Mkdev(1, 3))))
	report("remove_rw", os.Remove(filepath.Join(rw, "linked")))
	report("rename_rw_out", os.Rename(filepath.Join(rw2, "moved"), filepath.Join(out, "moved")))
	// Both execs fail, so the process continues; a success would end the
	// child early and the missing results fail the test.
	report("exec_ro_noexec", syscall.Exec(filepath.Join(ro, "true"), []string{"true"}, os.Environ()))
	report("exec_rw_noexec", syscall.Exec(filepath.Join(rw, "true"), []string{"true"}, os.Environ()))
	return 0
}

func childExecAllowed() int {
	rw := os.Getenv(envRW)
	rules := append(systemRules(), PathRule{Path: rw, Access: ReadWriteExec})
	if !restrict(Ruleset{Paths: rules}) {
		return 1
	}
	report("exec_rw", syscall.Exec(filepath.Join(rw, "true"), []string{"true"}, os.Environ()))
	return 1
}

func childFileRule() int {
	ro := os.Getenv(envRO)
	if !restrict(Ruleset{Paths: []PathRule{{Path: filepath.Join(ro, "data"), Access: ReadWrite}}}) {
		return 1
	}
	_, err := os.ReadFile(filepath.Join(ro, "data"))
	report("read_data", err)
	fd, err := unix.Open(filepath.Join(ro, "data"), unix.O_WRONLY|unix.O_APPEND|unix.O_CLOEXEC, 0)
	if err == nil {
		unix.Close(fd)
	}
	report("write_data", err)
	_, err = os.ReadFile(filepath.Join(ro, "other"))
	report("read_other", err)
	_, err = os.ReadDir(ro)
	report("list_ro", err)
	return 0
}

func childMissing() int {
	ro, out := os.Getenv(envRO), os.Getenv(envOut)
	_, err := Restrict(Ruleset{Paths: []PathRule{
		{Path: ro, Access: ReadOnly},
		{Path: os.Getenv(envNoSuch), Access: ReadOnly},
	}})
	report("restrict", err)
	if err != nil {
		fmt.Printf("message %s\n", err)
	}
	_, err = os.ReadFile(filepath.Join(out, "secret"))
	report("read_outside", err)
	return 0
}

func childTCP(deny bool) int {
	if !restrict(Ruleset{DenyTCP: deny}) {
		return 1
	}
	ap, err := parseSockaddr4(os.Getenv(envTCP))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	report("connect_tcp", sockOp(unix.SOCK_STREAM, func(fd int) error { return unix.Connect(fd, ap) }))
	report("bind_tcp", sockOp(unix.SOCK_STREAM, func(fd int) error {
		return unix.Bind(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}})
	}))
	report("bind_udp", sockOp(unix.SOCK_DGRAM, func(fd int) error {
		return unix.Bind(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}})
	}))
	return 0
}

func childEphemeralBind() int {
	if !restrict(Ruleset{EphemeralBindOnly: true}) {
		return 1
	}
	ap, err := parseSockaddr4(os.Getenv(envTCP))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	report("connect_tcp", sockOp(unix.SOCK_STREAM, func(fd int) error { return unix.Connect(fd, ap) }))
	report("bind_tcp_port0", sockOp(unix.SOCK_STREAM, func(fd int) error {
		return unix.Bind(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}})
	}))
	// The listener's own port is busy; a chosen free port is what a
	// server asks for. Both are refused before the kernel looks.
	chosen := &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}, Port: ap.Port + 1}
	report("bind_tcp_chosen", sockOp(unix.SOCK_STREAM, func(fd int) error { return unix.Bind(fd, chosen) }))
	report("bind_udp_chosen", sockOp(unix.SOCK_DGRAM, func(fd int) error { return unix.Bind(fd, chosen) }))
	report("listen_tcp_port0", sockOp(unix.SOCK_STREAM, func(fd int) error { return unix.Listen(fd, 1) }))
	return 0
}

func parseSockaddr4(s string) (*unix.SockaddrInet4, error) {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return nil, err
	}
	p, err := strconv.Atoi(port)
	if err != nil {
		return nil, err
	}
	ip := net.ParseIP(host).To4()
	if ip == nil {
		return nil, fmt.Errorf("not an IPv4 address: %s", host)
	}
	return &unix.SockaddrInet4{Port: p, Addr: [4]byte(ip)}, nil
}

// sockOp runs op on a fresh AF_INET socket of the given type, with raw
// system calls so that they happen on the restricted thread.
func sockOp(typ int, op func(fd int) error) error {
	fd, err := unix.Socket(unix.AF_INET, typ|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	return op(fd)
}

func childScope(scope bool) int {
	if !restrict(Ruleset{Scope: scope}) {
		return 1
	}
	report("kill_parent", unix.Kill(os.Getppid(), 0))
	report("kill_self", unix.Kill(os.Getpid(), 0))
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err == nil {
		err = unix.Connect(fd, &unix.SockaddrUnix{Name: os.Getenv(envUnix)})
		unix.Close(fd)
	}
	report("connect_abstract", err)
	return 0
}

func shellRules() []PathRule {
	return append(systemRules(),
		PathRule{Path: os.Getenv(envRO), Access: ReadOnly},
		PathRule{Path: "/dev/null", Access: DevRW})
}

// childShellExec replaces the child with sh -c 'cat FILE'; its output is the
// child's output.
func childShellExec(dirEnv, file string) int {
	if _, err := Restrict(Ruleset{Paths: shellRules(), DenyTCP: true, Scope: true}); err != nil {
		fmt.Fprintf(os.Stderr, "restrict: %v\n", err)
		return 1
	}
	err := syscall.Exec("/bin/sh", []string{"sh", "-c", `cat "$1"`, "sh", filepath.Join(os.Getenv(dirEnv), file)}, os.Environ())
	fmt.Fprintf(os.Stderr, "exec /bin/sh: %v\n", err)
	return 1
}

// childShellFork runs sh through os/exec from the restricted thread: the
// forked child inherits the thread's domain.
func childShellFork() int {
	if !restrict(Ruleset{Paths: shellRules(), DenyTCP: true, Scope: true}) {
		return 1
	}
	out, err := exec.Command("/bin/sh", "-c", `cat "$1"`, "sh", filepath.Join(os.Getenv(envRO), "data")).Output()
	if err == nil && string(out) != "ro data\n" {
		err = fmt.Errorf("unexpected output %q", out)
	}
	report("cat_data", err)
	out, err = exec.Command("/bin/sh", "-c", `cat "$1"`, "sh", filepath.Join(os.Getenv(envOut), "secret")).Output()
	switch {
	case err == nil:
		fmt.Printf("cat_outside succeeded: %q\n", out)
	case strings.Contains(string(out), "secret"):
		fmt.Printf("cat_outside leaked\n")
	default:
		fmt.Printf("cat_outside failed\n")
	}
	return 0
}
