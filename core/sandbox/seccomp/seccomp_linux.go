//go:build linux && (amd64 || arm64)

package seccomp

import (
	"fmt"
	"slices"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Return values.
const (
	retAllow  = unix.SECCOMP_RET_ALLOW
	retKill   = unix.SECCOMP_RET_KILL_PROCESS
	retEPERM  = unix.SECCOMP_RET_ERRNO | uint32(unix.EPERM)
	retENOSYS = unix.SECCOMP_RET_ERRNO | uint32(unix.ENOSYS)
	retNotify = unix.SECCOMP_RET_USER_NOTIF
)

// deny is how the filter refuses: EPERM, or with Notify a question to
// the listener, which answers EPERM.
func (o Options) deny() uint32 {
	if o.Notify {
		return retNotify
	}
	return retEPERM
}

// Offsets into struct seccomp_data. Arguments are 64-bit and BPF loads
// 32-bit words: argLow(i) is the low word on these little-endian
// architectures. Every argument the rules read is an int or unsigned int in
// the kernel (clone flags are truncated to 32 bits by kernel_clone), so the
// high word cannot change the kernel's decision and is not checked.
const (
	offNr   = 0
	offArch = 4
)

func argLow(i int) uint32 { return uint32(16 + 8*i) }

// maxInsns is BPF_MAXINSNS, the kernel's limit on one program.
const maxInsns = 4096

// nsFlags are the clone flags that create a namespace; clone with any of
// them kills the process.
const nsFlags = unix.CLONE_NEWNS | unix.CLONE_NEWUSER | unix.CLONE_NEWPID |
	unix.CLONE_NEWNET | unix.CLONE_NEWIPC | unix.CLONE_NEWUTS |
	unix.CLONE_NEWCGROUP | unix.CLONE_NEWTIME

// Personalities allowed: PER_LINUX, and 0xffffffff, which reads the persona
// without changing it.
const (
	perLinux = 0
	perQuery = 0xffffffff
)

// action is what the filter does with one syscall number.
type action int

const (
	actDeny        action = iota // ERRNO(EPERM), the default
	actAllow                     // ALLOW
	actKill                      // KILL_PROCESS
	actENOSYS                    // ERRNO(ENOSYS)
	actClone                     // clone: kill on namespace flags
	actMemfd                     // memfd_create: MFD_NOEXEC_SEAL only
	actSocket                    // socket, socketpair: by domain
	actIoctl                     // ioctl: no TIOCSTI, TIOCLINUX
	actPersonality               // personality: PER_LINUX or query
	actQuietDeny                 // ERRNO(EPERM) even with Notify: a known probe
	actMode1                     // mode in arg1: no S_ISUID, S_ISGID
	actMode2                     // mode in arg2: no S_ISUID, S_ISGID
	actOpen                      // open: flags arg1, mode arg2, checked when creating
	actOpenat                    // openat: flags arg2, mode arg3, checked when creating
)

// setIDBits are S_ISUID and S_ISGID. No file the command creates or
// changes may carry them: a set-user-id file in the workspace would
// belong to the workspace's owner on the host (an idmapped mount), and
// would run as that owner for whoever executes it outside the sandbox.
const setIDBits = unix.S_ISUID | unix.S_ISGID

// creating are the open flags that create a file, and so use the mode.
const creating = unix.O_CREAT | (unix.O_TMPFILE &^ unix.O_DIRECTORY)

// Program returns the BPF program for runtime.GOARCH.
func Program(opts Options) ([]SockFilter, error) {
	actions, err := policy()
	if err != nil {
		return nil, err
	}
	prog := header()
	prog = append(prog, tree(ranges(actions), opts)...)
	if len(prog) > maxInsns {
		return nil, fmt.Errorf("seccomp: program has %d instructions, the kernel takes at most %d", len(prog), maxInsns)
	}
	return prog, nil
}

// Prepare returns the seccomp(2) header for prog, so that LoadPrepared has
// nothing left to build. prog must stay alive and unmodified until
// LoadPrepared returns.
func Prepare(prog []SockFilter) *SockFprog {
	p := &SockFprog{Len: uint16(len(prog))}
	if len(prog) > 0 && len(prog) <= maxInsns {
		p.Filter = &prog[0]
	}
	return p
}

// LoadPrepared installs the program p on the calling thread with
// seccomp(SECCOMP_SET_MODE_FILTER, 0, p). It makes one raw syscall and
// never allocates; it returns 0 on success. The caller must have set
// no_new_privs on this thread (or hold CAP_SYS_ADMIN) and, to filter the
// command, call execve next from the same locked OS thread.
func LoadPrepared(p *SockFprog) syscall.Errno {
	if p == nil || p.Filter == nil || p.Len == 0 {
		return unix.EINVAL
	}
	_, _, errno := unix.RawSyscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, 0, uintptr(unsafe.Pointer(p)))
	return errno
}

