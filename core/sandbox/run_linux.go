//go:build linux

package sandbox

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/warden-sec/warden/core/sandbox/landlock"
)

// Run executes spec.Argv in a new sandbox and waits for it. The error is
// non-nil only when the sandbox could not be set up (naming the layer) or
// the spec is invalid; how the command ended is in Result.
func Run(ctx context.Context, spec Spec) (Result, error) {
	p, err := spawn(ctx, shapeOf(spec))
	if err != nil {
		return Result{}, err
	}
	return p.run(ctx, spec)
}

// RunHost runs spec.Argv on the host, unconfined, for the runs the mode
// leaves outside the sandbox (the owner's main session): in
// spec.Workspace with spec.Env, under an init of its own in a new PID
// namespace (and, without root, a user namespace that maps the user to
// itself), so that the command's end, the timeout, the quota or
// Warden's own death ends every process it started, including those that
// forked and left its session. Limits, network and the rest of Spec do
// not apply.
func RunHost(ctx context.Context, spec Spec) (Result, error) {
	p, err := spawn(ctx, shape{Workspace: spec.Workspace, host: true})
	if err != nil {
		return Result{}, err
	}
	return p.run(ctx, spec)
}

// shape is everything fixed when a sandbox is set up, before the command
// is known: sandboxes of one shape are interchangeable (see Pool).
type shape struct {
	Workspace     string
	WorkspaceExec bool
	Network       bool
	Strict        bool
	Limits        Limits
	host          bool // RunHost's: a PID namespace only
}

// shapeOf is the shape of a spec, with the workspace made absolute so
// that shapes compare equal however the path was written.
func shapeOf(s Spec) shape {
	ws := s.Workspace
	if ws != "" {
		if abs, err := filepath.Abs(ws); err == nil {
			ws = abs
		}
	}
	return shape{Workspace: ws, WorkspaceExec: s.WorkspaceExec, Network: s.Network, Strict: s.Strict, Limits: s.Limits.withDefaults()}
}

// proc is a sandbox set up (or being set up) and waiting for its command.
type proc struct {
	shape  shape
	cmd    *exec.Cmd
	config *os.File // write end: execConfig
	status *os.File // read end: status bytes
	stdin  *os.File // write ends and read ends of the command's stdio
	stdout *os.File
	stderr *os.File
	cg     *cgroup
	layers Layers
	done   chan struct{} // closed when the child has exited
	// cleanups, when set (pooled sandboxes), tracks discards done in the
	// background.
	cleanups *sync.WaitGroup
	cleanup  sync.Once
}

