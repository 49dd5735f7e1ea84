package gateway

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/warden-sec/warden/core/auth"
	"github.com/warden-sec/warden/core/auth/totp"
)

func TestLoginRefreshLogout(t *testing.T) {
	e := newTestEnv(t, envOptions{})
	e.addUser("alice", auth.RoleOperator)
	tok := e.login("alice", nil)
	if tok.AccessToken == "" || tok.RefreshToken == "" || tok.Session.User != "alice" {
		t.Fatalf("%+v", tok)
	}
	r := e.call("GET", "/api/v1/me", tok.AccessToken, nil)
	var me meResponse
	if r.status != 200 || r.json(&me) != nil || me.Name != "alice" || me.Role != auth.RoleOperator || me.User == nil {
		t.Fatalf("me: %d %s", r.status, r.body)
	}
	// Refresh rotates; the old refresh token then revokes the family.
	r = e.call("POST", "/api/v1/auth/refresh", "", map[string]string{"refreshToken": tok.RefreshToken})
	var next loginResponse
	if r.status != 200 || r.json(&next) != nil || next.RefreshToken == tok.RefreshToken {
		t.Fatalf("refresh: %d %s", r.status, r.body)
	}
	if r := e.call("GET", "/api/v1/me", next.AccessToken, nil); r.status != 200 {
		t.Fatalf("new access token: %d", r.status)
	}
	r = e.call("POST", "/api/v1/auth/refresh", "", map[string]string{"refreshToken": tok.RefreshToken})
	if r.status != 401 || r.code() != CodeUnauthenticated {
		t.Fatalf("reused refresh token: %d %s", r.status, r.body)
	}
	if r := e.call("GET", "/api/v1/me", next.AccessToken, nil); r.status != 401 {
		t.Fatalf("family not revoked after reuse: %d", r.status)
	}
	if !hasAction(e.auditActions(), "refresh_token_reuse") {
		t.Fatalf("reuse not audited: %v", e.auditActions())
	}
	// Logout ends the session at once.
	tok = e.login("alice", nil)
	if r := e.call("POST", "/api/v1/auth/logout", tok.AccessToken, nil); r.status != 204 {
		t.Fatalf("logout: %d %s", r.status, r.body)
	}
	if r := e.call("GET", "/api/v1/me", tok.AccessToken, nil); r.status != 401 || r.code() != CodeUnauthenticated {
		t.Fatalf("after logout: %d %s", r.status, r.body)
	}
}

func TestRevokeSessionStopsItsToken(t *testing.T) {
	e := newTestEnv(t, envOptions{})
	e.addUser("admin", auth.RoleAdmin)
	e.addUser("bob", auth.RoleViewer)
	adm := e.login("admin", nil)
	bob := e.login("bob", nil)
	bob2 := e.login("bob", map[string]any{"deviceId": "phone"})
	// Bob sees only his sessions and cannot list everyone's.
	var list sessionsResponse
	if r := e.call("GET", "/api/v1/sessions", bob.AccessToken, nil); r.status != 200 || r.json(&list) != nil || len(list.Sessions) != 2 {
		t.Fatalf("bob's sessions: %s", r.body)
	}
	if r := e.call("GET", "/api/v1/sessions?all=true", bob.AccessToken, nil); r.status != 403 {
		t.Fatalf("viewer listed all sessions: %d", r.status)
	}
	// Bob cannot revoke the admin's session.
	if r := e.call("DELETE", "/api/v1/sessions/"+adm.Session.ID, bob.AccessToken, nil); r.status != 404 {
		t.Fatalf("viewer revoked another user's session: %d %s", r.status, r.body)
	}
	// The admin revokes one of Bob's: that token stops at once, the other works.
	if r := e.call("DELETE", "/api/v1/sessions/"+bob.Session.ID, adm.AccessToken, nil); r.status != 204 {
		t.Fatalf("revoke: %d %s", r.status, r.body)
	}
	if r := e.call("GET", "/api/v1/me", bob.AccessToken, nil); r.status != 401 {
		t.Fatalf("revoked token still works: %d", r.status)
	}
	if r := e.call("GET", "/api/v1/me", bob2.AccessToken, nil); r.status != 200 {
		t.Fatalf("other session hit: %d", r.status)
	}
	if r := e.call("GET", "/api/v1/sessions?all=true", adm.AccessToken, nil); r.status != 200 || r.json(&list) != nil || len(list.Sessions) != 2 {
		t.Fatalf("admin list: %s", r.body)
	}
}

