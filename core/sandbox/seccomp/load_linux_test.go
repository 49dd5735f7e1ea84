//go:build linux && (amd64 || arm64)

package seccomp

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// These tests load the filter for real. The test binary re-executes itself:
// with envCase set, TestMain locks the OS thread, sets no_new_privs, loads
// the program and runs the case on that thread (childCases), printing the
// outcome on stdout. With envHelper set it is the Go workload exec'd under
// an already loaded filter (helperMain).
const (
	envCase    = "WARDEN_SECCOMP_CHILD"
	envNetwork = "WARDEN_SECCOMP_NETWORK"
	envHelper  = "WARDEN_SECCOMP_HELPER"
	envScript  = "WARDEN_SECCOMP_SCRIPT" // for the shell case
)

func TestMain(m *testing.M) {
	if os.Getenv(envHelper) != "" {
		os.Exit(helperMain())
	}
	if c := os.Getenv(envCase); c != "" {
		os.Exit(childMain(c))
	}
	os.Exit(m.Run())
}

// childCases run after Load on the locked thread. A case returns its
// outcome, or never returns (SIGSYS, exec).
var childCases = map[string]func() string{
	"ptrace": func() string {
		return errnoOf(unix.RawSyscall(unix.SYS_PTRACE, unix.PTRACE_TRACEME, 0, 0))
	},
	"unshare": func() string {
		return errnoOf(unix.RawSyscall(unix.SYS_UNSHARE, unix.CLONE_NEWUSER, 0, 0))
	},
	"mount": func() string {
		src, dst, fs := cstr("none"), cstr("/mnt"), cstr("tmpfs")
		return errnoOf(unix.RawSyscall6(unix.SYS_MOUNT, uintptr(unsafe.Pointer(src)),
			uintptr(unsafe.Pointer(dst)), uintptr(unsafe.Pointer(fs)), 0, 0, 0))
	},
	"clone-newns": func() string {
		return rawClone(unix.CLONE_NEWNS | uintptr(unix.SIGCHLD))
	},
	"clone-plain": func() string {
		return rawClone(uintptr(unix.SIGCHLD))
	},
	"clone3": func() string {
		// Without the filter, size 0 is EINVAL.
		return errnoOf(unix.RawSyscall(unix.SYS_CLONE3, 0, 0, 0))
	},
	"memfd": func() string {
		name := cstr("warden")
		plain := fdResult(unix.RawSyscall(unix.SYS_MEMFD_CREATE, uintptr(unsafe.Pointer(name)), unix.MFD_CLOEXEC, 0))
		sealed := fdResult(unix.RawSyscall(unix.SYS_MEMFD_CREATE, uintptr(unsafe.Pointer(name)), unix.MFD_CLOEXEC|unix.MFD_NOEXEC_SEAL, 0))
		return "plain=" + plain + " noexec_seal=" + sealed
	},
	"socket": func() string {
		var out []string
		for _, d := range []struct {
			name   string
			domain uintptr
			typ    uintptr
		}{
			{"unix", unix.AF_UNIX, unix.SOCK_STREAM},
			{"inet", unix.AF_INET, unix.SOCK_STREAM},
			{"inet6", unix.AF_INET6, unix.SOCK_DGRAM},
			{"netlink", unix.AF_NETLINK, unix.SOCK_RAW},
			{"packet", unix.AF_PACKET, unix.SOCK_RAW},
		} {
			r := fdResult(unix.RawSyscall(unix.SYS_SOCKET, d.domain, d.typ|unix.SOCK_CLOEXEC, 0))
			out = append(out, d.name+"="+r)
		}
		var fds [2]int32
		r := errnoOf(unix.RawSyscall6(unix.SYS_SOCKETPAIR, unix.AF_UNIX, unix.SOCK_STREAM, 0, uintptr(unsafe.Pointer(&fds)), 0, 0))
		return strings.Join(append(out, "pair="+r), " ")
	},
	"ioctl": func() string {
		f, err := os.Open("/dev/null")
		if err != nil {
			return err.Error()
		}
		c := byte('x')
		sti := errnoOf(unix.RawSyscall(unix.SYS_IOCTL, f.Fd(), unix.TIOCSTI, uintptr(unsafe.Pointer(&c))))
		linux := errnoOf(unix.RawSyscall(unix.SYS_IOCTL, f.Fd(), unix.TIOCLINUX, uintptr(unsafe.Pointer(&c))))
		var ws unix.Winsize
		winsz := errnoOf(unix.RawSyscall(unix.SYS_IOCTL, f.Fd(), unix.TIOCGWINSZ, uintptr(unsafe.Pointer(&ws))))
		return "TIOCSTI=" + sti + " TIOCLINUX=" + linux + " TIOCGWINSZ=" + winsz
	},
	"personality": func() string {
		query := errnoOf(unix.RawSyscall(unix.SYS_PERSONALITY, 0xffffffff, 0, 0))
		norand := errnoOf(unix.RawSyscall(unix.SYS_PERSONALITY, 0x0040000, 0, 0)) // ADDR_NO_RANDOMIZE
		return "query=" + query + " addr_no_randomize=" + norand
	},
	"unlisted": func() string {
		// fanotify_init succeeds for root without the filter.
		return fdResult(unix.RawSyscall(unix.SYS_FANOTIFY_INIT, 0, unix.O_RDONLY, 0))
	},
	"load-allocs": func() string {
		var err error
		load := testing.AllocsPerRun(10, func() { err = Load(childProg) })
		if err != nil {
			return "Load: " + err.Error()
		}
		p := Prepare(childProg)
		var errno syscall.Errno
		prepared := testing.AllocsPerRun(10, func() { errno = LoadPrepared(p) })
		if errno != 0 {
			return "LoadPrepared: " + errno.Error()
		}
		return fmt.Sprintf("Load=%v LoadPrepared=%v", load, prepared)
	},
	"setid": func() string {
		dir, err := os.MkdirTemp("", "warden-seccomp-")
		if err != nil {
			return err.Error()
		}
		defer os.RemoveAll(dir)
		f := filepath.Join(dir, "f")
		fd, err := unix.Openat(unix.AT_FDCWD, f, unix.O_CREAT|unix.O_WRONLY|unix.O_CLOEXEC, 0o644)
		if err != nil {
			return "create: " + err.Error()
		}
		defer unix.Close(fd)
		cwd := unix.AT_FDCWD
		at := uintptr(cwd)
		out := []string{
			"chmod_setuid=" + errnoOf(unix.RawSyscall6(unix.SYS_FCHMODAT, at, uintptr(unsafe.Pointer(cstr(f))), 0o4755, 0, 0, 0)),
			"fchmod_setgid=" + errnoOf(unix.RawSyscall(unix.SYS_FCHMOD, uintptr(fd), 0o2755, 0)),
			"fchmod_plain=" + errnoOf(unix.RawSyscall(unix.SYS_FCHMOD, uintptr(fd), 0o755, 0)),
			"create_setuid=" + fdResult(unix.RawSyscall6(unix.SYS_OPENAT, at, uintptr(unsafe.Pointer(cstr(f+"2"))),
				unix.O_CREAT|unix.O_WRONLY|unix.O_CLOEXEC, 0o4755, 0, 0)),
			"openat2=" + errnoOf(unix.RawSyscall6(unix.SYS_OPENAT2, at, uintptr(unsafe.Pointer(cstr(f))), 0, 0, 0, 0)),
		}
		var st unix.Stat_t
		if err := unix.Stat(f, &st); err != nil || st.Mode&(unix.S_ISUID|unix.S_ISGID) != 0 {
			out = append(out, fmt.Sprintf("mode=%#o", st.Mode))
		}
		return strings.Join(out, " ")
	},
	"x32": func() string {
		return errnoOf(unix.RawSyscall(unix.SYS_GETPID|0x40000000, 0, 0, 0))
	},
	"shell": func() string {
		return execOrError("/bin/sh", "-c", os.Getenv(envScript))
	},
	"go": func() string {
		self, err := os.Executable()
		if err != nil {
			return err.Error()
		}
		os.Setenv(envHelper, "1")
		return execOrError(self)
	},
}

