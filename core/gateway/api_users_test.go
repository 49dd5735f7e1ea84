package gateway

import (
	"bufio"
	"bytes"
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/warden-sec/warden/core/auditlog"
	"github.com/warden-sec/warden/core/auth"
	"github.com/warden-sec/warden/core/auth/password"
	"github.com/warden-sec/warden/core/auth/totp"
)

// countEntries counts audit entries with the action and, unless "", the
// outcome and the actor.
func (e *testEnv) countEntries(action, outcome, actor string) int {
	e.t.Helper()
	n := 0
	if err := e.log.Each(context.Background(), 0, time.Unix(0, 0), func(en auditlog.Entry) error {
		if en.Action == action && (outcome == "" || en.Outcome == outcome) && (actor == "" || en.Actor == actor) {
			n++
		}
		return nil
	}); err != nil {
		e.t.Fatal(err)
	}
	return n
}

// routeRequests reads from /metrics how many requests the route pattern
// (such as "POST /api/v1/auth/reset-password") has answered, any status.
func (e *testEnv) routeRequests(pattern string) int {
	e.t.Helper()
	r := e.call("GET", "/metrics", "", nil)
	if r.status != http.StatusOK {
		e.t.Fatalf("metrics: %d", r.status)
	}
	n := 0
	sc := bufio.NewScanner(bytes.NewReader(r.body))
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "warden_http_requests_total{") || !strings.Contains(line, `route="`+pattern+`"`) {
			continue
		}
		v, err := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64)
		if err != nil {
			e.t.Fatalf("metrics line %q: %v", line, err)
		}
		n += int(v)
	}
	return n
}

// TestUsersOverHTTP adds, lists, re-roles and disables users as an admin
// who is not the owner; the owner and the admin's own account are
// refused with a message that says why, and every change is audited with
// the caller's address.
func TestUsersOverHTTP(t *testing.T) {
	e := newTestEnv(t, envOptions{})
	e.addUser("root", auth.RoleAdmin) // the first admin: the owner
	e.addUser("second", auth.RoleAdmin)
	adm := e.login("second", nil).AccessToken

	r := e.call("POST", "/api/v1/users", adm, map[string]string{"username": "carol", "role": "viewer", "password": testPassword})
	if r.status != http.StatusCreated {
		t.Fatalf("add: %d %s", r.status, r.body)
	}
	for body, want := range map[string]string{
		`{"username":"dave","role":"viewer","password":"short"}`:                 CodeInvalidInput,
		`{"username":"dave","role":"root","password":"` + testPassword + `"}`:    CodeInvalidInput,
		`{"username":"carol","role":"viewer","password":"` + testPassword + `"}`: CodeConflict,
		`{"username":"","role":"viewer","password":"` + testPassword + `"}`:      CodeInvalidInput,
	} {
		var v map[string]any
		if err := jsonUnmarshal(body, &v); err != nil {
			t.Fatal(err)
		}
		if r := e.call("POST", "/api/v1/users", adm, v); r.code() != want {
			t.Errorf("add %s: %d %s, want %s", body, r.status, r.body, want)
		}
	}

	var list usersResponse
	if r := e.call("GET", "/api/v1/users", adm, nil); r.status != 200 || r.json(&list) != nil {
		t.Fatalf("list: %d %s", r.status, r.body)
	}
	if list.Owner != "root" || len(list.Users) != 3 || list.SchemaVersion != 1 {
		t.Fatalf("list: %+v", list)
	}
	for _, u := range list.Users {
		if u.Owner != (u.Name == "root") {
			t.Errorf("user %s: owner=%v", u.Name, u.Owner)
		}
	}

	// A role change ends the user's sessions.
	carol := e.login("carol", nil).AccessToken
	var u auth.User
	if r := e.call("PUT", "/api/v1/users/carol/role", adm, map[string]string{"role": "operator"}); r.status != 200 || r.json(&u) != nil || u.Role != auth.RoleOperator {
		t.Fatalf("set role: %d %s", r.status, r.body)
	}
	if r := e.call("GET", "/api/v1/me", carol, nil); r.status != http.StatusUnauthorized {
		t.Fatalf("carol's session after the role change: %d", r.status)
	}
	carol = e.login("carol", nil).AccessToken
	if r := e.call("GET", "/api/v1/audit", carol, nil); r.status != 200 {
		t.Fatalf("carol as operator reads the audit log: %d", r.status)
	}

	// The owner and oneself.
	for _, c := range []struct {
		method, path string
		body         any
		code, says   string
	}{
		{"POST", "/api/v1/users/root/disable", nil, CodeOwnerProtected, "root is the owner"},
		{"PUT", "/api/v1/users/root/role", map[string]string{"role": "operator"}, CodeOwnerProtected, "gateway.owner"},
		{"POST", "/api/v1/users/second/disable", nil, CodeConflict, "your own account"},
		{"PUT", "/api/v1/users/second/role", map[string]string{"role": "viewer"}, CodeConflict, "your own account"},
		{"POST", "/api/v1/users/nobody/disable", nil, CodeNotFound, "nobody"},
		{"PUT", "/api/v1/users/carol/role", map[string]string{"role": "operator"}, CodeConflict, "already"},
	} {
		r := e.call(c.method, c.path, adm, c.body)
		if r.code() != c.code || !strings.Contains(string(r.body), c.says) {
			t.Errorf("%s %s: %d %s, want %s saying %q", c.method, c.path, r.status, r.body, c.code, c.says)
		}
	}
	if r := e.call("PUT", "/api/v1/users/root/role", adm, map[string]string{"role": "operator"}); r.status != http.StatusConflict {
		t.Errorf("demote the owner: status %d, want 409", r.status)
	}

	if r := e.call("POST", "/api/v1/users/carol/disable", adm, nil); r.status != http.StatusNoContent {
		t.Fatalf("disable: %d %s", r.status, r.body)
	}
	if r := e.call("GET", "/api/v1/me", carol, nil); r.status != http.StatusUnauthorized {
		t.Fatalf("a disabled user's session: %d", r.status)
	}
	for _, a := range []string{"user.create", "user.role", "user.disable"} {
		res, err := e.log.Search(context.Background(), auditlog.Query{Action: a, Actor: "user:second"})
		if err != nil || len(res) == 0 {
			t.Fatalf("%s: %v %v", a, res, err)
		}
		first := res[len(res)-1] // the oldest: the change, not the refused attempts
		if first.SourceIP != "127.0.0.1" || first.Target != "carol" || first.Outcome != auditlog.OutcomeAllowed {
			t.Errorf("%s: %s %s %s %s", a, first.Actor, first.Target, first.Outcome, first.SourceIP)
		}
	}
}

