package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/warden-sec/warden/core/auditlog"
	"github.com/warden-sec/warden/core/events"
	"github.com/warden-sec/warden/core/store"
)

// LoginRequest is one login attempt.
type LoginRequest struct {
	Username     string
	Password     string
	TOTP         string // the authenticator code, when the user has 2FA
	RecoveryCode string // instead of TOTP, once per code
	RememberMe   bool
	DeviceID     string // chosen by the client, stable per browser or device
	UserAgent    string
	ClientIP     string
	// Bind makes a browser session (the dashboard's cookies): every use
	// of it must carry the session's binding (Tokens.Binding), which only
	// the page that logged in holds.
	Bind bool
}

// Tokens is what a login or refresh returns.
type Tokens struct {
	AccessToken   string    `json:"accessToken"`
	AccessExpires time.Time `json:"accessExpires"`
	RefreshToken  string    `json:"refreshToken"`
	Session       Session   `json:"session"`
	// Evicted names sessions closed because the device had too many.
	Evicted []string `json:"evicted,omitempty"`
	// Binding is the bound session's binding (see LoginRequest.Bind).
	Binding string `json:"binding,omitempty"`
}

// Session describes a login (no secrets).
type Session struct {
	ID        string     `json:"id"`
	User      string     `json:"user"`
	DeviceID  string     `json:"deviceId"`
	UserAgent string     `json:"userAgent"`
	ClientIP  string     `json:"clientIp"`
	Remember  bool       `json:"rememberMe"`
	Bound     bool       `json:"bound"` // a browser session (see LoginRequest.Bind)
	Created   time.Time  `json:"created"`
	Expires   time.Time  `json:"expires"`
	LastSeen  time.Time  `json:"lastSeen"`
	Revoked   *time.Time `json:"revoked,omitempty"`
	Reason    string     `json:"revokeReason,omitempty"`
}

// errIdle ends a refresh whose session was not used for too long.
var errIdle = errors.New("session idle too long")

// idleLimit is how long a session may go unused before it ends: the
// remember-me idle timeout for a session opened with remember me (which
// the owner asked to outlive a working day), the idle timeout for any
// other. 0: no limit.
func (s *Service) idleLimit(remember bool) time.Duration {
	if remember {
		return s.opts.RememberIdleTimeout
	}
	return s.opts.IdleTimeout
}

// idled reports whether a session last seen at lastSeen has been unused
// past its idle limit at now.
func (s *Service) idled(remember bool, lastSeen, now time.Time) bool {
	limit := s.idleLimit(remember)
	return limit > 0 && now.Sub(lastSeen) > limit
}

func hashToken(t string) []byte {
	h := sha256.Sum256([]byte(t))
	return h[:]
}

// newRefreshToken returns 256 random bits, URL-safe.
func newRefreshToken() string {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("crypto/rand: " + err.Error())
	}
	return "wrt_" + base64.RawURLEncoding.EncodeToString(b[:])
}

func deviceKey(deviceID, userAgent string) string {
	h := sha256.Sum256([]byte(deviceID + "\x00" + userAgent))
	return hex.EncodeToString(h[:])
}