// spawn starts the re-executed init in new namespaces and waits until it
// has built the sandbox's filesystem.
func spawn(ctx context.Context, sh shape) (_ *proc, err error) {
	if sh.Workspace == "" {
		return nil, errors.New("sandbox: no workspace directory")
	}
	ws, err := filepath.Abs(sh.Workspace)
	if err != nil {
		return nil, fmt.Errorf("sandbox: workspace %s: %w", sh.Workspace, err)
	}
	sh.Workspace = ws
	self, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("sandbox: find own executable: %w", err)
	}
	if sh.host {
		return spawnHost(ctx, sh, self)
	}
	abi := landlock.ABI()
	p := &proc{shape: sh, layers: Layers{Seccomp: true, Landlock: abi, Network: NetworkNone,
		Namespaces: []string{"user", "pid", "mount", "ipc", "uts", "cgroup"}}}
	if !sh.Network {
		p.layers.Namespaces = append(p.layers.Namespaces, "net")
	}
	if abi == 0 {
		if sh.Strict {
			return nil, errors.New("sandbox: Landlock is not available on this kernel (required in strict mode)")
		}
		p.layers.Warnings = append(p.layers.Warnings, "Landlock unavailable: file access is limited by the mounts alone")
	}
	uid, gid := os.Geteuid(), os.Getegid()
	uidMap := []syscall.SysProcIDMap{{ContainerID: 0, HostID: uid, Size: 1}}
	gidMap := []syscall.SysProcIDMap{{ContainerID: 0, HostID: gid, Size: 1}}
	if uid == 0 {
		// Never host root inside: root in a namespace whose 0 is host 0
		// still owns every root-owned file on the host.
		uidMap = []syscall.SysProcIDMap{{ContainerID: 0, HostID: HostIDBase, Size: HostIDSize}}
		gidMap = []syscall.SysProcIDMap{{ContainerID: 0, HostID: HostIDBase, Size: HostIDSize}}
	}
	p.layers.UIDMap = fmt.Sprintf("0 %d %d", uidMap[0].HostID, uidMap[0].Size)

	// As root, the workspace goes in as a detached copy of its mount
	// tree, idmapped so that its owner is the sandbox's root: the
	// sandbox's unprivileged host user may not be allowed to reach its
	// path, and its files keep their owner. Otherwise the child binds the
	// path itself, and the caller's own ids are the sandbox's.
	wsTree := uid == 0
	var wsFD int
	if wsTree {
		wsFD, err = unix.OpenTree(unix.AT_FDCWD, ws, unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC|unix.AT_RECURSIVE)
	} else {
		wsFD, err = unix.Open(ws, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	}
	if err != nil {
		return nil, fmt.Errorf("sandbox: open workspace %s: %w", ws, err)
	}
	wsFile := os.NewFile(uintptr(wsFD), ws)
	defer wsFile.Close()
	if wsTree {
		if err := p.mapWorkspace(wsFD, ws, sh.Strict); err != nil {
			return nil, err
		}
	} else {
		p.layers.Workspace, p.layers.WorkspaceOwner = WorkspaceOwnIDs, fmt.Sprintf("%d:%d", uid, gid)
	}
	// The child executes this binary through a descriptor: as the
	// sandbox's host user it may not be allowed to reach its path.
	exe, err := os.Open(self)
	if err != nil {
		return nil, fmt.Errorf("sandbox: open own executable: %w", err)
	}
	defer exe.Close()

	var childEnds []*os.File
	defer func() {
		for _, f := range childEnds {
			f.Close()
		}
		if err != nil {
			p.discard()
		}
	}()
	if childEnds, err = p.pipes(); err != nil {
		return nil, fmt.Errorf("sandbox: pipes: %w", err)
	}
	cfgR, statusW, inR, outW, errW := childEnds[0], childEnds[1], childEnds[2], childEnds[3], childEnds[4]

	id := newID()
	p.cg, err = newCgroup(id, sh.Limits)
	if err != nil {
		return nil, fmt.Errorf("sandbox: cgroup: %w", err)
	}
	p.layers.Limits = p.cg.kind
	if p.cg.kind == limitsRlimit {
		if sh.Strict {
			return nil, errors.New("sandbox: no memory and pids cgroup on this host (required in strict mode)")
		}
		p.layers.Warnings = append(p.layers.Warnings, "no memory/pids cgroup: memory and processes are limited by rlimits alone")
	}
	if sh.Network {
		if err := p.cg.guardNetwork(id); err != nil {
			if sh.Strict {
				return nil, fmt.Errorf("sandbox: network: the loopback guard is unavailable (%v): a command with network would reach this host's own services (required in strict mode; or set sandbox.network: false)", err)
			}
			p.layers.Network = NetworkUnguarded
			p.layers.Warnings = append(p.layers.Warnings, fmt.Sprintf("the loopback guard is unavailable (%v): this command can reach this host's own services, the gateway included", err))
		} else {
			p.layers.Network = NetworkGuarded
		}
	}

	flags := uintptr(unix.CLONE_NEWUSER | unix.CLONE_NEWNS | unix.CLONE_NEWPID | unix.CLONE_NEWIPC | unix.CLONE_NEWUTS | unix.CLONE_NEWCGROUP)
	if !sh.Network {
		flags |= unix.CLONE_NEWNET
	}
	cmd := &exec.Cmd{
		Path:       fmt.Sprintf("/proc/self/fd/%d", fdExecutable),
		Args:       []string{initArg0},
		Env:        []string{},
		Dir:        "/",
		Stdin:      inR,
		Stdout:     outW,
		Stderr:     errW,
		ExtraFiles: []*os.File{cfgR, statusW, wsFile, exe},
		SysProcAttr: &syscall.SysProcAttr{
			Cloneflags:                 flags,
			UidMappings:                uidMap,
			GidMappings:                gidMap,
			GidMappingsEnableSetgroups: false,
			Credential:                 &syscall.Credential{Uid: 0, Gid: 0, NoSetGroups: true},
			Pdeathsig:                  syscall.SIGKILL,
		},
	}
	if p.cg.fd >= 0 {
		cmd.SysProcAttr.UseCgroupFD = true
		cmd.SysProcAttr.CgroupFD = p.cg.fd
	}
	p.cmd = cmd
	// Pdeathsig follows the thread that started the child: keep the
	// start on a thread that is not given back to the runtime while the
	// sandbox lives (see startLocked).
	p.done = make(chan struct{})
	if err = p.startLocked(); err != nil {
		p.done = nil
		return nil, fmt.Errorf("sandbox: start: %w", err)
	}
	// Moving a process into a v1 cgroup takes milliseconds: do it while
	// the child builds its file system. The command is only forked after
	// spawn returns, so it always starts inside the cgroup.
	placed := make(chan error, 1)
	go func() { placed <- p.cg.place(cmd.Process.Pid) }()
	setup := setupConfig{Network: sh.Network, WorkspaceExec: sh.WorkspaceExec, Strict: sh.Strict, Landlock: abi > 0, Hostname: "sandbox",
		Workspace: ws, WorkspaceTree: wsTree, Limits: sh.Limits, NoCgroup: p.cg.kind == limitsRlimit}
	if err = writeLine(p.config, setup); err != nil {
		return nil, fmt.Errorf("sandbox: send setup: %w", err)
	}
	for _, f := range childEnds {
		f.Close()
	}
	childEnds = nil
	readyErr := p.awaitReady(ctx)
	if err = <-placed; err != nil {
		return nil, fmt.Errorf("sandbox: cgroup: %w", err)
	}
	if err = readyErr; err != nil {
		return nil, err
	}
	return p, nil
}

