package ratelimit

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"runtime"
	"sync"
	"testing"
	"time"
)

// heapAfterGC returns HeapAlloc after a full collection.
func heapAfterGC() uint64 {
	var ms runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// TestFloodMemoryBound feeds a million distinct random IPv4 addresses, one
// failure each, into a limiter bounded to 100,000 keys: the number of keys
// and the heap stay bounded, and a blocked key survives the flood.
func TestFloodMemoryBound(t *testing.T) {
	const (
		maxKeys  = 100_000
		heapMax  = 64 << 20
		checkLen = 1 << 10
	)
	flood := 1_000_000
	if testing.Short() {
		flood = 200_000
	}
	before := heapAfterGC()
	clk := newFakeClock()
	l := New(Options{Rule: Rule{Attempts: 5, Window: 5 * time.Minute}, MaxKeys: maxKeys, Now: clk.Now})

	const victim = "203.0.113.66"
	for range 5 {
		l.Fail(victim)
	}
	if d := l.Check(victim); d.Allowed {
		t.Fatalf("victim not blocked: %+v", d)
	}

	rng := rand.New(rand.NewPCG(1, 2))
	var peak uint64
	for i := range flood {
		a := netip.AddrFrom4([4]byte(binaryBE(rng.Uint32())))
		if d := l.Fail(IPKey(a)); !d.Allowed && d.Remaining != 0 {
			t.Fatalf("inconsistent decision %+v", d)
		}
		clk.Advance(100 * time.Microsecond) // a million failures take 100s
		if i%checkLen == 0 {
			if n := l.Len(); n > maxKeys {
				t.Fatalf("after %d failures Len = %d > %d", i+1, n, maxKeys)
			}
		}
		if (i+1)%(flood/5) == 0 {
			h := heapAfterGC()
			peak = max(peak, h)
			t.Logf("after %7d distinct IPs: Len %d, HeapAlloc %.1f MiB", i+1, l.Len(), float64(h)/(1<<20))
		}
	}
	if n := l.Len(); n > maxKeys || n < maxKeys-maxShards {
		t.Fatalf("after the flood Len = %d, want about %d", n, maxKeys)
	}
	after := heapAfterGC()
	peak = max(peak, after)
	t.Logf("HeapAlloc before %.1f MiB, after flood %.1f MiB (limiter ≈ %.1f MiB), peak sample %.1f MiB",
		float64(before)/(1<<20), float64(after)/(1<<20), float64(after-min(after, before))/(1<<20), float64(peak)/(1<<20))
	if peak > heapMax {
		t.Errorf("HeapAlloc after GC reached %.1f MiB, want < %d MiB", float64(peak)/(1<<20), heapMax>>20)
	}

	// The blocked key survived: eviction takes unblocked keys first.
	if d := l.Check(victim); d.Allowed || d.RetryAfter != 5*time.Minute-time.Duration(flood)*100*time.Microsecond {
		t.Fatalf("victim after the flood: %+v", d)
	}
	checkInvariants(t, l)

	// The maintenance sweep drops everything once the window has passed,
	// and the memory is released.
	clk.Advance(5 * time.Minute)
	if n := l.Sweep(); n != maxKeys && n < maxKeys-maxShards {
		t.Fatalf("Sweep dropped %d", n)
	}
	if l.Len() != 0 {
		t.Fatalf("Len after Sweep = %d", l.Len())
	}
	swept := heapAfterGC()
	t.Logf("HeapAlloc after Sweep %.1f MiB", float64(swept)/(1<<20))
	if swept > before+(after-min(after, before))/4 {
		t.Errorf("Sweep released too little: HeapAlloc %d after the flood, %d after Sweep", after, swept)
	}
	runtime.KeepAlive(l)
}

func binaryBE(v uint32) []byte {
	return []byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}
}

// TestConcurrent hammers limiters from 64 goroutines on overlapping keys;
// run it with -race. Besides the race detector's verdict it checks that
// no failure is lost, that FirstDenial is reported once per key, and that
// the key bound holds under concurrent eviction.
func TestConcurrent(t *testing.T) {
	const (
		workers = 64
		rounds  = 400
	)
	clk := newFakeClock()
	// exact never evicts nor lets failures expire: every failure counts.
	exact := New(Options{Rule: Rule{Attempts: 1_000_000, Window: time.Hour}, Now: clk.Now})
	// blocking blocks each of its few keys once.
	blocking := New(Options{Rule: Rule{Attempts: 50, Window: time.Hour}, Now: clk.Now})
	// churn evicts constantly: many keys, small bound, a moving clock.
	const churnMax = 16 * minShardKeys
	churn := New(Options{Rule: Rule{Attempts: 3, Window: time.Second}, MaxKeys: churnMax, Now: clk.Now})
	blockingKeys := []string{"k0", "k1", "k2", "k3"}

	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		firsts = map[string]int{}
	)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 99))
			for i := range rounds {
				exact.Fail("shared")
				exact.Fail(fmt.Sprintf("w%d", w%8))

				key := blockingKeys[rng.IntN(len(blockingKeys))]
				blocking.Fail(key)
				for _, k := range blockingKeys {
					if d := blocking.Check(k); d.FirstDenial {
						mu.Lock()
						firsts[k]++
						mu.Unlock()
					}
				}

				ck := fmt.Sprintf("c%d", rng.IntN(4*churnMax))
				d := FailAll(Check{churn, ck}, Check{exact, "acct"})
				if !d.Allowed && d.RetryAfter <= 0 {
					t.Errorf("denied without RetryAfter: %+v", d)
				}
				churn.Check(ck)
				if i%16 == 0 {
					churn.Succeed(ck)
					clk.Advance(time.Millisecond)
				}
				if i%64 == 0 {
					churn.Sweep()
					if n := churn.Len(); n > churnMax {
						t.Errorf("churn Len = %d > %d", n, churnMax)
					}
				}
			}
		}()
	}
	wg.Wait()

	want(t, "shared key", exact.Check("shared"), allowed(1_000_000-workers*rounds))
	for i := range 8 {
		want(t, fmt.Sprintf("w%d", i), exact.Check(fmt.Sprintf("w%d", i)), allowed(1_000_000-workers/8*rounds))
	}
	want(t, "acct", exact.Check("acct"), allowed(1_000_000-workers*rounds))
	for _, k := range blockingKeys {
		if firsts[k] != 1 {
			t.Errorf("key %s: %d first denials, want 1", k, firsts[k])
		}
	}
	checkInvariants(t, exact)
	checkInvariants(t, blocking)
	checkInvariants(t, churn)
}