func TestResetPasswordInvalidatesTokens(t *testing.T) {
	e := newTestEnv(t, envOptions{})
	e.addUser("alice", auth.RoleViewer)
	a := e.login("alice", nil)
	b := e.login("alice", map[string]any{"deviceId": "other"})
	newPW := "a completely different passphrase, quite long now"
	r := e.call("POST", "/api/v1/auth/reset-password", a.AccessToken, map[string]string{"currentPassword": "wrong one that is long enough to pass", "newPassword": newPW})
	if r.status != 403 || r.code() != CodeWrongCredential {
		t.Fatalf("wrong current password: %d %s", r.status, r.body)
	}
	r = e.call("POST", "/api/v1/auth/reset-password", a.AccessToken, map[string]string{"currentPassword": testPassword, "newPassword": "short"})
	if r.status != 400 || r.code() != CodeInvalidInput {
		t.Fatalf("weak new password: %d %s", r.status, r.body)
	}
	r = e.call("POST", "/api/v1/auth/reset-password", a.AccessToken, map[string]string{"currentPassword": testPassword, "newPassword": newPW})
	if r.status != 204 {
		t.Fatalf("reset: %d %s", r.status, r.body)
	}
	for _, tok := range []loginResponse{a, b} {
		if r := e.call("GET", "/api/v1/me", tok.AccessToken, nil); r.status != 401 {
			t.Fatalf("access token survived the reset: %d", r.status)
		}
		if r := e.call("POST", "/api/v1/auth/refresh", "", map[string]string{"refreshToken": tok.RefreshToken}); r.status != 401 {
			t.Fatalf("refresh token survived the reset: %d", r.status)
		}
	}
	if r := e.call("POST", "/api/v1/auth/login", "", map[string]any{"username": "alice", "password": testPassword}); r.status != 401 {
		t.Fatalf("old password still works: %d", r.status)
	}
	if r := e.call("POST", "/api/v1/auth/login", "", map[string]any{"username": "alice", "password": newPW}); r.status != 200 {
		t.Fatalf("new password: %d %s", r.status, r.body)
	}
}