func clip(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// Login checks a password (and a second factor when the user has one),
// then opens a session.
func (s *Service) Login(ctx context.Context, req LoginRequest) (*Tokens, error) {
	name := strings.ToLower(strings.TrimSpace(req.Username))
	ip := req.ClientIP
	if err := s.gatePassword(ctx, "login", ip, name); err != nil {
		return nil, err
	}
	fail := func(reason string, u *userRow) (*Tokens, error) {
		s.failed(ip, name)
		details := map[string]any{"reason": reason, "device": clip(req.DeviceID, 64)}
		if err := s.record(ctx, "anonymous", "login", name, auditlog.OutcomeFailure, ip, details); err != nil {
			return nil, err
		}
		return nil, ErrInvalidCredentials
	}
	u, err := s.loadUser(ctx, name)
	if errors.Is(err, ErrNotFound) {
		if err := s.hasher.VerifyDummy(ctx, req.Password); err != nil {
			return nil, err
		}
		return fail("unknown user", nil)
	}
	if err != nil {
		return nil, err
	}
	ok, rehash, err := s.hasher.Verify(ctx, req.Password, u.passwordHash)
	if err != nil {
		return nil, err
	}
	if !ok {
		return fail("wrong password", u)
	}
	if u.Disabled != nil {
		return fail("user disabled", u)
	}
	factor := "password"
	if u.TwoFactorEnabled {
		switch {
		case req.TOTP != "":
			if err := s.useTOTP(ctx, u, req.TOTP); err != nil {
				if errors.Is(err, errTOTPReplay) {
					return fail("totp code replayed", u)
				}
				if errors.Is(err, errTOTPWrong) {
					return fail("wrong totp code", u)
				}
				return nil, err
			}
			factor = "password+totp"
		case req.RecoveryCode != "":
			if err := s.useRecoveryCode(ctx, u, req.RecoveryCode, ip); err != nil {
				if errors.Is(err, ErrInvalidCredentials) {
					return fail("wrong or used recovery code", u)
				}
				return nil, err
			}
			factor = "password+recovery_code"
		default:
			// A step, not a failure: the password was right and the client
			// asks again with a code. The login that follows records its
			// own success or failure. The entry still matters: whoever sent
			// it knows the password.
			if err := s.record(ctx, "anonymous", "login.second_factor", name, events.OutcomePending, ip,
				map[string]any{"verified": "password", "awaiting": "totp or recovery code", "device": clip(req.DeviceID, 64)}); err != nil {
				return nil, err
			}
			return nil, ErrSecondFactorRequired
		}
	}
	if rehash {
		if h, err := s.hasher.Hash(ctx, req.Password); err == nil {
			_ = s.write(ctx, func(ctx context.Context, tx store.Queryer) error {
				_, err := tx.ExecContext(ctx, `UPDATE users SET password_hash = ? WHERE id = ?`, h, u.ID)
				return err
			})
		}
	}
	s.succeeded(ip, name)
	return s.openSession(ctx, u, req, factor)
}

func (s *Service) openSession(ctx context.Context, u *userRow, req LoginRequest, factor string) (*Tokens, error) {
	now := s.now()
	ttl := s.opts.SessionTTL
	if req.RememberMe {
		ttl = s.opts.RememberTTL
	}
	sid := newID()
	refresh := newRefreshToken()
	dk := deviceKey(req.DeviceID, req.UserAgent)
	var evicted []string
	if err := s.db.Read(ctx, func(ctx context.Context, q store.Queryer) error {
		rows, err := q.QueryContext(ctx, `SELECT id FROM sessions WHERE user_id = ? AND device_key = ? AND revoked_ns IS NULL AND expires_ns > ? ORDER BY created_ns DESC`,
			u.ID, dk, now.UnixNano())
		if err != nil {
			return err
		}
		defer rows.Close()
		i := 0
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				return err
			}
			if i++; i >= s.opts.MaxSessionsPerDevice {
				evicted = append(evicted, id)
			}
		}
		return rows.Err()
	}); err != nil {
		return nil, fmt.Errorf("read sessions: %w", err)
	}
	details := map[string]any{"session": sid, "factor": factor, "remember_me": req.RememberMe, "device": clip(req.DeviceID, 64),
		"user_agent": clip(req.UserAgent, 200), "bound": req.Bind}
	if len(evicted) > 0 {
		details["evicted"] = evicted
	}
	// Recorded before the session exists: no record, no session.
	if err := s.record(ctx, "user:"+u.Name, "login", u.Name, auditlog.OutcomeSuccess, req.ClientIP, details); err != nil {
		return nil, err
	}
	err := s.write(ctx, func(ctx context.Context, tx store.Queryer) error {
		for _, id := range evicted {
			if _, err := tx.ExecContext(ctx, `UPDATE sessions SET revoked_ns = ?, revoke_reason = 'evicted: too many sessions on the device' WHERE id = ?`, now.UnixNano(), id); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO sessions (id, user_id, device_key, device_id, user_agent, remember, client_ip, created_ns, expires_ns, last_seen_ns, refresh_hash, bound)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, sid, u.ID, dk, clip(req.DeviceID, 128), clip(req.UserAgent, 512), req.RememberMe,
			req.ClientIP, now.UnixNano(), now.Add(ttl).UnixNano(), now.UnixNano(), hashToken(refresh), req.Bind); err != nil {
			return fmt.Errorf("create session: %w", err)
		}
		_, err := tx.ExecContext(ctx, `UPDATE users SET last_login_ns = ? WHERE id = ?`, now.UnixNano(), u.ID)
		return err
	})
	if err != nil {
		return nil, err
	}
	s.sessions.forget(evicted...)
	access, exp, err := s.signer.issue(u.ID, u.Role, sid, now, s.accessTTL(now, now.Add(ttl)))
	if err != nil {
		return nil, err
	}
	t := &Tokens{AccessToken: access, AccessExpires: exp, RefreshToken: refresh, Evicted: evicted,
		Session: Session{ID: sid, User: u.Name, DeviceID: req.DeviceID, UserAgent: req.UserAgent, ClientIP: req.ClientIP,
			Remember: req.RememberMe, Bound: req.Bind, Created: now, Expires: now.Add(ttl), LastSeen: now}}
	if req.Bind {
		t.Binding = s.Binding(sid)
	}
	return t, nil
}