// toolsScript exercises common tools that may be installed; missing ones
// are skipped.
const toolsScript = `set -e
d=$(mktemp -d)
cd "$d"
printf 'b\na\nb\n' > a.txt
sort a.txt | uniq | wc -l | grep -q 2
tar czf a.tgz a.txt
tar tzf a.tgz | grep -q a.txt
gzip -c a.txt | gzip -dc | cmp - a.txt
mkdir -p x/y && mv a.txt x/y/ && cp -r x z && rm -r x z
if command -v git >/dev/null; then
	git init -q r
	git -C r -c user.email=a@example.com -c user.name=a commit -q --allow-empty -m x
	git -C r log --oneline | grep -q x
fi
if command -v cc >/dev/null; then
	printf 'int main(void) { return 0; }\n' > m.c
	cc -o m m.c
	./m
fi
if command -v make >/dev/null; then
	printf 'all:\n\t@true\n' > Makefile
	make -s
fi
if command -v node >/dev/null; then
	# libuv probes io_uring_setup when asked to use io_uring: EPERM, then
	# plain syscalls.
	UV_USE_IO_URING=1 node -e 'require("fs").readFile("/etc/passwd", e => { if (e) throw e })'
	node -e 'require("child_process").execSync("true")'
fi
if command -v python3 >/dev/null && python3 -c 'pass' 2>/dev/null; then
	python3 -c 'import subprocess, threading, tempfile, hashlib; subprocess.run(["true"], check=True)'
fi
cd /
rm -rf "$d"
echo done`

