package gateway

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/warden-sec/warden/core/auditlog"
	"github.com/warden-sec/warden/core/auth"
	"github.com/warden-sec/warden/core/config"
	"github.com/warden-sec/warden/core/events"
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

// auditSearch searches the log. Reading the audit log is itself audited
// (see recordAuditRead), and refused when that record cannot be written.
//
// The action filter takes what warden log search --action takes, resolved
// against the catalogue of actions (core/events): an action, a group
// (secrets, secret.*, users), or a family (token.auth*). A name that
// selects no known action is a 400 that lists the known ones, not an
// empty page.
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
	if query.Action, err = events.ResolveFilter(query.Action); err != nil {
		return unknownActionError(err)
	}
	filters := map[string]any{}
	for k, v := range map[string]string{"q": query.Text, "actor": query.Actor, "action": q.Get("action"), "since": q.Get("since"), "until": q.Get("until")} {
		if v != "" {
			filters[k] = v
		}
	}
	if err := s.recordAuditRead(r.Context(), p, clientIP(r), filters); err != nil {
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

// unknownActionError answers an action filter that names nothing known,
// with what is known.
func unknownActionError(err error) error {
	var ue *events.UnknownActionError
	if !errors.As(err, &ue) {
		return err
	}
	groups, actions := ue.Known()
	return errInput("%v; known groups (each also as GROUP.*): %s; known actions: %s",
		ue, strings.Join(groups, ", "), strings.Join(actions, ", "))
}

// auditReadWindow is how long one audit.read entry stands for a reader's
// searches of the audit log.
const auditReadWindow = 5 * time.Minute

// maxReadFilters bounds the distinct filter sets an audit.read entry lists
// for the window before it.
const maxReadFilters = 10

// recordAuditRead records that p reads the audit log, once per reader
// (session, else token) per auditReadWindow: the first read of a window
// appends an audit.read entry before anything is read (no record, no
// read), with that read's filters and a summary of the reader's previous
// window (how many searches, when, with which filters). The other reads of
// a window are counted for that summary and write nothing, so a dashboard
// page that searches on every view or filter change leaves one entry per
// five minutes instead of one per view. A failed append leaves the window
// closed: the next read tries again.
//
// A view built from searches of the audit log records its reads here too,
// with filters that say what it read (for example {"view": "commands"}).
func (s *Server) recordAuditRead(ctx context.Context, p auth.Principal, ip string, filters map[string]any) error {
	reads := auditReadsOf(s)
	now := s.opts.Now()
	key := readerKey(p)
	win := reads.window(key, now)
	win.mu.Lock()
	defer win.mu.Unlock()
	fk := filterKey(filters)
	if win.open && !now.Before(win.start) && now.Sub(win.start) < auditReadWindow {
		win.add(fk, filters)
		return nil
	}
	details := map[string]any{"window_s": int64(auditReadWindow / time.Second), "filters": filters}
	switch {
	case p.SessionID != "":
		details["session"] = p.SessionID
	case p.TokenID != "":
		details["token_id"] = p.TokenID
	}
	if win.open {
		prev := map[string]any{"searches": win.searches, "from": win.start.UTC().Format(time.RFC3339), "filters": win.filters}
		if win.dropped > 0 {
			prev["more_filters"] = win.dropped
		}
		details["previous"] = prev
	}
	if _, err := s.opts.Auditor.Append(ctx, auditlog.Event{Actor: p.Actor(), Action: "audit.read", Target: "audit_log",
		Outcome: auditlog.OutcomeAllowed, SourceIP: ip, Details: details}); err != nil {
		return err
	}
	win.open, win.start, win.searches, win.filters, win.seen, win.dropped = true, now, 0, nil, map[string]bool{}, 0
	win.add(fk, filters)
	return nil
}

// readWindow is one reader's current window.
type readWindow struct {
	mu       sync.Mutex
	open     bool
	start    time.Time
	searches int
	filters  []any // distinct filter sets (map[string]any), at most maxReadFilters
	seen     map[string]bool
	dropped  int // distinct filter sets beyond maxReadFilters
}

func (w *readWindow) add(key string, filters map[string]any) {
	w.searches++
	if w.seen[key] {
		return
	}
	w.seen[key] = true
	if len(w.filters) < maxReadFilters {
		w.filters = append(w.filters, filters)
	} else {
		w.dropped++
	}
}

// auditReads holds a server's read windows.
type auditReads struct {
	mu    sync.Mutex
	m     map[string]*readWindow
	swept time.Time
}

// auditReadsByServer holds each Server's read windows (kept beside the
// Server, not in it, while the Server's fields are being reworked).
var auditReadsByServer sync.Map // *Server → *auditReads

func auditReadsOf(s *Server) *auditReads {
	if v, ok := auditReadsByServer.Load(s); ok {
		return v.(*auditReads)
	}
	v, _ := auditReadsByServer.LoadOrStore(s, &auditReads{m: map[string]*readWindow{}})
	return v.(*auditReads)
}

// window returns the reader's window, and now and then forgets readers
// idle for a day (their last window's count goes with them).
func (a *auditReads) window(key string, now time.Time) *readWindow {
	a.mu.Lock()
	defer a.mu.Unlock()
	if now.Sub(a.swept) > time.Hour {
		a.swept = now
		for k, w := range a.m {
			if w.mu.TryLock() {
				stale := now.Sub(w.start) > 24*time.Hour
				w.mu.Unlock()
				if stale {
					delete(a.m, k)
				}
			}
		}
	}
	w := a.m[key]
	if w == nil {
		w = &readWindow{seen: map[string]bool{}}
		a.m[key] = w
	}
	return w
}

// readerKey names whose window a read falls in: the session's, else the
// token's, else the principal's.
func readerKey(p auth.Principal) string {
	switch {
	case p.SessionID != "":
		return "session:" + p.SessionID
	case p.TokenID != "":
		return "token:" + p.TokenID
	}
	return p.Actor()
}

// filterKey is a filter set's identity for counting distinct ones.
func filterKey(filters map[string]any) string {
	keys := make([]string, 0, len(filters))
	for k := range filters {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%s=%q;", k, filters[k])
	}
	return b.String()
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