// accessTTL never lets an access token outlive its session.
func (s *Service) accessTTL(now, sessionEnd time.Time) time.Duration {
	ttl := s.opts.AccessTTL
	if left := sessionEnd.Sub(now); left < ttl {
		ttl = left
	}
	return ttl
}

// Refresh exchanges a refresh token for new tokens and rotates it. A
// refresh token that was already used revokes its whole session: someone
// holds a copy.
//
// Failed refreshes count under the client's address in the limiter of
// bearer-credential failures. Once that is exhausted, a token that is
// neither current nor used before is refused with a *RateLimitedError
// after one read (no write transaction, no audit entry per attempt); a
// current one still refreshes, and a used one still revokes its session.
func (s *Service) Refresh(ctx context.Context, refreshToken, ip string) (*Tokens, error) {
	return s.RefreshBound(ctx, refreshToken, "", ip)
}

// RefreshBound is Refresh with the binding the client holds: a browser
// session's refresh token works only with it, so a copy of the refresh
// cookie taken by a page on another port of the same host is useless.
// Without the binding the token is not rotated (its holder keeps it).
func (s *Service) RefreshBound(ctx context.Context, refreshToken, binding, ip string) (*Tokens, error) {
	addr := bearerAddrKey(ip)
	h := hashToken(refreshToken)
	if s.bearerBlocked(addr) {
		known, err := s.refreshKnown(ctx, h)
		if err != nil {
			return nil, err
		}
		if !known {
			return nil, s.bearerFailure(ctx, "refresh", addr, ip, "unknown, revoked or expired refresh token")
		}
	}
	now := s.now()
	next := newRefreshToken()
	var sess Session
	var userID int64
	var role Role
	var reused, idled, unbound string
	err := s.write(ctx, func(ctx context.Context, tx store.Queryer) error {
		var created, expires, lastSeen int64
		var revoked sql.NullInt64
		var remember bool
		var disabled sql.NullInt64
		err := tx.QueryRowContext(ctx, `SELECT s.id, u.id, u.name, u.role, s.device_id, s.user_agent, s.client_ip, s.remember, s.bound, s.created_ns, s.expires_ns, s.last_seen_ns, s.revoked_ns, u.disabled_ns
			FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.refresh_hash = ?`, h).Scan(
			&sess.ID, &userID, &sess.User, &role, &sess.DeviceID, &sess.UserAgent, &sess.ClientIP, &remember, &sess.Bound, &created, &expires, &lastSeen, &revoked, &disabled)
		if errors.Is(err, sql.ErrNoRows) {
			// Not current: an old token presented again?
			err := tx.QueryRowContext(ctx, `SELECT session_id FROM used_refresh WHERE hash = ?`, h).Scan(&reused)
			if errors.Is(err, sql.ErrNoRows) {
				return ErrInvalidCredentials
			}
			if err != nil {
				return err
			}
			_, err = tx.ExecContext(ctx, `UPDATE sessions SET revoked_ns = COALESCE(revoked_ns, ?), revoke_reason = COALESCE(revoke_reason, 'refresh token reuse') WHERE id = ?`, now.UnixNano(), reused)
			return err
		}
		if err != nil {
			return err
		}
		sess.Remember, sess.Created, sess.Expires = remember, time.Unix(0, created).UTC(), time.Unix(0, expires).UTC()
		if revoked.Valid || disabled.Valid || !now.Before(sess.Expires) {
			return ErrInvalidCredentials
		}
		if sess.Bound && !s.bindingValid(sess.ID, binding) {
			unbound = sess.ID
			return ErrInvalidCredentials
		}
		if s.idled(remember, time.Unix(0, lastSeen), now) {
			idled = sess.ID
			return errIdle // revoked below: this transaction rolls back
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO used_refresh (hash, session_id, used_ns) VALUES (?, ?, ?)`, h, sess.ID, now.UnixNano()); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE sessions SET refresh_hash = ?, refresh_count = refresh_count + 1, last_seen_ns = ?, client_ip = ? WHERE id = ? AND refresh_hash = ?`,
			hashToken(next), now.UnixNano(), ip, sess.ID, h)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return ErrInvalidCredentials
		}
		sess.LastSeen, sess.ClientIP = now, ip
		return nil
	})
	if reused != "" {
		s.sessions.forget(reused)
		if err := s.record(ctx, "anonymous", "refresh_token_reuse", reused, auditlog.OutcomeDenied, ip, map[string]any{"session": reused, "revoked": true}); err != nil {
			return nil, err
		}
		if s.tokLimit != nil {
			s.tokLimit.Fail(addr)
		}
		return nil, ErrInvalidCredentials
	}
	if unbound != "" {
		return nil, s.bindingFailure(ctx, unbound, "refresh", ip)
	}
	if errors.Is(err, errIdle) {
		if err := s.revoke(ctx, "system", idled, "idle timeout", ip); err != nil {
			return nil, err
		}
		return nil, ErrInvalidCredentials
	}
	if errors.Is(err, ErrInvalidCredentials) {
		return nil, s.bearerFailure(ctx, "refresh", addr, ip, "unknown, revoked or expired refresh token")
	}
	if err != nil {
		return nil, fmt.Errorf("refresh: %w", err)
	}
	if err := s.record(ctx, "user:"+sess.User, "refresh", sess.User, auditlog.OutcomeSuccess, ip, map[string]any{"session": sess.ID}); err != nil {
		return nil, err
	}
	access, exp, err := s.signer.issue(userID, role, sess.ID, now, s.accessTTL(now, sess.Expires))
	if err != nil {
		return nil, err
	}
	t := &Tokens{AccessToken: access, AccessExpires: exp, RefreshToken: next, Session: sess}
	if sess.Bound {
		t.Binding = s.Binding(sess.ID)
	}
	return t, nil
}

