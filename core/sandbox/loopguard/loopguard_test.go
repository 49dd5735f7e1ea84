package loopguard

import (
	"net/netip"
	"slices"
	"testing"
)

func TestNewRules(t *testing.T) {
	r := NewRules(
		[]netip.Prefix{netip.MustParsePrefix("192.0.2.2/24"), netip.MustParsePrefix("fd00::2/64"), netip.MustParsePrefix("10.0.0.5/32"),
			netip.MustParsePrefix("127.0.0.1/8"), netip.MustParsePrefix("::ffff:198.51.100.7/120")},
		ParseResolvConf("# comment\nnameserver 127.0.0.53\nnameserver 10.255.255.53\nnameserver ::1\nnameserver 192.0.2.2\nnameserver 127.0.0.53\nsearch x\nnameserver bogus\n"))
	for _, a := range []string{"127.0.0.1", "127.9.9.9", "0.0.0.0", "::", "::1", "::ffff:127.0.0.1", "::ffff:0.0.0.0",
		"192.0.2.2", "192.0.2.255", "10.0.0.5", "fd00::2", "198.51.100.7", "198.51.100.255", "169.254.169.254", "fe80::1",
		"224.0.0.251", "ff02::fb", "255.255.255.255"} {
		if !r.Refused(netip.MustParseAddr(a)) {
			t.Errorf("%s is not refused", a)
		}
	}
	for _, a := range []string{"192.0.2.3", "10.0.0.6", "fd00::3", "8.8.8.8", "2001:db8::1", "::ffff:8.8.8.8", "10.255.255.53"} {
		if r.Refused(netip.MustParseAddr(a)) {
			t.Errorf("%s is refused", a)
		}
	}
	want := []netip.Addr{netip.MustParseAddr("127.0.0.53"), netip.MustParseAddr("::1"), netip.MustParseAddr("192.0.2.2")}
	if !slices.Equal(r.DNS, want) {
		t.Errorf("DNS = %v, want %v (the local name servers, once each)", r.DNS, want)
	}
	// 127.0.0.1/8's own /32 is inside 127.0.0.0/8: normalized away.
	for _, p := range r.Deny {
		if p == netip.MustParsePrefix("127.0.0.1/32") {
			t.Errorf("Deny keeps %s inside 127.0.0.0/8: %v", p, r.Deny)
		}
	}
	if k := r.Key(); k != NewRules(nil, nil).Key() && k == "" {
		t.Error("empty key")
	}
	if NewRules(nil, nil).Key() == r.Key() {
		t.Error("different rules, same key")
	}
}
