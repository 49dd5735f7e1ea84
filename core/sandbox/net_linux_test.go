//go:build linux

package sandbox

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"

	"golang.org/x/sys/unix"
)

// countingListener accepts and counts connections until the test ends.
func countingListener(t *testing.T, network, addr string) (int, *atomic.Int64) {
	t.Helper()
	ln, err := net.Listen(network, addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	n := new(atomic.Int64)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			n.Add(1)
			c.Close()
		}
	}()
	return ln.Addr().(*net.TCPAddr).Port, n
}

// peer is a host on a network namespace of its own, behind a veth pair:
// another machine, as far as the sandbox can tell.
type peer struct {
	hostSide string // the host's own address on the link
	addr     string // the peer's
	port     int    // a TCP listener on the peer
	accepted *atomic.Int64
}

func newPeer(t *testing.T) peer {
	t.Helper()
	ip, err := exec.LookPath("ip")
	if err != nil {
		t.Fatal("the ip command (iproute2) is not installed")
	}
	sh := func(args ...string) {
		t.Helper()
		if out, err := exec.Command(ip, args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	id := os.Getpid() % 32768
	ns := fmt.Sprintf("warden-test-%d", id)
	hostIf, peerIf := fmt.Sprintf("wdh%d", id), fmt.Sprintf("wdp%d", id)
	// 198.18.0.0/15 is for tests; one /30 per test process.
	sub := fmt.Sprintf("198.%d.%d.", 18+id/(256*64), (id/64)%256)
	last := (id % 64) * 4
	p := peer{hostSide: fmt.Sprintf("%s%d", sub, last+1), addr: fmt.Sprintf("%s%d", sub, last+2)}
	sh("netns", "add", ns)
	t.Cleanup(func() { exec.Command(ip, "netns", "del", ns).Run() })
	sh("link", "add", hostIf, "type", "veth", "peer", "name", peerIf, "netns", ns)
	sh("addr", "add", p.hostSide+"/30", "dev", hostIf)
	sh("link", "set", hostIf, "up")
	sh("-n", ns, "addr", "add", p.addr+"/30", "dev", peerIf)
	sh("-n", ns, "link", "set", peerIf, "up")
	sh("-n", ns, "link", "set", "lo", "up")

	// Listen from inside the namespace: the socket stays there.
	nsf, err := os.Open("/run/netns/" + ns)
	if err != nil {
		t.Fatal(err)
	}
	defer nsf.Close()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	self, err := os.Open(fmt.Sprintf("/proc/self/task/%d/ns/net", unix.Gettid()))
	if err != nil {
		t.Fatal(err)
	}
	defer self.Close()
	if err := unix.Setns(int(nsf.Fd()), unix.CLONE_NEWNET); err != nil {
		t.Fatal(err)
	}
	p.port, p.accepted = countingListener(t, "tcp4", p.addr+":0")
	if err := unix.Setns(int(self.Fd()), unix.CLONE_NEWNET); err != nil {
		t.Fatal(err) // the thread stays locked and dies with the test
	}
	return p
}

// tryScript connects (or, for udp, sends) to each "host port proto"
// argument triple and prints "host port proto RESULT".
const tryScript = `
import errno, socket, sys
a = sys.argv[1:]
for host, port, proto in zip(a[0::3], a[1::3], a[2::3]):
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM)
    s.settimeout(3)
    try:
        if proto == "tcp":
            s.connect((host, int(port)))
        else:
            s.sendto(b"x", (host, int(port)))
        r = "ok"
    except OSError as e:
        r = errno.errorcode.get(e.errno, "timeout") if e.errno else "timeout"
    print(host, port, proto, r)
    s.close()
`

// With network, the command reaches other machines but never this host:
// not its loopback (127.0.0.0/8, ::1, ::ffff:127.0.0.1, 0.0.0.0, ::), and
// not its other addresses, which route back to it.
func TestNetworkKeepsOffTheHost(t *testing.T) {
	requireRoot(t)
	p := newPeer(t)
	port, accepted := countingListener(t, "tcp", ":0") // every host address, both families
	udp, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer udp.Close()
	udpPort := udp.LocalAddr().(*net.UDPAddr).Port
	var hostAddrs []string
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && !n.IP.IsLoopback() && !n.IP.IsLinkLocalUnicast() && n.IP.String() != p.hostSide {
			hostAddrs = append(hostAddrs, n.IP.String())
		}
	}
	refused := []string{"127.0.0.1", "127.0.0.2", "::1", "::ffff:127.0.0.1", "0.0.0.0", "::", p.hostSide}
	refused = append(refused, hostAddrs...)
	var args []string
	for _, h := range refused {
		args = append(args, h, fmt.Sprint(port), "tcp")
	}
	args = append(args, "127.0.0.1", fmt.Sprint(udpPort), "udp", p.addr, fmt.Sprint(p.port), "tcp")
	res, out, errs := run(t, t.TempDir(), "", func(s *Spec) {
		s.Network = true
		s.Argv = append([]string{"/usr/bin/python3", "-c", tryScript}, args...)
	})
	if res.ExitCode != 0 {
		t.Fatalf("exit %d\n%s\n%s", res.ExitCode, out, errs)
	}
	got := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		f := strings.Fields(line)
		got[f[0]+" "+f[2]] = f[3]
	}
	for _, h := range refused {
		if got[h+" tcp"] != "EPERM" {
			t.Errorf("TCP to %s: %q, want EPERM", h, got[h+" tcp"])
		}
	}
	if got["127.0.0.1 udp"] != "EPERM" {
		t.Errorf("UDP to 127.0.0.1: %q, want EPERM", got["127.0.0.1 udp"])
	}
	if got[p.addr+" tcp"] != "ok" || p.accepted.Load() != 1 {
		t.Errorf("TCP to another machine (%s): %q, %d accepted; want ok, 1", p.addr, got[p.addr+" tcp"], p.accepted.Load())
	}
	if n := accepted.Load(); n != 0 {
		t.Errorf("the host's listener accepted %d connections", n)
	}
	if res.Layers.Network != NetworkGuarded || len(res.Layers.Warnings) != 0 {
		t.Errorf("layers: %+v", res.Layers)
	}
	t.Logf("\n%s", out)
}