// Load installs prog on the calling thread, like LoadPrepared. It does not
// allocate, even when it fails: the error is the bare syscall.Errno
// (EINVAL for an empty or oversized program, EACCES without no_new_privs).
//
// A killed command dies by SIGSYS, whose default action dumps core: set
// RLIMIT_CORE to 0 before execve unless cores are wanted.
func Load(prog []SockFilter) error {
	if len(prog) == 0 || len(prog) > maxInsns {
		return unix.EINVAL
	}
	fprog := SockFprog{Len: uint16(len(prog)), Filter: &prog[0]}
	_, _, errno := unix.RawSyscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, 0, uintptr(unsafe.Pointer(&fprog)))
	if errno != 0 {
		return errno
	}
	return nil
}

// policy resolves the named policy to an action per syscall number.
func policy() (map[uint32]action, error) {
	actions := make(map[uint32]action)
	add := func(name string, act action) error {
		nr, ok := sysnums[name]
		if !ok {
			return fmt.Errorf("seccomp: policy names unknown syscall %q on this architecture", name)
		}
		if prev, dup := actions[nr]; dup && prev != act {
			return fmt.Errorf("seccomp: policy lists syscall %q twice", name)
		}
		actions[nr] = act
		return nil
	}
	lists := []struct {
		names []string
		act   action
	}{
		{allowCommon, actAllow},
		{archAllow, actAllow},
		{escapeCommon, actKill},
		{escapeArch, actKill},
		{[]string{nameClone}, actClone},
		{[]string{nameClone3, nameOpenat2}, actENOSYS},
		{[]string{nameMemfd}, actMemfd},
		{[]string{nameSocket, nameSocketpair}, actSocket},
		{[]string{nameIoctl}, actIoctl},
		{[]string{namePersonality}, actPersonality},
		{quietRefusals, actQuietDeny},
	}
	for _, l := range lists {
		for _, name := range l.names {
			if err := add(name, l.act); err != nil {
				return nil, err
			}
		}
	}
	for _, m := range []map[string]action{modeCommon, modeArch} {
		for name, act := range m {
			if err := add(name, act); err != nil {
				return nil, err
			}
		}
	}
	return actions, nil
}

// span is the syscall numbers [lo, next span's lo) that share one action.
type span struct {
	lo  uint32
	act action
}

// ranges turns the per-number actions into sorted spans covering every
// 32-bit number; numbers the policy does not name are denied.
func ranges(actions map[uint32]action) []span {
	nrs := make([]uint32, 0, len(actions))
	for nr := range actions {
		nrs = append(nrs, nr)
	}
	slices.Sort(nrs)

	spans := []span{{lo: 0, act: actDeny}}
	set := func(lo uint32, act action) {
		last := &spans[len(spans)-1]
		switch {
		case last.lo == lo:
			last.act = act
			// Merging into the previous span keeps the list minimal.
			if n := len(spans); n > 1 && spans[n-2].act == act {
				spans = spans[:n-1]
			}
		case last.act != act:
			spans = append(spans, span{lo: lo, act: act})
		}
	}
	for _, nr := range nrs {
		set(nr, actions[nr])
		if nr != ^uint32(0) {
			set(nr+1, actDeny)
		}
	}
	return spans
}

// header checks the architecture and loads the syscall number into A.
func header() []SockFilter {
	prog := []SockFilter{
		ldAbs(offArch),
		jeq(nativeArch, 1, 0),
		ret(retKill),
		ldAbs(offNr),
	}
	if x32Bit != 0 {
		// x32 syscalls reach the same entry points with another number
		// space. nr == -1 (a syscall skipped by a tracer) is denied, not
		// treated as x32.
		prog = append(prog,
			jset(x32Bit, 0, 3),
			jeq(^uint32(0), 0, 1),
			ret(retEPERM),
			ret(retKill),
		)
	}
	return prog
}