// childProg is the program childMain loaded.
var childProg []SockFilter

func childMain(c string) int {
	f, ok := childCases[c]
	if !ok {
		fmt.Fprintf(os.Stderr, "unknown case %q\n", c)
		return 2
	}
	runtime.LockOSThread()
	prog, err := Program(Options{Network: os.Getenv(envNetwork) == "1"})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	// SIGSYS dumps core by default: the expected kills should not.
	_ = unix.Setrlimit(unix.RLIMIT_CORE, &unix.Rlimit{})
	_ = unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0)
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		fmt.Fprintln(os.Stderr, "no_new_privs:", err)
		return 2
	}
	if err := Load(prog); err != nil {
		fmt.Fprintln(os.Stderr, "load:", err)
		return 2
	}
	childProg = prog
	fmt.Println(f())
	return 0
}

// helperMain is an ordinary Go program: goroutines, allocation, timers,
// files, a unix socket and a subprocess, all under the inherited filter.
func helperMain() int {
	fail := func(format string, args ...any) int {
		fmt.Fprintf(os.Stderr, "helper: "+format+"\n", args...)
		return 1
	}
	var wg sync.WaitGroup
	results := make(chan int, 64)
	for i := range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m := map[int][]byte{}
			for j := range 2000 {
				m[j] = make([]byte, 64+j%512)
			}
			time.Sleep(time.Millisecond)
			results <- len(m) + i - i
		}()
	}
	wg.Wait()
	close(results)
	for n := range results {
		if n != 2000 {
			return fail("goroutine result %d", n)
		}
	}
	runtime.GC()

	timer := time.NewTimer(5 * time.Millisecond)
	ticker := time.NewTicker(time.Millisecond)
	for range 3 {
		<-ticker.C
	}
	ticker.Stop()
	<-timer.C
	fired := make(chan struct{})
	time.AfterFunc(time.Millisecond, func() { close(fired) })
	<-fired

	dir, err := os.MkdirTemp("", "warden-seccomp")
	if err != nil {
		return fail("mkdtemp: %v", err)
	}
	defer os.RemoveAll(dir)
	p := filepath.Join(dir, "f")
	if err := os.WriteFile(p, []byte("data"), 0o600); err != nil {
		return fail("write: %v", err)
	}
	if b, err := os.ReadFile(p); err != nil || string(b) != "data" {
		return fail("read: %q %v", b, err)
	}
	if err := os.Rename(p, p+"2"); err != nil {
		return fail("rename: %v", err)
	}
	if _, err := os.ReadDir("/"); err != nil {
		return fail("readdir: %v", err)
	}

	ln, err := net.Listen("unix", filepath.Join(dir, "sock"))
	if err != nil {
		return fail("listen unix: %v", err)
	}
	go func() {
		c, err := ln.Accept()
		if err == nil {
			c.Write([]byte("hi"))
			c.Close()
		}
	}()
	c, err := net.Dial("unix", ln.Addr().String())
	if err != nil {
		return fail("dial unix: %v", err)
	}
	buf := make([]byte, 2)
	if _, err := c.Read(buf); err != nil || string(buf) != "hi" {
		return fail("read unix: %q %v", buf, err)
	}
	c.Close()
	ln.Close()
	if _, err := net.Listen("tcp", "127.0.0.1:0"); !errors.Is(err, syscall.EPERM) {
		return fail("listen tcp without Network: %v, want EPERM", err)
	}

	if out, err := exec.Command("/bin/sh", "-c", "echo sub").Output(); err != nil || string(out) != "sub\n" {
		return fail("subprocess: %q %v", out, err)
	}
	fmt.Println("ok")
	return 0
}

func cstr(s string) *byte {
	p, err := unix.BytePtrFromString(s)
	if err != nil {
		panic(err)
	}
	return p
}

func errnoOf(_, _ uintptr, errno syscall.Errno) string {
	if errno == 0 {
		return "ok"
	}
	return unix.ErrnoName(errno)
}

func fdResult(fd, _ uintptr, errno syscall.Errno) string {
	if errno != 0 {
		return unix.ErrnoName(errno)
	}
	unix.Close(int(fd))
	return "ok"
}

