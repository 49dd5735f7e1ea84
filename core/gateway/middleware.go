package gateway

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"runtime/debug"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/warden-sec/warden/core/auth/ratelimit"
)

// Security headers on every response. The dashboard loads only its own
// script and style files, so the policy allows no inline script or style.
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

func (s *Server) securityHeaders(h http.Header) {
	h.Set("Content-Security-Policy", contentSecurityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
	h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()")
	if s.opts.TLS {
		h.Set("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
	}
}

type ctxKey int

const clientIPKey ctxKey = iota

// clientIP is the caller's address as ratelimit.ClientIP resolved it.
func clientIP(r *http.Request) string {
	ip, _ := r.Context().Value(clientIPKey).(string)
	return ip
}

// statusWriter remembers the status for metrics; Unwrap keeps Hijack and
// ResponseController working through it.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// buildHandler assembles the middleware around the routes: recovery and
// metrics, security headers, the client address, CORS for allowed
// origins, and cross-origin protection for state-changing requests.
func (s *Server) buildHandler() (http.Handler, error) {
	mux, err := s.mux()
	if err != nil {
		return nil, err
	}
	cop := http.NewCrossOriginProtection()
	for _, o := range s.opts.AllowedOrigins {
		if err := cop.AddTrustedOrigin(o); err != nil {
			return nil, fmt.Errorf("gateway: allowed origin %q: %w", o, err)
		}
	}
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.metrics.crossOriginDenied.Inc()
		writeError(w, &apiError{Status: http.StatusForbidden, Code: CodeCrossOriginDenied,
			Message: "cross-origin request refused; add the origin to gateway.allowed_origins if it is yours"})
	}))
	inner := cop.Handler(mux)

	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		r, access := s.startAccess(w, r)
		// Deferred first, so it runs last: after a panic's 500 is written.
		defer func() { s.logAccess(r, access, sw.status, time.Since(start)) }()
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log.Error("handler panic", "path", r.URL.Path, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
				if sw.status == 0 {
					writeError(sw, &apiError{Status: http.StatusInternalServerError, Code: CodeInternal, Message: "internal error"})
				}
			}
			s.metrics.observeRequest(r.Pattern, sw.status, time.Since(start))
		}()
		s.securityHeaders(w.Header())
		if !s.hostAllowed(r.Host) {
			s.metrics.hostDenied.Inc()
			writeError(sw, &apiError{Status: http.StatusMisdirectedRequest, Code: CodeHostNotAllowed,
				Message: fmt.Sprintf("host %q is not this gateway's; add it to gateway.hosts if clients reach the gateway by that name", r.Host)})
			return
		}
		ip, err := ratelimit.ClientIP(r.RemoteAddr, r.Header.Values("X-Forwarded-For"), s.opts.TrustedProxies)
		if err != nil {
			writeError(sw, errInput("malformed remote address"))
			return
		}
		r = r.WithContext(context.WithValue(r.Context(), clientIPKey, ip.String()))
		if s.cors(sw, r) {
			return
		}
		inner.ServeHTTP(sw, r)
	}), nil
}

// The access log: one record per request on the gateway's logger, with
// the request id (also returned in X-Request-Id), the method, the route
// pattern (never the raw path, which can carry ids), the status, the
// duration, the client address and the principal: an actor name such as
// user:alice or token:ci, never a credential.

// RequestIDHeader carries a request's id: made here, or taken from a
// trusted proxy (gateway.trusted_proxies) that sent one; every response
// has it.
const RequestIDHeader = "X-Request-Id"

type accessKey struct{}

// accessRecord is what the access log learns about a request while it is
// served: who the caller turned out to be.
type accessRecord struct {
	id        string
	principal atomic.Value // string; set by noteActor
}

// startAccess gives the request its id and a record for the access log.
func (s *Server) startAccess(w http.ResponseWriter, r *http.Request) (*http.Request, *accessRecord) {
	rec := &accessRecord{id: s.requestID(r)}
	w.Header().Set(RequestIDHeader, rec.id)
	return r.WithContext(context.WithValue(r.Context(), accessKey{}, rec)), rec
}

