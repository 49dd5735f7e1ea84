// Package ratelimit limits failed authentication attempts.
//
// Warden counts failed logins, 2FA codes, recovery codes and password
// re-checks per client address and account (by default 5 failures per 5
// minutes) and per account (by default 100 failures per hour, which still
// holds when an attacker rotates IPs), and failed bearer tokens per token
// id or per address in limiters of their own; the keys are the caller's
// (core/auth). A successful attempt resets its counters. A denied attempt
// is answered HTTP 429 with a Retry-After header (see
// Decision.RetryAfterSeconds) and audited once per blocking period (see
// Decision.FirstDenial), not once per attempt.
//
// A Limiter keeps a sliding log of at most Rule.Attempts failure times per
// key, so the memory per key is bounded, and it tracks at most
// Options.MaxKeys keys, so the memory as a whole stays bounded under a flood
// of distinct client addresses. Keys are spread over independently locked
// shards so that concurrent attempts rarely contend on one lock.
//
// ClientIP and ParseTrusted derive the client address of a request behind
// trusted reverse proxies; IPKey turns it into a key that groups an IPv6
// client's /64.
package ratelimit

import (
	"hash/maphash"
	"strings"
	"time"
)

// Defaults applied by New to zero or negative Options fields.
const (
	// DefaultAttempts is the number of failures a Rule allows when its
	// Attempts field is not positive.
	DefaultAttempts = 5
	// DefaultWindow is the window of a Rule whose Window field is not
	// positive.
	DefaultWindow = 5 * time.Minute
	// DefaultMaxKeys is the bound on tracked keys when Options.MaxKeys is
	// not positive.
	DefaultMaxKeys = 100_000
)

const (
	// maxShards is the number of shards of a large Limiter.
	maxShards = 16
	// minShardKeys is the smallest per-shard share of MaxKeys worth a
	// shard of its own: small limiters use fewer shards, so that their
	// eviction order is (nearly) global.
	minShardKeys = 64
)

// Rule allows at most Attempts failures per Window: the next attempt after
// Attempts failures within the last Window is denied until the oldest of
// them leaves the window.
type Rule struct {
	// Attempts is the number of failures allowed within Window.
	Attempts int
	// Window is the length of the sliding window.
	Window time.Duration
}

// DefaultIPRule returns the rule Warden applies per client IP: 5 failures
// per 5 minutes.
func DefaultIPRule() Rule {
	return Rule{Attempts: DefaultAttempts, Window: DefaultWindow}
}

// DefaultAccountRule returns the rule Warden applies per account: 100
// failures per hour.
func DefaultAccountRule() Rule {
	return Rule{Attempts: 100, Window: time.Hour}
}

// Options configure a Limiter. The zero value is usable: it selects
// DefaultIPRule, DefaultMaxKeys and time.Now.
type Options struct {
	// Rule is the limit per key. A non-positive Attempts or Window is
	// replaced by DefaultAttempts or DefaultWindow.
	Rule Rule
	// MaxKeys bounds the number of tracked keys (default DefaultMaxKeys).
	// When the limit is reached, tracking a new key evicts the entry
	// closest to expiry; an entry that is currently blocked is evicted
	// only when every tracked entry is blocked (then the one whose block
	// ends first goes). The bound is global; each shard enforces its share.
	MaxKeys int
	// Now is the clock (tests fix it); default time.Now. It must be safe
	// for concurrent use.
	Now func() time.Time
}

// Decision is the verdict for one attempt.
type Decision struct {
	// Allowed reports whether the attempt may proceed.
	Allowed bool
	// RetryAfter is, when the attempt is denied, the time until the oldest
	// counted failure leaves the window, when one more attempt becomes
	// allowed; it is zero when Allowed. Round it up to whole seconds for
	// a Retry-After header (RetryAfterSeconds does).
	RetryAfter time.Duration
	// FirstDenial is true only for the first denied attempt of a key in
	// its current blocking period, that is on the first denying decision
	// Check returns after the key became blocked; callers audit the denial
	// only then, not on every denied attempt. Decisions returned by Fail
	// never set it (they predict the next attempt, which is not denied
	// yet), so auditing on every FirstDenial, whichever call returned it,
	// audits each blocking period once.
	FirstDenial bool
	// Remaining is, when Allowed, the number of failures left before the
	// key is blocked; it is zero when the attempt is denied.
	Remaining int
}

