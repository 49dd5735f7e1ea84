package auth

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/warden-sec/warden/core/auditlog"
	"github.com/warden-sec/warden/core/store"
)

// User is a gateway account (no secrets).
type User struct {
	ID                int64      `json:"id"`
	Name              string     `json:"name"`
	Role              Role       `json:"role"`
	Created           time.Time  `json:"created"`
	PasswordChanged   time.Time  `json:"passwordChanged"`
	Disabled          *time.Time `json:"disabled,omitempty"`
	LastLogin         *time.Time `json:"lastLogin,omitempty"`
	TwoFactorEnabled  bool       `json:"twoFactor"`
	RecoveryCodesLeft int        `json:"recoveryCodesLeft"`
	// Owner marks the owner (see Service.Owner), in listings.
	Owner bool `json:"owner,omitempty"`
}

// userRow is a user with what login needs.
type userRow struct {
	User
	passwordHash string
	totpSecret   []byte
	totpPending  []byte
}

func nsTime(ns sql.NullInt64) *time.Time {
	if !ns.Valid {
		return nil
	}
	t := time.Unix(0, ns.Int64).UTC()
	return &t
}

const userColumns = `id, name, role, password_hash, password_changed_ns, created_ns, disabled_ns, last_login_ns, totp_secret, totp_pending, totp_enabled_ns`

// scanUser scans userColumns and then into extra.
func scanUser(row interface{ Scan(...any) error }, extra ...any) (*userRow, error) {
	var u userRow
	var role string
	var changed, created int64
	var disabled, lastLogin, totpEnabled sql.NullInt64
	dest := append([]any{&u.ID, &u.Name, &role, &u.passwordHash, &changed, &created, &disabled, &lastLogin, &u.totpSecret, &u.totpPending, &totpEnabled}, extra...)
	if err := row.Scan(dest...); err != nil {
		return nil, err
	}
	u.Role = Role(role)
	u.PasswordChanged, u.Created = time.Unix(0, changed).UTC(), time.Unix(0, created).UTC()
	u.Disabled, u.LastLogin = nsTime(disabled), nsTime(lastLogin)
	u.TwoFactorEnabled = totpEnabled.Valid && len(u.totpSecret) > 0
	return &u, nil
}

