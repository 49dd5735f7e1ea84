package auth

import (
	"context"
	"errors"
	"fmt"

	"github.com/warden-sec/warden/core/auditlog"
	"github.com/warden-sec/warden/core/auth/password"
	"github.com/warden-sec/warden/core/store"
)

// Administration of users by an admin over the network (the gateway's
// users routes): each operation names the client address in its audit
// entry, which it writes before it acts, and protects two accounts.
//
//   - The owner (see Owner) is never disabled or demoted: their login
//     session is the main session, so taking it away over the network
//     would let any admin end the one account whose commands run on the
//     host, or keep it as an admin in name only. To hand ownership over,
//     name the new owner in gateway.owner; the old one is then an
//     ordinary admin.
//   - An admin does not disable or change the role of their own account:
//     the last admin could lock everyone out with one click. Another admin,
//     or the command line, can.

// ErrOwnerProtected is wrapped by refusals to disable or demote the owner.
var ErrOwnerProtected = errors.New("the owner cannot be disabled or demoted")

// revokeReasonRole is why a role change ends a user's sessions.
const revokeReasonRole = "role changed"

// PasswordPolicy is the policy every new password must meet.
func (s *Service) PasswordPolicy() password.Policy {
	p := s.policy
	if p.MaxLength <= 0 {
		p.MaxLength = 1024
	}
	return p
}

// AddUser is CreateUser for a caller at a client address.
func (s *Service) AddUser(ctx context.Context, actor Principal, name string, role Role, pw, ip string) (*User, error) {
	if !actor.Can(PermUsersManage) {
		return nil, ErrForbidden
	}
	return s.createUser(ctx, actor.Actor(), name, role, pw, ip, nil)
}

// checkAdminTarget refuses an operation on the caller's own account, and,
// when demote, on the owner's.
func (s *Service) checkAdminTarget(ctx context.Context, actor Principal, u *userRow, what string, demote bool) error {
	if actor.Kind == "user" && actor.Name == u.Name {
		return fmt.Errorf("%w: you cannot %s your own account; another admin can", ErrConflict, what)
	}
	// The command line, whoever holds the state dir, may: it is how an
	// owner's account that was taken over gets stopped.
	if !demote || actor.Kind == "local" {
		return nil
	}
	owner, err := s.Owner(ctx)
	if err != nil {
		return err
	}
	if owner != "" && owner == u.Name {
		return fmt.Errorf("%w: %w: %s is the owner, whose session is the main session; name another owner in gateway.owner first",
			ErrConflict, ErrOwnerProtected, u.Name)
	}
	return nil
}

// DisableUserAt stops a user from logging in and revokes their sessions,
// for a caller at a client address. A gateway caller may not disable the
// owner or their own account (the command line may).
func (s *Service) DisableUserAt(ctx context.Context, actor Principal, name, ip string) error {
	if !actor.Can(PermUsersManage) {
		return ErrForbidden
	}
	u, err := s.loadUser(ctx, name)
	if err != nil {
		return err
	}
	if err := s.checkAdminTarget(ctx, actor, u, "disable", true); err != nil {
		return err
	}
	if u.Disabled != nil {
		return fmt.Errorf("%w: user %q is already disabled", ErrConflict, u.Name)
	}
	if err := s.record(ctx, actor.Actor(), "user.disable", u.Name, auditlog.OutcomeAllowed, ip, map[string]any{"revokes_sessions": true}); err != nil {
		return err
	}
	now := s.now().UnixNano()
	err = s.write(ctx, func(ctx context.Context, tx store.Queryer) error {
		if _, err := tx.ExecContext(ctx, `UPDATE users SET disabled_ns = ? WHERE id = ?`, now, u.ID); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `UPDATE sessions SET revoked_ns = ?, revoke_reason = 'user disabled' WHERE user_id = ? AND revoked_ns IS NULL`, now, u.ID)
		return err
	})
	s.sessions.forgetUser(u.ID)
	if err != nil {
		_ = s.record(ctx, actor.Actor(), "user.disable", u.Name, auditlog.OutcomeFailure, ip, map[string]any{"error": err.Error()})
	}
	return err
}

// SetRole changes a user's role and ends the user's sessions, so that
// every open page and WebSocket of theirs takes the new role at the next
// login (a WebSocket holds the role it connected with). It refuses
// demoting the owner and changing the caller's own role.
func (s *Service) SetRole(ctx context.Context, actor Principal, name string, role Role, ip string) (*User, error) {
	if !actor.Can(PermUsersManage) {
		return nil, ErrForbidden
	}
	if _, err := ParseRole(string(role)); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidInput, err)
	}
	u, err := s.loadUser(ctx, name)
	if err != nil {
		return nil, err
	}
	if err := s.checkAdminTarget(ctx, actor, u, "change the role of", role != RoleAdmin); err != nil {
		return nil, err
	}
	if u.Role == role {
		return nil, fmt.Errorf("%w: user %q is %s already", ErrConflict, u.Name, role)
	}
	if err := s.record(ctx, actor.Actor(), "user.role", u.Name, auditlog.OutcomeAllowed, ip,
		map[string]any{"from": string(u.Role), "to": string(role), "revokes_sessions": true}); err != nil {
		return nil, err
	}
	now := s.now().UnixNano()
	err = s.write(ctx, func(ctx context.Context, tx store.Queryer) error {
		if _, err := tx.ExecContext(ctx, `UPDATE users SET role = ? WHERE id = ?`, string(role), u.ID); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `UPDATE sessions SET revoked_ns = ?, revoke_reason = ? WHERE user_id = ? AND revoked_ns IS NULL`, now, revokeReasonRole, u.ID)
		return err
	})
	s.sessions.forgetUser(u.ID)
	if err != nil {
		_ = s.record(ctx, actor.Actor(), "user.role", u.Name, auditlog.OutcomeFailure, ip, map[string]any{"error": err.Error()})
		return nil, err
	}
	return s.GetUser(ctx, u.Name)
}