// rawClone forks with clone(flags); the child exits at once.
func rawClone(flags uintptr) string {
	pid, _, errno := unix.RawSyscall6(unix.SYS_CLONE, flags, 0, 0, 0, 0, 0)
	if errno != 0 {
		return unix.ErrnoName(errno)
	}
	if pid == 0 {
		unix.RawSyscall(unix.SYS_EXIT_GROUP, 0, 0, 0)
	}
	var ws unix.WaitStatus
	if _, err := unix.Wait4(int(pid), &ws, 0, nil); err != nil {
		return "wait4: " + err.Error()
	}
	if !ws.Exited() || ws.ExitStatus() != 0 {
		return fmt.Sprintf("child status %#x", ws)
	}
	return "ok"
}

// execOrError replaces the process; it returns only when execve fails.
func execOrError(path string, args ...string) string {
	err := syscall.Exec(path, append([]string{path}, args...), os.Environ())
	return "exec " + path + ": " + err.Error()
}

type childResult struct {
	stdout, stderr string
	status         syscall.WaitStatus
}

func runChild(t *testing.T, c string, network bool, env ...string) childResult {
	t.Helper()
	net := "0"
	if network {
		net = "1"
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), envCase+"="+c, envNetwork+"="+net)
	if os.Getenv("GORACE") == "" {
		// The race runtime sleeps a second at exit by default.
		cmd.Env = append(cmd.Env, "GORACE=atexit_sleep_ms=0")
	}
	cmd.Env = append(cmd.Env, env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exitErr *exec.ExitError
	if err != nil && !errors.As(err, &exitErr) {
		t.Fatalf("case %s: %v", c, err)
	}
	return childResult{
		stdout: strings.TrimSpace(stdout.String()),
		stderr: stderr.String(),
		status: cmd.ProcessState.Sys().(syscall.WaitStatus),
	}
}

// noexecSealResult is what memfd_create(MFD_NOEXEC_SEAL) gives without a
// filter: ok from Linux 6.3, EINVAL before.
func noexecSealResult() string {
	return fdResult(unix.RawSyscall(unix.SYS_MEMFD_CREATE, uintptr(unsafe.Pointer(cstr("probe"))),
		unix.MFD_CLOEXEC|unix.MFD_NOEXEC_SEAL, 0))
}

func TestEscapesDieWithSIGSYS(t *testing.T) {
	cases := []string{"ptrace", "unshare", "mount", "clone-newns"}
	if x32Bit != 0 {
		cases = append(cases, "x32")
	}
	for _, c := range cases {
		t.Run(c, func(t *testing.T) {
			t.Parallel()
			r := runChild(t, c, true)
			if !r.status.Signaled() || r.status.Signal() != unix.SIGSYS {
				t.Fatalf("status %v (stdout %q, stderr %q), want death by SIGSYS", r.status, r.stdout, r.stderr)
			}
		})
	}
}

func TestLoadedDecisions(t *testing.T) {
	cases := []struct {
		c       string
		network bool
		want    string
	}{
		{"clone-plain", false, "ok"},
		{"clone3", false, "ENOSYS"},
		{"memfd", false, "plain=EPERM noexec_seal=" + noexecSealResult()},
		{"load-allocs", false, "Load=0 LoadPrepared=0"},
		{"socket", false, "unix=ok inet=EPERM inet6=EPERM netlink=EPERM packet=EPERM pair=ok"},
		{"socket", true, "unix=ok inet=ok inet6=ok netlink=ok packet=EPERM pair=ok"},
		{"ioctl", false, "TIOCSTI=EPERM TIOCLINUX=EPERM TIOCGWINSZ=ENOTTY"},
		{"personality", false, "query=ok addr_no_randomize=EPERM"},
		{"unlisted", false, "EPERM"},
		{"setid", false, "chmod_setuid=EPERM fchmod_setgid=EPERM fchmod_plain=ok create_setuid=EPERM openat2=ENOSYS"},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("%s/network=%v", tc.c, tc.network), func(t *testing.T) {
			t.Parallel()
			r := runChild(t, tc.c, tc.network)
			if !r.status.Exited() || r.status.ExitStatus() != 0 {
				t.Fatalf("status %v, stderr %q", r.status, r.stderr)
			}
			if r.stdout != tc.want {
				t.Errorf("got %q, want %q", r.stdout, tc.want)
			}
		})
	}
}

func TestOrdinaryProgramsRun(t *testing.T) {
	cases := []struct{ name, c, script, want string }{
		{"shell", "shell", "echo ok; ls / >/dev/null; cat /etc/hostname >/dev/null; true", "ok"},
		{"tools", "shell", toolsScript, "done"},
		{"go", "go", "", "ok"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := runChild(t, tc.c, false, envScript+"="+tc.script)
			if !r.status.Exited() || r.status.ExitStatus() != 0 || r.stdout != tc.want {
				t.Fatalf("status %v, stdout %q, want %q; stderr:\n%s", r.status, r.stdout, tc.want, r.stderr)
			}
		})
	}
}
