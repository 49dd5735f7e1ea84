// Package auth is Warden's identity core: users and passwords, sessions
// with short access tokens and rotating refresh tokens, TOTP second
// factors with recovery codes, gateway (machine) tokens, rate limiting of
// failed attempts, and roles. Every decision is recorded in the audit log
// before it takes effect; when the audit log cannot be written, the
// request fails (fail closed).
//
// The command line (warden users|sessions|tokens) and the gateway's HTTP
// routes both call into this package; neither makes decisions of its own.
package auth

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/warden-sec/warden/core/auditlog"
	"github.com/warden-sec/warden/core/auth/password"
	"github.com/warden-sec/warden/core/auth/ratelimit"
	"github.com/warden-sec/warden/core/store"
	"github.com/warden-sec/warden/internal/lazyre"
)

// Auditor records decisions (*auditlog.Log).
type Auditor interface {
	Append(ctx context.Context, ev auditlog.Event) (auditlog.Entry, error)
}

// Options configure a Service.
type Options struct {
	DB        *store.Store
	Audit     Auditor
	AccessKey []byte // signs access tokens; KeySize bytes at least
	TOTPKey   []byte // seals TOTP secrets at rest; 32 bytes
	Hasher    *password.Hasher
	Policy    password.Policy

	AccessTTL            time.Duration // default 15m
	SessionTTL           time.Duration // default 24h
	RememberTTL          time.Duration // default 30d
	IdleTimeout          time.Duration // 0: none
	RememberIdleTimeout  time.Duration // IdleTimeout of remember-me sessions; 0: none
	MaxSessionsPerDevice int           // default 10
	TOTPIssuer           string        // default "Warden"

	// RateLimit enables the limits on failed attempts. Password, TOTP,
	// recovery-code and password-change failures count under IPLimit per
	// client address (IPv6 grouped by /64) and account, and under
	// AccountLimit per account whatever the address. Failed bearer
	// credentials (gateway and refresh tokens) count under IPLimit in a
	// limiter of their own, per token id or per address; setup-code
	// failures under IPLimit per address.
	RateLimit    bool
	IPLimit      ratelimit.Rule
	AccountLimit ratelimit.Rule
	// SharedToken is the optional gateway token from the config (role agent).
	SharedToken string
	// Owner names the owner (gateway.owner); empty: the first admin,
	// recorded when created (see Owner).
	Owner string

	Now func() time.Time
}

// Service is the identity core.
type Service struct {
	db     *store.Store
	audit  Auditor
	signer *signer
	totp   *sealer
	hasher *password.Hasher
	policy password.Policy
	opts   Options
	now    func() time.Time

	// ipLimit counts password-like failures per (address, account) and
	// setup-code failures per address; acctLimit per account; tokLimit
	// failed bearer credentials per token id or address (see tokens.go).
	ipLimit   *ratelimit.Limiter
	acctLimit *ratelimit.Limiter
	tokLimit  *ratelimit.Limiter
	tokenRows *tokenRowCache

	sessions    *sessionCache
	users       *userCache
	validated   *tokenCache
	touchMu     sync.Mutex
	lastTouch   map[string]time.Time
	sharedToken string
	setup       setupState

	ownerMu   sync.Mutex
	ownerName string    // the recorded owner, once read
	ownerAt   time.Time // when it was read
}

