package gateway

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/warden-sec/warden/core/auditlog"
	"github.com/warden-sec/warden/core/auth"
	"github.com/warden-sec/warden/core/auth/totp"
)

// Someone on the gateway's own address (every loopback client shares
// 127.0.0.1) guessing one account's password blocks that account from
// that address and nothing else: agent tokens over HTTP and WebSocket, and
// other accounts' logins, keep working.
func TestRateLimitSparesOtherClients(t *testing.T) {
	e := execEnv(t, nil)
	e.addUser("alice", auth.RoleAdmin)
	agent := e.token("agent", auth.RoleAgent)
	bad := map[string]any{"username": "mallory", "password": "wrong password that is long enough!!"}
	for i := range 6 {
		if r := e.call("POST", "/api/v1/auth/login", "", bad); r.status != 401 && r.status != 429 {
			t.Fatalf("bad login %d: %d %s", i+1, r.status, r.body)
		}
	}
	if r := e.call("GET", "/api/v1/me", agent, nil); r.status != 200 {
		t.Fatalf("agent token after the failures: %d %s", r.status, r.body)
	}
	if r := e.call("POST", "/api/v1/exec", agent, map[string]any{"argv": []string{"true"}}); r.status != 200 {
		t.Fatalf("exec after the failures: %d %s", r.status, r.body)
	}
	alice := e.login("alice", nil)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// WebSocket: the token on the upgrade, and in the first frame.
	c, res, err := e.dial(ctx, "/ws", bearer(agent))
	if err != nil {
		t.Fatalf("WebSocket with the agent token: %v %v", err, res)
	}
	if hello := readFrame(t, ctx, c); hello["type"] != "hello" {
		t.Fatalf("hello: %v", hello)
	}
	c.CloseNow()
	c, _, err = e.dial(ctx, "/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	send(t, ctx, c, map[string]any{"type": "auth", "token": alice.AccessToken})
	if hello := readFrame(t, ctx, c); hello["type"] != "hello" {
		t.Fatalf("hello after an auth frame: %v", hello)
	}
	c.CloseNow()
	// The attacked account is still refused here, with a Retry-After.
	r := e.call("POST", "/api/v1/auth/login", "", bad)
	if r.status != 429 || r.code() != CodeRateLimited {
		t.Fatalf("7th bad login: %d %s", r.status, r.body)
	}
	if ra, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || ra < 1 || ra > 300 {
		t.Fatalf("Retry-After %q", r.header.Get("Retry-After"))
	}
}

// Bad tokens on the WebSocket are limited by their own counter: after the
// budget, a bad token gets 429 on the upgrade and 4429 in the auth frame,
// while a good token still connects both ways.
func TestRateLimitWebSocketBadTokens(t *testing.T) {
	e := newTestEnv(t, envOptions{})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	good := e.token("agent", auth.RoleAgent)
	garbage := "not-a-token-" + strings.Repeat("x", 40)
	for i := range 5 {
		if i%2 == 0 {
			if _, res, err := e.dial(ctx, "/ws", bearer(garbage)); err == nil || res == nil || res.StatusCode != 401 {
				t.Fatalf("bad header token %d: %v %v", i+1, err, res)
			}
			continue
		}
		c, _, err := e.dial(ctx, "/ws", nil)
		if err != nil {
			t.Fatal(err)
		}
		send(t, ctx, c, map[string]any{"type": "auth", "token": garbage})
		if code := closeCode(ctx, c); code != CloseUnauthenticated {
			t.Fatalf("bad frame token %d: close %d", i+1, code)
		}
	}
	_, res, err := e.dial(ctx, "/ws", bearer(garbage))
	if err == nil || res == nil || res.StatusCode != http.StatusTooManyRequests || res.Header.Get("Retry-After") == "" {
		t.Fatalf("bad token on the upgrade after the budget: %v %v", err, res)
	}
	c, _, err := e.dial(ctx, "/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	send(t, ctx, c, map[string]any{"type": "auth", "token": garbage})
	if code := closeCode(ctx, c); code != CloseRateLimited {
		t.Fatalf("bad frame token after the budget: close %d, want %d", code, CloseRateLimited)
	}
	c, _, err = e.dial(ctx, "/ws", bearer(good))
	if err != nil {
		t.Fatalf("good token on the upgrade: %v", err)
	}
	if hello := readFrame(t, ctx, c); hello["type"] != "hello" {
		t.Fatalf("hello: %v", hello)
	}
	c.CloseNow()
	c, _, err = e.dial(ctx, "/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	send(t, ctx, c, map[string]any{"type": "auth", "token": good})
	if hello := readFrame(t, ctx, c); hello["type"] != "hello" {
		t.Fatalf("hello after a good auth frame: %v", hello)
	}
	c.CloseNow()
	n := 0
	for _, a := range e.auditActions() {
		if strings.HasPrefix(a, "token.auth.rate_limited") {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("rate-limit refusals audited %d times, want 1", n)
	}
}

// Enabling two-factor from one session ends the user's other sessions and
// closes their WebSockets at once; the enrolling session goes on.
func TestTwoFactorEnableEndsOtherSessions(t *testing.T) {
	e := newTestEnv(t, envOptions{gateway: func(o *Options) { o.WS.SweepInterval = time.Hour }})
	e.addUser("alice", auth.RoleViewer)
	a := e.login("alice", map[string]any{"deviceId": "laptop"})
	b := e.login("alice", map[string]any{"deviceId": "phone"})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	open := func(tok string) *websocket.Conn {
		c, _, err := e.dial(ctx, "/ws", bearer(tok))
		if err != nil {
			t.Fatal(err)
		}
		readFrame(t, ctx, c)
		return c
	}
	wa, wb := open(a.AccessToken), open(b.AccessToken)
	defer wa.CloseNow()
	r := e.call("POST", "/api/v1/auth/2fa/setup", a.AccessToken, map[string]string{"password": testPassword})
	var setup twoFASetupResponse
	if r.status != 200 || r.json(&setup) != nil {
		t.Fatalf("setup: %d %s", r.status, r.body)
	}
	secret, err := totp.DecodeSecret(setup.Secret)
	if err != nil {
		t.Fatal(err)
	}
	if r := e.call("POST", "/api/v1/auth/2fa/verify", a.AccessToken, map[string]string{"code": totp.Code(secret, totp.Step(time.Now()))}); r.status != 200 {
		t.Fatalf("verify: %d %s", r.status, r.body)
	}
	// Session B: its tokens are refused, its socket is told and closed
	// at once (not at the next sweep, which these options put far away).
	if r := e.call("GET", "/api/v1/me", b.AccessToken, nil); r.status != 401 {
		t.Fatalf("session B after 2FA enrolment: %d %s", r.status, r.body)
	}
	if r := e.call("POST", "/api/v1/auth/refresh", "", map[string]string{"refreshToken": b.RefreshToken}); r.status != 401 {
		t.Fatalf("session B's refresh token: %d %s", r.status, r.body)
	}
	if ev := readFrame(t, ctx, wb); ev["type"] != "event" || ev["event"] != "closing" {
		t.Fatalf("no closing event: %v", ev)
	}
	if code := closeCode(ctx, wb); code != CloseUnauthenticated {
		t.Fatalf("session B's socket: close %d", code)
	}
	// Session A goes on, socket included.
	if r := e.call("GET", "/api/v1/me", a.AccessToken, nil); r.status != 200 {
		t.Fatalf("session A after its own enrolment: %d %s", r.status, r.body)
	}
	send(t, ctx, wa, map[string]any{"type": "request", "id": "1", "method": "ping"})
	if r := readFrame(t, ctx, wa); r["type"] != "response" {
		t.Fatalf("session A's socket: %v", r)
	}
	res, err := e.log.Search(ctx, auditlog.Query{Action: "session.revoke_all"})
	if err != nil || len(res) != 1 || !strings.Contains(string(res[0].Details), `"count":1`) || !strings.Contains(string(res[0].Details), "two-factor enabled") {
		t.Fatalf("audit: %+v %v", res, err)
	}
}

// Malformed search text is the caller's mistake: 400 with the reason,
// and nothing recorded as searched.
func TestAuditSearchMalformedQuery(t *testing.T) {
	e := newTestEnv(t, envOptions{})
	e.addUser("op", auth.RoleOperator)
	tok := e.login("op", nil).AccessToken
	before := len(e.auditActions())
	for q, want := range map[string]string{
		"a%00b":                        "control character (U+0000)",
		"%FF":                          "not valid UTF-8",
		"*":                            "lone *",
		strings.Repeat("a", 2000):      "the limit is 1024",
		"&actor=%01":                   "actor has a control character",
		"x&action=" + "%C3":            "action is not valid UTF-8",
		strings.Repeat("w+", 40) + "w": "at most 32",
	} {
		r := e.call("GET", "/api/v1/audit?q="+q, tok, nil)
		if r.status != 400 || r.code() != CodeInvalidInput || !strings.Contains(string(r.body), want) {
			t.Errorf("q=%.40s: %d %s", q, r.status, r.body)
		}
	}
	if n := len(e.auditActions()); n != before {
		t.Fatalf("refused searches were audited as searches (%d new entries)", n-before)
	}
	// FTS5 syntax and stray quotes are searched as written.
	for _, q := range []string{`%22`, `a%22b`, `NEAR(a+b)`, `a+OR+b`, `-x`, `col:val`} {
		if r := e.call("GET", "/api/v1/audit?q="+q, tok, nil); r.status != 200 {
			t.Errorf("q=%s: %d %s", q, r.status, r.body)
		}
	}
}