func TestTwoFactorLogin(t *testing.T) {
	e := newTestEnv(t, envOptions{})
	e.addUser("alice", auth.RoleViewer)
	tok := e.login("alice", nil)
	r := e.call("POST", "/api/v1/auth/2fa/setup", tok.AccessToken, map[string]string{"password": "not the password but long enough!!"})
	if r.status != 403 || r.code() != CodeWrongCredential {
		t.Fatalf("setup with a wrong password: %d %s", r.status, r.body)
	}
	r = e.call("POST", "/api/v1/auth/2fa/setup", tok.AccessToken, map[string]string{"password": testPassword})
	var setup twoFASetupResponse
	if r.status != 200 || r.json(&setup) != nil || !strings.HasPrefix(setup.URI, "otpauth://totp/") || !strings.HasPrefix(setup.QRCode, "data:image/png;base64,") {
		t.Fatalf("setup: %d %s", r.status, r.body)
	}
	secret, err := totp.DecodeSecret(setup.Secret)
	if err != nil {
		t.Fatal(err)
	}
	step := totp.Step(time.Now())
	if r := e.call("POST", "/api/v1/auth/2fa/verify", tok.AccessToken, map[string]string{"code": "000000"}); r.status != 403 || r.code() != CodeWrongCredential {
		t.Fatalf("wrong first code: %d %s", r.status, r.body)
	}
	r = e.call("POST", "/api/v1/auth/2fa/verify", tok.AccessToken, map[string]string{"code": totp.Code(secret, step)})
	var rc recoveryCodesResponse
	if r.status != 200 || r.json(&rc) != nil || len(rc.RecoveryCodes) != 10 {
		t.Fatalf("verify: %d %s", r.status, r.body)
	}
	// Password alone is not enough now.
	r = e.call("POST", "/api/v1/auth/login", "", map[string]any{"username": "alice", "password": testPassword})
	if r.status != 401 || r.code() != CodeSecondFactor {
		t.Fatalf("login without a code: %d %s", r.status, r.body)
	}
	// The step used to enroll cannot be used again; the next one works once.
	r = e.call("POST", "/api/v1/auth/login", "", map[string]any{"username": "alice", "password": testPassword, "totp": totp.Code(secret, step)})
	if r.status != 401 {
		t.Fatalf("replayed step accepted: %d %s", r.status, r.body)
	}
	r = e.call("POST", "/api/v1/auth/login", "", map[string]any{"username": "alice", "password": testPassword, "totp": totp.Code(secret, step+1)})
	if r.status != 200 {
		t.Fatalf("next step: %d %s", r.status, r.body)
	}
	// A recovery code works once.
	r = e.call("POST", "/api/v1/auth/login", "", map[string]any{"username": "alice", "password": testPassword, "recoveryCode": rc.RecoveryCodes[0]})
	if r.status != 200 {
		t.Fatalf("recovery code: %d %s", r.status, r.body)
	}
	r = e.call("POST", "/api/v1/auth/login", "", map[string]any{"username": "alice", "password": testPassword, "recoveryCode": rc.RecoveryCodes[0]})
	if r.status != 401 {
		t.Fatalf("recovery code used twice: %d %s", r.status, r.body)
	}
}

