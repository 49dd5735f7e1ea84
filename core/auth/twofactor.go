package auth

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/warden-sec/warden/core/auditlog"
	"github.com/warden-sec/warden/core/auth/totp"
	"github.com/warden-sec/warden/core/store"
)

// totpSkew accepts the previous and the next 30-second step as well as the
// current one (±30 s of clock drift).
const totpSkew = 1

var (
	errTOTPWrong  = errors.New("wrong totp code")
	errTOTPReplay = errors.New("totp code already used")
)

// useTOTP checks a code and records its step, atomically: the primary key
// on (user, step) makes a second use of the same code fail, even when two
// requests race.
func (s *Service) useTOTP(ctx context.Context, u *userRow, code string) error {
	secret, err := s.totp.open(u.ID, u.totpSecret)
	if err != nil {
		return err
	}
	step, ok := totp.Match(secret, code, s.now(), totpSkew)
	if !ok {
		return errTOTPWrong
	}
	return s.write(ctx, func(ctx context.Context, tx store.Queryer) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO totp_used_steps (user_id, step, used_ns) VALUES (?, ?, ?)`, u.ID, step, s.now().UnixNano())
		if err != nil && strings.Contains(err.Error(), "UNIQUE") {
			return errTOTPReplay
		}
		return err
	})
}

// useRecoveryCode consumes one recovery code: the UPDATE only matches an
// unused code, so one code cannot pass twice, also under concurrency.
func (s *Service) useRecoveryCode(ctx context.Context, u *userRow, code, ip string) error {
	norm := totp.NormalizeRecoveryCode(code)
	if norm == "" {
		return ErrInvalidCredentials
	}
	var n int64
	err := s.write(ctx, func(ctx context.Context, tx store.Queryer) error {
		res, err := tx.ExecContext(ctx, `UPDATE recovery_codes SET used_ns = ? WHERE user_id = ? AND code_hash = ? AND used_ns IS NULL`,
			s.now().UnixNano(), u.ID, totp.HashRecoveryCode(norm))
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return err
	}
	if n != 1 {
		return ErrInvalidCredentials
	}
	return s.record(ctx, "user:"+u.Name, "2fa.recovery_code_used", u.Name, auditlog.OutcomeSuccess, ip, nil)
}

// Enrollment is a TOTP secret waiting for its first code.
type Enrollment struct {
	Secret   string `json:"secret"` // base32, for manual entry
	URI      string `json:"uri"`    // otpauth://
	PNG      []byte `json:"-"`      // QR code of URI
	Terminal string `json:"-"`      // QR code drawn with text
}

// reauthenticate checks the password again before a sensitive change.
func (s *Service) reauthenticate(ctx context.Context, action, name, pw, ip string) (*userRow, error) {
	if err := s.gatePassword(ctx, action, ip, name); err != nil {
		return nil, err
	}
	u, err := s.loadUser(ctx, name)
	if err != nil {
		_ = s.hasher.VerifyDummy(ctx, pw)
		s.failed(ip, name)
		return nil, ErrInvalidCredentials
	}
	ok, _, err := s.hasher.Verify(ctx, pw, u.passwordHash)
	if err != nil {
		return nil, err
	}
	if !ok || u.Disabled != nil {
		s.failed(ip, name)
		if err := s.record(ctx, "user:"+u.Name, action, u.Name, auditlog.OutcomeFailure, ip, map[string]any{"reason": "wrong password"}); err != nil {
			return nil, err
		}
		return nil, ErrInvalidCredentials
	}
	return u, nil
}

// BeginTOTP starts enrollment after checking the password: it stores a new
// secret (sealed) as pending and returns what the authenticator app needs.
// Two-factor stays off until ConfirmTOTP sees a correct code.
func (s *Service) BeginTOTP(ctx context.Context, name, pw, ip string) (*Enrollment, error) {
	u, err := s.reauthenticate(ctx, "2fa.enroll", name, pw, ip)
	if err != nil {
		return nil, err
	}
	if u.TwoFactorEnabled {
		return nil, fmt.Errorf("%w: two-factor is already on for %s; disable it first", ErrConflict, u.Name)
	}
	secret, err := totp.NewSecret()
	if err != nil {
		return nil, err
	}
	sealed, err := s.totp.seal(u.ID, secret)
	if err != nil {
		return nil, err
	}
	uri, err := totp.URI(s.opts.TOTPIssuer, u.Name, secret)
	if err != nil {
		return nil, err
	}
	png, err := totp.QRPNG(uri)
	if err != nil {
		return nil, err
	}
	term, err := totp.QRTerminal(uri, false)
	if err != nil {
		return nil, err
	}
	if err := s.record(ctx, "user:"+u.Name, "2fa.enroll", u.Name, auditlog.OutcomeAllowed, ip, nil); err != nil {
		return nil, err
	}
	if err := s.write(ctx, func(ctx context.Context, tx store.Queryer) error {
		_, err := tx.ExecContext(ctx, `UPDATE users SET totp_pending = ? WHERE id = ?`, sealed, u.ID)
		return err
	}); err != nil {
		return nil, err
	}
	return &Enrollment{Secret: totp.EncodeSecret(secret), URI: uri, PNG: png, Terminal: term}, nil
}

// ConfirmTOTP turns two-factor on once a code from the pending secret
// matches, and returns new recovery codes (shown once; stored hashed).
//
// Every other session of the user ends with it, as after a password
// change: they were opened with the password alone, and one of them may be
// the reason the owner turns two-factor on. keepSession is the caller's
// own session, which stays (it just proved the new factor); "" (the
// command line) ends them all. The caller closes the WebSockets of the
// ended sessions.
func (s *Service) ConfirmTOTP(ctx context.Context, name, code, keepSession, ip string) ([]string, error) {
	if err := s.gatePassword(ctx, "2fa.confirm", ip, name); err != nil {
		return nil, err
	}
	u, err := s.loadUser(ctx, name)
	if err != nil {
		return nil, err
	}
	if len(u.totpPending) == 0 {
		return nil, fmt.Errorf("%w: no enrollment in progress for %s", ErrConflict, u.Name)
	}
	secret, err := s.totp.open(u.ID, u.totpPending)
	if err != nil {
		return nil, err
	}
	step, ok := totp.Match(secret, code, s.now(), totpSkew)
	if !ok {
		s.failed(ip, name)
		if err := s.record(ctx, "user:"+u.Name, "2fa.confirm", u.Name, auditlog.OutcomeFailure, ip, map[string]any{"reason": "wrong code"}); err != nil {
			return nil, err
		}
		return nil, ErrInvalidCredentials
	}
	codes, err := totp.NewRecoveryCodes()
	if err != nil {
		return nil, err
	}
	others, err := s.liveSessions(ctx, u.ID, keepSession)
	if err != nil {
		return nil, err
	}
	// Recorded before they take effect, like a password change: the
	// enabling, then the end of the other sessions with their count (the
	// sessions seen now; one opened concurrently ends too, and its login
	// is in the log).
	if err := s.record(ctx, "user:"+u.Name, "2fa.enable", u.Name, auditlog.OutcomeAllowed, ip,
		map[string]any{"recovery_codes": len(codes), "revokes_sessions": true}); err != nil {
		return nil, err
	}
	details := map[string]any{"reason": revokeReason2FA, "count": len(others)}
	if keepSession != "" {
		details["kept"] = keepSession
	}
	if err := s.record(ctx, "user:"+u.Name, "session.revoke_all", u.Name, auditlog.OutcomeAllowed, ip, details); err != nil {
		return nil, err
	}
	now := s.now().UnixNano()
	err = s.write(ctx, func(ctx context.Context, tx store.Queryer) error {
		if _, err := tx.ExecContext(ctx, `UPDATE users SET totp_secret = totp_pending, totp_pending = NULL, totp_enabled_ns = ? WHERE id = ? AND totp_pending = ?`, now, u.ID, u.totpPending); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO totp_used_steps (user_id, step, used_ns) VALUES (?, ?, ?)`, u.ID, step, now); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE sessions SET revoked_ns = ?, revoke_reason = ? WHERE user_id = ? AND id <> ? AND revoked_ns IS NULL`,
			now, revokeReason2FA, u.ID, keepSession); err != nil {
			return err
		}
		return replaceRecoveryCodes(ctx, tx, u.ID, codes, now)
	})
	s.sessions.forgetUser(u.ID)
	if err != nil {
		return nil, err
	}
	s.succeeded(ip, name)
	return codes, nil
}

// revokeReason2FA is why enabling two-factor ends a session.
const revokeReason2FA = "two-factor enabled"

// liveSessions lists the ids of a user's live sessions other than except.
func (s *Service) liveSessions(ctx context.Context, userID int64, except string) ([]string, error) {
	var ids []string
	err := s.db.Read(ctx, func(ctx context.Context, q store.Queryer) error {
		rows, err := q.QueryContext(ctx, `SELECT id FROM sessions WHERE user_id = ? AND id <> ? AND revoked_ns IS NULL AND expires_ns > ?`,
			userID, except, s.now().UnixNano())
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				return err
			}
			ids = append(ids, id)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("read sessions: %w", err)
	}
	return ids, nil
}

func replaceRecoveryCodes(ctx context.Context, tx store.Queryer, userID int64, codes []string, now int64) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM recovery_codes WHERE user_id = ?`, userID); err != nil {
		return err
	}
	for _, c := range codes {
		if _, err := tx.ExecContext(ctx, `INSERT INTO recovery_codes (user_id, code_hash, created_ns) VALUES (?, ?, ?)`,
			userID, totp.HashRecoveryCode(totp.NormalizeRecoveryCode(c)), now); err != nil {
			return err
		}
	}
	return nil
}