// spawnHost starts the init of a host run: a PID namespace, nothing else.
func spawnHost(ctx context.Context, sh shape, self string) (_ *proc, err error) {
	p := &proc{shape: sh, layers: Layers{Namespaces: []string{"pid"}, Limits: "none"}, cg: &cgroup{kind: "none", fd: -1}}
	wsFD, err := unix.Open(sh.Workspace, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("host run: open %s: %w", sh.Workspace, err)
	}
	wsFile := os.NewFile(uintptr(wsFD), sh.Workspace)
	defer wsFile.Close()
	exe, err := os.Open(self)
	if err != nil {
		return nil, fmt.Errorf("host run: open own executable: %w", err)
	}
	defer exe.Close()
	var childEnds []*os.File
	defer func() {
		for _, f := range childEnds {
			f.Close()
		}
		if err != nil {
			p.discard()
		}
	}()
	if childEnds, err = p.pipes(); err != nil {
		return nil, fmt.Errorf("host run: pipes: %w", err)
	}
	cfgR, statusW, inR, outW, errW := childEnds[0], childEnds[1], childEnds[2], childEnds[3], childEnds[4]
	attr := &syscall.SysProcAttr{Cloneflags: unix.CLONE_NEWPID, Pdeathsig: syscall.SIGKILL}
	if uid, gid := os.Geteuid(), os.Getegid(); uid != 0 {
		// Without root a PID namespace needs a user namespace; mapping
		// the user to itself leaves every file access as it is outside.
		attr.Cloneflags |= unix.CLONE_NEWUSER
		attr.UidMappings = []syscall.SysProcIDMap{{ContainerID: uid, HostID: uid, Size: 1}}
		attr.GidMappings = []syscall.SysProcIDMap{{ContainerID: gid, HostID: gid, Size: 1}}
		p.layers.Namespaces = []string{"user", "pid"}
	}
	p.cmd = &exec.Cmd{
		Path: fmt.Sprintf("/proc/self/fd/%d", fdExecutable), Args: []string{initArg0}, Env: []string{}, Dir: "/",
		Stdin: inR, Stdout: outW, Stderr: errW, ExtraFiles: []*os.File{cfgR, statusW, wsFile, exe}, SysProcAttr: attr,
	}
	p.done = make(chan struct{})
	if err = p.startLocked(); err != nil {
		p.done = nil
		return nil, fmt.Errorf("host run: start: %w", err)
	}
	if err = writeLine(p.config, setupConfig{Host: true, Workspace: sh.Workspace}); err != nil {
		return nil, fmt.Errorf("host run: send setup: %w", err)
	}
	for _, f := range childEnds {
		f.Close()
	}
	childEnds = nil
	if err = p.awaitReady(ctx); err != nil {
		return nil, err
	}
	return p, nil
}

