package auth

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"time"

	"github.com/warden-sec/warden/core/auditlog"
)

// Browsers scope cookies by host, not by port: every listener on
// 127.0.0.1 (another local user's, or a sandboxed command's when the
// sandbox has network) receives the dashboard's cookies when the owner's
// browser visits it. So a browser session is bound to the gateway's
// origin: the login answers, besides the cookies, a binding derived from
// the session id, which the dashboard keeps in localStorage (scoped by
// origin, port included) and sends with every request. Cookies without
// the binding are refused, whether they arrive as cookies or as a bearer
// token, and so is the refresh token.

// bindingLabel separates bindings from the access tokens signed with the
// same key.
const bindingLabel = "warden session binding v1\x00"

// Binding is the binding of session sid.
func (s *Service) Binding(sid string) string {
	m := hmac.New(sha256.New, s.opts.AccessKey)
	m.Write([]byte(bindingLabel))
	m.Write([]byte(sid))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func (s *Service) bindingValid(sid, value string) bool {
	return value != "" && hmac.Equal([]byte(value), []byte(s.Binding(sid)))
}

// CheckBinding checks the binding a request carries for p's session;
// sessions that are not bound (API logins, gateway tokens) need none.
// A missing or wrong binding is an UNAUTHENTICATED error, and is audited
// (at most once a minute per session: someone holds the session's cookies
// without its page).
func (s *Service) CheckBinding(ctx context.Context, p Principal, value, ip string) error {
	if !p.Bound || s.bindingValid(p.SessionID, value) {
		return nil
	}
	return s.bindingFailure(ctx, p.SessionID, "request", ip)
}

// bindingFailure records a use of a bound session without its binding
// and returns the error the caller answers with. Failures count against
// the address's bearer limit like any failed token.
func (s *Service) bindingFailure(ctx context.Context, sid, what, ip string) error {
	now := s.now()
	key := "binding:" + sid
	s.touchMu.Lock()
	due := now.Sub(s.lastTouch[key]) >= time.Minute
	if due {
		s.lastTouch[key] = now
	}
	s.touchMu.Unlock()
	if s.tokLimit != nil {
		s.tokLimit.Fail(bearerAddrKey(ip))
	}
	if due {
		if err := s.record(ctx, "anonymous", "session.binding_failed", sid, auditlog.OutcomeDenied, ip,
			map[string]any{"session": sid, "use": what, "reason": "the session's cookies without its binding: not sent by the gateway's own page"}); err != nil {
			return err
		}
	}
	return fmt.Errorf("%w: this browser session's binding is missing or wrong", ErrUnauthenticated)
}