// jsonUnmarshal decodes a literal body for a table of cases.
func jsonUnmarshal(s string, v any) error {
	return (response{body: []byte(s)}).json(v)
}

// Roles below admin may not manage users, below operator may not read the
// commands; each refusal is audited.
func TestUsersAndCommandsNeedTheirRoles(t *testing.T) {
	e := newTestEnv(t, envOptions{})
	e.addUser("root", auth.RoleAdmin)
	e.addUser("op", auth.RoleOperator)
	e.addUser("vi", auth.RoleViewer)
	op := e.login("op", nil).AccessToken
	vi := e.login("vi", nil).AccessToken
	agent := e.token("agent", auth.RoleAgent)

	denied := e.countEntries("authz.denied", "denied", "")
	for _, c := range []struct {
		who, tok, method, path string
		body                   any
	}{
		{"operator", op, "POST", "/api/v1/users", map[string]string{"username": "x", "role": "admin", "password": testPassword}},
		{"operator", op, "GET", "/api/v1/users", nil},
		{"operator", op, "POST", "/api/v1/users/vi/disable", nil},
		{"operator", op, "PUT", "/api/v1/users/op/role", map[string]string{"role": "admin"}},
		{"operator", op, "POST", "/api/v1/auth/2fa/disable", map[string]string{"username": "root"}},
		{"viewer", vi, "GET", "/api/v1/commands", nil},
		{"agent token", agent, "GET", "/api/v1/commands", nil},
	} {
		if r := e.call(c.method, c.path, c.tok, c.body); r.status != http.StatusForbidden || r.code() != CodeForbidden {
			t.Errorf("%s: %s %s = %d %s, want 403 FORBIDDEN", c.who, c.method, c.path, r.status, r.body)
		}
	}
	if got := e.countEntries("authz.denied", "denied", "") - denied; got != 7 {
		t.Errorf("%d refusals audited, want 7", got)
	}
	if u, err := e.svc.GetUser(context.Background(), "op"); err != nil || u.Role != auth.RoleOperator {
		t.Fatalf("the operator promoted itself: %+v %v", u, err)
	}
	if r := e.call("GET", "/api/v1/commands", op, nil); r.status != http.StatusOK {
		t.Errorf("operator reads the commands: %d %s", r.status, r.body)
	}
}

