package ratelimit

import (
	"net/netip"
	"testing"
)

func TestClientIP(t *testing.T) {
	trusted, err := ParseTrusted([]string{"10.0.0.0/8", "192.168.1.5", "::1", "2001:db8:ffff::/48"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		remote  string
		xff     []string
		trusted []netip.Prefix
		want    string
	}{
		{"no proxies", "203.0.113.5:1234", nil, nil, "203.0.113.5"},
		{"no proxies, XFF ignored", "203.0.113.5:1234", []string{"1.2.3.4"}, nil, "203.0.113.5"},
		{"spoofed XFF from untrusted client", "203.0.113.5:1234", []string{"10.0.0.1", "1.2.3.4"}, trusted, "203.0.113.5"},
		{"spoofed XFF, trusted proxy address claimed", "203.0.113.5:1234", []string{"192.168.1.5"}, trusted, "203.0.113.5"},
		{"trusted proxy, no XFF", "10.0.0.2:443", nil, trusted, "10.0.0.2"},
		{"trusted proxy, one hop", "10.0.0.2:443", []string{"198.51.100.7"}, trusted, "198.51.100.7"},
		{"trusted chain", "10.0.0.2:443", []string{"198.51.100.7, 10.0.0.3, 192.168.1.5"}, trusted, "198.51.100.7"},
		{"client-supplied entries left of client ignored", "10.0.0.2:443", []string{"6.6.6.6, 10.9.9.9, 198.51.100.7, 10.0.0.3"}, trusted, "198.51.100.7"},
		{"untrusted hop in the middle stops the walk", "10.0.0.2:443", []string{"198.51.100.7, 203.0.113.99, 10.0.0.3"}, trusted, "203.0.113.99"},
		{"multiple headers", "10.0.0.2:443", []string{"198.51.100.7", "10.0.0.3"}, trusted, "198.51.100.7"},
		{"multiple headers with lists", "10.0.0.2:443", []string{"6.6.6.6, 198.51.100.7", "10.0.0.4, 10.0.0.3"}, trusted, "198.51.100.7"},
		{"blank header value ignored", "10.0.0.2:443", []string{"198.51.100.7", " "}, trusted, "198.51.100.7"},
		{"spaces", "10.0.0.2:443", []string{"  198.51.100.7 ,10.0.0.3 "}, trusted, "198.51.100.7"},
		{"all trusted", "10.0.0.2:443", []string{"10.0.0.9, 10.0.0.3"}, trusted, "10.0.0.9"},
		{"garbage stops at last validated", "10.0.0.2:443", []string{"198.51.100.7, garbage, 10.0.0.3"}, trusted, "10.0.0.3"},
		{"garbage first", "10.0.0.2:443", []string{"198.51.100.7, unknown"}, trusted, "10.0.0.2"},
		{"garbage in later header", "10.0.0.2:443", []string{"198.51.100.7", "10.0.0.3, _"}, trusted, "10.0.0.2"},
		{"empty element", "10.0.0.2:443", []string{"198.51.100.7,,10.0.0.3"}, trusted, "10.0.0.3"},
		{"trailing comma", "10.0.0.2:443", []string{"198.51.100.7,"}, trusted, "10.0.0.2"},
		{"bad port", "10.0.0.2:443", []string{"198.51.100.7:99999"}, trusted, "10.0.0.2"},
		{"non-numeric port", "10.0.0.2:443", []string{"198.51.100.7:http"}, trusted, "10.0.0.2"},
		{"CIDR is garbage", "10.0.0.2:443", []string{"198.51.100.0/24"}, trusted, "10.0.0.2"},
		{"port stripped", "10.0.0.2:443", []string{"198.51.100.7:5555"}, trusted, "198.51.100.7"},
		{"bare remote address", "192.0.2.1", []string{"1.2.3.4"}, trusted, "192.0.2.1"},
		{"IPv6 remote", "[2001:db8::5]:443", []string{"1.2.3.4"}, trusted, "2001:db8::5"},
		{"IPv6 trusted loopback proxy", "[::1]:8080", []string{"2001:db8::7"}, trusted, "2001:db8::7"},
		{"IPv6 XFF with brackets and port", "[::1]:8080", []string{"[2001:db8::7]:5555"}, trusted, "2001:db8::7"},
		{"IPv6 XFF with brackets, no port", "[::1]:8080", []string{"[2001:db8::7]"}, trusted, "2001:db8::7"},
		{"IPv6 XFF with zone", "[::1]:8080", []string{"fe80::1%eth0"}, trusted, "fe80::1"},
		{"IPv6 bracket garbage", "[::1]:8080", []string{"[2001:db8::7"}, trusted, "::1"},
		{"IPv6 bracket junk after", "[::1]:8080", []string{"[2001:db8::7]x"}, trusted, "::1"},
		{"IPv6 remote with zone", "[fe80::9%eth0]:80", nil, trusted, "fe80::9"},
		{"IPv6 trusted prefix chain", "[2001:db8:ffff::1]:443", []string{"2001:db8:1::5, 2001:db8:ffff::2"}, trusted, "2001:db8:1::5"},
		{"IPv4-mapped remote is trusted", "[::ffff:10.0.0.2]:443", []string{"198.51.100.7"}, trusted, "198.51.100.7"},
		{"IPv4-mapped remote untrusted", "[::ffff:203.0.113.5]:443", []string{"1.2.3.4"}, trusted, "203.0.113.5"},
		{"IPv4-mapped XFF entry", "10.0.0.2:443", []string{"::ffff:198.51.100.7"}, trusted, "198.51.100.7"},
		{"IPv4-mapped trusted hop", "10.0.0.2:443", []string{"198.51.100.7, [::ffff:10.0.0.3]:80"}, trusted, "198.51.100.7"},
		{"IPv4 matched by mapped IPv6 prefix", "10.1.2.3:443", []string{"198.51.100.7"}, mustTrusted(t, "::ffff:10.0.0.0/104"), "198.51.100.7"},
		{"IPv4 not matched by unrelated IPv6 prefix", "10.1.2.3:443", []string{"198.51.100.7"}, mustTrusted(t, "2001:db8::/32"), "10.1.2.3"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ClientIP(tc.remote, tc.xff, tc.trusted)
			if err != nil {
				t.Fatalf("ClientIP(%q, %q): %v", tc.remote, tc.xff, err)
			}
			if got != netip.MustParseAddr(tc.want) {
				t.Fatalf("ClientIP(%q, %q) = %v, want %v", tc.remote, tc.xff, got, tc.want)
			}
		})
	}
}

