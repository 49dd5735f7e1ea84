package gateway

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"testing"
)

// syncBuffer is a log destination the server's goroutines share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type accessEntry struct {
	Msg       string `json:"msg"`
	RequestID string `json:"request_id"`
	Method    string `json:"method"`
	Route     string `json:"route"`
	Status    int    `json:"status"`
	Duration  *int64 `json:"duration"`
	Client    string `json:"client"`
	Principal string `json:"principal"`
}

// accessEntries reads the access log records from a JSON log.
func accessEntries(t *testing.T, log string) map[string]accessEntry {
	t.Helper()
	out := map[string]accessEntry{}
	for _, line := range strings.Split(strings.TrimSpace(log), "\n") {
		var e accessEntry
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("not JSON: %q", line)
		}
		if e.Msg == "request" {
			out[e.RequestID] = e
		}
	}
	return out
}

// Each request is logged once, under the id its response carries in
// X-Request-Id, with the route pattern, the status, the duration, the
// client and the principal (an actor name; never a credential, and none
// when the credential was refused). An id a client sends is ignored.
func TestAccessLog(t *testing.T) {
	var logs syncBuffer
	e := newTestEnv(t, envOptions{gateway: func(o *Options) {
		o.Logger = slog.New(slog.NewJSONHandler(&logs, nil))
	}})
	e.addUser("alice", "admin")
	lr := e.login("alice", nil)

	me := e.call("GET", "/api/v1/me", lr.AccessToken, nil, "X-Request-Id", "chosen-by-client")
	bad := e.call("GET", "/api/v1/me", "wgt_0123456789abcdef_not-a-valid-token-at-all-xxxxxxxxxxxxxxxxx", nil)
	gone := e.call("DELETE", "/api/v1/sessions/no-such-session", lr.AccessToken, nil)
	// A browser session's cookie without its binding: the token itself is
	// valid, the request is refused all the same.
	cl := e.call("POST", "/api/v1/auth/login", "", map[string]any{"username": "alice", "password": testPassword, "useCookies": true})
	var cookie string
	for _, c := range (&http.Response{Header: cl.header}).Cookies() {
		if c.Name == "warden-access" {
			cookie = c.Name + "=" + c.Value
		}
	}
	unbound := e.call("GET", "/api/v1/me", "", nil, "Cookie", cookie)
	if err := e.stop(); err != nil {
		t.Fatal(err)
	}
	entries := accessEntries(t, logs.String())
	check := func(r response, status int, method, route, principal string) {
		t.Helper()
		id := r.header.Get(RequestIDHeader)
		if len(id) != 32 {
			t.Fatalf("%s %s: X-Request-Id %q", method, route, id)
		}
		got, ok := entries[id]
		if !ok {
			t.Fatalf("no access log record for request %s (%s)", id, route)
		}
		want := accessEntry{Msg: "request", RequestID: id, Method: method, Route: route, Status: status, Client: "127.0.0.1", Principal: principal, Duration: got.Duration}
		if got != want || got.Duration == nil || *got.Duration <= 0 {
			t.Errorf("record %+v, want %+v with a duration", got, want)
		}
	}
	check(me, 200, "GET", "GET /api/v1/me", "user:alice")
	check(bad, 401, "GET", "GET /api/v1/me", "")
	check(gone, 404, "DELETE", "DELETE /api/v1/sessions/{id}", "user:alice")
	check(unbound, 401, "GET", "GET /api/v1/me", "")
	for _, secret := range []string{lr.AccessToken, lr.RefreshToken, testPassword, "not-a-valid-token", "chosen-by-client", "no-such-session", strings.TrimPrefix(cookie, "warden-access=")} {
		if strings.Contains(logs.String(), secret) {
			t.Errorf("the log holds %q", secret)
		}
	}
}

// Behind a trusted proxy the proxy's request id is kept (when it is a
// plain, short one), so one id follows the request across both logs.
func TestAccessLogTrustedProxyID(t *testing.T) {
	var logs syncBuffer
	e := newTestEnv(t, envOptions{gateway: func(o *Options) {
		o.Logger = slog.New(slog.NewJSONHandler(&logs, nil))
		o.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	}})
	kept := e.call("GET", "/healthz", "", nil, "X-Request-Id", "lb-7f3a:0001")
	if got := kept.header.Get(RequestIDHeader); got != "lb-7f3a:0001" {
		t.Errorf("X-Request-Id %q, want the proxy's", got)
	}
	for _, bad := range []string{"has spaces in it", "quote\"d", strings.Repeat("a", 129)} {
		r := e.call("GET", "/healthz", "", nil, "X-Request-Id", bad)
		if got := r.header.Get(RequestIDHeader); got == bad || len(got) != 32 {
			t.Errorf("incoming id %q: answered %q, want a new one", bad, got)
		}
	}
	if err := e.stop(); err != nil {
		t.Fatal(err)
	}
	if _, ok := accessEntries(t, logs.String())["lb-7f3a:0001"]; !ok {
		t.Errorf("no record under the proxy's id:\n%s", logs.String())
	}
}
