//go:build linux

package sandbox

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/warden-sec/warden/core/sandbox/landlock"
	"github.com/warden-sec/warden/core/sandbox/seccomp"
)

// File descriptors the parent hands the child.
const (
	fdConfig     = 3 // setupConfig, then execConfig, one JSON line each
	fdStatus     = 4 // statusReady, or statusError and a message
	fdWorkspace  = 5 // O_PATH descriptor of the workspace directory
	fdExecutable = 6 // the binary itself, executed through /proc/self/fd
)

// buildRoot is where the child assembles the new root: a tmpfs mounted
// over /tmp in the child's own mount namespace (the host's /tmp is not
// touched), which then becomes / through pivot_root.
const buildRoot = "/tmp"

// systemDirs are bound read-only from the host; symlinks (merged /usr)
// are recreated as symlinks.
var systemDirs = []string{"usr", "bin", "sbin", "lib", "lib32", "lib64", "libx32"}

// etcEntries are the parts of /etc a command may need; secrets such as
// shadow, ssh host keys and the host's warden config are never there.
var etcEntries = []string{
	"passwd", "group", "hosts", "host.conf", "resolv.conf", "nsswitch.conf", "services", "protocols",
	"ld.so.cache", "ld.so.conf", "ld.so.conf.d", "localtime", "timezone", "ssl", "ca-certificates",
	"ca-certificates.conf", "alternatives", "os-release", "mime.types", "bash.bashrc", "profile",
	"inputrc", "environment", "gitconfig", "python3", "magic", "papersize",
}

// devNodes are bound from the host into the read-only /dev.
var devNodes = []string{"null", "zero", "full", "random", "urandom"}

// childMain runs in the re-executed binary: PID 1 of the new PID
// namespace, uid 0 of the new user namespace (unprivileged on the host).
func childMain() {
	// Capabilities, no_new_privs, Landlock and seccomp are per thread:
	// everything from here to execve happens on this one.
	runtime.LockOSThread()
	unix.CloseOnExec(fdStatus)
	status := os.NewFile(fdStatus, "status")
	fail := func(step string, err error) {
		msg := append([]byte{statusError}, strings.ReplaceAll(step+": "+err.Error(), "\n", " ")+"\n"...)
		_, _ = status.Write(msg)
		os.Exit(127)
	}
	unix.CloseOnExec(fdConfig)
	unix.CloseOnExec(fdWorkspace)
	unix.CloseOnExec(fdExecutable)
	cfg := bufio.NewReader(os.NewFile(fdConfig, "config"))
	var setup setupConfig
	if err := readLine(cfg, &setup); err != nil {
		fail("read setup", err)
	}
	if setup.Host {
		hostInit(setup, cfg, status, fail)
		return
	}
	if err := buildFilesystem(setup); err != nil {
		fail("filesystem", err)
	}
	if err := unix.Sethostname([]byte(setup.Hostname)); err != nil {
		fail("hostname", err)
	}
	prog, err := seccomp.Program(seccomp.Options{Network: setup.Network, Notify: true})
	if err != nil {
		fail("seccomp", err)
	}
	refusals := newRefusals(unix.Gettid())

	// Confine this thread before the command is known, so a pooled
	// sandbox only has to fork it; the command is forked from this
	// thread and inherits all of it. This process stays as the
	// namespace's init: the command must not be PID 1, whose default
	// signal actions the kernel ignores (SIGXFSZ, SIGXCPU, SIGTERM would
	// not end it).
	if err := dropCapabilities(); err != nil {
		fail("capabilities", err)
	}
	if setup.Landlock {
		if _, err := landlock.Restrict(landlockRules(setup)); err != nil {
			fail("landlock", err)
		}
	} else if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		fail("no_new_privs", err)
	}
	// Nothing in the sandbox may read or write this process's memory.
	if err := unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0); err != nil {
		fail("dumpable", err)
	}
	if err := setRlimits(rlimits(setup.Limits, setup.NoCgroup)); err != nil {
		fail("rlimit", err)
	}
	if err := refusals.load(prog, setup.Network); err != nil {
		fail("seccomp", err)
	}
	if _, err := status.Write([]byte{statusReady}); err != nil {
		os.Exit(127)
	}

	// A pooled sandbox waits here until it is used.
	runCommand(cfg, "/workspace", status, fail, refusals.counts)
}

