package gateway

import (
	"net/netip"
	"testing"
)

func mustPrefixes(t testing.TB, ps ...string) []netip.Prefix {
	t.Helper()
	var out []netip.Prefix
	for _, p := range ps {
		out = append(out, netip.MustParsePrefix(p))
	}
	return out
}
