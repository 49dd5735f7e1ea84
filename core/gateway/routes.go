package gateway

import (
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
		{"GET", "/healthz", Public, false, "liveness: the process answers", s.healthz},
		{"GET", "/readyz", Public, false, "readiness: the store and the audit log answer", s.readyz},
		{"GET", "/api/v1/setup", Public, false, "whether the first admin still has to be created", s.setupStatus},
		{"POST", "/api/v1/setup", Public, false, "create the first admin with the setup code", s.setupComplete},
		{"POST", "/api/v1/auth/login", Public, false, "log in: password, then TOTP or recovery code when enrolled", s.login},
		{"POST", "/api/v1/auth/refresh", Public, false, "trade a refresh token for new tokens (rotation)", s.refresh},
		{"POST", "/api/v1/auth/logout", auth.PermReadOwn, false, "end the caller's session", s.logout},
		{"POST", "/api/v1/auth/reset-password", auth.PermManageOwn, false, "change the caller's password; ends every session", s.resetPassword},
		{"POST", "/api/v1/auth/2fa/setup", auth.PermManageOwn, false, "start TOTP enrollment (password again)", s.twoFASetup},
		{"POST", "/api/v1/auth/2fa/verify", auth.PermManageOwn, false, "finish enrollment with a first code; returns recovery codes once", s.twoFAVerify},
		{"POST", "/api/v1/auth/2fa/recovery-codes", auth.PermManageOwn, false, "replace the caller's recovery codes (password again)", s.twoFARecovery},
		{"POST", "/api/v1/auth/2fa/disable", auth.PermUsersManage, false, "turn a user's two-factor off", s.twoFADisable},
		{"GET", "/api/v1/me", auth.PermReadOwn, false, "the caller", s.me},
		{"GET", "/api/v1/sessions", auth.PermReadOwn, false, "the caller's sessions (?all=true: everyone's, sessions.manage)", s.listSessions},
		{"DELETE", "/api/v1/sessions/{id}", auth.PermManageOwn, false, "end a session (one's own, or any with sessions.manage)", s.revokeSession},
		{"GET", "/api/v1/tokens", auth.PermTokensManage, false, "list gateway tokens", s.listTokens},
		{"POST", "/api/v1/tokens", auth.PermTokensManage, false, "create a gateway token (shown once)", s.createToken},
		{"DELETE", "/api/v1/tokens/{id}", auth.PermTokensManage, false, "revoke a gateway token", s.revokeToken},
		{"GET", "/api/v1/audit", auth.PermAuditRead, false, "search the audit log", s.auditSearch},
		{"GET", "/api/v1/audit/verify", auth.PermAuditVerify, false, "verify the audit log's chain", s.auditVerify},
		{"POST", "/api/v1/exec", auth.PermExec, false, "run a command through the policy and the sandbox (audited)", s.exec},
		{"GET", "/ws", auth.PermReadOwn, true, "WebSocket (docs/protocol.md)", s.websocket},
		{"GET", "/{$}", Public, false, "the dashboard", s.dashboardIndex},
		{"GET", "/assets/{file}", Public, false, "dashboard assets", s.dashboardAsset},
	}
	if s.opts.MetricsEnabled {
		rs = append(rs, route{"GET", "/metrics", metricsPerm, false, "Prometheus metrics", s.metricsHandler})
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