// refreshKnown reports whether a refresh token hash is a session's current
// one or one used before (whose reuse Refresh must still detect).
func (s *Service) refreshKnown(ctx context.Context, h []byte) (bool, error) {
	var n int
	err := s.db.Read(ctx, func(ctx context.Context, q store.Queryer) error {
		return q.QueryRowContext(ctx, `SELECT (SELECT COUNT(*) FROM sessions WHERE refresh_hash = ?) + (SELECT COUNT(*) FROM used_refresh WHERE hash = ?)`, h, h).Scan(&n)
	})
	if err != nil {
		return false, fmt.Errorf("read refresh token: %w", err)
	}
	return n > 0, nil
}

// Authenticate checks an access token and that its session is still live.
// A revocation in this process takes effect at once; one made by another
// process (warden sessions revoke) within a second.
func (s *Service) Authenticate(ctx context.Context, accessToken string) (Principal, error) {
	now := s.now()
	claims, ok := s.validated.get(accessToken, now)
	if !ok {
		var err error
		if claims, err = s.signer.parse(accessToken); err != nil {
			return Principal{}, err
		}
		s.validated.put(accessToken, claims)
	}
	st, err := s.sessionState(ctx, claims.SessionID, now)
	if err != nil {
		return Principal{}, err
	}
	uid, _ := strconv.ParseInt(claims.Subject, 10, 64)
	if !st.live || st.userID != uid || !now.Before(st.expires) {
		return Principal{}, fmt.Errorf("%w: session revoked or expired", ErrUnauthenticated)
	}
	if s.idled(st.remember, st.lastSeen, now) {
		_ = s.revoke(ctx, "system", claims.SessionID, "idle timeout", "")
		return Principal{}, fmt.Errorf("%w: session idle too long", ErrUnauthenticated)
	}
	s.touch(ctx, claims.SessionID, st.remember, now)
	return Principal{Kind: "user", UserID: st.userID, Name: st.name, Role: st.role, SessionID: claims.SessionID, Bound: st.bound}, nil
}

