package gateway

import (
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"

	"github.com/warden-sec/warden/core/auditlog"
	"github.com/warden-sec/warden/core/auth"
)

// handlerFunc serves an authorised request; p is the zero Principal on
// public routes.
type handlerFunc func(w http.ResponseWriter, r *http.Request, p auth.Principal) error

// route is one entry of the route table. Perm is the permission the route
// needs (its minimum role comes from auth's permission table); "" marks a
// public route. selfAuth routes (the WebSocket) authenticate inside the
// handler, then check Perm the same way.
type route struct {
	Method, Path string
	Perm         auth.Permission
	selfAuth     bool
	Doc          string
	h            handlerFunc
	// recordsFirst routes record their action in the audit log before
	// performing it, and the record of the caller's token use goes into
	// that same commit (auditlog.Deferred): one durable write, not two.
	recordsFirst bool
}

// recordsFirst marks a route whose handler always appends its audit
// entry before it acts (see route.recordsFirst).
func recordsFirst(rt route) route {
	rt.recordsFirst = true
	return rt
}

// Public is the Perm of routes anyone may call.
const Public auth.Permission = ""

// routeTable is the one place that says who may call what.
func (s *Server) routeTable() []route {
	metricsPerm := Public
	if !s.opts.Loopback || s.opts.MetricsRequireToken {
		metricsPerm = auth.PermStatusRead
	}
	rs := []route{
		{"GET", "/healthz", Public, false, "liveness: the process answers", s.healthz, false},
		{"GET", "/readyz", Public, false, "readiness: the store and the audit log answer", s.readyz, false},
		{"GET", "/api/v1/setup", Public, false, "whether the first admin still has to be created", s.setupStatus, false},
		{"POST", "/api/v1/setup", Public, false, "create the first admin with the setup code", s.setupComplete, false},
		{"GET", "/api/v1/auth/password-policy", Public, false, "the password rule (auth.password_min_length), for forms to show before anyone types", s.passwordPolicy, false},
		{"POST", "/api/v1/auth/login", Public, false, "log in: password, then TOTP or recovery code when enrolled", s.login, false},
		{"POST", "/api/v1/auth/refresh", Public, false, "trade a refresh token for new tokens (rotation)", s.refresh, false},
		{"POST", "/api/v1/auth/logout", auth.PermReadOwn, false, "end the caller's session", s.logout, false},
		{"POST", "/api/v1/auth/reset-password", auth.PermManageOwn, false, "change the caller's password; ends every session", s.resetPassword, false},
		{"POST", "/api/v1/auth/2fa/setup", auth.PermManageOwn, false, "start TOTP enrollment (password again)", s.twoFASetup, false},
		{"POST", "/api/v1/auth/2fa/verify", auth.PermManageOwn, false, "finish enrollment with a first code; returns recovery codes once", s.twoFAVerify, false},
		{"POST", "/api/v1/auth/2fa/recovery-codes", auth.PermManageOwn, false, "replace the caller's recovery codes (password again)", s.twoFARecovery, false},
		{"POST", "/api/v1/auth/2fa/disable", auth.PermUsersManage, false, "turn a user's two-factor off", s.twoFADisable, false},
		{"GET", "/api/v1/users", auth.PermUsersManage, false, "list users, their roles and two-factor status, and who the owner is", s.listUsers, false},
		{"POST", "/api/v1/users", auth.PermUsersManage, false, "add a user", s.addUser, false},
		{"POST", "/api/v1/users/{name}/disable", auth.PermUsersManage, false, "disable a user and end their sessions (never the owner, never oneself)", s.disableUser, false},
		{"PUT", "/api/v1/users/{name}/role", auth.PermUsersManage, false, "change a user's role and end their sessions (never the owner below admin, never one's own)", s.setUserRole, false},
		{"GET", "/api/v1/me", auth.PermReadOwn, false, "the caller", s.me, false},
		{"GET", "/api/v1/sessions", auth.PermReadOwn, false, "the caller's sessions (?all=true: everyone's, sessions.manage)", s.listSessions, false},
		{"DELETE", "/api/v1/sessions/{id}", auth.PermManageOwn, false, "end a session (one's own, or any with sessions.manage)", s.revokeSession, false},
		{"GET", "/api/v1/tokens", auth.PermTokensManage, false, "list gateway tokens", s.listTokens, false},
		{"POST", "/api/v1/tokens", auth.PermTokensManage, false, "create a gateway token (shown once)", s.createToken, false},
		{"DELETE", "/api/v1/tokens/{id}", auth.PermTokensManage, false, "revoke a gateway token", s.revokeToken, false},
		{"GET", "/api/v1/audit", auth.PermAuditRead, false, "search the audit log", s.auditSearch, false},
		{"GET", "/api/v1/audit/verify", auth.PermAuditVerify, false, "verify the audit log's chain", s.auditVerify, false},
		{"GET", "/api/v1/commands", auth.PermAuditRead, false, "recent commands from the audit log: who, tier, sandboxed, exit, duration, escape attempts", s.listCommands, false},
		recordsFirst(route{"POST", "/api/v1/exec", auth.PermExec, false, "run a command through the policy and the sandbox (audited)", s.exec, false}),
		{"GET", "/ws", auth.PermReadOwn, true, "WebSocket (docs/protocol.md)", s.websocket, false},
		{"GET", "/{$}", Public, false, "the dashboard", s.dashboardIndex, false},
		{"GET", "/assets/{file}", Public, false, "dashboard assets", s.dashboardAsset, false},
	}
	if s.opts.MetricsEnabled {
		rs = append(rs, route{"GET", "/metrics", metricsPerm, false, "Prometheus metrics", s.metricsHandler, false})
	}
	return rs
}

