package gateway

// Browser tests: the embedded dashboard driven through headless Chromium
// against a real gateway (newTestEnv). The page runs under the gateway's
// real Content-Security-Policy, so a script or style the policy refuses
// fails these tests too.

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/warden-sec/warden/core/auth"
	"github.com/warden-sec/warden/core/auth/totp"
	"github.com/warden-sec/warden/internal/browsertest"
)

// browserTimeout bounds each step in the browser (browsertest.Start
// bounds its start).
const browserTimeout = 10 * time.Second

// dashBrowser is one Chromium with one tab, a fresh profile, and the console
// messages of its pages.
type dashBrowser struct {
	t     *testing.T
	e     *testEnv
	ctx   context.Context
	shots int

	mu      sync.Mutex
	console []chromedp.ConsoleMessage
}

// newBrowser starts Chromium for the test and stops it when the test ends
// (before the gateway stops). At the end it fails the test if a page threw
// an uncaught exception or broke the Content-Security-Policy.
func newBrowser(t *testing.T, e *testEnv) *dashBrowser {
	t.Helper()
	ctx := browsertest.Start(t, 1280, 800,
		chromedp.Flag("password-store", "basic"),
		chromedp.Flag("use-mock-keychain", true))
	b := &dashBrowser{t: t, e: e, ctx: ctx}

	msgs := chromedp.Console(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for m, err := range msgs {
			if err != nil {
				return
			}
			b.mu.Lock()
			b.console = append(b.console, m)
			b.mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		for _, m := range b.console {
			if m.IsException() || strings.Contains(m.Text, "Content Security Policy") || strings.Contains(m.Text, "Refused to") {
				t.Errorf("browser console: %s (%s:%d)", m.Text, m.URL, m.Line+1)
			}
		}
	})
	t.Cleanup(func() { _ = chromedp.Cancel(ctx); <-done }) // runs first: the console is complete when checked
	return b
}

// fail takes a screenshot of the page as it is and ends the test.
func (b *dashBrowser) fail(format string, args ...any) {
	b.t.Helper()
	b.screenshot("failure")
	b.t.Fatalf(format, args...)
}

// do runs actions with a time limit.
func (b *dashBrowser) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, browserTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.fail("%s: %v", what, err)
	}
}

// browserValue runs one action that returns a value, with a time limit.
func browserValue[T any](b *dashBrowser, what string, a chromedp.Action[T]) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, browserTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		b.fail("%s: %v", what, err)
	}
	return v
}

// browserEval evaluates a JavaScript expression in the page through DevTools
// (which the page's CSP does not restrict).
func browserEval[T any](b *dashBrowser, expr string) T {
	b.t.Helper()
	return browserValue(b, "evaluate "+expr, chromedp.Evaluate[T](expr))
}

// jsString quotes s as a JavaScript string literal.
func jsString(s string) string {
	q, _ := json.Marshal(s)
	return string(q)
}

// waitFor polls a JavaScript condition until it is true.
func (b *dashBrowser) waitFor(what, cond string) {
	b.t.Helper()
	b.waitForWithin(what, cond, browserTimeout)
}

