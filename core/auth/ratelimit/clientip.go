package ratelimit

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
)

// ipv6GroupBits is the IPv6 prefix length IPKey groups by: one host (one
// customer, by RFC 6177 practice) usually controls a whole /64.
const ipv6GroupBits = 64

// IPKey returns the limiter key for a client address: an IPv4 address (or
// IPv4-mapped IPv6 address) whole, as in "192.0.2.7", and an IPv6 address
// as its /64, as in "2001:db8:1:2::/64", so that a host cannot escape its
// limit by rotating through its /64. The zone is ignored. It returns "" for
// the zero Addr.
func IPKey(a netip.Addr) string {
	if !a.IsValid() {
		return ""
	}
	a = a.WithZone("").Unmap()
	if a.Is4() {
		return a.String()
	}
	return netip.PrefixFrom(a, ipv6GroupBits).Masked().String()
}

// ClientIP returns the client address of a request. It is the connection's
// remote address unless that address is in trusted (the reverse proxies
// in front of Warden); then the X-Forwarded-For values are walked from the
// right, skipping trusted addresses, and the first untrusted address is
// returned. A malformed entry stops the walk, and so does running out of
// entries: the result is then the last address a trusted proxy vouched for
// (which is itself a trusted proxy). X-Forwarded-For is ignored entirely
// when the remote address is not trusted, so clients cannot spoof it.
//
// xForwardedFor holds the header's values in order (http.Header.Values);
// each is a comma-separated list, and blank values are ignored. Addresses
// may carry ports and IPv6 brackets ("[2001:db8::1]:443"), which are
// stripped, as are IPv6 zones; IPv4-mapped IPv6 addresses are unmapped.
// remoteAddr is "host:port" as net/http gives it (a bare address is
// accepted too); ClientIP fails only when remoteAddr cannot be parsed.
func ClientIP(remoteAddr string, xForwardedFor []string, trusted []netip.Prefix) (netip.Addr, error) {
	cur, ok := parseHostAddr(remoteAddr)
	if !ok {
		return netip.Addr{}, fmt.Errorf("ratelimit: malformed remote address %q", remoteAddr)
	}
	if !isTrusted(cur, trusted) {
		return cur, nil
	}
	for i := len(xForwardedFor) - 1; i >= 0; i-- {
		h := xForwardedFor[i]
		if strings.TrimSpace(h) == "" {
			continue
		}
		for {
			j := strings.LastIndexByte(h, ',')
			a, ok := parseHostAddr(h[j+1:])
			if !ok {
				return cur, nil
			}
			if !isTrusted(a, trusted) {
				return a, nil
			}
			cur = a
			if j < 0 {
				break
			}
			h = h[:j]
		}
	}
	return cur, nil
}

// ParseTrusted parses trusted proxy entries: prefixes such as "10.0.0.0/8"
// or "2001:db8::/32" (masked to their network) and single addresses such as
// "192.168.1.5" or "::1", which become /32 or /128 prefixes. Surrounding
// space is ignored; a zone on a single address is dropped, and an
// IPv4-mapped single address is unmapped.
func ParseTrusted(entries []string) ([]netip.Prefix, error) {
	out := make([]netip.Prefix, 0, len(entries))
	for _, raw := range entries {
		s := strings.TrimSpace(raw)
		if s == "" {
			return nil, errors.New("ratelimit: empty trusted proxy entry")
		}
		if strings.Contains(s, "/") {
			p, err := netip.ParsePrefix(s)
			if err != nil {
				return nil, fmt.Errorf("ratelimit: trusted proxy %q: %w", raw, err)
			}
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(s)
		if err != nil {
			return nil, fmt.Errorf("ratelimit: trusted proxy %q: %w", raw, err)
		}
		a = a.WithZone("").Unmap()
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}

// isTrusted reports whether a (unmapped, without zone) is in trusted. An
// IPv4 address also matches an IPv6 prefix that covers its IPv4-mapped
// form, such as "::ffff:10.0.0.0/104" or "::/0".
func isTrusted(a netip.Addr, trusted []netip.Prefix) bool {
	for _, p := range trusted {
		if p.Contains(a) {
			return true
		}
		if a.Is4() && p.Addr().Is6() && p.Contains(netip.AddrFrom16(a.As16())) {
			return true
		}
	}
	return false
}

// parseHostAddr parses an address with an optional port: "192.0.2.1",
// "192.0.2.1:80", "2001:db8::1", "[2001:db8::1]", "[2001:db8::1]:80",
// with or without an IPv6 zone. It returns the address unmapped and
// without zone.
func parseHostAddr(s string) (netip.Addr, bool) {
	s = strings.TrimSpace(s)
	host := s
	switch {
	case strings.HasPrefix(s, "["):
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return netip.Addr{}, false
		}
		host = s[1:end]
		if rest := s[end+1:]; rest != "" {
			if rest[0] != ':' || !validPort(rest[1:]) {
				return netip.Addr{}, false
			}
		}
	case strings.Count(s, ":") == 1:
		i := strings.IndexByte(s, ':')
		if !validPort(s[i+1:]) {
			return netip.Addr{}, false
		}
		host = s[:i]
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}, false
	}
	return a.WithZone("").Unmap(), true
}

// validPort reports whether s is a decimal port number, 0 to 65535.
func validPort(s string) bool {
	if s == "" || len(s) > 5 {
		return false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return false
		}
		n = n*10 + int(c-'0')
	}
	return n <= 65535
}
