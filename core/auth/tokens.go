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
// Failures count against the client's rate limit; every use is audited:
// a success is held by the auditlog.Deferred ctx carries, if any (the
// caller then owns writing it), and recorded at once otherwise.
func (s *Service) AuthenticateToken(ctx context.Context, token, ip string) (Principal, error) {
	if err := s.gate(ctx, "token.auth", ip, ""); err != nil {
		return Principal{}, err
	}
	p, reason, err := s.checkToken(ctx, token)
	if err != nil {
		return Principal{}, err
	}
	if reason != "" {
		s.failed(ip, "")
		if err := s.record(ctx, "anonymous", "token.auth", "", auditlog.OutcomeFailure, ip, map[string]any{"reason": reason}); err != nil {
			return Principal{}, err
		}
		return Principal{}, ErrInvalidCredentials
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

func (s *Service) checkToken(ctx context.Context, token string) (Principal, string, error) {
	if s.sharedToken != "" && subtle.ConstantTimeCompare([]byte(token), []byte(s.sharedToken)) == 1 {
		return Principal{Kind: "token", Name: "config", Role: RoleAgent, TokenID: "config"}, "", nil
	}
	rest, ok := strings.CutPrefix(token, tokenPrefix)
	id, sec, ok2 := strings.Cut(rest, "_")
	if !ok || !ok2 || len(id) != 16 || len(sec) < 43 {
		return Principal{}, "malformed token", nil
	}
	var name, role string
	var hash []byte
	var expires, revoked sql.NullInt64
	err := s.db.Read(ctx, func(ctx context.Context, q store.Queryer) error {
		return q.QueryRowContext(ctx, `SELECT name, role, secret_hash, expires_ns, revoked_ns FROM gateway_tokens WHERE id = ?`, id).
			Scan(&name, &role, &hash, &expires, &revoked)
	})
	if errors.Is(err, sql.ErrNoRows) {
		return Principal{}, "unknown token", nil
	}
	if err != nil {
		return Principal{}, "", fmt.Errorf("read token: %w", err)
	}
	if subtle.ConstantTimeCompare(hashToken(sec), hash) != 1 {
		return Principal{}, "wrong secret", nil
	}
	now := s.now()
	switch {
	case revoked.Valid:
		return Principal{}, "revoked token", nil
	case expires.Valid && !now.Before(time.Unix(0, expires.Int64)):
		return Principal{}, "expired token", nil
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
	return Principal{Kind: "token", Name: name, Role: Role(role), TokenID: id}, "", nil
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