func TestLoginRateLimit(t *testing.T) {
	e := newTestEnv(t, envOptions{})
	e.addUser("alice", auth.RoleViewer)
	bad := map[string]any{"username": "alice", "password": "wrong password that is long enough!!"}
	for i := range 5 {
		if r := e.call("POST", "/api/v1/auth/login", "", bad); r.status != 401 {
			t.Fatalf("attempt %d: %d %s", i+1, r.status, r.body)
		}
	}
	r := e.call("POST", "/api/v1/auth/login", "", bad)
	if r.status != 429 || r.code() != CodeRateLimited {
		t.Fatalf("6th attempt: %d %s", r.status, r.body)
	}
	ra, err := strconv.Atoi(r.header.Get("Retry-After"))
	if err != nil || ra < 1 || ra > 300 {
		t.Fatalf("Retry-After %q", r.header.Get("Retry-After"))
	}
	// Even the right password waits now.
	if r := e.call("POST", "/api/v1/auth/login", "", map[string]any{"username": "alice", "password": testPassword}); r.status != 429 {
		t.Fatalf("right password during the block: %d", r.status)
	}
	// X-Forwarded-For from an untrusted peer changes nothing.
	if r := e.call("POST", "/api/v1/auth/login", "", bad, "X-Forwarded-For", "198.51.100.7"); r.status != 429 {
		t.Fatalf("spoofed X-Forwarded-For escaped the limit: %d", r.status)
	}
	// Refused attempts are audited once per window, not each time.
	n := 0
	for _, a := range e.auditActions() {
		if strings.HasPrefix(a, "login.rate_limited") {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("rate-limit refusals audited %d times", n)
	}
}

func TestTrustedProxyForwardedFor(t *testing.T) {
	e := newTestEnv(t, envOptions{gateway: func(o *Options) {
		o.TrustedProxies = mustPrefixes(t, "127.0.0.1/32")
	}})
	e.addUser("alice", auth.RoleViewer)
	bad := map[string]any{"username": "alice", "password": "wrong password that is long enough!!"}
	for range 5 {
		e.call("POST", "/api/v1/auth/login", "", bad, "X-Forwarded-For", "198.51.100.7")
	}
	if r := e.call("POST", "/api/v1/auth/login", "", bad, "X-Forwarded-For", "198.51.100.7"); r.status != 429 {
		t.Fatalf("limit not applied to the forwarded client: %d", r.status)
	}
	// Another client behind the same proxy is not blocked.
	if r := e.call("POST", "/api/v1/auth/login", "", map[string]any{"username": "alice", "password": testPassword}, "X-Forwarded-For", "198.51.100.8"); r.status != 200 {
		t.Fatalf("other client behind the proxy: %d %s", r.status, r.body)
	}
}

func TestGatewayTokensOverHTTP(t *testing.T) {
	e := newTestEnv(t, envOptions{})
	e.addUser("admin", auth.RoleAdmin)
	adm := e.login("admin", nil)
	r := e.call("POST", "/api/v1/tokens", adm.AccessToken, map[string]string{"name": "ci", "role": "operator", "expires": "30d"})
	var ct createTokenResponse
	if r.status != 201 || r.json(&ct) != nil || !strings.HasPrefix(ct.Token, "wgt_") {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	if r := e.call("POST", "/api/v1/tokens", adm.AccessToken, map[string]string{"name": "root", "role": "admin"}); r.status != 400 {
		t.Fatalf("admin token created: %d %s", r.status, r.body)
	}
	var me meResponse
	if r := e.call("GET", "/api/v1/me", ct.Token, nil); r.status != 200 || r.json(&me) != nil || me.Kind != "token" || me.Role != auth.RoleOperator {
		t.Fatalf("token me: %d %s", r.status, r.body)
	}
	// An operator token cannot manage tokens, nor act as a user session.
	if r := e.call("GET", "/api/v1/tokens", ct.Token, nil); r.status != 403 {
		t.Fatalf("operator token listed tokens: %d", r.status)
	}
	if r := e.call("POST", "/api/v1/auth/logout", ct.Token, nil); r.status != 403 {
		t.Fatalf("token logout: %d", r.status)
	}
	if r := e.call("DELETE", "/api/v1/tokens/ci", adm.AccessToken, nil); r.status != 204 {
		t.Fatalf("revoke: %d %s", r.status, r.body)
	}
	if r := e.call("GET", "/api/v1/me", ct.Token, nil); r.status != 401 {
		t.Fatalf("revoked token works: %d", r.status)
	}
	// Guessing tokens is rate limited like passwords.
	for range 5 {
		e.call("GET", "/api/v1/me", "wgt_0123456789abcdef_"+strings.Repeat("A", 43), nil)
	}
	if r := e.call("GET", "/api/v1/me", "wgt_0123456789abcdef_"+strings.Repeat("B", 43), nil); r.status != 429 || r.code() != CodeRateLimited {
		t.Fatalf("token guessing not limited: %d %s", r.status, r.body)
	}
}

// TestRouteRoles walks the route table: every role below a route's minimum
// is refused with 403, every role at or above it gets past authorisation.
func TestRouteRoles(t *testing.T) {
	e := newTestEnv(t, envOptions{gateway: func(o *Options) { o.MetricsRequireToken = true }})
	order := []auth.Role{auth.RoleViewer, auth.RoleAgent, auth.RoleOperator, auth.RoleAdmin}
	for _, r := range order {
		e.addUser("u-"+string(r), r)
	}
	// A fresh session for every call: some routes (logout, password
	// change) end the caller's sessions.
	logins := 0
	fresh := func(role auth.Role) string {
		logins++
		return e.login("u-"+string(role), map[string]any{"deviceId": "d" + strconv.Itoa(logins)}).AccessToken
	}
	checked := 0
	for _, rt := range e.srv.Routes() {
		path := strings.NewReplacer("{id}", "x", "{file}", "app.js", "{$}", "").Replace(rt.Path)
		if rt.MinRole == "" {
			continue
		}
		// Without credentials: 401 (a plain GET of the WebSocket endpoint
		// is not an upgrade and gets 426).
		if r := e.call(rt.Method, path, "", nil); r.status != 401 && !(rt.Path == "/ws" && r.status == 426) {
			t.Errorf("%s %s without credentials: %d", rt.Method, rt.Path, r.status)
		}
		for _, role := range order {
			r := e.call(rt.Method, path, fresh(role), nil)
			below := !role.AtLeast(rt.MinRole)
			switch {
			case below && r.status != 403:
				t.Errorf("%s %s as %s (needs %s): %d, want 403", rt.Method, rt.Path, role, rt.MinRole, r.status)
			case !below && (r.status == 403 || r.status == 401):
				t.Errorf("%s %s as %s (needs %s): refused %d %s", rt.Method, rt.Path, role, rt.MinRole, r.status, r.body)
			}
			checked++
		}
	}
	if checked < 40 {
		t.Fatalf("only %d route/role pairs checked", checked)
	}
	if !hasAction(e.auditActions(), "authz.denied:denied") {
		t.Fatal("refusals not audited")
	}
}

func TestSecurityHeadersEverywhere(t *testing.T) {
	e := newTestEnv(t, envOptions{})
	for _, p := range []string{"/", "/assets/app.js", "/healthz", "/api/v1/me", "/nope", "/api/v1/auth/login"} {
		r := e.call("GET", p, "", nil)
		for _, h := range []string{"Content-Security-Policy", "X-Content-Type-Options", "X-Frame-Options", "Referrer-Policy"} {
			if r.header.Get(h) == "" {
				t.Errorf("%s: no %s", p, h)
			}
		}
		if !strings.Contains(r.header.Get("Content-Security-Policy"), "frame-ancestors 'none'") || strings.Contains(r.header.Get("Content-Security-Policy"), "unsafe-inline") {
			t.Errorf("%s: CSP %q", p, r.header.Get("Content-Security-Policy"))
		}
		if r.header.Get("Strict-Transport-Security") != "" {
			t.Errorf("%s: HSTS without TLS", p)
		}
	}
	if r := e.call("GET", "/nope", "", nil); r.status != 404 || r.code() != CodeNotFound {
		t.Fatalf("unknown path: %d %s", r.status, r.body)
	}
	if r := e.call("PUT", "/api/v1/me", "", nil); r.status != 405 || r.code() != CodeMethodNotAllowed || r.header.Get("Allow") == "" {
		t.Fatalf("wrong method: %d %s %v", r.status, r.body, r.header)
	}
}

func TestRequestLimits(t *testing.T) {
	e := newTestEnv(t, envOptions{gateway: func(o *Options) { o.MaxBodyBytes = 1024 }})
	r := e.call("POST", "/api/v1/auth/login", "", map[string]string{"username": "a", "password": strings.Repeat("x", 4096)})
	if r.status != 413 || r.code() != CodePayloadTooLarge {
		t.Fatalf("large body: %d %s", r.status, r.body)
	}
	req, _ := http.NewRequest("POST", e.url+"/api/v1/auth/login", strings.NewReader("username=a&password=b"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 415 {
		t.Fatalf("form post: %d", res.StatusCode)
	}
	if r := e.call("POST", "/api/v1/auth/login", "", map[string]any{"username": "a", "password": "b", "admin": true}); r.status != 400 {
		t.Fatalf("unknown field: %d %s", r.status, r.body)
	}
}

// A cross-site form or fetch that changes state is refused, even with the
// victim's cookies; same-origin requests and non-browser clients pass.
func TestCrossOriginProtection(t *testing.T) {
	e := newTestEnv(t, envOptions{})
	e.addUser("alice", auth.RoleViewer)
	tok := e.login("alice", nil)
	r := e.call("POST", "/api/v1/auth/logout", tok.AccessToken, nil, "Sec-Fetch-Site", "cross-site", "Origin", "https://evil.example")
	if r.status != 403 || r.code() != CodeCrossOriginDenied {
		t.Fatalf("cross-site logout: %d %s", r.status, r.body)
	}
	if r := e.call("GET", "/api/v1/me", tok.AccessToken, nil); r.status != 200 {
		t.Fatalf("session ended by the cross-site request: %d", r.status)
	}
	if r := e.call("POST", "/api/v1/auth/logout", tok.AccessToken, nil, "Sec-Fetch-Site", "same-origin", "Origin", e.url); r.status != 204 {
		t.Fatalf("same-origin logout: %d %s", r.status, r.body)
	}
}

func TestCookieLogin(t *testing.T) {
	e := newTestEnv(t, envOptions{})
	e.addUser("alice", auth.RoleViewer)
	r := e.call("POST", "/api/v1/auth/login", "", map[string]any{"username": "alice", "password": testPassword, "useCookies": true, "rememberMe": true})
	var out loginResponse
	if r.status != 200 || r.json(&out) != nil || out.AccessToken != "" || out.RefreshToken != "" {
		t.Fatalf("cookie login leaked tokens in the body: %s", r.body)
	}
	cookies := (&http.Response{Header: r.header}).Cookies()
	if len(cookies) != 2 {
		t.Fatalf("cookies: %v", cookies)
	}
	for _, c := range cookies {
		if !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Path != "/" || c.Domain != "" || c.MaxAge <= 0 {
			t.Errorf("cookie %s: %+v", c.Name, c)
		}
	}
	if out.Binding == "" {
		t.Fatalf("no binding for the page: %s", r.body)
	}
	// The cookies work with the page's binding, and only with it.
	wrong := "x" + out.Binding[1:]
	if wrong == out.Binding {
		wrong = "y" + out.Binding[1:]
	}
	for binding, want := range map[string]int{out.Binding: 200, "": 401, wrong: 401} {
		req, _ := http.NewRequest("GET", e.url+"/api/v1/me", nil)
		for _, c := range cookies {
			req.AddCookie(c)
		}
		if binding != "" {
			req.Header.Set(BindingHeader, binding)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != want {
			t.Fatalf("cookie auth with binding %q: %d, want %d", binding, res.StatusCode, want)
		}
	}
}

func TestTLSCookiesAndHSTS(t *testing.T) {
	s := &Server{opts: Options{TLS: true}, cookies: newCookieNames(true)}
	h := http.Header{}
	s.securityHeaders(h)
	if !strings.Contains(h.Get("Strict-Transport-Security"), "max-age=") {
		t.Fatal("no HSTS under TLS")
	}
	c := s.cookies.cookie(s.cookies.access, "v", 0)
	if !strings.HasPrefix(c.Name, "__Host-") || !c.Secure || c.Path != "/" || c.Domain != "" {
		t.Fatalf("%+v", c)
	}
}

func TestSetupOverHTTP(t *testing.T) {
	e := newTestEnv(t, envOptions{})
	var st setupStatusResponse
	if r := e.call("GET", "/api/v1/setup", "", nil); r.json(&st) != nil || !st.Needed {
		t.Fatalf("setup status: %s", r.body)
	}
	code, _, err := e.svc.IssueSetupCode(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if r := e.call("POST", "/api/v1/setup", "", map[string]string{"code": "WRONG-CODE0-00000-00000", "username": "owner", "password": testPassword}); r.status != 401 {
		t.Fatalf("wrong code: %d %s", r.status, r.body)
	}
	if r := e.call("POST", "/api/v1/setup", "", map[string]string{"code": code, "username": "owner", "password": testPassword}); r.status != 201 {
		t.Fatalf("setup: %d %s", r.status, r.body)
	}
	// The admin created at setup is the owner.
	if o, err := e.svc.Owner(context.Background()); err != nil || o != "owner" {
		t.Fatalf("owner after setup: %q %v", o, err)
	}
	if r := e.call("POST", "/api/v1/setup", "", map[string]string{"code": code, "username": "owner2", "password": testPassword}); r.status != 401 {
		t.Fatalf("code reused: %d %s", r.status, r.body)
	}
	me := e.login("owner", nil)
	var m meResponse
	if r := e.call("GET", "/api/v1/me", me.AccessToken, nil); r.json(&m) != nil || m.Role != auth.RoleAdmin {
		t.Fatalf("first user: %s", r.body)
	}
}

func TestHealthAndReadiness(t *testing.T) {
	e := newTestEnv(t, envOptions{})
	if r := e.call("GET", "/healthz", "", nil); r.status != 200 {
		t.Fatalf("healthz %d", r.status)
	}
	if r := e.call("GET", "/readyz", "", nil); r.status != 200 {
		t.Fatalf("readyz %d %s", r.status, r.body)
	}
	e.db.Close() // the store goes away
	r := e.call("GET", "/readyz", "", nil)
	if r.status != 503 || !strings.Contains(string(r.body), `"store":"unavailable"`) {
		t.Fatalf("readyz with the store closed: %d %s", r.status, r.body)
	}
}

func TestMetrics(t *testing.T) {
	e := newTestEnv(t, envOptions{})
	e.addUser("alice", auth.RoleViewer)
	e.call("POST", "/api/v1/auth/login", "", map[string]any{"username": "alice", "password": "wrong password that is long enough!!"})
	e.login("alice", nil)
	r := e.call("GET", "/metrics", "", nil)
	if r.status != 200 {
		t.Fatalf("metrics on loopback: %d", r.status)
	}
	for _, want := range []string{`warden_http_requests_total{code="200",route="POST /api/v1/auth/login"} 1`,
		`warden_auth_failures_total{kind="login"} 1`, "warden_sessions_active 1", "warden_websockets_active 0", "warden_audit_appends_total "} {
		if !strings.Contains(string(r.body), want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	// Off loopback (or when asked) a token is required.
	e2 := newTestEnv(t, envOptions{gateway: func(o *Options) { o.Loopback = false }})
	if r := e2.call("GET", "/metrics", "", nil); r.status != 401 {
		t.Fatalf("metrics without a token off loopback: %d", r.status)
	}
}

func TestAuditOverHTTP(t *testing.T) {
	e := newTestEnv(t, envOptions{})
	e.addUser("op", auth.RoleOperator)
	tok := e.login("op", nil)
	var ar auditResponse
	if r := e.call("GET", "/api/v1/audit?action=login&limit=10", tok.AccessToken, nil); r.status != 200 || r.json(&ar) != nil || len(ar.Entries) == 0 {
		t.Fatalf("search: %d %s", r.status, r.body)
	}
	if r := e.call("GET", "/api/v1/audit?since=yesterday", tok.AccessToken, nil); r.status != 400 {
		t.Fatalf("bad since: %d", r.status)
	}
	var vr verifyResponse
	if r := e.call("GET", "/api/v1/audit/verify", tok.AccessToken, nil); r.status != 200 || r.json(&vr) != nil || !vr.OK || vr.Entries == 0 {
		t.Fatalf("verify: %d %s", r.status, r.body)
	}
	if !hasAction(e.auditActions(), "audit.read") || !hasAction(e.auditActions(), "audit.verify") {
		t.Fatal("audit reads not audited")
	}
}

// When the audit log cannot be written, logins are refused (fail closed).
func TestAuditFailureRefusesLogin(t *testing.T) {
	e := newTestEnv(t, envOptions{})
	e.addUser("alice", auth.RoleViewer)
	e.log.Close()
	r := e.call("POST", "/api/v1/auth/login", "", map[string]any{"username": "alice", "password": testPassword})
	if r.status != 503 || r.code() != CodeAuditUnavailable {
		t.Fatalf("login with the audit log down: %d %s", r.status, r.body)
	}
	if n, _ := e.svc.CountLiveSessions(context.Background()); n != 0 {
		t.Fatalf("a session was created without its audit record")
	}
}