// RouteInfo describes a route for documentation.
type RouteInfo struct {
	Method, Path string
	MinRole      auth.Role // "" for public routes
	Doc          string
}

// Routes lists the route table.
func (s *Server) Routes() []RouteInfo {
	out := make([]RouteInfo, 0, len(s.routes))
	for _, rt := range s.routes {
		ri := RouteInfo{Method: rt.Method, Path: rt.Path, Doc: rt.Doc}
		if rt.Perm != Public {
			ri.MinRole, _ = auth.MinRole(rt.Perm)
		}
		out = append(out, ri)
	}
	return out
}

func (s *Server) mux() (*http.ServeMux, error) {
	mux := http.NewServeMux()
	methods := map[string][]string{}
	for _, rt := range s.routes {
		if rt.Perm != Public {
			if _, ok := auth.MinRole(rt.Perm); !ok {
				return nil, fmt.Errorf("gateway: route %s %s needs unknown permission %q", rt.Method, rt.Path, rt.Perm)
			}
		}
		mux.Handle(rt.Method+" "+rt.Path, s.wrap(rt))
		methods[rt.Path] = append(methods[rt.Path], rt.Method)
	}
	// Other methods on a known path, and unknown paths, get the JSON error
	// envelope too.
	for path, ms := range methods {
		if path == "/{$}" {
			continue
		}
		sort.Strings(ms)
		allow := strings.Join(append(ms, "OPTIONS"), ", ")
		if containsStr(ms, "GET") {
			allow = strings.Join(append(ms, "HEAD", "OPTIONS"), ", ")
		}
		mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Allow", allow)
			if r.Method == http.MethodOptions {
				w.WriteHeader(http.StatusNoContent)
				return
			}
			writeError(w, &apiError{Status: http.StatusMethodNotAllowed, Code: CodeMethodNotAllowed, Message: r.Method + " is not allowed here"})
		})
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { writeError(w, errNotFound) })
	return mux, nil
}

func containsStr(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

// wrap authenticates and authorises a request as its route says.
func (s *Server) wrap(rt route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if rt.recordsFirst {
			ctx, d := auditlog.WithDeferred(r.Context())
			r = r.WithContext(ctx)
			g := &auditGate{ResponseWriter: w, flush: func() error { return d.Flush(ctx, s.opts.Auditor) }}
			w = g
			// Whatever the handler did not write with its own entry is
			// written before the answer, or the answer is the refusal.
			defer g.open()
		}
		var p auth.Principal
		if rt.Perm != Public && !rt.selfAuth {
			var err error
			if p, err = s.authenticate(r); err != nil {
				writeError(w, toAPIError(err))
				return
			}
			if !p.Can(rt.Perm) {
				s.denied(r, p, rt)
				writeError(w, errForbidden)
				return
			}
		}
		if strings.HasPrefix(rt.Path, "/api/") {
			w.Header().Set("Cache-Control", "no-store")
		}
		if err := rt.h(w, r, p); err != nil {
			ae := toAPIError(err)
			if ae.Status >= 500 {
				s.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "error", err)
			}
			writeError(w, ae)
		}
	})
}

// denied records an authorisation refusal. The refusal stands whether or
// not the record can be written.
func (s *Server) denied(r *http.Request, p auth.Principal, rt route) {
	s.metrics.forbidden.Inc()
	if _, err := s.opts.Auditor.Append(r.Context(), auditlog.Event{Actor: p.Actor(), Action: "authz.denied", Target: rt.Method + " " + rt.Path,
		Outcome: auditlog.OutcomeDenied, SourceIP: clientIP(r), Details: map[string]any{"role": string(p.Role), "needs": string(rt.Perm)}}); err != nil {
		s.log.Error("audit append failed", "action", "authz.denied", "error", err)
	}
}

// auditGate holds a response until the audit entries the request
// deferred are durable; when they cannot be written the client gets
// AUDIT_UNAVAILABLE instead of the handler's answer.
type auditGate struct {
	http.ResponseWriter
	flush  func() error
	opened bool
	failed bool
}

// open writes the deferred entries once; false means they failed and
// the refusal was sent.
func (g *auditGate) open() bool {
	if !g.opened {
		g.opened = true
		if err := g.flush(); err != nil {
			g.failed = true
			writeError(g.ResponseWriter, toAPIError(err))
		}
	}
	return !g.failed
}

func (g *auditGate) WriteHeader(code int) {
	if g.open() {
		g.ResponseWriter.WriteHeader(code)
	}
}

func (g *auditGate) Write(b []byte) (int, error) {
	if !g.open() {
		return 0, errAuditGateClosed
	}
	return g.ResponseWriter.Write(b)
}

func (g *auditGate) Flush() {
	if g.open() {
		http.NewResponseController(g.ResponseWriter).Flush()
	}
}

// Unwrap lets http.ResponseController reach the connection.
func (g *auditGate) Unwrap() http.ResponseWriter { return g.ResponseWriter }

var errAuditGateClosed = errors.New("response refused: the audit log cannot be written")
