package ratelimit

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

func TestFiveInFiveMinutes(t *testing.T) {
	l, clk := newTestLimiter(Rule{Attempts: 5, Window: 5 * time.Minute}, 0)
	const key = "192.0.2.1"

	want(t, "fresh check", l.Check(key), allowed(5))
	// Failures at 0, 1, 2, 3 and 4 minutes; Remaining counts down.
	for i := 1; i <= 4; i++ {
		want(t, fmt.Sprintf("fail %d", i), l.Fail(key), allowed(5-i))
		want(t, fmt.Sprintf("check after fail %d", i), l.Check(key), allowed(5-i))
		clk.Advance(time.Minute)
	}
	// The fifth failure, at 4m, blocks until the first (at 0m) is 5m old.
	want(t, "fail 5", l.Fail(key), denied(time.Minute, false))
	want(t, "check at 4m", l.Check(key), denied(time.Minute, true))
	want(t, "check again at 4m", l.Check(key), denied(time.Minute, false))
	clk.Advance(59*time.Second + 999*time.Millisecond)
	want(t, "check at 4m59.999s", l.Check(key), denied(time.Millisecond, false))
	clk.Advance(time.Millisecond)
	// At 5m the first failure has left the window: one more attempt.
	want(t, "check at 5m", l.Check(key), allowed(1))
	// Failing it blocks again until the failure at 1m leaves (at 6m).
	want(t, "fail at 5m", l.Fail(key), denied(time.Minute, false))
	clk.Advance(30 * time.Second)
	want(t, "check at 5m30s", l.Check(key), denied(30*time.Second, true))
	if got := l.Check(key).RetryAfterSeconds(); got != 30 {
		t.Errorf("RetryAfterSeconds = %d, want 30", got)
	}
	// Long after the last failure (at 5m) the key is free again.
	clk.Advance(5 * time.Minute)
	want(t, "check at 10m30s", l.Check(key), allowed(5))
	checkInvariants(t, l)
}

func TestSucceedResets(t *testing.T) {
	l, _ := newTestLimiter(Rule{Attempts: 3, Window: time.Hour}, 0)
	l.Fail("k")
	l.Fail("k")
	want(t, "after two failures", l.Check("k"), allowed(1))
	l.Succeed("k")
	want(t, "after success", l.Check("k"), allowed(3))
	if l.Len() != 0 {
		t.Errorf("Len after Succeed = %d, want 0", l.Len())
	}
	// A blocked key is released by a success too (e.g. an administrator
	// reset), and its next block is audited again.
	for range 3 {
		l.Fail("k")
	}
	want(t, "blocked", l.Check("k"), denied(time.Hour, true))
	l.Succeed("k")
	want(t, "after reset", l.Check("k"), allowed(3))
	l.Fail("k")
	l.Fail("k")
	want(t, "blocked anew", l.Fail("k"), denied(time.Hour, false))
	want(t, "blocked anew, check", l.Check("k"), denied(time.Hour, true))
	l.Succeed("unknown") // no-op
	checkInvariants(t, l)
}

func TestRemainingCountsDownAcrossKeys(t *testing.T) {
	l, clk := newTestLimiter(Rule{Attempts: 4, Window: 10 * time.Second}, 0)
	want(t, "a1", l.Fail("a"), allowed(3))
	want(t, "b1", l.Fail("b"), allowed(3))
	want(t, "a2", l.Fail("a"), allowed(2))
	clk.Advance(10 * time.Second) // all of them leave the window
	want(t, "a after window", l.Check("a"), allowed(4))
	want(t, "a3", l.Fail("a"), allowed(3))
	want(t, "b unaffected by a", l.Check("b"), allowed(4))
}

