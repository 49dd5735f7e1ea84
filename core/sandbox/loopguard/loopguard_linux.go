//go:build linux

package loopguard

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"runtime"
	"strings"
	"sync"
	"unsafe"

	"golang.org/x/sys/unix"
)

// progLoadAttr is the BPF_PROG_LOAD part of union bpf_attr.
type progLoadAttr struct {
	progType           uint32
	insnCnt            uint32
	insns              uint64
	license            uint64
	logLevel           uint32
	logSize            uint32
	logBuf             uint64
	kernVersion        uint32
	progFlags          uint32
	progName           [16]byte
	progIfindex        uint32
	expectedAttachType uint32
}

// progAttachAttr is the BPF_PROG_ATTACH part of union bpf_attr.
type progAttachAttr struct {
	targetFD     uint32
	attachBPFFD  uint32
	attachType   uint32
	attachFlags  uint32
	replaceBPFFD uint32
}

// program is one loaded program and where it attaches.
type program struct {
	name       string
	attachType uint32
	fd         int
}

// Guard is the loaded programs for one set of rules.
type Guard struct {
	progs []program
}

// Load verifies and loads the programs for r.
func Load(r Rules) (*Guard, error) {
	v4, err := sockAddr4(r)
	if err != nil {
		return nil, err
	}
	v6, err := sockAddr6(r)
	if err != nil {
		return nil, err
	}
	eg, err := egress(r)
	if err != nil {
		return nil, err
	}
	specs := []struct {
		name       string
		progType   uint32
		attachType uint32
		insns      []insn
	}{
		{"warden_conn4", unix.BPF_PROG_TYPE_CGROUP_SOCK_ADDR, unix.BPF_CGROUP_INET4_CONNECT, v4},
		{"warden_conn6", unix.BPF_PROG_TYPE_CGROUP_SOCK_ADDR, unix.BPF_CGROUP_INET6_CONNECT, v6},
		{"warden_send4", unix.BPF_PROG_TYPE_CGROUP_SOCK_ADDR, unix.BPF_CGROUP_UDP4_SENDMSG, v4},
		{"warden_send6", unix.BPF_PROG_TYPE_CGROUP_SOCK_ADDR, unix.BPF_CGROUP_UDP6_SENDMSG, v6},
		{"warden_egress", unix.BPF_PROG_TYPE_CGROUP_SKB, unix.BPF_CGROUP_INET_EGRESS, eg},
	}
	g := &Guard{}
	for _, s := range specs {
		fd, err := loadProgram(s.name, s.progType, s.attachType, s.insns)
		if err != nil {
			g.Close()
			return nil, err
		}
		g.progs = append(g.progs, program{name: s.name, attachType: s.attachType, fd: fd})
	}
	return g, nil
}

// license is the license the programs declare to the kernel, which
// checks it only for GPL-only helpers (these call bpf_skb_load_bytes,
// which is not one).
var license = []byte("GPL\x00")

func loadProgram(name string, progType, attachType uint32, prog []insn) (int, error) {
	attempt := func(log []byte) (int, unix.Errno) {
		attr := progLoadAttr{
			progType:           progType,
			insnCnt:            uint32(len(prog)),
			insns:              uint64(uintptr(unsafe.Pointer(&prog[0]))),
			license:            uint64(uintptr(unsafe.Pointer(&license[0]))),
			expectedAttachType: attachType,
		}
		copy(attr.progName[:15], name)
		if log != nil {
			attr.logLevel, attr.logSize, attr.logBuf = 1, uint32(len(log)), uint64(uintptr(unsafe.Pointer(&log[0])))
		}
		fd, errno := bpf(unix.BPF_PROG_LOAD, unsafe.Pointer(&attr), unsafe.Sizeof(attr))
		runtime.KeepAlive(prog)
		runtime.KeepAlive(log)
		if errno != 0 {
			return -1, errno
		}
		unix.CloseOnExec(int(fd))
		return int(fd), 0
	}
	fd, errno := attempt(nil)
	if errno == 0 {
		return fd, nil
	}
	if errno == unix.EINVAL || errno == unix.EACCES {
		// Load again with the verifier's log, for the error.
		log := make([]byte, 64<<10)
		if _, e2 := attempt(log); e2 != 0 {
			msg := strings.TrimRight(string(log[:clen(log)]), "\n")
			if i := strings.LastIndex(msg, "\n"); i >= 0 && len(msg)-i < 200 {
				msg = msg[i+1:]
			}
			return -1, fmt.Errorf("loopguard: load %s: %w (verifier: %s)", name, errno, msg)
		}
	}
	return -1, fmt.Errorf("loopguard: load %s: %w", name, errno)
}