// pipes makes the config, status and stdio pipes. The parent's ends go
// into p; the child's are returned in the order the child takes them:
// config (read), status (write), stdin (read), stdout and stderr (write).
func (p *proc) pipes() ([]*os.File, error) {
	var ends [10]*os.File // read and write end of each of the five pipes
	for i := 0; i < 5; i++ {
		r, w, err := os.Pipe()
		if err != nil {
			for _, f := range ends[:2*i] {
				f.Close()
			}
			return nil, err
		}
		ends[2*i], ends[2*i+1] = r, w
	}
	p.config, p.status, p.stdin, p.stdout, p.stderr = ends[1], ends[2], ends[5], ends[6], ends[8]
	return []*os.File{ends[0], ends[3], ends[4], ends[7], ends[9]}, nil
}

// startLocked starts the child from a goroutine locked to its OS thread,
// which then waits for the child on that same thread and closes p.done:
// the kernel sends the parent-death signal when the starting thread ends,
// and the Go runtime may end idle threads.
func (p *proc) startLocked() error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		if err := p.cmd.Start(); err != nil {
			errc <- err
			return
		}
		errc <- nil
		state, _ := p.cmd.Process.Wait()
		p.cmd.ProcessState = state
		close(p.done)
	}()
	return <-errc
}

// awaitReady waits for the child to report that the sandbox is set up.
func (p *proc) awaitReady(ctx context.Context) error {
	ch := make(chan []byte, 1)
	go func() {
		b := make([]byte, 1)
		if _, err := io.ReadFull(p.status, b); err != nil {
			ch <- nil
			return
		}
		if b[0] == statusReady {
			ch <- b
			return
		}
		rest, _ := bufio.NewReader(p.status).ReadBytes('\n')
		ch <- append(b, rest...)
	}()
	var b []byte
	select {
	case b = <-ch:
	case <-ctx.Done():
		p.kill()
		return fmt.Errorf("sandbox: setup: %w", ctx.Err())
	}
	switch {
	case len(b) == 1 && b[0] == statusReady:
		return nil
	case len(b) > 0 && b[0] == statusError:
		return fmt.Errorf("sandbox: %s", bytes.TrimSpace(b[1:]))
	}
	<-p.done
	return fmt.Errorf("sandbox: setup process ended: %v", p.cmd.ProcessState)
}

