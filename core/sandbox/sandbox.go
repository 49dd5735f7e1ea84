// Package sandbox runs one command confined by the kernel: new user, PID,
// mount, network, IPC, UTS and cgroup namespaces, a fresh root with
// read-only system directories, no capabilities, no_new_privs, Landlock
// rules, a seccomp allow-list, resource limits (cgroup v2, v1 or rlimits)
// and a wall-clock timeout that kills the whole PID namespace.
//
// The confinement is set up by a re-executed copy of the running binary
// (see [Init]), which ends by executing the command in place: nothing of
// Warden stays inside the sandbox. The command policy (package policy) is
// a first filter applied before Run; the kernel layers here are the
// boundary. docs/sandbox.md describes both.
package sandbox

import (
	"errors"
	"io"
	"time"
)

// ErrUnsupported is returned on systems without the sandbox.
var ErrUnsupported = errors.New("sandbox unsupported on this OS")

// Spec is one command to run.
type Spec struct {
	// Argv is the command; Argv[0] is an absolute path (the policy
	// resolves names).
	Argv []string
	// Env is the command's whole environment; nothing of the caller's is
	// inherited (see [BaseEnv]).
	Env []string
	// Workspace is the host directory mounted read-write at /workspace,
	// where the command starts. Its ownership is never changed: when
	// Warden runs as root the mount is idmapped so that the directory's
	// owner is the sandbox's root, and files the command creates belong
	// to that owner (see docs/sandbox.md).
	Workspace string
	// WorkspaceExec allows executing files from the workspace.
	WorkspaceExec bool
	// Network keeps the host's network, without this host's own
	// addresses (loopback, the host's interfaces: see Layers.Network);
	// otherwise the command gets an empty network namespace (and
	// Landlock refuses TCP).
	Network bool
	// Timeout ends the command, and everything it started, after this
	// long (0: no timeout beyond ctx).
	Timeout time.Duration
	Limits  Limits
	// Quota bounds the workspace while the command runs: it is ended
	// when the workspace grows past the quota or its disk below the
	// reserve (Result.Limit says which). Check it before a run with
	// Quota.Check.
	Quota Quota
	// FileSizeCap, when set, lowers the largest file the command may
	// write below Limits.FileSize for this run alone: the room left in
	// the workspace's quota, so that no single file overshoots it
	// whatever the watcher's timing.
	FileSizeCap int64
	// Strict makes every layer mandatory: a host without Landlock or a
	// memory/pids cgroup makes Run fail instead of running with less.
	// Namespaces, capability drop, no_new_privs and seccomp are always
	// mandatory.
	Strict bool

	Stdin          io.Reader // nil: /dev/null
	Stdout, Stderr io.Writer // nil: discarded
}

// Limits bound one command's resources; zero values mean the defaults in
// [DefaultLimits].
type Limits struct {
	Memory     int64 // bytes (cgroup; rlimit AS as a loose backstop without one)
	Pids       int   // processes and threads
	CPUSeconds int   // CPU time
	FileSize   int64 // largest file written, bytes
	OpenFiles  int
}

// DefaultLimits are used for zero fields of Limits.
var DefaultLimits = Limits{Memory: 512 << 20, Pids: 256, CPUSeconds: 60, FileSize: 256 << 20, OpenFiles: 1024}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits
	if l.Memory > 0 {
		d.Memory = l.Memory
	}
	if l.Pids > 0 {
		d.Pids = l.Pids
	}
	if l.CPUSeconds > 0 {
		d.CPUSeconds = l.CPUSeconds
	}
	if l.FileSize > 0 {
		d.FileSize = l.FileSize
	}
	if l.OpenFiles > 0 {
		d.OpenFiles = l.OpenFiles
	}
	return d
}

// Limit names in Result.Limit.
const (
	LimitTimeout  = "timeout"
	LimitMemory   = "memory"
	LimitPids     = "pids"
	LimitCPU      = "cpu"
	LimitFileSize = "file_size"
)