// RegenerateRecoveryCodes replaces a user's recovery codes after checking
// their password; the old codes stop working.
func (s *Service) RegenerateRecoveryCodes(ctx context.Context, name, pw, ip string) ([]string, error) {
	u, err := s.reauthenticate(ctx, "2fa.recovery_codes", name, pw, ip)
	if err != nil {
		return nil, err
	}
	if !u.TwoFactorEnabled {
		return nil, fmt.Errorf("%w: two-factor is off for %s", ErrConflict, u.Name)
	}
	codes, err := totp.NewRecoveryCodes()
	if err != nil {
		return nil, err
	}
	if err := s.record(ctx, "user:"+u.Name, "2fa.recovery_codes", u.Name, auditlog.OutcomeAllowed, ip, map[string]any{"count": len(codes)}); err != nil {
		return nil, err
	}
	err = s.write(ctx, func(ctx context.Context, tx store.Queryer) error {
		return replaceRecoveryCodes(ctx, tx, u.ID, codes, s.now().UnixNano())
	})
	if err != nil {
		return nil, err
	}
	return codes, nil
}

// DisableTOTP turns two-factor off for a user; only an admin may.
func (s *Service) DisableTOTP(ctx context.Context, actor Principal, name, ip string) error {
	if !actor.Can(PermUsersManage) {
		return ErrForbidden
	}
	u, err := s.loadUser(ctx, name)
	if err != nil {
		return err
	}
	if !u.TwoFactorEnabled && len(u.totpPending) == 0 {
		return fmt.Errorf("%w: two-factor is already off for %s", ErrConflict, u.Name)
	}
	if err := s.record(ctx, actor.Actor(), "2fa.disable", u.Name, auditlog.OutcomeAllowed, ip, nil); err != nil {
		return err
	}
	return s.write(ctx, func(ctx context.Context, tx store.Queryer) error {
		if _, err := tx.ExecContext(ctx, `UPDATE users SET totp_secret = NULL, totp_pending = NULL, totp_enabled_ns = NULL WHERE id = ?`, u.ID); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM recovery_codes WHERE user_id = ?`, u.ID)
		return err
	})
}
