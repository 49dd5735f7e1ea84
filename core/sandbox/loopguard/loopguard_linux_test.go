//go:build linux

package loopguard

import (
	"fmt"
	"net"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"net/netip"
	"os"
	"testing"
)

func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatal("the loopguard tests run as root (scripts/test runs them so, and CI is root)")
	}
}

// The kernel's verifier accepts the programs, with and without local
// name servers of both families.
func TestProgramsLoad(t *testing.T) {
	requireRoot(t)
	ifs := []netip.Prefix{netip.MustParsePrefix("192.0.2.2/24"), netip.MustParsePrefix("fd00::2/64")}
	for name, ns := range map[string][]netip.Addr{
		"none":   nil,
		"remote": {netip.MustParseAddr("10.255.255.53")},
		"local4": {netip.MustParseAddr("127.0.0.53")},
		"local6": {netip.MustParseAddr("::1")},
		"both":   {netip.MustParseAddr("127.0.0.53"), netip.MustParseAddr("::1"), netip.MustParseAddr("192.0.2.2")},
	} {
		t.Run(name, func(t *testing.T) {
			g, err := Load(NewRules(ifs, ns))
			if err != nil {
				t.Fatal(err)
			}
			g.Close()
		})
	}
}

// cgroup2 returns a fresh cgroup v2 directory for one test.
func cgroup2(t *testing.T) string {
	t.Helper()
	for _, root := range []string{"/sys/fs/cgroup", "/sys/fs/cgroup/unified"} {
		var st unix.Statfs_t
		if unix.Statfs(root, &st) == nil && st.Type == unix.CGROUP2_SUPER_MAGIC {
			dir, err := os.MkdirTemp(root, "warden-loopguard-test-")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				for i := 0; i < 100 && unix.Rmdir(dir) == unix.EBUSY; i++ {
					time.Sleep(10 * time.Millisecond)
				}
			})
			return dir
		}
	}
	t.Fatal("no cgroup v2 hierarchy on this host")
	return ""
}

// probeScript tries each "family host port proto" line of its stdin and
// prints "target ok" or "target ERRNONAME".
const probeScript = `
import errno, socket, sys
for line in sys.stdin:
    fam, host, port, proto = line.split()
    f = socket.AF_INET if fam == "4" else socket.AF_INET6
    t = socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM
    s = socket.socket(f, t)
    s.settimeout(1)
    try:
        if proto == "tcp":
            s.connect((host, int(port)))
        else:
            s.sendto(b"x", (host, int(port)))
        r = "ok"
    except OSError as e:
        r = errno.errorcode.get(e.errno, str(e)) if e.errno else "timeout"
    print(host, port, proto, r, flush=True)
    s.close()
`

// inCgroup runs the probe script in the cgroup dir with the given targets.
func inCgroup(t *testing.T, dir string, targets []string) map[string]string {
	t.Helper()
	fd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	cmd := exec.Command("python3", "-c", probeScript)
	cmd.Stdin = strings.NewReader(strings.Join(targets, "\n") + "\n")
	cmd.SysProcAttr = &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: fd}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("probe: %v\n%s", err, out)
	}
	got := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		got[strings.Join(f[:3], " ")] = f[3]
	}
	return got
}