// hostInit is the init of a host run: nothing is confined, but the
// command is not PID 1 (its signals behave as usual) and when it ends,
// or the parent kills this init, the kernel kills everything it left in
// the namespace.
func hostInit(setup setupConfig, cfg *bufio.Reader, status *os.File, fail func(string, error)) {
	if _, err := status.Write([]byte{statusReady}); err != nil {
		os.Exit(127)
	}
	runCommand(cfg, setup.Workspace, status, fail, func() map[string]int { return nil })
}

// runCommand waits for the command, forks it in dir, reaps every process
// of the namespace and reports the command's own end on status; then it
// exits, which ends the namespace.
func runCommand(cfg *bufio.Reader, dir string, status *os.File, fail func(string, error), refused func() map[string]int) {
	var ex execConfig
	if err := readLine(cfg, &ex); err != nil {
		os.Exit(0) // the parent discarded this sandbox
	}
	if len(ex.Argv) == 0 {
		fail("exec", errors.New("empty command"))
	}
	if ex.FileSizeCap > 0 {
		var cur unix.Rlimit
		if err := unix.Prlimit(0, unix.RLIMIT_FSIZE, nil, &cur); err != nil {
			fail("rlimit", err)
		}
		if c := uint64(ex.FileSizeCap); c < cur.Max {
			if err := unix.Prlimit(0, unix.RLIMIT_FSIZE, &unix.Rlimit{Cur: c, Max: c}, nil); err != nil {
				fail("rlimit", err)
			}
		}
	}
	pid, err := syscall.ForkExec(ex.Argv[0], ex.Argv, &syscall.ProcAttr{
		Dir:   dir,
		Env:   ex.Env,
		Files: []uintptr{0, 1, 2},
	})
	if err != nil {
		fail("exec "+ex.Argv[0], err)
	}
	os.Stdin.Close()
	os.Stdout.Close()
	os.Stderr.Close()
	// Reap everything; report the command's own end.
	for {
		var ws syscall.WaitStatus
		var ru syscall.Rusage
		wpid, err := syscall.Wait4(-1, &ws, 0, &ru)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			os.Exit(0)
		}
		if wpid == pid {
			b, _ := json.Marshal(exitRecord{Status: uint32(ws), UserCPU: ru.Utime.Nano(), SysCPU: ru.Stime.Nano(), MaxRSSKiB: ru.Maxrss,
				Refused: refused()})
			_, _ = status.Write(append(append([]byte{statusExit}, b...), '\n'))
			// Exiting ends every process left in the namespace.
			os.Exit(0)
		}
	}
}

// setRlimits sets this process's limits, which the command inherits.
// RLIMIT_NOFILE goes through syscall.Setrlimit so that ForkExec does not
// restore the soft limit the runtime saved at startup.
func setRlimits(ls []rlimit) error {
	for _, l := range ls {
		var err error
		if l.resource == unix.RLIMIT_NOFILE {
			err = syscall.Setrlimit(l.resource, &syscall.Rlimit{Cur: l.rlim.Cur, Max: l.rlim.Max})
		} else {
			err = unix.Prlimit(0, l.resource, &l.rlim, nil)
		}
		if err != nil {
			return fmt.Errorf("resource %d: %w", l.resource, err)
		}
	}
	return nil
}

func readLine(r *bufio.Reader, v any) error {
	line, err := r.ReadBytes('\n')
	if err != nil {
		return err
	}
	return json.Unmarshal(line, v)
}