func TestClientIPErrors(t *testing.T) {
	for _, remote := range []string{"", "garbage", "1.2.3.4:", "1.2.3.4:x", "[::1", "[::1]:", "[::1]x", "example.com:80", "@"} {
		if a, err := ClientIP(remote, []string{"1.2.3.4"}, mustTrusted(t, "0.0.0.0/0")); err == nil {
			t.Errorf("ClientIP(%q) = %v, want error", remote, a)
		}
	}
}

func mustTrusted(t *testing.T, entries ...string) []netip.Prefix {
	t.Helper()
	p, err := ParseTrusted(entries)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestParseTrusted(t *testing.T) {
	got := mustTrusted(t, "10.0.0.0/8", "10.1.2.3/8", "192.168.1.5", "::1", " ::ffff:1.2.3.4 ", "fe80::1%eth0", "2001:db8::1/32")
	want := []string{"10.0.0.0/8", "10.0.0.0/8", "192.168.1.5/32", "::1/128", "1.2.3.4/32", "fe80::1/128", "2001:db8::/32"}
	if len(got) != len(want) {
		t.Fatalf("got %v", got)
	}
	for i := range want {
		if got[i] != netip.MustParsePrefix(want[i]) {
			t.Errorf("entry %d: got %v, want %v", i, got[i], want[i])
		}
	}
	for _, bad := range []string{"", " ", "nope", "10.0.0.0/33", "1.2.3.4/x", "1.2.3.4:80", "::1/129"} {
		if p, err := ParseTrusted([]string{"10.0.0.0/8", bad}); err == nil {
			t.Errorf("ParseTrusted(%q) = %v, want error", bad, p)
		}
	}
	if p, err := ParseTrusted(nil); err != nil || len(p) != 0 {
		t.Errorf("ParseTrusted(nil) = %v, %v", p, err)
	}
}

func TestIPKey(t *testing.T) {
	for _, tc := range []struct{ addr, want string }{
		{"192.0.2.7", "192.0.2.7"},
		{"::ffff:192.0.2.7", "192.0.2.7"},
		{"2001:db8:1:2::1", "2001:db8:1:2::/64"},
		{"2001:db8:1:2:aaaa:bbbb:cccc:dddd", "2001:db8:1:2::/64"},
		{"2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2::/64"},
		{"2001:db8:1:3::1", "2001:db8:1:3::/64"},
		{"fe80::1%eth0", "fe80::/64"},
		{"::1", "::/64"},
	} {
		if got := IPKey(netip.MustParseAddr(tc.addr)); got != tc.want {
			t.Errorf("IPKey(%s) = %q, want %q", tc.addr, got, tc.want)
		}
	}
	if got := IPKey(netip.Addr{}); got != "" {
		t.Errorf("IPKey(zero) = %q", got)
	}

	// One host rotating through its /64 shares one limit; its neighbour in
	// the next /64 does not.
	l, _ := newTestLimiter(Rule{Attempts: 3, Window: 60e9}, 0)
	for i := range 3 {
		a := netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 2, 8: byte(i + 1), 15: byte(i * 7)})
		l.Fail(IPKey(a))
	}
	if d := l.Check(IPKey(netip.MustParseAddr("2001:db8:1:2:dead:beef::42"))); d.Allowed {
		t.Fatalf("rotating within a /64 escaped the limit: %+v", d)
	}
	if d := l.Check(IPKey(netip.MustParseAddr("2001:db8:1:3::42"))); !d.Allowed {
		t.Fatalf("neighbouring /64 blocked: %+v", d)
	}
}
