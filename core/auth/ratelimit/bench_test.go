package ratelimit

import (
	"math/rand/v2"
	"net/netip"
	"sync/atomic"
	"testing"
)

// benchKeys returns n distinct IPv4 keys.
func benchKeys(n int) []string {
	rng := rand.New(rand.NewPCG(3, 4))
	keys := make([]string, n)
	for i := range keys {
		keys[i] = IPKey(netip.AddrFrom4([4]byte(binaryBE(rng.Uint32()))))
	}
	return keys
}

// BenchmarkFail records failures on 64Ki keys from parallel goroutines, on
// the real clock and with the default rule and bound (keys get blocked and
// keep failing, the worst case for the log).
func BenchmarkFail(b *testing.B) {
	keys := benchKeys(1 << 16)
	l := New(Options{})
	var seq atomic.Uint64
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := seq.Add(1) << 20
		for pb.Next() {
			l.Fail(keys[i&(1<<16-1)])
			i++
		}
	})
}

// BenchmarkFailFlood records one failure for each of a stream of distinct
// keys in a limiter at its bound, so that every Fail evicts.
func BenchmarkFailFlood(b *testing.B) {
	keys := benchKeys(1 << 18)
	l := New(Options{MaxKeys: 1 << 14})
	var seq atomic.Uint64
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := seq.Add(1) << 20
		for pb.Next() {
			l.Fail(keys[i&(1<<18-1)])
			i++
		}
	})
}

// BenchmarkCheck checks 64Ki keys, a quarter of them tracked and some of
// those blocked, from parallel goroutines.
func BenchmarkCheck(b *testing.B) {
	keys := benchKeys(1 << 16)
	l := New(Options{})
	for i, k := range keys {
		if i%4 == 0 {
			for range i % 7 {
				l.Fail(k)
			}
		}
	}
	var seq atomic.Uint64
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := seq.Add(1) << 20
		for pb.Next() {
			l.Check(keys[i&(1<<16-1)])
			i++
		}
	})
}

// BenchmarkClientIP derives the client address behind two trusted proxies.
func BenchmarkClientIP(b *testing.B) {
	trusted, err := ParseTrusted([]string{"10.0.0.0/8", "::1"})
	if err != nil {
		b.Fatal(err)
	}
	xff := []string{"6.6.6.6, 198.51.100.7, 10.0.0.3"}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ClientIP("10.0.0.2:443", xff, trusted); err != nil {
			b.Fatal(err)
		}
	}
}
