package deps

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"syscall"
	"time"
)

// ErrBlockedAddress is returned when a connection would reach an address a
// download must not reach (loopback, private, link-local, metadata …).
var ErrBlockedAddress = errors.New("refusing to connect to a non-public address")

// NewHTTPClient returns the client downloads and API calls go through: it
// connects only to public addresses, checked on the resolved IP at connect
// time (so DNS answers and redirects cannot point it at the host itself,
// the local network or a cloud metadata service), follows at most five
// redirects and never from https to http. A URL configured with a literal
// IP address (a mirror on the local network, a test server on 127.0.0.1)
// trusts that one address: the user named it.
func NewHTTPClient(configured ...string) *http.Client {
	trusted := map[netip.Addr]bool{}
	for _, raw := range configured {
		if u, err := url.Parse(raw); err == nil {
			if ip, err := netip.ParseAddr(u.Hostname()); err == nil {
				trusted[ip.Unmap()] = true
			}
		}
	}
	dialer := &net.Dialer{
		Timeout: 30 * time.Second,
		Control: func(network, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil {
				return fmt.Errorf("%w: %s", ErrBlockedAddress, address)
			}
			ip := ap.Addr().Unmap()
			if trusted[ip] || publicAddr(ip) {
				return nil
			}
			return fmt.Errorf("%w: %s", ErrBlockedAddress, ip)
		},
	}
	tr := &http.Transport{
		Proxy:                 nil, // a proxy would connect on our behalf, past the address check
		DialContext:           dialer.DialContext,
		ForceAttemptHTTP2:     true,
		TLSHandshakeTimeout:   15 * time.Second,
		ResponseHeaderTimeout: 60 * time.Second,
		IdleConnTimeout:       30 * time.Second,
	}
	return &http.Client{
		Transport: tr,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= 5 {
				return errors.New("stopped after 5 redirects")
			}
			if via[len(via)-1].URL.Scheme == "https" && req.URL.Scheme != "https" {
				return errors.New("refusing a redirect from https to http")
			}
			return nil
		},
	}
}

func publicAddr(ip netip.Addr) bool {
	if !ip.IsValid() || ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() ||
		ip.IsMulticast() || ip.IsUnspecified() || ip.IsInterfaceLocalMulticast() {
		return false
	}
	for _, p := range blockedPrefixes {
		if p.Contains(ip) {
			return false
		}
	}
	return true
}

var blockedPrefixes = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),
	netip.MustParsePrefix("100.64.0.0/10"), // carrier-grade NAT
	netip.MustParsePrefix("192.0.0.0/24"),
	netip.MustParsePrefix("198.18.0.0/15"),
	netip.MustParsePrefix("240.0.0.0/4"),
	netip.MustParsePrefix("64:ff9b::/96"), // NAT64 can reach private IPv4
	netip.MustParsePrefix("2002::/16"),    // 6to4 likewise
}
