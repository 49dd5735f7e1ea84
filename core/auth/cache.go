package auth

import (
	"database/sql"
	"sync"
	"time"
)

// sessionTTL is how long a session's state is trusted before it is read
// again: a revocation by another process takes effect within it; one in
// this process takes effect at once.
const sessionTTL = time.Second

type sessionState struct {
	userID    int64
	name      string
	role      Role
	expires   time.Time
	lastSeen  time.Time
	live      bool // not revoked, user not disabled
	bound     bool // a browser session: uses carry its binding
	remember  bool // opened with remember me: the remember-me idle limit applies
	fetchedAt time.Time
}

// sessionCache holds recently checked sessions.
type sessionCache struct {
	mu sync.RWMutex
	m  map[string]sessionState
}

func newSessionCache() *sessionCache { return &sessionCache{m: map[string]sessionState{}} }

func (c *sessionCache) get(sid string, now time.Time) (sessionState, bool) {
	c.mu.RLock()
	st, ok := c.m[sid]
	c.mu.RUnlock()
	if !ok || now.Sub(st.fetchedAt) >= sessionTTL || now.Before(st.fetchedAt) {
		return sessionState{}, false
	}
	return st, true
}

func (c *sessionCache) put(sid string, st sessionState) {
	c.mu.Lock()
	c.m[sid] = st
	c.mu.Unlock()
}

// forget drops sessions so the next check reads the database.
func (c *sessionCache) forget(sids ...string) {
	c.mu.Lock()
	for _, s := range sids {
		delete(c.m, s)
	}
	c.mu.Unlock()
}

func (c *sessionCache) forgetUser(userID int64) {
	c.mu.Lock()
	for sid, st := range c.m {
		if st.userID == userID {
			delete(c.m, sid)
		}
	}
	c.mu.Unlock()
}

func (c *sessionCache) sweep(now time.Time) {
	c.mu.Lock()
	for sid, st := range c.m {
		if now.Sub(st.fetchedAt) > time.Minute {
			delete(c.m, sid)
		}
	}
	c.mu.Unlock()
}

// tokenCache remembers access tokens whose signature and claims were
// already checked, until they expire, so a client reusing its token costs
// a map lookup instead of a JWT parse. Session liveness is still checked
// on every request.
type tokenCache struct {
	mu sync.RWMutex
	m  map[string]*accessClaims
}

const maxCachedTokens = 50_000

func newTokenCache() *tokenCache { return &tokenCache{m: map[string]*accessClaims{}} }

func (c *tokenCache) get(token string, now time.Time) (*accessClaims, bool) {
	c.mu.RLock()
	cl, ok := c.m[token]
	c.mu.RUnlock()
	if !ok || !now.Before(cl.ExpiresAt.Time) {
		return nil, false
	}
	return cl, true
}

func (c *tokenCache) put(token string, cl *accessClaims) {
	c.mu.Lock()
	if len(c.m) >= maxCachedTokens {
		// Drop an arbitrary half; they are parsed again when used.
		n := 0
		for k := range c.m {
			delete(c.m, k)
			if n++; n >= maxCachedTokens/2 {
				break
			}
		}
	}
	c.m[token] = cl
	c.mu.Unlock()
}

func (c *tokenCache) sweep(now time.Time) {
	c.mu.Lock()
	for k, cl := range c.m {
		if !now.Before(cl.ExpiresAt.Time) {
			delete(c.m, k)
		}
	}
	c.mu.Unlock()
}

func (c *tokenCache) forgetAll() {
	c.mu.Lock()
	c.m = map[string]*accessClaims{}
	c.mu.Unlock()
}

// maxCachedUsers bounds the user cache; past it the cache starts over.
const maxCachedUsers = 10_000

// userCache holds users recently read by name, for sessionTTL: a change
// made by another process shows within it. Every write in this process
// invalidates the whole cache (Service.write), so what this process
// changed shows at once. An entry is kept only if no write ended between
// the generation read before the database read and the put.
type userCache struct {
	mu  sync.RWMutex
	gen uint64
	m   map[string]cachedUser
}