func TestFirstDenialOncePerBlockingPeriod(t *testing.T) {
	l, clk := newTestLimiter(Rule{Attempts: 2, Window: time.Minute}, 0)
	firsts := 0
	count := func(d Decision) Decision {
		if d.FirstDenial {
			firsts++
			if d.Allowed {
				t.Fatalf("FirstDenial on an allowed decision: %+v", d)
			}
		}
		return d
	}
	count(l.Fail("k"))
	clk.Advance(10 * time.Second)
	// Fail predicts the denial but does not report it: the first attempt
	// actually refused does.
	want(t, "second failure blocks", count(l.Fail("k")), denied(50*time.Second, false))
	want(t, "first refused attempt", count(l.Check("k")), denied(50*time.Second, true))
	for range 5 {
		clk.Advance(time.Second)
		if d := count(l.Check("k")); d.Allowed || d.FirstDenial {
			t.Fatalf("repeated check: %+v", d)
		}
		// A failure recorded during the block does not start a new
		// period.
		if d := count(l.Fail("k")); d.Allowed || d.FirstDenial {
			t.Fatalf("fail while blocked: %+v", d)
		}
	}
	if firsts != 1 {
		t.Fatalf("%d first denials in one blocking period, want 1", firsts)
	}
	// The block ends; the key is blocked anew and audited anew.
	clk.Advance(time.Minute)
	want(t, "after window", count(l.Check("k")), allowed(2))
	count(l.Fail("k"))
	count(l.Fail("k"))
	if d := count(l.Check("k")); d.Allowed || !d.FirstDenial {
		t.Fatalf("new blocking period: %+v", d)
	}
	if d := count(l.Check("k")); d.FirstDenial {
		t.Fatalf("second denial of new period: %+v", d)
	}
	if firsts != 2 {
		t.Fatalf("%d first denials in two blocking periods, want 2", firsts)
	}

	// A key whose block ends and that fails again at once, with no allowed
	// Check in between, starts a new period too.
	l2, clk2 := newTestLimiter(Rule{Attempts: 1, Window: time.Minute}, 0)
	want(t, "single attempt", l2.Fail("x"), denied(time.Minute, false))
	want(t, "refused", l2.Check("x"), denied(time.Minute, true))
	clk2.Advance(time.Minute)
	want(t, "again at once", l2.Fail("x"), denied(time.Minute, false))
	want(t, "refused again", l2.Check("x"), denied(time.Minute, true))
	want(t, "and again", l2.Check("x"), denied(time.Minute, false))
}

func TestFailWhileBlockedExtendsBlock(t *testing.T) {
	l, clk := newTestLimiter(Rule{Attempts: 3, Window: time.Minute}, 0)
	for range 3 {
		l.Fail("k")
		clk.Advance(10 * time.Second)
	}
	// Failures at 0s, 10s, 20s; now 30s: blocked until 60s.
	want(t, "blocked", l.Check("k"), denied(30*time.Second, true))
	// A caller that records a failure anyway keeps the key blocked: the
	// counted failures are now 10s, 20s, 30s.
	want(t, "fail while blocked", l.Fail("k"), denied(40*time.Second, false))
	checkInvariants(t, l)
}

func TestDefaults(t *testing.T) {
	l := New(Options{})
	if l.attempts != DefaultAttempts || l.window != int64(DefaultWindow) {
		t.Errorf("default rule %d/%v", l.attempts, time.Duration(l.window))
	}
	capacity := 0
	for i := range l.shards {
		capacity += l.shards[i].limit
	}
	if capacity != DefaultMaxKeys || len(l.shards) != maxShards {
		t.Errorf("capacity %d in %d shards", capacity, len(l.shards))
	}
	want(t, "check", l.Check("k"), allowed(5))
	d := l.Fail("k")
	if !d.Allowed || d.Remaining != 4 {
		t.Errorf("fail with real clock: %+v", d)
	}
	if r := DefaultAccountRule(); r.Attempts != 100 || r.Window != time.Hour {
		t.Errorf("DefaultAccountRule = %+v", r)
	}
	if r := DefaultIPRule(); r.Attempts != 5 || r.Window != 5*time.Minute {
		t.Errorf("DefaultIPRule = %+v", r)
	}
}

func TestShardCapacitiesSumToMaxKeys(t *testing.T) {
	for _, maxKeys := range []int{1, 2, 15, 63, 64, 100, 1000, 1023, 1024, 1025, 100_000, 100_007} {
		l := New(Options{MaxKeys: maxKeys})
		sum := 0
		for i := range l.shards {
			if l.shards[i].limit < 1 {
				t.Errorf("MaxKeys %d: shard %d has no capacity", maxKeys, i)
			}
			sum += l.shards[i].limit
		}
		if sum != maxKeys {
			t.Errorf("MaxKeys %d: capacities sum to %d", maxKeys, sum)
		}
	}
}