func (b *dashBrowser) waitForWithin(what, cond string, limit time.Duration) {
	b.t.Helper()
	deadline := time.Now().Add(limit)
	var lastErr error
	for {
		ctx, cancel := context.WithTimeout(b.ctx, time.Second)
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool]("!!("+cond+")"))
		cancel()
		if err == nil && ok {
			return
		}
		lastErr = err
		if time.Now().After(deadline) {
			b.fail("waiting %v for %s (%s): last error %v", limit, what, cond, lastErr)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// visible waits until the element with the id is shown.
func (b *dashBrowser) visible(id string) {
	b.t.Helper()
	b.do("wait for #"+id, chromedp.WaitVisible(chromedp.ID(id)))
}

// hidden reports whether the element with the id is not rendered.
func (b *dashBrowser) hidden(id string) bool {
	b.t.Helper()
	return browserEval[bool](b, fmt.Sprintf(`(() => { const e = document.getElementById(%s); return !e || e.getClientRects().length === 0; })()`, jsString(id)))
}

// text returns the text content of the element with the id.
func (b *dashBrowser) text(id string) string {
	b.t.Helper()
	return browserEval[string](b, fmt.Sprintf(`(document.getElementById(%s) || {}).textContent || ""`, jsString(id)))
}

// waitText waits until the element's text contains want (ignoring case).
func (b *dashBrowser) waitText(id, want string) string {
	b.t.Helper()
	b.waitFor(fmt.Sprintf("#%s to say %q", id, want), fmt.Sprintf(`((document.getElementById(%s) || {}).textContent || "").toLowerCase().includes(%s)`,
		jsString(id), jsString(strings.ToLower(want))))
	return b.text(id)
}

func (b *dashBrowser) checked(id string) bool {
	b.t.Helper()
	return browserEval[bool](b, fmt.Sprintf(`document.getElementById(%s).checked`, jsString(id)))
}

func (b *dashBrowser) setValue(id, v string) {
	b.t.Helper()
	b.do("fill #"+id, chromedp.SetValue(chromedp.ID(id), v))
}

func (b *dashBrowser) click(id string) {
	b.t.Helper()
	b.do("click #"+id, chromedp.Click(chromedp.ID(id)))
}

// screenshot saves a full-page PNG as NN-name.png in the test's artifact
// directory (kept with go test -artifacts).
func (b *dashBrowser) screenshot(name string) {
	b.t.Helper()
	b.shots++
	ctx, cancel := context.WithTimeout(b.ctx, browserTimeout)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Errorf("screenshot %s: %v", name, err)
		return
	}
	path := filepath.Join(b.t.ArtifactDir(), fmt.Sprintf("%02d-%s.png", b.shots, name))
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.t.Errorf("screenshot %s: %v", name, err)
		return
	}
	b.t.Logf("screenshot: %s", path)
}

// open loads the dashboard.
func (b *dashBrowser) open() {
	b.t.Helper()
	b.do("open the dashboard", chromedp.Navigate(b.e.url+"/"))
}

func (b *dashBrowser) reload() {
	b.t.Helper()
	b.do("reload", chromedp.Reload())
}

// submitLogin fills the login form and submits it, setting "Remember me"
// to remember first. It does not wait for the outcome.
func (b *dashBrowser) submitLogin(user, pw string, remember bool) {
	b.t.Helper()
	b.visible("login-form")
	if b.checked("remember-me") != remember {
		b.click("remember-me")
	}
	b.setValue("login-username", user)
	b.setValue("login-password", pw)
	b.click("login-submit")
}

// login logs in and waits for the main view with a live WebSocket.
func (b *dashBrowser) login(user string, remember bool) {
	b.t.Helper()
	b.submitLogin(user, testPassword, remember)
	b.waitLoggedIn(user)
}

func (b *dashBrowser) waitLoggedIn(user string) {
	b.t.Helper()
	b.visible("main-view")
	if got := b.text("user-name"); got != user {
		b.fail("header shows user %q, want %q", got, user)
	}
	b.waitText("live-status", "live")
}

func (b *dashBrowser) logout() {
	b.t.Helper()
	b.click("logout-button")
	b.visible("login-view")
}

// cookies returns the browser's cookies for the gateway by name.
func (b *dashBrowser) cookies() map[string]*network.Cookie {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, browserTimeout)
	defer cancel()
	res, err := chromedp.Call(ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{b.e.url + "/"}})
	if err != nil {
		b.fail("get cookies: %v", err)
	}
	out := map[string]*network.Cookie{}
	for _, c := range res.Cookies {
		out[c.Name] = c
	}
	return out
}