// noteActor tells the access log who the caller of the request in ctx is.
func noteActor(ctx context.Context, actor string) {
	if rec, ok := ctx.Value(accessKey{}).(*accessRecord); ok {
		rec.principal.Store(actor)
	}
}

// requestID keeps an incoming id only from a trusted proxy, and only a
// short, plain one (it ends up in logs); otherwise it makes a new one.
func (s *Server) requestID(r *http.Request) string {
	if id := r.Header.Get(RequestIDHeader); id != "" && len(id) <= 128 && plainID(id) && s.fromTrustedProxy(r.RemoteAddr) {
		return id
	}
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func plainID(id string) bool {
	for _, c := range id {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("-_.:", c)) {
			return false
		}
	}
	return true
}

func (s *Server) fromTrustedProxy(remoteAddr string) bool {
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		host = remoteAddr
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return false
	}
	ip = ip.Unmap()
	for _, p := range s.opts.TrustedProxies {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// logAccess writes the request's record. A 401 names no principal: the
// credential it carried was refused.
func (s *Server) logAccess(r *http.Request, rec *accessRecord, status int, d time.Duration) {
	if status == 0 {
		status = http.StatusOK // nothing written: net/http answers 200
	}
	principal, _ := rec.principal.Load().(string)
	if status == http.StatusUnauthorized {
		principal = ""
	}
	s.log.LogAttrs(context.WithoutCancel(r.Context()), slog.LevelInfo, "request",
		slog.String("request_id", rec.id),
		slog.String("method", r.Method),
		slog.String("route", r.Pattern),
		slog.Int("status", status),
		slog.Duration("duration", d),
		slog.String("client", clientIP(r)),
		slog.String("principal", principal))
}

// cors answers preflights and marks responses for allowed origins other
// than the gateway's own. Cookies are never sent cross-origin: other
// origins authenticate with a bearer token. It reports whether the request
// was fully answered.
func (s *Server) cors(w http.ResponseWriter, r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" || !slices.Contains(s.opts.AllowedOrigins, origin) {
		return false
	}
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", origin)
	h.Add("Vary", "Origin")
	if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
		h.Set("Access-Control-Allow-Methods", "GET, POST, DELETE")
		h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type")
		h.Set("Access-Control-Max-Age", "600")
		w.WriteHeader(http.StatusNoContent)
		return true
	}
	return false
}

// checkOrigin accepts exact origins: scheme://host[:port], nothing more.
func checkOrigin(o string) error {
	u, err := url.Parse(o)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Path != "" || u.RawQuery != "" || u.User != nil {
		return fmt.Errorf("gateway: allowed origin %q is not scheme://host[:port]", o)
	}
	return nil
}

// sameOrigin reports whether a browser's Origin header names this gateway
// or an allowed origin. No Origin (a non-browser client) passes.
func (s *Server) originAllowed(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	scheme := "http"
	if s.opts.TLS {
		scheme = "https"
	}
	if strings.EqualFold(origin, scheme+"://"+r.Host) {
		return true
	}
	return slices.Contains(s.opts.AllowedOrigins, origin)
}

// allowedHostNames are the names (lowercase, no port) the Host header may
// carry: localhost, gateway.hosts, the certificate's names, and the hosts
// of the allowed origins.
func allowedHostNames(opts Options) map[string]bool {
	m := map[string]bool{"localhost": true}
	for _, h := range opts.Hosts {
		m[normalHost(h)] = true
	}
	for _, o := range opts.AllowedOrigins {
		if u, err := url.Parse(o); err == nil {
			m[normalHost(u.Hostname())] = true
		}
	}
	return m
}

func normalHost(h string) string {
	return strings.TrimSuffix(strings.ToLower(strings.Trim(h, "[]")), ".")
}

// hostAllowed checks the Host header against DNS rebinding: an IP
// literal is always the gateway's own address (a browser that sends it
// went to that address), a name must be one the gateway was told about.
// A page on attacker.example that rebinds its name to 127.0.0.1 sends
// Host: attacker.example and is refused before any route sees it.
func (s *Server) hostAllowed(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = normalHost(host)
	if host == "" {
		return false
	}
	if _, err := netip.ParseAddr(host); err == nil {
		return true
	}
	return s.hosts[host]
}
