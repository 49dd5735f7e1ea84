// Package loopguard keeps the sockets of a cgroup off this host's own
// services while they keep the network: cgroup BPF programs, attached to
// the cgroup of a sandbox that shares the host's network namespace, refuse
// every packet to the host itself.
//
// Four sock_addr programs (connect4, connect6, sendmsg4, sendmsg6) refuse
// a connect(2), or a sendto/sendmsg with a destination, whose address is
// the host's: loopback (127.0.0.0/8, ::1), unspecified (0.0.0.0/8, ::,
// which Linux connects to the host), link-local (169.254.0.0/16, where the
// cloud metadata services live, and fe80::/10), multicast and broadcast
// (looped back to listeners on the host), every address of the host's
// interfaces, and the IPv4-mapped IPv6 form (::ffff:a.b.c.d) of each. The
// caller gets EPERM at once. The kernel runs them on its own copy of the
// address, after it left the caller's memory: there is no time-of-check to
// time-of-use window, which a seccomp supervisor reading the address from
// the caller's memory would have.
//
// A cgroup_skb egress program drops every packet that leaves through the
// loopback device. Everything a host sends to itself goes that way, over
// any protocol and whatever address named it (an address added to an
// interface after the programs were loaded included), so this program
// alone keeps the rule; the others make it fail fast with a clear error
// (a dropped TCP SYN makes connect(2) wait for its timeout instead).
//
// One exception: the name servers of /etc/resolv.conf that are on the
// host (systemd-resolved's 127.0.0.53, a local dnsmasq) stay reachable on
// port 53, so names still resolve.
//
// The programs are written in eBPF by hand (no compiler, no cgo) and need
// CAP_BPF and CAP_NET_ADMIN (root) and the cgroup v2 hierarchy (mounted
// alone or beside v1 in the hybrid layout).
package loopguard

import (
	"net/netip"
	"slices"
	"strings"
)

// Rules are what the programs refuse.
type Rules struct {
	// Deny lists the destinations refused, IPv4 and IPv6 (IPv4 prefixes
	// are also refused in their IPv4-mapped IPv6 form).
	Deny []netip.Prefix
	// DNS lists name servers on the host that stay reachable on port 53.
	DNS []netip.Addr
}

// DNSPort is the one port the local name servers are reachable on.
const DNSPort = 53

// always are the destinations refused on every host.
var always = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),
	netip.MustParsePrefix("127.0.0.0/8"),
	netip.MustParsePrefix("169.254.0.0/16"),
	netip.MustParsePrefix("224.0.0.0/4"),
	netip.MustParsePrefix("255.255.255.255/32"),
	netip.MustParsePrefix("::/128"),
	netip.MustParsePrefix("::1/128"),
	netip.MustParsePrefix("fe80::/10"),
	netip.MustParsePrefix("ff00::/8"),
}

// NewRules returns the rules for a host with the given interface
// addresses (with their prefix lengths, for the broadcast address) and
// name servers (from resolv.conf).
func NewRules(ifaddrs []netip.Prefix, nameservers []netip.Addr) Rules {
	r := Rules{Deny: slices.Clone(always)}
	for _, p := range ifaddrs {
		a, bits := p.Addr(), p.Bits()
		if a.Is4In6() {
			a, bits = a.Unmap(), bits-96
		}
		a = a.WithZone("")
		r.Deny = append(r.Deny, netip.PrefixFrom(a, a.BitLen()))
		if a.Is4() && bits > 0 && bits < 31 {
			r.Deny = append(r.Deny, netip.PrefixFrom(broadcast(a, bits), 32))
		}
	}
	for _, ns := range nameservers {
		ns = ns.Unmap().WithZone("")
		if r.Refused(ns) && !slices.Contains(r.DNS, ns) {
			r.DNS = append(r.DNS, ns)
		}
	}
	r.Deny = normalize(r.Deny)
	return r
}

// broadcast is the last address of the IPv4 network of a/bits.
func broadcast(a netip.Addr, bits int) netip.Addr {
	b := a.As4()
	host := uint32(1)<<(32-bits) - 1
	v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	v |= host
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

// normalize sorts the prefixes, drops duplicates and those inside another.
func normalize(ps []netip.Prefix) []netip.Prefix {
	for i := range ps {
		ps[i] = ps[i].Masked()
	}
	slices.SortFunc(ps, func(a, b netip.Prefix) int {
		if c := a.Addr().Compare(b.Addr()); c != 0 {
			return c
		}
		return a.Bits() - b.Bits()
	})
	var out []netip.Prefix
	for _, p := range ps {
		covered := false
		for _, q := range out {
			if q.Bits() <= p.Bits() && q.Contains(p.Addr()) {
				covered = true
				break
			}
		}
		if !covered {
			out = append(out, p)
		}
	}
	return out
}

// Refused reports whether the programs refuse a (on any port but the
// name servers' own).
func (r Rules) Refused(a netip.Addr) bool {
	a = a.Unmap().WithZone("")
	for _, p := range r.Deny {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// Key identifies the rules, to know when they changed.
func (r Rules) Key() string {
	var b strings.Builder
	for _, p := range r.Deny {
		b.WriteString(p.String())
		b.WriteByte(' ')
	}
	b.WriteString("dns")
	for _, a := range r.DNS {
		b.WriteByte(' ')
		b.WriteString(a.String())
	}
	return b.String()
}

// ParseResolvConf returns the name servers of a resolv.conf.
func ParseResolvConf(data string) []netip.Addr {
	var out []netip.Addr
	for _, line := range strings.Split(data, "\n") {
		f := strings.Fields(line)
		if len(f) < 2 || f[0] != "nameserver" {
			continue
		}
		if a, err := netip.ParseAddr(f[1]); err == nil {
			out = append(out, a)
		}
	}
	return out
}
