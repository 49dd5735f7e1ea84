package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/warden-sec/warden/core/auditlog"
	"github.com/warden-sec/warden/core/auth/ratelimit"
	"github.com/warden-sec/warden/core/store"
)

// SetupCodeTTL is how long a setup code stays valid.
const SetupCodeTTL = 15 * time.Minute

// setupAlphabet has no letters that read alike (0/O, 1/I/L, 5/S, 2/Z, 8/B).
const setupAlphabet = "34679ACDEFGHJKMNPQRTUVWXY"

// setupState is the one setup code of this process, kept only as a hash.
type setupState struct {
	mu      sync.Mutex
	hash    []byte
	expires time.Time
}

// IssueSetupCode makes the one-time code that lets the owner create the
// first admin through the gateway. It exists only in this process (as a
// hash), lasts SetupCodeTTL, works once, and only while there are no users;
// issuing a new one replaces the old. Issuing is audited (without the code).
func (s *Service) IssueSetupCode(ctx context.Context) (string, time.Time, error) {
	n, err := s.CountUsers(ctx)
	if err != nil {
		return "", time.Time{}, err
	}
	if n > 0 {
		return "", time.Time{}, fmt.Errorf("%w: there are users already", ErrConflict)
	}
	raw := make([]byte, 20) // 20 symbols of 25: 92 bits
	if _, err := rand.Read(raw); err != nil {
		return "", time.Time{}, err
	}
	var b strings.Builder
	for i, r := range raw {
		if i > 0 && i%5 == 0 {
			b.WriteByte('-')
		}
		b.WriteByte(setupAlphabet[int(r)%len(setupAlphabet)]) // bias < 2^-3 per symbol is irrelevant at 92 bits
	}
	code := b.String()
	exp := s.now().Add(SetupCodeTTL)
	if err := s.record(ctx, "system", "setup.code_issued", "", auditlog.OutcomeSuccess, "", map[string]any{"expires": exp.UTC().Format(time.RFC3339)}); err != nil {
		return "", time.Time{}, err
	}
	s.setup.mu.Lock()
	s.setup.hash, s.setup.expires = setupHash(code), exp
	s.setup.mu.Unlock()
	return code, exp, nil
}

func setupHash(code string) []byte {
	c := strings.ToUpper(strings.NewReplacer("-", "", " ", "").Replace(code))
	h := sha256.Sum256([]byte("warden-setup:" + c))
	return h[:]
}

// SetupNeeded reports whether there is no user yet.
func (s *Service) SetupNeeded(ctx context.Context) (bool, error) {
	n, err := s.CountUsers(ctx)
	return n == 0, err
}

// CompleteSetup creates the first admin with a setup code. Wrong codes
// count against the client address's setup limit (they name no account to
// count under; the code's 92 bits and 15 minutes are what make guessing
// hopeless, the limit only keeps a flood cheap); the code works once, and
// not at all once any user exists (whoever created it).
func (s *Service) CompleteSetup(ctx context.Context, code, name, pw, ip string) (*User, error) {
	if err := s.gate(ctx, "setup", "", ip, s.setupChecks(ip)); err != nil {
		return nil, err
	}
	s.setup.mu.Lock()
	valid := s.setup.hash != nil && subtle.ConstantTimeCompare(setupHash(code), s.setup.hash) == 1
	expired := valid && !s.now().Before(s.setup.expires)
	if valid && !expired {
		s.setup.hash = nil // one attempt with the right code, whatever happens next
	}
	s.setup.mu.Unlock()
	if !valid || expired {
		ratelimit.FailAll(s.setupChecks(ip)...)
		reason := "wrong code"
		if expired {
			reason = "expired code"
		}
		if err := s.record(ctx, "anonymous", "setup.complete", name, auditlog.OutcomeFailure, ip, map[string]any{"reason": reason}); err != nil {
			return nil, err
		}
		return nil, ErrInvalidCredentials
	}
	u, err := s.createUser(ctx, "setup", name, RoleAdmin, pw, ip, func(ctx context.Context, tx store.Queryer) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM users`).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return fmt.Errorf("%w: there are users already", ErrConflict)
		}
		return nil
	})
	if err != nil {
		// A rejected password must not burn the code: put it back.
		if errors.Is(err, ErrInvalidInput) {
			s.setup.mu.Lock()
			if s.setup.hash == nil {
				s.setup.hash = setupHash(code)
			}
			s.setup.mu.Unlock()
		}
		return nil, err
	}
	return u, nil
}