// RetryAfterSeconds returns RetryAfter rounded up to whole seconds, the
// value for an HTTP Retry-After header; it is at least 1 when the attempt
// is denied and 0 when it is allowed.
func (d Decision) RetryAfterSeconds() int {
	if d.Allowed {
		return 0
	}
	s := int((d.RetryAfter + time.Second - 1) / time.Second)
	if s < 1 {
		s = 1
	}
	return s
}

// Limiter tracks failed attempts per key (a client IP key from IPKey,
// "acct:alice", …) and decides whether a key may attempt again. It is safe
// for concurrent use. Create it with New.
type Limiter struct {
	attempts int
	window   int64 // nanoseconds
	now      func() time.Time
	base     time.Time // origin of the int64 timestamps
	seed     maphash.Seed
	shards   []shard
}

// New returns a Limiter configured by opts; see Options for the defaults.
func New(opts Options) *Limiter {
	if opts.Rule.Attempts <= 0 {
		opts.Rule.Attempts = DefaultAttempts
	}
	if opts.Rule.Window <= 0 {
		opts.Rule.Window = DefaultWindow
	}
	if opts.MaxKeys <= 0 {
		opts.MaxKeys = DefaultMaxKeys
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	n := min(maxShards, max(1, opts.MaxKeys/minShardKeys))
	l := &Limiter{
		attempts: opts.Rule.Attempts,
		window:   int64(opts.Rule.Window),
		now:      opts.Now,
		base:     opts.Now(),
		seed:     maphash.MakeSeed(),
		shards:   make([]shard, n),
	}
	// Distribute MaxKeys exactly, so that the shards' caps sum to it.
	for i := range l.shards {
		c := opts.MaxKeys / n
		if i < opts.MaxKeys%n {
			c++
		}
		l.shards[i] = shard{
			limit:   c,
			entries: make(map[string]*entry),
		}
	}
	return l
}

// clock returns the current time as nanoseconds since l.base; Sub uses the
// monotonic clock when both times carry it.
func (l *Limiter) clock() int64 {
	return int64(l.now().Sub(l.base))
}

// shardFor returns the shard responsible for key. The per-Limiter random
// seed keeps clients from steering their keys into one shard.
func (l *Limiter) shardFor(key string) *shard {
	if len(l.shards) == 1 {
		return &l.shards[0]
	}
	return &l.shards[maphash.String(l.seed, key)%uint64(len(l.shards))]
}

// Check reports whether key may attempt now, without counting anything.
// The first denial of a blocking period is reported as FirstDenial.
func (l *Limiter) Check(key string) Decision {
	now := l.clock()
	s := l.shardFor(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.entries[key]
	if e == nil {
		return Decision{Allowed: true, Remaining: l.attempts}
	}
	return l.decide(e, now, true)
}

// Blocked reports whether key is denied now, like Check, but without
// reporting or consuming the blocking period's FirstDenial: a caller that
// only chooses a cheaper path for a blocked key (and may still let a valid
// credential through) asks this, and leaves the audited denial to the
// Check that actually refuses an attempt.
func (l *Limiter) Blocked(key string) bool {
	now := l.clock()
	s := l.shardFor(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.entries[key]
	return e != nil && !l.decide(e, now, false).Allowed
}

// Fail records a failed attempt for key and returns the decision for the
// next attempt (never a FirstDenial: see Decision). A failure recorded
// while the key is blocked replaces the oldest counted failure, so it
// extends the block.
func (l *Limiter) Fail(key string) Decision {
	now := l.clock()
	s := l.shardFor(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.entries[key]
	if e == nil {
		if len(s.entries) >= s.limit {
			s.evict(now)
		}
		key = strings.Clone(key) // do not retain a caller's larger string
		e = &entry{key: key, ts: make([]int64, 0, min(l.attempts, 4))}
		s.entries[key] = e
		s.highWater = max(s.highWater, len(s.entries))
		e.ts = append(e.ts, now)
		l.place(s, e, true)
		return l.decide(e, now, false)
	}
	l.prune(e, now)
	if len(e.ts) < l.attempts {
		// Not blocked at this instant: any earlier blocking period has
		// ended, so the next denial is a first one again.
		e.notified = false
	} else {
		// Still blocked: the new failure replaces the oldest one.
		e.ts = e.ts[:copy(e.ts, e.ts[1:])]
	}
	e.insert(now, l.attempts)
	l.place(s, e, false)
	return l.decide(e, now, false)
}

// Succeed clears key's failures: a successful attempt resets the counter.
func (l *Limiter) Succeed(key string) {
	s := l.shardFor(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	if e := s.entries[key]; e != nil {
		s.remove(e)
	}
}

// Len returns the number of tracked keys.
func (l *Limiter) Len() int {
	n := 0
	for i := range l.shards {
		s := &l.shards[i]
		s.mu.Lock()
		n += len(s.entries)
		s.mu.Unlock()
	}
	return n
}

// Sweep drops the keys whose failures have all left the window and returns
// how many it dropped. Call it periodically (the gateway's maintenance
// tick); eviction bounds memory regardless.
func (l *Limiter) Sweep() int {
	now := l.clock()
	dropped := 0
	for i := range l.shards {
		s := &l.shards[i]
		s.mu.Lock()
		s.unblockExpired(now)
		for len(s.open) > 0 && s.open[0].prio <= now {
			s.remove(s.open[0])
			dropped++
		}
		s.compact()
		s.mu.Unlock()
	}
	return dropped
}

// decide returns the decision for the next attempt of e at now. When
// report is true, a denial is reported as FirstDenial unless one was
// reported before in the blocking period, and e is marked as notified.
func (l *Limiter) decide(e *entry, now int64, report bool) Decision {
	i := l.firstCounted(e, now)
	n := len(e.ts) - i
	if n < l.attempts {
		return Decision{Allowed: true, Remaining: l.attempts - n}
	}
	// n == l.attempts == len(e.ts), so i == 0: the block lasts until the
	// oldest failure leaves the window.
	d := Decision{RetryAfter: time.Duration(e.ts[i] + l.window - now)}
	if report {
		d.FirstDenial = !e.notified
		e.notified = true
	}
	return d
}

// firstCounted returns the index of e's oldest failure still in the window
// at now; a failure at t counts while t+window > now.
func (l *Limiter) firstCounted(e *entry, now int64) int {
	i := 0
	for i < len(e.ts) && e.ts[i]+l.window <= now {
		i++
	}
	return i
}

// prune drops e's failures that have left the window at now.
func (l *Limiter) prune(e *entry, now int64) {
	if i := l.firstCounted(e, now); i > 0 {
		e.ts = e.ts[:copy(e.ts, e.ts[i:])]
	}
}

// place puts e, whose failures just changed, into the shard's blocked or
// open heap with the matching priority; fresh is true when e is in
// neither heap yet. The caller has pruned e, so a full log means blocked.
func (l *Limiter) place(s *shard, e *entry, fresh bool) {
	blocked := len(e.ts) >= l.attempts
	var prio int64
	if blocked {
		prio = e.ts[0] + l.window // the block ends
	} else {
		prio = e.ts[len(e.ts)-1] + l.window // the entry expires
	}
	switch {
	case fresh:
		e.prio = prio
		s.heapOf(blocked).push(e)
		e.blocked = blocked
	case e.blocked != blocked:
		s.heapOf(e.blocked).remove(e.index)
		e.prio = prio
		s.heapOf(blocked).push(e)
		e.blocked = blocked
	default:
		e.prio = prio
		s.heapOf(blocked).fix(e.index)
	}
}