// Result is how a command ended.
type Result struct {
	ExitCode int           `json:"exitCode"`         // -1 when killed by a signal
	Signal   string        `json:"signal,omitempty"` // e.g. "SIGKILL"
	Duration time.Duration `json:"durationNs"`
	UserCPU  time.Duration `json:"userCpuNs"`
	SysCPU   time.Duration `json:"sysCpuNs"`
	MaxRSS   int64         `json:"maxRssBytes"`
	// Limit names the limit that ended the command, if one did.
	Limit string `json:"limit,omitempty"`
	// LimitsHit lists every limit the command reached, including ones
	// that held it without ending it (a fork bomb at the pids limit).
	LimitsHit []string `json:"limitsHit,omitempty"`
	// Violation is set when the kernel stopped an escape attempt: the
	// seccomp filter killed the command (SIGSYS), or refused system
	// calls it made (EPERM; see Refused).
	Violation string `json:"violation,omitempty"`
	// Refused counts, by name, the system calls the seccomp filter
	// refused to the command and its children.
	Refused map[string]int `json:"refusedSyscalls,omitempty"`
	Layers  Layers         `json:"layers"`
}

// Layers reports what confined a command.
type Layers struct {
	Namespaces []string `json:"namespaces"`  // user, pid, mount, net, ipc, uts, cgroup
	Seccomp    bool     `json:"seccomp"`     // the allow-list filter
	Landlock   int      `json:"landlockAbi"` // 0: not in force
	Limits     string   `json:"limits"`      // "cgroup2", "cgroup1" or "rlimit"
	UIDMap     string   `json:"uidMap"`      // e.g. "0 100000 65536"
	// Workspace says how the workspace's files keep their owner:
	// WorkspaceIdmapped, WorkspaceOwnIDs or WorkspaceUnmapped.
	Workspace string `json:"workspace"`
	// WorkspaceOwner is the host "uid:gid" that is 0:0 inside the
	// workspace (idmapped or own ids).
	WorkspaceOwner string `json:"workspaceOwner,omitempty"`
	// Network is NetworkNone, NetworkGuarded or NetworkUnguarded.
	Network  string   `json:"network"`
	Warnings []string `json:"warnings,omitempty"` // layers missing in non-strict mode
}

// How the workspace's files keep their owner (Layers.Workspace).
const (
	// WorkspaceIdmapped: an idmapped mount shows the workspace's owner
	// as uid and gid 0 inside, and files created there belong to them.
	WorkspaceIdmapped = "idmapped"
	// WorkspaceOwnIDs: Warden runs without root; the sandbox's uid and
	// gid 0 are the caller's own ids, so files stay the caller's.
	WorkspaceOwnIDs = "own-ids"
	// WorkspaceUnmapped: the workspace's file system has no idmapped
	// mounts; the command works there as host uid HostIDBase (it can
	// write only what that id may), and nothing is chowned.
	WorkspaceUnmapped = "unmapped"
)

// What network a command has (Layers.Network).
const (
	// NetworkNone: an empty network namespace of its own.
	NetworkNone = "none"
	// NetworkGuarded: the host's network, with this host's own addresses
	// refused (the loopback guard: cgroup BPF programs).
	NetworkGuarded = "guarded"
	// NetworkUnguarded: the host's network, this host's own services
	// included (the guard is unavailable; never in strict mode).
	NetworkUnguarded = "unguarded"
)

// BaseEnv is the environment a command starts with: nothing of Warden's
// own environment (no secrets) and fixed, harmless values.
func BaseEnv() []string {
	return []string{
		"PATH=/usr/local/bin:/usr/bin:/bin",
		"HOME=/workspace",
		"TMPDIR=/tmp",
		"LANG=C.UTF-8",
		"TERM=dumb",
		"USER=sandbox",
	}
}

// Sandbox user ids on the host when Warden runs as root: uid and gid 0
// inside map to HostIDBase outside, a range no host account uses.
const (
	HostIDBase = 100000
	HostIDSize = 65536
)