func (s *Service) sessionState(ctx context.Context, sid string, now time.Time) (sessionState, error) {
	if st, ok := s.sessions.get(sid, now); ok {
		return st, nil
	}
	var st sessionState
	err := s.db.Read(ctx, func(ctx context.Context, q store.Queryer) error {
		var expires, lastSeen int64
		var revoked, disabled sql.NullInt64
		var role string
		err := q.QueryRowContext(ctx, `SELECT u.id, u.name, u.role, s.expires_ns, s.last_seen_ns, s.revoked_ns, u.disabled_ns, s.bound, s.remember FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id = ?`, sid).
			Scan(&st.userID, &st.name, &role, &expires, &lastSeen, &revoked, &disabled, &st.bound, &st.remember)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		st.role, st.expires, st.lastSeen = Role(role), time.Unix(0, expires), time.Unix(0, lastSeen)
		st.live = !revoked.Valid && !disabled.Valid
		return nil
	})
	if err != nil {
		return st, fmt.Errorf("read session: %w", err)
	}
	st.fetchedAt = now
	s.sessions.put(sid, st)
	return st, nil
}

// touch records activity at most once a minute per session, for the idle
// rule (no write when no idle limit applies).
func (s *Service) touch(ctx context.Context, sid string, remember bool, now time.Time) {
	if s.idleLimit(remember) <= 0 {
		return
	}
	s.touchMu.Lock()
	last := s.lastTouch[sid]
	due := now.Sub(last) >= time.Minute
	if due {
		s.lastTouch[sid] = now
	}
	s.touchMu.Unlock()
	if !due {
		return
	}
	_ = s.write(ctx, func(ctx context.Context, tx store.Queryer) error {
		_, err := tx.ExecContext(ctx, `UPDATE sessions SET last_seen_ns = ? WHERE id = ?`, now.UnixNano(), sid)
		return err
	})
	s.sessions.forget(sid)
}

// Logout ends the caller's own session.
func (s *Service) Logout(ctx context.Context, p Principal, ip string) error {
	if p.SessionID == "" {
		return ErrInvalidInput
	}
	return s.revoke(ctx, p.Actor(), p.SessionID, "logout", ip)
}

