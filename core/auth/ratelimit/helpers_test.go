package ratelimit

import (
	"sync/atomic"
	"testing"
	"time"
)

// fakeClock is a clock tests move by hand; safe for concurrent use.
type fakeClock struct{ ns atomic.Int64 }

func newFakeClock() *fakeClock {
	c := &fakeClock{}
	c.ns.Store(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC).UnixNano())
	return c
}

func (c *fakeClock) Now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *fakeClock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

// newTestLimiter returns a limiter on a fake clock.
func newTestLimiter(rule Rule, maxKeys int) (*Limiter, *fakeClock) {
	c := newFakeClock()
	return New(Options{Rule: rule, MaxKeys: maxKeys, Now: c.Now}), c
}

// want compares a decision with the expected one.
func want(t *testing.T, what string, got, exp Decision) {
	t.Helper()
	if got != exp {
		t.Fatalf("%s: got %+v, want %+v", what, got, exp)
	}
}

func allowed(remaining int) Decision { return Decision{Allowed: true, Remaining: remaining} }

func denied(retry time.Duration, first bool) Decision {
	return Decision{RetryAfter: retry, FirstDenial: first}
}

// checkInvariants verifies the internal bookkeeping of every shard.
func checkInvariants(t *testing.T, l *Limiter) {
	t.Helper()
	total := 0
	for si := range l.shards {
		s := &l.shards[si]
		s.mu.Lock()
		if len(s.entries) > s.limit {
			t.Errorf("shard %d: %d entries > limit %d", si, len(s.entries), s.limit)
		}
		if len(s.open)+len(s.blocked) != len(s.entries) {
			t.Errorf("shard %d: heaps hold %d+%d entries, map %d", si, len(s.open), len(s.blocked), len(s.entries))
		}
		total += s.limit
		for _, h := range []struct {
			blocked bool
			h       entryHeap
		}{{false, s.open}, {true, s.blocked}} {
			for i, e := range h.h {
				if e.index != i || e.blocked != h.blocked {
					t.Errorf("shard %d: entry %q index %d blocked %v at %d in blocked=%v heap", si, e.key, e.index, e.blocked, i, h.blocked)
				}
				if i > 0 && h.h[(i-1)/2].prio > e.prio {
					t.Errorf("shard %d: heap order violated at %d", si, i)
				}
				if s.entries[e.key] != e {
					t.Errorf("shard %d: heap entry %q not in map", si, e.key)
				}
				if len(e.ts) == 0 || len(e.ts) > l.attempts {
					t.Errorf("shard %d: entry %q has %d failures", si, e.key, len(e.ts))
					continue
				}
				for j := 1; j < len(e.ts); j++ {
					if e.ts[j-1] > e.ts[j] {
						t.Errorf("shard %d: entry %q failures unsorted", si, e.key)
					}
				}
				if e.blocked {
					if len(e.ts) != l.attempts || e.prio != e.ts[0]+l.window {
						t.Errorf("shard %d: blocked entry %q: %d failures, prio %d", si, e.key, len(e.ts), e.prio)
					}
				} else if e.prio != e.ts[len(e.ts)-1]+l.window {
					t.Errorf("shard %d: open entry %q prio %d, want %d", si, e.key, e.prio, e.ts[len(e.ts)-1]+l.window)
				}
			}
		}
		s.mu.Unlock()
	}
	if total == 0 {
		t.Errorf("no capacity")
	}
}