type cachedUser struct {
	user      User
	gen       uint64
	fetchedAt time.Time
}

func newUserCache() *userCache { return &userCache{m: map[string]cachedUser{}} }

// generation is read before the database read whose result is put.
func (c *userCache) generation() uint64 {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.gen
}

func (c *userCache) get(name string, now time.Time) (User, bool) {
	c.mu.RLock()
	e, ok := c.m[name]
	gen := c.gen
	c.mu.RUnlock()
	if !ok || e.gen != gen || now.Sub(e.fetchedAt) >= sessionTTL || now.Before(e.fetchedAt) {
		return User{}, false
	}
	u := e.user
	// The caller gets its own times to keep.
	if u.Disabled != nil {
		t := *u.Disabled
		u.Disabled = &t
	}
	if u.LastLogin != nil {
		t := *u.LastLogin
		u.LastLogin = &t
	}
	return u, true
}

func (c *userCache) put(name string, u User, gen uint64, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		return // a write happened meanwhile; u may predate it
	}
	if len(c.m) >= maxCachedUsers {
		c.m = map[string]cachedUser{}
	}
	c.m[name] = cachedUser{user: u, gen: gen, fetchedAt: now}
}

// invalidate drops every entry; called after each write.
func (c *userCache) invalidate() {
	c.mu.Lock()
	c.gen++
	clear(c.m)
	c.mu.Unlock()
}

func (c *userCache) sweep(now time.Time) {
	c.mu.Lock()
	for k, e := range c.m {
		if now.Sub(e.fetchedAt) >= sessionTTL {
			delete(c.m, k)
		}
	}
	c.mu.Unlock()
}

// tokenRowState is a gateway token's row as last read, or its absence.
type tokenRowState struct {
	found     bool
	name      string
	role      string
	hash      []byte
	expires   sql.NullInt64
	revoked   sql.NullInt64
	fetchedAt time.Time
}

// maxCachedTokenRows bounds the token row cache; ids are attacker-chosen
// (any 16 characters), so it must not grow with a flood of them.
const maxCachedTokenRows = 10_000

// tokenRowCache holds gateway token rows, found or not, read within the
// last sessionTTL. It serves only attempts whose failures are exhausted
// (see Service.tokenRow), so that a flood of bad tokens costs no database
// reads while a valid token is still recognised.
type tokenRowCache struct {
	mu sync.Mutex
	m  map[string]tokenRowState
}

func newTokenRowCache() *tokenRowCache { return &tokenRowCache{m: map[string]tokenRowState{}} }

func (c *tokenRowCache) get(id string, now time.Time) (tokenRowState, bool) {
	c.mu.Lock()
	row, ok := c.m[id]
	c.mu.Unlock()
	if !ok || now.Sub(row.fetchedAt) >= sessionTTL || now.Before(row.fetchedAt) {
		return tokenRowState{}, false
	}
	return row, true
}

func (c *tokenRowCache) put(id string, row tokenRowState) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.m[id]; !ok && len(c.m) >= maxCachedTokenRows {
		// Stale rows first; if all are fresh (a flood of distinct ids),
		// an arbitrary half: they are read again when needed.
		for k, r := range c.m {
			if row.fetchedAt.Sub(r.fetchedAt) >= sessionTTL {
				delete(c.m, k)
			}
		}
		if len(c.m) >= maxCachedTokenRows {
			for k := range c.m {
				if len(c.m) <= maxCachedTokenRows/2 {
					break
				}
				delete(c.m, k)
			}
		}
	}
	c.m[id] = row
}

// clear drops every row: the next attempts read the database.
func (c *tokenRowCache) clear() {
	c.mu.Lock()
	c.m = map[string]tokenRowState{}
	c.mu.Unlock()
}

func (c *tokenRowCache) sweep(now time.Time) {
	c.mu.Lock()
	for k, r := range c.m {
		if now.Sub(r.fetchedAt) >= sessionTTL || now.Before(r.fetchedAt) {
			delete(c.m, k)
		}
	}
	c.mu.Unlock()
}