// checkSessionCookies checks the access and refresh cookies: HttpOnly,
// SameSite Strict, path /, hidden from the page's script; with remember-me
// they persist (the refresh cookie until the session's end), without they
// are session cookies.
func (b *dashBrowser) checkSessionCookies(remember bool) {
	b.t.Helper()
	cs := b.cookies()
	for _, name := range []string{"warden-access", "warden-refresh"} {
		c, ok := cs[name]
		if !ok {
			b.fail("cookie %s missing; have %v", name, cookieList(cs))
		}
		if !c.HTTPOnly || c.SameSite != network.CookieSameSiteStrict || c.Path != "/" {
			b.t.Errorf("cookie %s: httpOnly=%v sameSite=%q path=%q; want HttpOnly, Strict, /", name, c.HTTPOnly, c.SameSite, c.Path)
		}
		if c.Secure {
			b.t.Errorf("cookie %s is Secure on a plain-HTTP loopback gateway: the browser would never send it", name)
		}
		if remember == c.Session {
			b.t.Errorf("cookie %s: session=%v expires=%v with rememberMe=%v", name, c.Session, c.Expires, remember)
		}
	}
	if remember {
		exp := time.Unix(int64(cs["warden-refresh"].Expires), 0)
		if until := time.Until(exp); until < 29*24*time.Hour || until > 31*24*time.Hour {
			b.t.Errorf("remembered refresh cookie expires in %v, want about 30 days (the session's end)", until)
		}
	}
	if got := browserEval[string](b, "document.cookie"); got != "" {
		b.t.Errorf("page script sees cookies %q; the session cookies must be HttpOnly", got)
	}
}