func TestRetryAfterSeconds(t *testing.T) {
	for _, tc := range []struct {
		d    Decision
		want int
	}{
		{Decision{Allowed: true, Remaining: 3}, 0},
		{Decision{RetryAfter: time.Nanosecond}, 1},
		{Decision{RetryAfter: time.Second}, 1},
		{Decision{RetryAfter: time.Second + time.Nanosecond}, 2},
		{Decision{RetryAfter: 299*time.Second + 500*time.Millisecond}, 300},
		{Decision{}, 1},
	} {
		if got := tc.d.RetryAfterSeconds(); got != tc.want {
			t.Errorf("%+v.RetryAfterSeconds() = %d, want %d", tc.d, got, tc.want)
		}
	}
}

// TestEvictionOrder uses a limiter small enough to have one shard, so that
// eviction order is global.
func TestEvictionOrder(t *testing.T) {
	l, clk := newTestLimiter(Rule{Attempts: 2, Window: time.Hour}, 3)
	if len(l.shards) != 1 {
		t.Fatalf("%d shards", len(l.shards))
	}
	l.Fail("a") // expires at 1h
	clk.Advance(time.Minute)
	l.Fail("b") // expires at 1h1m
	clk.Advance(time.Minute)
	l.Fail("c") // expires at 1h2m
	clk.Advance(time.Minute)
	l.Fail("a") // a is blocked until 1h, when its first failure leaves
	l.Fail("d") // evicts b, the unblocked entry closest to expiry
	if l.Len() != 3 {
		t.Fatalf("Len = %d", l.Len())
	}
	want(t, "a survives, blocked", l.Check("a"), denied(57*time.Minute, true))
	want(t, "b evicted", l.Check("b"), allowed(2))
	want(t, "c kept", l.Check("c"), allowed(1))
	want(t, "d kept", l.Check("d"), allowed(1))
	checkInvariants(t, l)

	// Block c and d as well: every entry is blocked, so the one whose block
	// ends first (a, at 1h) goes.
	clk.Advance(time.Minute) // 4m
	l.Fail("c")              // blocked until 1h2m
	l.Fail("d")              // blocked until 1h3m
	l.Fail("e")
	want(t, "a evicted", l.Check("a"), allowed(2))
	want(t, "c kept", l.Check("c"), denied(58*time.Minute, true))
	want(t, "d kept", l.Check("d"), denied(59*time.Minute, true))
	want(t, "e kept", l.Check("e"), allowed(1))
	checkInvariants(t, l)

	// Once c's block has ended it is no longer protected: at 1h2m c is
	// unblocked (its last failure at 4m counts until 1h4m) while d is
	// still blocked, so adding f evicts e (expiring at 1h4m, tied with c,
	// or c) but never d.
	clk.Advance(58 * time.Minute) // 1h2m
	l.Fail("f")
	if d := l.Check("d"); d.Allowed {
		t.Fatalf("blocked d was evicted")
	}
	checkInvariants(t, l)
}

func TestSweep(t *testing.T) {
	l, clk := newTestLimiter(Rule{Attempts: 2, Window: time.Minute}, 0)
	l.Fail("old")
	l.Fail("blocked")
	clk.Advance(30 * time.Second)
	l.Fail("blocked") // blocked until 1m, tracked until 1m30s
	l.Fail("new")
	if n := l.Sweep(); n != 0 {
		t.Fatalf("early Sweep dropped %d", n)
	}
	clk.Advance(30 * time.Second) // 1m
	if n := l.Sweep(); n != 1 {
		t.Fatalf("Sweep at 1m dropped %d, want 1 (old)", n)
	}
	if l.Len() != 2 {
		t.Fatalf("Len = %d, want 2", l.Len())
	}
	want(t, "blocked key after its block", l.Check("blocked"), allowed(1))
	clk.Advance(30 * time.Second) // 1m30s
	if n := l.Sweep(); n != 2 {
		t.Fatalf("Sweep at 1m30s dropped %d, want 2", n)
	}
	if l.Len() != 0 {
		t.Fatalf("Len = %d, want 0", l.Len())
	}
	checkInvariants(t, l)
}