// The password rule comes from the configuration, for forms to show.
func TestPasswordPolicyRoute(t *testing.T) {
	e := newTestEnv(t, envOptions{auth: func(o *auth.Options) { o.Policy = password.Policy{MinLength: 40, MaxLength: 500} }})
	var pol passwordPolicyResponse
	if r := e.call("GET", "/api/v1/auth/password-policy", "", nil); r.status != 200 || r.json(&pol) != nil {
		t.Fatalf("%d %s", r.status, r.body)
	}
	if pol.MinLength != 40 || pol.MaxLength != 500 || pol.SchemaVersion != 1 {
		t.Fatalf("%+v", pol)
	}
}

// A wrong password or code typed inside a live session is 403
// WRONG_CREDENTIAL and the session goes on; a dead session is still 401
// UNAUTHENTICATED on the same routes. Each wrong credential counts once.
func TestWrongCredentialKeepsTheSession(t *testing.T) {
	e := newTestEnv(t, envOptions{})
	e.addUser("alice", auth.RoleViewer)
	a := e.login("alice", nil)
	const wrong = "this is not the password, though long enough"
	for _, c := range []struct {
		path, action string
		body         map[string]string
	}{
		{"/api/v1/auth/reset-password", "password.change", map[string]string{"currentPassword": wrong, "newPassword": "a brand new passphrase for alice, long enough"}},
		{"/api/v1/auth/2fa/setup", "2fa.enroll", map[string]string{"password": wrong}},
	} {
		before := e.countEntries(c.action, "failure", "")
		r := e.call("POST", c.path, a.AccessToken, c.body)
		if r.status != http.StatusForbidden || r.code() != CodeWrongCredential || r.header.Get("WWW-Authenticate") != "" {
			t.Errorf("%s with a wrong password: %d %s", c.path, r.status, r.body)
		}
		if n := e.countEntries(c.action, "failure", "") - before; n != 1 {
			t.Errorf("%s: %d failures recorded, want 1", c.path, n)
		}
		if r := e.call("GET", "/api/v1/me", a.AccessToken, nil); r.status != 200 {
			t.Fatalf("the session after a wrong password on %s: %d", c.path, r.status)
		}
	}
	// Two-factor: a wrong first code, then the recovery codes with a
	// wrong password once it is on.
	r := e.call("POST", "/api/v1/auth/2fa/setup", a.AccessToken, map[string]string{"password": testPassword})
	var setup twoFASetupResponse
	if r.status != 200 || r.json(&setup) != nil {
		t.Fatalf("setup: %d %s", r.status, r.body)
	}
	secret, err := totp.DecodeSecret(setup.Secret)
	if err != nil {
		t.Fatal(err)
	}
	if r := e.call("POST", "/api/v1/auth/2fa/verify", a.AccessToken, map[string]string{"code": wrongTOTP(secret)}); r.status != 403 || r.code() != CodeWrongCredential {
		t.Errorf("wrong first code: %d %s", r.status, r.body)
	}
	if r := e.call("GET", "/api/v1/me", a.AccessToken, nil); r.status != 200 {
		t.Fatalf("the session after a wrong code: %d", r.status)
	}
	if r := e.call("POST", "/api/v1/auth/2fa/verify", a.AccessToken, map[string]string{"code": totp.Code(secret, totp.Step(time.Now()))}); r.status != 200 {
		t.Fatalf("right first code: %d %s", r.status, r.body)
	}
	if r := e.call("POST", "/api/v1/auth/2fa/recovery-codes", a.AccessToken, map[string]string{"password": wrong}); r.status != 403 || r.code() != CodeWrongCredential {
		t.Errorf("recovery codes with a wrong password: %d %s", r.status, r.body)
	}
	if r := e.call("GET", "/api/v1/me", a.AccessToken, nil); r.status != 200 {
		t.Fatalf("the session after a wrong password for recovery codes: %d", r.status)
	}

	// A dead session: 401, whatever the password.
	if r := e.call("POST", "/api/v1/auth/logout", a.AccessToken, nil); r.status != http.StatusNoContent {
		t.Fatal(r.status)
	}
	for _, path := range []string{"/api/v1/auth/reset-password", "/api/v1/auth/2fa/setup", "/api/v1/auth/2fa/recovery-codes"} {
		if r := e.call("POST", path, a.AccessToken, map[string]string{"password": wrong}); r.status != 401 || r.code() != CodeUnauthenticated {
			t.Errorf("%s on an ended session: %d %s", path, r.status, r.body)
		}
	}
}
