//go:build linux

package landlock

import (
	"errors"
	"fmt"
	"sync"
	"unsafe"

	"golang.org/x/sys/unix"
)

// rulesetAttr is struct landlock_ruleset_attr up to the field of ABI 6. It
// is declared here rather than taken from unix.LandlockRulesetAttr, whose
// layout follows the newest kernel headers; the size passed to the kernel
// is the smallest that carries the fields in use, since a kernel rejects a
// larger struct unless it knows the extra fields or they are zero.
type rulesetAttr struct {
	handledAccessFS  uint64 // ABI 1
	handledAccessNet uint64 // ABI 4
	scoped           uint64 // ABI 6
}

// netPortAttr is struct landlock_net_port_attr (ABI 4).
type netPortAttr struct {
	allowedAccess uint64
	port          uint64
}

// ruleNetPort is LANDLOCK_RULE_NET_PORT.
const ruleNetPort = 2

const (
	netBindTCP    = unix.LANDLOCK_ACCESS_NET_BIND_TCP
	netConnectTCP = unix.LANDLOCK_ACCESS_NET_CONNECT_TCP
	scopeAll      = unix.LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET | unix.LANDLOCK_SCOPE_SIGNAL
)

var abiOnce = sync.OnceValue(func() int {
	v, _, errno := unix.Syscall(unix.SYS_LANDLOCK_CREATE_RULESET, 0, 0, unix.LANDLOCK_CREATE_RULESET_VERSION)
	if errno != 0 {
		// ENOSYS: not built in; EOPNOTSUPP: disabled at boot.
		return 0
	}
	return int(v)
})

// ABI returns the kernel's Landlock ABI version, 0 when Landlock is not
// built in or disabled at boot.
func ABI() int { return abiOnce() }

// Restrict puts r in force on the calling OS thread: it builds a ruleset
// handling every filesystem right the kernel's ABI knows (and TCP and
// scoping when asked and available), adds the path rules, sets no_new_privs
// and calls landlock_restrict_self.
//
// The caller must hold runtime.LockOSThread, never unlock it, and exec the
// sandboxed program from that thread: the rest of the Go process stays
// unrestricted.
//
// Rights the ABI does not know are dropped from every rule; directory-only
// rights are dropped from rules on non-directories, and a rule left with no
// right is skipped. A path that cannot be opened is an error naming it, and
// nothing is enforced then.
func Restrict(r Ruleset) (Enforced, error) {
	abi := ABI()
	if abi < 1 {
		return Enforced{}, ErrUnsupported
	}
	e := Plan(r, abi)

	for _, p := range r.Paths {
		if p.Path == "" {
			return Enforced{}, errors.New("landlock: rule with an empty path")
		}
		if unknown := p.Access &^ allFS; unknown != 0 {
			return Enforced{}, fmt.Errorf("landlock: rule %s: unknown access bits %#x", p.Path, uint64(unknown))
		}
	}

	attr := rulesetAttr{handledAccessFS: uint64(e.HandledFS)}
	size := unsafe.Offsetof(attr.handledAccessNet)
	if e.TCP {
		attr.handledAccessNet = netBindTCP | netConnectTCP
		size = unsafe.Offsetof(attr.scoped)
	}
	if e.EphemeralBind {
		attr.handledAccessNet = netBindTCP
		size = unsafe.Offsetof(attr.scoped)
	}
	if e.Scope {
		attr.scoped = scopeAll
		size = unsafe.Sizeof(attr)
	}
	fd, _, errno := unix.Syscall(unix.SYS_LANDLOCK_CREATE_RULESET, uintptr(unsafe.Pointer(&attr)), size, 0)
	if errno != 0 {
		return Enforced{}, fmt.Errorf("landlock: create ruleset (abi %d): %w", abi, errno)
	}
	rulesetFD := int(fd)
	defer unix.Close(rulesetFD)

	for _, p := range r.Paths {
		if err := addPathRule(rulesetFD, p, e.HandledFS); err != nil {
			return Enforced{}, err
		}
	}

	if e.EphemeralBind {
		port := netPortAttr{allowedAccess: netBindTCP, port: 0}
		if _, _, errno := unix.Syscall6(unix.SYS_LANDLOCK_ADD_RULE, uintptr(rulesetFD),
			ruleNetPort, uintptr(unsafe.Pointer(&port)), 0, 0, 0); errno != 0 {
			return Enforced{}, fmt.Errorf("landlock: add rule for TCP port 0: %w", errno)
		}
	}

	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return Enforced{}, fmt.Errorf("landlock: set no_new_privs: %w", err)
	}
	if _, _, errno := unix.Syscall(unix.SYS_LANDLOCK_RESTRICT_SELF, uintptr(rulesetFD), 0, 0); errno != 0 {
		return Enforced{}, fmt.Errorf("landlock: restrict self: %w", errno)
	}
	return e, nil
}

// addPathRule adds a path-beneath rule granting p.Access, limited to the
// handled rights and, for a non-directory, to the file rights.
func addPathRule(rulesetFD int, p PathRule, handled Access) error {
	fd, err := unix.Open(p.Path, unix.O_PATH|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("landlock: open rule path %s: %w", p.Path, err)
	}
	defer unix.Close(fd)

	access := p.Access & handled
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return fmt.Errorf("landlock: stat rule path %s: %w", p.Path, err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR {
		access &= fileRights
	}
	if access == 0 {
		// The kernel rejects an empty rule (ENOMSG); it would grant nothing.
		return nil
	}

	attr := unix.LandlockPathBeneathAttr{Allowed_access: uint64(access), Parent_fd: int32(fd)}
	if _, _, errno := unix.Syscall6(unix.SYS_LANDLOCK_ADD_RULE, uintptr(rulesetFD),
		unix.LANDLOCK_RULE_PATH_BENEATH, uintptr(unsafe.Pointer(&attr)), 0, 0, 0); errno != 0 {
		return fmt.Errorf("landlock: add rule %s (%s): %w", p.Path, access, errno)
	}
	return nil
}