// With network the command shares the host's abstract Unix socket
// namespace (it belongs to the network namespace); Landlock's scoping
// keeps it off the host's sockets there.
func TestNetworkAbstractSocketsOfTheHost(t *testing.T) {
	requireRoot(t)
	name := fmt.Sprintf("warden-sandbox-test-%d", os.Getpid())
	ln, err := net.Listen("unix", "@"+name)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var accepted atomic.Int64
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			c.Close()
		}
	}()
	res, out, errs := run(t, t.TempDir(), fmt.Sprintf(`python3 -c '
import socket
s = socket.socket(socket.AF_UNIX)
try:
    s.connect("\0%s"); print("ESCAPED")
except PermissionError:
    print("refused")
'`, name), func(s *Spec) { s.Network = true })
	if res.ExitCode != 0 || out != "refused\n" || accepted.Load() != 0 {
		t.Fatalf("exit %d stdout %q stderr %s; %d accepted", res.ExitCode, out, errs, accepted.Load())
	}
}

// With network, a command may not take a chosen TCP port of the host's
// (such as the gateway's while it restarts); an ephemeral one is fine.
func TestNetworkNoChosenPorts(t *testing.T) {
	requireRoot(t)
	res, out, errs := run(t, t.TempDir(), `python3 -c '
import socket
s = socket.socket()
s.bind(("0.0.0.0", 0))
print("ephemeral ok")
s = socket.socket()
try:
    s.bind(("0.0.0.0", 7777))
    print("ESCAPED")
except PermissionError:
    print("chosen refused")
'`, func(s *Spec) { s.Network = true })
	if res.ExitCode != 0 || out != "ephemeral ok\nchosen refused\n" {
		t.Fatalf("exit %d stdout %q stderr %s", res.ExitCode, out, errs)
	}
}

// BenchmarkRunTrueNet is BenchmarkRunTrue with network: the host's
// addresses are read and the loopback guard attached for each sandbox.
func BenchmarkRunTrueNet(b *testing.B) {
	ws := b.TempDir()
	for b.Loop() {
		if _, err := Run(context.Background(), Spec{Argv: []string{"/bin/true"}, Workspace: ws, Network: true}); err != nil {
			b.Fatal(err)
		}
	}
}