// New builds a Service.
func New(opts Options) (*Service, error) {
	if opts.DB == nil || opts.Audit == nil || opts.Hasher == nil {
		return nil, errors.New("auth: database, audit log and hasher are required")
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&opts.AccessTTL, 15*time.Minute)
	def(&opts.SessionTTL, 24*time.Hour)
	def(&opts.RememberTTL, 30*24*time.Hour)
	if opts.MaxSessionsPerDevice <= 0 {
		opts.MaxSessionsPerDevice = 10
	}
	if opts.TOTPIssuer == "" {
		opts.TOTPIssuer = "Warden"
	}
	if opts.Policy.MinLength == 0 {
		opts.Policy = password.Policy{MinLength: 32, MaxLength: 1024}
	}
	sg, err := newSigner(opts.AccessKey, opts.Now)
	if err != nil {
		return nil, err
	}
	se, err := newSealer(opts.TOTPKey)
	if err != nil {
		return nil, err
	}
	s := &Service{db: opts.DB, audit: opts.Audit, signer: sg, totp: se, hasher: opts.Hasher, policy: opts.Policy,
		opts: opts, now: opts.Now, sessions: newSessionCache(), users: newUserCache(), validated: newTokenCache(), lastTouch: map[string]time.Time{},
		sharedToken: opts.SharedToken, tokenRows: newTokenRowCache()}
	if opts.RateLimit {
		if opts.IPLimit.Attempts <= 0 {
			opts.IPLimit = ratelimit.Rule{Attempts: 5, Window: 5 * time.Minute}
		}
		if opts.AccountLimit.Attempts <= 0 {
			opts.AccountLimit = ratelimit.Rule{Attempts: 100, Window: time.Hour}
		}
		s.ipLimit = ratelimit.New(ratelimit.Options{Rule: opts.IPLimit, Now: opts.Now})
		s.acctLimit = ratelimit.New(ratelimit.Options{Rule: opts.AccountLimit, Now: opts.Now})
		s.tokLimit = ratelimit.New(ratelimit.Options{Rule: opts.IPLimit, Now: opts.Now})
	}
	return s, nil
}

// Principal is an authenticated caller.
type Principal struct {
	Kind      string `json:"kind"` // "user" or "token"
	UserID    int64  `json:"userId,omitempty"`
	Name      string `json:"name"`
	Role      Role   `json:"role"`
	SessionID string `json:"sessionId,omitempty"`
	TokenID   string `json:"tokenId,omitempty"`
	// Bound: a browser session, whose every use must carry its binding
	// (see CheckBinding); the gateway checks it.
	Bound bool `json:"-"`
}

// Actor names the principal in the audit log.
func (p Principal) Actor() string {
	switch p.Kind {
	case "token":
		return "token:" + p.Name
	case "local":
		return "cli:" + p.Name
	}
	return "user:" + p.Name
}

// Can reports whether the principal holds permission perm.
func (p Principal) Can(perm Permission) bool { return Allows(p.Role, perm) }

// Local is the principal of someone at the machine's command line: they
// hold the state dir, so they act as admin.
func Local(name string) Principal { return Principal{Kind: "local", Name: name, Role: RoleAdmin} }

// Errors a client may be told about. The audit log gets the detail.
var (
	// ErrInvalidCredentials: wrong user, password, code or token (never which).
	ErrInvalidCredentials = errors.New("invalid credentials")
	// ErrSecondFactorRequired: the password was right; send a TOTP or recovery code too.
	ErrSecondFactorRequired = errors.New("a second factor is required")
	// ErrForbidden: authenticated but not allowed.
	ErrForbidden = errors.New("forbidden")
	// ErrNotFound: no such user, session or token.
	ErrNotFound = errors.New("not found")
	// ErrInvalidInput: a name, role or value that cannot be accepted.
	ErrInvalidInput = errors.New("invalid input")
	// ErrConflict: the name is taken, or the state does not allow it.
	ErrConflict = errors.New("conflict")
)

// RateLimitedError says when to try again.
type RateLimitedError struct{ RetryAfter time.Duration }

func (e *RateLimitedError) Error() string {
	return fmt.Sprintf("too many failed attempts; retry in %d s", RetryAfterSeconds(e.RetryAfter))
}

// RetryAfterSeconds rounds up to whole seconds (at least 1).
func RetryAfterSeconds(d time.Duration) int {
	s := int((d + time.Second - 1) / time.Second)
	if s < 1 {
		s = 1
	}
	return s
}

// record appends an audit entry; its failure fails the caller.
func (s *Service) record(ctx context.Context, actor, action, target, outcome, ip string, details map[string]any) error {
	if _, err := s.audit.Append(ctx, auditlog.Event{Actor: actor, Action: action, Target: target, Outcome: outcome,
		SourceIP: ip, Details: details}); err != nil {
		return fmt.Errorf("record %s: %w", action, err)
	}
	return nil
}

var namePattern = lazyre.New(`^[a-z0-9][a-z0-9._-]{0,63}$`)

// ValidateName checks a user or token name.
func ValidateName(name string) error {
	if !namePattern.MatchString(name) {
		return fmt.Errorf("%w: name %q: use 1-64 characters a-z, 0-9, '.', '_', '-', starting with a letter or digit", ErrInvalidInput, name)
	}
	return nil
}

