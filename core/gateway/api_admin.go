package gateway

import (
	"context"
	"net/http"
	"runtime"
	"strconv"
	"time"

	"github.com/warden-sec/warden/core/auditlog"
	"github.com/warden-sec/warden/core/auth"
	"github.com/warden-sec/warden/core/config"
	"github.com/warden-sec/warden/core/store"
)

// schemaVersion versions the JSON the list endpoints return.
const schemaVersion = 1

type sessionsResponse struct {
	SchemaVersion int            `json:"schemaVersion"`
	Sessions      []auth.Session `json:"sessions"`
}

func (s *Server) listSessions(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	q := r.URL.Query()
	f := auth.SessionFilter{User: p.Name, IncludeEnded: q.Get("ended") == "true"}
	if all, user := q.Get("all") == "true", q.Get("user"); all || (user != "" && user != p.Name) {
		if !p.Can(auth.PermSessionsManage) {
			s.denied(r, p, route{Method: r.Method, Path: r.URL.Path + "?all", Perm: auth.PermSessionsManage})
			return errForbidden
		}
		f.User = user
	} else if p.Kind != "user" {
		return needUser(p)
	}
	list, err := s.opts.Auth.ListSessions(r.Context(), f)
	if err != nil {
		return err
	}
	if list == nil {
		list = []auth.Session{}
	}
	writeJSON(w, http.StatusOK, sessionsResponse{SchemaVersion: schemaVersion, Sessions: list})
	return nil
}

func (s *Server) revokeSession(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	id := r.PathValue("id")
	if err := s.opts.Auth.RevokeSession(r.Context(), p, id, clientIP(r)); err != nil {
		return err
	}
	s.hub.closeSession(id, "session revoked")
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type tokensResponse struct {
	SchemaVersion int                 `json:"schemaVersion"`
	Tokens        []auth.GatewayToken `json:"tokens"`
}

func (s *Server) listTokens(w http.ResponseWriter, r *http.Request, _ auth.Principal) error {
	list, err := s.opts.Auth.ListTokens(r.Context())
	if err != nil {
		return err
	}
	if list == nil {
		list = []auth.GatewayToken{}
	}
	writeJSON(w, http.StatusOK, tokensResponse{SchemaVersion: schemaVersion, Tokens: list})
	return nil
}

type createTokenRequest struct {
	Name    string `json:"name"`
	Role    string `json:"role"`
	Expires string `json:"expires"` // 30d, 12h; "" never
}

type createTokenResponse struct {
	Token string             `json:"token"`
	Info  *auth.GatewayToken `json:"info"`
}

func (s *Server) createToken(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	var req createTokenRequest
	if err := s.decode(w, r, &req); err != nil {
		return err
	}
	role, err := auth.ParseRole(req.Role)
	if err != nil {
		return errInput("role: %v", err)
	}
	var ttl time.Duration
	if req.Expires != "" {
		if ttl, err = config.ParseDuration(req.Expires); err != nil || ttl <= 0 {
			return errInput("expires %q: a duration such as 30d or 12h", req.Expires)
		}
	}
	tok, info, err := s.opts.Auth.CreateToken(r.Context(), p, req.Name, role, ttl)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, createTokenResponse{Token: tok, Info: info})
	return nil
}

func (s *Server) revokeToken(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	id := r.PathValue("id")
	if err := s.opts.Auth.RevokeToken(r.Context(), p, id); err != nil {
		return err
	}
	s.hub.closeToken(id, "token revoked")
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type auditResponse struct {
	SchemaVersion int              `json:"schemaVersion"`
	Entries       []auditlog.Entry `json:"entries"`
}

// auditSearch searches the log. Reading the audit log is itself audited,
// and refused when that record cannot be written.
func (s *Server) auditSearch(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	q := r.URL.Query()
	since, err := queryTime(r, "since")
	if err != nil {
		return err
	}
	until, err := queryTime(r, "until")
	if err != nil {
		return err
	}
	limit := 50
	if v := q.Get("limit"); v != "" {
		if limit, err = strconv.Atoi(v); err != nil || limit < 1 || limit > 1000 {
			return errInput("limit %q: a number from 1 to 1000", v)
		}
	}
	query := auditlog.Query{Text: q.Get("q"), Since: since, Until: until, Actor: q.Get("actor"), Action: q.Get("action"), Limit: limit}
	// A malformed query is the caller's mistake (400 with the reason), and
	// nothing was searched, so nothing is recorded as searched.
	if err := query.Validate(); err != nil {
		return err
	}
	if _, err := s.opts.Auditor.Append(r.Context(), auditlog.Event{Actor: p.Actor(), Action: "audit.search", Outcome: auditlog.OutcomeAllowed,
		SourceIP: clientIP(r), Details: map[string]any{"query": query.Text, "actor": query.Actor, "action": query.Action}}); err != nil {
		return err
	}
	entries, err := s.opts.Audit.Search(r.Context(), query)
	if err != nil {
		return err
	}
	if entries == nil {
		entries = []auditlog.Entry{}
	}
	writeJSON(w, http.StatusOK, auditResponse{SchemaVersion: schemaVersion, Entries: entries})
	return nil
}

type verifyResponse struct {
	SchemaVersion int `json:"schemaVersion"`
	auditlog.Report
	DurationMS int64 `json:"durationMs"`
}

func (s *Server) auditVerify(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	if _, err := s.opts.Auditor.Append(r.Context(), auditlog.Event{Actor: p.Actor(), Action: "audit.verify", Outcome: auditlog.OutcomeAllowed,
		SourceIP: clientIP(r)}); err != nil {
		return err
	}
	rep, err := s.opts.Audit.Verify(r.Context(), runtime.NumCPU())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, verifyResponse{SchemaVersion: schemaVersion, Report: rep, DurationMS: rep.Duration.Milliseconds()})
	return nil
}

type healthResponse struct {
	Status string            `json:"status"`
	Checks map[string]string `json:"checks,omitempty"`
}

func (s *Server) healthz(w http.ResponseWriter, _ *http.Request, _ auth.Principal) error {
	writeJSON(w, http.StatusOK, healthResponse{Status: "ok"})
	return nil
}

// readyz reports ready when the store answers a query and the audit log
// its head, and the server is not shutting down.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request, _ auth.Principal) error {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	checks := map[string]string{"store": "ok", "audit_log": "ok", "serving": "ok"}
	ok := true
	if err := s.opts.DB.Read(ctx, func(ctx context.Context, q store.Queryer) error {
		var one int
		return q.QueryRowContext(ctx, `SELECT 1`).Scan(&one)
	}); err != nil {
		checks["store"], ok = "unavailable", false
		s.log.Warn("readiness: store", "error", err)
	}
	if _, err := s.opts.Audit.Head(ctx); err != nil {
		checks["audit_log"], ok = "unavailable", false
		s.log.Warn("readiness: audit log", "error", err)
	}
	if !s.ready.Load() {
		checks["serving"], ok = "shutting down", false
	}
	status, code := "ok", http.StatusOK
	if !ok {
		status, code = "unavailable", http.StatusServiceUnavailable
	}
	writeJSON(w, code, healthResponse{Status: status, Checks: checks})
	return nil
}

func (s *Server) metricsHandler(w http.ResponseWriter, r *http.Request, _ auth.Principal) error {
	s.metrics.handler().ServeHTTP(w, r)
	return nil
}
