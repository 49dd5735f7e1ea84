package auth

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/warden-sec/warden/core/auditlog"
	"github.com/warden-sec/warden/core/auth/ratelimit"
	"github.com/warden-sec/warden/core/store"
	"github.com/warden-sec/warden/core/strength"
)

// Gateway tokens look like wgt_<id>_<secret>: the id (public, 8 bytes hex)
// finds the row, the secret (256 random bits, base64url) is compared by its
// SHA-256 hash in constant time.
const tokenPrefix = "wgt_"

// GatewayToken describes a machine token (never its secret).
type GatewayToken struct {
	ID       string     `json:"id"`
	Name     string     `json:"name"`
	Role     Role       `json:"role"`
	Created  time.Time  `json:"created"`
	Expires  *time.Time `json:"expires,omitempty"`
	LastUsed *time.Time `json:"lastUsed,omitempty"`
	Revoked  *time.Time `json:"revoked,omitempty"`
}

// CreateToken makes a gateway token and returns it once; only its hash is kept.
func (s *Service) CreateToken(ctx context.Context, actor Principal, name string, role Role, ttl time.Duration) (string, *GatewayToken, error) {
	if !actor.Can(PermTokensManage) {
		return "", nil, ErrForbidden
	}
	name = strings.ToLower(name)
	if err := ValidateName(name); err != nil {
		return "", nil, err
	}
	if role == RoleAdmin {
		return "", nil, fmt.Errorf("%w: gateway tokens cannot be admin; use operator, agent or viewer", ErrInvalidInput)
	}
	if _, err := ParseRole(string(role)); err != nil {
		return "", nil, fmt.Errorf("%w: %v", ErrInvalidInput, err)
	}
	var idb [8]byte
	var secret [32]byte
	if _, err := rand.Read(idb[:]); err != nil {
		return "", nil, err
	}
	if _, err := rand.Read(secret[:]); err != nil {
		return "", nil, err
	}
	id := hex.EncodeToString(idb[:])
	sec := base64.RawURLEncoding.EncodeToString(secret[:])
	now := s.now()
	t := &GatewayToken{ID: id, Name: name, Role: role, Created: now.UTC()}
	var expires any
	if ttl > 0 {
		e := now.Add(ttl).UTC()
		t.Expires, expires = &e, e.UnixNano()
	}
	if err := s.record(ctx, actor.Actor(), "token.create", name, auditlog.OutcomeAllowed, "", map[string]any{"id": id, "role": string(role), "ttl": ttl.String()}); err != nil {
		return "", nil, err
	}
	err := s.write(ctx, func(ctx context.Context, tx store.Queryer) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM gateway_tokens WHERE name = ?`, name).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return fmt.Errorf("%w: a token named %q exists", ErrConflict, name)
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO gateway_tokens (id, name, role, secret_hash, created_ns, expires_ns) VALUES (?, ?, ?, ?, ?, ?)`,
			id, name, string(role), hashToken(sec), now.UnixNano(), expires)
		return err
	})
	if err != nil {
		return "", nil, err
	}
	return tokenPrefix + id + "_" + sec, t, nil
}

// ListTokens lists gateway tokens.
func (s *Service) ListTokens(ctx context.Context) ([]GatewayToken, error) {
	var out []GatewayToken
	err := s.db.Read(ctx, func(ctx context.Context, q store.Queryer) error {
		rows, err := q.QueryContext(ctx, `SELECT id, name, role, created_ns, expires_ns, last_used_ns, revoked_ns FROM gateway_tokens ORDER BY name`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var t GatewayToken
			var role string
			var created int64
			var expires, used, revoked sql.NullInt64
			if err := rows.Scan(&t.ID, &t.Name, &role, &created, &expires, &used, &revoked); err != nil {
				return err
			}
			t.Role, t.Created = Role(role), time.Unix(0, created).UTC()
			t.Expires, t.LastUsed, t.Revoked = nsTime(expires), nsTime(used), nsTime(revoked)
			out = append(out, t)
		}
		return rows.Err()
	})
	return out, err
}