// addrKey is the limiter key of a client address: IPKey for an address
// (an IPv6 client's /64), the text itself for anything else ("local" from
// the command line).
func addrKey(ip string) string {
	if a, err := netip.ParseAddr(ip); err == nil {
		return ratelimit.IPKey(a)
	}
	return "ip:" + ip
}

// acctKey is the limiter key of an account name as typed. Real names are
// at most 64 characters (ValidateName); a longer one names no account and
// is keyed by its hash, so a flood of huge names cannot grow the limiter's
// keys with them.
func acctKey(account string) string {
	account = strings.ToLower(account)
	if len(account) <= 64 {
		return "acct:" + account
	}
	h := sha256.Sum256([]byte(account))
	return "acct#" + hex.EncodeToString(h[:16])
}

// passwordChecks are the limits on an attempt to prove knowledge of an
// account's password or second factor, from ip: per (address, account)
// with the per-address rule, so that one client's guesses at one account
// never lock another account out of a shared address (NAT, a proxy,
// loopback), and per account with the account rule, which holds against
// guesses from rotating addresses. Not per address alone: that turns one
// attacker on a shared address into a lockout of everyone behind it.
func (s *Service) passwordChecks(ip, account string) []ratelimit.Check {
	if s.ipLimit == nil {
		return nil
	}
	acct := acctKey(account)
	checks := []ratelimit.Check{{Limiter: s.acctLimit, Key: acct}}
	if ip != "" {
		checks = append(checks, ratelimit.Check{Limiter: s.ipLimit, Key: addrKey(ip) + "|" + acct})
	}
	return checks
}

// setupChecks limit setup-code attempts per address. The code names no
// account, so the address is all there is to count under; only setup
// attempts count there, so no login or token is ever refused for them.
func (s *Service) setupChecks(ip string) []ratelimit.Check {
	if s.ipLimit == nil {
		return nil
	}
	return []ratelimit.Check{{Limiter: s.ipLimit, Key: "setup|" + addrKey(ip)}}
}

// gate refuses an attempt while one of checks is exhausted; the first
// refusal of a blocking period is audited, the others are not.
func (s *Service) gate(ctx context.Context, action, target, ip string, checks []ratelimit.Check) error {
	if len(checks) == 0 {
		return nil
	}
	d := ratelimit.Allow(checks...)
	if d.Allowed {
		return nil
	}
	if d.FirstDenial {
		if err := s.record(ctx, "anonymous", action+".rate_limited", target, auditlog.OutcomeDenied, ip,
			map[string]any{"retry_after_s": RetryAfterSeconds(d.RetryAfter)}); err != nil {
			return err
		}
	}
	return &RateLimitedError{RetryAfter: d.RetryAfter}
}

// gatePassword refuses a password-like attempt on account from ip while
// its limits are exhausted.
func (s *Service) gatePassword(ctx context.Context, action, ip, account string) error {
	return s.gate(ctx, action, account, ip, s.passwordChecks(ip, account))
}

// failed counts a failed password-like attempt on account from ip.
func (s *Service) failed(ip, account string) {
	if checks := s.passwordChecks(ip, account); len(checks) > 0 {
		ratelimit.FailAll(checks...)
	}
}

// succeeded resets the counters of account: the account's own and the one
// for this address and account. Other accounts' counters on the address
// stay: logging into an account of one's own resets nothing of another's.
func (s *Service) succeeded(ip, account string) {
	ratelimit.SucceedAll(s.passwordChecks(ip, account)...)
}

// Sweep drops expired rate-limit state (the maintenance tick calls it).
func (s *Service) Sweep() {
	if s.ipLimit != nil {
		s.ipLimit.Sweep()
		s.acctLimit.Sweep()
		s.tokLimit.Sweep()
	}
	s.tokenRows.sweep(s.now())
	s.sessions.sweep(s.now())
	s.users.sweep(s.now())
	s.validated.sweep(s.now())
}

// write runs fn in a store write transaction and then invalidates the user
// cache: every change to identity data goes through here.
func (s *Service) write(ctx context.Context, fn func(ctx context.Context, tx store.Queryer) error) error {
	defer s.users.invalidate()
	return s.db.Write(ctx, fn)
}