// buildFilesystem assembles the new root and pivots into it.
func buildFilesystem(cfg setupConfig) error {
	// Nothing below propagates back to the host.
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("make mounts private: %w", err)
	}
	// Without root the workspace is the host path, cloned before the
	// root tmpfs hides /tmp, where it may be.
	wsTree := -1
	if !cfg.WorkspaceTree {
		t, err := unix.OpenTree(unix.AT_FDCWD, cfg.Workspace, unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC|unix.AT_RECURSIVE)
		if err != nil {
			return fmt.Errorf("bind workspace %s: %w", cfg.Workspace, err)
		}
		defer unix.Close(t)
		wsTree = t
	}
	r := buildRoot
	if err := unix.Mount("tmpfs", r, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, "mode=0755,size=1m"); err != nil {
		return fmt.Errorf("mount root tmpfs: %w", err)
	}
	var readOnly []string // bind mounts made read-only after pivot_root
	for _, d := range systemDirs {
		ok, err := mirror("/"+d, filepath.Join(r, d))
		if err != nil {
			return err
		}
		if ok {
			readOnly = append(readOnly, "/"+d)
		}
	}
	if err := os.Mkdir(filepath.Join(r, "etc"), 0o755); err != nil {
		return err
	}
	var etcBinds []string
	for _, e := range etcEntries {
		ok, err := mirror("/etc/"+e, filepath.Join(r, "etc", e))
		if err != nil {
			return err
		}
		if ok {
			etcBinds = append(etcBinds, "/etc/"+e)
		}
	}
	// The workspace: a mount tree the parent cloned, or the host path.
	ws := filepath.Join(r, "workspace")
	if err := os.Mkdir(ws, 0o755); err != nil {
		return err
	}
	if cfg.WorkspaceTree {
		if err := unix.MoveMount(fdWorkspace, "", unix.AT_FDCWD, ws, unix.MOVE_MOUNT_F_EMPTY_PATH); err != nil {
			return fmt.Errorf("attach workspace: %w", err)
		}
	} else if err := unix.MoveMount(wsTree, "", unix.AT_FDCWD, ws, unix.MOVE_MOUNT_F_EMPTY_PATH); err != nil {
		return fmt.Errorf("bind workspace %s: %w", cfg.Workspace, err)
	}
	// /tmp lives in memory: without a memory cgroup nothing else would
	// charge what is written there to the command, so its size is capped
	// at the memory limit.
	tmpOpts := "mode=1777"
	if cfg.Limits.Memory > 0 {
		tmpOpts += fmt.Sprintf(",size=%d", cfg.Limits.Memory)
	}
	if err := mkdirMount("tmpfs", filepath.Join(r, "tmp"), "tmpfs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, tmpOpts); err != nil {
		return err
	}
	if err := buildDev(filepath.Join(r, "dev")); err != nil {
		return err
	}
	if err := mkdirMount("proc", filepath.Join(r, "proc"), "proc", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
		return err
	}

	old := filepath.Join(r, ".oldroot")
	if err := os.Mkdir(old, 0o700); err != nil {
		return err
	}
	if err := unix.PivotRoot(r, old); err != nil {
		return fmt.Errorf("pivot_root: %w", err)
	}
	if err := unix.Chdir("/"); err != nil {
		return err
	}
	if err := unix.Unmount("/.oldroot", unix.MNT_DETACH); err != nil {
		return fmt.Errorf("detach old root: %w", err)
	}
	if err := os.Remove("/.oldroot"); err != nil {
		return err
	}

	// Flags. mount_setattr also works on binds whose flags are locked by
	// the user namespace, where a read-only remount would fail.
	for _, p := range readOnly {
		if err := setattr(p, true, unix.MOUNT_ATTR_RDONLY|unix.MOUNT_ATTR_NOSUID|unix.MOUNT_ATTR_NODEV); err != nil {
			return err
		}
	}
	for _, p := range etcBinds {
		if err := setattr(p, true, unix.MOUNT_ATTR_RDONLY|unix.MOUNT_ATTR_NOSUID|unix.MOUNT_ATTR_NODEV|unix.MOUNT_ATTR_NOEXEC); err != nil {
			return err
		}
	}
	wsAttr := uint64(unix.MOUNT_ATTR_NOSUID | unix.MOUNT_ATTR_NODEV)
	if !cfg.WorkspaceExec {
		wsAttr |= unix.MOUNT_ATTR_NOEXEC
	}
	if err := setattr("/workspace", true, wsAttr); err != nil {
		return err
	}
	if err := setattr("/dev", false, unix.MOUNT_ATTR_RDONLY|unix.MOUNT_ATTR_NOSUID|unix.MOUNT_ATTR_NOEXEC); err != nil {
		return err
	}
	if err := setattr("/", false, unix.MOUNT_ATTR_RDONLY|unix.MOUNT_ATTR_NOSUID|unix.MOUNT_ATTR_NODEV); err != nil {
		return err
	}
	return unix.Chdir("/workspace")
}