func (s *Service) userByName(ctx context.Context, q store.Queryer, name string) (*userRow, error) {
	u, err := scanUser(q.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE name = ?`, strings.ToLower(name)))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%w: user %q", ErrNotFound, name)
	}
	if err != nil {
		return nil, fmt.Errorf("read user %s: %w", name, err)
	}
	return u, nil
}

func (s *Service) loadUser(ctx context.Context, name string) (*userRow, error) {
	var u *userRow
	err := s.db.Read(ctx, func(ctx context.Context, q store.Queryer) error {
		var err error
		u, err = s.userByName(ctx, q, name)
		return err
	})
	return u, err
}

// CreateUser adds a user; the password must meet the policy.
func (s *Service) CreateUser(ctx context.Context, actor Principal, name string, role Role, pw string) (*User, error) {
	if !actor.Can(PermUsersManage) {
		return nil, ErrForbidden
	}
	return s.createUser(ctx, actor.Actor(), name, role, pw, "", nil)
}

// createUser checks and stores a new user. check, when set, runs inside the
// write transaction before the insert and can refuse it.
func (s *Service) createUser(ctx context.Context, actor, name string, role Role, pw, ip string, check func(context.Context, store.Queryer) error) (*User, error) {
	name = strings.ToLower(name)
	if err := ValidateName(name); err != nil {
		return nil, err
	}
	if _, err := ParseRole(string(role)); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidInput, err)
	}
	if err := s.policy.Check(pw); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidInput, err)
	}
	if err := checkPasswordContext(name, pw); err != nil {
		return nil, err
	}
	hash, err := s.hasher.Hash(ctx, pw)
	if err != nil {
		return nil, err
	}
	details := map[string]any{"role": string(role)}
	// The first admin becomes the owner unless gateway.owner names one.
	becomesOwner := false
	if role == RoleAdmin && s.opts.Owner == "" {
		recorded, err := s.recordedOwner(ctx)
		if err != nil {
			return nil, err
		}
		if becomesOwner = recorded == ""; becomesOwner {
			details["owner"] = true
		}
	}
	if err := s.record(ctx, actor, "user.create", name, auditlog.OutcomeAllowed, ip, details); err != nil {
		return nil, err
	}
	now := s.now().UnixNano()
	var id int64
	err = s.write(ctx, func(ctx context.Context, tx store.Queryer) error {
		if check != nil {
			if err := check(ctx, tx); err != nil {
				return err
			}
		}
		var exists int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM users WHERE name = ?`, name).Scan(&exists); err != nil {
			return err
		}
		if exists > 0 {
			return fmt.Errorf("%w: user %q exists", ErrConflict, name)
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO users (name, role, password_hash, password_changed_ns, created_ns) VALUES (?, ?, ?, ?, ?)`,
			name, string(role), hash, now, now)
		if err != nil {
			return fmt.Errorf("insert user: %w", err)
		}
		if id, err = res.LastInsertId(); err != nil {
			return err
		}
		if becomesOwner {
			return recordOwner(ctx, tx, name)
		}
		return nil
	})
	if err != nil {
		_ = s.record(ctx, actor, "user.create", name, auditlog.OutcomeFailure, ip, map[string]any{"error": err.Error()})
		return nil, err
	}
	t := time.Unix(0, now).UTC()
	return &User{ID: id, Name: name, Role: role, Created: t, PasswordChanged: t, Owner: becomesOwner || name == s.opts.Owner}, nil
}

// ListUsers returns every user.
func (s *Service) ListUsers(ctx context.Context) ([]User, error) {
	var out []User
	err := s.db.Read(ctx, func(ctx context.Context, q store.Queryer) error {
		rows, err := q.QueryContext(ctx, `SELECT `+userColumns+`, (SELECT COUNT(*) FROM recovery_codes r WHERE r.user_id = users.id AND r.used_ns IS NULL) FROM users ORDER BY name`)
		if err != nil {
			return fmt.Errorf("list users: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var u userRow
			var role string
			var changed, created int64
			var disabled, lastLogin, totpEnabled sql.NullInt64
			if err := rows.Scan(&u.ID, &u.Name, &role, &u.passwordHash, &changed, &created, &disabled, &lastLogin, &u.totpSecret, &u.totpPending, &totpEnabled, &u.RecoveryCodesLeft); err != nil {
				return err
			}
			u.Role = Role(role)
			u.PasswordChanged, u.Created = time.Unix(0, changed).UTC(), time.Unix(0, created).UTC()
			u.Disabled, u.LastLogin = nsTime(disabled), nsTime(lastLogin)
			u.TwoFactorEnabled = totpEnabled.Valid && len(u.totpSecret) > 0
			out = append(out, u.User)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, err
	}
	owner, err := s.Owner(ctx)
	for i := range out {
		out[i].Owner = owner != "" && out[i].Name == owner
	}
	return out, err
}

// CountUsers returns how many users exist (the gateway's first-run check).
func (s *Service) CountUsers(ctx context.Context) (int, error) {
	var n int
	err := s.db.Read(ctx, func(ctx context.Context, q store.Queryer) error {
		return q.QueryRowContext(ctx, `SELECT COUNT(*) FROM users`).Scan(&n)
	})
	return n, err
}

// DisableUser stops a user from logging in and revokes their sessions.
func (s *Service) DisableUser(ctx context.Context, actor Principal, name string) error {
	return s.DisableUserAt(ctx, actor, name, "")
}

// ResetPassword changes a user's password: the current one is required,
// the new one must meet the policy and differ, and every session (with its
// refresh token) of the user is revoked. Two-factor stays as it was.
func (s *Service) ResetPassword(ctx context.Context, actor Principal, name, current, next, ip string) error {
	if err := s.gatePassword(ctx, "password.change", ip, name); err != nil {
		return err
	}
	u, err := s.loadUser(ctx, name)
	if err != nil {
		_ = s.hasher.VerifyDummy(ctx, current)
		s.failed(ip, name)
		return ErrInvalidCredentials
	}
	ok, _, err := s.hasher.Verify(ctx, current, u.passwordHash)
	if err != nil {
		return err
	}
	if !ok {
		s.failed(ip, name)
		if err := s.record(ctx, actor.Actor(), "password.change", u.Name, auditlog.OutcomeFailure, ip, map[string]any{"reason": "wrong current password"}); err != nil {
			return err
		}
		return ErrInvalidCredentials
	}
	if err := s.policy.CheckChange(current, next); err != nil {
		return fmt.Errorf("%w: %v", ErrInvalidInput, err)
	}
	if err := checkPasswordContext(u.Name, next); err != nil {
		return err
	}
	hash, err := s.hasher.Hash(ctx, next)
	if err != nil {
		return err
	}
	if err := s.record(ctx, actor.Actor(), "password.change", u.Name, auditlog.OutcomeAllowed, ip, map[string]any{"revokes_sessions": true}); err != nil {
		return err
	}
	now := s.now().UnixNano()
	err = s.write(ctx, func(ctx context.Context, tx store.Queryer) error {
		if _, err := tx.ExecContext(ctx, `UPDATE users SET password_hash = ?, password_changed_ns = ? WHERE id = ?`, hash, now, u.ID); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `UPDATE sessions SET revoked_ns = ?, revoke_reason = 'password changed' WHERE user_id = ? AND revoked_ns IS NULL`, now, u.ID)
		return err
	})
	s.sessions.forgetUser(u.ID)
	s.succeeded(ip, name)
	return err
}

// GetUser returns one user (no secrets).
//
// The result may be up to a second old when another process changed the
// user; changes made through this Service show at once.
func (s *Service) GetUser(ctx context.Context, name string) (*User, error) {
	name = strings.ToLower(name)
	now := s.now()
	if u, ok := s.users.get(name, now); ok {
		return &u, nil
	}
	gen := s.users.generation()
	var u *userRow
	err := s.db.Read(ctx, func(ctx context.Context, q store.Queryer) error {
		var left int
		row := q.QueryRowContext(ctx, `SELECT `+userColumns+`,
			(SELECT COUNT(*) FROM recovery_codes WHERE user_id = users.id AND used_ns IS NULL)
			FROM users WHERE name = ?`, strings.ToLower(name))
		var err error
		u, err = scanUser(row, &left)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("%w: user %q", ErrNotFound, name)
		}
		if err != nil {
			return fmt.Errorf("read user %s: %w", name, err)
		}
		u.RecoveryCodesLeft = left
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.users.put(name, u.User, gen, now)
	out := u.User
	return &out, nil
}