// tree emits a binary search over spans with the syscall number in A. Each
// subtree ends in return instructions only, so subtrees are laid out one
// after the other and never jump back or out.
func tree(spans []span, opts Options) []SockFilter {
	if len(spans) == 1 {
		return leaf(spans[0].act, opts)
	}
	mid := len(spans) / 2
	left := tree(spans[:mid], opts)
	right := tree(spans[mid:], opts)
	var prog []SockFilter
	if len(left) <= 0xff {
		// A >= lo: skip the left subtree.
		prog = append(prog, jge(spans[mid].lo, uint8(len(left)), 0))
	} else {
		// Conditional offsets are 8 bits: go through a long jump.
		prog = append(prog, jge(spans[mid].lo, 0, 1), ja(uint32(len(left))))
	}
	prog = append(prog, left...)
	return append(prog, right...)
}

// leaf emits the code for one action; every path ends in a return.
func leaf(act action, opts Options) []SockFilter {
	switch act {
	case actAllow:
		return []SockFilter{ret(retAllow)}
	case actKill:
		return []SockFilter{ret(retKill)}
	case actENOSYS:
		return []SockFilter{ret(retENOSYS)}
	case actQuietDeny:
		return []SockFilter{ret(retEPERM)}
	case actClone:
		// Flags are arg0 of clone on both amd64 and arm64.
		return []SockFilter{
			ldAbs(argLow(0)),
			jset(nsFlags, 0, 1),
			ret(retKill),
			ret(retAllow),
		}
	case actMemfd:
		return []SockFilter{
			ldAbs(argLow(1)),
			jset(unix.MFD_NOEXEC_SEAL, 0, 1),
			ret(retAllow),
			ret(opts.deny()),
		}
	case actSocket:
		domains := []uint32{unix.AF_UNIX}
		if opts.Network {
			domains = append(domains, unix.AF_INET, unix.AF_INET6, unix.AF_NETLINK)
		}
		prog := []SockFilter{ldAbs(argLow(0))}
		for i, d := range domains {
			// Jump over the remaining tests and the EPERM return.
			prog = append(prog, jeq(d, uint8(len(domains)-i), 0))
		}
		return append(prog, ret(opts.deny()), ret(retAllow))
	case actIoctl:
		return []SockFilter{
			ldAbs(argLow(1)),
			jeq(unix.TIOCSTI, 1, 0),
			jeq(unix.TIOCLINUX, 0, 1),
			ret(opts.deny()),
			ret(retAllow),
		}
	case actMode1, actMode2:
		arg := 1
		if act == actMode2 {
			arg = 2
		}
		return []SockFilter{
			ldAbs(argLow(arg)),
			jset(setIDBits, 0, 1),
			ret(opts.deny()),
			ret(retAllow),
		}
	case actOpen, actOpenat:
		flags, mode := 1, 2
		if act == actOpenat {
			flags, mode = 2, 3
		}
		return []SockFilter{
			ldAbs(argLow(flags)),
			jset(creating, 0, 3),
			ldAbs(argLow(mode)),
			jset(setIDBits, 0, 1),
			ret(opts.deny()),
			ret(retAllow),
		}
	case actPersonality:
		return []SockFilter{
			ldAbs(argLow(0)),
			jeq(perLinux, 1, 0),
			jeq(perQuery, 0, 1),
			ret(retAllow),
			ret(opts.deny()),
		}
	default:
		return []SockFilter{ret(opts.deny())}
	}
}

func ldAbs(off uint32) SockFilter {
	return SockFilter{Code: unix.BPF_LD | unix.BPF_W | unix.BPF_ABS, K: off}
}

func jeq(k uint32, jt, jf uint8) SockFilter {
	return SockFilter{Code: unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K, Jt: jt, Jf: jf, K: k}
}

func jge(k uint32, jt, jf uint8) SockFilter {
	return SockFilter{Code: unix.BPF_JMP | unix.BPF_JGE | unix.BPF_K, Jt: jt, Jf: jf, K: k}
}

func jset(k uint32, jt, jf uint8) SockFilter {
	return SockFilter{Code: unix.BPF_JMP | unix.BPF_JSET | unix.BPF_K, Jt: jt, Jf: jf, K: k}
}

func ja(k uint32) SockFilter {
	return SockFilter{Code: unix.BPF_JMP | unix.BPF_JA, K: k}
}

func ret(k uint32) SockFilter {
	return SockFilter{Code: unix.BPF_RET | unix.BPF_K, K: k}
}