// TestAgainstModel drives a limiter with random operations and compares
// every decision with a straightforward model that keeps every failure.
func TestAgainstModel(t *testing.T) {
	for _, rule := range []Rule{{1, time.Second}, {3, 10 * time.Second}, {5, time.Minute}} {
		t.Run(fmt.Sprintf("%d per %v", rule.Attempts, rule.Window), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(rule.Attempts), 7))
			l, clk := newTestLimiter(rule, 1<<20)
			m := newModel(rule)
			keys := []string{"a", "b", "c", "d", "e", "f"}
			for step := range 20_000 {
				key := keys[rng.IntN(len(keys))]
				now := clk.Now()
				switch op := rng.IntN(100); {
				case op < 40:
					want(t, fmt.Sprintf("step %d Fail(%s)", step, key), l.Fail(key), m.fail(key, now))
				case op < 75:
					want(t, fmt.Sprintf("step %d Check(%s)", step, key), l.Check(key), m.check(key, now))
				case op < 78:
					l.Succeed(key)
					m.succeed(key)
				case op < 82:
					if got, exp := l.Sweep(), m.sweep(now); got != exp {
						t.Fatalf("step %d: Sweep = %d, want %d", step, got, exp)
					}
				default:
					clk.Advance(time.Duration(rng.Int64N(int64(rule.Window) / 2)))
				}
				if l.Len() != len(m.keys) {
					t.Fatalf("step %d: Len = %d, model %d", step, l.Len(), len(m.keys))
				}
				if step%97 == 0 {
					checkInvariants(t, l)
				}
			}
		})
	}
}

// model is a reference implementation: every failure since the last
// success is kept; the counted ones are the last Attempts within the
// window.
type model struct {
	rule Rule
	keys map[string]*modelKey
}

type modelKey struct {
	fails    []time.Time
	notified bool
}

func newModel(rule Rule) *model { return &model{rule: rule, keys: map[string]*modelKey{}} }

// counted returns the counted failures of k at now.
func (m *model) counted(k *modelKey, now time.Time) []time.Time {
	last := k.fails[max(0, len(k.fails)-m.rule.Attempts):]
	var in []time.Time
	for _, f := range last {
		if now.Sub(f) < m.rule.Window {
			in = append(in, f)
		}
	}
	return in
}

func (m *model) decide(k *modelKey, now time.Time, report bool) Decision {
	c := m.counted(k, now)
	if len(c) < m.rule.Attempts {
		return Decision{Allowed: true, Remaining: m.rule.Attempts - len(c)}
	}
	d := Decision{RetryAfter: c[0].Add(m.rule.Window).Sub(now)}
	if report {
		d.FirstDenial = !k.notified
		k.notified = true
	}
	return d
}

func (m *model) check(key string, now time.Time) Decision {
	k := m.keys[key]
	if k == nil {
		return Decision{Allowed: true, Remaining: m.rule.Attempts}
	}
	return m.decide(k, now, true)
}

func (m *model) fail(key string, now time.Time) Decision {
	k := m.keys[key]
	if k == nil {
		k = &modelKey{}
		m.keys[key] = k
	}
	if len(m.counted(k, now)) < m.rule.Attempts {
		k.notified = false
	}
	k.fails = append(k.fails, now)
	return m.decide(k, now, false)
}

func (m *model) succeed(key string) { delete(m.keys, key) }

func (m *model) sweep(now time.Time) int {
	n := 0
	for key, k := range m.keys {
		if len(m.counted(k, now)) == 0 {
			delete(m.keys, key)
			n++
		}
	}
	return n
}

func TestBlockedKeepsTheFirstDenial(t *testing.T) {
	l, clk := newTestLimiter(Rule{Attempts: 2, Window: time.Minute}, 0)
	if l.Blocked("k") {
		t.Fatal("unknown key blocked")
	}
	l.Fail("k")
	if l.Blocked("k") {
		t.Fatal("blocked after one of two failures")
	}
	l.Fail("k")
	for range 3 {
		if !l.Blocked("k") {
			t.Fatal("not blocked after two failures")
		}
	}
	// Blocked peeked only: the first refusal is still reported as such.
	want(t, "check after peeks", l.Check("k"), denied(time.Minute, true))
	clk.Advance(time.Minute)
	if l.Blocked("k") {
		t.Fatal("still blocked after the window")
	}
	checkInvariants(t, l)
}