func cookieList(cs map[string]*network.Cookie) []string {
	var out []string
	for n := range cs {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// liveSessions lists a user's live sessions from the store.
func liveSessions(t *testing.T, e *testEnv, user string) []auth.Session {
	t.Helper()
	list, err := e.svc.ListSessions(context.Background(), auth.SessionFilter{User: user})
	if err != nil {
		t.Fatal(err)
	}
	return list
}

// browserSessionID is the id of the user's one live session that the test
// did not open over HTTP (those use the device id "test-device").
func browserSessionID(t *testing.T, e *testEnv, user string) string {
	t.Helper()
	var ids []string
	for _, s := range liveSessions(t, e, user) {
		if s.DeviceID != "test-device" {
			ids = append(ids, s.ID)
		}
	}
	if len(ids) != 1 {
		t.Fatalf("want one browser session of %s, have %v", user, ids)
	}
	return ids[0]
}

// TestBrowserRememberMe logs in with and without "Remember me": the
// checkbox's state survives reloads and logouts, the session survives a
// reload either way, and the cookies are HttpOnly, SameSite=Strict and
// persistent only with remember-me.
func TestBrowserRememberMe(t *testing.T) {
	e := newTestEnv(t, envOptions{})
	e.addUser("alice", auth.RoleViewer)
	b := newBrowser(t, e)

	b.open()
	b.visible("login-view")
	if b.checked("remember-me") {
		t.Error("remember-me is checked on a fresh browser")
	}
	b.screenshot("login")

	// With remember-me.
	b.login("alice", true)
	if got := b.text("user-role"); got != "viewer" {
		t.Errorf("role badge %q, want viewer", got)
	}
	if !b.hidden("tab-audit") {
		t.Error("a viewer sees the audit tab")
	}
	b.waitText("twofa-status", "off")
	b.screenshot("account-remembered")
	b.checkSessionCookies(true)
	if ss := liveSessions(t, e, "alice"); len(ss) != 1 || !ss[0].Remember {
		t.Fatalf("sessions after a remembered login: %+v", ss)
	}

	b.reload()
	b.waitLoggedIn("alice")
	b.screenshot("reloaded-remembered")

	b.logout()
	b.waitText("notice", "logged out")
	if !b.checked("remember-me") {
		t.Error("remember-me lost its checked state at logout")
	}
	if cs := b.cookies(); cs["warden-access"] != nil || cs["warden-refresh"] != nil {
		t.Errorf("session cookies left after logout: %v", cookieList(cs))
	}
	b.screenshot("logged-out-remember-checked")
	b.reload()
	b.visible("login-form")
	if !b.checked("remember-me") {
		t.Error("remember-me not restored as checked after a reload")
	}

	// Without remember-me: the submit unchecks the box first.
	b.login("alice", false)
	b.checkSessionCookies(false)
	ss := liveSessions(t, e, "alice")
	if len(ss) != 1 || ss[0].Remember {
		t.Fatalf("sessions after a login without remember-me: %+v", ss)
	}
	b.reload()
	b.waitLoggedIn("alice") // session cookies last as long as the browser
	b.screenshot("reloaded-not-remembered")
	b.logout()
	if b.checked("remember-me") {
		t.Error("remember-me checked at logout after a login without it")
	}
	b.reload()
	b.visible("login-form")
	if b.checked("remember-me") {
		t.Error("remember-me not restored as unchecked after a reload")
	}
	b.screenshot("login-remember-unchecked")
}

// wrongTOTP returns a well-formed code that matches no step near now.
func wrongTOTP(secret []byte) string {
	now := totp.Step(time.Now())
	for d := 0; ; d++ {
		c := fmt.Sprintf("%06d", (d*111111+123456)%1000000)
		clash := false
		for s := now - 2; s <= now+2; s++ {
			if totp.Code(secret, s) == c {
				clash = true
			}
		}
		if !clash {
			return c
		}
	}
}

// TestBrowserTwoFactor enrolls TOTP from the dashboard with the secret it
// shows, then logs in again with a TOTP code (after a wrong one) and with
// a recovery code.
func TestBrowserTwoFactor(t *testing.T) {
	e := newTestEnv(t, envOptions{})
	e.addUser("bob", auth.RoleOperator)
	b := newBrowser(t, e)
	b.open()
	b.login("bob", false)

	b.waitText("twofa-status", "off")
	b.click("twofa-setup-start")
	b.visible("twofa-setup-form")
	b.setValue("twofa-password", testPassword)
	b.click("twofa-setup-submit")
	b.visible("twofa-enroll")
	b.visible("totp-secret")
	b.waitFor("the QR code image to load", `(() => { const i = document.getElementById("totp-qr"); return i.complete && i.naturalWidth > 0 && i.src.startsWith("data:image/png;base64,"); })()`)
	b.screenshot("2fa-enroll")

	shown := strings.TrimSpace(b.text("totp-secret"))
	secret, err := totp.DecodeSecret(shown)
	if err != nil {
		t.Fatalf("the secret shown, %q: %v", shown, err)
	}
	enrollStep := totp.Step(time.Now())
	b.setValue("twofa-code", totp.Code(secret, enrollStep))
	b.click("twofa-verify-submit")
	b.visible("recovery-codes-box")
	codes := browserEval[[]string](b, `Array.from(document.querySelectorAll("#recovery-codes li"), li => li.textContent.trim())`)
	if len(codes) < 8 {
		t.Fatalf("recovery codes shown: %q", codes)
	}
	b.waitText("twofa-status", "two-factor authentication is on")
	b.waitText("recovery-left", fmt.Sprintf("%d recovery codes left", len(codes)))
	b.screenshot("2fa-recovery-codes")
	if u, err := e.svc.GetUser(context.Background(), "bob"); err != nil || !u.TwoFactorEnabled {
		t.Fatalf("after enrollment: user %+v, %v", u, err)
	}
	b.click("recovery-codes-done")
	if !b.hidden("recovery-codes-box") || browserEval[int](b, `document.querySelectorAll("#recovery-codes li").length`) != 0 {
		t.Error("the recovery codes stay on the page after they were acknowledged")
	}

	// Password, then the TOTP step.
	b.logout()
	b.submitLogin("bob", testPassword, false)
	b.visible("second-factor-form")
	if !b.hidden("login-form") {
		t.Error("the password form stays visible during the second step")
	}
	b.screenshot("totp-step")

	b.setValue("totp-code", wrongTOTP(secret))
	b.click("second-factor-submit")
	b.waitText("second-factor-error", "invalid credentials")
	b.screenshot("totp-wrong-code")

	// The enrollment used enrollStep; a later step is a fresh code (Match
	// accepts one step of skew either way).
	b.setValue("totp-code", totp.Code(secret, max(enrollStep, totp.Step(time.Now()))+1))
	b.click("second-factor-submit")
	b.waitLoggedIn("bob")
	b.screenshot("logged-in-with-totp")

	// A recovery code instead of a TOTP code.
	b.logout()
	b.submitLogin("bob", testPassword, false)
	b.visible("second-factor-form")
	b.click("second-factor-toggle")
	b.visible("recovery-code")
	b.screenshot("recovery-code-step")
	b.setValue("recovery-code", codes[0])
	b.click("second-factor-submit")
	b.waitLoggedIn("bob")
	b.waitText("recovery-left", fmt.Sprintf("%d recovery codes left", len(codes)-1))
}

// TestBrowserSessionRevoke revokes another session from the sessions
// table, then ends the dashboard's own session from outside (in the store,
// as another process would, and through the API as an admin): the
// WebSocket's 4401 close sends the dashboard back to the login form.
func TestBrowserSessionRevoke(t *testing.T) {
	e := newTestEnv(t, envOptions{})
	e.addUser("carol", auth.RoleViewer)
	e.addUser("root", auth.RoleAdmin)
	b := newBrowser(t, e)
	b.open()
	b.login("carol", false)
	mine := browserSessionID(t, e, "carol")
	other := e.login("carol", nil)

	b.click("tab-sessions")
	b.visible("sessions-table")
	b.waitFor("two session rows", `document.querySelectorAll("#sessions-body tr").length === 2`)
	ids := browserEval[[]string](b, `Array.from(document.querySelectorAll("#sessions-body tr"), tr => tr.dataset.sessionId)`)
	if !slices.Contains(ids, mine) || !slices.Contains(ids, other.Session.ID) {
		t.Fatalf("session rows %v, want %s and %s", ids, mine, other.Session.ID)
	}
	if cur := browserEval[[]string](b, `Array.from(document.querySelectorAll("#sessions-body tr.current"), tr => tr.dataset.sessionId)`); !slices.Equal(cur, []string{mine}) {
		t.Errorf("rows marked current: %v, want [%s]", cur, mine)
	}
	if !b.hidden("sessions-all-wrap") {
		t.Error("a viewer is offered every user's sessions")
	}
	b.screenshot("sessions-two")

	row := fmt.Sprintf(`#sessions-body tr[data-session-id=%s]`, jsString(other.Session.ID))
	b.do("revoke the other session", chromedp.Click(chromedp.CSS(row+" button.revoke")))
	b.waitFor("the revoked row to go", fmt.Sprintf(`document.querySelectorAll("#sessions-body tr").length === 1 && !document.querySelector(%s)`, jsString(row)))
	b.screenshot("sessions-revoked-other")
	if r := e.call("GET", "/api/v1/me", other.AccessToken, nil); r.status != http.StatusUnauthorized {
		t.Errorf("the revoked session's access token: GET /api/v1/me = %d %s, want 401", r.status, r.body)
	}
	if b.hidden("main-view") {
		t.Fatal("revoking another session left the dashboard")
	}

	// Revoked in the store, as `warden sessions revoke` in another process
	// does: the gateway's sweep notices and closes the WebSocket.
	start := time.Now()
	if err := e.svc.RevokeSession(context.Background(), auth.Local("test"), mine, ""); err != nil {
		t.Fatal(err)
	}
	b.waitForWithin("the login form after the store revocation", `!document.getElementById("login-view").hidden`, 5*time.Second)
	b.waitText("notice", "your session ended")
	t.Logf("dashboard back at the login form %v after the store revocation", time.Since(start).Round(time.Millisecond))
	b.screenshot("session-ended-sweep")

	// Revoked through the API by an admin: the WebSocket closes at once.
	b.login("carol", false)
	mine = browserSessionID(t, e, "carol")
	admin := e.login("root", nil)
	start = time.Now()
	if r := e.call("DELETE", "/api/v1/sessions/"+mine, admin.AccessToken, nil); r.status != http.StatusNoContent {
		t.Fatalf("admin revokes %s: %d %s", mine, r.status, r.body)
	}
	b.waitForWithin("the login form after the admin's revocation", `!document.getElementById("login-view").hidden`, 5*time.Second)
	msg := b.waitText("notice", "your session ended")
	t.Logf("dashboard back at the login form %v after the admin's revocation: %q", time.Since(start).Round(time.Millisecond), msg)
	b.screenshot("session-ended-admin")
	if r := e.call("GET", "/api/v1/me", "", nil); r.status != http.StatusUnauthorized {
		t.Errorf("GET /api/v1/me without credentials: %d", r.status)
	}
}

// TestBrowserAudit searches the audit log as an operator and verifies its
// chain from the dashboard, then changes the operator's password.
func TestBrowserAudit(t *testing.T) {
	e := newTestEnv(t, envOptions{})
	e.addUser("olivia", auth.RoleOperator)
	b := newBrowser(t, e)
	b.open()
	b.login("olivia", false)

	b.visible("tab-audit")
	b.click("tab-audit")
	b.visible("audit-table")
	b.waitFor("audit entries", `document.querySelectorAll("#audit-body tr.audit-row").length > 0`)
	actions := browserEval[[]string](b, `Array.from(document.querySelectorAll("#audit-body tr.audit-row td:nth-child(5)"), td => td.textContent)`)
	if !slices.Contains(actions, "login") || !slices.Contains(actions, "user.create") && !slices.Contains(actions, "audit.search") {
		t.Errorf("audit actions shown: %v", actions)
	}
	b.screenshot("audit")

	b.setValue("audit-action", "login")
	b.click("audit-search")
	b.waitFor("only login entries", `(() => { const a = Array.from(document.querySelectorAll("#audit-body tr.audit-row td:nth-child(5)"), td => td.textContent); return a.length > 0 && a.every(x => x === "login"); })()`)
	b.screenshot("audit-search-login")

	b.click("audit-verify")
	msg := b.waitText("verify-status", "verified")
	if strings.Contains(strings.ToLower(msg), "broken") {
		t.Errorf("verify status: %q", msg)
	}
	b.screenshot("audit-verified")

	// Changing the password ends every session, this one too.
	const newPassword = "a different and equally long passphrase, changed in the browser"
	b.click("tab-account")
	b.visible("password-form")
	b.setValue("current-password", testPassword)
	b.setValue("new-password", newPassword)
	b.setValue("new-password-confirm", newPassword)
	b.click("password-submit")
	b.visible("login-view")
	b.waitText("notice", "password changed")
	b.screenshot("password-changed")
	if ss := liveSessions(t, e, "olivia"); len(ss) != 0 {
		t.Errorf("live sessions after the password change: %+v", ss)
	}
	b.submitLogin("olivia", newPassword, false)
	b.waitLoggedIn("olivia")
}

// TestBrowserSetup creates the first admin with the setup code through the
// dashboard, logs in as that admin, and then sees the login form report the
// rate limit after repeated wrong passwords.
func TestBrowserSetup(t *testing.T) {
	e := newTestEnv(t, envOptions{})
	code, _, err := e.svc.IssueSetupCode(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	b := newBrowser(t, e)
	b.open()
	b.visible("setup-view")
	b.screenshot("setup")
	b.setValue("setup-code", code)
	b.setValue("setup-username", "admin")
	b.setValue("setup-password", testPassword)
	b.setValue("setup-password-confirm", testPassword)
	b.click("setup-submit")
	b.visible("login-view")
	b.waitText("notice", "created")
	if got := browserEval[string](b, `document.getElementById("login-username").value`); got != "admin" {
		t.Errorf("login username prefilled with %q", got)
	}
	b.screenshot("setup-done")

	b.login("admin", false)
	b.visible("tab-audit")
	b.click("tab-sessions")
	b.visible("sessions-all-wrap")
	b.click("sessions-all")
	b.waitFor("the user column", `document.getElementById("sessions-table").classList.contains("show-user") && document.querySelectorAll("#sessions-body tr").length === 1`)
	b.screenshot("admin-sessions-all")
	b.logout()

	// Five failures from one address use up its attempts; the next is
	// refused with the time to wait.
	var msg string
	for i := 0; i < 6 && !strings.Contains(msg, "Wait"); i++ {
		b.submitLogin("admin", "wrong password, long enough for the policy", false)
		b.waitFor("a login error", `!document.getElementById("login-error").hidden && !document.getElementById("login-submit").disabled`)
		msg = b.text("login-error")
	}
	if !strings.Contains(msg, "Too many failed attempts. Wait") || !strings.Contains(msg, "second") {
		t.Errorf("login error after repeated failures: %q", msg)
	}
	b.screenshot("rate-limited")
}
