//go:build linux && (amd64 || arm64)

package seccomp

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"testing"

	"golang.org/x/sys/unix"
)

// This file checks the program's decisions with a small interpreter for the
// classic BPF subset that the builder emits, without loading anything.

// seccompData mirrors struct seccomp_data.
type seccompData struct {
	nr   uint32
	arch uint32
	args [6]uint64
}

func (d seccompData) bytes() []byte {
	b := make([]byte, 64)
	binary.LittleEndian.PutUint32(b[0:], d.nr)
	binary.LittleEndian.PutUint32(b[4:], d.arch)
	binary.LittleEndian.PutUint64(b[8:], 0x7fff_0000_1234) // instruction pointer
	for i, a := range d.args {
		binary.LittleEndian.PutUint64(b[16+8*i:], a)
	}
	return b
}

// verify applies the kernel's static checks that matter here: known
// opcodes, jumps that stay inside the program, aligned loads inside
// seccomp_data, and a return as the last instruction.
func verify(prog []SockFilter) error {
	if len(prog) == 0 || len(prog) > maxInsns {
		return fmt.Errorf("length %d", len(prog))
	}
	for pc, ins := range prog {
		switch ins.Code {
		case unix.BPF_LD | unix.BPF_W | unix.BPF_ABS:
			if ins.K%4 != 0 || ins.K+4 > 64 {
				return fmt.Errorf("pc %d: load at offset %d", pc, ins.K)
			}
		case unix.BPF_JMP | unix.BPF_JA:
			if pc+1+int(ins.K) >= len(prog) {
				return fmt.Errorf("pc %d: ja out of range", pc)
			}
		case unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K,
			unix.BPF_JMP | unix.BPF_JGE | unix.BPF_K,
			unix.BPF_JMP | unix.BPF_JSET | unix.BPF_K:
			if pc+1+int(max(ins.Jt, ins.Jf)) >= len(prog) {
				return fmt.Errorf("pc %d: jump out of range", pc)
			}
		case unix.BPF_RET | unix.BPF_K:
		default:
			return fmt.Errorf("pc %d: unexpected opcode %#x", pc, ins.Code)
		}
	}
	if last := prog[len(prog)-1]; last.Code != unix.BPF_RET|unix.BPF_K {
		return errors.New("last instruction is not a return")
	}
	return nil
}

// run interprets prog on d and returns the filter's verdict.
func run(prog []SockFilter, d seccompData) (uint32, error) {
	data := d.bytes()
	var a uint32
	for pc, steps := 0, 0; pc < len(prog); steps++ {
		if steps > len(prog) {
			return 0, errors.New("loop")
		}
		ins := prog[pc]
		switch ins.Code {
		case unix.BPF_LD | unix.BPF_W | unix.BPF_ABS:
			a = binary.LittleEndian.Uint32(data[ins.K:])
			pc++
		case unix.BPF_JMP | unix.BPF_JA:
			pc += 1 + int(ins.K)
		case unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K:
			pc += 1 + int(branch(a == ins.K, ins))
		case unix.BPF_JMP | unix.BPF_JGE | unix.BPF_K:
			pc += 1 + int(branch(a >= ins.K, ins))
		case unix.BPF_JMP | unix.BPF_JSET | unix.BPF_K:
			pc += 1 + int(branch(a&ins.K != 0, ins))
		case unix.BPF_RET | unix.BPF_K:
			return ins.K, nil
		default:
			return 0, fmt.Errorf("pc %d: opcode %#x", pc, ins.Code)
		}
	}
	return 0, errors.New("fell off the end")
}

func branch(cond bool, ins SockFilter) uint8 {
	if cond {
		return ins.Jt
	}
	return ins.Jf
}

func verdictName(v uint32) string {
	switch v {
	case retAllow:
		return "allow"
	case retKill:
		return "kill"
	case retEPERM:
		return "EPERM"
	case retENOSYS:
		return "ENOSYS"
	case retNotify:
		return "notify"
	}
	return fmt.Sprintf("%#x", v)
}