// run gives the waiting sandbox its command and waits for it.
func (p *proc) run(ctx context.Context, spec Spec) (Result, error) {
	defer p.finish()
	if len(spec.Argv) == 0 || !filepath.IsAbs(spec.Argv[0]) {
		return Result{}, errors.New("sandbox: the command must start with an absolute path")
	}
	if spec.Env == nil {
		spec.Env = BaseEnv()
	}
	limits := p.shape.Limits
	start := time.Now()
	ex := execConfig{Argv: spec.Argv, Env: spec.Env, FileSizeCap: spec.FileSizeCap}
	if err := writeLine(p.config, ex); err != nil {
		p.stdout.Close()
		b, _ := io.ReadAll(p.stderr)
		<-p.done
		return Result{}, fmt.Errorf("sandbox: send command: %w %s %v", err, b, p.cmd.ProcessState)
	}
	p.config.Close()

	var copies sync.WaitGroup
	copyOut := func(w io.Writer, r *os.File) {
		if w == nil {
			w = io.Discard
		}
		copies.Add(1)
		go func() {
			defer copies.Done()
			_, _ = io.Copy(w, r)
		}()
	}
	copyOut(spec.Stdout, p.stdout)
	copyOut(spec.Stderr, p.stderr)
	if spec.Stdin != nil {
		go func() {
			_, _ = io.Copy(p.stdin, spec.Stdin)
			p.stdin.Close()
		}()
	} else {
		p.stdin.Close()
	}

	var timedOut, cancelled bool
	var quotaHit string
	var mu sync.Mutex
	stop := func(why *bool) {
		mu.Lock()
		*why = true
		mu.Unlock()
		p.kill()
	}
	if spec.Timeout > 0 {
		t := time.AfterFunc(spec.Timeout, func() { stop(&timedOut) })
		defer t.Stop()
	}
	ctxStop := context.AfterFunc(ctx, func() { stop(&cancelled) })
	defer ctxStop()
	if !spec.Quota.Zero() {
		wctx, endWatch := context.WithCancel(ctx)
		defer endWatch()
		go WatchQuota(wctx, p.shape.Workspace, spec.Quota, func(e *QuotaError) {
			mu.Lock()
			quotaHit = e.Limit
			mu.Unlock()
			p.kill()
		})
	}

	// The status pipe carries the command's end (or why it could not
	// start) as soon as the command exits; EOF without it means the
	// sandbox's init was killed (timeout, cancellation) or died.
	statusCh := make(chan []byte, 1)
	go func() {
		line, _ := bufio.NewReader(p.status).ReadBytes('\n')
		statusCh <- line
	}()
	statusData := <-statusCh
	if len(statusData) == 0 {
		<-p.done
	}
	// The command has exited. Its pipes reach EOF now, or when the init
	// exits and the kernel kills what the command left running in the
	// background; a short bound guards against the impossible.
	done := make(chan struct{})
	go func() { copies.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		p.stdout.Close()
		p.stderr.Close()
	}

	res := Result{Duration: time.Since(start), Layers: p.layers}
	var ws syscall.WaitStatus
	switch {
	case len(statusData) > 0 && statusData[0] == statusError:
		return Result{}, fmt.Errorf("sandbox: %s", bytes.TrimSpace(statusData[1:]))
	case len(statusData) > 0 && statusData[0] == statusExit:
		var rec exitRecord
		if err := json.Unmarshal(bytes.TrimSpace(statusData[1:]), &rec); err != nil {
			return Result{}, fmt.Errorf("sandbox: read exit record: %w", err)
		}
		ws = syscall.WaitStatus(rec.Status)
		res.UserCPU, res.SysCPU, res.MaxRSS = time.Duration(rec.UserCPU), time.Duration(rec.SysCPU), rec.MaxRSSKiB*1024
		res.Refused = rec.Refused
	default:
		// Killed before the command ended: by the timeout, the context,
		// or (without a record) from outside.
		ws = syscall.WaitStatus(syscall.SIGKILL)
		if ru, ok := p.cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			res.UserCPU, res.SysCPU, res.MaxRSS = time.Duration(ru.Utime.Nano()), time.Duration(ru.Stime.Nano()), ru.Maxrss*1024
		}
	}
	res.ExitCode = ws.ExitStatus()
	var sig syscall.Signal
	if ws.Signaled() {
		sig = ws.Signal()
		res.Signal = unix.SignalName(sig)
		res.ExitCode = -1
	}
	// SIGXFSZ ended the command, or (as shells report it) its child.
	xfsz := sig == syscall.SIGXFSZ || res.ExitCode == 128+int(syscall.SIGXFSZ)
	stats := p.cg.stats()
	mu.Lock()
	switch {
	case timedOut:
		res.Limit = LimitTimeout
	case quotaHit != "":
		res.Limit = quotaHit
	case limits.CPUSeconds > 0 && (sig == syscall.SIGXCPU || (sig == syscall.SIGKILL && res.UserCPU+res.SysCPU >= time.Duration(limits.CPUSeconds)*time.Second)):
		res.Limit = LimitCPU
	case xfsz && spec.FileSizeCap > 0 && (limits.FileSize == 0 || spec.FileSizeCap < limits.FileSize):
		res.Limit = LimitWorkspace // the room left in the quota was the cap
	case xfsz:
		res.Limit = LimitFileSize
	case stats.oomKills > 0:
		res.Limit = LimitMemory
	case stats.pidsMax > 0 && res.ExitCode != 0:
		res.Limit = LimitPids
	}
	if cancelled && res.Limit == "" {
		mu.Unlock()
		return res, fmt.Errorf("sandbox: %w", ctx.Err())
	}
	mu.Unlock()
	if stats.oomKills > 0 {
		res.LimitsHit = append(res.LimitsHit, LimitMemory)
	}
	if stats.pidsMax > 0 {
		res.LimitsHit = append(res.LimitsHit, LimitPids)
	}
	if res.Limit != "" && !contains(res.LimitsHit, res.Limit) {
		res.LimitsHit = append(res.LimitsHit, res.Limit)
	}
	switch {
	case sig == syscall.SIGSYS:
		res.Violation = "seccomp: the command made a forbidden system call and was killed (SIGSYS)"
	case res.ExitCode == 128+int(syscall.SIGSYS):
		// How shells report a child killed by SIGSYS.
		res.Violation = "seccomp: a process in the sandbox made a forbidden system call and was killed (exit status 159 = 128+SIGSYS)"
	case len(res.Refused) > 0:
		res.Violation = "seccomp: refused system calls (EPERM): " + refusedList(res.Refused)
	}
	return res, nil
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// kill ends the sandbox: SIGKILL to the PID namespace's init makes the
// kernel kill every process in the namespace.
func (p *proc) kill() {
	if p.cmd != nil && p.cmd.Process != nil {
		_ = p.cmd.Process.Signal(syscall.SIGKILL)
	}
}