// mirror makes dst look like the host's src: a symlink is copied, a
// directory or file is bind-mounted. It reports whether it bound
// something; a missing src is skipped.
func mirror(src, dst string) (bool, error) {
	fi, err := os.Lstat(src)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	switch {
	case fi.Mode()&os.ModeSymlink != 0:
		target, err := os.Readlink(src)
		if err != nil {
			return false, err
		}
		return false, os.Symlink(target, dst)
	case fi.IsDir():
		if err := os.Mkdir(dst, 0o755); err != nil {
			return false, err
		}
	default:
		f, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY, 0o644)
		if err != nil {
			return false, err
		}
		f.Close()
	}
	if err := unix.Mount(src, dst, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return false, fmt.Errorf("bind %s: %w", src, err)
	}
	return true, nil
}

func mkdirMount(source, target, fstype string, flags uintptr, data string) error {
	if err := os.Mkdir(target, 0o755); err != nil {
		return err
	}
	if err := unix.Mount(source, target, fstype, flags, data); err != nil {
		return fmt.Errorf("mount %s on %s: %w", fstype, target, err)
	}
	return nil
}

// buildDev makes a minimal /dev: a tmpfs with the harmless device nodes
// bound from the host (they keep their own mounts, without nodev), the
// usual symlinks and a private /dev/shm. It is made read-only later.
func buildDev(dev string) error {
	if err := mkdirMount("tmpfs", dev, "tmpfs", unix.MS_NOSUID|unix.MS_NOEXEC, "mode=0755,size=64k"); err != nil {
		return err
	}
	for _, n := range devNodes {
		if _, err := mirror("/dev/"+n, filepath.Join(dev, n)); err != nil {
			return err
		}
	}
	links := [][2]string{{"/proc/self/fd", "fd"}, {"/proc/self/fd/0", "stdin"}, {"/proc/self/fd/1", "stdout"}, {"/proc/self/fd/2", "stderr"}}
	for _, l := range links {
		if err := os.Symlink(l[0], filepath.Join(dev, l[1])); err != nil {
			return err
		}
	}
	return mkdirMount("tmpfs", filepath.Join(dev, "shm"), "tmpfs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "mode=1777")
}

func setattr(path string, recursive bool, set uint64) error {
	flags := uint(0)
	if recursive {
		flags = unix.AT_RECURSIVE
	}
	if err := unix.MountSetattr(unix.AT_FDCWD, path, flags, &unix.MountAttr{Attr_set: set}); err != nil {
		return fmt.Errorf("mount_setattr %s: %w", path, err)
	}
	return nil
}

// landlockRules is what the command may touch after pivot_root.
func landlockRules(cfg setupConfig) landlock.Ruleset {
	// Listing / shows only what this file system holds. With network, a
	// command is a client: it may not take a chosen TCP port of the
	// host's (the gateway's, while it restarts), only ephemeral ones.
	rs := landlock.Ruleset{DenyTCP: !cfg.Network, EphemeralBindOnly: cfg.Network, Scope: true,
		Paths: []landlock.PathRule{{Path: "/", Access: landlock.ReadDir}}}
	for _, d := range systemDirs {
		if fi, err := os.Lstat("/" + d); err == nil && fi.IsDir() {
			rs.Paths = append(rs.Paths, landlock.PathRule{Path: "/" + d, Access: landlock.ReadExec})
		}
	}
	ws := landlock.ReadWrite
	if cfg.WorkspaceExec {
		ws = landlock.ReadWriteExec
	}
	rs.Paths = append(rs.Paths,
		landlock.PathRule{Path: "/etc", Access: landlock.ReadOnly},
		landlock.PathRule{Path: "/workspace", Access: ws},
		landlock.PathRule{Path: "/tmp", Access: landlock.ReadWrite},
		landlock.PathRule{Path: "/dev", Access: landlock.ReadOnly | landlock.WriteFile | landlock.IoctlDev},
		landlock.PathRule{Path: "/dev/shm", Access: landlock.ReadWrite},
		landlock.PathRule{Path: "/proc", Access: landlock.ReadOnly | landlock.WriteFile},
	)
	return rs
}

// Securebits (linux/securebits.h): uid 0 gets no capabilities from
// execve, and none of this can be undone.
const (
	secbitNoRoot                = 1 << 0
	secbitNoRootLocked          = 1 << 1
	secbitNoSetuidFixup         = 1 << 2
	secbitNoSetuidFixupLocked   = 1 << 3
	secbitKeepCapsLocked        = 1 << 5
	secbitNoCapAmbientRaise     = 1 << 6
	secbitNoCapAmbientRaiseLock = 1 << 7
)

// dropCapabilities empties every capability set of this thread for good:
// bounding, ambient, effective, permitted and inheritable.
func dropCapabilities() error {
	bits := secbitNoRoot | secbitNoRootLocked | secbitNoSetuidFixup | secbitNoSetuidFixupLocked |
		secbitKeepCapsLocked | secbitNoCapAmbientRaise | secbitNoCapAmbientRaiseLock
	if err := unix.Prctl(unix.PR_SET_SECUREBITS, uintptr(bits), 0, 0, 0); err != nil {
		return fmt.Errorf("securebits: %w", err)
	}
	for c := 0; c <= 63; c++ {
		if err := unix.Prctl(unix.PR_CAPBSET_DROP, uintptr(c), 0, 0, 0); err != nil {
			if errors.Is(err, unix.EINVAL) {
				break // past the last capability this kernel knows
			}
			return fmt.Errorf("drop bounding capability %d: %w", c, err)
		}
	}
	if err := unix.Prctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0); err != nil {
		return fmt.Errorf("clear ambient capabilities: %w", err)
	}
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capset(&hdr, &data[0]); err != nil {
		return fmt.Errorf("capset: %w", err)
	}
	return nil
}

