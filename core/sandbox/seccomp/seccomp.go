// Package seccomp builds and loads the seccomp-bpf allow-list filter that
// Warden puts on sandboxed commands.
//
// The filter is written by hand in classic BPF (no libseccomp, no cgo):
//
//   - a syscall from a foreign audit architecture (and, on amd64, an x32
//     syscall) kills the process;
//   - escape-class syscalls (EscapeSyscalls) kill the process with SIGSYS, so
//     the parent sees the signal and records a violation; so does clone(2)
//     with any namespace flag;
//   - clone3 fails with ENOSYS (glibc then falls back to clone, whose flags
//     the filter can read), and so does openat2 (its mode is in a struct;
//     callers fall back to openat);
//   - memfd_create, socket, socketpair, ioctl and personality are allowed
//     only for some argument values, and fail with EPERM otherwise;
//   - no call may give a file the set-user-id or set-group-id bit (chmod,
//     fchmod, fchmodat, fchmodat2, mknod, mknodat, creat, and open and
//     openat when they create): EPERM;
//   - a broad allow-list of what shells, coreutils, interpreters, compilers
//     and the Go runtime need is allowed;
//   - everything else fails with EPERM; with Options.Notify the refusal goes
//     to a listener first (SECCOMP_RET_USER_NOTIF), which answers EPERM and
//     so learns which calls were refused, except for known probes
//     (io_uring_setup), refused quietly.
//
// The program is a binary search over syscall-number ranges, so a syscall
// costs about ten BPF instructions whatever its number.
//
// Seccomp cannot read paths: which binaries may run is decided by Landlock
// execute rights and noexec mounts, not here.
package seccomp

import "errors"

// ErrUnsupported is returned by Program and Load where no filter is
// available (any OS but Linux, any Linux architecture but amd64 and arm64).
var ErrUnsupported = errors.New("seccomp: unsupported on this platform")

// Options tunes the filter.
type Options struct {
	// Network: when false, socket(2)/socketpair only succeed for AF_UNIX
	// (others get EPERM); when true AF_INET/AF_INET6/AF_UNIX/AF_NETLINK are
	// allowed.
	Network bool
	// Notify: refusals (everything that fails with EPERM) go to a
	// listener instead (SECCOMP_RET_USER_NOTIF; see LoadListener and
	// Serve), which answers EPERM and learns which call was refused.
	Notify bool
}

// quietRefusals fail with EPERM without reaching the listener (Notify):
// programs probe them in ordinary work and fall back when refused, so a
// refusal says nothing about an escape. io_uring_setup: libuv (Node.js)
// and other runtimes try a ring first.
var quietRefusals = []string{"io_uring_setup"}

// EscapeSyscalls lists the syscalls that kill the process (SIGSYS) instead
// of failing, for docs and for the caller's violation report. clone(2) with
// a namespace flag (CLONE_NEWNS, CLONE_NEWUSER, ...) kills too but is not
// listed: plain clone is allowed.
var EscapeSyscalls = append(append([]string(nil), escapeCommon...), escapeArch...)

// escapeCommon lists the escape-class syscalls that exist on every supported
// architecture; escapeArch (per-architecture file) adds the others.
var escapeCommon = []string{
	// Debugging and reading or writing other processes.
	"ptrace", "process_vm_readv", "process_vm_writev", "kcmp", "pidfd_getfd",
	// Mounts, root changes and namespaces.
	"mount", "umount2", "pivot_root", "chroot", "unshare", "setns",
	"fsopen", "fsconfig", "fsmount", "fspick", "move_mount", "open_tree",
	"open_tree_attr", "mount_setattr",
	// File handles bypass path-based checks.
	"open_by_handle_at", "name_to_handle_at",
	// Kernel code, kernel state and the machine.
	"kexec_load", "kexec_file_load", "init_module", "finit_module",
	"delete_module", "reboot", "bpf", "perf_event_open", "userfaultfd",
	"swapon", "swapoff", "acct", "quotactl", "quotactl_fd", "lookup_dcookie",
	"syslog", "vhangup",
	// Kernel keyrings.
	"keyctl", "add_key", "request_key",
	// io_uring runs syscalls that seccomp never sees. io_uring_setup itself
	// is denied with EPERM, not listed here: runtimes such as libuv (Node.js)
	// probe it and fall back to plain syscalls, and without a ring the
	// other two have nothing to act on.
	"io_uring_enter", "io_uring_register",
	// Clocks and host identity.
	"settimeofday", "clock_settime", "clock_adjtime", "adjtimex",
	"sethostname", "setdomainname",
}