func clen(b []byte) int {
	for i, c := range b {
		if c == 0 {
			return i
		}
	}
	return len(b)
}

// bpf calls bpf(2), again when a signal interrupted it: the verifier
// gives up with EAGAIN when the thread has a signal pending, and the Go
// runtime signals its threads to preempt goroutines.
func bpf(cmd uintptr, attr unsafe.Pointer, size uintptr) (uintptr, unix.Errno) {
	for attempt := 0; ; attempt++ {
		r, _, errno := unix.Syscall(unix.SYS_BPF, cmd, uintptr(attr), size)
		if (errno == unix.EAGAIN || errno == unix.EINTR) && attempt < 20 {
			continue
		}
		return r, errno
	}
}

// Attach attaches every program to the cgroup (v2) directory open as
// cgroupFD (O_RDONLY, not O_PATH), alongside other programs there. The
// attachments last as long as the cgroup.
func (g *Guard) Attach(cgroupFD int) error {
	for _, p := range g.progs {
		attr := progAttachAttr{targetFD: uint32(cgroupFD), attachBPFFD: uint32(p.fd), attachType: p.attachType, attachFlags: unix.BPF_F_ALLOW_MULTI}
		if _, errno := bpf(unix.BPF_PROG_ATTACH, unsafe.Pointer(&attr), unsafe.Sizeof(attr)); errno != 0 {
			return fmt.Errorf("loopguard: attach %s: %w", p.name, errno)
		}
	}
	return nil
}

// Close releases the programs; attachments keep their own reference.
func (g *Guard) Close() {
	for _, p := range g.progs {
		unix.Close(p.fd)
	}
	g.progs = nil
}

// HostRules reads this host's interface addresses and name servers.
func HostRules() (Rules, error) {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return Rules{}, fmt.Errorf("loopguard: list the host's addresses: %w", err)
	}
	var ifaddrs []netip.Prefix
	for _, a := range addrs {
		if p, err := netip.ParsePrefix(a.String()); err == nil {
			ifaddrs = append(ifaddrs, p)
		}
	}
	var ns []netip.Addr
	if b, err := os.ReadFile("/etc/resolv.conf"); err == nil {
		ns = ParseResolvConf(string(b))
	}
	return NewRules(ifaddrs, ns), nil
}

// current is the guard for the host's present rules, shared by every
// sandbox of this process and reloaded when the rules change.
var current struct {
	mu    sync.Mutex
	key   string
	guard *Guard
}

// AttachCurrent attaches the guard for the host's present addresses and
// name servers to the cgroup open as cgroupFD, loading it first when they
// changed since the last call.
func AttachCurrent(cgroupFD int) error {
	current.mu.Lock()
	defer current.mu.Unlock()
	if err := loadCurrent(); err != nil {
		return err
	}
	return current.guard.Attach(cgroupFD)
}

// loadCurrent (current.mu held) loads the guard for the host's present
// rules unless it is loaded already.
func loadCurrent() error {
	r, err := HostRules()
	if err != nil {
		return err
	}
	key := r.Key()
	if current.guard != nil && key == current.key {
		return nil
	}
	g, err := Load(r)
	if err != nil {
		return err
	}
	if current.guard != nil {
		current.guard.Close()
	}
	current.guard, current.key = g, key
	return nil
}

// Available reports whether the guard can be used here: it loads the
// programs (attaching needs a cgroup, which the caller makes).
func Available() error {
	current.mu.Lock()
	defer current.mu.Unlock()
	return loadCurrent()
}