func mustProgram(t *testing.T, opts Options) []SockFilter {
	t.Helper()
	prog, err := Program(opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := verify(prog); err != nil {
		t.Fatalf("program does not verify: %v", err)
	}
	return prog
}

func nr(t *testing.T, name string) uint32 {
	t.Helper()
	n, ok := sysnums[name]
	if !ok {
		t.Fatalf("no number for %q", name)
	}
	return n
}

func decide(t *testing.T, prog []SockFilter, d seccompData) string {
	t.Helper()
	v, err := run(prog, d)
	if err != nil {
		t.Fatalf("nr %d arch %#x: %v", d.nr, d.arch, err)
	}
	return verdictName(v)
}

func TestProgramSize(t *testing.T) {
	for _, network := range []bool{false, true} {
		prog := mustProgram(t, Options{Network: network})
		t.Logf("Network=%v: %d instructions", network, len(prog))
		if len(prog) >= maxInsns {
			t.Errorf("Network=%v: %d instructions, want < %d", network, len(prog), maxInsns)
		}
	}
}

func TestForeignArchKills(t *testing.T) {
	prog := mustProgram(t, Options{Network: true})
	foreign := []uint32{unix.AUDIT_ARCH_I386, unix.AUDIT_ARCH_X86_64, unix.AUDIT_ARCH_AARCH64,
		unix.AUDIT_ARCH_ARM, unix.AUDIT_ARCH_RISCV64, 0}
	for _, arch := range foreign {
		if arch == nativeArch {
			continue
		}
		for _, n := range []uint32{0, 1, 59, 221, 0xffffffff} {
			if got := decide(t, prog, seccompData{nr: n, arch: arch}); got != "kill" {
				t.Errorf("arch %#x nr %d: %s, want kill", arch, n, got)
			}
		}
	}
}

func TestX32Kills(t *testing.T) {
	if x32Bit == 0 {
		t.Skip("no x32 on this architecture")
	}
	prog := mustProgram(t, Options{})
	for _, name := range []string{"read", "getpid", "execve", "ptrace"} {
		d := seccompData{nr: nr(t, name) | x32Bit, arch: nativeArch}
		if got := decide(t, prog, d); got != "kill" {
			t.Errorf("x32 %s: %s, want kill", name, got)
		}
	}
	if got := decide(t, prog, seccompData{nr: 0xffffffff, arch: nativeArch}); got != "EPERM" {
		t.Errorf("nr -1: %s, want EPERM", got)
	}
}

func TestPlainDecisions(t *testing.T) {
	prog := mustProgram(t, Options{})
	check := func(names []string, want string) {
		t.Helper()
		for _, name := range names {
			if got := decide(t, prog, seccompData{nr: nr(t, name), arch: nativeArch}); got != want {
				t.Errorf("%s: %s, want %s", name, got, want)
			}
		}
	}
	check(allowCommon, "allow")
	check(archAllow, "allow")
	check(EscapeSyscalls, "kill")
	check([]string{"clone3", "openat2"}, "ENOSYS")
	// Unlisted syscalls (not in sysnums, which holds only the policy's
	// names) and numbers no kernel has yet.
	unlisted := []uint32{unix.SYS_CAPSET, unix.SYS_FANOTIFY_INIT, unix.SYS_FANOTIFY_MARK,
		unix.SYS_LANDLOCK_CREATE_RULESET, unix.SYS_LANDLOCK_RESTRICT_SELF,
		unix.SYS_PROCESS_MADVISE, unix.SYS_MEMFD_SECRET, unix.SYS_MOVE_PAGES,
		unix.SYS_MIGRATE_PAGES, unix.SYS_LSM_GET_SELF_ATTR, unix.SYS_STATMOUNT,
		unix.SYS_LISTMOUNT, unix.SYS_LISTNS, unix.SYS_PROCESS_MRELEASE, unix.SYS_NFSSERVCTL,
		unix.SYS_IO_URING_SETUP,
		600, 1000, 0xffff, 0x3fffffff}
	for _, n := range unlisted {
		if got := decide(t, prog, seccompData{nr: n, arch: nativeArch}); got != "EPERM" {
			t.Errorf("nr %d: %s, want EPERM", n, got)
		}
	}
}

// TestTreeMatchesPolicy checks every number up to past the highest
// syscall against the policy table, so the search tree cannot misplace a
// range boundary.
func TestTreeMatchesPolicy(t *testing.T) {
	prog := mustProgram(t, Options{})
	actions, err := policy()
	if err != nil {
		t.Fatal(err)
	}
	// With all arguments zero: clone has no namespace flag, memfd_create
	// lacks MFD_NOEXEC_SEAL, socket domain 0 is not AF_UNIX, ioctl 0 is
	// harmless and personality 0 is PER_LINUX.
	want := map[action]string{
		actDeny: "EPERM", actAllow: "allow", actKill: "kill", actENOSYS: "ENOSYS",
		actClone: "allow", actMemfd: "EPERM", actSocket: "EPERM", actIoctl: "allow",
		actPersonality: "allow", actQuietDeny: "EPERM",
		actMode1: "allow", actMode2: "allow", actOpen: "allow", actOpenat: "allow",
	}
	for n := uint32(0); n < 1024; n++ {
		if got := decide(t, prog, seccompData{nr: n, arch: nativeArch}); got != want[actions[n]] {
			t.Errorf("nr %d: %s, want %s", n, got, want[actions[n]])
		}
	}

	// With Notify every refusal goes to the listener, except the quiet
	// ones; nothing else changes.
	notify := mustProgram(t, Options{Notify: true})
	want[actDeny], want[actMemfd], want[actSocket] = "notify", "notify", "notify"
	for n := uint32(0); n < 1024; n++ {
		if got := decide(t, notify, seccompData{nr: n, arch: nativeArch}); got != want[actions[n]] {
			t.Errorf("notify: nr %d: %s, want %s", n, got, want[actions[n]])
		}
	}
	if got := decide(t, notify, seccompData{nr: unix.SYS_IO_URING_SETUP, arch: nativeArch}); got != "EPERM" {
		t.Errorf("notify: io_uring_setup: %s, want a quiet EPERM", got)
	}
}

func TestSpansAreMinimal(t *testing.T) {
	actions, err := policy()
	if err != nil {
		t.Fatal(err)
	}
	spans := ranges(actions)
	if spans[0].lo != 0 {
		t.Fatalf("first span starts at %d", spans[0].lo)
	}
	for i := 1; i < len(spans); i++ {
		if spans[i].lo <= spans[i-1].lo || spans[i].act == spans[i-1].act {
			t.Errorf("spans %d and %d: %+v %+v", i-1, i, spans[i-1], spans[i])
		}
	}
	t.Logf("%d spans", len(spans))
}

func TestPolicyListsAreDisjoint(t *testing.T) {
	seen := map[string]string{}
	lists := map[string][]string{"allowCommon": allowCommon, "archAllow": archAllow,
		"escapeCommon": escapeCommon, "escapeArch": escapeArch,
		"special": {nameClone, nameClone3, nameOpenat2, nameMemfd, nameSocket, nameSocketpair, nameIoctl, namePersonality}}
	for _, m := range []map[string]action{modeCommon, modeArch} {
		for name := range m {
			lists["special"] = append(lists["special"], name)
		}
	}
	for list, names := range lists {
		for _, name := range names {
			if prev, ok := seen[name]; ok {
				t.Errorf("%q is in %s and %s", name, prev, list)
			}
			seen[name] = list
		}
	}
	for _, name := range []string{"fanotify_init", "capset", "landlock_create_ruleset"} {
		if _, ok := seen[name]; ok {
			t.Errorf("%q should be left to the EPERM default", name)
		}
	}
}

func TestCloneFlags(t *testing.T) {
	prog := mustProgram(t, Options{})
	clone := nr(t, "clone")
	ns := []uint64{unix.CLONE_NEWNS, unix.CLONE_NEWUSER, unix.CLONE_NEWPID, unix.CLONE_NEWNET,
		unix.CLONE_NEWIPC, unix.CLONE_NEWUTS, unix.CLONE_NEWCGROUP, unix.CLONE_NEWTIME}
	for _, f := range ns {
		for _, flags := range []uint64{f, f | uint64(unix.SIGCHLD), f | unix.CLONE_VM | unix.CLONE_VFORK} {
			d := seccompData{nr: clone, arch: nativeArch, args: [6]uint64{flags}}
			if got := decide(t, prog, d); got != "kill" {
				t.Errorf("clone(%#x): %s, want kill", flags, got)
			}
		}
	}
	ok := []uint64{
		uint64(unix.SIGCHLD),
		unix.CLONE_VM | unix.CLONE_VFORK | uint64(unix.SIGCHLD),
		unix.CLONE_VM | unix.CLONE_FS | unix.CLONE_FILES | unix.CLONE_SIGHAND | unix.CLONE_THREAD |
			unix.CLONE_SYSVSEM | unix.CLONE_SETTLS | unix.CLONE_PARENT_SETTID | unix.CLONE_CHILD_CLEARTID,
		unix.CLONE_PIDFD | unix.CLONE_VM | unix.CLONE_VFORK,
		0xffffffff_00000000 | uint64(unix.SIGCHLD), // the kernel drops the high word
	}
	for _, flags := range ok {
		d := seccompData{nr: clone, arch: nativeArch, args: [6]uint64{flags}}
		if got := decide(t, prog, d); got != "allow" {
			t.Errorf("clone(%#x): %s, want allow", flags, got)
		}
	}
}

func TestArgumentRules(t *testing.T) {
	type tc struct {
		name    string
		args    [6]uint64
		network string // want with Network false
		want    string // want with Network true
	}
	cases := []tc{
		{"memfd_create", [6]uint64{0, 0}, "EPERM", "EPERM"},
		{"memfd_create", [6]uint64{0, unix.MFD_CLOEXEC}, "EPERM", "EPERM"},
		{"memfd_create", [6]uint64{0, unix.MFD_EXEC}, "EPERM", "EPERM"},
		{"memfd_create", [6]uint64{0, unix.MFD_NOEXEC_SEAL}, "allow", "allow"},
		{"memfd_create", [6]uint64{0, unix.MFD_NOEXEC_SEAL | unix.MFD_CLOEXEC | unix.MFD_ALLOW_SEALING}, "allow", "allow"},
		{"memfd_create", [6]uint64{0, unix.MFD_NOEXEC_SEAL << 32}, "EPERM", "EPERM"},
		{"ioctl", [6]uint64{1, unix.TIOCSTI}, "EPERM", "EPERM"},
		{"ioctl", [6]uint64{1, unix.TIOCLINUX}, "EPERM", "EPERM"},
		{"ioctl", [6]uint64{1, unix.TCGETS}, "allow", "allow"},
		{"ioctl", [6]uint64{1, unix.TIOCGWINSZ}, "allow", "allow"},
		{"ioctl", [6]uint64{1, unix.TIOCINQ}, "allow", "allow"},
		{"personality", [6]uint64{0}, "allow", "allow"},
		{"personality", [6]uint64{0xffffffff}, "allow", "allow"},
		{"personality", [6]uint64{0x0040000}, "EPERM", "EPERM"}, // ADDR_NO_RANDOMIZE
		{"personality", [6]uint64{0x0008}, "EPERM", "EPERM"},    // PER_LINUX32
		{"personality", [6]uint64{0x0400000}, "EPERM", "EPERM"}, // READ_IMPLIES_EXEC
	}
	// No set-user-id or set-group-id bit in a mode; open and openat look
	// at the mode only when they create.
	type modeArg struct {
		name        string
		flags, mode int // argument indexes; flags -1: none
	}
	modes := []modeArg{{"fchmod", -1, 1}, {"fchmodat", -1, 2}, {"fchmodat2", -1, 2}, {"mknodat", -1, 2}, {"openat", 2, 3}}
	if x32Bit != 0 {
		modes = append(modes, modeArg{"chmod", -1, 1}, modeArg{"creat", -1, 1}, modeArg{"mknod", -1, 1}, modeArg{"open", 1, 2})
	}
	for _, m := range modes {
		if m.flags < 0 {
			for mode, want := range map[uint64]string{0o755: "allow", 0o4755: "EPERM", 0o2755: "EPERM", 0o6000: "EPERM",
				0o1777: "allow", unix.S_IFREG | 0o4644: "EPERM", unix.S_IFIFO | 0o644: "allow"} {
				var args [6]uint64
				args[m.mode] = mode
				cases = append(cases, tc{m.name, args, want, want})
			}
			continue
		}
		for _, c := range []struct {
			flags, mode uint64
			want        string
		}{
			{unix.O_RDONLY, 0, "allow"},
			{unix.O_RDONLY, 0o4755, "allow"}, // not creating: the mode is not used
			{unix.O_WRONLY | unix.O_CREAT, 0o644, "allow"},
			{unix.O_WRONLY | unix.O_CREAT, 0o4755, "EPERM"},
			{unix.O_WRONLY | unix.O_CREAT | unix.O_EXCL, 0o2755, "EPERM"},
			{unix.O_RDWR | unix.O_TMPFILE, 0o4700, "EPERM"},
			{unix.O_RDWR | unix.O_TMPFILE, 0o600, "allow"},
		} {
			var args [6]uint64
			args[m.flags], args[m.mode] = c.flags, c.mode
			cases = append(cases, tc{m.name, args, c.want, c.want})
		}
	}
	for _, sc := range []string{"socket", "socketpair"} {
		cases = append(cases,
			tc{sc, [6]uint64{unix.AF_UNIX, unix.SOCK_STREAM}, "allow", "allow"},
			tc{sc, [6]uint64{unix.AF_INET, unix.SOCK_STREAM}, "EPERM", "allow"},
			tc{sc, [6]uint64{unix.AF_INET6, unix.SOCK_DGRAM}, "EPERM", "allow"},
			tc{sc, [6]uint64{unix.AF_NETLINK, unix.SOCK_RAW}, "EPERM", "allow"},
			tc{sc, [6]uint64{unix.AF_PACKET, unix.SOCK_RAW}, "EPERM", "EPERM"},
			tc{sc, [6]uint64{unix.AF_VSOCK, unix.SOCK_STREAM}, "EPERM", "EPERM"},
			tc{sc, [6]uint64{unix.AF_ALG, unix.SOCK_SEQPACKET}, "EPERM", "EPERM"},
			tc{sc, [6]uint64{0}, "EPERM", "EPERM"},
		)
	}
	progs := map[bool][]SockFilter{false: mustProgram(t, Options{}), true: mustProgram(t, Options{Network: true})}
	for _, c := range cases {
		for network, prog := range progs {
			want := c.network
			if network {
				want = c.want
			}
			d := seccompData{nr: nr(t, c.name), arch: nativeArch, args: c.args}
			if got := decide(t, prog, d); got != want {
				t.Errorf("Network=%v %s(%#o): %s, want %s", network, c.name, c.args[:4], got, want)
			}
		}
	}
}

func TestLongJumps(t *testing.T) {
	// A synthetic policy with many alternating spans forces subtrees past
	// the 255-instruction reach of conditional jumps.
	var spans []span
	for i := uint32(0); i < 2000; i++ {
		spans = append(spans, span{lo: i * 2, act: action(1 + i%3)}) // allow, kill, ENOSYS
	}
	prog := append(header(), tree(spans, Options{})...)
	if err := verify(prog); err != nil {
		t.Fatal(err)
	}
	hasJA := slices.ContainsFunc(prog, func(ins SockFilter) bool { return ins.Code == unix.BPF_JMP|unix.BPF_JA })
	if !hasJA {
		t.Fatal("no long jump emitted")
	}
	want := []string{"allow", "kill", "ENOSYS"}
	for n := uint32(0); n < 4100; n++ {
		i := min(n/2, 1999)
		if got := decide(t, prog, seccompData{nr: n, arch: nativeArch}); got != want[i%3] {
			t.Fatalf("nr %d: %s, want %s", n, got, want[i%3])
		}
	}
}

func TestPrepare(t *testing.T) {
	prog := mustProgram(t, Options{})
	p := Prepare(prog)
	if int(p.Len) != len(prog) || p.Filter != &prog[0] {
		t.Fatalf("Prepare: %+v", p)
	}
	if errno := LoadPrepared(Prepare(nil)); errno != unix.EINVAL {
		t.Fatalf("LoadPrepared(empty): %v, want EINVAL", errno)
	}
	if err := Load(nil); !errors.Is(err, unix.EINVAL) {
		t.Fatalf("Load(nil): %v, want EINVAL", err)
	}
}

func TestLoadFailureDoesNotAllocate(t *testing.T) {
	// A jump past the end is rejected by the kernel (EINVAL, or EACCES
	// without CAP_SYS_ADMIN and no_new_privs) before anything is installed,
	// so this runs in the test process itself.
	bad := []SockFilter{jeq(0, 5, 5), ret(retAllow)}
	var err error
	allocs := testing.AllocsPerRun(100, func() { err = Load(bad) })
	if !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.EACCES) {
		t.Fatalf("Load(bad program): %v, want EINVAL or EACCES", err)
	}
	if allocs != 0 {
		t.Errorf("Load allocates %v times on failure", allocs)
	}
}
