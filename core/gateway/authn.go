package gateway

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/warden-sec/warden/core/auth"
)

// cookieNames are the dashboard's cookies. Under TLS they carry the __Host-
// prefix (Secure, Path=/, no Domain: the browser refuses them otherwise).
// Browsers refuse __Host- cookies without Secure, and Secure cookies over
// plain HTTP, so on a loopback gateway without TLS the names drop the
// prefix and keep every other attribute.
type cookieNames struct {
	access, refresh string
	secure          bool
}

func newCookieNames(tls bool) cookieNames {
	if tls {
		return cookieNames{access: "__Host-warden-access", refresh: "__Host-warden-refresh", secure: true}
	}
	return cookieNames{access: "warden-access", refresh: "warden-refresh"}
}

func (c cookieNames) cookie(name, value string, maxAge int) *http.Cookie {
	return &http.Cookie{Name: name, Value: value, Path: "/", MaxAge: maxAge, HttpOnly: true, Secure: c.secure, SameSite: http.SameSiteStrictMode}
}

// setSession sets the access and refresh cookies for a login or refresh.
// With remember-me both outlive the browser (until the session's end);
// without, they are session cookies.
func (s *Server) setSession(w http.ResponseWriter, t *auth.Tokens) {
	accessAge, refreshAge := 0, 0
	if t.Session.Remember {
		now := s.opts.Now()
		accessAge = max(1, int(t.AccessExpires.Sub(now)/time.Second))
		refreshAge = max(1, int(t.Session.Expires.Sub(now)/time.Second))
	}
	http.SetCookie(w, s.cookies.cookie(s.cookies.access, t.AccessToken, accessAge))
	http.SetCookie(w, s.cookies.cookie(s.cookies.refresh, t.RefreshToken, refreshAge))
}

func (s *Server) clearSession(w http.ResponseWriter) {
	http.SetCookie(w, s.cookies.cookie(s.cookies.access, "", -1))
	http.SetCookie(w, s.cookies.cookie(s.cookies.refresh, "", -1))
}

// credential finds the caller's token: the Authorization header first, then
// the dashboard's access cookie. Never the URL.
func (s *Server) credential(r *http.Request) string {
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, tok, ok := strings.Cut(h, " ")
		if ok && strings.EqualFold(scheme, "Bearer") {
			return strings.TrimSpace(tok)
		}
		return ""
	}
	if c, err := r.Cookie(s.cookies.access); err == nil {
		return c.Value
	}
	return ""
}

// authenticate identifies the caller of a request.
func (s *Server) authenticate(r *http.Request) (auth.Principal, error) {
	tok := s.credential(r)
	if tok == "" {
		s.metrics.authFailures.WithLabelValues("missing").Inc()
		return auth.Principal{}, errUnauthenticated
	}
	p, err := s.authToken(r.Context(), tok, clientIP(r))
	if err != nil {
		return p, err
	}
	// A browser session's cookies (or its access token lifted from one)
	// count only with the binding the gateway's own page holds.
	if err := s.opts.Auth.CheckBinding(r.Context(), p, r.Header.Get(BindingHeader), clientIP(r)); err != nil {
		s.metrics.authFailures.WithLabelValues("binding").Inc()
		return auth.Principal{}, err
	}
	return p, nil
}

// BindingHeader carries a browser session's binding (auth.CheckBinding).
const BindingHeader = "X-Warden-Binding"

// authToken checks an access token (a JWT) or a gateway token. Gateway
// token failures are rate limited and audited in core/auth, per token id
// or per address, never by other clients' failed passwords, so a valid
// token always passes; a JWT cannot be guessed (HMAC-SHA256 with a 256-bit
// key), and an expired one is routine, so those failures are only counted
// here.
func (s *Server) authToken(ctx context.Context, tok, ip string) (auth.Principal, error) {
	if strings.Count(tok, ".") == 2 {
		p, err := s.opts.Auth.Authenticate(ctx, tok)
		if err != nil {
			s.metrics.authFailures.WithLabelValues("access_token").Inc()
			return auth.Principal{}, err
		}
		noteActor(ctx, p.Actor())
		return p, nil
	}
	p, err := s.opts.Auth.AuthenticateToken(ctx, tok, ip)
	if err != nil {
		var rl *auth.RateLimitedError
		if errors.As(err, &rl) {
			s.metrics.rateLimited.Inc()
		} else {
			s.metrics.authFailures.WithLabelValues("gateway_token").Inc()
		}
		return auth.Principal{}, err
	}
	noteActor(ctx, p.Actor())
	return p, nil
}
