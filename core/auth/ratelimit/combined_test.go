package ratelimit

import (
	"fmt"
	"net/netip"
	"testing"
	"time"
)

// TestAccountLimitHoldsWhileIPRotates plays an attacker guessing one
// account's password from a new address for every attempt: the IP limit
// never triggers, the account limit does.
func TestAccountLimitHoldsWhileIPRotates(t *testing.T) {
	clk := newFakeClock()
	ips := New(Options{Rule: Rule{Attempts: 5, Window: 5 * time.Minute}, Now: clk.Now})
	accounts := New(Options{Rule: Rule{Attempts: 100, Window: time.Hour}, Now: clk.Now})
	const account = "acct:alice"

	attempt := func(i int) []Check {
		ip := netip.AddrFrom4([4]byte{198, 51, byte(i >> 8), byte(i)})
		return []Check{{ips, IPKey(ip)}, {accounts, account}}
	}
	for i := range 100 {
		checks := attempt(i)
		if d := Allow(checks...); !d.Allowed {
			t.Fatalf("attempt %d denied: %+v", i, d)
		}
		d := FailAll(checks...)
		if i < 99 {
			// The fresh IP has 4 left, the account 99-i: the smaller wins.
			want(t, fmt.Sprintf("fail %d", i), d, allowed(min(4, 99-i)))
		} else {
			want(t, "100th failure", d, denied(time.Hour-99*time.Second, false))
		}
		clk.Advance(time.Second)
	}
	// A new address is still refused: the account is blocked until the
	// first failure (100s ago) is an hour old.
	d := Allow(attempt(1000)...)
	want(t, "new IP, blocked account", d, denied(time.Hour-100*time.Second, true))
	// The IP alone would have been fine.
	want(t, "IP alone", ips.Check(IPKey(netip.MustParseAddr("198.51.3.232"))), allowed(5))
	// Other accounts are unaffected.
	if d := Allow(Check{ips, "203.0.113.9"}, Check{accounts, "acct:bob"}); !d.Allowed {
		t.Fatalf("other account denied: %+v", d)
	}

	// A success resets both counters.
	SucceedAll(attempt(1000)...)
	want(t, "after success", Allow(attempt(1000)...), allowed(5))
}

func TestAllowMostRestrictive(t *testing.T) {
	clk := newFakeClock()
	short := New(Options{Rule: Rule{Attempts: 2, Window: time.Minute}, Now: clk.Now})
	long := New(Options{Rule: Rule{Attempts: 3, Window: time.Hour}, Now: clk.Now})

	want(t, "no checks", Allow(), Decision{Allowed: true})
	want(t, "nil limiter", Allow(Check{nil, "x"}), Decision{Allowed: true})
	want(t, "nil limiter skipped", FailAll(Check{nil, "x"}, Check{long, "k"}), allowed(2))
	SucceedAll(Check{nil, "x"}, Check{long, "k"})

	both := []Check{{short, "k"}, {long, "k"}}
	want(t, "fresh", Allow(both...), allowed(2))
	want(t, "fail 1", FailAll(both...), allowed(1))
	// The short limiter blocks first.
	want(t, "fail 2", FailAll(both...), denied(time.Minute, false))
	want(t, "check", Allow(both...), denied(time.Minute, true))
	want(t, "check again", Allow(both...), denied(time.Minute, false))
	// The long limiter blocks too: the longest RetryAfter wins, and the
	// long limiter's first denial is reported although the short one's was
	// reported before.
	want(t, "fail 3", FailAll(both...), denied(time.Hour, false))
	want(t, "both blocked", Allow(both...), denied(time.Hour, true))
	want(t, "both blocked again", Allow(both...), denied(time.Hour, false))
	// Order does not matter.
	want(t, "reversed", Allow(both[1], both[0]), denied(time.Hour, false))

	// Allow consults every check even after a denial, so a first denial
	// behind another denial is not lost: a is blocked and already
	// reported; b becomes blocked.
	a := New(Options{Rule: Rule{Attempts: 1, Window: time.Hour}, Now: clk.Now})
	b := New(Options{Rule: Rule{Attempts: 1, Window: time.Minute}, Now: clk.Now})
	a.Fail("k")
	a.Check("k")
	b.Fail("k")
	want(t, "b behind a", Allow(Check{a, "k"}, Check{b, "k"}), denied(time.Hour, true))
	want(t, "b reported", b.Check("k"), denied(time.Minute, false))

	// An allowed check does not raise a denied one's Remaining.
	c := New(Options{Rule: Rule{Attempts: 10, Window: time.Hour}, Now: clk.Now})
	want(t, "mixed", Allow(Check{c, "k"}, Check{a, "k"}, Check{c, "j"}), denied(time.Hour, false))
}