// RevokeToken revokes a token by name or id.
func (s *Service) RevokeToken(ctx context.Context, actor Principal, nameOrID string) error {
	if !actor.Can(PermTokensManage) {
		return ErrForbidden
	}
	if err := s.record(ctx, actor.Actor(), "token.revoke", nameOrID, auditlog.OutcomeAllowed, "", nil); err != nil {
		return err
	}
	var n int64
	err := s.write(ctx, func(ctx context.Context, tx store.Queryer) error {
		res, err := tx.ExecContext(ctx, `UPDATE gateway_tokens SET revoked_ns = ? WHERE (name = ? OR id = ?) AND revoked_ns IS NULL`, s.now().UnixNano(), strings.ToLower(nameOrID), nameOrID)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	// Rows are cached by id, and nameOrID may be a name: drop them all.
	s.tokenRows.clear()
	if err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("%w: no live token %q", ErrNotFound, nameOrID)
	}
	return nil
}

// ErrWeakToken is wrapped when a shared token does not meet the policy.
var ErrWeakToken = errors.New("weak token")

// CheckSharedToken applies the token policy to a configured shared token.
func CheckSharedToken(tok string) error {
	if err := strength.TokenPolicy().Check(tok); err != nil {
		return fmt.Errorf("%w: %v", ErrWeakToken, err)
	}
	return nil
}

// AuthenticateToken checks a gateway token (or the config's shared token).
// Every use is audited: a success is held by the auditlog.Deferred ctx
// carries, if any (the caller then owns writing it), and recorded at once
// otherwise.
//
// Failures are rate limited without ever refusing a valid token: a token
// that names an existing id (wrong secret, revoked, expired) counts under
// that id, anything else (malformed, an unknown id) under the client's
// address, both in a limiter of bearer-credential failures that password
// failures never touch. Once a key is exhausted its failures are answered
// with a *RateLimitedError, audited once per blocking period, and the token
// row comes from a cache at most a second old instead of the database; a
// valid token is checked all the same and passes.
func (s *Service) AuthenticateToken(ctx context.Context, token, ip string) (Principal, error) {
	p, reason, key, err := s.checkToken(ctx, token, ip)
	if err != nil {
		return Principal{}, err
	}
	if reason != "" {
		return Principal{}, s.bearerFailure(ctx, "token.auth", key, ip, reason)
	}
	ev := auditlog.Event{Actor: p.Actor(), Action: "token.auth", Target: p.Name, Outcome: auditlog.OutcomeSuccess,
		SourceIP: ip, Details: map[string]any{"id": p.TokenID}}
	if d := auditlog.DeferredFrom(ctx); d != nil {
		// The caller writes it with its next entry, or before it answers.
		d.Add(ev)
		return p, nil
	}
	if err := s.record(ctx, ev.Actor, ev.Action, ev.Target, ev.Outcome, ip, ev.Details); err != nil {
		return Principal{}, err
	}
	return p, nil
}

// bearerAddrKey is the bearer-failure key of a client address.
func bearerAddrKey(ip string) string { return "addr|" + addrKey(ip) }

// bearerBlocked reports whether failures under key are exhausted now,
// without consuming the audited first denial.
func (s *Service) bearerBlocked(key string) bool {
	return s.tokLimit != nil && s.tokLimit.Blocked(key)
}

// bearerFailure answers a failed bearer credential counted under key:
// while key is exhausted, a *RateLimitedError (the first of a blocking
// period audited, the others not); otherwise the failure is counted and
// audited and the answer is ErrInvalidCredentials.
func (s *Service) bearerFailure(ctx context.Context, action, key, ip, reason string) error {
	if s.tokLimit != nil {
		c := ratelimit.Check{Limiter: s.tokLimit, Key: key}
		if err := s.gate(ctx, action, "", ip, []ratelimit.Check{c}); err != nil {
			return err
		}
		s.tokLimit.Fail(key)
	}
	if err := s.record(ctx, "anonymous", action, "", auditlog.OutcomeFailure, ip, map[string]any{"reason": reason}); err != nil {
		return err
	}
	return ErrInvalidCredentials
}

// splitToken parses wgt_<id>_<secret>: a 16-character id and a secret of
// 43 characters or more (the secret may contain '_', the id cannot).
func splitToken(token string) (id, secret string, ok bool) {
	rest, ok := strings.CutPrefix(token, tokenPrefix)
	if !ok {
		return "", "", false
	}
	id, secret, ok = strings.Cut(rest, "_")
	if !ok || len(id) != 16 || len(secret) < 43 {
		return "", "", false
	}
	return id, secret, true
}

// checkToken checks a token. A refusal comes back as a reason for the
// audit log and the bearer-failure key to count it under.
func (s *Service) checkToken(ctx context.Context, token, ip string) (p Principal, reason, key string, err error) {
	if s.sharedToken != "" && subtle.ConstantTimeCompare([]byte(token), []byte(s.sharedToken)) == 1 {
		return Principal{Kind: "token", Name: "config", Role: RoleAgent, TokenID: "config"}, "", "", nil
	}
	addr := bearerAddrKey(ip)
	id, sec, ok := splitToken(token)
	if !ok {
		return Principal{}, "malformed token", addr, nil
	}
	idKey := "tok:" + id
	row, err := s.tokenRow(ctx, id, s.bearerBlocked(idKey) || s.bearerBlocked(addr))
	if err != nil {
		return Principal{}, "", "", err
	}
	if !row.found {
		// No token to charge it to: an id made up by the caller, so the
		// caller's address pays (else fresh random ids would never run
		// out of attempts).
		return Principal{}, "unknown token", addr, nil
	}
	if subtle.ConstantTimeCompare(hashToken(sec), row.hash) != 1 {
		return Principal{}, "wrong secret", idKey, nil
	}
	now := s.now()
	switch {
	case row.revoked.Valid:
		return Principal{}, "revoked token", idKey, nil
	case row.expires.Valid && !now.Before(time.Unix(0, row.expires.Int64)):
		return Principal{}, "expired token", idKey, nil
	}
	// last_used is kept to the minute: a write at most once a minute per
	// token and process, not one per request.
	s.touchMu.Lock()
	due := now.Sub(s.lastTouch["token:"+id]) >= time.Minute
	if due {
		s.lastTouch["token:"+id] = now
	}
	s.touchMu.Unlock()
	if due {
		_ = s.write(ctx, func(ctx context.Context, tx store.Queryer) error {
			_, err := tx.ExecContext(ctx, `UPDATE gateway_tokens SET last_used_ns = ? WHERE id = ? AND (last_used_ns IS NULL OR last_used_ns < ?)`,
				now.UnixNano(), id, now.Add(-time.Minute).UnixNano())
			return err
		})
	}
	return Principal{Kind: "token", Name: row.name, Role: Role(row.role), TokenID: id}, "", "", nil
}

// tokenRow reads the row of token id. With cached set (the id or the
// caller's address is out of attempts) a row read less than a second ago
// serves, found or not, so that a flood of failures costs no database
// reads; a revocation by another process then takes effect within that
// second, as it does for sessions. Otherwise the row is read afresh.
func (s *Service) tokenRow(ctx context.Context, id string, cached bool) (tokenRowState, error) {
	now := s.now()
	if cached {
		if row, ok := s.tokenRows.get(id, now); ok {
			return row, nil
		}
	}
	var row tokenRowState
	err := s.db.Read(ctx, func(ctx context.Context, q store.Queryer) error {
		return q.QueryRowContext(ctx, `SELECT name, role, secret_hash, expires_ns, revoked_ns FROM gateway_tokens WHERE id = ?`, id).
			Scan(&row.name, &row.role, &row.hash, &row.expires, &row.revoked)
	})
	switch {
	case errors.Is(err, sql.ErrNoRows):
	case err != nil:
		return row, fmt.Errorf("read token: %w", err)
	default:
		row.found = true
	}
	row.fetchedAt = now
	s.tokenRows.put(id, row)
	return row, nil
}

// TokenLive reports whether a gateway token is still valid (not revoked or
// expired); the config's shared token always is.
func (s *Service) TokenLive(ctx context.Context, id string) (bool, error) {
	if id == "config" {
		return s.sharedToken != "", nil
	}
	var expires, revoked sql.NullInt64
	err := s.db.Read(ctx, func(ctx context.Context, q store.Queryer) error {
		return q.QueryRowContext(ctx, `SELECT expires_ns, revoked_ns FROM gateway_tokens WHERE id = ?`, id).Scan(&expires, &revoked)
	})
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("read token %s: %w", id, err)
	}
	if revoked.Valid || (expires.Valid && !s.now().Before(time.Unix(0, expires.Int64))) {
		return false, nil
	}
	return true, nil
}