func (s *Service) revoke(ctx context.Context, actor, sid, reason, ip string) error {
	if err := s.record(ctx, actor, "session.revoke", sid, auditlog.OutcomeAllowed, ip, map[string]any{"reason": reason}); err != nil {
		return err
	}
	var n int64
	err := s.write(ctx, func(ctx context.Context, tx store.Queryer) error {
		res, err := tx.ExecContext(ctx, `UPDATE sessions SET revoked_ns = ?, revoke_reason = ? WHERE id = ? AND revoked_ns IS NULL`, s.now().UnixNano(), reason, sid)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	s.sessions.forget(sid)
	if err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("%w: no live session %s", ErrNotFound, sid)
	}
	return nil
}

// RevokeSession ends a session: the caller's own, or anyone's with the
// sessions permission. Without it, another user's session is ErrNotFound.
func (s *Service) RevokeSession(ctx context.Context, actor Principal, sid, ip string) error {
	if actor.Kind != "local" && !actor.Can(PermSessionsManage) {
		// Someone else's session looks the same as no session at all.
		owner, err := s.sessionOwner(ctx, sid)
		if err != nil || owner != actor.UserID {
			return fmt.Errorf("%w: no session %s of yours", ErrNotFound, sid)
		}
	}
	return s.revoke(ctx, actor.Actor(), sid, "revoked by "+actor.Actor(), ip)
}

func (s *Service) sessionOwner(ctx context.Context, sid string) (int64, error) {
	var uid int64
	err := s.db.Read(ctx, func(ctx context.Context, q store.Queryer) error {
		return q.QueryRowContext(ctx, `SELECT user_id FROM sessions WHERE id = ?`, sid).Scan(&uid)
	})
	return uid, err
}

// RevokeUserSessions ends every live session of a user.
func (s *Service) RevokeUserSessions(ctx context.Context, actor Principal, name, ip string) (int, error) {
	if !actor.Can(PermSessionsManage) && actor.Name != name {
		return 0, ErrForbidden
	}
	u, err := s.loadUser(ctx, name)
	if err != nil {
		return 0, err
	}
	if err := s.record(ctx, actor.Actor(), "session.revoke_all", u.Name, auditlog.OutcomeAllowed, ip, nil); err != nil {
		return 0, err
	}
	var n int64
	err = s.write(ctx, func(ctx context.Context, tx store.Queryer) error {
		res, err := tx.ExecContext(ctx, `UPDATE sessions SET revoked_ns = ?, revoke_reason = ? WHERE user_id = ? AND revoked_ns IS NULL AND expires_ns > ?`,
			s.now().UnixNano(), "revoked by "+actor.Actor(), u.ID, s.now().UnixNano())
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	s.sessions.forgetUser(u.ID)
	return int(n), err
}

// SessionFilter selects sessions to list.
type SessionFilter struct {
	User         string // "" for every user
	IncludeEnded bool   // revoked and expired ones too
}

// ListSessions lists sessions, newest first.
func (s *Service) ListSessions(ctx context.Context, f SessionFilter) ([]Session, error) {
	var out []Session
	err := s.db.Read(ctx, func(ctx context.Context, q store.Queryer) error {
		query := `SELECT s.id, u.name, s.device_id, s.user_agent, s.client_ip, s.remember, s.created_ns, s.expires_ns, s.last_seen_ns, s.revoked_ns, COALESCE(s.revoke_reason, '')
			FROM sessions s JOIN users u ON u.id = s.user_id WHERE 1 = 1`
		var args []any
		if f.User != "" {
			query += ` AND u.name = ?`
			args = append(args, strings.ToLower(f.User))
		}
		if !f.IncludeEnded {
			query += ` AND s.revoked_ns IS NULL AND s.expires_ns > ?`
			args = append(args, s.now().UnixNano())
		}
		rows, err := q.QueryContext(ctx, query+` ORDER BY s.created_ns DESC`, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var x Session
			var created, expires, seen int64
			var revoked sql.NullInt64
			if err := rows.Scan(&x.ID, &x.User, &x.DeviceID, &x.UserAgent, &x.ClientIP, &x.Remember, &created, &expires, &seen, &revoked, &x.Reason); err != nil {
				return err
			}
			x.Created, x.Expires, x.LastSeen, x.Revoked = time.Unix(0, created).UTC(), time.Unix(0, expires).UTC(), time.Unix(0, seen).UTC(), nsTime(revoked)
			out = append(out, x)
		}
		return rows.Err()
	})
	return out, err
}

// CleanupSessions removes expired sessions (and their used refresh tokens)
// and TOTP steps too old to be replayed. It returns how many sessions went.
func (s *Service) CleanupSessions(ctx context.Context) (int, error) {
	now := s.now().UnixNano()
	var n int64
	err := s.write(ctx, func(ctx context.Context, tx store.Queryer) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE expires_ns <= ?`, now)
		if err != nil {
			return err
		}
		n, _ = res.RowsAffected()
		_, err = tx.ExecContext(ctx, `DELETE FROM totp_used_steps WHERE used_ns < ?`, now-int64(10*time.Minute))
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("clean up sessions: %w", err)
	}
	if n > 0 {
		if err := s.record(ctx, "system", "session.cleanup", "sessions", auditlog.OutcomeSuccess, "", map[string]any{"removed": n}); err != nil {
			return int(n), err
		}
	}
	s.touchMu.Lock()
	for sid, t := range s.lastTouch {
		if s.now().Sub(t) > time.Hour {
			delete(s.lastTouch, sid)
		}
	}
	s.touchMu.Unlock()
	return int(n), nil
}

// SessionLive reports whether a session can still be used: not revoked or
// expired, its user enabled, and not idle past its idle limit. Like
// Authenticate it reads the database at most once a second per session;
// the gateway asks it to close WebSockets of sessions that ended.
func (s *Service) SessionLive(ctx context.Context, sid string) (bool, error) {
	now := s.now()
	st, err := s.sessionState(ctx, sid, now)
	if err != nil {
		return false, err
	}
	if !st.live || !now.Before(st.expires) {
		return false, nil
	}
	return !s.idled(st.remember, st.lastSeen, now), nil
}

// CountLiveSessions counts sessions that are neither revoked nor expired.
func (s *Service) CountLiveSessions(ctx context.Context) (int, error) {
	var n int
	err := s.db.Read(ctx, func(ctx context.Context, q store.Queryer) error {
		return q.QueryRowContext(ctx, `SELECT COUNT(*) FROM sessions WHERE revoked_ns IS NULL AND expires_ns > ?`, s.now().UnixNano()).Scan(&n)
	})
	if err != nil {
		return 0, fmt.Errorf("count sessions: %w", err)
	}
	return n, nil
}