func listen(t *testing.T, network, addr string) int {
	t.Helper()
	if strings.HasPrefix(network, "udp") {
		c, err := net.ListenPacket(network, addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c.LocalAddr().(*net.UDPAddr).Port
	}
	ln, err := net.Listen(network, addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	return ln.Addr().(*net.TCPAddr).Port
}

// Every form of the host's own addresses is refused at once (EPERM), TCP
// and UDP; a name server on the host stays reachable on port 53 only.
func TestRefusesTheHost(t *testing.T) {
	requireRoot(t)
	p4 := listen(t, "tcp4", "0.0.0.0:0")
	p6 := listen(t, "tcp6", "[::]:0")
	u4 := listen(t, "udp4", "127.0.0.1:0")
	listen(t, "tcp4", "127.0.0.77:53")
	listen(t, "udp4", "127.0.0.77:53")
	rules := NewRules(hostPrefixes(t), []netip.Addr{netip.MustParseAddr("127.0.0.77")})
	g, err := Load(rules)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	dir := cgroup2(t)
	attach(t, g, dir)

	refused := []string{
		fmt.Sprintf("4 127.0.0.1 %d tcp", p4),
		fmt.Sprintf("4 127.1.2.3 %d tcp", p4),
		fmt.Sprintf("4 0.0.0.0 %d tcp", p4),
		fmt.Sprintf("6 ::1 %d tcp", p6),
		fmt.Sprintf("6 :: %d tcp", p6),
		fmt.Sprintf("6 ::ffff:127.0.0.1 %d tcp", p4),
		fmt.Sprintf("4 127.0.0.1 %d udp", u4),
		fmt.Sprintf("6 ::ffff:127.0.0.1 %d udp", u4),
		fmt.Sprintf("4 127.0.0.77 %d tcp", p4),
		"4 169.254.169.254 80 tcp",
		"4 224.0.0.251 5353 udp",
		"4 255.255.255.255 9 udp",
	}
	for _, a := range hostPrefixes(t) {
		if a.Addr().IsLoopback() || a.Addr().IsLinkLocalUnicast() {
			continue
		}
		fam, port := "4", p4
		if a.Addr().Is6() {
			fam, port = "6", p6
		}
		refused = append(refused, fmt.Sprintf("%s %s %d tcp", fam, a.Addr(), port))
	}
	allowed := []string{"4 127.0.0.77 53 tcp", "4 127.0.0.77 53 udp"}
	got := inCgroup(t, dir, append(refused, allowed...))
	for _, target := range refused {
		k := strings.Join(strings.Fields(target)[1:], " ")
		if got[k] != "EPERM" {
			t.Errorf("%s: %s, want EPERM", k, got[k])
		}
	}
	for _, target := range allowed {
		k := strings.Join(strings.Fields(target)[1:], " ")
		if got[k] != "ok" {
			t.Errorf("%s: %s, want ok", k, got[k])
		}
	}
}

// An address the connect and sendmsg programs do not know (one added to
// an interface later) is still the host: the egress program drops what
// goes to it (UDP fails with EPERM, a TCP connection is never made).
func TestEgressBackstop(t *testing.T) {
	requireRoot(t)
	accepted := 0
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted++
			c.Close()
		}
	}()
	u4 := listen(t, "udp4", "127.0.0.1:0")
	// Rules that know nothing of loopback: only the egress program stands.
	g, err := Load(Rules{Deny: []netip.Prefix{netip.MustParsePrefix("203.0.113.0/24")}})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	dir := cgroup2(t)
	attach(t, g, dir)
	port := ln.Addr().(*net.TCPAddr).Port
	got := inCgroup(t, dir, []string{fmt.Sprintf("4 127.0.0.1 %d tcp", port), fmt.Sprintf("4 127.0.0.1 %d udp", u4)})
	if r := got[fmt.Sprintf("127.0.0.1 %d tcp", port)]; r == "ok" {
		t.Errorf("TCP to loopback: %s", r)
	}
	if r := got[fmt.Sprintf("127.0.0.1 %d udp", u4)]; r != "EPERM" {
		t.Errorf("UDP to loopback: %s, want EPERM", r)
	}
	ln.Close()
	<-done
	if accepted != 0 {
		t.Errorf("the listener accepted %d connections", accepted)
	}
}

func attach(t *testing.T, g *Guard, dir string) {
	t.Helper()
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	if err := g.Attach(fd); err != nil {
		t.Fatal(err)
	}
}

func hostPrefixes(t *testing.T) []netip.Prefix {
	t.Helper()
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Fatal(err)
	}
	var out []netip.Prefix
	for _, a := range addrs {
		p, err := netip.ParsePrefix(a.String())
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, p)
	}
	return out
}

// The verifier gives up with EAGAIN when a signal is pending, and the Go
// runtime signals its threads all the time: loading copes.
func TestLoadUnderPreemption(t *testing.T) {
	requireRoot(t)
	stop := make(chan struct{})
	defer close(stop)
	for i := 0; i < 2; i++ {
		go func() {
			var sink []byte
			for {
				select {
				case <-stop:
					return
				default:
					sink = make([]byte, 1<<16)
					_ = sink
				}
			}
		}()
	}
	r := NewRules(nil, []netip.Addr{netip.MustParseAddr("127.0.0.53"), netip.MustParseAddr("::1")})
	for i := 0; i < 100; i++ {
		g, err := Load(r)
		if err != nil {
			t.Fatalf("load %d: %v", i, err)
		}
		g.Close()
	}
}
