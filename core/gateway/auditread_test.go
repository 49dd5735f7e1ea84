package gateway

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/warden-sec/warden/core/auditlog"
	"github.com/warden-sec/warden/core/auth"
	"github.com/warden-sec/warden/core/store"
)

// testClock is a clock tests move by hand.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func newTestClock() *testClock { return &testClock{t: time.Now()} }

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// entriesOf returns the entries with action, oldest first.
func (e *testEnv) entriesOf(action string) []auditlog.Entry {
	e.t.Helper()
	var out []auditlog.Entry
	if err := e.log.Each(context.Background(), 0, time.Time{}, func(en auditlog.Entry) error {
		if en.Action == action {
			out = append(out, en)
		}
		return nil
	}); err != nil {
		e.t.Fatal(err)
	}
	return out
}

func detailsOf(t *testing.T, en auditlog.Entry) map[string]any {
	t.Helper()
	var d map[string]any
	if err := json.Unmarshal(en.Details, &d); err != nil {
		t.Fatal(err)
	}
	return d
}

// Searching the audit log from the dashboard records one audit.read per
// session per window, written before the first search of the window; the
// next window's entry counts the searches of the one before.
func TestAuditReadsRecordedOncePerWindow(t *testing.T) {
	clock := newTestClock()
	e := newTestEnv(t, envOptions{gateway: func(o *Options) { o.Now = clock.Now }})
	e.addUser("op", auth.RoleOperator)
	tok := e.login("op", nil)
	search := func(token, query string) {
		t.Helper()
		if r := e.call("GET", "/api/v1/audit?"+query, token, nil); r.status != 200 {
			t.Fatalf("search %s: %d %s", query, r.status, r.body)
		}
	}

	search(tok.AccessToken, "")
	reads := e.entriesOf("audit.read")
	if len(reads) != 1 {
		t.Fatalf("first search: %d audit.read entries", len(reads))
	}
	first := reads[0]
	if first.Actor != "user:op" || first.Outcome != auditlog.OutcomeAllowed || first.Target != "audit_log" {
		t.Fatalf("first read recorded as %+v", first)
	}
	if d := detailsOf(t, first); d["session"] != tok.Session.ID || d["window_s"] != float64(300) || d["previous"] != nil {
		t.Fatalf("first read details %s", first.Details)
	}
	// The first search of a window is recorded before it reads: it finds
	// its own entry.
	var ar auditResponse
	if r := e.call("GET", "/api/v1/audit?action=audit.read&limit=1", tok.AccessToken, nil); r.json(&ar) != nil || len(ar.Entries) != 1 || ar.Entries[0].Seq != first.Seq {
		t.Fatalf("the window's entry is not visible to its own searches: %s", r.body)
	}

	// More searches within the window (views, filter changes) add nothing.
	clock.Add(2 * time.Minute)
	search(tok.AccessToken, "action=login")
	search(tok.AccessToken, "action=login")
	clock.Add(2*time.Minute + 59*time.Second)
	search(tok.AccessToken, "q=op&actor=user%3Aop")
	if n := len(e.entriesOf("audit.read")); n != 1 {
		t.Fatalf("searches within the window: %d audit.read entries", n)
	}

	// After the window, the next search opens a new one, and its entry
	// tells what the last one held.
	clock.Add(2 * time.Second)
	search(tok.AccessToken, "action=secrets")
	reads = e.entriesOf("audit.read")
	if len(reads) != 2 {
		t.Fatalf("after the window: %d audit.read entries", len(reads))
	}
	d := detailsOf(t, reads[1])
	if f, _ := d["filters"].(map[string]any); f["action"] != "secrets" {
		t.Fatalf("second window's filters: %s", reads[1].Details)
	}
	prev, _ := d["previous"].(map[string]any)
	filters, _ := prev["filters"].([]any)
	if prev["searches"] != float64(5) || len(filters) != 4 {
		t.Fatalf("previous window: %s", reads[1].Details)
	}

	// Another session has its own window.
	other := e.login("op", map[string]any{"deviceId": "other"})
	search(other.AccessToken, "")
	if n := len(e.entriesOf("audit.read")); n != 3 {
		t.Fatalf("another session's first search: %d audit.read entries", n)
	}
	// Searches are no longer written one by one.
	if n := len(e.entriesOf("audit.search")); n != 0 {
		t.Fatalf("%d audit.search entries", n)
	}
}

