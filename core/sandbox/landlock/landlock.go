// Package landlock restricts the filesystem, TCP and signal access of the
// calling thread with the Landlock LSM, written directly on the raw system
// calls (landlock_create_ruleset, landlock_add_rule, landlock_restrict_self).
//
// The sandbox calls Restrict in a re-executed child, on a goroutine locked to
// its OS thread, and then execs the sandboxed command from that same thread:
// Landlock domains and no_new_privs are per thread, and the exec'd program
// inherits them from the thread that called execve.
//
// Restrict is best effort across kernel versions: it handles every right the
// running kernel's Landlock ABI knows, drops the rest, and reports what it
// put in force (Enforced) so callers can say which layer is missing.
package landlock

import (
	"errors"
	"fmt"
	"strings"
)

// ErrUnsupported is returned by Restrict when the kernel has no usable
// Landlock (not built in, disabled at boot, or not Linux).
var ErrUnsupported = errors.New("landlock: not supported by this kernel")

// Access is a set of filesystem rights: the LANDLOCK_ACCESS_FS_* bits.
type Access uint64

// Filesystem rights, with the kernel's values (include/uapi/linux/landlock.h).
const (
	Execute    Access = 1 << 0  // execute a file (ABI 1)
	WriteFile  Access = 1 << 1  // open a file for writing (ABI 1)
	ReadFile   Access = 1 << 2  // open a file for reading (ABI 1)
	ReadDir    Access = 1 << 3  // list a directory (ABI 1)
	RemoveDir  Access = 1 << 4  // remove an empty directory (ABI 1)
	RemoveFile Access = 1 << 5  // unlink a file (ABI 1)
	MakeChar   Access = 1 << 6  // create a character device (ABI 1)
	MakeDir    Access = 1 << 7  // create a directory (ABI 1)
	MakeReg    Access = 1 << 8  // create a regular file (ABI 1)
	MakeSock   Access = 1 << 9  // create a unix socket (ABI 1)
	MakeFifo   Access = 1 << 10 // create a named pipe (ABI 1)
	MakeBlock  Access = 1 << 11 // create a block device (ABI 1)
	MakeSym    Access = 1 << 12 // create a symbolic link (ABI 1)
	Refer      Access = 1 << 13 // link or rename a file into another directory (ABI 2)
	Truncate   Access = 1 << 14 // truncate a file (ABI 3)
	IoctlDev   Access = 1 << 15 // ioctl on a character or block device (ABI 5)
)

// Convenience sets.
const (
	// ReadOnly reads files and lists directories.
	ReadOnly = ReadFile | ReadDir
	// ReadExec also executes files: for /usr, /bin, /lib*.
	ReadExec = ReadOnly | Execute
	// ReadWrite is a workspace: everything but execute and device nodes.
	// It carries Refer, so a rename between two ReadWrite directories works
	// instead of failing with EXDEV.
	ReadWrite = ReadOnly | WriteFile | RemoveDir | RemoveFile | MakeDir | MakeReg |
		MakeSym | MakeSock | MakeFifo | Refer | Truncate
	// ReadWriteExec is a workspace whose files may also be executed.
	ReadWriteExec = ReadWrite | Execute
	// DevRW is for device files such as /dev/null, /dev/zero, /dev/tty.
	DevRW = ReadFile | WriteFile | IoctlDev
)

const (
	// allFS is every filesystem right this package knows.
	allFS Access = 1<<16 - 1
	// fileRights are the rights a rule on a non-directory may carry (the
	// kernel's ACCESS_FILE); the others only make sense beneath a directory.
	fileRights = Execute | WriteFile | ReadFile | Truncate | IoctlDev
)

var accessNames = [...]string{
	"execute", "write_file", "read_file", "read_dir", "remove_dir", "remove_file",
	"make_char", "make_dir", "make_reg", "make_sock", "make_fifo", "make_block",
	"make_sym", "refer", "truncate", "ioctl_dev",
}

// String lists the rights by their kernel names, comma separated
// ("read_file,read_dir"); unknown bits are shown in hex, the empty set as
// "none".
func (a Access) String() string {
	if a == 0 {
		return "none"
	}
	var names []string
	for i, name := range accessNames {
		if a&(1<<i) != 0 {
			names = append(names, name)
		}
	}
	if rest := a &^ allFS; rest != 0 {
		names = append(names, fmt.Sprintf("%#x", uint64(rest)))
	}
	return strings.Join(names, ",")
}

// PathRule grants Access beneath Path (a directory) or on Path itself (any
// other file).
type PathRule struct {
	Path   string
	Access Access
}

// Ruleset is what Restrict puts in force. Every filesystem right the kernel
// knows is handled, so anything not granted by Paths is denied.
type Ruleset struct {
	Paths []PathRule
	// DenyTCP: on ABI >= 4 handle TCP bind and connect with no rules, so
	// every TCP bind and connect is refused (EACCES). UDP is not covered.
	DenyTCP bool
	// EphemeralBindOnly: on ABI >= 4, without DenyTCP, handle TCP bind
	// with one rule for port 0: a TCP socket may bind only a port the
	// kernel picks, never listen on a chosen one (EACCES); connect stays
	// free. UDP is not covered.
	EphemeralBindOnly bool
	// Scope: on ABI >= 6 forbid signals to processes outside the domain and
	// connecting to abstract unix sockets created outside it (EPERM).
	Scope bool
}

// Enforced reports what Restrict puts in force on a kernel with a given ABI.
type Enforced struct {
	ABI int
	// HandledFS are the filesystem rights denied unless a rule grants them.
	// Below ABI 2 Refer cannot be handled and the kernel then refuses every
	// rename or link into another directory (EXDEV); below ABI 3 truncate is
	// always allowed; below ABI 5 device ioctls are always allowed.
	HandledFS Access
	// TCP is true when TCP bind and connect are refused.
	TCP bool
	// EphemeralBind is true when TCP may bind only port 0.
	EphemeralBind bool
	// Scope is true when signals and abstract unix sockets are scoped.
	Scope bool
}

// Minimum ABI for each feature.
const (
	abiRefer    = 2
	abiTruncate = 3
	abiNet      = 4
	abiIoctlDev = 5
	abiScope    = 6
)

// handledFS returns the filesystem rights a kernel with the given ABI knows.
func handledFS(abi int) Access {
	if abi < 1 {
		return 0
	}
	a := allFS
	if abi < abiIoctlDev {
		a &^= IoctlDev
	}
	if abi < abiTruncate {
		a &^= Truncate
	}
	if abi < abiRefer {
		a &^= Refer
	}
	return a
}

// Plan reports what Restrict(r) enforces on a kernel with the given ABI;
// abi 0 means no Landlock, so nothing is enforced.
func Plan(r Ruleset, abi int) Enforced {
	if abi < 1 {
		return Enforced{}
	}
	return Enforced{
		ABI:           abi,
		HandledFS:     handledFS(abi),
		TCP:           r.DenyTCP && abi >= abiNet,
		EphemeralBind: !r.DenyTCP && r.EphemeralBindOnly && abi >= abiNet,
		Scope:         r.Scope && abi >= abiScope,
	}
}
