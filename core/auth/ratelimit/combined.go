package ratelimit

// Check names one limit that applies to an attempt: a Limiter and the key
// to count under, e.g. the client-IP limiter with IPKey(addr) and the
// account limiter with "acct:alice". A Check with a nil Limiter is skipped.
type Check struct {
	// Limiter is the limiter to consult.
	Limiter *Limiter
	// Key is the key within Limiter.
	Key string
}

// Allow checks every check without counting anything and returns the most
// restrictive decision: denied if any check denies, with the longest
// RetryAfter among the denials, and FirstDenial if any denying check
// reports its first denial (every check is consulted, so none of those is
// lost). When all allow, Remaining is the smallest one. With no checks
// (or only nil limiters) the attempt is allowed with Remaining 0, meaning
// no limit applies.
func Allow(checks ...Check) Decision {
	var m merger
	for _, c := range checks {
		if c.Limiter != nil {
			m.add(c.Limiter.Check(c.Key))
		}
	}
	return m.result()
}

// FailAll records a failed attempt with every check (see Limiter.Fail) and
// returns the most restrictive decision for the next attempt, as Allow
// combines it; like Fail's, it never has FirstDenial set.
func FailAll(checks ...Check) Decision {
	var m merger
	for _, c := range checks {
		if c.Limiter != nil {
			m.add(c.Limiter.Fail(c.Key))
		}
	}
	return m.result()
}

// SucceedAll clears the failures of every check (see Limiter.Succeed).
func SucceedAll(checks ...Check) {
	for _, c := range checks {
		if c.Limiter != nil {
			c.Limiter.Succeed(c.Key)
		}
	}
}

// merger combines decisions into the most restrictive one.
type merger struct {
	d    Decision
	seen bool
}

func (m *merger) add(d Decision) {
	switch {
	case !m.seen:
		m.d, m.seen = d, true
	case d.Allowed:
		if m.d.Allowed && d.Remaining < m.d.Remaining {
			m.d.Remaining = d.Remaining
		}
	case m.d.Allowed:
		m.d = d
	default:
		m.d.RetryAfter = max(m.d.RetryAfter, d.RetryAfter)
		m.d.FirstDenial = m.d.FirstDenial || d.FirstDenial
	}
}

func (m *merger) result() Decision {
	if !m.seen {
		return Decision{Allowed: true}
	}
	return m.d
}