// A search whose audit.read cannot be written is refused, and nothing is
// read; the window stays closed, so the next search tries again.
func TestAuditReadRefusedWhenLogUnwritable(t *testing.T) {
	ctx := context.Background()
	// A second, real audit log over its own store, closed: every append
	// to it fails. The gateway records there; it searches the first.
	db, err := store.Open(ctx, store.Options{Path: filepath.Join(t.TempDir(), "other.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	closed, err := auditlog.Open(ctx, db, make([]byte, 32), auditlog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	closed.Close()
	e := newTestEnv(t, envOptions{gateway: func(o *Options) { o.Auditor = closed }})
	e.addUser("op", auth.RoleOperator)
	tok := e.login("op", nil)
	for range 2 {
		r := e.call("GET", "/api/v1/audit", tok.AccessToken, nil)
		if r.status != http.StatusServiceUnavailable || r.code() != CodeAuditUnavailable || strings.Contains(string(r.body), `"entries"`) {
			t.Fatalf("search with the audit log unwritable: %d %s", r.status, r.body)
		}
	}
}

// The action filter takes the catalogue's names, groups and command-group
// spellings; a name that selects nothing known is a 400 that lists the
// known ones, and nothing is recorded as read.
func TestAuditActionFilter(t *testing.T) {
	e := newTestEnv(t, envOptions{})
	e.addUser("op", auth.RoleOperator)
	tok := e.login("op", nil)
	ctx := context.Background()
	for _, ev := range []auditlog.Event{
		{Actor: "cli:root", Action: "secret.set", Target: "telegram_bot_token", Outcome: auditlog.OutcomeAllowed},
		{Actor: "cli:root", Action: "secret.read", Target: "telegram_bot_token", Outcome: auditlog.OutcomeAllowed},
		{Actor: "cli:root", Action: "secrets.rekey", Target: "secrets.enc.yaml", Outcome: auditlog.OutcomeAllowed},
	} {
		if _, err := e.log.Append(ctx, ev); err != nil {
			t.Fatal(err)
		}
	}
	actions := func(filter string) []string {
		t.Helper()
		var ar auditResponse
		r := e.call("GET", "/api/v1/audit?action="+url.QueryEscape(filter), tok.AccessToken, nil)
		if r.status != 200 || r.json(&ar) != nil {
			t.Fatalf("action=%s: %d %s", filter, r.status, r.body)
		}
		var out []string
		for _, en := range ar.Entries {
			out = append(out, en.Action)
		}
		return out
	}
	for filter, want := range map[string]string{
		"secrets":       "secrets.rekey secret.read secret.set",
		"secret.*":      "secrets.rekey secret.read secret.set",
		"secrets.read":  "secret.read",
		"secret.rekey":  "secrets.rekey",
		"login":         "login",
		"user.create":   "user.create",
		"users":         "user.create",
		"Secret.Delete": "",
	} {
		if got := strings.Join(actions(filter), " "); got != want {
			t.Errorf("action=%s: %q, want %q", filter, got, want)
		}
	}

	before := len(e.entriesOf("audit.read"))
	r := e.call("GET", "/api/v1/audit?action=secrets.reed", tok.AccessToken, nil)
	var body errorBody
	if r.status != 400 || r.json(&body) != nil || body.Error.Code != CodeInvalidInput {
		t.Fatalf("unknown action: %d %s", r.status, r.body)
	}
	msg := body.Error.Message
	for _, want := range []string{`unknown action "secrets.reed"`, "did you mean secret.read?", "known groups", "secrets", "known actions", "login.second_factor", "ws.connect"} {
		if !strings.Contains(msg, want) {
			t.Errorf("unknown action message lacks %q: %s", want, msg)
		}
	}
	if after := len(e.entriesOf("audit.read")); after != before {
		t.Fatalf("a refused search was recorded as a read")
	}
}

// A remembered dashboard login survives the idle timeout through the
// real gateway: after two idle hours its refresh token still works and
// the new access token is accepted; an ordinary login's does not. After
// the remember-me idle timeout it ends too.
func TestRememberMeOverHTTP(t *testing.T) {
	clock := newTestClock()
	e := newTestEnv(t, envOptions{auth: func(o *auth.Options) {
		o.Now = clock.Now
		o.IdleTimeout = 30 * time.Minute
		o.RememberIdleTimeout = 7 * 24 * time.Hour
	}})
	e.addUser("alice", auth.RoleViewer)
	remembered := e.login("alice", map[string]any{"rememberMe": true})
	plain := e.login("alice", map[string]any{"deviceId": "phone"})
	if !remembered.Session.Remember || plain.Session.Remember {
		t.Fatalf("remember me: %+v / %+v", remembered.Session, plain.Session)
	}
	refresh := func(token string) (loginResponse, int) {
		t.Helper()
		r := e.call("POST", "/api/v1/auth/refresh", "", map[string]string{"refreshToken": token})
		var out loginResponse
		if r.status == 200 {
			if err := r.json(&out); err != nil {
				t.Fatal(err)
			}
		}
		return out, r.status
	}

	clock.Add(2 * time.Hour)
	if _, status := refresh(plain.RefreshToken); status != http.StatusUnauthorized {
		t.Fatalf("ordinary session refreshed after 2 idle hours: %d", status)
	}
	next, status := refresh(remembered.RefreshToken)
	if status != 200 {
		t.Fatalf("remembered session refused after 2 idle hours: %d", status)
	}
	if r := e.call("GET", "/api/v1/me", next.AccessToken, nil); r.status != 200 {
		t.Fatalf("remembered session's new access token: %d %s", r.status, r.body)
	}

	clock.Add(7*24*time.Hour + time.Minute)
	if _, status := refresh(next.RefreshToken); status != http.StatusUnauthorized {
		t.Fatalf("remembered session refreshed after 7 idle days: %d", status)
	}
	var reasons []string
	for _, en := range e.entriesOf("session.revoke") {
		if strings.Contains(string(en.Details), "idle timeout") {
			reasons = append(reasons, en.Target)
		}
	}
	if len(reasons) != 2 || reasons[0] != plain.Session.ID || reasons[1] != remembered.Session.ID {
		t.Fatalf("idle revocations: %v", reasons)
	}
}