// finish discards the sandbox after a run: at once, or in the background
// for a pool (the result does not wait for the namespaces' teardown).
func (p *proc) finish() {
	if p.cleanups == nil {
		p.discard()
		return
	}
	p.cleanups.Add(1)
	go func() {
		defer p.cleanups.Done()
		p.discard()
	}()
}

// discard kills the sandbox if it still runs, waits for it, and removes
// everything it had on the host.
func (p *proc) discard() {
	p.cleanup.Do(func() {
		for _, f := range []*os.File{p.config, p.status, p.stdin, p.stdout, p.stderr} {
			if f != nil {
				f.Close()
			}
		}
		if p.done != nil {
			p.kill()
			<-p.done
		}
		if p.cg != nil {
			p.cg.remove()
		}
	})
}

func writeLine(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

func newID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// mapWorkspace idmaps the workspace's detached mount tree so that its
// owner is the sandbox's root. Where the file system has no idmapped
// mounts the tree goes in as it is (strict mode refuses): the command
// then works there as host uid HostIDBase. Nothing is ever chowned.
func (p *proc) mapWorkspace(tree int, ws string, strict bool) error {
	var st unix.Stat_t
	if err := unix.Fstat(tree, &st); err != nil {
		return fmt.Errorf("sandbox: workspace %s: %w", ws, err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR {
		return fmt.Errorf("sandbox: workspace %s: not a directory", ws)
	}
	ns, err := idmapUserns(st.Uid, st.Gid)
	if err != nil {
		return fmt.Errorf("sandbox: workspace %s: a user namespace for its idmapped mount: %w", ws, err)
	}
	if err := idmapTree(tree, ns); err != nil {
		fs := "its file system"
		var sfs unix.Statfs_t
		if unix.Fstatfs(tree, &sfs) == nil {
			fs = fsName(int64(sfs.Type)) // uint32 on some architectures
		}
		if strict {
			return fmt.Errorf("sandbox: workspace %s: %s cannot be idmapped (%v), so the files the sandbox writes would not stay their owner's "+
				"(required in strict mode): use a workspace on ext4, xfs, btrfs or tmpfs", ws, fs, err)
		}
		p.layers.Workspace = WorkspaceUnmapped
		p.layers.Warnings = append(p.layers.Warnings, fmt.Sprintf("workspace %s: %s cannot be idmapped (%v): the command works there as host uid %d, "+
			"may write only what that uid may, and what it creates belongs to that uid; nothing was chowned", ws, fs, err, HostIDBase))
		return nil
	}
	p.layers.Workspace, p.layers.WorkspaceOwner = WorkspaceIdmapped, fmt.Sprintf("%d:%d", st.Uid, st.Gid)
	if st.Uid >= HostIDBase && st.Uid < HostIDBase+HostIDSize {
		p.layers.Warnings = append(p.layers.Warnings, fmt.Sprintf("workspace %s belongs to host uid %d, in the sandbox's own id range "+
			"(an older Warden handed it over): give it back to its user with chown -R USER: %s", ws, st.Uid, ws))
	}
	return nil
}

// refusedList says "keyctl ×2, add_key" in name order.
func refusedList(n map[string]int) string {
	names := slices.Sorted(maps.Keys(n))
	for i, name := range names {
		if n[name] > 1 {
			names[i] = fmt.Sprintf("%s ×%d", name, n[name])
		}
	}
	return strings.Join(names, ", ")
}