type rlimit struct {
	resource int
	rlim     unix.Rlimit
}

// rlimits are set right before execve. RLIMIT_CPU's soft limit is one
// second below the hard one, so the command gets SIGXCPU before SIGKILL.
//
// With a pids cgroup, RLIMIT_NPROC is a backstop above the cgroup's
// limit, so the cgroup is what refuses forks and counts them.
func rlimits(l Limits, noCgroup bool) []rlimit {
	l = l.withDefaults()
	cpu := uint64(l.CPUSeconds)
	nproc := uint64(l.Pids)
	if !noCgroup {
		nproc = 2*nproc + 16
	}
	out := []rlimit{
		{unix.RLIMIT_CPU, unix.Rlimit{Cur: cpu, Max: cpu + 1}},
		{unix.RLIMIT_FSIZE, unix.Rlimit{Cur: uint64(l.FileSize), Max: uint64(l.FileSize)}},
		{unix.RLIMIT_NOFILE, unix.Rlimit{Cur: uint64(l.OpenFiles), Max: uint64(l.OpenFiles)}},
		// Counted per user namespace: this bounds this sandbox alone.
		{unix.RLIMIT_NPROC, unix.Rlimit{Cur: nproc, Max: nproc}},
		{unix.RLIMIT_CORE, unix.Rlimit{}},
	}
	if noCgroup {
		// A loose backstop only: runtimes reserve far more address space
		// than they use.
		as := uint64(max(4*l.Memory, 4<<30))
		out = append(out, rlimit{unix.RLIMIT_AS, unix.Rlimit{Cur: as, Max: as}})
	}
	return out
}

// refusals learns which system calls the seccomp filter refuses to the
// command: the filter hands each refusal to a listener that this process
// serves from another thread (the filter covers only the thread that
// loaded it and what it forks), which answers EPERM and counts it.
type refusals struct {
	self int // the confined thread: its own refusals are not the command's

	mu sync.Mutex
	n  map[string]int
}

func newRefusals(self int) *refusals { return &refusals{self: self, n: map[string]int{}} }

// load installs prog (built with Notify) on this thread and serves its
// listener. A kernel without listeners (before 5.0, or a filter above
// ours that has one) gets the same filter refusing with EPERM, unseen.
func (r *refusals) load(prog []seccomp.SockFilter, network bool) error {
	listener, err := seccomp.LoadListener(prog)
	if err != nil {
		plain, perr := seccomp.Program(seccomp.Options{Network: network})
		if perr != nil {
			return perr
		}
		return seccomp.Load(plain)
	}
	// Not an os.File: the poller would make the descriptor non-blocking,
	// and the listener is served with plain blocking ioctls.
	go func() {
		_ = seccomp.Serve(listener, func(tid int, nr uint32) {
			if tid == r.self {
				return
			}
			r.mu.Lock()
			r.n[seccomp.Name(nr)]++
			r.mu.Unlock()
		})
	}()
	return nil
}

func (r *refusals) counts() map[string]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.n) == 0 {
		return nil
	}
	return maps.Clone(r.n)
}
